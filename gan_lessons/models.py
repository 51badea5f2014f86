"""Networks of the course: the DCGAN generator and discriminator (lesson 03).

The builders check shapes as they go (as TensorFlow's DCGAN tutorial does), and
the discriminator returns *logits*: pair it with
``keras.losses.BinaryCrossentropy(from_logits=True)``.

``seed_generator`` and ``seed_discriminator`` reproduce the seed blog post's
networks *with their flaws*, for lesson 03 to take apart.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

START_SIZES = (7, 4)


def dcgan_init(seed: int | None = None):
    """DCGAN's weight initialisation, N(0, 0.02) (Radford et al. 2016; lesson 03).

    Use one initializer per layer: a Keras 3 initializer object draws the same
    values every time it is called, so sharing one across layers would give
    every layer the same starting weights.
    """
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def _layer_init(weight_init, seed, index: int):
    """A fresh initializer for the ``index``-th layer (never shared between layers)."""
    if weight_init == "dcgan":
        return dcgan_init(None if seed is None else seed + index)
    if seed is None:
        return keras.initializers.GlorotUniform()
    return keras.initializers.GlorotUniform(seed=seed + index)


def _check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed={seed!r}: expected None or an int >= 0")
    return seed


def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r}: expected an int >= {low}")
    return value


def _check_slope(leaky_slope):
    if isinstance(leaky_slope, bool) or not isinstance(leaky_slope, (int, float)) or not 0.0 <= leaky_slope < 1.0:
        raise ValueError(f"leaky_slope={leaky_slope!r}: expected a number in [0, 1)")
    return leaky_slope


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of stride-2 up-samplings) for a square image (lesson 03).

    The generator starts from a small square and doubles it: 28 = 7·2², 32 = 4·2³,
    64 = 4·2⁴. Sizes that are not 7·2^k or 4·2^k (k >= 1) cannot be reached.
    """
    _check_int("image_size", image_size)
    for start in START_SIZES:
        k, size = 0, image_size
        while size % 2 == 0 and size > start:
            size //= 2
            k += 1
        if size == start and k >= 1:
            return start, k
    raise ValueError(
        f"image_size={image_size} cannot be built by doubling: expected 7·2^k or 4·2^k with k >= 1 "
        "(for example 8, 14, 16, 28, 32, 56, 64)"
    )


def dcgan_generator(latent_dim: int = 100, image_size: int = 28, channels: int = 1, base_filters: int = 64,
                    kernel_size: int = 5, weight_init: str | None = "dcgan", name: str = "generator",
                    seed: int | None = None, leaky_slope: float = 0.2,
                    upsampling: str = "transposed", interpolation: str = "nearest") -> keras.Model:
    """The corrected DCGAN generator: z (latent_dim,) -> image (size, size, channels) in [-1, 1] (lesson 03).

    Dense -> BatchNorm -> LeakyReLU -> Reshape -> Conv2DTranspose stride 1, then
    stride-2 Conv2DTranspose blocks, each ``use_bias=False`` before BatchNorm,
    and a final stride-2 Conv2DTranspose with tanh. ``weight_init="dcgan"``
    uses N(0, 0.02); ``None`` keeps Keras' defaults (Glorot uniform).
    ``leaky_slope`` is LeakyReLU's negative slope (0.2 as in DCGAN; TensorFlow's
    tutorial keeps Keras' default 0.3). ``upsampling="resize"`` replaces each
    stride-2 transposed convolution by nearest-neighbour doubling followed by a
    stride-1 convolution of the same kernel size (resize-then-convolve, lesson 03
    section 6), which spreads every input pixel evenly over the output;
    ``interpolation`` ("nearest" or "bilinear") is the doubling's.
    """
    _check_int("latent_dim", latent_dim)
    _check_int("channels", channels)
    _check_int("base_filters", base_filters)
    _check_int("kernel_size", kernel_size)
    if weight_init not in ("dcgan", None):
        raise ValueError(f"weight_init={weight_init!r}: expected 'dcgan' or None")
    _check_slope(leaky_slope)
    _check_seed(seed)
    if upsampling not in ("transposed", "resize"):
        raise ValueError(f"upsampling={upsampling!r}: expected 'transposed' or 'resize'")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation={interpolation!r}: expected 'nearest' or 'bilinear'")
    start, k = upsampling_plan(image_size)
    filters = base_filters * 2 ** k

    def up(n_out, **kw):  # one stride-2 up-sampling
        if upsampling == "transposed":
            return lambda t: layers.Conv2DTranspose(n_out, kernel_size, strides=2, padding="same", **kw)(t)
        return lambda t: layers.Conv2D(n_out, kernel_size, padding="same", **kw)(
            layers.UpSampling2D(2, interpolation=interpolation)(t))
    n_init = iter(range(k + 2))

    def init():
        return _layer_init(weight_init, seed, next(n_init))

    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(start * start * filters, use_bias=False, kernel_initializer=init())(z)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(leaky_slope)(x)
    x = layers.Reshape((start, start, filters))(x)
    assert tuple(x.shape) == (None, start, start, filters), x.shape
    filters //= 2
    x = layers.Conv2DTranspose(filters, kernel_size, strides=1, padding="same", use_bias=False,
                               kernel_initializer=init())(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(leaky_slope)(x)
    size = start
    for _ in range(k - 1):
        filters //= 2
        size *= 2
        x = up(filters, use_bias=False, kernel_initializer=init())(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(leaky_slope)(x)
        assert tuple(x.shape) == (None, size, size, filters), x.shape
    image = up(channels, activation="tanh", kernel_initializer=init(), dtype="float32", name="image")(x)
    assert tuple(image.shape) == (None, image_size, image_size, channels), image.shape
    return keras.Model(z, image, name=name)


def dcgan_discriminator(image_size: int = 28, channels: int = 1, base_filters: int = 64, kernel_size: int = 5,
                        dropout: float = 0.3, weight_init: str | None = "dcgan", name: str = "discriminator",
                        seed: int | None = None, leaky_slope: float = 0.2) -> keras.Model:
    """The corrected DCGAN discriminator: image -> one *logit* per image (lesson 03).

    Stride-2 Conv2D blocks with LeakyReLU(0.2) and dropout, then a Dense(1) with
    no activation: the loss applies the sigmoid (``from_logits=True``).
    """
    _check_int("channels", channels)
    _check_int("base_filters", base_filters)
    _check_int("kernel_size", kernel_size)
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r}: expected a float in [0, 1)")
    if weight_init not in ("dcgan", None):
        raise ValueError(f"weight_init={weight_init!r}: expected 'dcgan' or None")
    _check_slope(leaky_slope)
    _check_seed(seed)
    start, k = upsampling_plan(image_size)
    n_init = iter(range(k + 1))

    def init():
        return _layer_init(weight_init, seed, next(n_init))

    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    x, filters, size = image, base_filters, image_size
    for _ in range(k):
        size //= 2
        x = layers.Conv2D(filters, kernel_size, strides=2, padding="same", kernel_initializer=init())(x)
        x = layers.LeakyReLU(leaky_slope)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        assert tuple(x.shape) == (None, size, size, filters), x.shape
        filters *= 2
    x = layers.Flatten()(x)
    assert tuple(x.shape) == (None, start * start * filters // 2), x.shape
    logit = layers.Dense(1, kernel_initializer=init(), dtype="float32", name="logit")(x)
    assert tuple(logit.shape) == (None, 1), logit.shape
    return keras.Model(image, logit, name=name)


def parameter_counts(model) -> dict:
    """{"trainable", "non_trainable", "total"} weight counts of a built Keras model (lesson 03).

    BatchNormalization's moving mean and variance are the non-trainable ones.
    """
    if not isinstance(model, (keras.Model, keras.layers.Layer)):
        raise TypeError(f"model={model!r}: expected a built keras.Model or Layer")
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    non_trainable = int(sum(int(np.prod(w.shape)) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}


# ---------------------------------------------------------------------------
# The seed's networks, reproduced as documented (lesson 03). Deliberately flawed.
# ---------------------------------------------------------------------------

def seed_generator(noise_dim: int = 100, name: str = "seed_generator") -> keras.Model:
    """The seed blog post's generator, layer by layer in its order, flaws included (lesson 03).

    Deliberately faithful, so lesson 03 can show what goes wrong; do not train it.
    The seed's layers, in its order::

        Dense(4*4*256, use_bias=False) -> LeakyReLU -> BatchNormalization(scale=False)
        -> Reshape((4, 4, 256))
        -> Conv2DTranspose(128, 5, strides=1, use_bias=False) -> BatchNormalization -> LeakyReLU
        -> Conv2DTranspose(64, 5, strides=2, use_bias=False)  -> BatchNormalization -> LeakyReLU
        -> Conv2DTranspose(1, 5, strides=2, use_bias=False, activation="tanh")

    Kept from the seed: the output is 16x16x1 (4 -> 4 -> 8 -> 16), not the 28x28x1
    its discriminator expects; the first block applies LeakyReLU *before*
    BatchNorm (every other block does the opposite); the last layer has no
    bias although no BatchNorm follows it; Keras' default LeakyReLU slope
    (0.3 in Keras 3) and initializers.

    Changed only so that it builds at all: the seed's function creates the
    Dense layer with ``input_shape=(noise_dim,)`` but never calls it on its
    noise argument (so its code raises before any layer runs); here the noise
    is a ``keras.Input(shape=(noise_dim,))`` and the Dense layer is applied to it.
    """
    _check_int("noise_dim", noise_dim)
    z = keras.Input(shape=(noise_dim,), name="noise")
    net = layers.Dense(4 * 4 * 256, use_bias=False)(z)
    net = layers.LeakyReLU()(net)
    net = layers.BatchNormalization(scale=False)(net)
    net = layers.Reshape((4, 4, 256))(net)
    net = layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False)(net)
    net = layers.BatchNormalization()(net)
    net = layers.LeakyReLU()(net)
    net = layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False)(net)
    net = layers.BatchNormalization()(net)
    net = layers.LeakyReLU()(net)
    net = layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                 activation="tanh")(net)
    return keras.Model(z, net, name=name)


def seed_discriminator(name: str = "seed_discriminator") -> keras.Model:
    """The seed blog post's discriminator, layer by layer in its order, flaws included (lesson 03).

    Deliberately faithful, so lesson 03 can show what goes wrong; do not train it::

        Conv2D(64, 5, strides=2) -> LeakyReLU -> Dropout(0.3)
        -> Conv2D(128, 5, strides=2) -> LeakyReLU -> Dropout(0.3)
        -> Flatten -> Dense(1, activation="sigmoid")

    Kept from the seed: it accepts only 28x28x1 images (so the seed's 16x16
    generator output cannot be fed to it), and it ends in a *sigmoid*, i.e. it
    outputs probabilities, while the seed compiles with
    ``BinaryCrossentropy(from_logits=True)``, which applies a second sigmoid.

    Changed only so that it is a model: the seed's ``input_shape=(28, 28, 1)``
    on its first Conv2D (ignored in functional code) becomes a
    ``keras.Input(shape=(28, 28, 1))``.
    """
    image = keras.Input(shape=(28, 28, 1), name="image")
    net = layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same")(image)
    net = layers.LeakyReLU()(net)
    net = layers.Dropout(0.3)(net)
    net = layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same")(net)
    net = layers.LeakyReLU()(net)
    net = layers.Dropout(0.3)(net)
    net = layers.Flatten()(net)
    net = layers.Dense(1, activation="sigmoid")(net)
    return keras.Model(image, net, name=name)


# --------------------------------------------------------------------------- lesson 07: minibatch standard deviation
@keras.saving.register_keras_serializable(package="gan_lessons")
class MinibatchStdDev(layers.Layer):
    """Minibatch standard deviation (Karras et al. 2018, ICLR, "Progressive Growing of GANs") (lesson 07).

    Computes the standard deviation of every feature across the batch, averages
    it into one number and appends that number as an extra feature (a constant
    channel for images (N, H, W, C), one more unit for vectors (N, F)). A
    discriminator with this layer sees how varied a whole batch is, so a
    generator that sends every z to the same few outputs is easy to catch.
    The statistics are over the whole batch given to one call (the paper uses
    groups of 4); the discriminator is called on real and fake batches
    separately, so each batch is judged by its own variety.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"epsilon={epsilon!r}: expected a small positive float")
        self.epsilon = float(epsilon)

    def call(self, x):
        from keras import ops

        std = ops.sqrt(ops.var(x, axis=0) + self.epsilon)  # one std per feature
        mean_std = ops.mean(std)                          # one number for the batch
        extra = ops.ones_like(x[..., :1]) * ops.cast(mean_std, x.dtype)
        return ops.concatenate([x, extra], axis=-1)

    def compute_output_shape(self, input_shape):
        last = None if input_shape[-1] is None else input_shape[-1] + 1
        return tuple(input_shape[:-1]) + (last,)

    def get_config(self):
        return dict(super().get_config(), epsilon=self.epsilon)


# --------------------------------------------------------------------------- lesson 08: conditional networks
def _check_labels_input(n_classes):
    return _check_int("n_classes", n_classes, low=2)


def conditional_generator(latent_dim: int = 100, n_classes: int = 10, embed_dim: int = 10, image_size: int = 28,
                          channels: int = 1, base_filters: int = 32, name: str = "conditional_generator",
                          seed: int | None = None) -> keras.Model:
    """Conditional DCGAN generator: ``[z (N, latent_dim), labels (N,) int]`` -> image in [-1, 1] (lesson 08).

    Mirza & Osindero (2014): the label joins the noise at the input. The label
    goes through a learned ``Embedding(n_classes, embed_dim)``, is concatenated
    to z, and the result feeds lesson 03's DCGAN generator (built by
    :func:`dcgan_generator` with ``latent_dim + embed_dim`` inputs).
    """
    _check_int("latent_dim", latent_dim)
    _check_labels_input(n_classes)
    _check_int("embed_dim", embed_dim)
    _check_seed(seed)
    z = keras.Input(shape=(latent_dim,), name="z")
    y = keras.Input(shape=(), dtype="int32", name="label")
    e = layers.Embedding(n_classes, embed_dim, name="label_embedding",
                         embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed))(y)
    x = layers.Concatenate(name="z_and_label")([z, e])
    body = dcgan_generator(latent_dim=latent_dim + embed_dim, image_size=image_size, channels=channels,
                           base_filters=base_filters, name="dcgan_body", seed=seed)
    image = body(x)
    assert tuple(image.shape) == (None, image_size, image_size, channels), image.shape
    return keras.Model([z, y], image, name=name)


def _dcgan_trunk(image_size, channels, base_filters, dropout, seed, name):
    """Lesson 03's discriminator without its last Dense: image -> flattened features."""
    d = dcgan_discriminator(image_size=image_size, channels=channels, base_filters=base_filters,
                            dropout=dropout, seed=seed, name=name + "_full")
    flat = [layer for layer in d.layers if isinstance(layer, layers.Flatten)][0]
    return keras.Model(d.input, flat.output, name=name)


def projection_discriminator(n_classes: int = 10, image_size: int = 28, channels: int = 1, base_filters: int = 32,
                             dropout: float = 0.3, name: str = "projection_discriminator",
                             seed: int | None = None) -> keras.Model:
    """Projection discriminator (Miyato & Koyama, ICLR 2018): ``[image, labels]`` -> one logit (lesson 08).

    The trunk is lesson 03's DCGAN discriminator up to its features h(x); the
    logit is ``psi(h) + <embed(y), h>``: an unconditional score plus the inner
    product of the features with a learned vector per class. The label never
    touches the pixels, so the trunk stays the same as the unconditional one.
    """
    _check_labels_input(n_classes)
    _check_seed(seed)
    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    y = keras.Input(shape=(), dtype="int32", name="label")
    h = _dcgan_trunk(image_size, channels, base_filters, dropout, seed, "trunk")(image)
    feat_dim = int(h.shape[-1])
    h = layers.Activation("linear", dtype="float32", name="features_f32")(h)
    psi = layers.Dense(1, kernel_initializer=dcgan_init(None if seed is None else seed + 100), dtype="float32",
                       name="psi")(h)
    e = layers.Embedding(n_classes, feat_dim, embeddings_initializer=dcgan_init(None if seed is None else seed + 101),
                         dtype="float32", name="class_embedding")(y)
    proj = layers.Dot(axes=1, name="projection", dtype="float32")([e, h])
    logit = layers.Add(name="logit", dtype="float32")([psi, proj])
    assert tuple(logit.shape) == (None, 1), logit.shape
    return keras.Model([image, y], logit, name=name)


# --------------------------------------------------------------------------- lesson 08: InfoGAN networks
def infogan_generator(noise_dim: int = 62, n_categories: int = 10, n_continuous: int = 2, image_size: int = 28,
                      base_filters: int = 16, name: str = "infogan_generator", seed: int | None = None) -> keras.Model:
    """InfoGAN generator: ``[z, one-hot category c, continuous codes]`` concatenated -> image (lesson 08).

    One input of width ``noise_dim + n_categories + n_continuous`` (the caller
    concatenates), feeding lesson 03's DCGAN generator.
    """
    _check_int("noise_dim", noise_dim)
    _check_int("n_categories", n_categories, low=2)
    _check_int("n_continuous", n_continuous, low=0)
    return dcgan_generator(latent_dim=noise_dim + n_categories + n_continuous, image_size=image_size,
                           base_filters=base_filters, name=name, seed=seed)


def infogan_discriminator(n_categories: int = 10, n_continuous: int = 2, image_size: int = 28, base_filters: int = 16,
                          q_units: int = 128, name: str = "infogan_discriminator",
                          seed: int | None = None) -> keras.Model:
    """InfoGAN discriminator with its Q head on a shared trunk: image -> [logit, category logits, code means] (lesson 08).

    D and Q share every convolution (Chen et al., NIPS 2016); Q adds one hidden
    Dense layer, then predicts the categorical code (logits) and the mean of
    each continuous code (a Gaussian with fixed unit variance).
    """
    _check_int("n_categories", n_categories, low=2)
    _check_int("n_continuous", n_continuous, low=0)
    _check_int("q_units", q_units)
    _check_seed(seed)

    def init(i):
        return dcgan_init(None if seed is None else seed + 200 + i)

    image = keras.Input(shape=(image_size, image_size, 1), name="image")
    h = _dcgan_trunk(image_size, 1, base_filters, 0.0, seed, "trunk")(image)
    logit = layers.Dense(1, kernel_initializer=init(0), dtype="float32", name="logit")(h)
    q = layers.Dense(q_units, kernel_initializer=init(1), name="q_hidden")(h)
    q = layers.LeakyReLU(0.2)(q)
    q_cat = layers.Dense(n_categories, kernel_initializer=init(2), dtype="float32", name="q_category")(q)
    q_cont = layers.Dense(max(n_continuous, 1), kernel_initializer=init(3), dtype="float32", name="q_continuous")(q)
    return keras.Model(image, [logit, q_cat, q_cont], name=name)


# --------------------------------------------------------------------------- lesson 08: walking the latent space
def lerp(z0, z1, t):
    """Linear interpolation (1 - t)·z0 + t·z1 for each t (lesson 08); returns (len(t), dim)."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"z0 and z1 have shapes {z0.shape} and {z1.shape}; expected two vectors of one length")
    t = np.atleast_1d(np.asarray(t, np.float64))
    return (1 - t)[:, None] * z0 + t[:, None] * z1


def slerp(z0, z1, t):
    """Spherical interpolation along the great circle from z0 to z1 (Shoemake 1985; White 2016) (lesson 08).

    The norm changes smoothly from |z0| to |z1| instead of dipping in the middle
    as :func:`lerp` does; for nearly parallel vectors it falls back to lerp.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"z0 and z1 have shapes {z0.shape} and {z1.shape}; expected two vectors of one length")
    t = np.atleast_1d(np.asarray(t, np.float64))
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0 or n1 == 0:
        return lerp(z0, z1, t)
    omega = np.arccos(np.clip(z0 @ z1 / (n0 * n1), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(z0, z1, t)
    return (np.sin((1 - t) * omega)[:, None] * z0 + np.sin(t * omega)[:, None] * z1) / np.sin(omega)


def truncated_normal(n: int, dim: int, threshold: float | None, seed: int = 0) -> np.ndarray:
    """(n, dim) standard normal samples, each entry redrawn until |z| <= ``threshold`` (lesson 08).

    The truncation trick (Brock et al., ICLR 2019, BigGAN). ``threshold=None``
    is the untruncated prior.
    """
    _check_int("n", n)
    _check_int("dim", dim)
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not threshold > 0):
        raise ValueError(f"threshold={threshold!r}: expected None or a positive number")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dim))
    if threshold is None:
        return z.astype(np.float32)
    bad = np.abs(z) > threshold
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > threshold
    return z.astype(np.float32)
