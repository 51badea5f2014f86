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
