"""gan_lessons.training: the GAN model's train step, exact resumption, precision and strategy paths."""

import functools
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from gan_lessons import plots, data, models, runtime, training


@pytest.fixture(scope="module")
def digits():
    x, _ = data.load_images("digits", "train")
    return x[:512]


def small_gan(seed=0, **kw):
    runtime.seed_everything(seed)
    g = models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8)
    d = models.dcgan_discriminator(image_size=8, base_filters=8)
    gan = training.GAN(g, d, seed=seed, **kw)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    return gan


def snapshot(model):
    return [np.array(v.numpy()) for v in model.trainable_variables]


def changed(before, model):
    return [not np.array_equal(b, np.array(v.numpy())) for b, v in zip(before, model.trainable_variables)]


def test_train_step_finite_and_both_networks_learn(digits):
    gan = small_gan()
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    logs = gan.train_step(digits[:32])
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert 0 < float(logs["d_real"]) < 1 and 0 < float(logs["d_fake"]) < 1
    assert all(changed(g0, gan.generator)), "every generator weight must move"
    assert all(changed(d0, gan.discriminator)), "every discriminator weight must move"
    assert gan.current_step == 1


def test_generator_gets_gradients_through_discriminator(digits):
    import tensorflow as tf

    gan = small_gan()
    z = tf.random.normal((8, gan.latent_dim))
    with tf.GradientTape() as tape:
        loss = gan._g_loss(gan.discriminator(gan.generator(z, training=True), training=True))
    grads = tape.gradient(loss, gan.generator.trainable_variables)
    assert all(g is not None for g in grads)
    assert all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


@pytest.mark.parametrize("kw", [dict(loss="saturating", real_label=0.9, instance_noise=0.1),
                                dict(loss="wasserstein", gp_weight=10.0, d_steps=2),
                                dict(loss="wasserstein", clip_value=0.01)])
def test_loss_variants_run(digits, kw):
    gan = small_gan(**kw)
    logs = gan.train_step(digits[:16])
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert ("gp" in logs) == (kw.get("gp_weight", 0) > 0)
    if kw.get("clip_value"):
        assert all(np.max(np.abs(v.numpy())) <= kw["clip_value"] + 1e-7
                   for v in gan.discriminator.trainable_variables)


def test_loss_fn_override_matches_builtin(digits):
    a = small_gan()
    b = small_gan()
    b.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
              loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    la, lb = a.train_step(digits[:16]), b.train_step(digits[:16])
    np.testing.assert_allclose(float(la["d_loss"]), float(lb["d_loss"]), rtol=1e-5)
    np.testing.assert_allclose(float(la["g_loss"]), float(lb["g_loss"]), rtol=1e-5)


def test_mlp_on_points():
    runtime.seed_everything(0)
    pts = data.toy_2d("ring", 256, seed=0).astype("float32")
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    gan = training.GAN(g, d)
    assert gan.latent_dim == 2
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    hist = gan.fit(pts, batch_size=64, epochs=2, verbose=0)
    assert np.isfinite(hist.history["g_loss"]).all()
    assert gan.generate(10).shape == (10, 2)


def test_bad_arguments():
    g = models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8)
    d = models.dcgan_discriminator(image_size=8, base_filters=8)
    with pytest.raises(ValueError, match="loss"):
        training.GAN(g, d, loss="hinge")
    with pytest.raises(ValueError, match="d_steps"):
        training.GAN(g, d, d_steps=0)
    with pytest.raises(ValueError, match="real_label"):
        training.GAN(g, d, real_label=0.2)
    with pytest.raises(TypeError, match="generator"):
        training.GAN("g", d)
    gan = training.GAN(g, d)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="same object"):
        gan.compile(opt, opt)


def test_generate_is_deterministic_and_does_not_touch_training_rng(digits):
    gan = small_gan()
    state = np.array(gan.seed_generator.state.numpy())
    a, b = gan.generate(5, seed=7), gan.generate(5, seed=7)
    gan.generate(5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state, gan.seed_generator.state.numpy())
    assert a.shape == (5, 8, 8, 1) and a.min() >= -1 and a.max() <= 1


def test_step_dataset_is_a_function_of_the_step(digits):
    ds = training.step_dataset(digits, 32, seed=5, start_step=37, steps=3)
    got = [np.asarray(b) for b in ds]
    assert len(got) == 3
    for i, b in enumerate(got):
        np.testing.assert_array_equal(b, digits[training.step_batch_indices(len(digits), 32, 37 + i, seed=5)])
    # epoch boundary: 512 // 32 = 16 steps per epoch; the permutation changes with the epoch
    assert not np.array_equal(training.step_batch_indices(512, 32, 0), training.step_batch_indices(512, 32, 16))


@pytest.mark.parametrize("ema_decay,kw", [(None, {}), (0.9, {}),
                                           (None, dict(loss="wasserstein", gp_weight=10.0, d_steps=2))],
                         ids=["raw", "with-weight-average", "wgan-gp-two-critic-steps"])
def test_resume_is_exact(digits, tmp_path, ema_decay, kw):
    ck = tmp_path / "ck.npz"
    small_gan = functools.partial(globals()["small_gan"], **kw)
    # uninterrupted: 24 steps
    gan = small_gan(ema_decay=ema_decay)
    full = training.StepLogger()
    training.fit_steps(gan, digits, 24, batch_size=32, steps_per_epoch=10, callbacks=[full])
    reference = {k: np.array(v.numpy()) for k, v in gan.state_variables().items()}
    # interrupted after 13 steps (a checkpoint every 13), then a FRESH model restores and finishes
    gan_a = small_gan(ema_decay=ema_decay)
    training.fit_steps(gan_a, digits, 13, batch_size=32, steps_per_epoch=10,
                       callbacks=[training.Checkpoint(ck, every_n_steps=13)])
    del gan_a
    gan_b = small_gan(seed=0, ema_decay=ema_decay)
    meta = gan_b.load_checkpoint(ck)
    assert meta["step"] == 13 and gan_b.current_step == 13
    d_steps = kw.get("d_steps", 1)
    assert int(gan_b.d_optimizer.iterations.numpy()) == 13 * d_steps
    assert int(gan_b.g_optimizer.iterations.numpy()) == 13
    rest = training.StepLogger()
    training.fit_steps(gan_b, digits, 24, batch_size=32, steps_per_epoch=10, callbacks=[rest])
    assert gan_b.current_step == 24
    np.testing.assert_array_equal(np.array(rest.history["g_loss"]), np.array(full.history["g_loss"][13:]))
    resumed = {k: np.array(v.numpy()) for k, v in gan_b.state_variables().items()}
    assert resumed.keys() == reference.keys()
    assert any(k.startswith("ema_generator/") for k in reference) == (ema_decay is not None)
    for k in reference:
        np.testing.assert_array_equal(resumed[k], reference[k], err_msg=k)


@pytest.mark.parametrize("d_steps", [1, 3])
def test_each_critic_step_sees_a_fresh_real_batch(digits, d_steps):
    """WGAN's algorithm draws a new real batch for every critic step: a batch of d_steps·B images is split."""
    seen = []

    class Recording(keras.Model):  # the discriminator, recording every input it is given (eager train_step)
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x, training=False):
            seen.append(np.array(x))
            return self.inner(x, training=training)

    runtime.seed_everything(0)
    g = models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8)
    d = Recording(models.dcgan_discriminator(image_size=8, base_filters=8))
    d(digits[:1])
    seen.clear()
    gan = training.GAN(g, d, loss="wasserstein", d_steps=d_steps)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    batch = digits[:8 * d_steps]
    gan.train_step(batch)
    # each critic step calls D on its real batch, then on fakes; the generator step calls it once more
    assert len(seen) == 2 * d_steps + 1
    real_seen = seen[0:2 * d_steps:2]
    for i, x in enumerate(real_seen):
        np.testing.assert_array_equal(x, batch[8 * i:8 * (i + 1)])
    assert all(x.shape[0] == 8 for x in seen)  # the fakes and the generator step use the same B
    # fit_steps hands train_step d_steps·B images a step, consecutive steps never overlap within an epoch
    ds = training.step_dataset(digits, 8 * d_steps, seed=0, steps=2)
    first, second = (np.asarray(b) for b in ds)
    assert first.shape[0] == 8 * d_steps
    assert not any((first[:, None] == second[None]).reshape(len(first), len(second), -1).all(-1).ravel())


def test_checkpoint_is_atomic_and_checks_architecture(digits, tmp_path, monkeypatch):
    ck = tmp_path / "ck.npz"
    gan = small_gan()
    gan.train_step(digits[:32])
    gan.save_checkpoint(ck)
    good = ck.read_bytes()

    def killed(fh, **arrays):
        fh.write(b"half a file")
        raise KeyboardInterrupt("killed while saving")

    gan.train_step(digits[:32])
    monkeypatch.setattr(np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        gan.save_checkpoint(ck)
    monkeypatch.undo()
    assert ck.read_bytes() == good, "the old checkpoint must survive a kill during saving"
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"], "no temp file is left behind"
    assert small_gan().load_checkpoint(ck)["step"] == 1

    runtime.seed_everything(0)
    other = training.GAN(models.dcgan_generator(latent_dim=16, image_size=8, base_filters=16),
                         models.dcgan_discriminator(image_size=8, base_filters=16))
    other.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="another architecture"):
        other.load_checkpoint(ck)
    with pytest.raises(ValueError, match="does not exist"):
        other.load_checkpoint(tmp_path / "missing.npz")


def test_nan_stops_training_with_a_clear_message(digits):
    gan = small_gan()
    bad = digits[:64].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(training.NonFiniteLossError, match=r"step 1: .*lower learning rate.*\[-1, 1\]"):
        gan.fit(bad, batch_size=64, epochs=1, verbose=0)


def _all_finite(path):
    arrays, _ = training.read_checkpoint(path)
    return not training.non_finite(arrays)


def test_huge_learning_rate_never_saves_a_poisoned_checkpoint(digits, tmp_path):
    """With lr 1e10 the optimizer state and weights overflow while the losses are still finite."""
    ck = tmp_path / "ck.npz"
    gan = small_gan()
    gan.save_checkpoint(ck)  # a good state
    gan.compile(keras.optimizers.Adam(1e10), keras.optimizers.Adam(1e10))
    with pytest.raises(training.NonFiniteLossError, match=r"step (\d+): .*NaN or inf.*lower learning rate") as err:
        training.fit_steps(gan, digits, 20, batch_size=32, callbacks=[training.Checkpoint(ck, every_n_steps=1)])
    assert _all_finite(ck), "a non-finite state was saved as the last good checkpoint"
    assert training.read_checkpoint(ck)[1]["step"] < gan.current_step, str(err.value)
    assert not list(tmp_path.glob(".part-*"))
    good = ck.read_bytes()
    with pytest.raises(training.NonFiniteWeightsError, match="was not overwritten"):
        gan.save_checkpoint(ck)
    assert ck.read_bytes() == good


def test_nan_guard_watches_batchnorm_statistics(digits):
    gan = small_gan()
    bn = next(layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.BatchNormalization)) \
        if any(isinstance(layer, keras.layers.BatchNormalization) for layer in gan.discriminator.layers) else \
        next(layer for layer in gan.generator.layers if isinstance(layer, keras.layers.BatchNormalization))
    bn.moving_variance.assign(np.full(bn.moving_variance.shape, np.inf, np.float32))
    # checked every step when asked to ...
    with pytest.raises(training.NonFiniteWeightsError, match=r"step 1: NaN or inf in .*moving_variance"):
        training.fit_steps(gan, digits, 5, batch_size=32, callbacks=[training.NaNGuard(weights_every=1)])
    # ... and by default every 25 steps and at the end of training
    with pytest.raises(training.NonFiniteWeightsError, match=r"step \d+: NaN or inf in .*moving_variance"):
        training.fit_steps(gan, digits, 3, batch_size=32)


def test_load_checkpoint_refuses_damaged_or_non_finite_files(digits, tmp_path):
    ck = tmp_path / "ck.npz"
    gan = small_gan()
    gan.save_checkpoint(ck)
    arrays, meta = training.read_checkpoint(ck)
    raw = ck.read_bytes()
    before = [np.array(v.numpy()) for v in gan.generator.variables]
    damaged = {
        "truncated": raw[:len(raw) // 2], "empty": b"", "flipped": raw[:len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 1])
        + raw[len(raw) // 2 + 1:],
    }
    for name, content in damaged.items():
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(content)
        with pytest.raises(training.CheckpointError, match=f"{name}.npz.*damaged"):
            gan.load_checkpoint(bad)
    np.save(tmp_path / "single.npy", np.zeros(3))
    os.replace(tmp_path / "single.npy", tmp_path / "single.npz")
    with pytest.raises(training.CheckpointError, match="single.npz.*not an .npz"):
        gan.load_checkpoint(tmp_path / "single.npz")
    key = next(k for k in arrays if k.startswith("generator/"))
    arrays[key] = np.full_like(arrays[key], np.nan)
    np.savez(tmp_path / "nan.npz", __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with pytest.raises(training.CheckpointError, match="NaN or inf"):
        gan.load_checkpoint(tmp_path / "nan.npz")
    for b, v in zip(before, gan.generator.variables):
        np.testing.assert_array_equal(b, np.array(v.numpy()))


def test_callbacks_sample_grid_and_png(digits, tmp_path):
    gan = small_gan()
    noise = np.random.default_rng(0).normal(size=(16, 16)).astype("float32")
    grid = training.SampleGrid(noise, every_n_epochs=1, every_n_steps=3, out_dir=tmp_path)
    training.fit_steps(gan, digits, 6, batch_size=32, steps_per_epoch=3, callbacks=[grid])
    steps = [s for s, _ in grid.images]
    assert steps == [3, 3, 6, 6]
    assert grid.images[0][1].shape == (16, 8, 8, 1)
    assert not np.array_equal(grid.images[0][1], grid.images[2][1])
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["samples_0000003.png", "samples_0000006.png"]
    gif = plots.save_gif([im for _, im in grid.images], tmp_path / "p.gif")
    from PIL import Image

    assert Image.open(gif).n_frames >= 2  # PIL merges identical consecutive frames


def test_mixed_bfloat16_path(digits):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = small_gan()
        assert gan.discriminator.layers[1].compute_dtype == "bfloat16"
        logs = gan.train_step(digits[:32])
        assert all(np.isfinite(float(v)) for v in logs.values())
        assert gan.generator.trainable_variables[0].dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_wraps_loss_scale(digits):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = small_gan()
        assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
        logs = gan.train_step(digits[:16])
        assert all(np.isfinite(float(v)) for v in logs.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


STRATEGY_SCRIPT = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gan_lessons import data, models, runtime, training
    runtime.seed_everything(0)
    x, _ = data.load_images("digits", "train", limit=256)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = training.GAN(models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8),
                           models.dcgan_discriminator(image_size=8, base_filters=8))
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    before = [np.array(v.numpy()) for v in gan.generator.trainable_variables]
    hist = training.fit_steps(gan, x, 4, batch_size=32)
    moved = all(not np.array_equal(b, v.numpy()) for b, v in zip(before, gan.generator.trainable_variables))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "step": gan.current_step, "moved": moved,
                      "g_loss": hist.history["g_loss"][-1]}))
""")


def test_distribution_strategy_two_logical_cpus():
    out = subprocess.run([sys.executable, "-c", STRATEGY_SCRIPT], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["step"] == 4
    assert result["moved"]
    assert np.isfinite(result["g_loss"])


EQUIVALENCE_SCRIPT = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gan_lessons import data, models, runtime, training
    x, _ = data.load_images("digits", "train", limit=16)

    def build():
        runtime.seed_everything(0)
        gan = training.GAN(models.dcgan_generator(latent_dim=16, image_size=8, base_filters=8, seed=1),
                           models.dcgan_discriminator(image_size=8, base_filters=8, dropout=0.0, seed=2), seed=3)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))  # SGD: Adam would hide a 2x
        return gan

    def step(gan, batch):
        before = [v.numpy().copy() for v in gan.trainable_variables]
        gan.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0)
        return [v.numpy() - b for v, b in zip(gan.trainable_variables, before)]

    single = step(build(), x)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = build()
    both = step(gan, np.concatenate([x, x]))  # each replica gets x and draws the same z
    print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                      "max_abs_diff": max(float(np.abs(s - t).max()) for s, t in zip(single, both)),
                      "max_update": max(float(np.abs(s).max()) for s in single)}))
""")


def test_two_replicas_average_gradients_like_one_device():
    """Two replicas that each see the same half-batch must move the weights exactly as one device does.

    Summing the replicas' gradients (the loss not divided by the replica count)
    would move every weight about twice as far. The replicas draw the same noise
    (the seed generator's state is mirrored), which is what makes the two runs equal.
    """
    out = subprocess.run([sys.executable, "-c", EQUIVALENCE_SCRIPT], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["max_update"] > 1e-4
    assert result["max_abs_diff"] <= 1e-6 * max(1.0, result["max_update"]), result


def test_per_replica_is_identity_on_one_device():
    assert float(training.per_replica(keras.ops.convert_to_tensor(3.0))) == 3.0


def test_pretrained_sidecar_that_is_not_json_is_named(tmp_path):
    (tmp_path / "g.weights.h5").write_bytes(b"weights")
    (tmp_path / "g.weights.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"g\.weights\.json: the weights' sidecar is not valid JSON"):
        training.pretrained_generator(tmp_path / "g.weights.h5")


# --------------------------------------------------------------------------- weight averaging (EMA)
def test_ema_decay_warms_up_to_its_value():
    got = [float(training.ema_decay_at(0.99, s)) for s in (0, 1, 90, 10_000)]
    np.testing.assert_allclose(got, [0.1, 2 / 11, 0.91, 0.99], rtol=1e-6)


def test_update_ema_known_values():
    avg, net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), \
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    avg.set_weights([np.array([[1.0], [2.0]]), np.array([0.0])])
    net.set_weights([np.array([[3.0], [-2.0]]), np.array([10.0])])
    training.update_ema(avg, net, 0.75)
    np.testing.assert_allclose(avg.get_weights()[0], [[1.5], [1.0]])
    np.testing.assert_allclose(avg.get_weights()[1], [2.5])


def test_ema_generator_follows_the_rule_and_is_used_for_sampling(digits):
    gan = small_gan(ema_decay=0.99)
    assert not gan.ema_generator.trainable_variables  # nobody trains the average
    before = [np.array(v.numpy()) for v in gan.ema_generator.variables]
    gan.train_step(digits[:32])
    d = min(0.99, 2 / 11)  # after the first step
    for e, b, w in zip(gan.ema_generator.variables, before, gan.generator.variables):
        np.testing.assert_allclose(e.numpy(), d * b + (1 - d) * w.numpy(), rtol=1e-5, atol=1e-7)
    z = keras.random.normal((4, 16), seed=3)
    np.testing.assert_allclose(gan.generate(4, seed=3), np.asarray(gan.ema_generator(z, training=False)), atol=1e-6)
    np.testing.assert_allclose(gan.generate(4, seed=3, raw=True), np.asarray(gan.generator(z, training=False)),
                               atol=1e-6)
    assert not np.allclose(gan.generate(4, seed=3), gan.generate(4, seed=3, raw=True))


def test_ema_bad_values_and_checkpoint_mismatch(digits, tmp_path):
    for bad in (1.0, -0.1, "0.9"):
        with pytest.raises((ValueError, TypeError), match="ema_decay"):
            small_gan(ema_decay=bad)
    with_avg = small_gan(ema_decay=0.9)
    with_avg.save_checkpoint(tmp_path / "a.npz")
    without = small_gan()
    before = [np.array(v.numpy()) for v in without.generator.variables]
    with pytest.raises(training.CheckpointError, match="weight-averaged"):
        without.load_checkpoint(tmp_path / "a.npz")
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, without.generator.variables))


def test_bench_runs_every_path_and_reports_time_to_fid(digits):
    calls = []

    def fake_fid(gan):  # the metric is the caller's; count the calls and return a falling number
        calls.append(gan.current_step)
        return 30.0 / len(calls)

    rows = training.bench(minutes=0.02, dataset="digits", step_batch=32, measure_fid=fake_fid, progress=False,
                          precisions=("float32", "float32"), points=3)
    assert [r["recipe"] for r in rows] == ["TF tutorial", "course"]  # a repeated precision runs once
    for r in rows:
        assert r["steps"] > 0 and len(r["fid_curve"]) >= 1 and r["fid"] == r["fid_curve"][-1]["value"]
        assert r["train_s"] == r["fid_curve"][-1]["train_s"]  # no wall-time bound: the first step traces the graph
    assert rows[1]["ema_decay"] == training.COURSE_RECIPE["ema_decay"] and rows[0]["ema_decay"] is None
    curve = [{"train_s": 10.0, "step": 5, "value": 25.0}, {"train_s": 20.0, "step": 9, "value": 9.0}]
    assert training.time_to(curve, 20) == 20.0 and training.time_to(curve, 30) == 10.0
    assert training.time_to(curve, 5) is None
    table = training.bench_table(rows, 0.02)
    assert table.startswith("Machine: ") and "minutes to FID 20" in table and "float32: FID ratio" in table
