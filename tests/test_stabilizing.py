"""Lesson 07's pieces: minibatch standard deviation, NaN detection in training, the remedies' wiring."""

import keras
import numpy as np
import pytest
from keras import layers

from gan_lessons import data, metrics, models, runtime, training


def test_minibatch_stddev_appends_the_mean_std_of_the_batch():
    x = np.array([[0.0, 2.0], [2.0, 4.0]], np.float32)  # per-feature std 1 and 1
    out = np.asarray(models.MinibatchStdDev()(x))
    np.testing.assert_allclose(out, [[0, 2, 1], [2, 4, 1]], atol=1e-4)
    images = np.random.default_rng(0).normal(size=(8, 4, 4, 3)).astype(np.float32)
    out = np.asarray(models.MinibatchStdDev()(images))
    assert out.shape == (8, 4, 4, 4)
    np.testing.assert_allclose(out[..., :3], images)
    expected = np.sqrt(images.var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(out[..., 3], expected, rtol=1e-5)
    # a collapsed batch (all samples equal) gets ~0, which a discriminator can learn to reject
    same = np.repeat(images[:1], 8, axis=0)
    assert np.asarray(models.MinibatchStdDev()(same))[..., 3].max() < 1e-3


def test_minibatch_stddev_in_a_model_and_round_trips_through_config():
    inp = keras.Input((7, 7, 3))
    model = keras.Model(inp, models.MinibatchStdDev(epsilon=1e-6)(inp))
    assert model.output_shape == (None, 7, 7, 4)
    layer = models.MinibatchStdDev.from_config(models.MinibatchStdDev(epsilon=1e-6).get_config())
    assert layer.epsilon == 1e-6
    with pytest.raises(ValueError, match="epsilon"):
        models.MinibatchStdDev(epsilon=-1.0)


def _mlp(n_in, n_out, width=32):
    x = keras.Input((n_in,))
    h = layers.Dense(width, activation="relu")(x)
    return keras.Model(x, layers.Dense(n_out)(h))


def test_training_stops_with_a_message_naming_the_step_when_the_loss_is_not_finite():
    runtime.seed_everything(0)
    ring = data.toy_2d("ring", 1024, seed=0)
    gan = training.GAN(_mlp(8, 2), _mlp(2, 1))
    gan.compile(keras.optimizers.SGD(1e12), keras.optimizers.SGD(1e12))  # an absurd learning rate
    with pytest.raises(training.NonFiniteLossError, match=r"step \d+") as err:
        training.fit_steps(gan, ring, 50, batch_size=256)
    assert "learning rate" in str(err.value)
    assert gan.current_step < 50


def test_remedies_train_on_the_ring_and_are_measured():
    # each remedy option of training.GAN runs a few steps and gives finite, measurable samples
    runtime.seed_everything(0)
    ring = data.toy_2d("ring", 1024, seed=0)
    for kw in ({"real_label": 0.9}, {"instance_noise": 0.1},
               {"loss": "wasserstein", "clip_value": 0.01, "d_steps": 2},
               {"loss": "wasserstein", "gp_weight": 10.0, "d_steps": 2}):
        gan = training.GAN(_mlp(8, 2), _mlp(2, 1), **kw)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        training.fit_steps(gan, ring, 5, batch_size=128)
        s = gan.generate(256, seed=0)
        assert np.all(np.isfinite(s)) and s.shape == (256, 2)
        cov = metrics.toy_mode_coverage(s, "ring")
        assert 0 <= cov["modes"] <= 8
        if kw.get("clip_value"):
            w = np.concatenate([np.ravel(v) for v in gan.discriminator.get_weights()])
            assert np.abs(w).max() <= 0.01 + 1e-7
