"""Where the course runs and how fast: seeding, quick mode, device detection.

Taught in lesson 00 ("Start here"). Every other lesson calls
:func:`seed_everything` in its first cells and sizes its work with
:func:`budget`, so that the test suite (``GAN_LESSONS_QUICK=1``) runs the very
same code paths with less work.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import tempfile
from pathlib import Path

# Quiet TensorFlow's C++ logger before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _read_quick(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(
        f"GAN_LESSONS_QUICK={value!r}: expected one of 1/0, true/false, yes/no, on/off"
    )


QUICK: bool = _read_quick(os.environ.get("GAN_LESSONS_QUICK"))
"""True when ``GAN_LESSONS_QUICK`` is set to 1/true/yes/on (the test suite sets it)."""


def is_quick() -> bool:
    """Whether quick mode is on *now* (re-reads the environment variable)."""
    return _read_quick(os.environ.get("GAN_LESSONS_QUICK"))


def budget(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise (lesson 00).

    Use it for every step count, sample count or epoch count, never to skip
    code: ``steps = budget(full=2000, quick=20)``.
    """
    if type(full) is not type(quick) and not (
        isinstance(full, (int, float)) and isinstance(quick, (int, float))
    ):
        raise TypeError(
            f"budget(full={full!r}, quick={quick!r}): full and quick must be of the same kind"
        )
    return quick if is_quick() else full


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy, TensorFlow and Keras; turn on op determinism (lesson 00).

    Returns the seed, so ``rng = np.random.default_rng(seed_everything(1))`` works.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # seeds python, numpy and the TF/Keras backend
    tf.random.set_seed(seed)
    if deterministic:
        try:
            tf.config.experimental.enable_op_determinism()
        except (AttributeError, RuntimeError):  # pragma: no cover - very old TF
            pass
    return seed


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def on_binder() -> bool:
    """True inside a Binder (repo2docker) session."""
    binder_vars = ("BINDER_SERVICE_HOST", "BINDER_REQUEST", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")  # set by BinderHub
    return any(v in os.environ for v in binder_vars) or (
        os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "").startswith("/binder")
    )


def where() -> str:
    """'colab', 'binder' or 'local'."""
    if on_colab():
        return "colab"
    if on_binder():
        return "binder"
    return "local"


def describe() -> dict:
    """Report versions, devices and platform, as lesson 00 prints them."""
    import keras
    import numpy as np
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cpus = tf.config.list_physical_devices("CPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": where(),
        "quick_mode": is_quick(),
        "cpu_devices": [d.name for d in cpus],
        "gpu_devices": [d.name for d in gpus],
        "cpu_count": os.cpu_count(),
        "accelerator": "GPU" if gpus else "CPU only",
    }


def cache_dir() -> str:
    """The course's cache folder (``$GAN_LESSONS_CACHE`` or ``~/.cache/gan_lessons``)."""
    path = os.environ.get("GAN_LESSONS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "gan_lessons",
    )
    os.makedirs(path, exist_ok=True)
    return path


def atomic_write(path, write) -> Path:
    """Call ``write(file_object)`` on a temp file next to ``path``, fsync, then ``os.replace`` it.

    A reader sees the old file or the new one, never half of one (lesson 05's checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
