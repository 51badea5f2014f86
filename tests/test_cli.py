"""The command line: train a few steps, resume exactly, sample; bad arguments exit 2 and touch nothing."""

import hashlib
import json
import os
import re
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


# --------------------------------------------------------------------------- reliability (bad inputs, damage, signals)
def copy_run(runs, tmp_path, name="full"):
    import shutil

    base, _ = runs
    dst = tmp_path / name
    shutil.copytree(base / name, dst)
    return dst


def one_line_error(capsys, code, expected=2):
    """The one error line (after any progress bar of a run that had started), checked."""
    err = capsys.readouterr().err.strip()
    assert code == expected, f"exit code {code}, stderr {err!r}"
    lines = [ln for ln in re.split(r"[\r\n]+", err) if ln.strip()]
    assert lines and lines[-1].startswith("error:"), err
    assert not any(ln.startswith("error:") for ln in lines[:-1]) and "Traceback" not in err, err
    assert all(ln.startswith("train ") for ln in lines[:-1]), err
    return lines[-1]


def test_sample_caps_n_and_generates_in_batches(runs, tmp_path, capsys, monkeypatch):
    import gan_lessons.__main__ as cli

    model = str(runs[0] / "full" / "generator.keras")
    err = one_line_error(capsys, main(["sample", "--model", model, "--n", "100000", "--out", str(tmp_path / "g.png")]))
    assert f"at most {cli.MAX_SAMPLES}" in err.replace("from 1 to", "at most") and not (tmp_path / "g.png").exists()
    assert main(["sample", "--model", model, "--n", "10", "--out", str(tmp_path / "one.png")]) == 0
    monkeypatch.setattr(cli, "SAMPLE_BATCH", 3)  # 10 images in batches of 3: the same grid
    assert main(["sample", "--model", model, "--n", "10", "--out", str(tmp_path / "batched.png")]) == 0
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "batched.png").read_bytes()


def test_damaged_checkpoint_on_resume_is_one_line_and_changes_nothing(runs, tmp_path, capsys):
    run = copy_run(runs, tmp_path)
    ckpt = run / "checkpoint.npz"
    raw = ckpt.read_bytes()
    middle = len(raw) // 2
    np.save(tmp_path / "single.npy", np.zeros(3))
    damage = {"truncated": raw[:middle], "zero bytes": b"",
              "one flipped byte": raw[:middle] + bytes([raw[middle] ^ 0x40]) + raw[middle + 1:],
              "a .npy renamed .npz": (tmp_path / "single.npy").read_bytes()}
    for name, content in damage.items():
        ckpt.write_bytes(content)
        before = tree(run)
        err = one_line_error(capsys, train(run, "--steps", "12", "--resume"))
        assert str(ckpt) in err and "damaged" in err and "--out" in err, f"{name}: {err}"
        assert tree(run) == before, f"{name}: files changed"


def test_checkpoint_metadata_without_batch_size(runs, tmp_path, capsys):
    run = copy_run(runs, tmp_path)
    arrays, meta = training.read_checkpoint(run / "checkpoint.npz")
    del meta["extra"]["batch_size"]
    np.savez(run / "checkpoint.npz", __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    err = one_line_error(capsys, train(run, "--steps", "12", "--resume"))
    assert "lacks 'batch_size'" in err


def test_resume_refuses_other_settings_and_steps_already_done(runs, tmp_path, capsys):
    run = copy_run(runs, tmp_path)
    before = tree(run)
    for extra, expected in ((["--seed", "5"], "--seed 5: the checkpoint"),
                            (["--precision", "mixed_bfloat16"], "--precision mixed_bfloat16: the checkpoint"),
                            (["--steps", "5"], "--steps 5: the run in"), (["--steps", "10"], "already at step 10")):
        err = one_line_error(capsys, train(run, "--resume", *extra) if "--steps" in extra
                             else train(run, "--resume", "--steps", "12", *extra))
        assert expected in err, err
        assert tree(run) == before, f"{extra}: files changed"


def test_stale_temp_files_are_removed_at_start(runs, tmp_path):
    run = copy_run(runs, tmp_path)
    (run / ".part-killed123.npz").write_bytes(b"half a checkpoint")
    (run / ".part-killed456.keras").write_bytes(b"half a model")
    assert train(run, "--steps", "11", "--resume") == 0
    assert not list(run.glob(".part-*"))
    assert json.loads((run / "metrics.json").read_text())["steps"] == 11
    assert not (run / ".train.lock").exists(), "the lock file goes with the run"


def test_disk_full_keeps_the_old_checkpoint(runs, tmp_path, capsys, monkeypatch):
    import errno

    run = copy_run(runs, tmp_path)
    good = (run / "checkpoint.npz").read_bytes()

    def full(fh, **arrays):
        fh.write(b"part of it")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    err = one_line_error(capsys, train(run, "--steps", "12", "--resume"))
    assert "disk full" in err and "is kept" in err
    assert (run / "checkpoint.npz").read_bytes() == good and not list(run.glob(".part-*"))


def test_non_finite_training_from_the_cli_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(training.COURSE_RECIPE, "learning_rate", 1e30)
    err = one_line_error(capsys, train(tmp_path / "nan", "--steps", "5", "--batch-size", "32"))
    assert "training stopped at step" in err and "lower learning rate" in err
    assert not (tmp_path / "nan" / "checkpoint.npz").exists()


def test_more_bad_inputs_exit_2_in_one_line(tmp_path, runs, capsys, monkeypatch):
    from gan_lessons import metrics

    not_gen = tmp_path / "classifier.keras"
    metrics.build_classifier(8).save(not_gen)
    garbage = tmp_path / "garbage.ipynb"
    garbage.write_text("{not json")
    empty = tmp_path / "empty.ipynb"
    empty.write_text("{}")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cases = {
        "out under /proc": (["train", "--dataset", "digits", "--steps", "3", "--out", "/proc/gan_run"], "--out"),
        "seed negative": (["train", "--dataset", "digits", "--seed", "-1", "--out", str(tmp_path / "n")], "--seed -1"),
        "seed too big": (["train", "--dataset", "digits", "--seed", str(2**32), "--out", str(tmp_path / "n")],
                         "--seed"),
        "steps too many": (["train", "--dataset", "digits", "--steps", str(10**19), "--out", str(tmp_path / "n")],
                           "--steps"),
        "sample not a generator": (["sample", "--model", str(not_gen), "--out", str(tmp_path / "g.png")],
                                   "not a generator"),
        "sample damaged model": (["sample", "--model", str(tmp_path / "bad.keras"), "--out", str(tmp_path / "g.png")],
                                 "cannot be loaded: "),
        "render not a notebook": (["render", str(text)], "not a notebook"),
        "render garbage json": (["render", str(garbage)], "not a valid notebook"),
        "render empty object": (["render", str(empty)], "not a valid notebook"),
    }
    (tmp_path / "bad.keras").write_bytes(b"not a keras archive")
    for name, (argv, expected) in cases.items():
        before = tree(tmp_path)
        err = one_line_error(capsys, main(argv))
        assert expected in err, f"{name}: {err}"
        assert tree(tmp_path) == before, f"{name}: files changed"
    assert "(" in err  # the reason is shown, not just the exception class
    assert "ValueError)" not in capsys.readouterr().err


def test_bad_quick_value_from_the_cli_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gan_lessons", "lessons"], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, GAN_LESSONS_QUICK="maybe"))
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: GAN_LESSONS_QUICK='maybe': expected one of 1/0, true/false, "
                                  "yes/no, on/off")


def test_lessons_into_a_closed_pipe_exits_quietly():
    p = subprocess.Popen([sys.executable, "-m", "gan_lessons", "lessons"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # like `| head -1` that has already gone
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_course_commands_find_the_repository_or_say_so(tmp_path, monkeypatch, capsys):
    from gan_lessons import course

    real_root = course.ROOT
    monkeypatch.setattr(course, "ROOT", tmp_path / "site-packages")  # a regular install: no repository there
    monkeypatch.chdir(tmp_path)
    err = one_line_error(capsys, main(["badges"]))
    assert "not inside the course repository" in err and "--repo" in err
    assert main(["lessons"]) == 0
    out = capsys.readouterr()
    assert "not written yet" not in out.out and "--repo" in out.err
    assert main(["lessons", "--repo", str(real_root)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(course.LESSONS)
    for line, (num, slug, title, _) in zip(listed, course.LESSONS):
        written = (real_root / "notebooks" / f"{num}_{slug}.ipynb").exists()
        assert line.startswith(num) and title in line and ("not written yet" in line) == (not written), line
    err = one_line_error(capsys, main(["lessons", "--repo", str(tmp_path)]))
    assert "is not the course repository" in err
    monkeypatch.chdir(real_root / "notebooks")  # one folder below the repository's root
    assert main(["lessons"]) == 0 and "not written yet" not in capsys.readouterr().out


def test_damaged_classifier_is_found_before_training(tmp_path, capsys, monkeypatch):
    from gan_lessons import metrics

    weights = tmp_path / "weights"
    weights.mkdir()
    h5 = weights / "digits_classifier.weights.h5"
    metrics.build_classifier(8).save_weights(h5)
    (weights / "digits_classifier.weights.json").write_text(json.dumps({"sha256": metrics._file_sha256(h5)}))
    raw = bytearray(h5.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one damaged byte
    h5.write_bytes(bytes(raw))
    monkeypatch.setattr(metrics, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(metrics, "_CLASSIFIERS", {})
    err = one_line_error(capsys, train(tmp_path / "run", "--steps", "3"))
    assert "digits_classifier.weights.h5" in err and "SHA-256" in err
    assert not (tmp_path / "run").exists(), "nothing trained, nothing left behind"
    (weights / "digits_classifier.weights.json").write_text("{oops")
    err = one_line_error(capsys, train(tmp_path / "run", "--steps", "3"))
    assert "digits_classifier.weights.json" in err and "not valid JSON" in err


def test_missing_classifier_sidecar_retrains_into_the_cache_not_the_package(tmp_path, capsys, monkeypatch):
    from gan_lessons import metrics

    weights = tmp_path / "package_weights"
    weights.mkdir()
    (weights / "digits_classifier.weights.h5").write_bytes(b"shipped without its sidecar")
    package_before = tree(weights)
    monkeypatch.setattr(metrics, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(metrics, "_CLASSIFIERS", {})
    monkeypatch.setattr(metrics, "CLASSIFIER_EPOCHS", 1)
    monkeypatch.setenv("GAN_LESSONS_CACHE", str(tmp_path / "cache"))
    metrics.classifier("digits")
    assert tree(weights) == package_before, "never write into the installed package"
    assert {p.name for p in (tmp_path / "cache").iterdir()} == {"digits_classifier.weights.h5",
                                                               "digits_classifier.weights.json"}
    err = capsys.readouterr().err
    assert "without its .json sidecar" in err and str(tmp_path / "cache") in err


# Two real processes on one run folder, then a real SIGTERM (the slowest part: two TF start-ups, in parallel).
@pytest.fixture(scope="module")
def running_train(tmp_path_factory, runs):
    import time

    base = tmp_path_factory.mktemp("live")
    env = dict(os.environ, GAN_LESSONS_CACHE=str(runs[0] / "cache"), GAN_LESSONS_QUICK="1")  # digits' classifier
    log = open(base / "stderr.txt", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gan_lessons", "train", "--dataset", "digits", "--steps",
                             "100000", "--batch-size", "32", "--precision", "float32", "--out", str(base / "run")],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        steps = [int(n) for n in re.findall(rb"\| *(\d+)/100000", (base / "stderr.txt").read_bytes())]
        if steps and max(steps) >= 3:
            break
        time.sleep(0.5)
    assert proc.poll() is None, (base / "stderr.txt").read_text()
    yield proc, base, env
    if proc.poll() is None:
        proc.kill()
    log.close()


def test_a_second_train_on_the_same_out_is_refused(running_train):
    proc, base, env = running_train
    out = subprocess.run([sys.executable, "-m", "gan_lessons", "train", "--dataset", "digits", "--steps", "5",
                          "--out", str(base / "run")], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("error: --out") and f"in use by pid {proc.pid}" in line, out.stderr
    assert proc.poll() is None, "the first run goes on"


def test_sigterm_saves_a_checkpoint_and_exits_143(running_train):
    import signal

    proc, base, _ = running_train
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    err = (base / "stderr.txt").read_text()
    assert "Traceback" not in err
    step = int(re.search(r"terminated \(SIGTERM\) at step (\d+); checkpoint saved", err).group(1))
    assert step >= 3
    assert training.read_checkpoint(base / "run" / "checkpoint.npz")[1]["step"] == step
    assert not (base / "run" / ".train.lock").exists() and not list((base / "run").glob(".part-*"))
