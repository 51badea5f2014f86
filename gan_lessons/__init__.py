"""gan_lessons: the helper package of the GAN Lessons course.

One concern per module (see the lesson that teaches each):
runtime, data, models, losses, training, metrics, plots, widgets,
forensics, privacy, checks; ``python -m gan_lessons`` is the command line.
"""

__version__ = "0.1.0"

from . import runtime  # noqa: F401  (sets TF's log level before TF is imported)
