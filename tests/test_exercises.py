"""Exercise checks added for the exercises a student writes (lessons 03-07), and the fallback mode:
each reference answer passes, each typical mistake fails with the hint meant for it."""

import numpy as np
import pytest
import keras
from keras import layers, ops
from scipy import linalg

from gan_lessons import checks, losses, metrics, models, training


def _raises(hint, check, *args):
    with pytest.raises(checks.ExerciseError, match=hint):
        check(*args)


# --------------------------------------------------------------------------- fallback mode
def test_fallback_reports_instead_of_raising(monkeypatch, capsys):
    def unwritten(p, q, x):
        raise NotImplementedError()

    monkeypatch.delenv(checks.FALLBACK_VARIABLE, raising=False)
    with pytest.raises(NotImplementedError):
        checks.check_jsd(unwritten)
    with pytest.raises(checks.ExerciseError):
        checks.check_jsd(lambda p, q, x: 2 * checks.js_divergence_reference(p, q, x))
    monkeypatch.setenv(checks.FALLBACK_VARIABLE, "1")
    line = checks.check_jsd(unwritten)
    assert "not written yet" in line and "reference" in line
    line = checks.check_jsd(lambda p, q, x: 2 * checks.js_divergence_reference(p, q, x))
    assert "twice the divergence" in line
    assert "✗" in capsys.readouterr().out
    monkeypatch.setenv(checks.FALLBACK_VARIABLE, "0")
    assert not checks.fallback_enabled()


def test_an_unwritten_exercise_stops_with_not_implemented_not_a_hint():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check, args in ((checks.check_generator, (stub,)), (checks.check_losses_from_logits, (stub, stub)),
                        (checks.check_ema_update, (stub,)), (checks.check_fid, (stub,)),
                        (checks.check_smoothed_d_loss, (stub,)), (checks.check_jsd, (stub,)),
                        (checks.check_layer_flops, (stub,))):
        with pytest.raises(NotImplementedError):
            check(*args)


# --------------------------------------------------------------------------- lesson 03: the generator
def _generator(latent_dim=100, base_filters=64, seed=None, *, drop_bn=False, bias=False, activation="tanh",
               strides=(1, 2, 2), kernel=5, init_offset=0, slope=0.2):
    def init(i):
        return models.dcgan_init(None if seed is None else seed + i + init_offset)

    z = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 4 * base_filters, use_bias=bias, kernel_initializer=init(0))(z)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(slope)(x)
    x = layers.Reshape((7, 7, 4 * base_filters))(x)
    x = layers.Conv2DTranspose(2 * base_filters, kernel, strides=strides[0], padding="same", use_bias=False,
                               kernel_initializer=init(1))(x)
    if not drop_bn:
        x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(slope)(x)
    x = layers.Conv2DTranspose(base_filters, kernel, strides=strides[1], padding="same", use_bias=False,
                               kernel_initializer=init(2))(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(slope)(x)
    image = layers.Conv2DTranspose(1, kernel, strides=strides[2], padding="same", activation=activation,
                                   kernel_initializer=init(3), dtype="float32")(x)
    return keras.Model(z, image)


def test_check_generator_accepts_the_lesson_network():
    assert "correct" in checks.check_generator(_generator)


@pytest.mark.parametrize("options, hint", [
    (dict(drop_bn=True), "BatchNormalization follows"),
    (dict(bias=True), "cancelled"),
    (dict(activation="sigmoid"), "tanh"),
    (dict(strides=(2, 2, 1)), "chain of shapes"),
    (dict(kernel=4), "5×5"),
    (dict(init_offset=1), "init\\(k\\)"),
    (dict(slope=0.3), "LeakyReLU\\(0.2\\)"),
])
def test_check_generator_names_the_mistake(options, hint):
    _raises(hint, checks.check_generator, lambda **kw: _generator(**kw, **options))


def test_check_generator_reports_a_build_error_and_a_missing_model():
    _raises("keras.Model", checks.check_generator, lambda **kw: None)
    _raises("raised", checks.check_generator, lambda **kw: layers.Dense(3)(keras.Input((4,))) + "x")


# --------------------------------------------------------------------------- lesson 04: losses and the step
def _d_ref(r, f):
    return ops.mean(ops.softplus(-r)) + ops.mean(ops.softplus(f))


def _g_ref(f):
    return ops.mean(ops.softplus(-f))


def test_check_losses_accepts_ours_and_the_library():
    assert "correct" in checks.check_losses_from_logits(_d_ref, _g_ref)
    assert "correct" in checks.check_losses_from_logits(losses.discriminator_loss, losses.generator_loss_non_saturating)


@pytest.mark.parametrize("d_fn, g_fn, hint", [
    (lambda r, f: -_d_ref(r, f), _g_ref, "sign is flipped"),
    (lambda r, f: _d_ref(f, r), _g_ref, "swapped"),
    (lambda r, f: _d_ref(ops.sigmoid(r), ops.sigmoid(f)), _g_ref, "sigmoid is applied twice"),
    (lambda r, f: ops.sum(ops.softplus(-r)) + ops.sum(ops.softplus(f)), _g_ref, "summed"),
    (lambda r, f: ops.mean(ops.log(ops.sigmoid(f)) + ops.log1p(1 - ops.sigmoid(r)) + ops.log1p(1 - ops.sigmoid(f))),
     _g_ref, "seed's formula"),
    (_d_ref, lambda f: ops.mean(ops.log1p(1 - ops.sigmoid(f))), "seed's formula log1p"),
    (_d_ref, lambda f: -ops.mean(ops.softplus(f)), "saturating"),
    (_d_ref, lambda f: -_g_ref(f), "sign is flipped"),
    (_d_ref, lambda f: ops.mean(ops.softplus(f)), "label 1"),
    (_d_ref, lambda f: _g_ref(ops.sigmoid(f)), "sigmoid is applied twice"),
    (_d_ref, lambda f: ops.softplus(-f), "scalar"),
    (lambda r, f: None, _g_ref, "None"),
    (lambda r, f: r.nonexistent, _g_ref, "raised AttributeError"),
])
def test_check_losses_names_the_mistake(d_fn, g_fn, hint):
    _raises(hint, checks.check_losses_from_logits, d_fn, g_fn)


def _step_setup(seed=0):
    import tensorflow as tf
    keras.utils.set_random_seed(seed)
    g = models.dcgan_generator(latent_dim=16, base_filters=8, seed=seed)
    d = models.dcgan_discriminator(base_filters=8, seed=seed + 1)
    real = tf.constant(np.random.default_rng(seed).uniform(-1, 1, size=(32, 28, 28, 1)).astype("float32"))
    return g, d, keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5), real


def _student_step(g, d, d_opt, g_opt, *, g_loss=losses.generator_loss_non_saturating, d_sign=1.0,
                  g_training=True, one_optimizer=False, skip_g=False):
    import tensorflow as tf

    def step(real):
        z = tf.random.normal([tf.shape(real)[0], 16])
        with tf.GradientTape() as tape:
            d_loss = d_sign * losses.discriminator_loss(d(real, training=True),
                                                       d(g(z, training=g_training), training=True))
        grads = tape.gradient(d_loss, d.trainable_variables)
        d_opt.apply_gradients(zip(grads, d.trainable_variables))
        with tf.GradientTape() as tape:
            loss = g_loss(d(g(z, training=g_training), training=True))
        if not skip_g:
            grads = tape.gradient(loss, g.trainable_variables)
            (d_opt if one_optimizer else g_opt).apply_gradients(zip(grads, g.trainable_variables))
        return {"d_loss": d_loss, "g_loss": loss}
    return step


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_train_step_accepts_the_course_step(seed):
    g, d, d_opt, g_opt, real = _step_setup(seed)
    step = training.plain_train_step(g, d, d_opt, g_opt)
    assert "correct" in checks.check_train_step(step, g, d, d_opt, g_opt, real)
    g, d, d_opt, g_opt, real = _step_setup(seed)
    assert "correct" in checks.check_train_step(_student_step(g, d, d_opt, g_opt), g, d, d_opt, g_opt, real)


@pytest.mark.parametrize("options, hint", [
    (dict(g_loss=lambda f: ops.mean(ops.softplus(f))), "less real"),       # G minimises D's fake term: label 0
    (dict(g_loss=lambda f: -losses.generator_loss_non_saturating(f)), "less real"),
    (dict(d_sign=-1.0), "separates real from generated images less well"),
    (dict(g_training=False), "training=True"),
    (dict(one_optimizer=True), "one optimizer"),
    (dict(skip_g=True), "(?s)g_optimizer 0.*never applied"),
])
def test_check_train_step_names_the_mistake(options, hint):
    g, d, d_opt, g_opt, real = _step_setup(0)
    _raises(hint, checks.check_train_step, _student_step(g, d, d_opt, g_opt, **options), g, d, d_opt, g_opt, real)


def test_plain_train_step_refuses_one_optimizer_for_both():
    g, d, d_opt, _, _ = _step_setup(0)
    with pytest.raises(ValueError, match="one optimizer per network"):
        training.plain_train_step(g, d, d_opt, d_opt)


# --------------------------------------------------------------------------- lesson 05: the running average
def _ema_ref(average, weights, decay, step):
    beta = min(decay, (1 + step) / (10 + step))
    return [beta * a + (1 - beta) * w for a, w in zip(average, weights)]


def test_check_ema_update_accepts_ours_and_matches_the_library():
    assert "correct" in checks.check_ema_update(_ema_ref)
    for step in (0, 5, 2000):
        assert np.isclose(float(training.ema_decay_at(0.99, step)), min(0.99, (1 + step) / (10 + step)))


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, w, d, t: [d * x + (1 - d) * y for x, y in zip(a, w)], "warm-up"),
    (lambda a, w, d, t: _ema_ref(w, a, d, t), "other way round"),
    (lambda a, w, d, t: [max(d, (1 + t) / (10 + t)) * x + (1 - max(d, (1 + t) / (10 + t))) * y for x, y in zip(a, w)],
     "min, not max"),
    (lambda a, w, d, t: _ema_ref(a, w, d, t)[:1], "arrays for"),
    (lambda a, w, d, t: None, "None"),
    (lambda a, w, d, t: 0.5, "float, not a list"),
    (lambda a, w, d, t: (d * x + (1 - d) * y for x, y in zip(a, w)), "warm-up"),   # a generator is read as a list
])
def test_check_ema_update_names_the_mistake(wrong, hint):
    _raises(hint, checks.check_ema_update, wrong)


# --------------------------------------------------------------------------- lesson 06: FID
def _fid_parts(a, b):
    mu = np.sum((a.mean(0) - b.mean(0)) ** 2)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return mu, sa, sb, np.real(linalg.sqrtm(sa @ sb))


def test_check_fid_accepts_ours_and_the_library():
    def mine(a, b):
        mu, sa, sb, root = _fid_parts(a, b)
        return mu + np.trace(sa + sb - 2 * root)
    assert "correct" in checks.check_fid(mine)
    assert "correct" in checks.check_fid(metrics.fid_from_features)


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: (lambda mu, sa, sb, r: np.sqrt(mu) + np.trace(sa + sb - 2 * r))(*_fid_parts(a, b)), "squared"),
    (lambda a, b: (lambda mu, sa, sb, r: np.trace(sa + sb - 2 * np.sqrt(np.abs(sa * sb))) + mu)(*_fid_parts(a, b)),
     "matrix square root"),
    (lambda a, b: (lambda mu, sa, sb, r: mu + np.trace(sa + sb - r))(*_fid_parts(a, b)), "factor 2"),
    (lambda a, b: (lambda mu, sa, sb, r: mu)(*_fid_parts(a, b)), "covariance term is missing"),
    (lambda a, b: np.trace(np.cov(a) - 1) + np.sum(a.mean(1)), "rowvar|covariance|expected"),
    (lambda a, b: complex(metrics.fid_from_features(a, b), 1e-3), "complex"),
    (lambda a, b: (lambda mu, sa, sb, r: mu + np.trace(sa + sb - 2 * linalg.sqrtm(sa) @ linalg.sqrtm(sb)))(
        *_fid_parts(a, b)), "do not commute"),
    (lambda a, b: (lambda mu, sa, sb, r: mu + np.trace(sa + sb - 2 * np.sqrt(sa @ sb)))(*_fid_parts(a, b)), "np.sqrt"),
    (lambda a, b: float("nan"), "gives NaN"),
    (lambda a, b: (lambda mu, sa, sb, r: mu + np.trace(sa + sb - 2 * np.sqrt(np.abs(sa @ sb))))(*_fid_parts(a, b)),
     "not np.sqrt of the product"),
    (lambda a, b: (lambda sa, sb: np.trace(sa @ sb))(np.cov(a), np.cov(b)), "gives the 6 × 6 covariance"),
    (lambda a, b: np.ones(3), "one number"),
])
def test_check_fid_names_the_mistake(wrong, hint):
    _raises(hint, checks.check_fid, wrong)


# --------------------------------------------------------------------------- lesson 07: label smoothing
def _smooth_ref(r, f, real_label=0.9):
    bce = lambda y, t: y * ops.softplus(-t) + (1 - y) * ops.softplus(t)  # noqa: E731
    return ops.mean(bce(real_label, r)) + ops.mean(bce(0.0, f))


def test_check_smoothed_d_loss_accepts_ours_and_the_library():
    assert "correct" in checks.check_smoothed_d_loss(_smooth_ref)
    assert "correct" in checks.check_smoothed_d_loss(
        lambda r, f, real_label=0.9: losses.discriminator_loss(r, f, real_label=real_label))


@pytest.mark.parametrize("wrong, hint", [
    (lambda r, f, real_label=0.9: _smooth_ref(r, f, real_label) - ops.mean(ops.softplus(f))
     + ops.mean((1 - real_label) * ops.softplus(-f) + real_label * ops.softplus(f)), "fake labels too"),
    (lambda r, f, real_label=0.9: _smooth_ref(r, f, 1.0), "still 1"),
    (lambda r, f, real_label=0.9: ops.mean(real_label * ops.softplus(-r)) + ops.mean(ops.softplus(f)), "both parts"),
    (lambda r, f, real_label=0.9: _smooth_ref(ops.sigmoid(r), ops.sigmoid(f), real_label), "receives logits"),
])
def test_check_smoothed_d_loss_names_the_mistake(wrong, hint):
    _raises(hint, checks.check_smoothed_d_loss, wrong)


# --------------------------------------------------------------------------- lesson 11: operations of a layer
def _flops(layer, *, factor=2, bias=True, transposed_at="input", conv_at="output", taps="k2"):
    kind = type(layer).__name__
    inp, out = tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:])
    extra = int(np.prod(out)) if (bias and layer.use_bias) else 0
    if kind == "Dense":
        return factor * inp[-1] * layer.units + extra
    k = layer.kernel_size[0] * (layer.kernel_size[1] if taps == "k2" else 1)
    where = transposed_at if kind == "Conv2DTranspose" else conv_at
    positions = out[0] * out[1] if where == "output" else inp[0] * inp[1]
    return factor * k * inp[-1] * layer.filters * positions + extra


def test_check_layer_flops_accepts_ours():
    assert "correct" in checks.check_layer_flops(_flops)


@pytest.mark.parametrize("options, hint", [
    (dict(factor=1), "two operations"),
    (dict(bias=False), "bias"),
    (dict(transposed_at="output"), r"\*input\* position"),
    (dict(conv_at="input"), r"\*output\* position"),
    (dict(taps="k"), "k × k taps"),
])
def test_check_layer_flops_names_the_mistake(options, hint):
    _raises(hint, checks.check_layer_flops, lambda layer: _flops(layer, **options))


def test_check_layer_flops_reports_errors_and_non_numbers():
    _raises("raised AttributeError", checks.check_layer_flops, lambda layer: layer.nonexistent)
    _raises("None", checks.check_layer_flops, lambda layer: None)
    _raises("one number", checks.check_layer_flops, lambda layer: "many")

