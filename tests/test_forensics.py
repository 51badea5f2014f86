"""Unit tests of gan_lessons.forensics and lesson 09's exercise check."""

import numpy as np
import pytest

from gan_lessons import checks, data, forensics, models


@pytest.fixture(scope="module")
def real():
    x, _ = data.load_images("fashion_mnist", "test", limit=2000)
    return x


# --------------------------------------------------------------------------- input checks
@pytest.mark.parametrize("fn", [forensics.dct_features, forensics.radial_spectrum, forensics.quantize])
def test_bad_shapes_and_ranges_raise_naming_the_argument(fn):
    with pytest.raises(ValueError, match=r"images has shape \(4, 28, 28\)"):
        fn(np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match=r"images has shape \(4, 28, 28, 3\)"):
        fn(np.zeros((4, 28, 28, 3)))
    with pytest.raises(ValueError, match=r"images has values in \[0, 255\].*\[-1, 1\]"):
        fn(np.full((2, 8, 8, 1), 255.0) * (np.arange(2)[:, None, None, None]))
    with pytest.raises(ValueError, match="images holds NaN"):
        fn(np.full((2, 8, 8, 1), np.nan))
    with pytest.raises(TypeError, match="images"):
        fn("not images")


def test_quantize_matches_8bit_data(real):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(5, 28, 28, 1)).astype(np.float32)
    q = forensics.quantize(x)
    assert forensics.on_8bit_grid(q).min() == 1.0
    assert forensics.on_8bit_grid(x).max() < 0.05
    assert np.max(np.abs(q - x)) <= 1 / 127.5 / 2 + 1e-6
    np.testing.assert_array_equal(forensics.quantize(real[:10]), real[:10])  # real data is already on the grid
    assert len(np.unique(forensics.quantize(x, levels=16))) == 16
    with pytest.raises(ValueError, match="levels=1"):
        forensics.quantize(x, levels=1)


def test_dct_features_shape_and_values():
    from scipy.fft import dctn

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(3, 28, 28, 1)).astype(np.float32)
    f = forensics.dct_features(x)
    assert f.shape == (3, 784)
    expected = np.log(np.abs(dctn(x[..., 0].astype(np.float64), type=2, axes=(1, 2), norm="ortho")) + 1e-4)
    np.testing.assert_allclose(f, expected.reshape(3, -1), rtol=1e-5, atol=1e-5)


def test_radial_spectrum_shape_and_flat_image():
    x = np.zeros((2, 28, 28, 1), np.float32)
    x[1] = 0.5
    s = forensics.radial_spectrum(x)
    assert s.shape == (2, 21)
    # a constant image has all its power at r = 0
    assert s[1, 0] > 2 and np.all(s[1, 1:] < -6)
    # a checkerboard puts its power at the corner frequency (14, 14): radius 19.8 -> bin 20
    cb = forensics.checkerboard(np.zeros((1, 28, 28, 1), np.float32), amplitude=0.5)
    spec = forensics.radial_spectrum(cb)[0]
    assert int(np.argmax(spec)) == 20


def _auc_linear(real_a, real_b, features="dct"):
    x_fit, y_fit = forensics.labelled(real_a[:600], real_b[:600])
    x_ev, y_ev = forensics.labelled(real_a[600:], real_b[600:])
    det = forensics.linear_detector(features).fit(x_fit, y_fit)
    return forensics.detection_report(y_ev, det.predict_proba(x_ev)[:, 1])["auc"]


def test_spectral_detector_finds_faint_checkerboard(real):
    a, b = real[:1000], forensics.quantize(forensics.checkerboard(real[1000:2000], amplitude=0.05))
    assert _auc_linear(a, b) >= 0.95


def test_spectral_detector_does_not_separate_real_from_real(real):
    auc = _auc_linear(real[:1000], real[1000:2000])
    assert abs(auc - 0.5) <= 0.05, auc


def test_detection_report_uses_sklearn_and_checks_labels():
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    r = forensics.detection_report(y, p)
    assert r["auc"] == pytest.approx(roc_auc_score(y, p))
    assert r["ap"] == pytest.approx(average_precision_score(y, p))
    assert r["acc"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="y_true"):
        forensics.detection_report(np.zeros(5), p)
    with pytest.raises(ValueError, match="same length"):
        forensics.detection_report(y, p[:3])


def test_linear_detector_rejects_unknown_features():
    with pytest.raises(ValueError, match="features='fft'"):
        forensics.linear_detector("fft")


def test_cnn_detector_learns_checkerboard(real):
    x, y = forensics.labelled(real[:400], forensics.quantize(forensics.checkerboard(real[400:800], 0.2)))
    det = forensics.train_cnn_detector(x, y, epochs=3, seed=0)
    assert det.output_shape == (None, 1)
    x_ev, y_ev = forensics.labelled(real[800:1000], forensics.quantize(forensics.checkerboard(real[1000:1200], 0.2)))
    assert forensics.detection_report(y_ev, forensics.cnn_probabilities(det, x_ev))["auc"] > 0.9
    assert forensics.cnn_detector(outputs=3).output_shape == (None, 3)
    with pytest.raises(ValueError, match="outputs=0"):
        forensics.cnn_detector(outputs=0)


def test_resize_conv_generator_matches_course_generator_except_upsampling():
    a = models.dcgan_generator(base_filters=16, seed=0)
    b = forensics.resize_conv_generator(base_filters=16, seed=0)
    assert b.output_shape == a.output_shape == (None, 28, 28, 1)
    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    assert "Conv2DTranspose" in kinds(a) and kinds(b).count("Conv2DTranspose") == 1  # only the stride-1 one
    assert kinds(b).count("UpSampling2D") == 2
    assert models.parameter_counts(b)["total"] <= models.parameter_counts(a)["total"] + 100
    assert np.all(np.abs(b.predict(np.zeros((2, 100)), verbose=0)) <= 1)
    with pytest.raises(ValueError, match="interpolation='area'"):
        forensics.resize_conv_generator(interpolation="area")


def test_laundering_functions_keep_range_and_shape(real):
    x = real[:4]
    for y in (forensics.blur(x), forensics.add_noise(x, 0.1), forensics.paste_patch(x, 6)):
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert not np.array_equal(forensics.blur(x), x)
    patched = forensics.paste_patch(x, size=6, value=1.0, seed=0)
    assert np.all(np.sum(patched == 1.0, axis=(1, 2, 3)) >= 36)
    with pytest.raises(ValueError, match="size=40"):
        forensics.paste_patch(x, size=40)


def test_anomaly_baselines_rank_far_class_higher():
    x, y = data.load_images("fashion_mnist", "test", limit=3000)
    sneakers, trousers = x[y == 7], x[y == 1]
    train, genuine = sneakers[:150], sneakers[150:250]
    for fn in (forensics.pca_errors, forensics.nn_distances):
        s = fn(train, np.concatenate([genuine, trousers[:100]]))
        assert forensics.auroc(s[:100], s[100:]) > 0.9
    # nearest neighbour of a training image is itself
    assert np.allclose(forensics.nn_distances(train, train[:5]), 0, atol=1e-3)


def test_f_anogan_pieces_run_and_score():
    import keras

    x, y = data.load_images("fashion_mnist", "test", limit=600)
    gen = models.dcgan_generator(base_filters=8, seed=0)
    disc = models.dcgan_discriminator(base_filters=8, seed=0)
    feats = forensics.discriminator_features(disc)
    assert feats.output_shape[-1] == disc.layers[-1].input.shape[-1]
    enc = forensics.build_encoder(base_filters=8, seed=0)
    assert enc.output_shape == (None, 100)
    before = forensics.anomaly_scores(x[:300], enc, gen, feats).mean()
    losses = forensics.train_encoder(enc, gen, feats, x, steps=60, seed=0)
    assert len(losses) == 60
    assert forensics.anomaly_scores(x[:300], enc, gen, feats).mean() < before  # izi_f training lowers the score
    s = forensics.anomaly_scores(x[:10], enc, gen, feats)
    rec = gen(enc(x[:10]))
    expected = keras.ops.convert_to_numpy(keras.ops.mean((x[:10] - rec) ** 2, axis=(1, 2, 3))
                                          + keras.ops.mean((feats(x[:10]) - feats(rec)) ** 2, axis=-1))
    np.testing.assert_allclose(s, expected, rtol=1e-4)


def test_finetune_against_detector_lowers_the_detector_term(real):
    from gan_lessons import training

    gan, _ = forensics.train_gan(real, 5, base_filters=8, seed=0)
    det = forensics.cnn_detector(seed=0)
    fool = forensics.finetune_against_detector(gan, det, steps=25, weight=5.0, images=real, seed=0)
    assert len(fool) == 25 and np.mean(fool[-5:]) < np.mean(fool[:5])
    assert isinstance(gan, training.GAN)


def test_train_gan_snapshots_and_checks():
    x, _ = data.load_images("fashion_mnist", "test", limit=256)
    gan, snaps = forensics.train_gan(x, 4, base_filters=8, seed=0, checkpoints=(2,))
    assert gan.current_step == 4 and set(snaps) == {2}
    assert not all(np.array_equal(a, b) for a, b in zip(snaps[2].get_weights(), gan.generator.get_weights()))
    with pytest.raises(ValueError, match="upsampling='bilinear'"):
        forensics.train_gan(x, 2, upsampling="bilinear")


# --------------------------------------------------------------------------- the exercise check
def test_check_dct_features_accepts_reference():
    assert "correct" in checks.check_dct_features(forensics.dct_features)


@pytest.mark.parametrize("wrong, hint", [
    (lambda im: np.abs(__import__("scipy.fft", fromlist=["dctn"]).dctn(im[..., 0], axes=(1, 2), norm="ortho"))
     .reshape(len(im), -1), "log"),
    (lambda im: np.log(np.abs(__import__("scipy.fft", fromlist=["dctn"]).dctn(im[..., 0], axes=(1, 2))) + 1e-4)
     .reshape(len(im), -1), "ortho"),
    (lambda im: np.log(np.abs(__import__("scipy.fft", fromlist=["dctn"]).dctn(im[..., 0], axes=(1, 2), norm="ortho"))
                       + 1e-4), "flatten"),
    (lambda im: None, "None"),
])
def test_check_dct_features_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(checks.ExerciseError, match=hint):
        checks.check_dct_features(wrong)
