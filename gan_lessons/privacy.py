"""GANs and data privacy: memorisation, membership inference, DP-SGD, ε (lesson 10).

Lesson 10 writes every piece out in full first; this module holds the same
pieces for reuse:

* :func:`nearest_distances` and :func:`memorisation_summary`: how close generated
  samples come to the training images, compared with held-out images;
* two membership-inference attacks, scored with ``sklearn.metrics.roc_auc_score``
  by :func:`membership_auc`: the white-box attack of LOGAN (Hayes et al., PoPETs
  2019; :func:`whitebox_scores`, the discriminator's score) and the black-box
  attack of GAN-Leaks (Chen et al., CCS 2020; :func:`blackbox_scores`, distance
  to the nearest generated samples);
* DP-SGD on the discriminator: :func:`per_example_gradients` with
  ``tf.vectorized_map``, :func:`clip_and_noise`, :func:`poisson_batch` and
  :class:`DPDiscriminatorStep`;
* the privacy budget: :func:`epsilon` (Poisson sampling) and
  :func:`epsilon_without_replacement` (a shuffled pass), both from
  dp-accounting's ``RdpAccountant``, and :func:`noise_for_epsilon`.

Every fake image is quantised to 8 bits (:func:`as_8bit`) before an attack sees
it, like the real images it is compared with.
"""

from __future__ import annotations

import contextlib
import logging
import math

import numpy as np

from . import data


# --------------------------------------------------------------------------- argument checks
def _is_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and math.isfinite(float(value)))


def _check_positive(name: str, value) -> float:
    if not _is_number(value) or value <= 0:
        raise ValueError(f"{name}={value!r}: expected a finite number > 0")
    return float(value)


def _check_non_negative(name: str, value) -> float:
    if not _is_number(value) or value < 0:
        raise ValueError(f"{name}={value!r}: expected a finite number >= 0")
    return float(value)


def _check_rate(name: str, value) -> float:
    if not _is_number(value) or not 0 < value <= 1:
        raise ValueError(f"{name}={value!r}: expected a sampling probability in (0, 1]")
    return float(value)


def _check_delta(value) -> float:
    if not _is_number(value) or not 0 < value < 1:
        raise ValueError(f"delta={value!r}: expected a number in (0, 1), e.g. 1/(10·N) or 1e-5")
    return float(value)


def _check_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r}: expected an int >= {low}")
    return int(value)


def _flat(images, name: str) -> np.ndarray:
    x = np.asarray(images, dtype=np.float64)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} has shape {x.shape}; expected (N, ...) with N >= 1")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x.reshape(len(x), -1)


def as_8bit(images) -> np.ndarray:
    """Quantise images in [-1, 1] to 8 bits and back, as float32 (lesson 10).

    Real images are stored as 8-bit pixels; an attack that compares fakes with
    them must see fakes that went through the same rounding.
    """
    return data.to_uint8(images).astype(np.float32) / 127.5 - 1.0


# --------------------------------------------------------------------------- memorisation
def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def nearest_distances(queries, references, k: int = 1, batch_size: int = 1024, return_index: bool = False):
    """Euclidean distance from each query to its ``k``-th nearest reference (pixels, flattened) (lesson 10).

    With ``return_index=True`` also returns the index of the nearest reference.
    """
    q, r = _flat(queries, "queries"), _flat(references, "references")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} values each and references {r.shape[1]}; expected the same")
    k = _check_int("k", k)
    if k > len(r):
        raise ValueError(f"k={k} is larger than the {len(r)} references")
    dist, index = np.empty(len(q)), np.empty(len(q), dtype=np.int64)
    for i in range(0, len(q), batch_size):
        d = _sq_dists(q[i:i + batch_size], r)
        dist[i:i + batch_size] = np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])
        index[i:i + batch_size] = d.argmin(axis=1)
    return (dist, index) if return_index else dist


def memorisation_summary(generated, train, holdout) -> dict:
    """Compare generated samples' nearest-neighbour distances to the training set and to a held-out set (lesson 10).

    ``train`` and ``holdout`` must have the same size (nearest-neighbour
    distances shrink as a set grows). Returns both distance arrays, the share
    of samples that are closer to a training image than to any held-out image
    (0.5 when the generator does not favour its training data) and the median
    of the ratio d_train / d_holdout (1 without memorisation, 0 for copies).
    """
    t, h = _flat(train, "train"), _flat(holdout, "holdout")
    if len(t) != len(h):
        raise ValueError(f"train has {len(t)} images and holdout {len(h)}; expected the same number")
    g = as_8bit(generated)
    d_train, d_hold = nearest_distances(g, t), nearest_distances(g, h)
    return {"d_train": d_train, "d_holdout": d_hold,
            "closer_to_train": float(np.mean(d_train < d_hold)),
            "median_ratio": float(np.median(d_train / np.maximum(d_hold, 1e-12)))}


# --------------------------------------------------------------------------- membership inference
def membership_auc(member_scores, nonmember_scores) -> float:
    """ROC AUC of an attack that says "member" for high scores (``sklearn.metrics.roc_auc_score``) (lesson 10).

    0.5: the attacker learns nothing; 1: it separates members from non-members perfectly.
    """
    from sklearn.metrics import roc_auc_score

    m = np.asarray(member_scores, np.float64).ravel()
    n = np.asarray(nonmember_scores, np.float64).ravel()
    if len(m) == 0 or len(n) == 0:
        raise ValueError(f"member_scores has {len(m)} and nonmember_scores {len(n)} values; expected both non-empty")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(n))):
        raise ValueError("member_scores or nonmember_scores contains NaN or inf")
    y = np.concatenate([np.ones(len(m)), np.zeros(len(n))])
    return float(roc_auc_score(y, np.concatenate([m, n])))


def whitebox_scores(discriminator, images, labels=None, batch_size: int = 512) -> np.ndarray:
    """LOGAN's white-box attack (Hayes et al., PoPETs 2019): the discriminator's logit for each query (lesson 10).

    A discriminator that has seen an image during training tends to rate it
    more "real" than a similar image it never saw. ``discriminator`` is a
    callable on an image batch (or on ``[images, one_hot_labels]`` when
    ``labels`` are given, for a conditional discriminator).
    """
    if not callable(discriminator):
        raise TypeError(f"discriminator={discriminator!r}: expected a callable (a keras.Model)")
    x = np.asarray(images, np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"images has shape {x.shape}; expected (N, ...) with N >= 1")
    onehot = None
    if labels is not None:
        y = np.asarray(labels)
        if y.shape != (len(x),):
            raise ValueError(f"labels has shape {y.shape}; expected ({len(x)},)")
        onehot = np.eye(10, dtype=np.float32)[y]
    out = []
    for i in range(0, len(x), batch_size):
        batch = x[i:i + batch_size] if onehot is None else [x[i:i + batch_size], onehot[i:i + batch_size]]
        out.append(np.asarray(discriminator(batch, training=False) if hasattr(discriminator, "trainable_variables")
                              else discriminator(batch)).reshape(-1))
    return np.concatenate(out).astype(np.float64)


def blackbox_scores(queries, generated, k: int = 1, query_labels=None, generated_labels=None) -> np.ndarray:
    """GAN-Leaks' black-box attack (Chen et al., CCS 2020): minus the distance to the k nearest generated samples (lesson 10).

    The attacker only draws samples; a query that the generator reproduces
    closely was probably in its training set. Higher score = "member". The
    generated samples are quantised to 8 bits first. With labels (a
    conditional generator), each query is compared with samples of its own class.
    """
    g = as_8bit(generated)
    q = np.asarray(queries, np.float32)
    if (query_labels is None) != (generated_labels is None):
        raise ValueError("query_labels and generated_labels: give both (conditional) or neither")
    if query_labels is None:
        d = np.sqrt(np.mean(np.square(np.stack([nearest_distances(q, g, k=j) for j in range(1, k + 1)])), axis=0))
        return -d
    ql, gl = np.asarray(query_labels), np.asarray(generated_labels)
    if ql.shape != (len(q),) or gl.shape != (len(g),):
        raise ValueError(f"query_labels has shape {ql.shape} and generated_labels {gl.shape}; "
                         f"expected ({len(q)},) and ({len(g)},)")
    scores = np.empty(len(q))
    for c in np.unique(ql):
        pool = g[gl == c]
        if len(pool) < k:
            raise ValueError(f"class {c}: {len(pool)} generated samples, fewer than k={k}")
        scores[ql == c] = blackbox_scores(q[ql == c], pool, k=k)
    return scores


# --------------------------------------------------------------------------- DP-SGD
def per_example_gradients(loss_fn, variables, *batch):
    """Gradients of ``loss_fn(*example)`` for every example of ``batch``, with ``tf.vectorized_map`` (lesson 10).

    ``loss_fn`` takes one example (each tensor with a leading batch axis of 1)
    and returns a scalar. Returns one tensor per variable, shaped
    ``(batch, *variable.shape)``. ``vectorized_map`` turns the per-example loop
    into batched operations; ``GradientTape.jacobian`` does the same job many
    times slower on convolutions.
    """
    import tensorflow as tf

    variables = list(variables)
    if not variables:
        raise ValueError("variables is empty: expected the discriminator's trainable variables")

    def one(example):
        example = [tf.expand_dims(t, 0) for t in example]
        with tf.GradientTape() as tape:
            loss = loss_fn(*example)
        grads = tape.gradient(loss, variables)
        return [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]

    return tf.vectorized_map(one, list(batch))


def clip_and_noise(per_example, clip_norm, noise_multiplier, expected_batch_size, seed=None):
    """DP-SGD's aggregation (Abadi et al., CCS 2016): clip, sum, add noise, divide (lesson 10).

    Each example's gradient (all variables together, as one vector) is scaled
    down to L2 norm at most ``clip_norm`` C; the clipped gradients are summed;
    Gaussian noise of std σ·C (``noise_multiplier`` σ) is added to every
    coordinate of the sum; the result is divided by ``expected_batch_size``
    (with Poisson sampling the batch size itself is random and must not leak).
    ``seed``: a ``keras.random.SeedGenerator`` (or int) for the noise.
    """
    import keras
    import tensorflow as tf

    c = _check_positive("clip_norm", clip_norm)
    sigma = _check_non_negative("noise_multiplier", noise_multiplier)
    b = _check_positive("expected_batch_size", expected_batch_size)
    per_example = [tf.convert_to_tensor(g, tf.float32) for g in per_example]
    if not per_example:
        raise ValueError("per_example is empty: expected one (batch, ...) tensor per variable")
    n = tf.shape(per_example[0])[0]
    sq = tf.add_n([tf.reduce_sum(tf.reshape(g, [n, -1]) ** 2, axis=1) for g in per_example])
    scale = tf.minimum(1.0, c / tf.maximum(tf.sqrt(sq), 1e-12))          # (batch,)
    out = []
    for g in per_example:
        shape = tf.concat([[n], tf.ones([tf.rank(g) - 1], tf.int32)], axis=0)
        total = tf.reduce_sum(g * tf.reshape(scale, shape), axis=0)
        if sigma > 0:
            total = total + keras.random.normal(tf.shape(total), stddev=sigma * c, seed=seed)
        out.append(total / b)
    return out


def poisson_batch(n: int, sampling_rate: float, rng) -> np.ndarray:
    """Indices of a Poisson-sampled batch: each of ``n`` examples joins independently with probability q (lesson 10).

    This is the sampling that :func:`epsilon` accounts for; the batch size is random (mean q·n).
    """
    n = _check_int("n", n)
    q = _check_rate("sampling_rate", sampling_rate)
    return np.flatnonzero(rng.random(n) < q)


class DPDiscriminatorStep:
    """One DP-SGD step for a conditional discriminator, compiled once for every batch size (lesson 10).

    Only the real images are private: their per-example gradients of
    softplus(-D(x, y)) are clipped and noised (:func:`clip_and_noise`); the
    fake term softplus(D(G(z), y')) involves no private data, so its ordinary
    mean gradient is added. The ``tf.function`` has an ``input_signature``
    whose batch axis is ``None``: Poisson batches vary in size and would
    otherwise retrace it on every step. ``clip_norm=None`` turns privacy off
    (an ordinary step on the same batches). The discriminator must not use
    BatchNorm: it mixes examples, so one example's gradient would depend on
    the others.
    """

    def __init__(self, generator, discriminator, optimizer, latent_dim: int, n_classes: int, image_dim: int,
                 clip_norm=1.0, noise_multiplier=1.0, expected_batch_size=64, fake_batch_size: int = 64,
                 seed: int = 0):
        import keras
        import tensorflow as tf

        for layer in discriminator._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                raise ValueError(f"discriminator has a BatchNormalization layer ({layer.name}): it mixes the "
                                 "examples of a batch, so per-example gradients are not per example; use "
                                 "LayerNormalization, GroupNormalization or none")
        self.clip_norm = None if clip_norm is None else _check_positive("clip_norm", clip_norm)
        self.noise_multiplier = _check_non_negative("noise_multiplier", noise_multiplier)
        self.expected_batch_size = _check_positive("expected_batch_size", expected_batch_size)
        self.fake_batch_size = _check_int("fake_batch_size", fake_batch_size)
        self.latent_dim, self.n_classes = _check_int("latent_dim", latent_dim), _check_int("n_classes", n_classes)
        self.generator, self.discriminator, self.optimizer = generator, discriminator, optimizer
        self.seed = keras.random.SeedGenerator(seed)
        self.step = tf.function(self._step, input_signature=[
            tf.TensorSpec([None, image_dim], tf.float32), tf.TensorSpec([None], tf.int32)])

    def _step(self, real, labels):
        import keras
        import tensorflow as tf

        d = self.discriminator
        variables = d.trainable_variables
        onehot = tf.one_hot(labels, self.n_classes)
        z = keras.random.normal((self.fake_batch_size, self.latent_dim), seed=self.seed)
        fake_labels = tf.one_hot(keras.random.randint((self.fake_batch_size,), 0, self.n_classes, seed=self.seed),
                                 self.n_classes)
        fake = self.generator([z, fake_labels], training=False)
        with tf.GradientTape() as tape:
            fake_loss = tf.reduce_mean(tf.nn.softplus(d([fake, fake_labels], training=True)))
        fake_grads = tape.gradient(fake_loss, variables)
        if self.clip_norm is None:
            with tf.GradientTape() as tape:
                real_loss = tf.reduce_sum(tf.nn.softplus(-d([real, onehot], training=True)))
            real_grads = [g / self.expected_batch_size for g in tape.gradient(real_loss, variables)]
        else:
            per_example = per_example_gradients(
                lambda x, y: tf.reduce_sum(tf.nn.softplus(-d([x, y], training=True))), variables, real, onehot)
            real_grads = clip_and_noise(per_example, self.clip_norm, self.noise_multiplier,
                                        self.expected_batch_size, seed=self.seed)
        self.optimizer.apply_gradients(zip([a + b for a, b in zip(real_grads, fake_grads)], variables))
        return fake_loss


# --------------------------------------------------------------------------- the privacy budget
@contextlib.contextmanager
def _quiet_absl():
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)  # dp-accounting warns about orders it drops; the result is still valid
    try:
        yield
    finally:
        logger.setLevel(level)


def epsilon(noise_multiplier, sampling_rate, steps, delta) -> float:
    """ε of DP-SGD with Poisson sampling, from dp-accounting's RDP accountant (lesson 10).

    Composes ``PoissonSampledDpEvent(q, GaussianDpEvent(σ))`` over ``steps``
    steps and converts to (ε, δ)-DP (add-or-remove-one neighbours).
    """
    import dp_accounting
    from dp_accounting import rdp

    sigma = _check_positive("noise_multiplier", noise_multiplier)
    q = _check_rate("sampling_rate", sampling_rate)
    steps = _check_int("steps", steps, low=0)
    delta = _check_delta(delta)
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    with _quiet_absl():
        return float(accountant.get_epsilon(delta))


def epsilon_without_replacement(noise_multiplier, dataset_size, batch_size, steps, delta) -> float:
    """ε of the same DP-SGD run accounted as fixed-size batches drawn without replacement (lesson 10).

    dp-accounting's ``SampledWithoutReplacementDpEvent`` uses replace-one
    neighbours; it is the nearest analysis to "shuffle and cut into batches".
    It is only valid if the training really samples that way.
    """
    import dp_accounting
    from dp_accounting import rdp

    sigma = _check_positive("noise_multiplier", noise_multiplier)
    n = _check_int("dataset_size", dataset_size)
    b = _check_int("batch_size", batch_size)
    if b > n:
        raise ValueError(f"batch_size={b} is larger than dataset_size={n}")
    steps = _check_int("steps", steps, low=0)
    delta = _check_delta(delta)
    accountant = rdp.RdpAccountant(neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    accountant.compose(dp_accounting.SampledWithoutReplacementDpEvent(n, b, dp_accounting.GaussianDpEvent(sigma)),
                       steps)
    with _quiet_absl():
        return float(accountant.get_epsilon(delta))


def noise_for_epsilon(target_epsilon, sampling_rate, steps, delta, low: float = 0.3, high: float = 100.0,
                      tol: float = 1e-3) -> float:
    """The smallest noise multiplier σ whose :func:`epsilon` is at most ``target_epsilon`` (bisection) (lesson 10)."""
    target = _check_positive("target_epsilon", target_epsilon)
    if epsilon(high, sampling_rate, steps, delta) > target:
        raise ValueError(f"target_epsilon={target_epsilon!r} is out of reach even with noise_multiplier={high}")
    while high - low > tol * high:
        mid = 0.5 * (low + high)
        if epsilon(mid, sampling_rate, steps, delta) > target:
            low = mid
        else:
            high = mid
    return high


# --------------------------------------------------------------------------- the lesson's small conditional GAN
def mlp_generator(latent_dim: int = 16, n_classes: int = 10, image_dim: int = 64, width: int = 128, seed: int = 0):
    """Lesson 10's conditional generator: [z, one-hot label] -> Dense-LeakyReLU x2 -> tanh pixels (flat)."""
    import keras
    from keras import layers

    init = lambda i: keras.initializers.GlorotUniform(seed=seed + i)  # noqa: E731 - one initializer per layer
    z, y = keras.Input((latent_dim,), name="z"), keras.Input((n_classes,), name="label")
    h = layers.Concatenate()([z, y])
    h = layers.LeakyReLU(0.2)(layers.Dense(width, kernel_initializer=init(0))(h))
    h = layers.LeakyReLU(0.2)(layers.Dense(width, kernel_initializer=init(1))(h))
    out = layers.Dense(image_dim, activation="tanh", kernel_initializer=init(2), name="pixels")(h)
    return keras.Model([z, y], out, name="cond_mlp_generator")


def mlp_discriminator(n_classes: int = 10, image_dim: int = 64, width: int = 128, seed: int = 0):
    """Lesson 10's conditional discriminator: [pixels, one-hot label] -> Dense-LeakyReLU x2 -> logit; no BatchNorm."""
    import keras
    from keras import layers

    init = lambda i: keras.initializers.GlorotUniform(seed=seed + 10 + i)  # noqa: E731
    x, y = keras.Input((image_dim,), name="pixels"), keras.Input((n_classes,), name="label")
    h = layers.Concatenate()([x, y])
    h = layers.LeakyReLU(0.2)(layers.Dense(width, kernel_initializer=init(0))(h))
    h = layers.LeakyReLU(0.2)(layers.Dense(width, kernel_initializer=init(1))(h))
    return keras.Model([x, y], layers.Dense(1, kernel_initializer=init(2), name="logit")(h),
                       name="cond_mlp_discriminator")


def train_conditional_gan(images, labels, steps: int, batch_size: int = 64, seed: int = 0, clip_norm=None,
                          noise_multiplier: float = 0.0, latent_dim: int = 16, learning_rate: float = 1e-3) -> dict:
    """Train lesson 10's conditional MLP-GAN on flat images, with or without DP-SGD on D (lesson 10).

    Every step draws a Poisson batch (rate q = batch_size / N), takes one
    :class:`DPDiscriminatorStep` (private when ``clip_norm`` is set) and one
    generator step with the non-saturating loss. Returns the two networks,
    the sampling rate, the number of steps and the wall time.
    """
    import time

    import keras
    import tensorflow as tf

    x = np.asarray(images, np.float32).reshape(len(images), -1)
    y = np.asarray(labels, np.int32)
    if y.shape != (len(x),):
        raise ValueError(f"labels has shape {y.shape}; expected ({len(x)},)")
    steps = _check_int("steps", steps, low=0)
    batch_size = _check_int("batch_size", batch_size)
    if batch_size > len(x):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(x)} images")
    q = batch_size / len(x)
    n_classes = 10
    g = mlp_generator(latent_dim, n_classes, x.shape[1], seed=seed)
    d = mlp_discriminator(n_classes, x.shape[1], seed=seed)
    d_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    g_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    d_step = DPDiscriminatorStep(g, d, d_opt, latent_dim, n_classes, x.shape[1], clip_norm=clip_norm,
                                 noise_multiplier=noise_multiplier, expected_batch_size=batch_size,
                                 fake_batch_size=batch_size, seed=seed)
    g_seed = keras.random.SeedGenerator(seed + 1)

    @tf.function
    def g_step():
        z = keras.random.normal((batch_size, latent_dim), seed=g_seed)
        fl = tf.one_hot(keras.random.randint((batch_size,), 0, n_classes, seed=g_seed), n_classes)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softplus(-d([g([z, fl], training=True), fl], training=True)))
        g_opt.apply_gradients(zip(tape.gradient(loss, g.trainable_variables), g.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(steps):
        idx = poisson_batch(len(x), q, rng)
        d_step.step(tf.constant(x[idx]), tf.constant(y[idx]))
        g_step()
    return {"generator": g, "discriminator": d, "sampling_rate": q, "steps": steps,
            "seconds": time.perf_counter() - start, "retraces": d_step.step.experimental_get_tracing_count()}


def generate_labelled(generator, labels, latent_dim: int | None = None, seed: int = 0, image_shape=None) -> np.ndarray:
    """Images from a conditional generator ``[z, one-hot label] -> image`` for the given labels (lesson 10).

    Works with any generator of that form (lesson 10's MLP, or a convolutional
    one); ``image_shape`` reshapes the output (e.g. (8, 8, 1)).
    """
    import keras

    y = np.asarray(labels, np.int64)
    if latent_dim is None:
        latent_dim = int(generator.inputs[0].shape[-1])
    n_classes = int(generator.inputs[1].shape[-1])
    z = keras.ops.convert_to_numpy(keras.random.normal((len(y), latent_dim), seed=seed))
    out = np.asarray(generator([z, np.eye(n_classes, dtype=np.float32)[y]], training=False))
    return out if image_shape is None else out.reshape((len(y),) + tuple(image_shape))


def train_on_synthetic_accuracy(train_images, train_labels, test_images, test_labels) -> float:
    """Accuracy on real test images of a logistic regression trained on (synthetic) labelled images (lesson 10).

    "Train on synthetic, test on real": the synthetic images are quantised to 8 bits first.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    xtr = as_8bit(train_images).reshape(len(train_images), -1)
    xte = np.asarray(test_images, np.float32).reshape(len(test_images), -1)
    clf = LogisticRegression(max_iter=2000, C=0.1)
    clf.fit(xtr, np.asarray(train_labels))
    return float(accuracy_score(np.asarray(test_labels), clf.predict(xte)))
