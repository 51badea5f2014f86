"""GAN losses, written out so that each line can be read against lesson 01's maths.

Every function takes the discriminator's *logits* (not probabilities) and uses
numerically stable forms: log σ(t) = -softplus(-t), log(1 - σ(t)) = -softplus(t).

* minimax (saturating) generator loss: E[log(1 - D(G(z)))]           (lesson 01)
* non-saturating generator loss:      -E[log D(G(z))]                 (lesson 01)
* discriminator loss: -E[log D(x)] - E[log(1 - D(G(z)))]              (lesson 01)
* one-sided label smoothing (Salimans et al. 2016)                    (lesson 07)
* Wasserstein critic/generator losses, gradient penalty (Gulrajani et al. 2017) (lessons 02, 07)
* InfoGAN's information terms and the mode-seeking ratio (Mao et al. 2019)            (lesson 08)
"""

from __future__ import annotations

from keras import ops

GENERATOR_LOSSES = ("saturating", "non_saturating", "wasserstein")


def _check_smoothing(real_label: float) -> float:
    if not isinstance(real_label, (int, float)) or not 0.5 < real_label <= 1.0:
        raise ValueError(f"real_label={real_label!r}: expected a float in (0.5, 1.0]")
    return float(real_label)


def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """-E[log D(x)] - E[log(1 - D(G(z)))], from logits; ``real_label`` < 1 is one-sided smoothing.

    With target y for real images the first term is the binary cross-entropy
    y·softplus(-t) + (1 - y)·softplus(t); fakes always keep target 0.
    """
    y = _check_smoothing(real_label)
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    real_term = y * ops.softplus(-real_logits) + (1.0 - y) * ops.softplus(real_logits)
    fake_term = ops.softplus(fake_logits)
    return ops.mean(real_term) + ops.mean(fake_term)


def generator_loss_saturating(fake_logits):
    """The minimax generator loss E[log(1 - D(G(z)))] = -E[softplus(t)], to be *minimised* (lesson 01).

    Its gradient vanishes when D confidently rejects the fakes (t very negative).
    """
    return -ops.mean(ops.softplus(ops.cast(fake_logits, "float32")))


def generator_loss_non_saturating(fake_logits):
    """The non-saturating generator loss -E[log D(G(z))] = E[softplus(-t)] (lesson 01)."""
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))


def critic_loss_wasserstein(real_scores, fake_scores):
    """The WGAN critic loss E[f(G(z))] - E[f(x)] (Arjovsky et al. 2017), to be minimised."""
    return ops.mean(ops.cast(fake_scores, "float32")) - ops.mean(ops.cast(real_scores, "float32"))


def generator_loss_wasserstein(fake_scores):
    """The WGAN generator loss -E[f(G(z))]."""
    return -ops.mean(ops.cast(fake_scores, "float32"))


def generator_loss(kind: str, fake_logits):
    """Dispatch on ``kind`` in ``GENERATOR_LOSSES``."""
    if kind == "saturating":
        return generator_loss_saturating(fake_logits)
    if kind == "non_saturating":
        return generator_loss_non_saturating(fake_logits)
    if kind == "wasserstein":
        return generator_loss_wasserstein(fake_logits)
    raise ValueError(f"kind={kind!r}: expected one of {', '.join(GENERATOR_LOSSES)}")


def gradient_penalty(critic, real, fake, weights=None, seed=None):
    """WGAN-GP's penalty E[(||∇f(x̂)||₂ - 1)²] on random interpolates x̂ (Gulrajani et al. 2017).

    ``weights`` (shape (batch, 1, ...)) are the interpolation weights; by default
    they are drawn uniformly. Returns the penalty (multiply by λ = 10 yourself).
    TensorFlow backend (uses ``tf.GradientTape``).
    """
    import tensorflow as tf

    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    if weights is None:
        shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
        weights = tf.random.uniform(shape, 0.0, 1.0, seed=seed)
    mixed = weights * real + (1.0 - weights) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=True)
    grads = tape.gradient(scores, mixed)
    norms = tf.sqrt(tf.reduce_sum(tf.reshape(grads, [tf.shape(grads)[0], -1]) ** 2, axis=1) + 1e-12)
    return tf.reduce_mean((norms - 1.0) ** 2)


def r1_penalty(critic, real, gamma: float = 10.0):
    """The zero-centred R1 penalty (γ/2)·E[||∇ₓD(x)||²] on real samples (Mescheder et al., ICML 2018) (lesson 07).

    Added to D's loss it damps the rotation of the GAN game (lesson 07's Dirac-GAN).
    TensorFlow backend (uses ``tf.GradientTape``).
    """
    import tensorflow as tf

    gamma = float(gamma)
    if not gamma >= 0:
        raise ValueError(f"gamma={gamma!r}: expected a number >= 0")
    real = tf.convert_to_tensor(real, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = critic(real, training=True)
    grads = tape.gradient(scores, real)
    return 0.5 * gamma * tf.reduce_mean(tf.reduce_sum(tf.reshape(grads, [tf.shape(grads)[0], -1]) ** 2, axis=1))


# --------------------------------------------------------------------------- lesson 08: InfoGAN
def infogan_categorical_loss(codes, category_logits):
    """-E[log Q(c | G(z, c))] for the categorical code, from Q's logits (lesson 08).

    ``codes`` holds the int category each image was generated with. Minimising
    it maximises InfoGAN's lower bound on I(c; G(z, c)) up to the constant H(c)
    (Chen et al., NIPS 2016): L_I = H(c) - this loss.
    """
    codes = ops.cast(ops.reshape(codes, (-1,)), "int32")
    logits = ops.cast(category_logits, "float32")
    log_q = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
    picked = ops.take_along_axis(log_q, codes[:, None], axis=-1)
    return -ops.mean(picked)


def infogan_continuous_loss(codes, predicted_means):
    """-E[log Q(c | x)] + const for continuous codes, Q a unit-variance Gaussian: ½·mean squared error (lesson 08).

    Summed over the code dimensions, averaged over the batch; the constant
    ½·log(2π) per dimension is left out.
    """
    codes = ops.cast(codes, "float32")
    means = ops.cast(predicted_means, "float32")
    return 0.5 * ops.mean(ops.sum(ops.square(codes - means), axis=-1))


def mode_seeking_ratio(images_a, images_b, z_a, z_b):
    """mean |G(z_a, y) - G(z_b, y)| / mean |z_a - z_b| for pairs with the same label (lesson 08).

    Mao, Lee, Tseng, Ma, Yang (CVPR 2019, "Mode seeking generative adversarial
    networks for diverse image synthesis"): a generator that ignores its noise
    makes this ratio 0. Adding ``lambda / (ratio + 1e-5)`` to the generator's loss
    rewards it for turning different noise into different images.
    """
    images_a, images_b = ops.cast(images_a, "float32"), ops.cast(images_b, "float32")
    z_a, z_b = ops.cast(z_a, "float32"), ops.cast(z_b, "float32")
    return ops.mean(ops.abs(images_a - images_b)) / ops.mean(ops.abs(z_a - z_b))
