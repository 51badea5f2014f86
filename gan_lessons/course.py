"""The course itself: its lessons, rendering notebooks, and the README's lesson table.

Used by instructors and by the test suite, not by the lessons:

* ``python -m gan_lessons render notebooks/01_*.ipynb`` re-executes a notebook in
  full mode and stores its outputs, stamped with hashes of its code cells, of its
  outputs and of each ``gan_lessons`` module it depends on, so a test can tell when
  stored outputs no longer match the code or the library (``render --stale``
  re-renders exactly those notebooks, ``render --check`` lists them);
* ``python -m gan_lessons badges`` rewrites the README's lesson table and every
  notebook's Colab cell from the one ``repository`` setting in pyproject.toml.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
"""The repository of an editable install (see :func:`find_root` for the others)."""
NOTEBOOKS = ROOT / "notebooks"
RENDER_COMMAND = "python -m gan_lessons render"

# number, slug, title, what the student leaves knowing
LESSONS = [
    ("00", "start_here", "Start here", "run the course anywhere; the data; the device"),
    ("01", "minimax_objective", "The minimax objective", "V(D,G), the optimal D*, JSD, saturating vs non-saturating loss, checked numerically"),
    ("02", "gan_you_can_watch", "A GAN you can watch", "a 2-D GAN trained step by step in an interactive playground; mode collapse counted"),
    ("03", "generator_and_discriminator", "Generator and discriminator", "the seed's networks, why they don't fit together, the DCGAN fix"),
    ("04", "training_loop_corrected", "The training loop, corrected", "every defect of the seed's loop, fixed one at a time; a tf.function step"),
    ("05", "keras_native_training", "Keras-native training", "train_step, fit, callbacks, checkpoints that resume exactly, speed options"),
    ("06", "evaluating_gans", "Evaluating GANs", "FID with a domain classifier, KID, precision/recall, mode coverage, nearest neighbours and a memorisation check"),
    ("07", "stabilizing_training", "Stabilizing training", "two failures (G outruns D, D wins) and which remedy fixes which, over 3 seeds; W₁ and the Lipschitz critic; game dynamics (Dirac-GAN)"),
    ("08", "controllable_generation", "Controllable generation", "conditional GAN with labels checked, InfoGAN measured over seeds, latent walks and truncation"),
    ("09", "gans_against_counterfeits", "GANs against counterfeits", "fake detectors, 8-bit fakes, spectral forensics, attribution, anomaly scores, the arms race, measured"),
    ("10", "gans_and_data_privacy", "GANs and data privacy", "memorisation, membership inference, DP-SGD by hand, ε with dp-accounting, the utility it costs"),
    ("11", "challenges_and_the_road_ahead", "Challenges and the road ahead", "compute cost counted and timed, two devices, bad and small data with DiffAugment, what D looks at, a latent direction; the bibliography"),
]

SETUP_TAG = "colab-setup"
NOISE = ("absl::InitializeLog", "cuda_dri", "cuInit", "oneDNN custom operations",
         "cpu_feature_guard", "Traceback (most recent call last)", "computation_placer",
         "TF-TRT Warning", "Unable to register cu")
# What current ipykernel writes (ipykernel.kernelspec.get_kernel_dict): stored as is, so that
# JupyterLab finds nothing to update when a lesson opens and never marks it modified.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def is_course_root(path) -> bool:
    """True when ``path`` is the course repository: notebooks/ and a pyproject.toml with [tool.gan_lessons]."""
    path = Path(path)
    try:
        return (path / "notebooks").is_dir() and "[tool.gan_lessons]" in (path / "pyproject.toml").read_text()
    except (OSError, UnicodeDecodeError):
        return False


def find_root(repo=None) -> Path:
    """The course repository: ``repo`` if given, else the current folder or one above it, else the
    folder above an editable install's package. ValueError when there is none (a regular install
    keeps no notebooks or README in site-packages)."""
    if repo is not None:
        if not is_course_root(repo):
            raise ValueError(f"--repo {str(repo)!r} is not the course repository (expected notebooks/ and a "
                             "pyproject.toml with [tool.gan_lessons])")
        return Path(repo).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if is_course_root(folder):
            return folder
    if is_course_root(ROOT):
        return ROOT
    raise ValueError("not inside the course repository (the folder that holds notebooks/ and pyproject.toml); "
                     "run it there or pass --repo PATH")


def repository(root=None) -> tuple[str, str]:
    """(owner/name, branch) from pyproject.toml's [tool.gan_lessons]."""
    text = (Path(root or ROOT) / "pyproject.toml").read_text()
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


def _text(value):
    return "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value


def outputs_hash(nb: dict) -> str:
    """SHA-256 of every code cell's stored outputs (multi-line strings joined, keys sorted)."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            out = {k: (({m: _text(v) for m, v in val.items()} if k == "data" else _text(val))
                       if k in ("text", "data") else val) for k, val in dict(out).items()}
            h.update(json.dumps(out, sort_keys=True, default=str).encode() + b"\n")
        h.update(b"\x00")
    return h.hexdigest()


def _imported_modules(tree: ast.AST, inside_package: bool) -> set[str]:
    """gan_lessons modules named by the imports of one parsed source."""
    names = set()
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "gan_lessons":
                    names.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 and inside_package:
                base = node.module
            elif node.level == 0 and node.module and node.module.split(".")[0] == "gan_lessons":
                parts = node.module.split(".")
                base = parts[1] if len(parts) > 1 else None
            else:
                continue
            if base is None:  # from gan_lessons import x, y / from . import x
                names.update(a.name if a.name in modules else "__init__" for a in node.names)
            else:
                names.add(base)
    return {n for n in names if n in modules}


def _code_of(nb: dict) -> str:
    lines = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line in src.splitlines():  # IPython magics and shell lines are not Python
            lines.append("pass" if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines)


def module_dependencies(nb: dict) -> list[str]:
    """The gan_lessons modules a notebook runs: its imports of gan_lessons, followed transitively."""
    code = _code_of(nb)
    try:
        found = _imported_modules(ast.parse(code), inside_package=False)
    except SyntaxError:  # one odd cell must not hide the others' imports: parse cell by cell
        found = set()
        for cell_code in code.split("\n\n"):
            try:
                found |= _imported_modules(ast.parse(cell_code), inside_package=False)
            except SyntaxError:
                found |= {m for m in re.findall(r"gan_lessons(?:\.| import )(\w+)", cell_code)}
        found &= {p.stem for p in PACKAGE.glob("*.py")}
    if not found:
        return []
    found.add("__init__")  # importing any module runs the package's __init__ first
    todo, seen = list(found), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        todo.extend(_imported_modules(tree, inside_package=True) - seen)
    return sorted(seen)


def module_hashes(names) -> dict:
    """SHA-256 of each named gan_lessons module's source file."""
    return {n: hashlib.sha256((PACKAGE / f"{n}.py").read_bytes()).hexdigest() for n in names}


def content_stamp(nb: dict) -> dict:
    """The hashes :func:`render` stores: code cells, outputs, and each gan_lessons module the notebook runs."""
    return {"source_sha256": source_hash(nb), "outputs_sha256": outputs_hash(nb),
            "modules_sha256": module_hashes(module_dependencies(nb))}


def stored_stamp(nb: dict) -> dict:
    return nb.get("metadata", {}).get("gan_lessons", {})


def read_notebook(path):
    """Read and validate a notebook file; ValueError naming the file when it is not one."""
    import nbformat

    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"{str(path)!r} is not a notebook (expected a .ipynb file)")
    try:
        nb = nbformat.read(path, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - JSON errors, nbformat errors, validation errors
        text = " ".join(str(err).split())[:160] or err.__class__.__name__
        raise ValueError(f"{str(path)!r} is not a valid notebook ({text})") from err
    return nb


def colab_cell_source(slug_path: str | None = None, root=None) -> str:
    repo, branch = repository(root)
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
    """Execute a notebook top to bottom and store its outputs and a stamp.

    The stamp holds SHA-256 hashes of the code cells, of the outputs and of each
    gan_lessons module the notebook depends on (:func:`module_dependencies`).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"path={str(path)!r}: expected an existing .ipynb file")
    nb = read_notebook(path)
    file_before = path.read_bytes()
    modules_before = module_hashes(module_dependencies(nb))
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

    stamp = content_stamp(nb)
    changed = sorted(m for m in set(modules_before) | set(stamp["modules_sha256"])
                     if modules_before.get(m) != stamp["modules_sha256"].get(m))
    if changed:  # the outputs would be stamped as fresh for a library they did not run
        raise ValueError(f"{path}: gan_lessons/{', gan_lessons/'.join(m + '.py' for m in changed)} changed while it "
                         f"was rendering; nothing was written: run {RENDER_COMMAND} {path} again")
    if path.read_bytes() != file_before:  # never overwrite an edit made meanwhile
        raise ValueError(f"{path} was edited while it was rendering; nothing was written: "
                         f"run {RENDER_COMMAND} {path} again")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    mark_exercises(nb, path.name[:2])  # nbgrader's metadata on every exercise (cell metadata: not stamped)
    for cell in nb.cells:  # nbformat 4.5 wants an id on every cell
        cell.setdefault("id", uuid.uuid4().hex[:8])
    nb.metadata["gan_lessons"] = {
        **stamp,
        "mode": "quick" if quick else "full",
        "seconds": round(seconds, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return nb.metadata["gan_lessons"]


def badges_markdown(num: str, slug: str, root=None) -> str:
    repo, branch = repository(root)
    nbfile = f"notebooks/{num}_{slug}.ipynb"
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{nbfile}"
    binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?labpath={nbfile.replace('/', '%2F')}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def lesson_table(root=None) -> str:
    import nbformat

    root = Path(root or ROOT)
    rows = ["| # | Lesson | You learn | CPU min (full) | GPU min | Open |",
            "|---|---|---|---|---|---|"]
    for num, slug, title, learn in LESSONS:
        path = root / "notebooks" / f"{num}_{slug}.ipynb"
        if not path.exists():
            continue
        stamp = stored_stamp(nbformat.read(path, as_version=4))
        cpu = f"{stamp['seconds'] / 60:.1f}" if stamp.get("mode") == "full" else "?"
        gpu = f"{stamp['gpu_seconds'] / 60:.1f}" if stamp.get("gpu_seconds") else "n/m"
        rows.append(f"| {num} | [{title}](notebooks/{num}_{slug}.ipynb) | {learn} | {cpu} | {gpu} | "
                    f"{badges_markdown(num, slug, root)} |")
    return "\n".join(rows)


def update_badges(root=None) -> list[str]:
    """Rewrite the README lesson table and each notebook's Colab cell; returns what changed."""
    import nbformat

    root = Path(root or ROOT)
    changed = []
    readme = root / "README.md"
    text = readme.read_text()
    # the markers may hold an old table or nothing at all (then only one newline separates them)
    new = re.sub(r"(<!-- lessons:start -->)\n(?:.*?\n)?(<!-- lessons:end -->)",
                 lambda m: m.group(1) + "\n" + lesson_table(root) + "\n" + m.group(2), text, flags=re.S)
    if new != text:
        readme.write_text(new)
        changed.append(str(readme))
    setup = colab_cell_source(root=root).rstrip("\n")
    for num, slug, *_ in LESSONS:
        path = root / "notebooks" / f"{num}_{slug}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if SETUP_TAG in cell.metadata.get("tags", []) and cell.source != setup:
                cell.source = setup
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


def stale_reasons(nb: dict, name: str) -> list[str]:
    """Why a notebook's stored outputs are not those of its current code and library (empty: fresh)."""
    stamp = stored_stamp(nb)
    again = f"run {RENDER_COMMAND} {name} (or {RENDER_COMMAND} --stale)"
    if "outputs_sha256" not in stamp or "modules_sha256" not in stamp:
        return [f"rendered before stamps recorded the outputs and the gan_lessons modules: {again}"]
    reasons = []
    if stamp.get("source_sha256") != source_hash(nb):
        reasons.append(f"code changed since the outputs were rendered: {again}")
    if stamp.get("outputs_sha256") != outputs_hash(nb):
        reasons.append(f"stored outputs were edited or removed since the render: {again}")
    now = module_hashes(module_dependencies(nb))
    then = stamp.get("modules_sha256") or {}
    changed = sorted(m for m in set(now) | set(then) if now.get(m) != then.get(m))
    if changed:
        files = ", ".join(f"gan_lessons/{m}.py" for m in changed)
        reasons.append(f"{files} changed since the outputs were rendered: {again}")
    return reasons


def check_stored(path) -> list[str]:
    """Problems with a notebook's stored outputs (empty when all is well)."""
    path = Path(path)
    nb = read_notebook(path)
    stamp = stored_stamp(nb)
    problems = []
    if stamp.get("mode") != "full":
        problems.append(f"outputs were not rendered in full mode (mode={stamp.get('mode')!r})")
    problems += stale_reasons(nb, str(path))
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


def stale_notebooks(root=None) -> list[tuple[Path, list[str]]]:
    """The notebooks under ``root``/notebooks whose stamp marks them stale (or not full mode), with why."""
    root = Path(root or ROOT)
    out = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = read_notebook(path)
        reasons = stale_reasons(nb, str(path.relative_to(root)))
        if stored_stamp(nb).get("mode") != "full":
            reasons.insert(0, f"outputs were not rendered in full mode: run {RENDER_COMMAND} "
                              f"{path.relative_to(root)}")
        if reasons:
            out.append((path, reasons))
    return out


# --------------------------------------------------------------------------- exercises: nbgrader and student copies
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
NBGRADER_SCHEMA = 3


def _cell_text(cell) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def student_source(source: str) -> str:
    """``source`` with every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region replaced by the stub.

    The stub (``# YOUR CODE HERE`` and ``raise NotImplementedError()``) takes the
    indentation of the BEGIN line. ValueError when the markers do not pair up.
    """
    out, inside, indent = [], False, ""
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == SOLUTION_BEGIN:
            if inside:
                raise ValueError(f"line {number}: {SOLUTION_BEGIN!r} inside another solution region")
            inside, indent = True, line[:len(line) - len(line.lstrip())]
            out.extend(f"{indent}{stub}\n" for stub in STUB_LINES)
        elif stripped == SOLUTION_END:
            if not inside:
                raise ValueError(f"line {number}: {SOLUTION_END!r} without {SOLUTION_BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{SOLUTION_BEGIN!r} without {SOLUTION_END!r}")
    return "".join(out)


def exercises(nb) -> list[tuple[int, int | None]]:
    """``(solution cell, check cell)`` indices of a notebook's exercises (lesson notebooks' convention).

    A solution cell is a code cell holding ``### BEGIN SOLUTION``; its check cell is
    the next code cell when that one calls ``checks.check_…``, else None.
    """
    found = []
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or SOLUTION_BEGIN not in _cell_text(cell):
            continue
        nxt = next((j for j in range(i + 1, len(cells)) if cells[j].get("cell_type") == "code"), None)
        found.append((i, nxt if nxt is not None and "checks.check_" in _cell_text(cells[nxt]) else None))
    return found


def mark_exercises(nb, lesson: str) -> int:
    """Give each exercise's cells nbgrader's metadata (schema 3); returns the number of exercises.

    Solution cells: ``solution`` true, not graded, not locked. Check cells: graded,
    locked, 1 point. ``grade_id``s are ``"{lesson}-ex{k}"`` and ``"{lesson}-ex{k}-check"``.
    """
    found = exercises(nb)
    for k, (sol, chk) in enumerate(found, 1):
        nb["cells"][sol].setdefault("metadata", {})["nbgrader"] = {
            "grade": False, "grade_id": f"{lesson}-ex{k}", "locked": False, "schema_version": NBGRADER_SCHEMA,
            "solution": True, "task": False}
        if chk is not None:
            nb["cells"][chk].setdefault("metadata", {})["nbgrader"] = {
                "grade": True, "grade_id": f"{lesson}-ex{k}-check", "locked": True, "points": 1,
                "schema_version": NBGRADER_SCHEMA, "solution": False, "task": False}
    return len(found)


def student_copy(nb, lesson: str):
    """A copy of ``nb`` for students: solutions replaced by stubs, their and their checks' outputs cleared."""
    import copy

    nb = copy.deepcopy(nb)
    mark_exercises(nb, lesson)
    for sol, chk in exercises(nb):
        cell = nb["cells"][sol]
        cell["source"] = student_source(_cell_text(cell))
        for i in (sol, chk):
            if i is not None:
                nb["cells"][i]["outputs"] = []
                nb["cells"][i]["execution_count"] = None
    nb.get("metadata", {}).pop("gan_lessons", None)  # a student copy is not a rendered lesson
    return nb


def write_student_copies(out, root=None) -> list[Path]:
    """Write every lesson's student copy to ``out/notebooks/`` (atomically); returns the paths written."""
    import nbformat

    from .runtime import atomic_write

    root = find_root(root)
    out = Path(out)
    if out.resolve() == root.resolve() or (root / "notebooks").resolve() in [out.resolve(), *out.resolve().parents]:
        raise ValueError(f"--out {str(out)!r} would overwrite the course's own notebooks; choose a folder outside "
                         f"{str(root / 'notebooks')!r}")
    written = []
    for num, slug, *_ in LESSONS:
        src = root / "notebooks" / f"{num}_{slug}.ipynb"
        if not src.exists():
            continue
        nb = student_copy(read_notebook(src), num)
        nbformat.validate(nb)
        dest = out / "notebooks" / src.name
        atomic_write(dest, lambda fh, nb=nb: fh.write((nbformat.writes(nb) + "\n").encode()))
        written.append(dest)
    return written
