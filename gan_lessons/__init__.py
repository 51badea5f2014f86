"""gan_lessons: the helper package of the GAN Lessons course.

One concern per module (see the lesson that teaches each):
runtime, data, models, losses, training, metrics, plots, widgets,
checks, course; ``python -m gan_lessons`` is the command line.

Importing the package sets TensorFlow's log level and installs a hook that
imports TensorFlow quietly (``runtime.QuietTensorFlowImport``, lesson 00).
"""

__version__ = "0.1.0"

from . import runtime  # noqa: F401  (quiets TensorFlow before anything imports it)
