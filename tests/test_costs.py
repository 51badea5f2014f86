"""Compute-cost counting (gan_lessons.costs) and differentiable augmentation (gan_lessons.augment), lesson 11."""

import numpy as np
import pytest
import keras
import tensorflow as tf
from keras import layers

from gan_lessons import augment, costs, models


def _profiler_flops(model, input_shape, batch=3):
    """Forward-pass operations per example as TensorFlow's profiler counts them on the frozen graph."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: model(x, training=False))
    graph = convert_variables_to_constants_v2(fn.get_concrete_function(
        tf.TensorSpec((batch,) + tuple(input_shape), tf.float32))).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / batch


def test_layer_flops_by_hand_and_by_the_profiler():
    model = keras.Sequential([keras.Input((8, 8, 3)),
                              layers.Conv2D(4, 3, strides=2, padding="same"),
                              layers.Conv2DTranspose(5, 3, strides=2, padding="same", use_bias=False),
                              layers.Flatten(),
                              layers.Dense(7)])
    rows = costs.layer_flops(model)
    conv = 2 * 3 * 3 * 3 * 4 * (4 * 4) + 4 * 4 * 4           # 16 output positions, plus the bias adds
    transposed = 2 * 3 * 3 * 4 * 5 * (4 * 4)                  # 16 *input* positions, no bias
    dense = 2 * (8 * 8 * 5) * 7 + 7
    assert [r["flops"] for r in rows] == [conv, transposed, 0, dense]
    assert rows[1]["output"] == (8, 8, 5)
    assert costs.forward_flops(model) == conv + transposed + dense
    assert _profiler_flops(model, (8, 8, 3)) == conv + transposed + dense


def test_dcgan_flops_match_the_profiler():
    d = models.dcgan_discriminator(seed=1)
    assert costs.forward_flops(d) == _profiler_flops(d, (28, 28, 1))
    g = models.dcgan_generator(seed=0)
    counted, profiled = costs.forward_flops(g), _profiler_flops(g, (100,))
    # the profiler also counts BatchNorm's per-element arithmetic, which layer_flops leaves out
    assert counted < profiled < 1.001 * counted
    assert costs.train_step_flops(g, d) == 4 * counted + 8 * costs.forward_flops(d)


def test_flops_grow_faster_than_the_pixel_count_because_the_network_deepens():
    sizes = (32, 64, 128)
    nets = [models.dcgan_discriminator(image_size=s, base_filters=8) for s in sizes]
    blocks = [[r["flops"] for r in costs.layer_flops(d) if r["type"] == "Conv2D"][1:] for d in nets]
    for per_block in blocks:                       # after the first, every stride-2 block costs the same ...
        assert max(per_block) < 1.01 * min(per_block)
    assert [len(b) for b in blocks] == [2, 3, 4]   # ... and each doubling of the side adds one block
    k, _ = costs.power_law_exponent(sizes, [costs.forward_flops(d) for d in nets])
    assert 2.2 < k < 2.5                           # 4x the pixels, times (b + 1) / b blocks


def test_power_law_exponent_recovers_a_known_law_and_refuses_bad_input():
    k, c = costs.power_law_exponent([2, 4, 8, 16], [3 * s ** 2.5 for s in (2, 4, 8, 16)])
    assert np.isclose(k, 2.5) and np.isclose(c, 3.0)
    with pytest.raises(ValueError, match="two different sizes"):
        costs.power_law_exponent([4, 4], [1, 2])
    with pytest.raises(ValueError, match="> 0"):
        costs.power_law_exponent([1, 2], [0, 1])
    with pytest.raises(ValueError, match="as many"):
        costs.power_law_exponent([1, 2, 3], [1, 2])
    with pytest.raises(TypeError, match="keras.Model"):
        costs.layer_flops("generator")


# --------------------------------------------------------------------------- DiffAugment
def _images(n=6, side=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, side, side, 1)).astype("float32")


@pytest.mark.parametrize("policy", [(p,) for p in augment.POLICIES] + [augment.POLICIES])
def test_diff_augment_is_differentiable_and_keeps_the_shape(policy):
    x = tf.Variable(_images())
    with tf.GradientTape() as tape:
        y = augment.diff_augment(x, keras.random.SeedGenerator(1), policy)
        loss = tf.reduce_sum(y * tf.constant(_images(seed=1)))
    grad = tape.gradient(loss, x)
    assert y.shape == x.shape
    assert grad is not None and np.all(np.isfinite(grad)) and float(tf.reduce_max(tf.abs(grad))) > 0
    assert not np.allclose(y, x)


def test_translation_and_cutout_do_what_they_say():
    x = _images(n=64)
    moved = np.asarray(augment.translation(tf.constant(x), keras.random.SeedGenerator(2)))
    for before, after in zip(x[..., 0], moved[..., 0]):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.allclose(np.roll(np.pad(before, 2), (dy, dx), axis=(0, 1))[2:-2, 2:-2], after)]
        assert found, "each image is the original shifted by at most 2 pixels (1/8 of 16), zeros coming in"
    cut = np.asarray(augment.cutout(tf.constant(x), keras.random.SeedGenerator(3)))
    zeroed = (cut == 0) & (x != 0)
    assert np.all((cut == x) | zeroed)
    per_image = zeroed.reshape(64, -1).sum(axis=1)
    assert per_image.max() == 8 * 8 and per_image.min() > 0      # an 8 x 8 square, sometimes cut by the border


def test_real_and_fake_get_the_same_family_with_fresh_draws():
    seed = keras.random.SeedGenerator(4)
    x = np.zeros((5, 8, 8, 1), "float32")
    real = np.asarray(augment.diff_augment(x, seed, ("brightness",)))[:, 0, 0, 0]
    fake = np.asarray(augment.diff_augment(x, seed, ("brightness",)))[:, 0, 0, 0]
    assert np.all(np.abs(real) <= 0.5) and np.all(np.abs(fake) <= 0.5) and not np.allclose(real, fake)


def test_the_layer_augments_in_training_only_and_gradients_reach_the_generator():
    from gan_lessons import models
    g = models.dcgan_generator(latent_dim=8, image_size=16, base_filters=4, seed=0)
    d = keras.Sequential([augment.DiffAugment(seed=1),
                          models.dcgan_discriminator(image_size=16, base_filters=4, seed=2)])
    x = _images()
    assert np.array_equal(augment.DiffAugment()(x, training=False), x)
    assert not np.allclose(augment.DiffAugment()(x, training=True), x)
    z = tf.random.normal((4, 8), seed=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(d(g(z, training=True), training=True))
    grads = tape.gradient(loss, g.trainable_variables)
    assert all(gr is not None and float(tf.reduce_max(tf.abs(gr))) > 0 for gr in grads)
    with pytest.raises(ValueError, match="policy"):
        augment.DiffAugment(policy="translation,flip")


def test_activation_bytes_counts_every_layer_output():
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, padding="same"), layers.ReLU(),
                              layers.Flatten(), layers.Dense(7)])
    assert costs.activation_bytes(model) == 4 * (256 + 256 + 256 + 7)


def test_diff_augment_refuses_bad_input():
    with pytest.raises(ValueError, match="policy"):
        augment.diff_augment(_images(), keras.random.SeedGenerator(0), ("rotate",))
    with pytest.raises(TypeError, match="seed_generator"):
        augment.diff_augment(_images(), 0)
    with pytest.raises(ValueError, match="images"):
        augment.diff_augment(np.zeros((4, 4)), keras.random.SeedGenerator(0))


SYNC_SCRIPT = """
import json, numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras import layers
from gan_lessons import losses, models, training
real = tf.random.stateless_uniform((32, 8, 8, 1), seed=[0, 2], minval=-1, maxval=1)
z = tf.random.stateless_normal((32, 16), seed=[0, 1])

def build(synchronized):
    g = models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8, seed=1)
    if synchronized:
        def swap(layer):
            if isinstance(layer, layers.BatchNormalization):
                return layers.BatchNormalization.from_config({**layer.get_config(), "synchronized": True})
            return layer.__class__.from_config(layer.get_config())
        twin = keras.models.clone_model(g, clone_function=swap)
        twin.set_weights(g.get_weights())
        g = twin
    return g, models.dcgan_discriminator(image_size=8, base_filters=8, dropout=0.0, seed=2), keras.optimizers.SGD(0.1)

def update(g, d, opt, real, z):
    with tf.GradientTape() as tape:
        loss = training.per_replica(losses.discriminator_loss(d(real, training=True), d(g(z, training=True), training=True)))
    opt.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))

def change(strategy=None, synchronized=False):
    with (strategy or tf.distribute.get_strategy()).scope():
        g, d, opt = build(synchronized)
        opt.build(d.trainable_variables)
    before = [v.numpy().copy() for v in d.trainable_variables]
    if strategy is None:
        tf.function(update)(g, d, opt, real, z)
    else:
        halves = strategy.experimental_distribute_values_from_function(
            lambda ctx: (real[16 * ctx.replica_id_in_sync_group:16 * (ctx.replica_id_in_sync_group + 1)],
                         z[16 * ctx.replica_id_in_sync_group:16 * (ctx.replica_id_in_sync_group + 1)]))
        tf.function(lambda b: strategy.run(update, args=(g, d, opt) + tuple(b)))(halves)
    return [v.numpy() - b for v, b in zip(d.trainable_variables, before)]

one = change()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
gap = {s: max(float(np.abs(a - b).max()) for a, b in zip(one, change(strategy, s))) for s in (False, True)}
print(json.dumps({"size": max(float(np.abs(u).max()) for u in one), "per_replica": gap[False], "synchronized": gap[True]}))
"""


def test_two_devices_on_two_halves_equal_one_device_only_with_synchronized_batchnorm():
    """Lesson 11 section 2: each replica gets a *different* half of the batch; G's BatchNorm must pool its
    statistics across replicas for the distributed step to equal the one-device step."""
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", SYNC_SCRIPT], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["size"] > 1e-4
    assert result["synchronized"] < 1e-5 * result["size"]
    assert result["per_replica"] > 100 * result["synchronized"] and result["per_replica"] > 1e-3 * result["size"]
