"""Each loss of gan_lessons.losses on values computed by hand (lessons 01 and 07)."""

import math

import keras
import numpy as np
import pytest

from gan_lessons import losses

LOG2 = math.log(2.0)


def sp(t):  # softplus, by hand
    return math.log1p(math.exp(t))


def f(x):
    return float(np.asarray(x))


def test_discriminator_loss_at_zero_logits_is_2_log_2():
    z = np.zeros(4, np.float32)
    assert f(losses.discriminator_loss(z, z)) == pytest.approx(2 * LOG2, rel=1e-6)


def test_discriminator_loss_by_hand():
    real, fake = np.array([2.0, -1.0], np.float32), np.array([0.5, -3.0], np.float32)
    want = (sp(-2.0) + sp(1.0)) / 2 + (sp(0.5) + sp(-3.0)) / 2
    assert f(losses.discriminator_loss(real, fake)) == pytest.approx(want, rel=1e-6)


def test_one_sided_label_smoothing_changes_only_the_real_term():
    real, fake = np.array([2.0, -1.0], np.float32), np.array([0.5, -3.0], np.float32)
    y = 0.9
    real_term = sum(y * sp(-t) + (1 - y) * sp(t) for t in (2.0, -1.0)) / 2
    fake_term = (sp(0.5) + sp(-3.0)) / 2
    assert f(losses.discriminator_loss(real, fake, real_label=y)) == pytest.approx(real_term + fake_term, rel=1e-6)
    # with smoothing, a perfectly confident D (huge real logits) is no longer optimal: loss grows with the logit
    big = np.array([20.0], np.float32)
    assert f(losses.discriminator_loss(big, -big, 0.9)) > f(losses.discriminator_loss(big / 10, -big, 0.9))
    with pytest.raises(ValueError, match="real_label"):
        losses.discriminator_loss(real, fake, real_label=0.3)


def test_generator_losses_by_hand():
    t = np.array([1.5, -2.0], np.float32)
    assert f(losses.generator_loss_saturating(t)) == pytest.approx(-(sp(1.5) + sp(-2.0)) / 2, rel=1e-6)
    assert f(losses.generator_loss_non_saturating(t)) == pytest.approx((sp(-1.5) + sp(2.0)) / 2, rel=1e-6)
    assert f(losses.generator_loss("saturating", np.zeros(1))) == pytest.approx(-LOG2, rel=1e-6)
    assert f(losses.generator_loss("non_saturating", np.zeros(1))) == pytest.approx(LOG2, rel=1e-6)
    with pytest.raises(ValueError, match="kind"):
        losses.generator_loss("hinge", t)


def test_losses_are_stable_at_extreme_logits():
    huge = np.array([1e4, -1e4], np.float32)
    for value in (losses.discriminator_loss(huge, huge), losses.generator_loss_saturating(huge),
                  losses.generator_loss_non_saturating(huge)):
        assert np.isfinite(f(value))
    # -log D(G(z)) with D(G(z)) = σ(-100): 100 nats, not inf
    assert f(losses.generator_loss_non_saturating(np.array([-100.0], np.float32))) == pytest.approx(100.0, rel=1e-5)


def test_wasserstein_losses_by_hand():
    real, fake = np.array([3.0, 1.0], np.float32), np.array([-1.0, 0.0], np.float32)
    assert f(losses.critic_loss_wasserstein(real, fake)) == pytest.approx(-0.5 - 2.0)
    assert f(losses.generator_loss_wasserstein(fake)) == pytest.approx(0.5)
    assert f(losses.generator_loss("wasserstein", fake)) == pytest.approx(0.5)


def _linear_critic(w):
    w = np.asarray(w, np.float32)
    critic = keras.Sequential([keras.Input((len(w),)), keras.layers.Dense(1, use_bias=True)])
    critic.layers[0].set_weights([w[:, None], np.array([0.7], np.float32)])
    return critic


def test_gradient_penalty_of_a_linear_critic():
    # f(x) = w·x + b has gradient w everywhere: penalty (||w|| - 1)²
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)
    assert f(losses.gradient_penalty(_linear_critic([2.0, 1.0, 2.0]), real, fake)) == pytest.approx(4.0, rel=1e-4)
    assert f(losses.gradient_penalty(_linear_critic([0.6, 0.8, 0.0]), real, fake)) == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_uses_per_sample_norms_on_the_interpolates():
    # f(x) = ||x||² has gradient 2x: at x̂ = ε·real + (1-ε)·fake the norm is 2||x̂||
    class Square(keras.Model):
        def call(self, x, training=False):
            return keras.ops.sum(x * x, axis=tuple(range(1, len(x.shape))))

    real = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    fake = np.array([[0.0, 0.0], [0.0, 0.0]], np.float32)
    eps = np.array([[0.5], [0.25]], np.float32)
    # x̂ = (0.5, 0) and (0, 0.5): gradient norms 1 and 1 -> penalty 0
    assert f(losses.gradient_penalty(Square(), real, fake, weights=eps)) == pytest.approx(0.0, abs=1e-6)
    eps = np.array([[1.0], [1.0]], np.float32)  # x̂ = real: norms 2 and 4 -> ((2-1)² + (4-1)²)/2 = 5
    assert f(losses.gradient_penalty(Square(), real, fake, weights=eps)) == pytest.approx(5.0, rel=1e-5)
    # images (N, H, W, C): the norm is over all pixels of one sample
    img_real = np.ones((2, 2, 2, 1), np.float32)
    w = np.ones((2, 1, 1, 1), np.float32)
    # gradient 2·1 on 4 pixels: norm 4 -> (4 - 1)² = 9
    assert f(losses.gradient_penalty(Square(), img_real, np.zeros_like(img_real), weights=w)) == pytest.approx(9.0, rel=1e-5)


def _gp_reference(critic, real, fake, weights):
    return losses.gradient_penalty(critic, real, fake, weights=weights)


def test_check_gradient_penalty_accepts_ours_and_hints_at_common_mistakes():
    import tensorflow as tf

    from gan_lessons import checks

    assert "correct" in checks.check_gradient_penalty(_gp_reference)

    def squared(critic, real, fake, weights):
        x = tf.constant(weights * real + (1 - weights) * fake)
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = critic(x)
        g = tape.gradient(s, x)
        return tf.reduce_mean((tf.reduce_sum(g ** 2, axis=1) - 1.0) ** 2)

    with pytest.raises(checks.ExerciseError, match="square root"):
        checks.check_gradient_penalty(squared)

    def at_real(critic, real, fake, weights):
        return losses.gradient_penalty(critic, real, real, weights=np.ones_like(weights))

    with pytest.raises(checks.ExerciseError, match="interpolates"):
        checks.check_gradient_penalty(at_real)
    with pytest.raises(checks.ExerciseError, match="None"):
        checks.check_gradient_penalty(lambda *a: None)


def test_r1_penalty_of_a_linear_critic_is_half_gamma_times_its_squared_weights():
    import keras

    critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    critic.layers[0].set_weights([np.array([[1.0], [2.0], [2.0]], np.float32), np.zeros(1, np.float32)])
    real = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert np.isclose(float(losses.r1_penalty(critic, real, gamma=4.0)), 0.5 * 4.0 * 9.0)
    with pytest.raises(ValueError, match="gamma"):
        losses.r1_penalty(critic, real, gamma=-1.0)


def test_check_r1_penalty_accepts_ours_and_hints_at_common_mistakes():
    from gan_lessons import checks

    assert "correct" in checks.check_r1_penalty(losses.r1_penalty)
    with pytest.raises(checks.ExerciseError, match="halve"):
        checks.check_r1_penalty(lambda c, x, g: 2 * losses.r1_penalty(c, x, g))
    with pytest.raises(checks.ExerciseError, match="zero-centred"):
        checks.check_r1_penalty(lambda c, x, g: 0.5 * g * losses.gradient_penalty(c, x, x, weights=np.ones((len(x), 1), np.float32)))
    with pytest.raises(checks.ExerciseError, match="None"):
        checks.check_r1_penalty(lambda *a: None)
