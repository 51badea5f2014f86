"""The command line: train a few steps, resume exactly, sample; bad arguments exit 2 and touch nothing."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from gan_lessons import models, training
from gan_lessons.__main__ import main


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    yield
    keras.mixed_precision.set_global_policy("float32")


def tree(root: Path) -> dict:
    """Every path under root with a hash of its bytes (or 'dir')."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        out[str(p.relative_to(root))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def train(out, *extra):
    return main(["train", "--dataset", "digits", "--out", str(out), "--precision", "float32", *extra])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted 10-step run, and one of 4 steps resumed to 10."""
    base = tmp_path_factory.mktemp("runs")
    os.environ["GAN_LESSONS_CACHE"] = str(base / "cache")
    try:
        assert train(base / "full", "--steps", "10", "--batch-size", "32") == 0
        assert train(base / "part", "--steps", "4", "--batch-size", "32") == 0
        first = json.loads((base / "part" / "metrics.json").read_text())
        assert train(base / "part", "--steps", "10", "--resume") == 0
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return base, first


def test_train_writes_outputs(runs):
    base, _ = runs
    full = base / "full"
    assert {"generator.keras", "samples.png", "metrics.json", "checkpoint.npz"} <= {p.name for p in full.iterdir()}
    assert not list(full.glob(".part-*")), "no temp files left behind"
    m = json.loads((full / "metrics.json").read_text())
    assert m["steps"] == 10 and m["batch_size"] == 32
    assert m["images_per_s"] > 0 and m["wall_seconds"] > 0 and np.isfinite(m["fid"]) and m["fid"] > 0
    gen = keras.models.load_model(full / "generator.keras", compile=False)
    assert gen.input_shape == (None, 100)
    x = np.asarray(gen(np.zeros((2, 100), "float32")))
    assert x.shape == (2, 8, 8, 1) and x.min() >= -1 and x.max() <= 1


def test_resume_stops_where_an_uninterrupted_run_does(runs):
    base, first = runs
    assert first["steps"] == 4
    m = json.loads((base / "part" / "metrics.json").read_text())
    assert m["steps"] == 10 and m["steps_this_run"] == 6 and m["resumed_from"] == 4
    a, b = np.load(base / "full" / "checkpoint.npz"), np.load(base / "part" / "checkpoint.npz")
    keys = [k for k in a.files if k != "__meta__"]
    assert keys == [k for k in b.files if k != "__meta__"]
    for k in keys:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert m["fid"] == json.loads((base / "full" / "metrics.json").read_text())["fid"]


def test_sample(runs, tmp_path):
    base, _ = runs
    out = tmp_path / "grid.png"
    assert main(["sample", "--model", str(base / "full" / "generator.keras"), "--n", "9", "--out", str(out)]) == 0
    from PIL import Image

    im = Image.open(out)
    assert im.size == (3 * 10 + 2, 3 * 10 + 2)  # 3x3 grid of 8x8 images with 2-pixel gaps


@pytest.fixture()
def other_arch_run(tmp_path):
    """A folder whose checkpoint holds a different architecture (16 base filters)."""
    d = tmp_path / "other"
    gan = training.GAN(models.dcgan_generator(latent_dim=100, image_size=8, base_filters=16),
                       models.dcgan_discriminator(image_size=8, base_filters=16))
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    gan.save_checkpoint(d / "checkpoint.npz", extra={"dataset": "digits", "batch_size": 64, "precision": "float32",
                                                     "seed": 0})
    return d


def bad_cases(tmp_path, other):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    empty = tmp_path / "empty_run"
    empty.mkdir()
    fake_model = tmp_path / "m.keras"
    fake_model.write_bytes(b"not a keras archive")
    return {
        "negative steps": ["train", "--dataset", "digits", "--steps", "-5", "--out", str(tmp_path / "n")],
        "zero steps": ["train", "--dataset", "digits", "--steps", "0", "--out", str(tmp_path / "n")],
        "steps not a number": ["train", "--steps", "ten", "--out", str(tmp_path / "n")],
        "minutes and steps": ["train", "--steps", "3", "--minutes", "1", "--out", str(tmp_path / "n")],
        "negative minutes": ["train", "--minutes", "-1", "--out", str(tmp_path / "n")],
        "unknown dataset": ["train", "--dataset", "cifar99", "--steps", "3", "--out", str(tmp_path / "n")],
        "bad batch size": ["train", "--dataset", "digits", "--batch-size", "0", "--out", str(tmp_path / "n")],
        "out is a file": ["train", "--dataset", "digits", "--steps", "3", "--out", str(a_file)],
        "out under a file": ["train", "--dataset", "digits", "--steps", "3", "--out", str(a_file / "run")],
        "resume without checkpoint": ["train", "--dataset", "digits", "--steps", "3", "--resume",
                                      "--out", str(empty)],
        "resume missing folder": ["train", "--dataset", "digits", "--steps", "3", "--resume",
                                  "--out", str(tmp_path / "nowhere")],
        "resume other architecture": ["train", "--dataset", "digits", "--steps", "3", "--resume",
                                      "--out", str(other)],
        "resume other dataset": ["train", "--dataset", "fashion_mnist", "--steps", "3", "--resume",
                                 "--out", str(other)],
        "existing run without resume": ["train", "--dataset", "digits", "--steps", "3", "--out", str(other)],
        "sample missing model": ["sample", "--model", str(tmp_path / "none.keras"), "--out", str(tmp_path / "g.png")],
        "sample negative n": ["sample", "--model", str(fake_model), "--n", "-1", "--out", str(tmp_path / "g.png")],
        "sample unwritable out": ["sample", "--model", str(fake_model), "--out", str(a_file / "g.png")],
        "sample out not png": ["sample", "--model", str(fake_model), "--out", str(tmp_path / "g.txt")],
        "sample broken model": ["sample", "--model", str(fake_model), "--out", str(tmp_path / "g.png")],
        "bench negative minutes": ["bench", "--minutes", "-2"],
        "bench unknown dataset": ["bench", "--minutes", "1", "--dataset", "nope"],
    }


def test_bad_arguments_exit_2_and_touch_nothing(tmp_path, other_arch_run, capsys):
    cases = bad_cases(tmp_path, other_arch_run)
    for name, argv in cases.items():
        before = tree(tmp_path)
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2, f"{name}: exit code {code}"
        assert len(err.splitlines()) == 1 and err.startswith("error:"), f"{name}: stderr was {err!r}"
        assert tree(tmp_path) == before, f"{name}: files changed"


def test_one_line_error_from_a_real_process(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gan_lessons", "train", "--steps", "-1", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("error: --steps -1")
    assert not (tmp_path / "x").exists()
