"""Metrics of lesson 06 on inputs whose answers are known: FID, KID, precision/recall, mode coverage."""

import numpy as np
import pytest

from gan_lessons import data, metrics


def test_fid_of_identical_sets_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    assert metrics.fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_two_gaussians_matches_closed_form():
    # N(mu1, diag(s1²)) and N(mu2, diag(s2²)): ||mu1 - mu2||² + Σ (s1 - s2)²
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    got = metrics.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    assert got == pytest.approx(closed, rel=1e-9)
    # and estimated from samples, it converges to the same value
    rng = np.random.default_rng(1)
    a = mu1 + s1 * rng.normal(size=(200_000, 3))
    b = mu2 + s2 * rng.normal(size=(200_000, 3))
    assert metrics.fid_from_features(a, b) == pytest.approx(closed, rel=0.02)


def test_frechet_distance_with_a_rotated_covariance():
    # 1-D check of the matrix square root with non-commuting 2x2 covariances: FD is rotation invariant
    theta = 0.7
    r = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    s1 = np.diag([4.0, 1.0])
    s2 = r @ np.diag([4.0, 1.0]) @ r.T
    zero = np.zeros(2)
    assert metrics.frechet_distance(zero, s1, zero, s1) == pytest.approx(0.0, abs=1e-9)
    assert metrics.frechet_distance(zero, s1, zero, s2) > 0.1
    assert metrics.frechet_distance(zero, s1, zero, s2) == pytest.approx(
        metrics.frechet_distance(zero, r @ s1 @ r.T, zero, r @ s2 @ r.T), rel=1e-6)


def test_fid_small_sample_bias_shrinks_with_n():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4000, 16)), rng.normal(size=(4000, 16))
    by_n = metrics.fid_by_sample_size(a, b, [100, 400, 4000])
    assert by_n[100] > by_n[400] > by_n[4000] > 0
    with pytest.raises(ValueError, match="sample size"):
        metrics.fid_by_sample_size(a, b, [5000])


def _mmd2_loop(a, b):
    k = lambda x, y: (x @ y / len(x) + 1.0) ** 3  # noqa: E731
    m, n = len(a), len(b)
    aa = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    bb = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    ab = sum(k(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    return aa + bb - 2 * ab


def test_mmd2_unbiased_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, 4)), rng.normal(0.5, 1.0, size=(9, 4))
    assert metrics.mmd2_unbiased(a, b) == pytest.approx(_mmd2_loop(a, b), rel=1e-10)


def test_kid_is_unbiased_where_the_biased_estimate_is_not():
    rng = np.random.default_rng(4)
    unbiased, biased = [], []
    for _ in range(300):
        a, b = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
        unbiased.append(metrics.mmd2_unbiased(a, b))
        kaa, kbb = metrics.polynomial_kernel(a, a), metrics.polynomial_kernel(b, b)
        biased.append(kaa.mean() + kbb.mean() - 2 * metrics.polynomial_kernel(a, b).mean())
    unbiased, biased = np.array(unbiased), np.array(biased)
    se = unbiased.std() / np.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * se          # centred on the true value 0
    assert (unbiased < 0).any()                   # so some estimates are negative
    assert biased.mean() > 10 * se and (biased > 0).all()  # the V-statistic is always positive


def test_kid_separates_distributions():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(600, 6))
    same = metrics.kid_from_features(a, rng.normal(size=(600, 6)), n_subsets=10, subset_size=300)
    shifted = metrics.kid_from_features(a, rng.normal(0.5, 1.0, size=(600, 6)), n_subsets=10, subset_size=300)
    assert abs(same[0]) < 3 * same[1] + 1e-3
    assert shifted[0] > 10 * abs(same[0]) and shifted[0] > 3 * shifted[1]


def test_knn_radii_by_hand():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(metrics.knn_radii(x, k=1), [1, 1, 2, 3])
    np.testing.assert_allclose(metrics.knn_radii(x, k=2), [3, 2, 3, 5])
    with pytest.raises(ValueError, match="k=4"):
        metrics.knn_radii(x, k=4)


def test_precision_recall_on_constructed_point_clouds():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(2000, 2))
    pr = metrics.precision_recall_from_features(real, real, k=3)
    assert pr == {"precision": 1.0, "recall": 1.0}
    # a fake set that sits on one half of the data: realistic, but covers about half of it
    half = rng.normal(size=(4000, 2))
    half = half[half[:, 0] > 0][:1000]
    pr = metrics.precision_recall_from_features(real, half, k=3)
    assert pr["precision"] > 0.95
    assert 0.4 < pr["recall"] < 0.65
    # a fake set far away: neither realistic nor covering
    pr = metrics.precision_recall_from_features(real, real + 100.0, k=3)
    assert pr == {"precision": 0.0, "recall": 0.0}
    # a fake set spread 3x wider: covers the data (high recall), mostly unrealistic (low precision)
    pr = metrics.precision_recall_from_features(real, 3.0 * rng.normal(size=(2000, 2)), k=3)
    assert pr["recall"] > 0.8 and pr["precision"] < 0.7


def test_mode_coverage_from_classes_by_hand():
    uniform = metrics.mode_coverage_from_classes(np.repeat(np.arange(10), 10))
    assert uniform["modes"] == 10
    assert uniform["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["entropy"] == pytest.approx(np.log(10))
    one = metrics.mode_coverage_from_classes(np.full(50, 3))
    assert one["modes"] == 1 and one["kl_to_uniform"] == pytest.approx(np.log(10))
    # 2% of the samples in class 9 is below the default threshold of 2.5%
    c = np.array([0] * 49 + [1] * 49 + [9] * 2)
    assert metrics.mode_coverage_from_classes(c)["modes"] == 2
    assert metrics.mode_coverage_from_classes(c, min_share=0.01)["modes"] == 3
    with pytest.raises(ValueError, match="classes"):
        metrics.mode_coverage_from_classes(np.array([0, 10]))


def test_toy_mode_coverage_counts_ring_modes():
    ring = data.toy_2d("ring", 4000, seed=0)
    full = metrics.toy_mode_coverage(ring, "ring")
    assert full["modes"] == 8 and full["high_quality"] > 0.98
    centres = data.toy_modes("ring")
    collapsed = centres[[0, 0, 0, 3]][np.arange(1000) % 4] + 0.02 * np.random.default_rng(0).normal(size=(1000, 2))
    cov = metrics.toy_mode_coverage(collapsed, "ring")
    assert cov["modes"] == 2 and cov["counts"][0] == 750
    spread = np.random.default_rng(1).uniform(-3, 3, size=(1000, 2))
    assert metrics.toy_mode_coverage(spread, "ring")["high_quality"] < 0.1


def test_metric_arguments_are_checked():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="feat_b"):
        metrics.mmd2_unbiased(a, np.zeros(3))
    with pytest.raises(ValueError, match="n_subsets"):
        metrics.kid_from_features(a, a, n_subsets=0)
    with pytest.raises(ValueError, match="min_share"):
        metrics.mode_coverage_from_classes(np.array([1]), min_share=2.0)


def test_image_metrics_rank_real_above_noise():
    real, _ = data.load_images("fashion_mnist", "test", limit=1200)
    noise = np.random.default_rng(0).uniform(-1, 1, size=(600, 28, 28, 1)).astype(np.float32)
    good = metrics.precision_recall(real[:600], real[600:])
    bad = metrics.precision_recall(real[:600], noise)
    assert good["precision"] > 0.7 and good["recall"] > 0.7
    assert bad["recall"] < 0.05
    k_good = metrics.kid(real[:600], real[600:], n_subsets=5, subset_size=300)[0]
    k_bad = metrics.kid(real[:600], noise, n_subsets=5, subset_size=300)[0]
    assert k_bad > 100 * abs(k_good)
    assert metrics.mode_coverage(real)["modes"] == 10
    assert metrics.mode_coverage(noise)["modes"] <= 3


def test_check_mmd2_unbiased_accepts_a_correct_answer_and_hints_at_the_biased_one():
    from gan_lessons import checks

    assert "correct" in checks.check_mmd2_unbiased(metrics.mmd2_unbiased)

    def biased(a, b):
        k = metrics.polynomial_kernel
        return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()

    with pytest.raises(checks.ExerciseError, match="diagonal"):
        checks.check_mmd2_unbiased(biased)

    def linear(a, b):
        d = a.shape[1]
        kaa, kbb, kab = a @ a.T / d + 1, b @ b.T / d + 1, a @ b.T / d + 1
        m, n = len(a), len(b)
        return ((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                - 2 * kab.mean())

    with pytest.raises(checks.ExerciseError, match="cubic"):
        checks.check_mmd2_unbiased(linear)
    with pytest.raises(checks.ExerciseError, match="None"):
        checks.check_mmd2_unbiased(lambda a, b: None)


def test_inception_score_formula_on_known_logits():
    big = 50.0
    confident_balanced = np.eye(4)[np.arange(40) % 4] * big
    assert metrics.inception_score_from_logits(confident_balanced) == pytest.approx(4.0, rel=1e-6)
    confident_one_class = np.eye(4)[np.zeros(40, int)] * big
    assert metrics.inception_score_from_logits(confident_one_class) == pytest.approx(1.0, rel=1e-6)
    unsure = np.zeros((40, 4))
    assert metrics.inception_score_from_logits(unsure) == pytest.approx(1.0, rel=1e-9)
    two = np.eye(4)[np.arange(40) % 2] * big
    assert metrics.inception_score_from_logits(two) == pytest.approx(2.0, rel=1e-6)
