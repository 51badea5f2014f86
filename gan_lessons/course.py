"""The course itself: its lessons, rendering notebooks, and the README's lesson table.

Used by instructors and by the test suite, not by the lessons:

* ``python -m gan_lessons render notebooks/01_*.ipynb`` re-executes a notebook in
  full mode and stores its outputs, stamped with a hash of its code cells, so a
  test can tell when stored outputs no longer match the code;
* ``python -m gan_lessons badges`` rewrites the README's lesson table and every
  notebook's Colab cell from the one ``repository`` setting in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# number, slug, title, what the student leaves knowing
LESSONS = [
    ("00", "start_here", "Start here", "run the course anywhere; the data; the device"),
    ("01", "minimax_objective", "The minimax objective", "V(D,G), the optimal D*, JSD, saturating vs non-saturating loss, checked numerically"),
    ("02", "gan_you_can_watch", "A GAN you can watch", "a 2-D GAN trained step by step in an interactive playground; mode collapse counted"),
    ("03", "generator_and_discriminator", "Generator and discriminator", "the seed's networks, why they don't fit together, the DCGAN fix"),
    ("04", "training_loop_corrected", "The training loop, corrected", "every defect of the seed's loop, fixed one at a time; a tf.function step"),
    ("05", "keras_native_training", "Keras-native training", "train_step, fit, callbacks, checkpoints that resume exactly, speed options"),
    ("06", "evaluating_gans", "Evaluating GANs", "FID with a domain classifier, KID, precision/recall, mode coverage"),
    ("07", "stabilizing_training", "Stabilizing training", "mode collapse, label smoothing, WGAN(-GP), spectral norm, measured"),
    ("10", "gans_and_data_privacy", "GANs and data privacy", "memorisation, membership inference, DP-SGD by hand, ε with dp-accounting, the utility it costs"),
]

SETUP_TAG = "colab-setup"
NOISE = ("absl::InitializeLog", "cuda_dri", "cuInit", "oneDNN custom operations",
         "cpu_feature_guard", "Traceback (most recent call last)", "computation_placer",
         "TF-TRT Warning", "Unable to register cu")


def repository() -> tuple[str, str]:
    """(owner/name, branch) from pyproject.toml's [tool.gan_lessons]."""
    text = (ROOT / "pyproject.toml").read_text()
    repo = re.search(r'^repository\s*=\s*"([^"]+)"', text, re.M)
    branch = re.search(r'^branch\s*=\s*"([^"]+)"', text, re.M)
    if not repo:
        raise ValueError("pyproject.toml has no [tool.gan_lessons] repository = \"owner/name\"")
    return repo.group(1), (branch.group(1) if branch else "main")


def notebook_path(number: str) -> Path:
    for num, slug, *_ in LESSONS:
        if num == number:
            return NOTEBOOKS / f"{num}_{slug}.ipynb"
    raise ValueError(f"lesson {number!r} does not exist; expected one of {', '.join(n for n, *_ in LESSONS)}")


def source_hash(nb: dict) -> str:
    """SHA-256 of a notebook's code cells (the Colab setup cell excluded)."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code" or SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        h.update(src.strip().encode() + b"\n\x00")
    return h.hexdigest()


def stored_stamp(nb: dict) -> dict:
    return nb.get("metadata", {}).get("gan_lessons", {})


def colab_cell_source(slug_path: str | None = None) -> str:
    repo, branch = repository()
    return (
        "# On Colab only: install the course's helper package. TensorFlow and ipywidgets\n"
        "# are already there and are not reinstalled. Elsewhere this cell does nothing.\n"
        "import sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    %pip install -q \"gan-lessons @ git+https://github.com/{repo}@{branch}\"\n"
    )


def _noise_free(outputs: list) -> list:
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = "".join(out.get("text", ""))
            lines = [ln for ln in text.splitlines(True) if not any(n in ln for n in NOISE)]
            if not "".join(lines).strip():
                continue
            out = type(out)(dict(out, text="".join(lines)))  # keep nbformat's NotebookNode
        kept.append(out)
    return kept


def render(path, quick: bool = False, timeout: int = 1800) -> dict:
    """Execute a notebook top to bottom and store its outputs and a source stamp."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"path={str(path)!r}: expected an existing .ipynb file")
    nb = nbformat.read(path, as_version=4)
    env_before = {k: os.environ.get(k) for k in ("GAN_LESSONS_QUICK", "TF_CPP_MIN_LOG_LEVEL", "MPLBACKEND")}
    os.environ["GAN_LESSONS_QUICK"] = "1" if quick else "0"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.pop("MPLBACKEND", None)
    start = time.time()
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        )
        client.execute()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.time() - start
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _noise_free(cell.outputs)
            cell.metadata.pop("execution", None)
            for out in cell.outputs:  # an expected error is stored as one short line
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out['ename']}: {out['evalue']}"]
    import keras
    import tensorflow as tf

    nb.metadata["gan_lessons"] = {
        "source_sha256": source_hash(nb),
        "mode": "quick" if quick else "full",
        "seconds": round(seconds, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return nb.metadata["gan_lessons"]


def badges_markdown(num: str, slug: str) -> str:
    repo, branch = repository()
    nbfile = f"notebooks/{num}_{slug}.ipynb"
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{nbfile}"
    binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?labpath={nbfile.replace('/', '%2F')}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def lesson_table() -> str:
    import nbformat

    rows = ["| # | Lesson | You learn | CPU min (full) | GPU min | Open |",
            "|---|---|---|---|---|---|"]
    for num, slug, title, learn in LESSONS:
        path = NOTEBOOKS / f"{num}_{slug}.ipynb"
        if not path.exists():
            continue
        stamp = stored_stamp(nbformat.read(path, as_version=4))
        cpu = f"{stamp['seconds'] / 60:.1f}" if stamp.get("mode") == "full" else "?"
        gpu = f"{stamp['gpu_seconds'] / 60:.1f}" if stamp.get("gpu_seconds") else "n/m"
        rows.append(f"| {num} | [{title}](notebooks/{num}_{slug}.ipynb) | {learn} | {cpu} | {gpu} | "
                    f"{badges_markdown(num, slug)} |")
    return "\n".join(rows)


def update_badges() -> list[str]:
    """Rewrite the README lesson table and each notebook's Colab cell; returns what changed."""
    import nbformat

    changed = []
    readme = ROOT / "README.md"
    text = readme.read_text()
    # the markers may hold an old table or nothing at all (then only one newline separates them)
    new = re.sub(r"(<!-- lessons:start -->)\n(?:.*?\n)?(<!-- lessons:end -->)",
                 lambda m: m.group(1) + "\n" + lesson_table() + "\n" + m.group(2), text, flags=re.S)
    if new != text:
        readme.write_text(new)
        changed.append(str(readme))
    for num, slug, *_ in LESSONS:
        path = NOTEBOOKS / f"{num}_{slug}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if SETUP_TAG in cell.metadata.get("tags", []) and cell.source != colab_cell_source().rstrip("\n"):
                cell.source = colab_cell_source().rstrip("\n")
                nbformat.write(nb, path)
                changed.append(str(path))
                break
    return changed


def main_render(paths: list[str], quick: bool) -> int:
    for p in paths:
        t = time.time()
        stamp = render(p, quick=quick)
        print(f"{p}: rendered in {stamp['mode']} mode, {time.time() - t:.0f} s", file=sys.stderr)
    return 0


def check_stored(path) -> list[str]:
    """Problems with a notebook's stored outputs (empty when all is well)."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    stamp = stored_stamp(nb)
    problems = []
    if stamp.get("mode") != "full":
        problems.append(f"outputs were not rendered in full mode (mode={stamp.get('mode')!r})")
    if stamp.get("source_sha256") != source_hash(nb):
        problems.append("code changed since the outputs were rendered: run python -m gan_lessons render " + str(path))
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SETUP_TAG in cell.metadata.get("tags", []):
            continue
        if cell.execution_count is None:
            problems.append(f"cell {i} was never executed")
        text = json.dumps(cell.outputs)
        for n in NOISE:
            if n in text and "raises-exception" not in cell.metadata.get("tags", []):
                problems.append(f"cell {i} output contains log noise {n!r}")
        if any(o.get("output_type") == "error" for o in cell.outputs) and \
                "raises-exception" not in cell.metadata.get("tags", []):
            problems.append(f"cell {i} stored an error")
    return problems
