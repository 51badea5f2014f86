"""FID sanity (real vs real ≈ 0, noise far above samples) and the domain classifier's cache and checksum."""

import json

import numpy as np
import pytest

from gan_lessons import data, metrics, training


@pytest.fixture(scope="module")
def test_images():
    x, _ = data.load_images("fashion_mnist", "test", limit=2000)
    return x


def test_real_vs_real_is_near_zero(test_images):
    a, b = test_images[:1000], test_images[1000:2000]
    same = metrics.fid(a, a)
    halves = metrics.fid(a, b)
    assert same < 1e-6
    assert halves < 3.0, halves  # only the finite-sample bias of 1000 vs 1000


def test_noise_scores_far_above_generated_samples(test_images):
    real = test_images[:1000]
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, size=real.shape).astype("float32")
    samples = training.pretrained_generator()(rng.normal(size=(1000, 100)).astype("float32"), training=False)
    fid_noise = metrics.fid(real, noise)
    fid_samples = metrics.fid(real, np.asarray(samples))
    assert fid_noise > 5 * fid_samples, (fid_noise, fid_samples)
    assert fid_noise > 50


def test_frechet_distance_closed_form():
    # 1-D: (mu1 - mu2)^2 + s1 + s2 - 2 sqrt(s1 s2)
    got = metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]])
    assert got == pytest.approx(4.0 + 4 + 9 - 2 * 6)
    with pytest.raises(ValueError, match="shapes"):
        metrics.frechet_distance([0.0, 1.0], np.eye(2), [0.0], np.eye(1))


def test_fid_rejects_bad_images():
    with pytest.raises(ValueError, match="NaN"):
        metrics.fid(np.full((4, 28, 28, 1), np.nan), np.zeros((4, 28, 28, 1)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.fid(np.zeros((1, 28, 28, 1)), np.zeros((4, 28, 28, 1)))


def test_classifier_cache_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_CACHE", str(tmp_path))
    monkeypatch.setattr(metrics, "_CLASSIFIERS", {})
    path = tmp_path / "digits_classifier.weights.h5"
    model, acc = metrics.train_classifier(dataset="digits", epochs=1, out=path)
    assert 0.1 < acc <= 1.0
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    assert meta["dataset"] == "digits" and meta["epochs"] == 1 and len(meta["sha256"]) == 64
    assert not list(tmp_path.glob(".part-*"))

    loaded = metrics.classifier("digits")  # from the cache, verified
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert metrics.classifier_info("digits")["sha256"] == meta["sha256"]

    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF  # damage one byte
    path.write_bytes(bytes(raw))
    monkeypatch.setattr(metrics, "_CLASSIFIERS", {})
    with pytest.raises(ValueError, match="SHA-256"):
        metrics.classifier("digits")


def test_pretrained_generator_is_verified(tmp_path):
    info = training.pretrained_info()
    assert info["latent_dim"] == 100 and info["dataset"] == "fashion_mnist"
    gen = training.pretrained_generator()
    x = np.asarray(gen(np.zeros((2, 100), "float32")))
    assert x.shape == (2, 28, 28, 1) and -1 <= x.min() and x.max() <= 1
    bad = tmp_path / training.PRETRAINED.name
    raw = bytearray(training.PRETRAINED.read_bytes())
    raw[-100] ^= 0xFF
    bad.write_bytes(bytes(raw))
    bad.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="SHA-256"):
        training.pretrained_generator(bad)


def test_shipped_generator_meets_its_targets_and_its_sidecar_is_true():
    import keras

    info = training.pretrained_info()
    assert info["fid_5000_vs_test"] <= 3.0 and info["recall_5000"] >= 0.5, info
    real, _ = data.load_images("fashion_mnist", "test", limit=2000)
    z = keras.random.normal((2000, info["latent_dim"]), seed=123)  # the draw the sidecar's FID used
    fake = training.pretrained_generator().predict(z, batch_size=256, verbose=0)
    fid = metrics.fid(real, fake)
    assert fid == pytest.approx(info["fid_2000_vs_test"], abs=0.05), (fid, info["fid_2000_vs_test"])
