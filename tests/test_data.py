"""gan_lessons.data: loading, the offline lookup order, checksums, bad inputs, tf.data, toy sets.

Every test works in temporary folders: the real Debian folder and Keras cache are
replaced by empty ones (see the ``isolated`` fixture), so the results do not depend
on what is installed here.
"""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from gan_lessons import data

BASES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


# --------------------------------------------------------------------------- helpers
def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def fake_split(n: int, seed: int):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_split(folder: Path, split: str, images, labels, gz: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for base, arr in zip(BASES[split], (images, labels)):
        raw = idx_bytes(arr)
        path = folder / (base + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(raw) if gz else raw)
        out.append(path)
    return out


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real data folder is visible: empty Debian dir, empty Keras home, no $GAN_LESSONS_DATA."""
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", str(tmp_path / "debian-empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("GAN_LESSONS_DATA", raising=False)
    monkeypatch.setattr(data, "DOWNLOAD_BASE", (tmp_path / "no-server").as_uri() + "/")
    data._CACHE.clear()
    yield
    data._CACHE.clear()


@pytest.fixture
def fake_fashion(monkeypatch):
    """Small fake Fashion-MNIST splits whose SHA-256 sums replace the real ones."""
    sets = {"train": fake_split(30, 1), "test": fake_split(20, 2)}
    sums = dict(data.FASHION_SHA256)
    for split, (images, labels) in sets.items():
        for base, arr in zip(BASES[split], (images, labels)):
            sums[base] = hashlib.sha256(idx_bytes(arr)).hexdigest()
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    return sets


@pytest.fixture
def reads(monkeypatch):
    """Record which image file each load reads."""
    seen = []
    original = data._read_pair

    def spy(img, lab, *args, **kwargs):
        seen.append(Path(img))
        return original(img, lab, *args, **kwargs)

    monkeypatch.setattr(data, "_read_pair", spy)
    return seen


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("name", ["cifar10", "Fashion_MNIST", "", None, 3])
def test_unknown_name_lists_the_valid_ones(name):
    with pytest.raises(ValueError) as err:
        data.load_images(name)
    msg = str(err.value)
    assert repr(name) in msg
    for valid in data.DATASETS:
        assert valid in msg


@pytest.mark.parametrize("split", ["validation", "Train", "", None, 0])
def test_bad_split(split):
    with pytest.raises(ValueError) as err:
        data.load_images("digits", split)
    assert repr(split) in str(err.value) and "'train' or 'test'" in str(err.value)


@pytest.mark.parametrize("limit", [0, -3, 2.5, True, "10"])
def test_bad_limit(limit):
    with pytest.raises(ValueError, match="limit"):
        data.load_images("digits", limit=limit)


def test_path_must_be_a_folder(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        data.load_images("fashion_mnist", path=tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        data.load_images("fashion_mnist", path=tmp_path / "file.txt")


def test_class_names():
    assert data.class_names("fashion_mnist")[0] == "T-shirt/top" and len(data.class_names("fashion_mnist")) == 10
    assert data.class_names("digits") == tuple("0123456789")
    with pytest.raises(ValueError, match="expected one of"):
        data.class_names("svhn")


# --------------------------------------------------------------------------- IDX parsing
def test_parse_idx_round_trip():
    images, labels = fake_split(7, 0)
    assert np.array_equal(data.parse_idx(idx_bytes(images)), images)
    assert np.array_equal(data.parse_idx(idx_bytes(labels)), labels)


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: b"\x01" + raw[1:], "bad IDX magic"),
    (lambda raw: b"PK" + raw[2:], "bad IDX magic"),
    (lambda raw: raw[:2] + b"\x09" + raw[3:], "data type 0x09"),
    (lambda raw: raw[:3] + b"\x02" + raw[4:], "2 dimensions"),
    (lambda raw: raw[:10], "truncated IDX header"),
    (lambda raw: raw[:-1], "the file holds"),
    (lambda raw: raw + b"\x00", "the file holds"),
    (lambda raw: b"", "bad IDX magic"),
])
def test_parse_idx_rejects_corrupt_files(mutate, message):
    raw = idx_bytes(fake_split(3, 0)[0])
    with pytest.raises(data.CorruptDataError, match=message):
        data.parse_idx(mutate(raw), "x.idx")


# --------------------------------------------------------------------------- the lookup order
def test_candidate_order(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("GAN_LESSONS_DATA", str(tmp_path / "env"))
    got = data.candidate_dirs("fashion_mnist", path=tmp_path / "mine")
    assert [label for label, _ in got] == ["path argument", "$GAN_LESSONS_DATA", "$GAN_LESSONS_DATA",
                                            "Debian package dataset-fashion-mnist", "Keras cache"]
    assert [p for _, p in got] == [tmp_path / "mine", tmp_path / "env" / "fashion_mnist", tmp_path / "env",
                                   Path(data.DEBIAN_FASHION_DIR), tmp_path / "keras-home" / "datasets" / "fashion-mnist"]
    # MNIST is in no Debian package: no Debian folder for it, and Keras keeps mnist.npz in datasets/
    mnist = [p for _, p in data.candidate_dirs("mnist")]
    assert Path(data.DEBIAN_FASHION_DIR) not in mnist and mnist[-1] == tmp_path / "keras-home" / "datasets"


def test_explicit_path_beats_env_beats_debian_beats_keras(tmp_path, monkeypatch, fake_fashion, reads):
    images, labels = fake_fashion["test"]
    places = {
        "path": tmp_path / "mine",
        "env": tmp_path / "env",
        "debian": Path(data.DEBIAN_FASHION_DIR),
        "keras": tmp_path / "keras-home" / "datasets" / "fashion-mnist",
    }
    for folder in places.values():
        write_split(folder, "test", images, labels)
    monkeypatch.setenv("GAN_LESSONS_DATA", str(places["env"]))
    order = ["path", "env", "debian", "keras"]
    for i, first in enumerate(order):
        for stale in order[:i]:  # remove the better places one by one
            for f in places[stale].glob("*.gz"):
                f.unlink()
        reads.clear()
        # an emptied explicit path is an error (tested below), so it is given only while it holds files
        x, y = data.load_images("fashion_mnist", "test", path=places["path"] if first == "path" else None)
        assert reads[0].parent == places[first], f"expected {first} to be used"
        assert np.array_equal(y, labels) and x.shape == (20, 28, 28, 1)


def test_keras_cache_under_home(tmp_path, monkeypatch, fake_fashion, reads):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist"
    write_split(folder, "train", *fake_fashion["train"])
    x, y = data.load_images("fashion_mnist", "train", download=False)
    assert reads[0].parent == folder and len(x) == 30


def test_env_subfolder_named_after_the_data_set(tmp_path, monkeypatch, fake_fashion, reads):
    monkeypatch.setenv("GAN_LESSONS_DATA", str(tmp_path / "all"))
    write_split(tmp_path / "all" / "fashion_mnist", "train", *fake_fashion["train"], gz=False)
    x, _ = data.load_images("fashion_mnist", "train", download=False)
    assert reads[0] == tmp_path / "all" / "fashion_mnist" / "train-images-idx3-ubyte" and len(x) == 30


def test_a_corrupt_file_in_a_better_place_is_reported_not_skipped(tmp_path, monkeypatch, fake_fashion):
    images, labels = fake_fashion["test"]
    write_split(Path(data.DEBIAN_FASHION_DIR), "test", images, labels)
    env = tmp_path / "env"
    write_split(env, "test", images[::-1].copy(), labels)  # same format, other bytes: checksum mismatch
    monkeypatch.setenv("GAN_LESSONS_DATA", str(env))
    with pytest.raises(data.CorruptDataError, match="SHA-256") as err:
        data.load_images("fashion_mnist", "test", download=False)
    assert str(env) in str(err.value) and "Delete it" in str(err.value)


# --------------------------------------------------------------------------- pixels and labels
def test_scaling_dtype_and_limit(tmp_path, fake_fashion):
    images, labels = fake_fashion["train"]
    write_split(tmp_path / "d", "train", images, labels)
    x, y = data.load_images("fashion_mnist", "train", path=tmp_path / "d")
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (30, 28, 28, 1)
    assert np.allclose(x[..., 0], images / 127.5 - 1.0, atol=1e-6)
    assert np.array_equal(data.to_uint8(x)[..., 0], images)
    x5, y5 = data.load_images("fashion_mnist", "train", path=tmp_path / "d", limit=5)
    assert np.array_equal(x5, x[:5]) and np.array_equal(y5, y[:5])


def test_to_uint8_clips():
    assert data.to_uint8(np.array([-2.0, -1.0, 0.0, 1.0, 3.0])).tolist() == [0, 0, 128, 255, 255]


def test_digits_always_offline():
    x, y = data.load_images("digits", "train")
    xt, yt = data.load_images("digits", "test")
    assert x.shape == (1438, 8, 8, 1) and xt.shape == (359, 8, 8, 1)
    assert x.min() == -1.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))
    from sklearn.datasets import load_digits

    assert np.array_equal(np.concatenate([y, yt]), load_digits().target)  # a split in the stored order


# --------------------------------------------------------------------------- missing, corrupt
def test_missing_while_offline_says_exactly_what_to_do(tmp_path):
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_images("fashion_mnist", "train", download=False)
    msg = str(err.value)
    assert "sudo apt-get install dataset-fashion-mnist" in msg
    assert "GAN_LESSONS_DATA" in msg and data.DOWNLOAD_BASE in msg
    for base in data.FASHION_SHA256:
        assert base + ".gz" in msg
    assert str(tmp_path / "keras-home" / "datasets" / "fashion-mnist") in msg  # where it looked
    assert isinstance(err.value, FileNotFoundError)


def test_failed_download_gives_the_same_advice(tmp_path):
    # DOWNLOAD_BASE points at a folder that does not exist: the download fails like an offline machine
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_images("fashion_mnist", "test")
    assert "the download failed" in str(err.value)
    assert "sudo apt-get install dataset-fashion-mnist" in str(err.value)
    assert not list((tmp_path / "keras-home").rglob("*.gz"))


def test_mnist_missing_suggests_digits():
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_images("mnist", "train", download=False)
    assert "mnist.npz" in str(err.value) and "name='digits'" in str(err.value)


def test_bad_gzip(tmp_path, fake_fashion):
    folder = tmp_path / "d"
    write_split(folder, "test", *fake_fashion["test"])
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    with pytest.raises(data.CorruptDataError, match="not a readable gzip"):
        data.load_images("fashion_mnist", "test", path=folder)


def test_truncated_gzip(tmp_path, fake_fashion):
    folder = tmp_path / "d"
    img, _ = write_split(folder, "test", *fake_fashion["test"])
    img.write_bytes(img.read_bytes()[:-20])
    with pytest.raises(data.CorruptDataError):
        data.load_images("fashion_mnist", "test", path=folder)


def test_checksum_mismatch_names_the_file(tmp_path, fake_fashion):
    folder = tmp_path / "d"
    images, labels = fake_fashion["test"]
    write_split(folder, "test", images, (labels + 1) % 10)
    with pytest.raises(data.CorruptDataError) as err:
        data.load_images("fashion_mnist", "test", path=folder)
    assert "t10k-labels-idx1-ubyte" in str(err.value) and "does not match" in str(err.value)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"\x08\x08" + raw[2:], "bad IDX magic"),
    (lambda raw: raw[: len(raw) // 2], "the file holds"),
])
def test_bad_magic_or_truncated_idx_with_a_matching_checksum(tmp_path, monkeypatch, fake_fashion, damage, message):
    # A file can match a checksum and still be unusable if the checksum table itself is wrong;
    # the IDX parser is the second line of defence.
    images, labels = fake_fashion["test"]
    raw = damage(idx_bytes(images))
    folder = tmp_path / "d"
    write_split(folder, "test", images, labels)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    sums = dict(data.FASHION_SHA256, **{"t10k-images-idx3-ubyte": hashlib.sha256(raw).hexdigest()})
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    with pytest.raises(data.CorruptDataError, match=message):
        data.load_images("fashion_mnist", "test", path=folder)


def test_images_and_labels_must_agree(tmp_path, monkeypatch, fake_fashion):
    images, labels = fake_fashion["test"]
    folder = tmp_path / "d"
    write_split(folder, "test", images, labels[:-1])
    sums = dict(data.FASHION_SHA256, **{"t10k-labels-idx1-ubyte": hashlib.sha256(idx_bytes(labels[:-1])).hexdigest()})
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    with pytest.raises(data.CorruptDataError, match="labels"):
        data.load_images("fashion_mnist", "test", path=folder)


def test_crafted_idx_header_is_refused_with_the_file_named():
    # dimensions whose product overflows 64 bits must not wrap around to the real size
    dims = (2**32 - 1, 2**32 - 1, 2**32 - 1)
    raw = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in dims) + bytes(784)
    with pytest.raises(data.CorruptDataError, match=r"crafted\.idx: IDX header says"):
        data.parse_idx(raw, "crafted.idx")


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 10, 3], np.uint8), r"labels-idx1-ubyte.*: label 10 is out of range"),
    (np.zeros((4, 32, 32), np.uint8), np.array([0, 1, 2, 3], np.uint8), r"images-idx3-ubyte.*: images are 32x32"),
])
def test_labels_and_image_size_are_checked_in_the_loader(tmp_path, images, labels, message):
    write_split(tmp_path / "m", "train", images, labels, gz=False)
    with pytest.raises(data.CorruptDataError, match=message):
        data.load_images("mnist", "train", path=tmp_path / "m", download=False)


def test_data_variable_naming_a_missing_folder_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_DATA", str(tmp_path / "nowhere"))
    for name in ("fashion_mnist", "mnist"):
        with pytest.raises(data.DataNotFoundError, match=r"GAN_LESSONS_DATA='.*nowhere' is not a folder"):
            data.load_images(name, "train", download=False)


# --------------------------------------------------------------------------- checksum-verified download
def serve(folder: Path, split: str, images, labels) -> None:
    write_split(folder, split, images, labels, gz=True)


def test_download_is_verified_and_saved_in_the_keras_cache(tmp_path, monkeypatch, fake_fashion, reads):
    server = tmp_path / "server"
    serve(server, "test", *fake_fashion["test"])
    monkeypatch.setattr(data, "DOWNLOAD_BASE", server.as_uri() + "/")
    x, y = data.load_images("fashion_mnist", "test")
    cache = tmp_path / "keras-home" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(b + ".gz" for b in BASES["test"])
    assert np.array_equal(y, fake_fashion["test"][1]) and len(x) == 20
    # the second time it is found in the cache, offline
    monkeypatch.setattr(data, "DOWNLOAD_BASE", (tmp_path / "gone").as_uri() + "/")
    data._CACHE.clear()
    reads.clear()
    data.load_images("fashion_mnist", "test", download=False)
    assert reads[0].parent == cache


def test_a_wrong_download_is_refused_and_nothing_is_saved(tmp_path, monkeypatch, fake_fashion):
    server = tmp_path / "server"
    images, labels = fake_fashion["test"]
    serve(server, "test", 255 - images, labels)  # the server sends other bytes
    monkeypatch.setattr(data, "DOWNLOAD_BASE", server.as_uri() + "/")
    with pytest.raises(data.CorruptDataError) as err:
        data.load_images("fashion_mnist", "test")
    assert "nothing was saved" in str(err.value)
    keras_home = tmp_path / "keras-home"
    assert not [p for p in keras_home.rglob("*") if p.is_file()], "a refused download left files behind"


def test_a_download_that_is_not_gzip_is_refused(tmp_path, monkeypatch, fake_fashion):
    server = tmp_path / "server"
    server.mkdir()
    for base in BASES["test"]:
        (server / (base + ".gz")).write_bytes(b"<html>proxy error</html>")
    monkeypatch.setattr(data, "DOWNLOAD_BASE", server.as_uri() + "/")
    with pytest.raises(data.CorruptDataError, match="nothing was saved"):
        data.load_images("fashion_mnist", "test")
    assert not [p for p in (tmp_path / "keras-home").rglob("*") if p.is_file()]


# --------------------------------------------------------------------------- MNIST
@pytest.fixture
def fake_mnist_npz(tmp_path, monkeypatch):
    images, labels = fake_split(12, 5)
    path = tmp_path / "npz" / "mnist.npz"
    path.parent.mkdir()
    np.savez(path, x_train=images, y_train=labels, x_test=images[:4], y_test=labels[:4])
    monkeypatch.setattr(data, "MNIST_NPZ_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return path, images, labels


def test_mnist_npz_from_keras_cache(tmp_path, fake_mnist_npz):
    path, images, labels = fake_mnist_npz
    dest = tmp_path / "keras-home" / "datasets"
    dest.mkdir(parents=True)
    (dest / "mnist.npz").write_bytes(path.read_bytes())
    x, y = data.load_images("mnist", "test", download=False)
    assert x.shape == (4, 28, 28, 1) and np.array_equal(y, labels[:4])


def test_mnist_npz_corrupt(tmp_path, fake_mnist_npz):
    path, *_ = fake_mnist_npz
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(data.CorruptDataError, match="mnist.npz"):
        data.load_images("mnist", "train", path=path.parent)


def test_mnist_download(tmp_path, monkeypatch, fake_mnist_npz):
    path, images, _ = fake_mnist_npz
    monkeypatch.setattr(data, "DOWNLOAD_BASE", path.parent.as_uri() + "/")
    x, _ = data.load_images("mnist", "train")
    assert len(x) == 12 and (tmp_path / "keras-home" / "datasets" / "mnist.npz").is_file()


def test_mnist_never_returns_fashion_mnist(tmp_path, monkeypatch, fake_fashion):
    # A folder of Fashion-MNIST IDX files (same file names as MNIST's) must not pass for MNIST.
    folder = tmp_path / "shared-data"
    write_split(folder, "train", *fake_fashion["train"])
    monkeypatch.setenv("GAN_LESSONS_DATA", str(folder))
    with pytest.raises(data.DataNotFoundError):
        data.load_images("mnist", "train", download=False)


def test_mnist_idx_files(tmp_path):
    images, labels = fake_split(9, 7)
    write_split(tmp_path / "m", "train", images, labels, gz=False)
    x, y = data.load_images("mnist", "train", path=tmp_path / "m", download=False)
    assert x.shape == (9, 28, 28, 1) and np.array_equal(y, labels)


# --------------------------------------------------------------------------- the real files, where installed
REAL = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").is_file(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_test_split(monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", str(REAL))
    x, y = data.load_images("fashion_mnist", "test", download=False)
    assert x.shape == (10000, 28, 28, 1) and np.bincount(y).tolist() == [1000] * 10
    assert x.min() == -1.0 and x.max() == 1.0


# --------------------------------------------------------------------------- tf.data
def test_make_dataset_batches_and_labels():
    x = np.arange(10 * 4, dtype=np.float32).reshape(10, 2, 2, 1)
    y = np.arange(10)
    batches = list(data.make_dataset(x, batch_size=4, labels=y, shuffle=False))
    assert len(batches) == 2  # drop_remainder
    xb, yb = batches[0]
    assert tuple(xb.shape) == (4, 2, 2, 1) and yb.numpy().tolist() == [0, 1, 2, 3]
    assert np.array_equal(xb.numpy(), x[:4])
    kept = list(data.make_dataset(x, batch_size=4, shuffle=False, drop_remainder=False))
    assert [int(b.shape[0]) for b in kept] == [4, 4, 2]


def test_make_dataset_shuffle_is_seeded_and_covers_everything():
    x = np.arange(32, dtype=np.float32).reshape(32, 1, 1, 1)
    first = np.concatenate([b.numpy().ravel() for b in data.make_dataset(x, batch_size=8, seed=3)])
    again = np.concatenate([b.numpy().ravel() for b in data.make_dataset(x, batch_size=8, seed=3)])
    other = np.concatenate([b.numpy().ravel() for b in data.make_dataset(x, batch_size=8, seed=4)])
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert sorted(first.tolist()) == list(range(32)) and not np.array_equal(first, np.arange(32))


def test_make_dataset_repeat():
    x = np.zeros((8, 2, 2, 1), np.float32)
    ds = data.make_dataset(x, batch_size=4, repeat=True)
    assert len(list(ds.take(5))) == 5


@pytest.mark.parametrize("kwargs, message", [
    (dict(images=np.zeros((4, 2, 2))), "expected \\(N, H, W, C\\)"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=True), "batch_size"),
    (dict(batch_size=2.0), "batch_size"),
    (dict(batch_size=5), "larger than the 4 images"),
    (dict(labels=np.zeros(3)), "3 entries for 4 images"),
])
def test_make_dataset_bad_arguments(kwargs, message):
    args = dict(images=np.zeros((4, 2, 2, 1)), batch_size=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        data.make_dataset(args.pop("images"), **args)


# --------------------------------------------------------------------------- toy 2-D
@pytest.mark.parametrize("name", data.TOY_2D)
def test_toy_2d_shape_and_seed(name):
    a = data.toy_2d(name, 500, seed=1)
    assert a.shape == (500, 2) and a.dtype == np.float32
    assert np.array_equal(a, data.toy_2d(name, 500, seed=1))
    assert not np.array_equal(a, data.toy_2d(name, 500, seed=2))
    assert np.all(np.abs(a) < 3.0)


def test_toy_2d_modes_are_where_the_points_are():
    for name, count in (("ring", 8), ("grid", 25)):
        pts = data.toy_2d(name, 4000, seed=0)
        modes = data.toy_modes(name)
        assert len(modes) == count
        dist = np.linalg.norm(pts[:, None, :] - modes[None], axis=-1)
        assert dist.min(axis=1).max() < 6 * data.TOY_STD[name]          # every point near a mode
        assert len(np.unique(dist.argmin(axis=1))) == count              # every mode gets points
    ring = data.toy_2d("ring", 2000, seed=0)
    assert abs(np.linalg.norm(ring, axis=1).mean() - 2.0) < 0.01
    line = data.toy_2d("line", 2000, seed=0)
    assert abs(np.corrcoef(line.T)[0, 1]) > 0.99
    assert len(data.toy_modes("moons")) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="spiral"), "ring, grid, moons, line"),
    (dict(n=0), "n=0"),
    (dict(n=2.5), "n=2.5"),
    (dict(n=True), "n=True"),
])
def test_toy_2d_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.toy_2d(**kwargs)
    if "name" in kwargs:
        with pytest.raises(ValueError, match="ring, grid, moons, line"):
            data.toy_modes(kwargs["name"])


def test_an_explicit_path_without_the_files_is_an_error_not_a_fallback(tmp_path):
    """A folder given as path= is never passed over for another location."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataNotFoundError, match=r"path=.*empty.*train-images-idx3-ubyte"):
        data.load_images("fashion_mnist", "train", path=tmp_path / "empty")
    with pytest.raises(data.DataNotFoundError, match=r"mnist\.npz"):
        data.load_images("mnist", "test", path=tmp_path / "empty")
