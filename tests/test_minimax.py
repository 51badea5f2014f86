"""Lesson 01's helpers: widgets.minimax_on_grid / minimax_explorer and checks.check_jsd."""

import sys

import numpy as np
import pytest

from gan_lessons import checks, widgets

X = np.linspace(-12, 12, 4801)


def normal(mean, std):
    return np.exp(-0.5 * ((X - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


# --------------------------------------------------------------------------- minimax_on_grid
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (1.0, 1.0), (2.0, 0.5), (0.0, 2.0), (6.0, 1.0)])
def test_value_is_minus_log4_plus_two_jsd(mean, std):
    p, q = normal(0, 1), normal(mean, std)
    r = widgets.minimax_on_grid(X, p, q)
    assert np.allclose(r["d_star"], p / (p + q))
    assert abs(r["value"] - (-np.log(4) + 2 * r["jsd"])) < 1e-6
    assert -1e-12 <= r["jsd"] <= np.log(2) + 1e-9


def test_extremes():
    same = widgets.minimax_on_grid(X, normal(0, 1), normal(0, 1))
    assert abs(same["value"] + np.log(4)) < 1e-9 and abs(same["jsd"]) < 1e-12
    assert np.allclose(same["d_star"], 0.5)
    # disjoint boxes: D* is 1 on one and 0 on the other, JSD = log 2, V = 0
    p = np.where((X > -3) & (X < -1), 0.5, 0.0)
    q = np.where((X > 1) & (X < 3), 0.5, 0.0)
    apart = widgets.minimax_on_grid(X, p, q)
    assert abs(apart["jsd"] - np.log(2)) < 1e-2 and abs(apart["value"]) < 2e-2
    assert np.all(apart["d_star"][p > 0] == 1.0) and np.all(apart["d_star"][q > 0] == 0.0)


def test_d_star_beats_other_discriminators():
    p, q = normal(0, 1), normal(1.5, 0.7)
    best = widgets.minimax_on_grid(X, p, q)["value"]
    rng = np.random.default_rng(0)
    for _ in range(20):
        D = 1 / (1 + np.exp(-(rng.normal() * X + rng.normal())))
        D = np.clip(D, 1e-12, 1 - 1e-12)
        v = np.trapezoid(p * np.log(D) + q * np.log(1 - D), X)
        assert v < best


@pytest.mark.parametrize("x, p, q, message", [
    (X[::-1], normal(0, 1), normal(0, 1), "increasing"),
    (X, normal(0, 1)[:-1], normal(0, 1), "p_data has shape"),
    (X, normal(0, 1), -normal(0, 1), "p_g must be finite and non-negative"),
    (X, normal(0, 1) * np.nan, normal(0, 1), "p_data must be finite"),
])
def test_minimax_on_grid_bad_input(x, p, q, message):
    with pytest.raises(ValueError, match=message):
        widgets.minimax_on_grid(x, p, q)


# --------------------------------------------------------------------------- minimax_explorer
def test_static_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = widgets.minimax_explorer(means=(3.0, 1.0, 0.0), static=True)
    assert isinstance(fig, matplotlib.figure.Figure)
    # three density panels, each with a twin axis for D*, and the V/JSD curve
    assert len(fig.axes) == 3 * 2 + 1
    titles = [ax.get_title() for ax in fig.axes]
    assert any("N(0.00" in t and "V(D*,G) = -1.386" in t for t in titles)
    plt.close(fig)


def test_widget_moves_value_and_jsd_together():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    box = widgets.minimax_explorer(g_mean=2.0)
    assert box.slider.value == 2.0
    far = box.readout.value
    box.slider.value = 0.0
    near = box.readout.value
    assert far != near and "-1.3863" in near and "JSD</b> = 0.0000" in near

    def numbers(html):
        import re

        return [float(v) for v in re.findall(r"= (-?\d+\.\d+)", html)]

    v, j, rhs = numbers(far)
    assert abs(v - rhs) < 1e-3 and j > 0.3


def test_without_ipywidgets_it_falls_back_to_a_figure(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    out = widgets.minimax_explorer(means=(1.0,))
    assert isinstance(out, matplotlib.figure.Figure)


@pytest.mark.parametrize("kwargs, message", [
    (dict(data_std=0), "data_std=0"),
    (dict(g_std=-1.0), "g_std=-1.0"),
    (dict(g_mean=float("nan")), "g_mean=nan"),
    (dict(g_mean="1"), "g_mean='1'"),
    (dict(n_grid=10), "n_grid=10"),
    (dict(x_range=(3, -3)), "x_range"),
    (dict(means=()), "means is empty"),
])
def test_explorer_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.minimax_explorer(static=True, **kwargs)


# --------------------------------------------------------------------------- check_jsd, both ways
def good(p, q, x):
    m = (p + q) / 2

    def kl(a):
        return np.trapezoid(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / np.where(m > 0, m, 1)), 0), x)

    return 0.5 * kl(p) + 0.5 * kl(q)


def riemann(p, q, x):  # a sum times dx instead of the trapezoid rule is fine too
    return float(
        np.sum(0.5 * np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / ((p + q) / 2)), 0)
               + 0.5 * np.where(q > 0, q * np.log(np.where(q > 0, q, 1) / ((p + q) / 2)), 0)) * (x[1] - x[0]))


@pytest.mark.parametrize("answer", [good, riemann])
def test_check_jsd_accepts_correct_answers(answer, capsys):
    line = checks.check_jsd(answer)
    assert line.startswith("✓ js_divergence: correct") and "✓" in capsys.readouterr().out


def _one_term(p, q, x):
    return np.trapezoid(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / ((p + q) / 2)), 0), x)


def _naive(p, q, x):
    m = (p + q) / 2
    return 0.5 * np.trapezoid(p * np.log(p / m), x) + 0.5 * np.trapezoid(q * np.log(q / m), x)


def _kl_pq(p, q, x):
    return np.trapezoid(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / np.maximum(q, 1e-300)), 0), x)


@pytest.mark.parametrize("answer, hint", [
    (lambda p, q, x: None, "return the divergence"),
    (lambda p, q, x: 2 * good(p, q, x), "twice the divergence"),
    (lambda p, q, x: good(p, q, x) / np.log(2), "np.log, not np.log2"),
    (lambda p, q, x: -good(p, q, x), "never negative"),
    (_one_term, "only one of the two KL terms"),
    (_naive, "0·log(0/m) must count as 0"),
    (_kl_pq, "never exceeds log 2"),
    (lambda p, q, x: p * 0.0, "not one number"),
    (lambda p, q, x: good(p, q, x) + (1e-4 if p[len(p) // 2] > q[len(q) // 2] else 0.0), "symmetric"),
    (lambda p, q, x: good(p, q, x) + 0.05, "½·KL(p ‖ m) + ½·KL(q ‖ m)"),
])
def test_check_jsd_rejects_wrong_answers_with_a_hint(answer, hint):
    with pytest.raises(checks.ExerciseError) as err:
        checks.check_jsd(answer)
    assert "Hint:" in str(err.value) and hint in str(err.value)
    assert isinstance(err.value, AssertionError)


def test_check_jsd_needs_a_function():
    with pytest.raises(TypeError, match="js_divergence"):
        checks.check_jsd(0.5)
