"""Data for the course: image sets, 2-D toy distributions, tf.data pipelines.

Taught in lesson 00 ("Start here"); every later lesson imports it.

Images are looked up offline first, in this order:

1. an explicit ``path=`` argument,
2. the folder named by ``$GAN_LESSONS_DATA`` (or its ``<name>/`` subfolder),
3. ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package ``dataset-fashion-mnist``),
4. the Keras cache (``~/.keras/datasets/...``),
5. a download whose SHA-256 is checked before the file is used.

IDX files are parsed here with NumPy; nothing is ever unpickled.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.request
from pathlib import Path

import numpy as np

DATASETS = ("fashion_mnist", "mnist", "digits")
SPLITS = ("train", "test")
TOY_2D = ("ring", "grid", "moons", "line")

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))

DEBIAN_FASHION_DIR = "/usr/share/datasets/fashion-mnist"
DOWNLOAD_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where missing files are downloaded from (tests point it at a local folder)."""

_IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# SHA-256 of the *decompressed* Fashion-MNIST IDX files: the same whether the
# file came gzipped from Debian, from the Keras cache or from the download.
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MNIST_NPZ = "mnist.npz"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

_COUNTS = {("train",): 60000, ("test",): 10000}


class DataNotFoundError(FileNotFoundError):
    """The data set is nowhere offline and could not be downloaded."""


class CorruptDataError(ValueError):
    """A data file has the wrong checksum, magic number or size."""


# --------------------------------------------------------------------------- checks
def _check_name(name) -> str:
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name={name!r} is not a data set here; expected one of {', '.join(DATASETS)}")
    return name


def _check_split(split) -> str:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split={split!r} is not valid; expected 'train' or 'test'")
    return split


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise CorruptDataError(f"{path}: not a readable gzip file ({err})") from err
    return raw


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse an IDX file (the MNIST format) from bytes into a uint8 array (lesson 00)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise CorruptDataError(f"{source}: bad IDX magic number (expected 0x0000 0x08 ndim)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise CorruptDataError(f"{source}: IDX data type 0x{dtype_code:02x}, expected 0x08 (unsigned byte)")
    if ndim not in (1, 3):
        raise CorruptDataError(f"{source}: IDX with {ndim} dimensions, expected 1 (labels) or 3 (images)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # Python ints: a crafted header cannot overflow this
    if len(raw) - header != expected:
        raise CorruptDataError(
            f"{source}: IDX header says {shape} ({expected} bytes) but the file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder: Path, base: str) -> Path | None:
    for candidate in (folder / base, folder / (base + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def candidate_dirs(name: str, path=None) -> list[tuple[str, Path]]:
    """The folders searched for ``name``, in order, each with where it came from."""
    _check_name(name)
    out: list[tuple[str, Path]] = []
    if path is not None:
        out.append(("path argument", Path(path)))
    env = os.environ.get("GAN_LESSONS_DATA")
    if env and not Path(env).is_dir():
        raise DataNotFoundError(f"GAN_LESSONS_DATA={env!r} is not a folder; set it to the folder that holds "
                                "the data files, or unset it")
    if env:
        out.append(("$GAN_LESSONS_DATA", Path(env) / name))
        out.append(("$GAN_LESSONS_DATA", Path(env)))
    if name == "fashion_mnist":
        out.append(("Debian package dataset-fashion-mnist", Path(DEBIAN_FASHION_DIR)))
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    out.append(("Keras cache", keras_home / "datasets" / ("fashion-mnist" if name == "fashion_mnist" else "")))
    return out


def folder_status(folder, name: str = "fashion_mnist") -> str:
    """What a data folder holds, as lesson 00 prints it: ``"found (4 files verified)"`` only when it is so.

    ``"absent"`` when the folder does not exist, ``"empty"`` or ``"incomplete (missing ...)"``
    when files are missing, ``"corrupt (...)"`` when a file's SHA-256 is wrong. For
    ``"mnist"`` a verified ``mnist.npz`` counts (1 file).
    """
    _check_name(name)
    if name == "digits":
        raise ValueError("name='digits' is inside scikit-learn and has no folder; expected 'fashion_mnist' or 'mnist'")
    folder = Path(folder)
    if not folder.is_dir():
        return "absent"
    if name == "mnist":
        npz = folder / MNIST_NPZ
        if not npz.is_file():
            return f"no {MNIST_NPZ}"
        got = _sha256(npz.read_bytes())
        return "found (1 file verified)" if got == MNIST_NPZ_SHA256 else f"corrupt ({MNIST_NPZ}: wrong SHA-256)"
    found = {base: _find_idx(folder, base) for base in FASHION_SHA256}
    missing = [base for base, f in found.items() if f is None]
    if len(missing) == len(found):
        return "empty" if not any(folder.iterdir()) else "no Fashion-MNIST files"
    if missing:
        return f"incomplete (missing {', '.join(missing)})"
    for base, f in found.items():
        try:
            ok = _sha256(_read_bytes(f)) == FASHION_SHA256[base]
        except (OSError, CorruptDataError):
            ok = False
        if not ok:
            return f"corrupt ({f.name}: wrong SHA-256 or unreadable)"
    return f"found ({len(found)} files verified)"


def _missing_message(name: str, tried: list[tuple[str, Path]], why: str) -> str:
    places = "\n".join(f"  - {p} ({label})" for label, p in tried)
    if name == "fashion_mnist":
        how = (
            "  sudo apt-get install dataset-fashion-mnist      # Debian/Ubuntu, works offline\n"
            f"  or download the four files {', '.join(n + '.gz' for n in FASHION_SHA256)}\n"
            f"  from {DOWNLOAD_BASE} into a folder and set GAN_LESSONS_DATA to it."
        )
    else:
        how = (
            f"  download {DOWNLOAD_BASE}{MNIST_NPZ} (SHA-256 {MNIST_NPZ_SHA256[:16]}...)\n"
            "  into ~/.keras/datasets/ or a folder named by GAN_LESSONS_DATA,\n"
            "  or use name='digits' (scikit-learn's digits, always offline)."
        )
    return f"{name} not found offline and {why}. Looked in:\n{places}\nTo get it:\n{how}"


def _download(url: str, dest: Path, sha256: str, decompressed: bool) -> Path:
    """Download ``url`` to ``dest`` atomically, after checking its SHA-256.

    Nothing is created on disk, not even ``dest``'s folder, unless the download succeeded
    and its checksum is right: an empty Keras cache folder left by a failed download would
    look like data that is there.
    """
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed https/file URL
        payload = response.read()
    try:
        check = gzip.decompress(payload) if decompressed else payload
    except (OSError, EOFError) as err:  # not gzip at all (a proxy's error page) or cut short
        raise CorruptDataError(f"download of {url} is not a readable gzip file ({err}); nothing was saved") from err
    got = _sha256(check)
    if got != sha256:
        raise CorruptDataError(f"download of {url} has SHA-256 {got}, expected {sha256}; nothing was saved")
    from .runtime import atomic_write

    atomic_write(dest, lambda fh: fh.write(payload))
    return dest


# --------------------------------------------------------------------------- loaders
_CACHE: dict = {}


def _load_fashion(split: str, path, download: bool):
    tried = candidate_dirs("fashion_mnist", path)
    img_base, lab_base = _IDX_NAMES[(split, "images")], _IDX_NAMES[(split, "labels")]
    for _, folder in tried:
        img, lab = _find_idx(folder, img_base), _find_idx(folder, lab_base)
        if img and lab:
            return _read_pair(img, lab, img_base, lab_base, checksum=True)
    if not download:
        raise DataNotFoundError(_missing_message("fashion_mnist", tried, "download=False"))
    dest = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / "fashion-mnist"
    files = []
    for base in (img_base, lab_base):
        try:
            files.append(_download(DOWNLOAD_BASE + base + ".gz", dest / (base + ".gz"), FASHION_SHA256[base], True))
        except OSError as err:  # URLError is an OSError
            raise DataNotFoundError(_missing_message("fashion_mnist", tried, f"the download failed ({err})")) from err
    return _read_pair(files[0], files[1], img_base, lab_base, checksum=True)


def _read_pair(img: Path, lab: Path, img_base: str, lab_base: str, checksum: bool):
    key = (str(img.resolve()), str(lab.resolve()), img.stat().st_mtime, lab.stat().st_mtime)
    if key in _CACHE:
        return _CACHE[key]
    arrays = []
    for path, base in ((img, img_base), (lab, lab_base)):
        raw = _read_bytes(path)
        if checksum and base in FASHION_SHA256 and _sha256(raw) != FASHION_SHA256[base]:
            raise CorruptDataError(
                f"{path}: SHA-256 {_sha256(raw)[:16]}... does not match Fashion-MNIST's "
                f"{FASHION_SHA256[base][:16]}...; the file is corrupted or another data set. "
                "Delete it and install it again."
            )
        arrays.append(parse_idx(raw, str(path)))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise CorruptDataError(f"{img} and {lab}: {images.shape} images against {labels.shape} labels")
    _check_contents(images, labels, str(img), str(lab))
    _CACHE[key] = (images, labels)
    return images, labels


IMAGE_SIZE = (28, 28)
N_CLASSES = 10


def _check_contents(images, labels, img_source: str, lab_source: str) -> None:
    """28x28 images and labels 0-9, or a CorruptDataError naming the file."""
    if tuple(images.shape[1:3]) != IMAGE_SIZE:
        raise CorruptDataError(f"{img_source}: images are {images.shape[1]}x{images.shape[2]}, expected "
                               f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} (Fashion-MNIST/MNIST); the file is another data set")
    if len(labels) and int(labels.max()) >= N_CLASSES:
        raise CorruptDataError(f"{lab_source}: label {int(labels.max())} is out of range; expected 0-{N_CLASSES - 1}")


def _load_mnist(split: str, path, download: bool):
    tried = candidate_dirs("mnist", path)
    img_base, lab_base = _IDX_NAMES[(split, "images")], _IDX_NAMES[(split, "labels")]
    for _, folder in tried:
        npz = folder / MNIST_NPZ
        if npz.is_file():
            return _read_npz(npz, split)
        img, lab = _find_idx(folder, img_base), _find_idx(folder, lab_base)
        if img and lab and not _looks_like_fashion(img):
            return _read_pair(img, lab, img_base, lab_base, checksum=False)
    if not download:
        raise DataNotFoundError(_missing_message("mnist", tried, "download=False"))
    dest = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / MNIST_NPZ
    try:
        _download(DOWNLOAD_BASE + MNIST_NPZ, dest, MNIST_NPZ_SHA256, False)
    except OSError as err:
        raise DataNotFoundError(_missing_message("mnist", tried, f"the download failed ({err})")) from err
    return _read_npz(dest, split)


def _looks_like_fashion(img: Path) -> bool:
    """True when an IDX file is one of Fashion-MNIST's (same file names as MNIST's): judged by content."""
    if str(img.parent.resolve()) == str(Path(DEBIAN_FASHION_DIR).resolve()):
        return True
    try:
        return _sha256(_read_bytes(img)) in FASHION_SHA256.values()
    except CorruptDataError:
        return False


def _read_npz(npz: Path, split: str):
    raw = npz.read_bytes()
    if _sha256(raw) != MNIST_NPZ_SHA256:
        raise CorruptDataError(
            f"{npz}: SHA-256 {_sha256(raw)[:16]}... does not match mnist.npz's {MNIST_NPZ_SHA256[:16]}...; "
            "delete it and download it again"
        )
    with np.load(npz, allow_pickle=False) as f:
        images, labels = f[f"x_{split}"], f[f"y_{split}"]
    _check_contents(images, labels, str(npz), str(npz))
    return images, labels


def _require_files_in(folder: Path, name: str, split: str) -> None:
    """An explicit ``path=`` must hold the files: it is never silently passed over."""
    img_base, lab_base = _IDX_NAMES[(split, "images")], _IDX_NAMES[(split, "labels")]
    if _find_idx(folder, img_base) and _find_idx(folder, lab_base):
        return
    if name == "mnist" and (folder / MNIST_NPZ).is_file():
        return
    wanted = f"{img_base}[.gz] and {lab_base}[.gz]" + (f", or {MNIST_NPZ}" if name == "mnist" else "")
    raise DataNotFoundError(f"path={str(folder)!r} does not hold {name}'s {split} files: expected {wanted}")


def _load_digits(split: str):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images * (255.0 / 16.0)).round().astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    cut = int(round(0.8 * len(images)))  # deterministic 80/20 split, in the file's order
    return (images[:cut], labels[:cut]) if split == "train" else (images[cut:], labels[cut:])


def load_images(name: str = "fashion_mnist", split: str = "train", path=None, download: bool = True,
                limit: int | None = None):
    """Load an image data set as float32 in [-1, 1], shape (N, H, W, 1), with int labels (lesson 00).

    ``name`` is ``"fashion_mnist"``, ``"mnist"`` or ``"digits"`` (scikit-learn's 8x8
    digits, always offline). ``path`` is a folder holding the IDX files (``.gz`` or not)
    or ``mnist.npz``. ``limit`` keeps the first ``limit`` images.
    """
    _check_name(name)
    _check_split(split)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit={limit!r}: expected a positive int or None")
    if path is not None and not Path(path).is_dir():
        raise ValueError(f"path={str(path)!r} is not a folder; expected the folder that holds the IDX files")
    if path is not None and name != "digits":
        _require_files_in(Path(path), name, split)
    if name == "fashion_mnist":
        images, labels = _load_fashion(split, path, download)
    elif name == "mnist":
        images, labels = _load_mnist(split, path, download)
    else:
        images, labels = _load_digits(split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = images.astype(np.float32)[..., None] / 127.5 - 1.0
    return x, labels.astype(np.int64)


def class_names(name: str = "fashion_mnist") -> tuple[str, ...]:
    """The ten class names of a data set."""
    _check_name(name)
    return FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES


def to_uint8(images) -> np.ndarray:
    """Map images in [-1, 1] back to uint8 pixels."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- tf.data
def make_dataset(images, batch_size: int = 64, labels=None, shuffle: bool = True, seed: int = 0,
                 cache: bool = True, drop_remainder: bool = True, repeat: bool = False):
    """A tf.data pipeline: (cache) -> shuffle -> (repeat) -> batch -> prefetch (lesson 04)."""
    import tensorflow as tf

    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images has shape {images.shape}; expected (N, H, W, C)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive int")
    if batch_size > len(images) and drop_remainder:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(images)} images (drop_remainder=True)")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images")
    data = (images.astype(np.float32),) if labels is None else (images.astype(np.float32), np.asarray(labels))
    ds = tf.data.Dataset.from_tensor_slices(data[0] if labels is None else data)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- toy 2-D
def toy_modes(name: str) -> np.ndarray:
    """The centres of a toy distribution's modes (for mode counting); the line has none."""
    if name == "ring":
        angles = np.arange(8) * 2 * np.pi / 8
        return np.stack([2.0 * np.cos(angles), 2.0 * np.sin(angles)], axis=1).astype(np.float32)
    if name == "grid":
        g = np.arange(-2, 3, dtype=np.float32) * 1.0
        return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    if name in ("moons", "line"):
        return np.zeros((0, 2), np.float32)
    raise ValueError(f"name={name!r} is not a toy distribution; expected one of {', '.join(TOY_2D)}")


TOY_STD = {"ring": 0.05, "grid": 0.05, "moons": 0.05, "line": 0.02}


def toy_2d(name: str = "ring", n: int = 1000, seed: int = 0) -> np.ndarray:
    """Samples of a 2-D toy distribution, float32 of shape (n, 2) (lessons 01, 02, 07).

    ``ring``: 8 Gaussians on a circle of radius 2; ``grid``: 5x5 Gaussians one unit
    apart; ``moons``: two interleaved half circles; ``line``: a segment from (-2, -1)
    to (2, 1).
    """
    if name not in TOY_2D:
        raise ValueError(f"name={name!r} is not a toy distribution; expected one of {', '.join(TOY_2D)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n={n!r}: expected a positive int")
    rng = np.random.default_rng(seed)
    std = TOY_STD[name]
    if name in ("ring", "grid"):
        centres = toy_modes(name)
        pick = rng.integers(0, len(centres), size=n)
        out = centres[pick] + rng.normal(0.0, std, size=(n, 2))
    elif name == "moons":
        t = rng.uniform(0, np.pi, size=n)
        upper = rng.random(n) < 0.5
        x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
        out = np.stack([x - 0.5, y - 0.25], axis=1) * 1.5 + rng.normal(0.0, std, size=(n, 2))
    else:
        t = rng.uniform(-1, 1, size=n)
        out = np.stack([2.0 * t, 1.0 * t], axis=1) + rng.normal(0.0, std, size=(n, 2))
    return out.astype(np.float32)
