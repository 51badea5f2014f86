"""Lesson 10's privacy module: DP-SGD aggregation, ε, the two attacks, memorisation, and its exercise check."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
dp_accounting = pytest.importorskip("dp_accounting")

from gan_lessons import checks, privacy  # noqa: E402


def _tiny_d(seed=0):
    x = keras.Input((3,))
    h = keras.layers.Dense(4, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    return keras.Model(x, keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(h))


def _loss(d):
    return lambda x: tf.reduce_sum(tf.nn.softplus(-d(x)))


# --------------------------------------------------------------------------- per-example gradients and clipping
def test_per_example_gradients_match_one_at_a_time():
    d = _tiny_d()
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    per = privacy.per_example_gradients(_loss(d), d.trainable_variables, tf.constant(x))
    assert [tuple(g.shape) for g in per] == [(6,) + tuple(v.shape) for v in d.trainable_variables]
    for i in range(6):
        with tf.GradientTape() as tape:
            loss = _loss(d)(x[i:i + 1])
        for g, direct in zip(per, tape.gradient(loss, d.trainable_variables)):
            np.testing.assert_allclose(g[i], direct, rtol=1e-5, atol=1e-6)


def test_clipping_bounds_a_huge_example_to_C():
    rng = np.random.default_rng(1)
    small = [rng.normal(size=(5, 3, 2)) * 0.01, rng.normal(size=(5, 2)) * 0.01]
    C = 0.7
    base = privacy.clip_and_noise([tf.constant(g, tf.float32) for g in small], C, 0.0, 1.0)
    huge = [np.concatenate([g, 1e6 * rng.normal(size=(1,) + g.shape[1:])]) for g in small]
    moved = privacy.clip_and_noise([tf.constant(g, tf.float32) for g in huge], C, 0.0, 1.0)
    shift = np.sqrt(sum(float(np.sum((np.asarray(a) - np.asarray(b)) ** 2)) for a, b in zip(moved, base)))
    assert shift <= C * (1 + 1e-5)
    assert shift > 0.99 * C          # the huge example does count, with norm exactly C


def test_sigma_zero_large_C_is_the_ordinary_mean_gradient():
    d = _tiny_d(3)
    x = np.random.default_rng(2).normal(size=(8, 3)).astype("float32")
    per = privacy.per_example_gradients(_loss(d), d.trainable_variables, tf.constant(x))
    dp = privacy.clip_and_noise(per, 1e6, 0.0, 8)
    with tf.GradientTape() as tape:
        mean_loss = _loss(d)(x) / 8.0
    for a, b in zip(dp, tape.gradient(mean_loss, d.trainable_variables)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_noise_std_is_sigma_times_C():
    sigma, C = 1.5, 0.4
    seed = keras.random.SeedGenerator(0)
    zeros = [tf.zeros((3, 100, 50)), tf.zeros((3, 50))]
    draws = np.concatenate([np.concatenate([np.asarray(g).ravel() for g in
                                            privacy.clip_and_noise(zeros, C, sigma, 1.0, seed=seed)])
                            for _ in range(4)])
    assert draws.size == 4 * 5050
    assert abs(draws.std() - sigma * C) < 0.02 * sigma * C
    assert abs(draws.mean()) < 0.01
    halved = privacy.clip_and_noise(zeros, C, sigma, 2.0, seed=seed)   # divided by the expected batch size
    assert abs(np.asarray(halved[0]).std() - sigma * C / 2) < 0.03 * sigma * C


@pytest.mark.parametrize("kwargs, name", [
    ({"clip_norm": 0.0}, "clip_norm"), ({"clip_norm": -1.0}, "clip_norm"),
    ({"noise_multiplier": -0.1}, "noise_multiplier"), ({"expected_batch_size": 0}, "expected_batch_size")])
def test_clip_and_noise_rejects_bad_arguments(kwargs, name):
    args = {"clip_norm": 1.0, "noise_multiplier": 1.0, "expected_batch_size": 4} | kwargs
    with pytest.raises(ValueError, match=name):
        privacy.clip_and_noise([tf.zeros((2, 3))], **args)


def test_dp_step_traces_once_for_every_poisson_batch_size_and_refuses_batchnorm():
    import time  # noqa: F401

    g = privacy.mlp_generator(4, 10, 6, width=8)
    d = privacy.mlp_discriminator(10, 6, width=8)
    step = privacy.DPDiscriminatorStep(g, d, keras.optimizers.SGD(0.1), 4, 10, 6, clip_norm=1.0,
                                       noise_multiplier=1.0, expected_batch_size=4, fake_batch_size=4)
    rng = np.random.default_rng(0)
    for n in (3, 5, 0, 7, 2):
        step.step(tf.constant(rng.normal(size=(n, 6)), tf.float32), tf.constant(rng.integers(0, 10, n), tf.int32))
    assert step.step.experimental_get_tracing_count() <= 2   # the first call also builds the optimizer
    x, y = keras.Input((6,)), keras.Input((10,))
    h = keras.layers.BatchNormalization()(keras.layers.Concatenate()([x, y]))
    bn = keras.Model([x, y], keras.layers.Dense(1)(h))
    with pytest.raises(ValueError, match="BatchNormalization"):
        privacy.DPDiscriminatorStep(g, bn, keras.optimizers.SGD(0.1), 4, 10, 6)


def test_poisson_batch_has_rate_q():
    rng = np.random.default_rng(0)
    sizes = [len(privacy.poisson_batch(1000, 0.05, rng)) for _ in range(200)]
    assert abs(np.mean(sizes) - 50) < 2 and np.std(sizes) > 3      # random size, mean q·N
    with pytest.raises(ValueError, match="sampling_rate"):
        privacy.poisson_batch(10, 1.5, rng)


# --------------------------------------------------------------------------- ε
def test_epsilon_equals_dp_accounting_and_falls_with_sigma():
    from dp_accounting import rdp

    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(1.1)), 500)
    assert privacy.epsilon(1.1, 0.01, 500, 1e-5) == pytest.approx(acc.get_epsilon(1e-5), rel=1e-12)
    eps = [privacy.epsilon(s, 0.01, 500, 1e-5) for s in (0.8, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(eps, eps[1:]))
    assert privacy.epsilon(1.0, 0.01, 1000, 1e-5) > privacy.epsilon(1.0, 0.01, 100, 1e-5)


def test_epsilon_without_replacement_and_calibration():
    poisson = privacy.epsilon(1.0, 64 / 1024, 1000, 1e-4)
    shuffled = privacy.epsilon_without_replacement(1.0, 1024, 64, 1000, 1e-4)
    assert shuffled > poisson          # replace-one neighbours: a larger ε for the same noise
    sigma = privacy.noise_for_epsilon(5.0, 0.05, 500, 1e-5)
    assert privacy.epsilon(sigma, 0.05, 500, 1e-5) <= 5.0 < privacy.epsilon(sigma * 0.98, 0.05, 500, 1e-5)


@pytest.mark.parametrize("args, name", [
    ((0.0, 0.1, 10, 1e-5), "noise_multiplier"), ((-1.0, 0.1, 10, 1e-5), "noise_multiplier"),
    ((1.0, 0.0, 10, 1e-5), "sampling_rate"), ((1.0, 1.2, 10, 1e-5), "sampling_rate"),
    ((1.0, 0.1, 10, 0.0), "delta"), ((1.0, 0.1, 10, 1.0), "delta"), ((1.0, 0.1, -1, 1e-5), "steps")])
def test_epsilon_rejects_bad_arguments(args, name):
    with pytest.raises(ValueError, match=name):
        privacy.epsilon(*args)


# --------------------------------------------------------------------------- the attacks
def _sets(seed=0, n=200, dim=16):
    rng = np.random.default_rng(seed)
    members = rng.uniform(-1, 1, size=(n, dim)).astype("float32")
    nonmembers = rng.uniform(-1, 1, size=(n, dim)).astype("float32")
    return rng, members, nonmembers


def test_blackbox_attack_on_a_copying_and_on_a_noise_generator():
    rng, members, nonmembers = _sets()
    copies = members.copy()                                          # a generator that outputs its training set
    auc_copy = privacy.membership_auc(privacy.blackbox_scores(members, copies, k=1),
                                      privacy.blackbox_scores(nonmembers, copies, k=1))
    noise = rng.uniform(-1, 1, size=(2000, 16))                     # independent of the members
    auc_noise = privacy.membership_auc(privacy.blackbox_scores(members, noise, k=3),
                                       privacy.blackbox_scores(nonmembers, noise, k=3))
    assert auc_copy > 0.99
    assert abs(auc_noise - 0.5) < 0.1


def test_whitebox_attack_on_a_memorising_and_on_a_noise_discriminator():
    rng, members, nonmembers = _sets(1)

    def memorising_d(x):        # rates an image by how close it is to a training image
        return -privacy.nearest_distances(np.asarray(x), members)

    def noise_d(x):
        return rng.normal(size=len(x))

    auc_mem = privacy.membership_auc(privacy.whitebox_scores(memorising_d, members),
                                     privacy.whitebox_scores(memorising_d, nonmembers))
    auc_noise = privacy.membership_auc(privacy.whitebox_scores(noise_d, members),
                                       privacy.whitebox_scores(noise_d, nonmembers))
    assert auc_mem > 0.99
    assert abs(auc_noise - 0.5) < 0.1


def test_conditional_blackbox_compares_within_a_class():
    rng, members, nonmembers = _sets(2, n=100)
    labels = np.arange(100) % 10
    scores = privacy.blackbox_scores(members, members, 1, labels, labels)
    assert np.all(scores > -0.02)          # each member finds its own copy (up to 8-bit rounding)
    wrong = privacy.blackbox_scores(members, members, 1, labels, (labels + 1) % 10)
    assert np.all(wrong < -0.1)                                     # a copy in another class does not count
    with pytest.raises(ValueError, match="query_labels"):
        privacy.blackbox_scores(members, members, 1, labels, None)


def test_membership_auc_checks_its_inputs():
    assert privacy.membership_auc([2, 3], [0, 1]) == 1.0
    with pytest.raises(ValueError, match="nonmember_scores"):
        privacy.membership_auc([1.0], [])


# --------------------------------------------------------------------------- memorisation
def test_memorisation_summary_sees_copies_and_not_fresh_samples():
    rng, train, holdout = _sets(3, n=300, dim=8)
    copies = privacy.memorisation_summary(train[:100], train, holdout)
    assert copies["closer_to_train"] == 1.0 and copies["median_ratio"] < 0.05
    fresh = privacy.memorisation_summary(rng.uniform(-1, 1, size=(500, 8)), train, holdout)
    assert 0.4 < fresh["closer_to_train"] < 0.6 and 0.85 < fresh["median_ratio"] < 1.15
    with pytest.raises(ValueError, match="same number"):
        privacy.memorisation_summary(train, train, holdout[:10])


def test_as_8bit_rounds_to_the_pixel_grid():
    x = np.array([-1.0, -0.999, 0.0, 0.5, 1.0], np.float32)
    q = privacy.as_8bit(x)
    np.testing.assert_allclose((q + 1) * 127.5, np.round((q + 1) * 127.5), atol=1e-4)
    assert np.max(np.abs(q - x)) <= 1 / 127.5


def test_nearest_distances_k_and_index():
    refs = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    d, i = privacy.nearest_distances(np.array([[0.9, 0.0]]), refs, return_index=True)
    assert d[0] == pytest.approx(0.1) and i[0] == 1
    assert privacy.nearest_distances(np.array([[0.9, 0.0]]), refs, k=2)[0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="k=4"):
        privacy.nearest_distances(refs, refs, k=4)


# --------------------------------------------------------------------------- the exercise check
def _ref(per_example, clip_norm, noise_multiplier, expected_batch_size, rng):
    return checks._clip_and_noise_reference(per_example, clip_norm, noise_multiplier, expected_batch_size, rng)


def test_check_clip_and_noise_accepts_the_reference():
    assert "correct" in checks.check_clip_and_noise(_ref)


def _no_clip(per_example, clip_norm, sigma, b, rng):
    return [g.sum(0) / b + rng.normal(0, sigma * clip_norm, g.shape[1:]) / b for g in per_example]


def _per_variable(per_example, clip_norm, sigma, b, rng):
    out = []
    for g in per_example:
        n = len(g)
        norms = np.sqrt((g.reshape(n, -1) ** 2).sum(1))
        s = np.minimum(1, clip_norm / np.maximum(norms, 1e-12)).reshape((n,) + (1,) * (g.ndim - 1))
        out.append(((g * s).sum(0) + rng.normal(0, sigma * clip_norm, g.shape[1:])) / b)
    return out


def _actual_batch(per_example, clip_norm, sigma, b, rng):
    return [w * b / len(per_example[0]) for w in _ref(per_example, clip_norm, sigma, b, rng)]


def _sigma_only(per_example, clip_norm, sigma, b, rng):
    return _ref(per_example, clip_norm, sigma / clip_norm, b, rng)


@pytest.mark.parametrize("wrong, hint", [
    (_no_clip, "min\\(1, C"), (_per_variable, "ALL of example"), (_actual_batch, "expected_batch_size"),
    (_sigma_only, "σ·C"), (lambda *a: None, "None")])
def test_check_clip_and_noise_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(checks.ExerciseError, match=hint):
        checks.check_clip_and_noise(wrong)
