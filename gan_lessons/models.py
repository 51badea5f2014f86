"""Networks of the course: the DCGAN generator and discriminator (lesson 03).

The builders check shapes as they go (as TensorFlow's DCGAN tutorial does), and
the discriminator returns *logits*: pair it with
``keras.losses.BinaryCrossentropy(from_logits=True)``.
"""

from __future__ import annotations

import keras
from keras import layers

START_SIZES = (7, 4)


def dcgan_init(seed: int | None = None):
    """DCGAN's weight initialisation, N(0, 0.02) (Radford et al. 2016)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r}: expected an int >= {low}")
    return value


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
                    seed: int | None = None) -> keras.Model:
    """The corrected DCGAN generator: z (latent_dim,) -> image (size, size, channels) in [-1, 1] (lesson 03).

    Dense -> BatchNorm -> LeakyReLU -> Reshape -> Conv2DTranspose stride 1, then
    stride-2 Conv2DTranspose blocks, each ``use_bias=False`` before BatchNorm,
    and a final stride-2 Conv2DTranspose with tanh. ``weight_init="dcgan"``
    uses N(0, 0.02); ``None`` keeps Keras' defaults.
    """
    _check_int("latent_dim", latent_dim)
    _check_int("channels", channels)
    _check_int("base_filters", base_filters)
    _check_int("kernel_size", kernel_size)
    if weight_init not in ("dcgan", None):
        raise ValueError(f"weight_init={weight_init!r}: expected 'dcgan' or None")
    start, k = upsampling_plan(image_size)
    init = dcgan_init(seed) if weight_init == "dcgan" else "glorot_uniform"
    filters = base_filters * 2 ** k

    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(start * start * filters, use_bias=False, kernel_initializer=init)(z)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((start, start, filters))(x)
    assert tuple(x.shape) == (None, start, start, filters), x.shape
    filters //= 2
    x = layers.Conv2DTranspose(filters, kernel_size, strides=1, padding="same", use_bias=False,
                               kernel_initializer=init)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    size = start
    for _ in range(k - 1):
        filters //= 2
        size *= 2
        x = layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init)(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
        assert tuple(x.shape) == (None, size, size, filters), x.shape
    image = layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", activation="tanh",
                                   kernel_initializer=init, dtype="float32", name="image")(x)
    assert tuple(image.shape) == (None, image_size, image_size, channels), image.shape
    return keras.Model(z, image, name=name)


def dcgan_discriminator(image_size: int = 28, channels: int = 1, base_filters: int = 64, kernel_size: int = 5,
                        dropout: float = 0.3, weight_init: str | None = "dcgan", name: str = "discriminator",
                        seed: int | None = None) -> keras.Model:
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
    start, k = upsampling_plan(image_size)
    init = dcgan_init(seed) if weight_init == "dcgan" else "glorot_uniform"

    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    x, filters, size = image, base_filters, image_size
    for _ in range(k):
        size //= 2
        x = layers.Conv2D(filters, kernel_size, strides=2, padding="same", kernel_initializer=init)(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        assert tuple(x.shape) == (None, size, size, filters), x.shape
        filters *= 2
    x = layers.Flatten()(x)
    logit = layers.Dense(1, kernel_initializer=init, dtype="float32", name="logit")(x)
    return keras.Model(image, logit, name=name)
