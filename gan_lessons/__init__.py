"""gan_lessons: the helper package of the GAN Lessons course.

One concern per module (see the lesson that teaches each):
runtime, data, models, losses, training, metrics, plots, widgets,
checks, course; ``python -m gan_lessons`` is the command line.

Importing the package sets TensorFlow's log level and installs a hook that
imports TensorFlow quietly (``runtime.QuietTensorFlowImport``, lesson 00).
"""

__version__ = "0.1.0"

import sys as _sys

try:
    from . import runtime  # noqa: F401  (quiets TensorFlow before anything imports it)
except ValueError as _err:  # a bad GAN_LESSONS_QUICK
    # `python -m gan_lessons` (argv[0] is "-m" while the package is located) or the
    # `gan-lessons` script: one line and exit code 2, like every other bad input there.
    if _sys.argv[:1] == ["-m"] or _sys.argv[0].endswith("gan-lessons"):
        print(f"error: {_err}", file=_sys.stderr)
        raise SystemExit(2) from None
    raise
