"""Lesson 03's networks: the corrected DCGAN pair, the seed's flawed pair, and the exercise checkers."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from gan_lessons import checks, models  # noqa: E402


@pytest.fixture(scope="module")
def pair28():
    return models.dcgan_generator(seed=1), models.dcgan_discriminator(seed=2)


def test_generator_shapes_and_range_for_each_size():
    for size in (28, 32, 64):
        g = models.dcgan_generator(image_size=size, base_filters=8, seed=0)
        z = tf.random.normal([3, 100], seed=0) * 5.0  # large inputs: tanh must still bound the output
        x = g(z, training=True).numpy()
        assert x.shape == (3, size, size, 1)
        assert np.all(x >= -1.0) and np.all(x <= 1.0)
        d = models.dcgan_discriminator(image_size=size, base_filters=8, seed=0)
        assert d(x).shape == (3, 1)


def test_channels_and_latent_dim_are_respected():
    g = models.dcgan_generator(latent_dim=16, image_size=32, channels=3, base_filters=8)
    assert g.input.shape == (None, 16) and g.output.shape == (None, 32, 32, 3)
    d = models.dcgan_discriminator(image_size=32, channels=3, base_filters=8)
    assert d.input.shape == (None, 32, 32, 3)


def test_discriminator_returns_logits_not_probabilities(pair28):
    _, d = pair28
    assert d.layers[-1].activation is keras.activations.linear
    w, b = d.layers[-1].get_weights()
    d.layers[-1].set_weights([w * 0 + 1.0, b])  # large logits: a sigmoid would squash them into (0, 1)
    try:
        out = d(tf.random.uniform([4, 28, 28, 1], -1, 1, seed=3)).numpy()
    finally:
        d.layers[-1].set_weights([w, b])
    assert np.any(out > 1.0) or np.any(out < 0.0)


def test_seed_discriminator_returns_probabilities():
    d = models.seed_discriminator()
    d.layers[-1].set_weights([np.ones_like(w) for w in d.layers[-1].get_weights()])
    out = d(tf.random.uniform([4, 28, 28, 1], -1, 1, seed=3)).numpy()
    assert np.all((out >= 0.0) & (out <= 1.0))


def test_each_layer_gets_its_own_initial_weights():
    # One shared Keras 3 initializer would give every layer the same first values.
    g = models.dcgan_generator(seed=5)
    firsts = [tuple(np.round(l.kernel.numpy().ravel()[:4], 6)) for l in g.layers if hasattr(l, "kernel")]
    assert len(set(firsts)) == len(firsts)
    std = np.std(g.layers[1].kernel.numpy())
    assert 0.018 < std < 0.022  # N(0, 0.02)
    g_default = models.dcgan_generator(weight_init=None, seed=5)
    assert np.std(g_default.layers[1].kernel.numpy()) > 0.003


def test_seeded_builders_are_reproducible():
    a = models.dcgan_generator(seed=7).get_weights()
    b = models.dcgan_generator(seed=7).get_weights()
    c = models.dcgan_generator(seed=8).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_parameter_counts_match_closed_form(pair28):
    g, d = pair28
    dense = 100 * 7 * 7 * 256
    convs = 5 * 5 * 256 * 128 + 5 * 5 * 128 * 64 + 5 * 5 * 64 * 1 + 1
    bn_trainable = 2 * (7 * 7 * 256 + 128 + 64)
    counts = models.parameter_counts(g)
    assert counts["trainable"] == dense + convs + bn_trainable
    assert counts["non_trainable"] == bn_trainable  # moving mean and variance
    assert counts["total"] == g.count_params()
    assert models.parameter_counts(d)["total"] == (5 * 5 * 1 * 64 + 64) + (5 * 5 * 64 * 128 + 128) + (7 * 7 * 128 + 1)
    with pytest.raises(TypeError, match="model="):
        models.parameter_counts("generator")


def test_seed_generator_reproduces_the_seed():
    g = models.seed_generator()
    assert g.output.shape == (None, 16, 16, 1)  # 4 -> 4 -> 8 -> 16
    kinds = [type(l).__name__ for l in g.layers[1:]]
    assert kinds == ["Dense", "LeakyReLU", "BatchNormalization", "Reshape",
                     "Conv2DTranspose", "BatchNormalization", "LeakyReLU",
                     "Conv2DTranspose", "BatchNormalization", "LeakyReLU", "Conv2DTranspose"]
    assert g.layers[3].scale is False and g.layers[3].gamma is None
    assert not any(getattr(l, "use_bias", False) for l in g.layers if isinstance(l, (keras.layers.Dense,
                                                                                    keras.layers.Conv2DTranspose)))
    assert models.seed_generator(noise_dim=8).input.shape == (None, 8)


def test_seed_models_do_not_connect():
    g, d = models.seed_generator(), models.seed_discriminator()
    fake = g(tf.random.normal([2, 100], seed=0))
    with pytest.raises(ValueError, match="28, 28, 1"):
        d(fake)
    with pytest.raises(TypeError, match="training"):
        g(tf.random.normal([2, 100]), 100)  # the seed's generator(noise, 100)


def test_corrected_models_connect(pair28):
    g, d = pair28
    logits = d(g(tf.random.normal([2, 100], seed=0), training=False), training=False)
    assert logits.shape == (2, 1) and np.all(np.isfinite(logits.numpy()))


@pytest.mark.parametrize("size", [0, 10, 15, 21, 30, 7, 4, 100, 28.0, "28", True])
def test_impossible_image_sizes_raise_clear_errors(size):
    for build in (models.dcgan_generator, models.dcgan_discriminator):
        with pytest.raises(ValueError, match="image_size"):
            build(image_size=size)


@pytest.mark.parametrize("kwargs, name", [
    ({"latent_dim": 0}, "latent_dim"), ({"channels": 0}, "channels"), ({"base_filters": 2.5}, "base_filters"),
    ({"weight_init": "he"}, "weight_init"), ({"seed": -1}, "seed"), ({"kernel_size": 0}, "kernel_size"),
    ({"leaky_slope": 1.0}, "leaky_slope"), ({"leaky_slope": -0.1}, "leaky_slope"), ({"leaky_slope": "0.2"}, "leaky_slope"),
])
def test_bad_generator_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        models.dcgan_generator(**kwargs)


def test_bad_discriminator_arguments_name_the_argument():
    with pytest.raises(ValueError, match="dropout"):
        models.dcgan_discriminator(dropout=1.0)
    with pytest.raises(ValueError, match="leaky_slope"):
        models.dcgan_discriminator(leaky_slope=1.5)
    with pytest.raises(ValueError, match="noise_dim"):
        models.seed_generator(noise_dim=0)


def test_resize_then_convolve_generator_has_the_same_weights_and_spreads_evenly():
    a = models.dcgan_generator(base_filters=8, seed=0)
    b = models.dcgan_generator(base_filters=8, seed=0, upsampling="resize")
    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    assert kinds(b).count("UpSampling2D") == 2 and kinds(b).count("Conv2DTranspose") == 1  # the stride-1 one
    # the same number of weights, layer by layer (a Conv2DTranspose kernel is stored (k, k, out, in))
    assert [w.size for w in a.get_weights()] == [w.size for w in b.get_weights()]
    # a constant feature map stays constant through nearest doubling + convolution (away from the border)
    up = [layer for layer in b.layers if type(layer).__name__ == "Conv2D"][-1]
    const = np.ones((1, 14, 14, up.input.shape[-1]), np.float32)
    out = np.asarray(up(keras.layers.UpSampling2D(2)(const)))[0, 4:-4, 4:-4, 0]
    assert np.ptp(out) < 1e-5
    with pytest.raises(ValueError, match="upsampling='bilinear'"):
        models.dcgan_generator(upsampling="bilinear")
    with pytest.raises(ValueError, match="interpolation='area'"):
        models.dcgan_generator(upsampling="resize", interpolation="area")


def test_upsampling_plan():
    assert models.upsampling_plan(28) == (7, 2)
    assert models.upsampling_plan(32) == (4, 3)
    assert models.upsampling_plan(64) == (4, 4)


# ---- exercise checkers: pass on right answers, hint on wrong ones

def _side(start, strides):
    for s in strides:
        start *= s
    return start


def test_check_generator_side():
    assert "correct" in checks.check_generator_side(_side, 7)
    with pytest.raises(checks.ExerciseError, match="stride-1 layer keeps"):
        checks.check_generator_side(lambda n, s: n * 2 ** len(s), 7)
    with pytest.raises(checks.ExerciseError, match="do not add up"):
        checks.check_generator_side(lambda n, s: n + sum(s), 7)
    with pytest.raises(checks.ExerciseError, match="Hint"):
        checks.check_generator_side(lambda n, s: float(_side(n, s)), 7)
    with pytest.raises(checks.ExerciseError, match="start·4 = 28"):
        checks.check_generator_side(_side, 4)


def test_tutorial_recipe_builds_the_tutorials_networks():
    """bench's baseline is TensorFlow's DCGAN tutorial: Glorot init, LeakyReLU slope 0.3, 256-128-64 / 64-128."""
    from gan_lessons import training

    try:
        gan, _ = training.build_course_gan(28, "float32", seed=0, recipe=training.TUTORIAL_RECIPE)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for net in (gan.generator, gan.discriminator):
        slopes = {round(float(l.negative_slope), 3) for l in net.layers if isinstance(l, keras.layers.LeakyReLU)}
        assert slopes == {0.3}
        inits = {type(l.kernel_initializer).__name__ for l in net.layers if hasattr(l, "kernel_initializer")}
        assert inits == {"GlorotUniform"}
    g_filters = [l.filters for l in gan.generator.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    d_filters = [l.filters for l in gan.discriminator.layers if isinstance(l, keras.layers.Conv2D)]
    assert g_filters == [128, 64, 1] and d_filters == [64, 128]
    assert gan.generator.layers[1].units == 7 * 7 * 256
    course, _ = training.build_course_gan(28, "float32", seed=0)
    assert {round(float(l.negative_slope), 3) for l in course.generator.layers
            if isinstance(l, keras.layers.LeakyReLU)} == {0.2}


def test_image_grid_row_labels():
    import matplotlib

    matplotlib.use("Agg")
    from gan_lessons import plots

    images = np.zeros((6, 8, 8, 1), np.float32)
    fig = plots.image_grid(images, ncols=3, row_labels=["before", "after"])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["before", "after"]
    with pytest.raises(ValueError, match="row_labels"):
        plots.image_grid(images, ncols=3, row_labels=["only one"])


def _lesson03_networks():
    """Execute lesson 03's written-out generator and discriminator cells; return their namespace."""
    import json
    from pathlib import Path

    from keras import layers

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" /
                     "03_generator_and_discriminator.ipynb").read_text())
    namespace = {"keras": keras, "layers": layers, "models": models}
    for name in ("def dcgan_generator_written_out", "def dcgan_discriminator_written_out"):
        cells = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).startswith(name)]
        assert len(cells) == 1, f"lesson 03 should write out {name[4:]} in one cell"
        exec("".join(cells[0]["source"]), namespace)
    return namespace


@pytest.mark.parametrize("base_filters, seed", [(64, 10), (32, 3), (8, None)])
def test_lesson03_written_networks_equal_the_builders(base_filters, seed):
    ns = _lesson03_networks()
    pairs = [(ns["dcgan_generator_written_out"](base_filters=base_filters, seed=seed),
              models.dcgan_generator(base_filters=base_filters, seed=seed)),
             (ns["dcgan_discriminator_written_out"](base_filters=base_filters, seed=seed),
              models.dcgan_discriminator(base_filters=base_filters, seed=seed))]
    for mine, built in pairs:
        assert [type(l) for l in mine.layers] == [type(l) for l in built.layers]
        for a, b in zip(mine.layers, built.layers):
            ca, cb = a.get_config(), b.get_config()
            ca.pop("name"), cb.pop("name")
            assert ca == cb, type(a).__name__
        assert [w.shape for w in mine.get_weights()] == [w.shape for w in built.get_weights()]
        if seed is not None:
            assert all(np.array_equal(u, v) for u, v in zip(mine.get_weights(), built.get_weights()))
            x = np.random.default_rng(0).normal(size=(3,) + tuple(mine.input.shape[1:])).astype("float32")
            np.testing.assert_allclose(mine(x, training=False), built(x, training=False), rtol=1e-6, atol=1e-6)


def test_save_gif_captions(tmp_path):
    from PIL import Image

    from gan_lessons import plots

    frames = [np.full((4, 8, 8, 1), v, np.float32) for v in (-1.0, 0.0)]
    plain = Image.open(plots.save_gif(frames, tmp_path / "plain.gif", ncols=4))
    captioned = Image.open(plots.save_gif(frames, tmp_path / "c.gif", ncols=4, captions=["step 0", "step 5"]))
    assert captioned.n_frames == 2 and captioned.height > plain.height  # a band for the caption
    band = np.asarray(captioned.convert("L"))[: captioned.height - plain.height]
    assert (band < 128).any()  # some dark text drawn in the band
    with pytest.raises(ValueError, match="captions"):
        plots.save_gif(frames, tmp_path / "x.gif", captions=["one"])
