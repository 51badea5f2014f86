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


class FolderLockedError(RuntimeError):
    """Another process holds the lock on a run folder (lesson 05's checkpoints, the CLI's train)."""


class folder_lock:
    """Hold an exclusive lock on ``folder`` (a ``.lock`` file in it) for a ``with`` block (lesson 05).

    A second process that asks for the same folder gets :class:`FolderLockedError`
    at once, naming the holder (pid, host, start time), instead of overwriting
    the first one's checkpoints. The lock goes with the process, even after kill -9
    (the file then stays, unlocked and harmless); a normal exit removes the file.
    """

    def __init__(self, folder, name: str = ".lock"):
        self.path = Path(folder) / name
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, as before
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                try:
                    holder = self.path.read_text().strip()
                except OSError:
                    holder = ""
                raise FolderLockedError(
                    f"{str(self.path.parent)!r} is in use by {holder or 'another process'}") from None
            try:  # the holder before us may have removed the file between our open and our lock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        import socket
        import time

        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.unlink(self.path)  # leave no trace; a waiting opener notices (see __enter__)
            except OSError:
                pass
            os.close(self.fd)  # closing releases the flock
            self.fd = None
        return False


def remove_stale_temp(folder, prefix: str = ".part-") -> list[str]:
    """Delete the temp files (``.part-*``) that killed writers left in ``folder``; returns their names.

    Call it only while holding the folder's :class:`folder_lock`: then no live
    writer can own them.
    """
    removed = []
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.glob(prefix + "*"):
            if p.is_file():
                try:
                    p.unlink()
                    removed.append(p.name)
                except OSError:
                    pass
    return removed
