"""Where the course runs and how fast: seeding, quick mode, device detection.

Taught in lesson 00 ("Start here"). Every other lesson calls
:func:`seed_everything` in its first cells and sizes its work with
:func:`budget`, so that the test suite (``GAN_LESSONS_QUICK=1``) runs the very
same code paths with less work.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import platform
import random
import re
import sys
import tempfile
from pathlib import Path

# Quiet TensorFlow's C++ logger before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# --------------------------------------------------------------------------- a quiet TensorFlow import
# TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog()",
# "Could not find cuda drivers", "oneDNN custom operations are on", ...) are written
# straight to file descriptor 2 while ``import tensorflow`` runs, before TF_CPP_MIN_LOG_LEVEL
# applies. Python's sys.stderr never sees them, so only redirecting descriptor 2 hides them:
# in a terminal, in a JupyterLab kernel (where ipykernel forwards descriptor 2 to the
# notebook as a red stderr block), in nbval's kernels and on Colab.
TF_STARTUP_NOISE = (
    "absl::InitializeLog", "cudart_stub", "cuda_dri", "cuInit", "cuda_executor", "oneDNN custom operations",
    "cpu_feature_guard", "rebuild TensorFlow with the appropriate compiler flags", "computation_placer",
    "TF-TRT Warning", "Unable to register cu", "This TensorFlow binary is optimized",
)
"""Markers of TensorFlow's start-up log lines; :func:`quiet_stderr` drops lines holding one."""

# C++ log lines of severity I(nfo) or W(arning) in absl's format: "I0000 00:00:1795 6385 file.cc:31] ..."
_CPP_INFO = re.compile(r"^[IW]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w./-]+:\d+\] ")


def _is_startup_noise(line: str) -> bool:
    return bool(_CPP_INFO.match(line)) or any(marker in line for marker in TF_STARTUP_NOISE)


@contextlib.contextmanager
def quiet_stderr():
    """Hold back what is written to file descriptor 2 inside the block; afterwards pass on all but TF's start-up noise.

    Used around ``import tensorflow`` (lesson 00 says why the course imports it quietly).
    Lines that are not start-up noise (a real error, a Python warning) are written to
    ``sys.stderr`` when the block ends, so nothing a student needs is lost.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all (a detached process): nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()  # Python-level writes that went to descriptor 2 belong to the block
            except (AttributeError, OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = "".join(ln for ln in text.splitlines(True) if not _is_startup_noise(ln))
            if kept.strip():
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Wraps TensorFlow's own loader: runs its ``exec_module`` inside :func:`quiet_stderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader  # from here on TensorFlow sees its own loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with quiet_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """An import hook: the first ``import tensorflow`` (from gan_lessons, Keras or a lesson) runs quietly.

    Installed when ``gan_lessons`` is imported (lesson 00). ``GAN_LESSONS_TF_LOGS=1`` turns it off,
    to see TensorFlow's start-up lines when debugging an installation.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow" or fullname in sys.modules:
            return None
        if os.environ.get("GAN_LESSONS_TF_LOGS", "").strip() == "1":
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, QuietTensorFlowImport) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def install_quiet_tensorflow_import() -> None:
    """Put :class:`QuietTensorFlowImport` first on ``sys.meta_path`` (once; done on ``import gan_lessons``)."""
    if not any(type(f).__name__ == "QuietTensorFlowImport" for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())


install_quiet_tensorflow_import()

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
