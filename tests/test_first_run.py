"""What a new user meets first: the set-up script behind the README's two commands, a quiet
TensorFlow import (terminal, command line, Jupyter kernel) and a missing data set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gan_lessons import course, runtime

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "course"
NOISE = course.NOISE + runtime.TF_STARTUP_NOISE


def _env(**extra) -> dict:
    # without PYTEST_CURRENT_TEST: ipykernel forwards descriptor 2 to the notebook only outside pytest
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "GAN_LESSONS_TF_LOGS", "PYTEST_CURRENT_TEST")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- the set-up script
@pytest.fixture
def checkout(tmp_path):
    """A throwaway copy of the script with a requirements.txt that needs no network."""
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copy2(SCRIPT, root / "course")
    (root / "requirements.txt").write_text("# nothing to install in this test\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return root


def fake_python(folder: Path, version: str) -> Path:
    """An executable that answers the script's version question like Python `version` would."""
    exe = folder / f"python{version}"
    exe.write_text(f"#!/bin/sh\necho {version}\n")
    exe.chmod(0o755)
    return exe


def run_script(root: Path, *args, timeout=300, **env):
    return subprocess.run([str(root / "course"), *args], cwd=root, capture_output=True, text=True, timeout=timeout,
                          env=_env(**env))


def test_script_is_executable_posix_sh():
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    assert SCRIPT.stat().st_mode & 0o111, "course must be executable"


@pytest.mark.parametrize("args", [(), ("install",), ("--lab",)])
def test_script_refuses_unknown_commands(checkout, args):
    out = run_script(checkout, *args)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "usage: ./course lab|test|setup" in out.stderr
    assert not (checkout / ".venv").exists()


@pytest.mark.parametrize("version", ["3.10.12", "3.14.0", "2.7.18"])
def test_unsupported_python_is_one_line_before_anything_else(checkout, tmp_path, version):
    out = run_script(checkout, "test", PYTHON=str(fake_python(tmp_path, version)))
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"is Python {version}" in lines[0] and "3.11, 3.12 or 3.13" in lines[0]
    assert not (checkout / ".venv").exists(), "nothing may be created for an unsupported Python"


def test_missing_python_is_one_line(checkout):
    out = run_script(checkout, "lab", PYTHON="python3-that-does-not-exist")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "'python3-that-does-not-exist' was not found" in out.stderr


def test_failed_venv_creation_leaves_nothing_and_names_python3_venv(checkout, tmp_path):
    # a Python of a supported version whose venv module is missing (Debian without python3-venv)
    exe = tmp_path / "python3.12"
    exe.write_text('#!/bin/sh\ncase "$*" in *version_info*) echo 3.12.3 ;; '
                   '*) echo "The virtual environment was not created successfully because ensurepip is not available." >&2; '
                   'exit 1 ;; esac\n')
    exe.chmod(0o755)
    out = run_script(checkout, "setup", PYTHON=str(exe))
    assert out.returncode == 2
    assert "apt-get install python3-venv" in out.stderr.splitlines()[0]
    assert "ensurepip is not available" in out.stderr
    assert not (checkout / ".venv").exists()


def _stock_python() -> str:
    """Debian/Ubuntu's own python3 when it is there and supported (the PEP 668 case), else this one."""
    stock = "/usr/bin/python3"
    if Path(stock).is_file():
        v = subprocess.run([stock, "-c", "import sys, venv, ensurepip; print(sys.version_info[:2] >= (3, 11))"],
                           capture_output=True, text=True)
        if v.stdout.strip() == "True":
            return stock
    return sys.executable


def test_setup_creates_the_venv_once_and_reinstalls_only_on_change(checkout):
    python = _stock_python()
    out = run_script(checkout, "setup", PYTHON=python)
    assert out.returncode == 0, out.stderr
    venv = checkout / ".venv"
    assert (venv / "bin" / "python").exists() and (venv / ".created").exists()
    assert "Creating a virtual environment in .venv" in out.stdout and "Installing requirements.txt" in out.stdout
    stamp = (venv / ".requirements.sha256").read_text()
    made = (venv / "bin" / "python").lstat().st_mtime_ns

    start = time.monotonic()
    again = run_script(checkout, "setup", PYTHON=python)
    assert again.returncode == 0, again.stderr
    assert "Creating" not in again.stdout and "Installing" not in again.stdout  # up to date: no pip at all
    assert again.stdout.strip().startswith("ready: .venv (Python 3.1")
    assert time.monotonic() - start < 20
    assert (venv / "bin" / "python").lstat().st_mtime_ns == made

    (checkout / "requirements.txt").write_text("# changed\n")
    third = run_script(checkout, "setup", PYTHON=python)
    assert third.returncode == 0 and "Installing requirements.txt" in third.stdout and "Creating" not in third.stdout
    assert (venv / ".requirements.sha256").read_text() != stamp

    # `test` and `lab` run inside the venv: this one has neither pytest nor JupyterLab
    for command, module in (("test", "pytest"), ("lab", "jupyter")):
        ran = run_script(checkout, command, PYTHON=python)
        assert ran.returncode != 0 and f"No module named {module}" in ran.stderr, ran.stderr


def test_a_venv_of_an_unsupported_python_is_refused(checkout, tmp_path):
    venv = checkout / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".created").touch()
    shutil.copy2(fake_python(tmp_path, "3.10.4"), venv / "bin" / "python")
    out = run_script(checkout, "test")
    assert out.returncode == 2 and "holds Python 3.10.4" in out.stderr and "remove the folder .venv" in out.stderr


# --------------------------------------------------------------------------- a quiet TensorFlow import
def test_quiet_stderr_keeps_real_lines_and_drops_startup_noise(capfd):
    with runtime.quiet_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1795696279.850623    6385 cudart_stub.cc:31] Could not find cuda drivers on your"
                    b" machine, GPU will not be used.\n"
                    b"I0000 00:00:1795696279.9    6385 cpu_feature_guard.cc:227] oneDNN custom operations are on.\n"
                    b"a real problem\n"
                    b"E0000 00:00:1795696280.1    6385 some_op.cc:12] a real C++ error\n")
        assert capfd.readouterr().err == ""  # held back while the block runs
    err = capfd.readouterr().err
    assert err == "a real problem\nE0000 00:00:1795696280.1    6385 some_op.cc:12] a real C++ error\n"
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == "after the block\n"


def test_importing_tensorflow_after_gan_lessons_prints_nothing():
    code = ("import os, gan_lessons, keras, tensorflow as tf\n"
            "assert tf.__loader__.__class__.__name__ != '_QuietLoader'\n"
            "os.write(2, b'a real error after the import\\n')\n"
            "print(float(tf.reduce_sum(tf.ones(3))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout == "3.0\n"
    assert out.stderr == "a real error after the import\n"


def test_cli_error_after_tensorflow_loads_is_one_line(tmp_path):
    model = tmp_path / "broken.keras"
    model.write_bytes(b"not a zip file")
    out = subprocess.run([sys.executable, "-m", "gan_lessons", "sample", "--model", str(model), "--n", "4",
                          "--out", str(tmp_path / "grid.png")],
                         capture_output=True, text=True, timeout=180, env=_env(TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --model"), out.stderr
    assert not any(n in out.stderr for n in NOISE)


def test_a_jupyter_kernel_shows_no_startup_noise():
    """ipykernel forwards descriptor 2 to the notebook (capture_fd_output, as in JupyterLab)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import gan_lessons\nimport tensorflow as tf\nprint(tf.__version__)"),
                nbformat.v4.new_code_cell("import os, time\nn = os.write(2, b'descriptor 2 still reaches the notebook\\n')\n"
                                          "time.sleep(1)  # the kernel forwards descriptor 2 from a thread")]
    env_before = dict(os.environ)
    os.environ.clear()
    os.environ.update(_env())
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    first, second = nb.cells
    assert [o.get("name") for o in first.outputs] == ["stdout"], first.outputs
    assert first.outputs[0]["text"].startswith("2.")
    assert [o.get("name") for o in second.outputs] == ["stderr"], second.outputs
    assert "descriptor 2 still reaches the notebook" in second.outputs[0]["text"]


# --------------------------------------------------------------------------- no data
def test_the_test_run_stops_at_the_start_without_data(tmp_path):
    """GAN_LESSONS_DATA names an empty folder, no Debian package, no Keras cache, no network."""
    empty = tmp_path / "empty"
    empty.mkdir()
    keras_home = tmp_path / "keras-home"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "no_data_anywhere.py").write_text(textwrap.dedent(f"""
        from gan_lessons import data
        data.DEBIAN_FASHION_DIR = {str(tmp_path / 'no-debian-package')!r}
        data.DOWNLOAD_BASE = {(tmp_path / 'no-server').as_uri() + '/'!r}
    """))
    env = _env(GAN_LESSONS_DATA=str(empty), KERAS_HOME=str(keras_home))
    env["PYTHONPATH"] = os.pathsep.join((str(plugins), env["PYTHONPATH"]))
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no_data_anywhere", "-n", "0",
                          "tests/test_packaging.py::test_pyproject"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    text = out.stdout + out.stderr
    assert out.returncode == 4, text
    assert "the tests need Fashion-MNIST" in text
    assert "sudo apt-get install dataset-fashion-mnist" in text and "GAN_LESSONS_DATA" in text
    assert str(empty / "fashion_mnist") in text  # it looked where it was told to
    assert "collected" not in text and " passed" not in text, "tests ran although the data is missing"
    assert not keras_home.exists(), "the failed download left a folder behind"


def test_a_failed_download_creates_no_folder(tmp_path, monkeypatch):
    from gan_lessons import data

    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", str(tmp_path / "no-debian-package"))
    monkeypatch.setattr(data, "DOWNLOAD_BASE", (tmp_path / "no-server").as_uri() + "/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("GAN_LESSONS_DATA", raising=False)
    with pytest.raises(data.DataNotFoundError, match="the download failed"):
        data.load_images("fashion_mnist", "test")
    with pytest.raises(data.DataNotFoundError, match="the download failed"):
        data.load_images("mnist", "test")
    assert not (tmp_path / "keras-home").exists()
    assert data.folder_status(tmp_path / "keras-home" / "datasets" / "fashion-mnist") == "absent"


def test_folder_status_says_found_only_for_verified_files(tmp_path, monkeypatch):
    import gzip
    import hashlib

    from gan_lessons import data

    contents = {base: f"fake {base}".encode() for base in data.FASHION_SHA256}
    monkeypatch.setattr(data, "FASHION_SHA256", {b: hashlib.sha256(c).hexdigest() for b, c in contents.items()})
    folder = tmp_path / "fashion"
    assert data.folder_status(folder) == "absent"
    folder.mkdir()
    assert data.folder_status(folder) == "empty"
    (folder / "README").write_text("x")
    assert data.folder_status(folder) == "no Fashion-MNIST files"
    bases = list(contents)
    for base in bases[:3]:
        (folder / (base + ".gz")).write_bytes(gzip.compress(contents[base]))
    assert data.folder_status(folder) == f"incomplete (missing {bases[3]})"
    (folder / bases[3]).write_bytes(b"something else")
    assert data.folder_status(folder) == f"corrupt ({bases[3]}: wrong SHA-256 or unreadable)"
    (folder / bases[3]).write_bytes(contents[bases[3]])
    assert data.folder_status(folder) == "found (4 files verified)"
    (folder / (bases[0] + ".gz")).write_bytes(b"not gzip")
    assert data.folder_status(folder).startswith("corrupt")
    with pytest.raises(ValueError, match="digits"):
        data.folder_status(folder, "digits")
