"""Training GANs: the train step, the ``GAN`` keras.Model, callbacks, checkpoints (lessons 04 and 05).

Lesson 04 writes the train step by hand; lesson 05 wraps the same step in
:class:`GAN`, a ``keras.Model`` subclass trained with ``fit``, and makes training
safe to interrupt: :meth:`GAN.save_checkpoint` writes *everything* that decides
the next step (weights, both optimizers, the step counter, the random-number
state) atomically, and :func:`step_dataset` makes the batch of step ``s`` a pure
function of ``s``, so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import keras
from keras import ops

from . import losses as _losses
from . import plots, runtime

LOSSES = ("non_saturating", "saturating", "wasserstein")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
PRETRAINED = WEIGHTS_DIR / "fashion_mnist_generator.weights.h5"
LATENT_DIM = 100

# The recipes the lessons and ``python -m gan_lessons bench`` compare (lesson 04).
# TensorFlow's DCGAN tutorial: Adam(1e-4) with the default beta_1 for both nets, batch 256, its networks
# (base_filters 64 gives its 256-128-64 generator and 64-128 discriminator), Keras' default Glorot
# initialisation and LeakyReLU slope 0.3. One difference remains: the tutorial's output layer has no
# bias; ours has one (a single number for one channel).
TUTORIAL_RECIPE = {"learning_rate": 1e-4, "beta_1": 0.9, "batch_size": 256, "base_filters": 64,
                   "precision": "float32", "weight_init": None, "leaky_slope": 0.3}
# The course's recipe (the CLI's default; bench's "course") was chosen for FID after 5 minutes of training on a
# 2-core CPU, not per step: a grid over learning rates (2e-4 to 6e-4, and a two time-scale pair), batch size
# (32, 64) and width (24, 32 base filters), 3 seeds for the leaders, at the steps each setting makes in 5
# minutes (the README has the table). Batch 32 at Adam 4e-4 won: on a CPU a smaller batch buys more updates.
# The lessons' own loops keep the DCGAN paper's Adam(2e-4, beta_1=0.5) and batch 64 (the paper's was 128).
COURSE_RECIPE = {"learning_rate": 4e-4, "beta_1": 0.5, "batch_size": 32, "base_filters": 32,
                 "precision": "bf16-if-supported", "ema_decay": 0.99}
# The conditional GAN of lesson 08 (and the shipped conditional generator) was tuned with the DCGAN paper's
# learning rate and batch 64; it keeps them whatever the unconditional recipe's time-tuned values are.
CONDITIONAL_RECIPE = dict(COURSE_RECIPE, learning_rate=2e-4, batch_size=64)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf: training stopped (lesson 05)."""


class NonFiniteWeightsError(NonFiniteLossError):
    """A weight, BatchNorm statistic or optimizer state became NaN or inf (lesson 05).

    Raised by :class:`NaNGuard` and by :meth:`GAN.save_checkpoint`, which never
    writes such a state: the last good checkpoint stays on disk.
    """


class CheckpointError(ValueError):
    """A checkpoint file is damaged, is not a checkpoint, or holds non-finite values (lesson 05)."""


ADVICE = ("Try a lower learning rate (e.g. 1e-4), a gradient penalty (gp_weight=10) or one-sided label "
          "smoothing (real_label=0.9), check that the data lies in [-1, 1] like the generator's tanh output, "
          "and with mixed_float16 use a loss-scale optimizer (bf16 needs none).")


def non_finite(arrays: dict) -> list[str]:
    """Names of the floating-point arrays in ``arrays`` that hold a NaN or an inf (lesson 05)."""
    bad = []
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype.kind in "fc" or a.dtype.name == "bfloat16":
            if not np.all(np.isfinite(a.astype(np.float32) if a.dtype.name == "bfloat16" else a)):
                bad.append(name)
    return bad


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, choices))}")
    return value


def _check_number(name, value, low=None, high=None, allow_none=False, integer=False):
    if value is None and allow_none:
        return value
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or (
            not integer and not math.isfinite(float(value))):
        raise ValueError(f"{name}={value!r}: expected {'an int' if integer else 'a finite number'}"
                         + (f" >= {low}" if low is not None else ""))
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value!r}: expected a value {rng}")
    return value


# --------------------------------------------------------------------------- data in a fixed order
def _epoch_permutation(n: int, epoch, seed: int):
    import tensorflow as tf

    return tf.random.experimental.stateless_shuffle(
        tf.range(n, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)]))


def step_batch_indices(n: int, batch_size: int, step: int, seed: int = 0) -> np.ndarray:
    """Indices of the batch used at ``step``: a pure function of (n, batch_size, step, seed) (lesson 05).

    Epoch ``e = step // (n // batch_size)`` uses a stateless shuffle seeded by
    ``(seed, e)``; nothing depends on what ran before.
    """
    per_epoch = n // batch_size
    if per_epoch < 1:
        raise ValueError(f"batch_size={batch_size} is larger than the {n} images")
    epoch, pos = divmod(int(step), per_epoch)
    perm = np.asarray(_epoch_permutation(n, epoch, seed))
    return perm[pos * batch_size:(pos + 1) * batch_size]


def step_dataset(images, batch_size: int = 64, seed: int = 0, start_step: int = 0, steps: int | None = None):
    """A tf.data pipeline whose batch number ``s`` depends only on ``s`` (lesson 05).

    Start it at ``start_step=gan.current_step`` after restoring a checkpoint and
    the resumed run sees exactly the batches an uninterrupted run would
    (compare :func:`step_batch_indices`). Infinite unless ``steps`` is given.
    """
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    if images.ndim < 2:
        raise ValueError(f"images has shape {images.shape}; expected (N, ...)")
    _check_number("batch_size", batch_size, low=1, integer=True)
    _check_number("start_step", start_step, low=0, integer=True)
    _check_number("steps", steps, low=0, integer=True, allow_none=True)
    if batch_size > len(images):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(images)} images")
    n = len(images)
    per_epoch = n // batch_size
    first_epoch, skip = divmod(int(start_step), per_epoch)
    table = tf.constant(images)

    def epoch_batches(epoch):
        perm = _epoch_permutation(n, epoch, seed)[:per_epoch * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(perm, [per_epoch, batch_size]))

    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_batches).skip(skip)
    if steps is not None:
        ds = ds.take(steps)
    return ds.map(lambda idx: tf.gather(table, idx), num_parallel_calls=1).prefetch(2)


# --------------------------------------------------------------------------- the model
def per_replica(loss):
    """``loss`` divided by the number of replicas in sync (lesson 05).

    Under ``tf.distribute`` each replica computes the mean loss of its share of
    the batch and the optimizer *sums* the replicas' gradients; dividing each
    replica's loss by the replica count makes that sum the gradient of the mean
    over the whole batch, as on one device. Outside a strategy it is the loss.
    """
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else loss * (1.0 / replicas)


class GAN(keras.Model):
    """A GAN as a ``keras.Model``: ``compile(d_optimizer, g_optimizer)``, then ``fit`` (lesson 05).

    ``loss``: "non_saturating" (default), "saturating" (minimax) or "wasserstein"
    (the discriminator is then a critic). ``d_steps`` discriminator steps per
    generator step, each on its own real batch: with ``d_steps=k`` a batch passed
    to ``fit`` holds k·B images and each critic step takes the next B of them
    (:func:`fit_steps` builds such batches from ``batch_size=B``);
    ``real_label`` < 1 is one-sided label smoothing;
    ``gp_weight`` > 0 adds WGAN-GP's gradient penalty; ``clip_value`` clips the
    critic's weights after each critic step (the original WGAN);
    ``instance_noise`` is the std of Gaussian noise added to D's real and fake
    inputs. The noise comes from a ``keras.random.SeedGenerator`` whose state
    is part of every checkpoint.

    Metrics (``keras.metrics.Mean``): d_loss, g_loss, d_real and d_fake (mean
    D(x) and D(G(z)) as probabilities, or mean critic scores for wasserstein),
    and gp when a gradient penalty is used.
    """

    def __init__(self, generator, discriminator, latent_dim=None, loss="non_saturating", d_steps=1,
                 real_label=1.0, gp_weight=0.0, clip_value=None, instance_noise=0.0, seed=0, ema_decay=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model):
            raise TypeError(f"generator={generator!r}: expected a keras.Model")
        if not isinstance(discriminator, keras.Model):
            raise TypeError(f"discriminator={discriminator!r}: expected a keras.Model")
        if latent_dim is None:
            try:
                latent_dim = int(generator.input_shape[-1])
            except (AttributeError, TypeError, ValueError) as err:
                raise ValueError("latent_dim=None: could not infer it from generator.input_shape; "
                                 "pass latent_dim=") from err
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = _check_number("latent_dim", latent_dim, low=1, integer=True)
        self.loss_kind = _check_choice("loss", loss, LOSSES)
        self.d_steps = _check_number("d_steps", d_steps, low=1, integer=True)
        self.real_label = float(_losses._check_smoothing(real_label))
        self.gp_weight = float(_check_number("gp_weight", gp_weight, low=0.0))
        self.clip_value = _check_number("clip_value", clip_value, low=0.0, allow_none=True)
        self.instance_noise = float(_check_number("instance_noise", instance_noise, low=0.0))
        self.seed = _check_number("seed", seed, low=0, integer=True)
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.sample_seed_generator = keras.random.SeedGenerator(seed + 1, name="sample_seed")
        self.step = keras.Variable(0, dtype="int64", trainable=False, name="step",
                                   aggregation="only_first_replica")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.gp_tracker = keras.metrics.Mean(name="gp") if self.gp_weight > 0 else None
        self.loss_fn = None
        self.ema_decay = _check_number("ema_decay", ema_decay, low=0.0, allow_none=True)
        if self.ema_decay is not None and not self.ema_decay < 1.0:
            raise ValueError(f"ema_decay={ema_decay!r}: expected a float in [0, 1) or None (no averaging)")
        self.ema_generator = None if self.ema_decay is None else ema_copy(generator)
        self.built = True

    # -- keras plumbing
    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, d_optimizer, g_optimizer, loss_fn=None, **kwargs):
        """Two optimizers (one per network; never share one) and an optional ``loss_fn(labels, logits)``.

        Under the ``mixed_float16`` policy both optimizers are wrapped in a
        ``LossScaleOptimizer``; ``mixed_bfloat16`` needs no loss scaling.
        """
        for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise TypeError(f"{name}={opt!r}: expected a keras.optimizers.Optimizer")
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer are the same object: each network needs its own "
                             "optimizer (its moment estimates belong to that network's weights)")
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn={loss_fn!r}: expected a callable loss_fn(labels, logits) or None")
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            if not isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer):
                d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
            if not isinstance(g_optimizer, keras.optimizers.LossScaleOptimizer):
                g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
        kwargs.setdefault("jit_compile", False)
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        # Build the optimizers' variables now, inside any tf.distribute scope that is active:
        # created lazily inside a distributed step they would fail.
        self._build_optimizers()

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]
        return trackers + ([self.gp_tracker] if self.gp_tracker is not None else [])

    @property
    def current_step(self) -> int:
        """Steps trained so far (restored by :meth:`load_checkpoint`)."""
        return int(keras.ops.convert_to_numpy(self.step))

    # -- the losses
    def _d_loss(self, real_logits, fake_logits):
        if self.loss_fn is not None:
            return (self.loss_fn(ops.full_like(real_logits, self.real_label), real_logits)
                    + self.loss_fn(ops.zeros_like(fake_logits), fake_logits))
        if self.loss_kind == "wasserstein":
            return _losses.critic_loss_wasserstein(real_logits, fake_logits)
        return _losses.discriminator_loss(real_logits, fake_logits, self.real_label)

    def _g_loss(self, fake_logits):
        if self.loss_fn is not None:
            return self.loss_fn(ops.ones_like(fake_logits), fake_logits)
        return _losses.generator_loss(self.loss_kind, fake_logits)

    def _noisy(self, x):
        if self.instance_noise > 0:
            x = x + keras.random.normal(ops.shape(x), stddev=self.instance_noise, dtype=x.dtype,
                                        seed=self.seed_generator)
        return x

    def _latent(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    # -- one step
    def train_step(self, data):
        import tensorflow as tf

        real = data[0] if isinstance(data, (tuple, list)) else data
        real = ops.cast(real, "float32")
        # With d_steps = k the batch holds k fresh real batches, one per critic step, as WGAN's
        # algorithm draws them (fit_steps builds such batches); with k = 1 it is one batch.
        batch = ops.shape(real)[0] // self.d_steps
        gp = None
        for i in range(self.d_steps):
            z = self._latent(batch)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                real_i = real if self.d_steps == 1 else real[i * batch:(i + 1) * batch]
                real_in, fake_in = self._noisy(real_i), self._noisy(ops.cast(fake, "float32"))
                real_logits = ops.cast(self.discriminator(real_in, training=True), "float32")
                fake_logits = ops.cast(self.discriminator(fake_in, training=True), "float32")
                d_loss = self._d_loss(real_logits, fake_logits)
                total = d_loss
                if self.gp_weight > 0:
                    w_shape = [batch] + [1] * (len(real_i.shape) - 1)
                    weights = keras.random.uniform(w_shape, seed=self.seed_generator)
                    gp = _losses.gradient_penalty(self.discriminator, real_in, fake_in, weights=weights)
                    total = total + self.gp_weight * gp
                scaled = self.d_optimizer.scale_loss(per_replica(total))
            d_vars = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))
            if self.clip_value is not None:
                for v in d_vars:
                    v.assign(ops.clip(v, -self.clip_value, self.clip_value))

        z = self._latent(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            fake_logits_g = ops.cast(self.discriminator(self._noisy(ops.cast(fake, "float32")), training=True),
                                     "float32")
            g_loss = self._g_loss(fake_logits_g)
            scaled = self.g_optimizer.scale_loss(per_replica(g_loss))
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        self.step.assign_add(1)
        self._update_ema()

        if self.loss_kind == "wasserstein" and self.loss_fn is None:
            d_real, d_fake = ops.mean(real_logits), ops.mean(fake_logits)
        else:
            d_real, d_fake = ops.mean(ops.sigmoid(real_logits)), ops.mean(ops.sigmoid(fake_logits))
        self.d_loss_tracker.update_state(total)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(d_real)
        self.d_fake_tracker.update_state(d_fake)
        if self.gp_tracker is not None:
            self.gp_tracker.update_state(gp)
        return {m.name: m.result() for m in self.metrics}

    def fit(self, *args, callbacks=None, **kwargs):
        """``keras.Model.fit`` plus a :class:`NaNGuard` (added unless one is given)."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, NaNGuard) for c in callbacks):
            callbacks.insert(0, NaNGuard())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    # -- weight averaging (lesson 05; Yazici et al., ICLR 2019)
    def _update_ema(self):
        if self.ema_generator is not None:
            update_ema(self.ema_generator, self.generator, ema_decay_at(self.ema_decay, self.step))

    @property
    def sampler(self) -> keras.Model:
        """The generator that :meth:`generate` uses: the weight average when there is one, else the raw one."""
        return self.generator if self.ema_generator is None else self.ema_generator

    # -- sampling
    def generate(self, n: int, seed: int | None = None, batch_size: int = 256, raw: bool = False) -> np.ndarray:
        """``n`` generated images as a NumPy array (inference mode).

        ``seed=None`` draws from a sampling seed generator that is separate from
        the training noise, so sampling never changes what training does next.
        With weight averaging (``ema_decay``) the averaged generator draws them,
        unless ``raw=True``.
        """
        _check_number("n", n, low=1, integer=True)
        if seed is None:
            z = keras.random.normal((n, self.latent_dim), seed=self.sample_seed_generator)
        else:
            z = keras.random.normal((n, self.latent_dim), seed=int(seed))
        gen = self.generator if raw else self.sampler
        out = [ops.convert_to_numpy(gen(z[i:i + batch_size], training=False))
               for i in range(0, n, batch_size)]
        return np.concatenate(out).astype(np.float32)

    # -- checkpoints
    def _build_optimizers(self):
        for opt, net in ((self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator)):
            if not opt.built:
                opt.build(net.trainable_variables)

    def state_variables(self) -> dict:
        """Every variable that decides the next step, by name (weights, optimizers, step, RNG)."""
        if getattr(self, "d_optimizer", None) is None:
            raise ValueError("the GAN is not compiled: call compile(d_optimizer, g_optimizer) first")
        self._build_optimizers()
        groups = {"generator": self.generator.variables, "discriminator": self.discriminator.variables,
                  "d_optimizer": self.d_optimizer.variables, "g_optimizer": self.g_optimizer.variables,
                  "rng": [self.seed_generator.state, self.sample_seed_generator.state], "step": [self.step]}
        if self.ema_generator is not None:
            groups["ema_generator"] = self.ema_generator.variables
        return {f"{group}/{i:04d}": v for group, vs in groups.items() for i, v in enumerate(vs)}

    def save_checkpoint(self, path, extra: dict | None = None) -> Path:
        """Write the full training state to ``path`` (.npz) atomically: temp file, fsync, ``os.replace``.

        A kill during saving leaves the previous checkpoint intact. ``extra`` is
        JSON metadata stored inside the same file.
        """
        path = Path(path)
        variables = self.state_variables()
        arrays = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in variables.items()}
        bad = non_finite(arrays)
        if bad:
            names = ", ".join(f"{variables[k].path} ({k})" for k in bad[:3]) + (" ..." if len(bad) > 3 else "")
            raise NonFiniteWeightsError(
                f"training stopped at step {self.current_step}: NaN or inf in {len(bad)} arrays of the training "
                f"state, e.g. {names}; {str(path)!r} was not overwritten. {ADVICE}")
        meta = {"step": self.current_step, "loss": self.loss_kind, "latent_dim": self.latent_dim,
                "generator": self.generator.name, "discriminator": self.discriminator.name,
                "extra": extra or {}}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        runtime.atomic_write(path, lambda fh: np.savez(fh, **arrays))
        return path

    def load_checkpoint(self, path) -> dict:
        """Restore a checkpoint written by :meth:`save_checkpoint`; returns its metadata.

        Raises :class:`CheckpointError` (a ValueError) when the file is damaged, holds
        NaN/inf, or holds another architecture (names or shapes differ); then no
        variable is changed.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
        arrays, meta = read_checkpoint(path)
        bad = non_finite(arrays)
        if bad:
            raise CheckpointError(f"checkpoint {str(path)!r} holds NaN or inf in {len(bad)} arrays "
                                  f"(e.g. {bad[0]}); it cannot be resumed")
        variables = self.state_variables()
        has_ema = any(k.startswith("ema_generator/") for k in arrays)
        if has_ema != (self.ema_generator is not None):
            raise CheckpointError(f"checkpoint {str(path)!r} was written " + ("with" if has_ema else "without")
                                  + " a weight-averaged generator and this GAN has "
                                  + ("none (pass ema_decay=)" if has_ema else "one (ema_decay=None)"))
        if set(arrays) != set(variables):
            raise CheckpointError(f"checkpoint {str(path)!r} holds another architecture or optimizer "
                             f"({len(arrays)} arrays, this GAN has {len(variables)} variables)")
        for k, v in variables.items():
            if tuple(arrays[k].shape) != tuple(v.shape):
                raise CheckpointError(f"checkpoint {str(path)!r} holds another architecture: {k} has shape "
                                 f"{arrays[k].shape}, this GAN's has {tuple(v.shape)}")
        for k, v in variables.items():
            v.assign(arrays[k])
        return meta


def ema_copy(generator: keras.Model) -> keras.Model:
    """A non-trainable copy of ``generator`` (same architecture and weights) to hold its running average."""
    if not isinstance(generator, keras.Model):
        raise TypeError(f"generator={generator!r}: expected a keras.Model")
    try:
        copy = keras.models.clone_model(generator)
    except Exception as err:  # noqa: BLE001 - subclassed models cannot always be cloned
        raise ValueError(f"ema_decay: cannot copy the generator {generator.name!r} for weight averaging "
                         f"({err}); build it as a functional or Sequential model, or pass ema_decay=None") from err
    copy.trainable = False
    if [tuple(v.shape) for v in copy.variables] != [tuple(v.shape) for v in generator.variables]:
        raise ValueError(f"ema_decay: the copy of {generator.name!r} has other variables than the generator")
    for e, w in zip(copy.variables, generator.variables):
        e.assign(w)
    return copy


def ema_decay_at(decay: float, step) -> "keras.KerasTensor":
    """The averaging weight after ``step`` updates: ``min(decay, (1 + step) / (10 + step))`` (lesson 05).

    Early in training the average would otherwise remember the random initial
    weights for thousands of steps; the warm-up (the rule of
    ``tf.train.ExponentialMovingAverage`` with ``num_updates``) lets it follow
    the generator closely at first and settle to ``decay`` after a few hundred steps.
    """
    t = ops.cast(step, "float32")
    return ops.minimum(ops.cast(decay, "float32"), (1.0 + t) / (10.0 + t))


def update_ema(average: keras.Model, model: keras.Model, decay) -> None:
    """``average <- decay * average + (1 - decay) * model``, variable by variable (BatchNorm statistics too)."""
    for a, w in zip(average.variables, model.variables):
        if "float" in str(a.dtype):
            d = ops.cast(decay, a.dtype)
            a.assign(d * a + (1.0 - d) * ops.cast(w, a.dtype))
        else:
            a.assign(w)


def read_checkpoint(path) -> tuple[dict, dict]:
    """Read every array of a checkpoint and its metadata: ``(arrays, meta)`` (lesson 05).

    Raises :class:`CheckpointError`, naming the file, when it is truncated, empty,
    altered (zip CRC), not an ``.npz`` archive or lacks its metadata.
    """
    import zipfile

    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            arrays = {k: data[k] for k in data.files}  # reading each array checks its CRC
        if "__meta__" not in arrays:
            raise ValueError("no __meta__ entry")
        meta = json.loads(bytes(arrays.pop("__meta__")).decode())
        if not isinstance(meta, dict):
            raise ValueError("its metadata is not a JSON object")
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split()) or err.__class__.__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged or not a checkpoint ({reason[:200]})") from err
    return arrays, meta


# --------------------------------------------------------------------------- callbacks
class NaNGuard(keras.callbacks.Callback):
    """Stop training with a :class:`NonFiniteLossError` that names the step and suggests fixes (lesson 05).

    It watches the losses every step and, every ``weights_every`` steps and at the end
    of training, the networks' variables too (weights and BatchNorm statistics):
    weights can turn NaN/inf a step before the loss does, and a BatchNorm moving
    variance can overflow while the losses look fine. Reading every variable back
    costs a host copy, so it is not done every step; checkpoints are safe anyway,
    because :meth:`GAN.save_checkpoint` refuses a non-finite state.
    """

    def __init__(self, weights_every: int | None = 25):
        super().__init__()
        self.weights_every = _check_number("weights_every", weights_every, low=1, integer=True, allow_none=True)

    def _step(self, batch):
        return self.model.current_step if hasattr(self.model, "current_step") else batch

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items()
               if np.ndim(v) == 0 and not math.isfinite(float(v))}
        if bad:
            what = ", ".join(f"{k} = {v}" for k, v in bad.items())
            raise NonFiniteLossError(f"training stopped at step {self._step(batch)}: {what}. {ADVICE}")
        if self.weights_every and (batch + 1) % self.weights_every == 0:
            self._check_weights(batch)

    def on_train_end(self, logs=None):
        if self.weights_every:
            self._check_weights(None)

    def _check_weights(self, batch):
        nets = [getattr(self.model, n) for n in ("generator", "discriminator") if hasattr(self.model, n)]
        variables = [v for net in (nets or [self.model]) for v in net.variables]
        bad = non_finite({v.path: ops.convert_to_numpy(v) for v in variables})
        if bad:
            raise NonFiniteWeightsError(
                f"training stopped at step {self._step(batch)}: NaN or inf in {len(bad)} variables "
                f"(e.g. {', '.join(bad[:3])}) while the losses were still finite. {ADVICE}")


class StepLogger(keras.callbacks.Callback):
    """Record every step's exact losses and D(x)/D(G(z)) in ``self.history`` (lesson 05).

    Keras reports running means over the epoch; this callback resets the
    model's metrics before each step, so each logged value is that step's own
    (the epoch-end logs then hold the last step's values, not epoch means).
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}

    def on_train_batch_begin(self, batch, logs=None):
        for m in self.model.metrics:
            m.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        for k, v in (logs or {}).items():
            if np.ndim(v) == 0:
                self.history.setdefault(k, []).append(float(v))


class SampleGrid(keras.callbacks.Callback):
    """Generate images from a FIXED noise batch every ``every_n_epochs`` epochs or ``every_n_steps`` steps.

    The images are kept in ``self.images`` (a list of (step, array)); with
    ``out_dir`` each grid is also saved as a PNG (lessons 04 and 05).
    """

    def __init__(self, noise, every_n_epochs: int | None = 1, every_n_steps: int | None = None, out_dir=None):
        super().__init__()
        self.noise = np.asarray(noise, dtype=np.float32)
        if self.noise.ndim != 2:
            raise ValueError(f"noise has shape {self.noise.shape}; expected (n, latent_dim)")
        self.every_n_epochs = _check_number("every_n_epochs", every_n_epochs, low=1, integer=True, allow_none=True)
        self.every_n_steps = _check_number("every_n_steps", every_n_steps, low=1, integer=True, allow_none=True)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.images: list[tuple[int, np.ndarray]] = []

    def _grab(self):
        gen = getattr(self.model, "sampler", self.model.generator)
        x = ops.convert_to_numpy(gen(self.noise, training=False)).astype(np.float32)
        step = self.model.current_step
        self.images.append((step, x))
        if self.out_dir is not None:
            plots.save_grid_png(x, self.out_dir / f"samples_{step:07d}.png")

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self.model.current_step % self.every_n_steps == 0:
            self._grab()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self._grab()


class Checkpoint(keras.callbacks.Callback):
    """Save :meth:`GAN.save_checkpoint` every ``every_n_steps`` steps and at the end of training (lesson 05)."""

    def __init__(self, path, every_n_steps: int = 100, extra: dict | None = None):
        super().__init__()
        self.path = Path(path)
        self.every_n_steps = _check_number("every_n_steps", every_n_steps, low=1, integer=True)
        self.extra = extra
        self.saved_steps: list[int] = []

    def _save(self):
        self.model.save_checkpoint(self.path, extra=self.extra)
        self.saved_steps.append(self.model.current_step)

    def on_train_batch_end(self, batch, logs=None):
        if self.model.current_step % self.every_n_steps == 0:
            self._save()

    def on_train_end(self, logs=None):
        if not self.saved_steps or self.saved_steps[-1] != self.model.current_step:
            self._save()


class StopAfter(keras.callbacks.Callback):
    """Stop ``fit`` after ``seconds`` of wall time or once the GAN reaches step ``total_steps`` (CLI, bench)."""

    def __init__(self, seconds: float | None = None, total_steps: int | None = None):
        super().__init__()
        self.seconds = seconds
        self.total_steps = total_steps
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.total_steps is not None and self.model.current_step >= self.total_steps:
            self.model.stop_training = True
        if self.seconds is not None and time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


class ProgressBar(keras.callbacks.Callback):
    """A tqdm progress bar over steps, showing the losses (lesson 04, CLI)."""

    def __init__(self, total: int | None = None, initial: int = 0, desc: str = "train", notebook: bool = False):
        super().__init__()
        self.total, self.initial, self.desc, self.notebook = total, initial, desc, notebook
        self.bar = None

    def on_train_begin(self, logs=None):
        if self.notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self.bar = tqdm(total=self.total, initial=self.initial, desc=self.desc, unit="step", leave=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if batch % 10 == 0 and logs:
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in logs.items() if np.ndim(v) == 0})

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


def plain_train_step(generator, discriminator, d_optimizer, g_optimizer, latent_dim: int | None = None):
    """Lesson 04's training step as a function: ``step(real) -> dict`` of losses and D's mean outputs.

    One discriminator update (minimax loss from logits) and one generator update
    (non-saturating loss), each with its own tape and its own optimizer, fresh
    noise for each, ``training=True`` on every call. Lesson 04 writes it out as an
    exercise and continues with this one. ``training.GAN`` is the full version.
    """
    import tensorflow as tf

    if latent_dim is None:
        latent_dim = int(generator.input_shape[-1])
    latent_dim = _check_number("latent_dim", latent_dim, low=1, integer=True)
    if d_optimizer is g_optimizer:
        raise ValueError("d_optimizer and g_optimizer are the same object: expected one optimizer per network")

    @tf.function
    def step(real):
        batch = tf.shape(real)[0]
        z = tf.random.normal([batch, latent_dim])
        with tf.GradientTape() as d_tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(generator(z, training=True), training=True)
            d_loss = _losses.discriminator_loss(real_logits, fake_logits)
        d_vars = discriminator.trainable_variables
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        z = tf.random.normal([batch, latent_dim])
        with tf.GradientTape() as g_tape:
            g_loss = _losses.generator_loss_non_saturating(discriminator(generator(z, training=True), training=True))
        g_vars = generator.trainable_variables
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return {"d_loss": d_loss, "g_loss": g_loss, "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
                "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return step


def fit_steps(gan: GAN, images, total_steps: int, batch_size: int = 64, data_seed: int = 0,
              steps_per_epoch: int | None = None, callbacks=None, verbose: int = 0):
    """Train ``gan`` until it has ``total_steps`` steps in total, from wherever it is now (lesson 05).

    The data come from :func:`step_dataset` starting at ``gan.current_step``, so
    calling this after :meth:`GAN.load_checkpoint` continues the very same run.
    ``steps_per_epoch`` only sets how often epoch-level callbacks fire.
    ``batch_size`` is the batch of one critic step: with ``gan.d_steps = k`` each
    step draws k·batch_size real images, a fresh batch for every critic step.
    Returns the ``History`` (or None when there was nothing left to do).
    """
    _check_number("total_steps", total_steps, low=0, integer=True)
    _check_number("batch_size", batch_size, low=1, integer=True)
    start = gan.current_step
    remaining = total_steps - start
    if remaining <= 0:
        return None
    per_epoch = min(steps_per_epoch or remaining, remaining)
    epochs = math.ceil(remaining / per_epoch)
    ds = step_dataset(images, batch_size * gan.d_steps, seed=data_seed, start_step=start, steps=remaining)
    callbacks = list(callbacks or []) + [StopAfter(total_steps=total_steps)]
    return gan.fit(ds, epochs=epochs, steps_per_epoch=per_epoch, callbacks=callbacks, verbose=verbose,
                   shuffle=False)


# --------------------------------------------------------------------------- images on disk
# --------------------------------------------------------------------------- the course's generator
def course_generator(latent_dim: int = LATENT_DIM, seed: int | None = None, upsampling: str = "transposed") -> keras.Model:
    """The course recipe's generator: DCGAN with 32 base filters (about 0.9 M weights) (lesson 04).

    ``upsampling="resize"`` gives its resize-then-convolve twin (same weights' shapes; lesson 03).
    """
    from .models import dcgan_generator

    return dcgan_generator(latent_dim=latent_dim, base_filters=COURSE_RECIPE["base_filters"], seed=seed,
                           upsampling=upsampling)


def course_discriminator(seed: int | None = None) -> keras.Model:
    """The course recipe's discriminator: DCGAN with 32 base filters (lesson 04)."""
    from .models import dcgan_discriminator

    return dcgan_discriminator(base_filters=COURSE_RECIPE["base_filters"], seed=seed)


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_pretrained(generator, path=PRETRAINED, meta: dict | None = None) -> Path:
    """Save generator weights plus a JSON sidecar with their SHA-256 and training metadata, atomically."""
    path = Path(path)
    if not str(path).endswith(".weights.h5"):
        raise ValueError(f"path={str(path)!r}: expected a name ending in .weights.h5")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".weights.h5")
    os.close(fd)
    try:
        generator.save_weights(tmp)
        digest = _sha256(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    side = dict(meta or {}, sha256=digest)
    runtime.atomic_write(path.with_suffix(".json"),
                  lambda fh: fh.write(json.dumps(side, indent=1).encode()))
    return path


def pretrained_info(path=PRETRAINED) -> dict:
    """The JSON sidecar of the shipped generator (SHA-256, steps, FID, how it was trained)."""
    side = Path(path).with_suffix(".json")
    if not side.is_file():
        raise ValueError(f"{side}: no metadata for the pretrained generator")
    try:
        info = json.loads(side.read_text())
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{side}: the weights' sidecar is not valid JSON ({err}); reinstall gan_lessons") from err
    return info


def pretrained_generator(path=PRETRAINED) -> keras.Model:
    """The course's Fashion-MNIST generator, trained by ``python -m gan_lessons train`` (lessons 06+).

    Its SHA-256 is checked against the JSON sidecar before loading; latent 100 ->
    (28, 28, 1) in [-1, 1].
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: the pretrained generator is missing (reinstall gan_lessons)")
    info = pretrained_info(path)
    if _sha256(path) != info.get("sha256"):
        raise ValueError(f"{path}: SHA-256 does not match its .json sidecar (file damaged); reinstall gan_lessons")
    gen = course_generator(latent_dim=int(info.get("latent_dim", LATENT_DIM)),
                           upsampling=info.get("upsampling", "transposed"))
    gen.load_weights(str(path))
    return gen


# --------------------------------------------------------------------------- command-line runs
def cpu_supports_bf16() -> bool:
    """True when this CPU has native bf16 instructions (AVX512_BF16 or AMX), read from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def auto_precision() -> str:
    """'mixed_float16' on a GPU, 'mixed_bfloat16' on a bf16-capable CPU, else 'float32' (lesson 05)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_supports_bf16() else "float32"


def float32_copy(generator_fn, trained) -> keras.Model:
    """Rebuild ``generator_fn()`` under the float32 policy and copy ``trained``'s weights into it."""
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        model = generator_fn()
    finally:
        keras.mixed_precision.set_global_policy(policy)
    model.set_weights(trained.get_weights())
    return model


def build_course_gan(image_size: int = 28, precision: str = "auto", seed: int = 0, recipe: dict | None = None):
    """The CLI's GAN: a DCGAN pair sized by ``recipe`` (default :data:`COURSE_RECIPE`), compiled with its Adams.

    Sets the global mixed-precision policy to ``precision`` ('auto' picks
    :func:`auto_precision`) while building. Returns ``(gan, precision_used)``.
    """
    from .models import dcgan_discriminator, dcgan_generator

    recipe = dict(COURSE_RECIPE if recipe is None else recipe)
    if precision in ("auto", "bf16-if-supported"):
        precision = auto_precision()
    _check_choice("precision", precision, ("float32", "mixed_bfloat16", "mixed_float16"))
    keras.mixed_precision.set_global_policy(precision)
    from . import runtime

    runtime.seed_everything(seed)
    arch = {"base_filters": recipe["base_filters"], "weight_init": recipe.get("weight_init", "dcgan"),
            "leaky_slope": recipe.get("leaky_slope", 0.2)}
    g = dcgan_generator(latent_dim=LATENT_DIM, image_size=image_size,
                        upsampling=recipe.get("upsampling", "transposed"), **arch)
    d = dcgan_discriminator(image_size=image_size, **arch)
    gan = GAN(g, d, seed=seed, ema_decay=recipe.get("ema_decay"))
    gan.compile(keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]),
                keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]))
    return gan, precision


class _PeakRSS:
    """Sample this process's resident memory in a thread; ``peak_mb`` is the maximum seen."""

    def __init__(self, every: float = 0.2):
        import threading

        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        try:
            return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.every)

    def __enter__(self):
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def time_train_step(gan: GAN, images, batch_size: int = 256, steps: int = 8, warmup: int = 2,
                    jit_compile: bool = False) -> float:
    """Seconds per compiled train step at ``batch_size`` (the step alone, no data pipeline) (lesson 05, bench).

    ``jit_compile=True`` compiles the step with XLA.
    """
    import tensorflow as tf

    step = tf.function(gan.train_step, jit_compile=jit_compile)
    batch = tf.constant(np.asarray(images[:batch_size], np.float32))
    for _ in range(warmup):
        float(step(batch)["g_loss"])
    t = time.perf_counter()
    for _ in range(steps):
        out = step(batch)
    float(out["g_loss"])
    return (time.perf_counter() - t) / steps


def cpu_model() -> str:
    """This machine's CPU model name (from /proc/cpuinfo; ``platform.processor()`` elsewhere)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


class TrainClock(keras.callbacks.Callback):
    """Stop after ``seconds`` of *training* time and call ``measure(model)`` ``points`` times on the way (bench).

    The time spent measuring is not counted, so a recipe is not charged for
    its own evaluation. ``self.curve`` holds ``{"train_s", "step", "value"}``
    for each measurement, the last one at the end of training.
    """

    def __init__(self, seconds: float, measure=None, points: int = 5):
        super().__init__()
        self.seconds = float(_check_number("seconds", seconds, low=0.0))
        self.points = _check_number("points", points, low=1, integer=True)
        self.measure = measure
        self.curve: list[dict] = []

    def on_train_begin(self, logs=None):
        self.start, self.paused, self.next_point = time.perf_counter(), 0.0, 1

    def train_seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def _record(self):
        t = self.train_seconds()
        if self.measure is not None:
            pause = time.perf_counter()
            self.curve.append({"train_s": round(t, 1), "step": self.model.current_step,
                               "value": float(self.measure(self.model))})
            self.paused += time.perf_counter() - pause

    def on_train_batch_end(self, batch, logs=None):
        t = self.train_seconds()
        if t >= self.seconds:
            self.model.stop_training = True
        elif self.next_point < self.points and t >= self.seconds * self.next_point / self.points:
            self.next_point += 1
            self._record()

    def on_train_end(self, logs=None):
        self._record()


def time_to(curve: list[dict], target: float):
    """Training seconds at the first point of ``curve`` whose value is at most ``target`` (None if never)."""
    return next((p["train_s"] for p in curve if p["value"] <= target), None)


BENCH_TARGETS = (20.0, 10.0)


def bench(minutes: float = 5.0, dataset: str = "fashion_mnist", step_batch: int = 256, measure_fid=None,
          progress: bool = True, seed: int = 0, precisions=("float32", "auto"), points: int = 5) -> list[dict]:
    """Train the TF tutorial's recipe and the course's for the same training time on the same data; measure both.

    Each recipe runs once per precision in ``precisions`` ('auto' picks
    :func:`auto_precision`; a precision that resolves to one already run is
    skipped). Returns one dict per run: images/s and steps, FID at ``points``
    evenly spaced training times (``measure_fid(gan)``, supplied by the caller,
    which owns the metric; the time it takes is not charged), the training
    time to reach each FID in :data:`BENCH_TARGETS`, peak resident memory, and
    the train step alone at batch 256.
    """
    from .data import load_images

    _check_number("minutes", minutes, low=0.0)
    if minutes <= 0:
        raise ValueError(f"minutes={minutes!r}: expected a positive number")
    for p in precisions:
        _check_choice("precisions", p, ("auto", "float32", "mixed_bfloat16", "mixed_float16"))
    images, _ = load_images(dataset, "train")
    size = images.shape[1]
    resolved = list(dict.fromkeys(auto_precision() if p == "auto" else p for p in precisions))
    rows = []
    for precision_asked in resolved:
        for name, recipe in (("TF tutorial", TUTORIAL_RECIPE), ("course", COURSE_RECIPE)):
            gan, precision = build_course_gan(size, precision_asked, seed=seed, recipe=recipe)
            step_s = time_train_step(gan, images, step_batch)
            gan, precision = build_course_gan(size, precision_asked, seed=seed, recipe=recipe)
            clock = TrainClock(minutes * 60, measure=measure_fid, points=points)
            cbs = [clock]
            if progress:
                cbs.append(ProgressBar(desc=f"{name} ({precision})"))
            with _PeakRSS() as mem:
                fit_steps(gan, images, 10**9, batch_size=recipe["batch_size"], data_seed=seed,
                          steps_per_epoch=10**9, callbacks=cbs)
            wall = clock.train_seconds() if not clock.curve else clock.curve[-1]["train_s"]
            steps = gan.current_step
            fid = clock.curve[-1]["value"] if clock.curve else float("nan")
            rows.append({"recipe": name, "precision": precision, "batch_size": recipe["batch_size"],
                         "learning_rate": recipe["learning_rate"], "beta_1": recipe["beta_1"],
                         "base_filters": recipe["base_filters"], "ema_decay": recipe.get("ema_decay"),
                         "steps": steps, "train_s": round(wall, 1),
                         "images_per_s": round(steps * recipe["batch_size"] / max(wall, 1e-9), 1),
                         "fid": round(float(fid), 2), "fid_curve": clock.curve,
                         "time_to_fid": {f"{t:g}": time_to(clock.curve, t) for t in BENCH_TARGETS},
                         "peak_rss_mb": round(mem.peak_mb),
                         "step_s_at_256": round(step_s, 4), "step_images_per_s_at_256": round(step_batch / step_s, 1)})
            keras.mixed_precision.set_global_policy("float32")
    return rows


def bench_table(rows: list[dict], minutes: float, machine: str | None = None) -> str:
    """The bench result as Markdown: the machine, one row per run, and the ratios per precision."""
    machine = machine or f"{cpu_model()}, {os.cpu_count()} cores, bf16 {'yes' if cpu_supports_bf16() else 'no'}"
    head = ("| recipe | precision | batch | Adam (lr, β1) | base filters | weight average | steps in {m} min | "
            "images/s | FID at {m} min | minutes to FID {a} | minutes to FID {b} | peak RSS (MB) | "
            "train step alone, batch 256 (images/s) |").format(m=f"{minutes:g}", a=f"{BENCH_TARGETS[0]:g}",
                                                               b=f"{BENCH_TARGETS[1]:g}")
    lines = [f"Machine: {machine}", "", head, "|" + "---|" * 13]

    def mins(v):
        return "not reached" if v is None else f"{v / 60:.1f}"

    for r in rows:
        ema = "none" if r.get("ema_decay") is None else f"EMA {r['ema_decay']:g}"
        ttf = r.get("time_to_fid", {})
        lines.append(f"| {r['recipe']} | {r['precision']} | {r['batch_size']} | {r['learning_rate']:g}, "
                     f"{r['beta_1']:g} | {r['base_filters']} | {ema} | {r['steps']} | {r['images_per_s']:.0f} | "
                     f"{r['fid']:.1f} | {mins(ttf.get(f'{BENCH_TARGETS[0]:g}'))} | "
                     f"{mins(ttf.get(f'{BENCH_TARGETS[1]:g}'))} | {r['peak_rss_mb']} | "
                     f"{r['step_images_per_s_at_256']:.0f} |")
    lines.append("")
    for precision in dict.fromkeys(r["precision"] for r in rows):
        pair = {r["recipe"]: r for r in rows if r["precision"] == precision}
        if len(pair) == 2 and pair["course"]["fid"] > 0:
            tut, course = pair["TF tutorial"], pair["course"]
            lines.append(f"{precision}: FID ratio (tutorial / course) {tut['fid'] / course['fid']:.1f}x; "
                         f"train-step speed ratio at batch 256 (course / tutorial) "
                         f"{course['step_images_per_s_at_256'] / tut['step_images_per_s_at_256']:.2f}x")
    return "\n".join(lines)


# =========================================================================== lesson 08: controllable generation
PRETRAINED_CONDITIONAL = WEIGHTS_DIR / "fashion_mnist_conditional_generator.weights.h5"
CONDITIONAL_EMBED_DIM = 10
CONDITIONAL_MODE_SEEKING = 0.1
"""The weight of the mode-seeking term in the course's conditional recipe (lesson 08 measures why)."""
N_CLASSES = 10


def check_labels(labels, n_classes: int = N_CLASSES, name: str = "labels") -> np.ndarray:
    """``labels`` as an int32 vector, each an integer in [0, n_classes) (lesson 08); else ValueError/TypeError."""
    arr = np.asarray(labels)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape}; expected a vector of class numbers (N,)")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise TypeError(f"{name}={arr[:5].tolist()}...: expected integer class numbers in 0..{n_classes - 1}")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} has dtype {arr.dtype}; expected integer class numbers in 0..{n_classes - 1}")
    if len(arr) and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr[(arr < 0) | (arr >= n_classes)][0]
        raise ValueError(f"{name} contains {bad!r}; expected class numbers in 0..{n_classes - 1}")
    return arr.astype(np.int32)


def labelled_step_dataset(images, labels, batch_size: int = 64, seed: int = 0, start_step: int = 0,
                          steps: int | None = None):
    """Like :func:`step_dataset`, but each batch is ``(images, labels)`` (lesson 08).

    Uses the same stateless permutation, so step ``s``'s batch is a pure function of ``s``.
    """
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    labels = check_labels(labels, n_classes=int(np.max(labels)) + 1 if len(labels) else 1)
    if len(images) != len(labels):
        raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) differ in length")
    _check_number("batch_size", batch_size, low=1, integer=True)
    _check_number("start_step", start_step, low=0, integer=True)
    _check_number("steps", steps, low=0, integer=True, allow_none=True)
    if batch_size > len(images):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(images)} images")
    n = len(images)
    per_epoch = n // batch_size
    first_epoch, skip = divmod(int(start_step), per_epoch)
    table, ytable = tf.constant(images), tf.constant(labels)

    def epoch_batches(epoch):
        perm = _epoch_permutation(n, epoch, seed)[:per_epoch * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(perm, [per_epoch, batch_size]))

    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_batches).skip(skip)
    if steps is not None:
        ds = ds.take(steps)
    return ds.map(lambda idx: (tf.gather(table, idx), tf.gather(ytable, idx)), num_parallel_calls=1).prefetch(2)


class ConditionalGAN(GAN):
    """A conditional GAN (Mirza & Osindero 2014) as a ``keras.Model``; batches are ``(images, labels)`` (lesson 08).

    The generator maps ``[z, labels]`` to images, the discriminator maps
    ``[images, labels]`` to a logit (e.g. :func:`models.projection_discriminator`).
    Fakes are asked for uniformly random labels drawn from the model's
    ``SeedGenerator``; everything else (losses, two optimizers, checkpoints,
    NaN guard) is :class:`GAN`'s.
    """

    def __init__(self, generator, discriminator, n_classes: int = N_CLASSES, latent_dim=None, mode_seeking=0.0,
                 **kwargs):
        if latent_dim is None and isinstance(generator, keras.Model):
            try:
                latent_dim = int(generator.input_shape[0][-1])
            except (AttributeError, TypeError, ValueError, IndexError) as err:
                raise ValueError("latent_dim=None: could not infer it from the generator's first input; "
                                 "pass latent_dim=") from err
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        self.n_classes = _check_number("n_classes", n_classes, low=2, integer=True)
        if self.d_steps != 1 or self.gp_weight > 0 or self.clip_value is not None:
            raise ValueError("ConditionalGAN supports d_steps=1 without gradient penalty or clipping")
        self.mode_seeking = float(_check_number("mode_seeking", mode_seeking, low=0.0))
        self.ms_tracker = keras.metrics.Mean(name="diversity") if self.mode_seeking > 0 else None

    @property
    def metrics(self):
        return super().metrics + ([self.ms_tracker] if self.ms_tracker is not None else [])

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _fake_labels(self, batch):
        return keras.random.randint((batch,), 0, self.n_classes, seed=self.seed_generator, dtype="int32")

    def train_step(self, data):
        import tensorflow as tf

        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalGAN.train_step expects (images, labels) batches")
        real, labels = ops.cast(data[0], "float32"), ops.cast(data[1], "int32")
        batch = ops.shape(real)[0]
        z, fake_y = self._latent(batch), self._fake_labels(batch)
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_y], training=True)
            real_logits = ops.cast(self.discriminator([self._noisy(real), labels], training=True), "float32")
            fake_logits = ops.cast(self.discriminator([self._noisy(ops.cast(fake, "float32")), fake_y],
                                                      training=True), "float32")
            d_loss = self._d_loss(real_logits, fake_logits)
            scaled = self.d_optimizer.scale_loss(per_replica(d_loss))
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))

        z, fake_y = self._latent(batch), self._fake_labels(batch)
        if self.mode_seeking > 0:  # pairs: the second half asks for the same labels as the first, other noise
            half = batch // 2
            fake_y = ops.concatenate([fake_y[:half], fake_y[:half], fake_y[2 * half:]])
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_y], training=True)
            fake_logits_g = ops.cast(self.discriminator([self._noisy(ops.cast(fake, "float32")), fake_y],
                                                        training=True), "float32")
            g_loss = self._g_loss(fake_logits_g)
            total = g_loss
            if self.mode_seeking > 0:
                ratio = _losses.mode_seeking_ratio(fake[:half], fake[half:2 * half], z[:half], z[half:2 * half])
                total = g_loss + self.mode_seeking / (ratio + 1e-5)
            scaled = self.g_optimizer.scale_loss(per_replica(total))
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        self.step.assign_add(1)
        self._update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        if self.ms_tracker is not None:
            self.ms_tracker.update_state(ratio)
        return {m.name: m.result() for m in self.metrics}

    def generate(self, n: int = None, labels=None, seed: int | None = None, z=None, batch_size: int = 256,
                 raw: bool = False) -> np.ndarray:
        """Images for ``labels`` (one per label) as a NumPy array; ``z`` fixed noise, else drawn from ``seed``.

        The weight-averaged generator draws them when there is one, unless ``raw=True``.
        """
        return conditional_generate(self.generator if raw else self.sampler, labels, z=z, seed=seed, batch_size=batch_size,
                                    n_classes=self.n_classes, latent_dim=self.latent_dim,
                                    seed_generator=self.sample_seed_generator)


def conditional_generate(generator, labels, z=None, seed: int | None = 0, batch_size: int = 256,
                         n_classes: int = N_CLASSES, latent_dim: int = LATENT_DIM, seed_generator=None) -> np.ndarray:
    """Run a conditional generator on ``labels`` (and noise ``z`` or noise drawn from ``seed``) (lesson 08)."""
    if labels is None:
        raise ValueError("labels=None: expected the class number of each image to generate")
    y = check_labels(labels, n_classes)
    if z is None:
        rng = seed_generator if seed is None else int(seed)
        z = ops.convert_to_numpy(keras.random.normal((len(y), latent_dim), seed=rng))
    z = np.asarray(z, np.float32)
    if z.shape != (len(y), latent_dim):
        raise ValueError(f"z has shape {z.shape}; expected ({len(y)}, {latent_dim}) to match the labels")
    out = [ops.convert_to_numpy(generator([z[i:i + batch_size], y[i:i + batch_size]], training=False))
           for i in range(0, len(y), batch_size)]
    return np.concatenate(out).astype(np.float32)


def fit_conditional_steps(gan: ConditionalGAN, images, labels, total_steps: int, batch_size: int = 64,
                          data_seed: int = 0, steps_per_epoch: int | None = None, callbacks=None, verbose: int = 0):
    """:func:`fit_steps` for a :class:`ConditionalGAN`: train until ``total_steps`` in total (lesson 08)."""
    _check_number("total_steps", total_steps, low=0, integer=True)
    start = gan.current_step
    remaining = total_steps - start
    if remaining <= 0:
        return None
    per_epoch = min(steps_per_epoch or remaining, remaining)
    epochs = math.ceil(remaining / per_epoch)
    ds = labelled_step_dataset(images, labels, batch_size, seed=data_seed, start_step=start, steps=remaining)
    callbacks = list(callbacks or []) + [StopAfter(total_steps=total_steps)]
    return gan.fit(ds, epochs=epochs, steps_per_epoch=per_epoch, callbacks=callbacks, verbose=verbose,
                   shuffle=False)


def course_conditional_generator(latent_dim: int = LATENT_DIM, seed: int | None = None,
                                 image_size: int = 28) -> keras.Model:
    """The course recipe's conditional generator (label embedding 10 + DCGAN, 32 base filters) (lesson 08)."""
    from .models import conditional_generator

    return conditional_generator(latent_dim=latent_dim, n_classes=N_CLASSES, embed_dim=CONDITIONAL_EMBED_DIM,
                                 image_size=image_size, base_filters=COURSE_RECIPE["base_filters"], seed=seed)


def build_conditional_gan(precision: str = "auto", seed: int = 0, recipe: dict | None = None, image_size: int = 28):
    """:data:`CONDITIONAL_RECIPE` as a :class:`ConditionalGAN` with a projection discriminator (lesson 08, CLI).

    The recipe's weight average and :data:`CONDITIONAL_MODE_SEEKING` (unless
    ``recipe`` sets ``mode_seeking``) come with it.

    Returns ``(gan, precision_used)``; sets the global precision policy like :func:`build_course_gan`.
    """
    from .models import projection_discriminator

    recipe = dict(CONDITIONAL_RECIPE if recipe is None else recipe)
    if precision in ("auto", "bf16-if-supported"):
        precision = auto_precision()
    _check_choice("precision", precision, ("float32", "mixed_bfloat16", "mixed_float16"))
    keras.mixed_precision.set_global_policy(precision)
    runtime.seed_everything(seed)
    g = course_conditional_generator(image_size=image_size)
    d = projection_discriminator(n_classes=N_CLASSES, image_size=image_size, base_filters=recipe["base_filters"])
    gan = ConditionalGAN(g, d, n_classes=N_CLASSES, seed=seed, ema_decay=recipe.get("ema_decay"),
                         mode_seeking=recipe.get("mode_seeking", CONDITIONAL_MODE_SEEKING))
    gan.compile(keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]),
                keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]))
    return gan, precision


def pretrained_conditional_generator(path=PRETRAINED_CONDITIONAL) -> keras.Model:
    """The course's shipped conditional Fashion-MNIST generator (lesson 08; used by lesson 10).

    A ``keras.Model`` mapping ``[z (N, 100) float32, labels (N,) int]`` to images
    (N, 28, 28, 1) in [-1, 1]. Its SHA-256 is checked against the JSON sidecar
    (:func:`pretrained_info`) before loading.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: the pretrained conditional generator is missing (reinstall gan_lessons)")
    info = pretrained_info(path)
    if _sha256(path) != info.get("sha256"):
        raise ValueError(f"{path}: SHA-256 does not match its .json sidecar (file damaged); reinstall gan_lessons")
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        gen = course_conditional_generator(latent_dim=int(info.get("latent_dim", LATENT_DIM)))
    finally:
        keras.mixed_precision.set_global_policy(policy)
    gen.load_weights(str(path))
    return gen


class InfoGAN(GAN):
    """InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever, Abbeel, NIPS 2016) as a ``keras.Model`` (lesson 08).

    The generator's input is ``[z, one_hot(c), u]``: noise, a categorical code c
    with ``n_categories`` values and ``n_continuous`` codes u ~ U(-1, 1). The
    discriminator returns ``[logit, category_logits, code_means]`` (D and Q on a
    shared trunk, :func:`models.infogan_discriminator`). Both players add
    ``info_weight`` · (categorical loss + ``continuous_weight`` · continuous loss),
    the negative of the mutual-information lower bound (up to a constant), so Q
    learns to read the codes and G learns to make them readable.
    Batches are images (labels, if given, are ignored: InfoGAN is unsupervised).
    """

    def __init__(self, generator, discriminator, noise_dim: int = 62, n_categories: int = 10, n_continuous: int = 2,
                 info_weight: float = 1.0, continuous_weight: float = 0.5, seed: int = 0, **kwargs):
        self.noise_dim = _check_number("noise_dim", noise_dim, low=1, integer=True)
        self.n_categories = _check_number("n_categories", n_categories, low=2, integer=True)
        self.n_continuous = _check_number("n_continuous", n_continuous, low=0, integer=True)
        super().__init__(generator, discriminator, latent_dim=noise_dim + n_categories + n_continuous, seed=seed,
                         **kwargs)
        self.noise_dim, self.n_categories, self.n_continuous = noise_dim, n_categories, n_continuous
        self.info_weight = float(_check_number("info_weight", info_weight, low=0.0))
        self.continuous_weight = float(_check_number("continuous_weight", continuous_weight, low=0.0))
        self.info_tracker = keras.metrics.Mean(name="info_cat")
        self.q_acc_tracker = keras.metrics.Mean(name="q_acc")

    @property
    def metrics(self):
        return super().metrics + [self.info_tracker, self.q_acc_tracker]

    def codes(self, batch, seed=None):
        """(z, categories, continuous codes) for ``batch`` images, from the training seed generator or ``seed``."""
        rng = self.seed_generator if seed is None else seed
        z = keras.random.normal((batch, self.noise_dim), seed=rng)
        c = keras.random.randint((batch,), 0, self.n_categories, seed=rng, dtype="int32")
        u = keras.random.uniform((batch, self.n_continuous), -1.0, 1.0, seed=rng)
        return z, c, u

    def generator_input(self, z, c, u):
        """Concatenate noise, one-hot category and continuous codes into the generator's input."""
        return ops.concatenate([ops.cast(z, "float32"), ops.one_hot(ops.cast(c, "int32"), self.n_categories),
                                ops.cast(u, "float32")], axis=-1)

    def _info_loss(self, c, u, q_cat, q_cont):
        cat = _losses.infogan_categorical_loss(c, q_cat)
        total = cat
        if self.n_continuous:
            total = total + self.continuous_weight * _losses.infogan_continuous_loss(u, q_cont[:, :self.n_continuous])
        return self.info_weight * total, cat

    def train_step(self, data):
        import tensorflow as tf

        real = data[0] if isinstance(data, (tuple, list)) else data
        real = ops.cast(real, "float32")
        batch = ops.shape(real)[0]
        z, c, u = self.codes(batch)
        with tf.GradientTape() as tape:
            fake = ops.cast(self.generator(self.generator_input(z, c, u), training=True), "float32")
            real_logits = ops.cast(self.discriminator(real, training=True)[0], "float32")
            fake_logits, q_cat, q_cont = self.discriminator(fake, training=True)
            fake_logits = ops.cast(fake_logits, "float32")
            info, _ = self._info_loss(c, u, q_cat, q_cont)
            d_loss = _losses.discriminator_loss(real_logits, fake_logits) + info
            scaled = self.d_optimizer.scale_loss(per_replica(d_loss))
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))

        z, c, u = self.codes(batch)
        with tf.GradientTape() as tape:
            fake = ops.cast(self.generator(self.generator_input(z, c, u), training=True), "float32")
            fake_logits_g, q_cat, q_cont = self.discriminator(fake, training=True)
            info, cat = self._info_loss(c, u, q_cat, q_cont)
            g_loss = _losses.generator_loss_non_saturating(ops.cast(fake_logits_g, "float32")) + info
            scaled = self.g_optimizer.scale_loss(per_replica(g_loss))
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        self.step.assign_add(1)
        self._update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        self.info_tracker.update_state(cat)
        self.q_acc_tracker.update_state(ops.mean(ops.cast(ops.equal(ops.cast(ops.argmax(q_cat, axis=-1), "int32"),
                                                                    ops.cast(c, "int32")), "float32")))
        return {m.name: m.result() for m in self.metrics}

    def generate_codes(self, z, categories, continuous, batch_size: int = 256) -> np.ndarray:
        """Images for given noise, categories (N,) and continuous codes (N, n_continuous), as NumPy."""
        x = ops.convert_to_numpy(self.generator_input(np.asarray(z, np.float32), np.asarray(categories),
                                                      np.asarray(continuous, np.float32)))
        out = [ops.convert_to_numpy(self.sampler(x[i:i + batch_size], training=False))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32)

    def read_codes(self, images, batch_size: int = 256):
        """Q's reading of ``images``: (category logits (N, k), continuous means (N, n_continuous))."""
        cats, conts = [], []
        images = np.asarray(images, np.float32)
        for i in range(0, len(images), batch_size):
            _, qc, qm = self.discriminator(images[i:i + batch_size], training=False)
            cats.append(ops.convert_to_numpy(qc))
            conts.append(ops.convert_to_numpy(qm)[:, :self.n_continuous])
        return np.concatenate(cats), np.concatenate(conts)

    def generate(self, n: int, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """``n`` images with random codes (so lesson 06's metrics apply unchanged)."""
        _check_number("n", n, low=1, integer=True)
        z, c, u = self.codes(n, seed=self.sample_seed_generator if seed is None else int(seed))
        return self.generate_codes(ops.convert_to_numpy(z), ops.convert_to_numpy(c), ops.convert_to_numpy(u),
                                   batch_size)
