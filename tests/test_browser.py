"""Lessons 00 and 02 in a real browser: JupyterLab on localhost, driven through headless Chromium.

Each test starts JupyterLab on a free port of 127.0.0.1 with a token, in a temporary
copy of the lesson (so autosave never touches the repository), and opens the lesson in
Chromium through Playwright.

* Lesson 00: opening it changes nothing (the tab is not marked modified, the file's bytes
  stay the same), and running its first cells (the imports, which load TensorFlow) shows
  no red stderr block and saves no log noise.
* Lesson 02: runs the cells up to the playground, clicks **run**, waits until the step
  counter has advanced, pauses, and compares screenshots.

Screenshots are kept in ``$TMPDIR/gan_lessons_browser/`` for a human to look at.

The browser is ``$GAN_LESSONS_CHROMIUM`` or /usr/bin/chromium (Debian's package). Without a
usable one (missing, or Ubuntu's shim for the chromium snap, which Playwright cannot drive)
or without Playwright the tests are skipped with the reason, unless
``GAN_LESSONS_REQUIRE_BROWSER=1`` (set by CI), where they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "02_gan_you_can_watch.ipynb"
START = ROOT / "notebooks" / "00_start_here.ipynb"
CHROMIUM = os.environ.get("GAN_LESSONS_CHROMIUM") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
SHOTS = Path(tempfile.gettempdir()) / "gan_lessons_browser"
STEP = re.compile(r"step (\d+)")


def _unavailable(reason: str):
    if os.environ.get("GAN_LESSONS_REQUIRE_BROWSER", "").strip() == "1":
        pytest.fail(f"GAN_LESSONS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(condition, timeout: float, what: str, interval: float = 0.25):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _snap_shim(path: str) -> bool:
    """Ubuntu's `chromium`/`chromium-browser` apt packages install a script that runs the snap."""
    if os.path.realpath(path).startswith("/snap/"):
        return True
    try:
        head = Path(path).read_bytes()[:4096]
    except OSError:
        return False
    return not head.startswith(b"\x7fELF") and b"snap" in head


def _check_browser():
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (Debian: apt-get install chromium; elsewhere set GAN_LESSONS_CHROMIUM "
                     "to a Chromium or Google Chrome executable)")
    if _snap_shim(CHROMIUM):
        _unavailable(f"{CHROMIUM} is Ubuntu's shim for the chromium snap, which Playwright cannot drive; "
                     "set GAN_LESSONS_CHROMIUM to another Chromium/Chrome (e.g. /usr/bin/google-chrome)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of lesson 02; stopped and cleaned up afterwards."""
    with _lab_server(tmp_path, LESSON) as server:
        yield server


@pytest.fixture
def lab00(tmp_path):
    """The same for lesson 00, with the environment a new user has (no TF_CPP_MIN_LOG_LEVEL)."""
    with _lab_server(tmp_path, START, quiet_tf=False) as server:
        yield server


@contextlib.contextmanager
def _lab_server(tmp_path, lesson: Path, quiet_tf: bool = True):
    _check_browser()
    if not lesson.is_file():
        pytest.fail(f"{lesson} is missing")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(lesson, root / lesson.name)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                          "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, GAN_LESSONS_QUICK="1", TF_CPP_MIN_LOG_LEVEL="3",
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    env.pop("MPLBACKEND", None)
    # as for a student: ipykernel forwards descriptor 2 (C++ output) to the notebook only outside pytest
    env.pop("PYTEST_CURRENT_TEST", None)
    if not quiet_tf:
        env.pop("TF_CPP_MIN_LOG_LEVEL")
        env.pop("GAN_LESSONS_TF_LOGS", None)
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {proc.returncode}:\n{(tmp_path / 'lab.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait_until(ready, 60, "JupyterLab to answer")
        yield {"url": f"{base}/lab/tree/{lesson.name}?token={token}", "root": root, "log": tmp_path / "lab.log",
               "path": root / lesson.name}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started (its own session)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


def _step(page) -> int:
    text = page.locator(".gan-playground-status").inner_text()
    m = STEP.search(text)
    assert m, f"no step counter in {text!r}"
    return int(m.group(1))


def test_playground_runs_in_a_real_browser(lab):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}"
    start = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            before, after, steps = _drive(page, lab, tag)
        except BaseException:
            page.screenshot(path=str(SHOTS / f"failure_{tag}.png"))
            raise
        finally:
            browser.close()
    seconds = time.monotonic() - start
    print(f"browser test: {steps} steps, {seconds:.0f} s in the browser; screenshots in {SHOTS}")
    assert 100 <= steps <= 500  # one click trains at most steps_per_click = 500 steps
    assert before != after, "the playground's view did not change"


def _image_loaded(page):
    page.wait_for_function("() => { const i = document.querySelector('.gan-playground img');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)


def _open(page, lab):
    page.goto(lab["url"], timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # the kernel has started and is idle (status bar: "Python 3 (ipykernel) | Idle")
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=90_000)


def _run_from_the_top(page, count: int):
    """Clear all outputs, then run the first `count` cells one at a time, each to completion."""
    # start from a clean slate: the stored outputs (and their execution counts) go
    page.locator(".lm-MenuBar-item", has_text="Edit").click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^\s*Clear Outputs of All Cells")).click()
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")
    for i in range(count):
        cell = page.locator(".jp-Notebook .jp-Cell.jp-mod-active").element_handle()
        code = "jp-CodeCell" in (cell.get_attribute("class") or "")
        page.keyboard.press("Shift+Enter")
        if code:
            cell.wait_for_element_state("stable")
            page.wait_for_function(
                "c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').innerText)", arg=cell,
                timeout=120_000)
            text = cell.inner_text()
            assert "Traceback" not in text, f"cell {i} failed:\n{text}"


def _dirty(page) -> bool:
    """JupyterLab marks the tab of a document with unsaved changes with jp-mod-dirty."""
    return page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0


def test_lesson_00_opens_unmodified_and_runs_without_log_noise(lab00):
    from playwright.sync_api import sync_playwright

    from gan_lessons import course, runtime

    SHOTS.mkdir(parents=True, exist_ok=True)
    path = lab00["path"]
    original = path.read_bytes()
    cells = json.loads(original)["cells"]
    # the first cells: the Colab cell, the imports (which load TensorFlow), the environment report, the seeds
    last = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("import tensorflow as tf"))
    noise = course.NOISE + runtime.TF_STARTUP_NOISE
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            _open(page, lab00)
            time.sleep(3.0)  # time for JupyterLab to write back any metadata it wanted to change
            assert not _dirty(page), "opening lesson 00 marked it modified"
            assert path.read_bytes() == original, "opening lesson 00 rewrote the file"

            _run_from_the_top(page, last + 1)
            time.sleep(2.0)  # late stream messages arrive after the execution count
            stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            assert stderr.count() == 0, "a stderr block is shown:\n" + "\n".join(stderr.all_inner_texts())
            shown = "\n".join(page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts())
            assert not [n for n in noise if n in shown], f"log noise shown: {[n for n in noise if n in shown]}"
            page.screenshot(path=str(SHOTS / f"lesson00_{os.getpid()}.png"))

            # what an autosave would store: no stderr, no noise, the same kernelspec
            page.keyboard.press("Control+s")
            _wait_until(lambda: not _dirty(page) and path.read_bytes() != original, 30, "the save")
        except BaseException:
            page.screenshot(path=str(SHOTS / f"failure_lesson00_{os.getpid()}.png"))
            raise
        finally:
            browser.close()
    saved = json.loads(path.read_text())
    assert saved["metadata"]["kernelspec"] == json.loads(original)["metadata"]["kernelspec"] == course.KERNELSPEC
    outputs = [o for c in saved["cells"][: last + 1] if c["cell_type"] == "code" for o in c["outputs"]]
    assert outputs, "the run stored no outputs"
    assert not [o for o in outputs if o.get("name") == "stderr"], "a stderr output was saved"
    assert not [n for n in noise if n in json.dumps(outputs)]


def _drive(page, lab, tag):
    _open(page, lab)

    # run the cells from the top down to the playground, one at a time, each to completion
    sources = ["".join(c["source"]) for c in json.loads(LESSON.read_text())["cells"]]
    matches = [i for i, src in enumerate(sources) if src.strip().startswith("pg = Playground()")]
    assert len(matches) == 1, "the lesson has no single 'pg = Playground()' cell"
    _run_from_the_top(page, matches[0] + 1)

    box = page.locator(".gan-playground")
    box.wait_for(state="attached", timeout=100_000)
    box.scroll_into_view_if_needed()
    run = box.locator(".jupyter-button", has_text=re.compile(r"^\s*run\s*$"))
    run.wait_for(state="visible", timeout=30_000)
    _image_loaded(page)
    trained_first = re.search(r"pg\.run\((\d+)\)", sources[matches[0]])  # the cell may train a few steps first
    start = int(trained_first.group(1)) if trained_first else 0
    assert _step(page) == start
    before = box.screenshot(path=str(SHOTS / f"before_{tag}.png"))

    run.click()
    _wait_until(lambda: _step(page) >= start + 100, 60, f"the step counter to reach {start + 100}")
    pause = box.locator(".jupyter-button", has_text=re.compile(r"^\s*pause\s*$"))
    if pause.count():  # still running: pausing must work while it trains
        pause.click()
    _wait_until(lambda: "running" not in page.locator(".gan-playground-status").inner_text(), 60,
                "the run to pause or finish")
    reached = _step(page)
    _image_loaded(page)
    after = box.screenshot(path=str(SHOTS / f"after_{tag}.png"))
    page.screenshot(path=str(SHOTS / f"page_{tag}.png"))
    time.sleep(1.0)
    assert _step(page) == reached, "the step counter still moves after pause"
    return before, after, reached - start
