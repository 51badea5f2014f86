"""Differentiable augmentation for GANs trained on little data (lesson 11).

DiffAugment (Zhao, Liu, Lin, Zhu, Han, NeurIPS 2020): the discriminator sees real
*and* generated images through the same family of random transforms, and the
transforms are differentiable, so the generator's gradient passes through them.
Augmenting only the real images would teach G to produce augmented-looking images;
augmenting both keeps D from memorising a small training set.

Images are ``(N, H, W, C)`` in [-1, 1]. Each transform draws its own random values
per image from a ``keras.random.SeedGenerator``; a call on real images and a call
on fake ones draw different values from the same family, as in the paper.
"""

from __future__ import annotations

import keras
from keras import layers, ops

POLICIES = ("brightness", "contrast", "translation", "cutout")


def _check_images(images):
    x = ops.convert_to_tensor(images, dtype="float32")
    if len(x.shape) != 4:
        raise ValueError(f"images has shape {tuple(x.shape)}: expected (N, H, W, C)")
    return x


def _per_image(x, seed_generator, low, high):
    n = ops.shape(x)[0]
    return keras.random.uniform((n, 1, 1, 1), minval=low, maxval=high, seed=seed_generator)


def brightness(x, seed_generator):
    """Add one random offset in [-0.5, 0.5) to every pixel of each image (lesson 11)."""
    return x + _per_image(x, seed_generator, -0.5, 0.5)


def contrast(x, seed_generator):
    """Scale each image's deviation from its own mean by a random factor in [0.5, 1.5) (lesson 11)."""
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _per_image(x, seed_generator, 0.5, 1.5) + mean


def _shift_matrices(n, size, shift):
    """(n, size, size) matrices that move a row (or column) index by ``shift`` (n,), filling with zeros."""
    rows = ops.arange(size)[None, :, None]
    cols = ops.arange(size)[None, None, :]
    return ops.cast(ops.equal(rows - shift[:, None, None], cols), "float32")


def translation(x, seed_generator, fraction: float = 0.125):
    """Shift each image by up to ``fraction`` of its side in each direction, zeros (mid-grey is 0) coming in.

    Written as two matrix products with 0/1 shift matrices, so it is differentiable
    with respect to the images (lesson 11).
    """
    n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
    max_y, max_x = max(1, int(h * fraction + 0.5)), max(1, int(w * fraction + 0.5))
    dy = keras.random.randint((n,), -max_y, max_y + 1, seed=seed_generator)
    dx = keras.random.randint((n,), -max_x, max_x + 1, seed=seed_generator)
    shift_rows, shift_cols = _shift_matrices(n, h, dy), _shift_matrices(n, w, dx)
    return ops.einsum("nij,njkc,nlk->nilc", shift_rows, x, shift_cols)


def cutout(x, seed_generator, fraction: float = 0.5):
    """Set a square of side ``fraction`` of the image, at a random place in each image, to 0 (lesson 11)."""
    n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
    side_y, side_x = int(h * fraction + 0.5), int(w * fraction + 0.5)
    cy = keras.random.randint((n, 1, 1), 0, h + (1 - side_y % 2), seed=seed_generator)
    cx = keras.random.randint((n, 1, 1), 0, w + (1 - side_x % 2), seed=seed_generator)
    ys = ops.arange(h)[None, :, None]
    xs = ops.arange(w)[None, None, :]
    top, left = cy - side_y // 2, cx - side_x // 2      # the square may reach past the border, as in the paper
    inside = ops.logical_and(ops.logical_and(ys >= top, ys < top + side_y), ops.logical_and(xs >= left, xs < left + side_x))
    return x * ops.cast(ops.logical_not(inside), "float32")[..., None]


def diff_augment(images, seed_generator, policy=("translation", "cutout")):
    """Apply the transforms named in ``policy``, in order, to a batch of images (lesson 11).

    Call it on the real batch and on the generated batch before each of D's
    forward passes, in D's step and in G's step alike.
    """
    if isinstance(policy, str):
        policy = tuple(p for p in policy.split(",") if p)
    unknown = [p for p in policy if p not in POLICIES]
    if unknown:
        raise ValueError(f"policy={tuple(policy)!r}: unknown transform(s) {unknown}; expected names from {POLICIES}")
    if not isinstance(seed_generator, keras.random.SeedGenerator):
        raise TypeError(f"seed_generator={seed_generator!r}: expected a keras.random.SeedGenerator")
    x = _check_images(images)
    transforms = {"brightness": brightness, "contrast": contrast, "translation": translation, "cutout": cutout}
    for name in policy:
        x = transforms[name](x, seed_generator)
    return x


class DiffAugment(layers.Layer):
    """:func:`diff_augment` as a layer: put it in front of the discriminator,
    ``keras.Sequential([DiffAugment(), discriminator])``, and every call of D in a
    training step (real and fake, D's step and G's step) sees augmented images;
    with ``training=False`` it passes images through unchanged (lesson 11).
    """

    def __init__(self, policy=("translation", "cutout"), seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(policy, str):
            policy = tuple(p for p in policy.split(",") if p)
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ValueError(f"policy={tuple(policy)!r}: unknown transform(s) {unknown}; expected names from {POLICIES}")
        self.policy = tuple(policy)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        return diff_augment(images, self.seed_generator, self.policy)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "policy": list(self.policy), "seed": self.seed}
