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


def _seeded_mlp(n_in, n_out, seed, width=32, spectral_norm=False):
    init = lambda i: keras.initializers.GlorotUniform(seed=seed + i)
    wrap = layers.SpectralNormalization if spectral_norm else (lambda layer: layer)
    x = keras.Input((n_in,))
    h = wrap(layers.Dense(width, activation="relu", kernel_initializer=init(0)))(x)
    return keras.Model(x, wrap(layers.Dense(n_out, kernel_initializer=init(1)))(h))


def _ring_gan(seed, g_lr, d_lr, spectral_norm=False, **kw):
    runtime.seed_everything(seed)          # as lesson 07's run_ring: unseeded initializers (SN's u) repeat too
    gan = training.GAN(_seeded_mlp(8, 2, seed), _seeded_mlp(2, 1, seed + 10, spectral_norm=spectral_norm),
                       seed=seed, **kw)
    gan.compile(keras.optimizers.Adam(d_lr, beta_1=0.5), keras.optimizers.Adam(g_lr, beta_1=0.5),
                steps_per_execution=5)
    return gan


@pytest.mark.parametrize("kw", [{}, {"loss": "wasserstein", "gp_weight": 10.0, "d_steps": 2},
                                {"spectral_norm": True}, {"instance_noise": 0.1, "real_label": 0.9}])
def test_a_compiled_gan_restarted_from_a_fresh_runs_state_repeats_that_run_exactly(kw):
    # lesson 07 reuses one compiled GAN per design: it copies every state variable of a freshly built,
    # freshly seeded GAN (other seed, other learning rates) into a GAN that has already trained, and the
    # run that follows must be the fresh GAN's own run, bit for bit
    ring = data.toy_2d("ring", 2048, seed=0)
    used = _ring_gan(seed=0, g_lr=1e-3, d_lr=1e-3, **kw)
    training.fit_steps(used, ring, 15, batch_size=64, data_seed=0)

    fresh = _ring_gan(seed=3, g_lr=5e-3, d_lr=2e-3, **kw)
    twin = _ring_gan(seed=3, g_lr=5e-3, d_lr=2e-3, **kw)      # the same fresh start, trained on its own
    assert not np.array_equal(used.generate(64, seed=5), fresh.generate(64, seed=5))   # the copy has work to do
    start = fresh.state_variables()
    for name, variable in used.state_variables().items():
        variable.assign(start[name])
    assert used.current_step == 0
    assert float(used.g_optimizer.learning_rate) == pytest.approx(5e-3)
    training.fit_steps(used, ring, 20, batch_size=64, data_seed=3)
    training.fit_steps(twin, ring, 20, batch_size=64, data_seed=3)
    for a, b in zip(used.generator.get_weights() + used.discriminator.get_weights(),
                    twin.generator.get_weights() + twin.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(used.generate(64, seed=5), twin.generate(64, seed=5))
