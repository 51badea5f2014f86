"""Exercise checkers: each one tests a student's answer and, when it is wrong,
says what to look at rather than only "assertion failed".

The pattern (lesson 01 shows it first): an exercise cell between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, then a cell that calls a
``check_*`` function from here. A checker raises :class:`ExerciseError` (an
``AssertionError``) carrying a hint, and prints a short confirmation on success.
"""

from __future__ import annotations

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer is wrong; the message is a hint."""


def _fail(exercise: str, what: str, hint: str):
    raise ExerciseError(f"{exercise}: {what}\nHint: {hint}")


def passed(exercise: str, detail: str = "") -> str:
    """Print and return the success line of a check."""
    line = f"✓ {exercise}: correct" + (f" ({detail})" if detail else "")
    print(line)
    return line


def expect_close(exercise: str, got, expected, hint: str, rtol: float = 1e-4, atol: float = 1e-6,
                 what: str = "value") -> None:
    """Fail with ``hint`` unless ``got`` is close to ``expected`` (shapes must match)."""
    if got is None:
        _fail(exercise, f"the {what} is None", "the cell still returns None: replace the placeholder with your code")
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        _fail(exercise, f"the {what} has shape {g.shape}, expected {e.shape}", hint)
    if not np.all(np.isfinite(g)):
        _fail(exercise, f"the {what} holds NaN or inf", "look for a log of 0 or a division by 0; " + hint)
    if not np.allclose(g, e, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(g - e)))
        _fail(exercise, f"the {what} is off by up to {worst:.3g}", hint)


def expect(exercise: str, condition: bool, what: str, hint: str) -> None:
    """Fail with ``hint`` unless ``condition`` holds."""
    if not condition:
        _fail(exercise, what, hint)


# --------------------------------------------------------------------------- lesson 01
def _jsd_reference(p, q, x):
    """Jensen-Shannon divergence in nats of two densities on a grid (the checker's reference)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl_to_m(a):
        safe = np.where(a > 0, a, 1.0)
        return np.where(a > 0, a * np.log(safe / np.where(m > 0, m, 1.0)), 0.0)

    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return float(0.5 * trapezoid(kl_to_m(p), x) + 0.5 * trapezoid(kl_to_m(q), x))


def _jsd_cases():
    x = np.linspace(-10.0, 10.0, 4001)

    def normal(mean, std):
        return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))

    return x, [
        ("two identical densities", normal(0.0, 1.0), normal(0.0, 1.0)),
        ("N(0, 1) against N(1.5, 1)", normal(0.0, 1.0), normal(1.5, 1.0)),
        ("N(0, 1) against N(1, 2)", normal(0.0, 1.0), normal(1.0, 2.0)),
        ("two densities that never overlap (they hold exact zeros)", normal(-5.0, 0.2), normal(5.0, 0.2)),
    ]


def check_jsd(js_divergence) -> str:
    """Check a student's ``js_divergence(p, q, x)`` (lesson 01's exercise), with hints.

    ``p`` and ``q`` are densities sampled on the grid ``x``; the answer is a float
    in nats: JSD = ½·KL(p ‖ m) + ½·KL(q ‖ m) with m = (p + q) / 2.
    """
    exercise = "js_divergence"
    if not callable(js_divergence):
        raise TypeError(f"check_jsd expects your function js_divergence, got {js_divergence!r}")
    x, cases = _jsd_cases()

    def halves(p, q, x):  # KL(p ‖ m) and KL(q ‖ m), for the "one term only" hint
        m = 0.5 * (p + q)
        trapezoid = getattr(np, "trapezoid", None) or np.trapz
        return tuple(float(trapezoid(np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / np.where(m > 0, m, 1.0)),
                                              0.0), x)) for a in (p, q))

    recipe = ("JSD(p ‖ q) = ½·KL(p ‖ m) + ½·KL(q ‖ m) with m = (p + q)/2 and KL(a ‖ m) = ∫ a·log(a/m) dx; "
              "integrate over x with np.trapezoid(..., x) (or a sum times dx)")
    for what, p, q in cases:
        with np.errstate(all="ignore"):
            got = js_divergence(p.copy(), q.copy(), x.copy())
        expected = _jsd_reference(p, q, x)
        if got is None:
            _fail(exercise, "your function returned None",
                  "replace the placeholder and return the divergence as a number")
        try:
            value = float(np.asarray(got, dtype=np.float64))
        except (TypeError, ValueError):
            _fail(exercise, f"for {what} it returned {type(got).__name__} with shape {np.shape(got)}, not one number",
                  "integrate over x, so that the answer is a single float; " + recipe)
        if not np.isfinite(value):
            _fail(exercise, f"for {what} it returned {value}",
                  "where a density is 0 the term 0·log(0/m) must count as 0: use np.where(a > 0, ..., 0.0)"
                  if "never overlap" in what else "look for a log of 0 or a division by 0; " + recipe)
        if abs(value - expected) <= 1e-3 * abs(expected) + 1e-4:
            continue
        if expected > 1e-3 and abs(value - 2 * expected) <= 1e-3 * expected + 1e-4:
            hint = "your answer is twice the divergence: each KL term carries a weight of ½"
        elif expected > 1e-3 and abs(value - expected / np.log(2.0)) <= 1e-3 * expected + 1e-4:
            hint = "your answer is in bits: the lesson measures in nats, so use np.log, not np.log2"
        elif any(abs(value - c * k) <= 1e-3 * max(k, 1e-9) + 1e-4 for c in (0.5, 1.0) for k in halves(p, q, x)):
            hint = "your answer uses only one of the two KL terms: JSD needs both, ½·KL(p ‖ m) + ½·KL(q ‖ m)"
        elif value < -1e-6:
            hint = "a divergence is never negative: check the order inside the log, a·log(a/m), not a·log(m/a)"
        elif value > np.log(2.0) + 1e-3:
            hint = ("JSD never exceeds log 2 ≈ 0.693: compare each density with the mixture m = (p + q)/2, "
                    "not with the other density")
        else:
            hint = recipe
        _fail(exercise, f"for {what} you got {value:.6f}, expected {expected:.6f}", hint)
    p, q = cases[1][1], cases[1][2]
    with np.errstate(all="ignore"):
        forward, backward = float(js_divergence(p, q, x)), float(js_divergence(q, p, x))
    expect(exercise, abs(forward - backward) <= 1e-6 + 1e-6 * abs(forward),
           f"JSD(p ‖ q) = {forward:.6f} but JSD(q ‖ p) = {backward:.6f}",
           "the JSD is symmetric: both densities enter the same way, each compared with m")
    return passed(exercise, f"JSD(N(0,1) ‖ N(1.5,1)) = {_jsd_reference(p, q, x):.4f} nats")
