"""Training GANs: the train step, the ``GAN`` keras.Model, callbacks, checkpoints (lessons 04 and 05)."""

from __future__ import annotations
