"""gan_lessons.runtime: quick mode, budget, seeding, platform detection, describe()."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from gan_lessons import runtime

PLATFORM_VARS = ("COLAB_RELEASE_TAG", "BINDER_SERVICE_HOST", "BINDER_REQUEST", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL",
                 "JUPYTERHUB_SERVICE_PREFIX")


# --------------------------------------------------------------------------- quick mode and budget
@pytest.mark.parametrize("text, quick", [
    ("1", True), ("true", True), ("YES", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("off", False), ("", False), (None, False),
])
def test_quick_values(monkeypatch, text, quick):
    if text is None:
        monkeypatch.delenv("GAN_LESSONS_QUICK", raising=False)
    else:
        monkeypatch.setenv("GAN_LESSONS_QUICK", text)
    assert runtime.is_quick() is quick
    assert runtime.budget(full=100, quick=3) == (3 if quick else 100)


@pytest.mark.parametrize("text", ["2", "maybe", "quick", "ja"])
def test_bad_quick_value_is_an_error(monkeypatch, text):
    monkeypatch.setenv("GAN_LESSONS_QUICK", text)
    with pytest.raises(ValueError, match=f"GAN_LESSONS_QUICK='{text}'"):
        runtime.is_quick()
    with pytest.raises(ValueError, match="expected one of"):
        runtime.budget(full=1, quick=0)


@pytest.mark.parametrize("text, expected", [("1", "True"), ("off", "False")])
def test_QUICK_is_read_at_import(text, expected):
    env = dict(os.environ, GAN_LESSONS_QUICK=text)
    out = subprocess.run([sys.executable, "-c", "import gan_lessons.runtime as r; print(r.QUICK)"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_bad_QUICK_at_import_names_the_variable():
    env = dict(os.environ, GAN_LESSONS_QUICK="fast")
    out = subprocess.run([sys.executable, "-c", "import gan_lessons.runtime"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "GAN_LESSONS_QUICK='fast'" in out.stderr


def test_budget_kinds(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_QUICK", "0")
    assert runtime.budget(full=2.5, quick=1) == 2.5          # int and float mix
    assert runtime.budget(full=(64, 64), quick=(8, 8)) == (64, 64)
    monkeypatch.setenv("GAN_LESSONS_QUICK", "1")
    assert runtime.budget(full="big", quick="small") == "small"
    with pytest.raises(TypeError, match="same kind"):
        runtime.budget(full=100, quick="10")
    with pytest.raises(TypeError, match="same kind"):
        runtime.budget(full=[1], quick=(1,))


# --------------------------------------------------------------------------- seeding
def draws():
    import keras
    import tensorflow as tf

    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    return (random.random(), np.random.rand(), tf.random.normal((2,)).numpy(),
            keras.random.normal((2,)).numpy(), layer.kernel.numpy())


def test_seed_everything_reproduces_every_generator():
    assert runtime.seed_everything(7) == 7
    first = draws()
    runtime.seed_everything(7)
    second = draws()
    runtime.seed_everything(8)
    third = draws()
    for a, b, c in zip(first, second, third):
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)
    assert os.environ["PYTHONHASHSEED"] == "8"


def test_seed_everything_turns_on_op_determinism():
    config = pytest.importorskip("tensorflow.python.framework.config")  # no public getter in TF 2.21

    runtime.seed_everything(0)
    assert config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed, error", [
    (1.0, TypeError), ("1", TypeError), (True, TypeError), (None, TypeError),
    (-1, ValueError), (2**32, ValueError),
])
def test_seed_everything_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        runtime.seed_everything(seed)


# --------------------------------------------------------------------------- where am I
@pytest.fixture
def clean_platform(monkeypatch):
    for var in PLATFORM_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return monkeypatch


def test_where_local(clean_platform):
    assert runtime.where() == "local" and not runtime.on_colab() and not runtime.on_binder()


@pytest.mark.parametrize("var, value, place", [
    ("COLAB_RELEASE_TAG", "release-colab_20250101", "colab"),
    ("BINDER_SERVICE_HOST", "10.0.0.1", "binder"),
    ("BINDER_REQUEST", "v2/gh/owner/repo/main", "binder"),
    ("BINDER_LAUNCH_HOST", "https://mybinder.org/", "binder"),
    ("BINDER_REPO_URL", "https://github.com/owner/repo", "binder"),
    ("JUPYTERHUB_SERVICE_PREFIX", "/binder/jupyter/user/owner-repo-abc/", "binder"),
])
def test_where(clean_platform, var, value, place):
    clean_platform.setenv(var, value)
    assert runtime.where() == place


def test_a_plain_jupyterhub_is_not_binder(clean_platform):
    clean_platform.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    assert runtime.where() == "local"


def test_colab_module_means_colab(clean_platform):
    clean_platform.setitem(sys.modules, "google.colab", object())
    assert runtime.where() == "colab"


def test_describe(clean_platform):
    import keras
    import tensorflow as tf

    clean_platform.setenv("GAN_LESSONS_QUICK", "1")
    report = runtime.describe()
    assert {"python", "tensorflow", "keras", "numpy", "platform", "quick_mode", "cpu_devices",
            "gpu_devices", "cpu_count", "accelerator"} <= set(report)
    assert report["tensorflow"] == tf.__version__ and report["keras"] == keras.__version__
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["platform"] == "local" and report["quick_mode"] is True
    assert report["cpu_devices"] and report["cpu_count"] == os.cpu_count()
    assert report["accelerator"] == ("GPU" if report["gpu_devices"] else "CPU only")
    clean_platform.setenv("COLAB_RELEASE_TAG", "x")
    clean_platform.setenv("GAN_LESSONS_QUICK", "0")
    report = runtime.describe()
    assert report["platform"] == "colab" and report["quick_mode"] is False


# --------------------------------------------------------------------------- cache folder
def test_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_CACHE", str(tmp_path / "c1"))
    assert runtime.cache_dir() == str(tmp_path / "c1") and (tmp_path / "c1").is_dir()
    monkeypatch.delenv("GAN_LESSONS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_dir() == str(tmp_path / "xdg" / "gan_lessons") and (tmp_path / "xdg" / "gan_lessons").is_dir()
