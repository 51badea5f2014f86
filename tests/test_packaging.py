"""The install story: pinned requirements, Binder's copy of them, pyproject's loose bounds, CI, README."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in requirement_lines(path):
        if line.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([A-Za-z0-9_.*\-]+)", line)
        assert m, f"{path.name}: {line!r} is not pinned with =="
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_requirements_pin_the_stack():
    p = pins(ROOT / "requirements.txt")
    assert re.fullmatch(r"2\.21(\.\d+|\.\*)?", p["tensorflow"]), p["tensorflow"]
    assert p["keras"].startswith("3.")
    assert p["jupyterlab"].startswith("4.")
    for name in ("ipywidgets", "matplotlib", "nbval", "pytest", "numpy", "scipy", "scikit-learn", "tqdm",
                 "pytest-xdist", "ipykernel", "nbclient", "nbformat"):
        assert name in p, f"requirements.txt does not pin {name}"
    assert "-e ." in requirement_lines(ROOT / "requirements.txt"), "requirements.txt must install gan_lessons (-e .)"


def test_binder_requirements_agree_with_the_main_ones():
    main = pins(ROOT / "requirements.txt")
    binder = pins(ROOT / "binder" / "requirements.txt")
    for name in ("tensorflow", "keras", "jupyterlab", "ipywidgets", "matplotlib", "numpy", "scipy", "scikit-learn"):
        assert name in binder, f"binder/requirements.txt does not pin {name}"
    disagree = {n: (v, main.get(n)) for n, v in binder.items() if main.get(n) != v}
    assert not disagree, f"binder pins differ from requirements.txt (binder, main): {disagree}"
    assert "-e ." in requirement_lines(ROOT / "binder" / "requirements.txt")


def test_binder_runtime_and_apt():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "dataset-fashion-mnist" in requirement_lines(ROOT / "binder" / "apt.txt")


def test_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["requires-python"].replace(" ", "") == ">=3.10"
    deps = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    for dep in deps.values():  # loose lower bounds only, so that Colab reinstalls nothing
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+>=[0-9.]+", dep.replace(" ", "")), f"{dep!r} is not a lower bound"
    floor = {"tensorflow": (2, 20), "keras": (3, 13), "ipywidgets": (7, 7)}  # what Colab ships
    for name, colab in floor.items():
        assert name in deps, f"pyproject does not depend on {name}"
        low = tuple(int(x) for x in deps[name].split(">=")[1].split(".")[:2])
        assert low <= colab, f"{deps[name]} would make Colab reinstall {name} (it has {colab})"
    assert meta["tool"]["setuptools"]["packages"] == ["gan_lessons"]
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", meta["tool"]["gan_lessons"]["repository"])


def test_readme_has_exactly_two_commands():
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    install = "python3 -m pip install -r requirements.txt"
    assert cmds[0].startswith(install + " && ") and "jupyter lab" in cmds[0]
    assert cmds[1] == install + " && python3 -m pytest"
    assert "\n" not in cmds[0] and "\n" not in cmds[1]


def test_ci_installs_from_scratch_and_runs_the_readme_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert script.startswith("#!") and "set -euo pipefail" in script
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"
    update = next(i for i, ln in enumerate(lines) if re.match(r"(sudo )?apt-get update\b", ln))
    install = next(i for i, ln in enumerate(lines) if re.match(r"(sudo )?apt-get install\b", ln))
    assert update < install and "dataset-fashion-mnist" in lines[install].split()
    test_command = readme_commands()[1]
    assert test_command in lines, ".ci/run must run the README's test command exactly"
    assert lines.index(test_command) > install


def test_lesson_00_repeats_the_readme_commands():
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for cmd in readme_commands():
        assert cmd in text, f"lesson 00 does not show the README command {cmd!r}"


def test_readme_lists_every_notebook_with_its_badges():
    from gan_lessons import course

    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- lessons:start -->", 1)[1].split("<!-- lessons:end -->", 1)[0]
    for num, slug, *_ in course.LESSONS:
        if (ROOT / "notebooks" / f"{num}_{slug}.ipynb").exists():
            assert course.badges_markdown(num, slug) in table, \
                f"README has no row for lesson {num}: run python -m gan_lessons badges"


def test_badges_fill_empty_markers_and_fix_colab_cells(tmp_path, monkeypatch):
    import nbformat

    from gan_lessons import course

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.gan_lessons]\nrepository = "someone/fork"\nbranch = "dev"\n')
    (tmp_path / "README.md").write_text("# x\n\n<!-- lessons:start -->\n<!-- lessons:end -->\n\nafter\n")
    nb = nbformat.v4.new_notebook()
    stale = nbformat.v4.new_code_cell("%pip install old", metadata={"tags": [course.SETUP_TAG]})
    nb.cells = [nbformat.v4.new_markdown_cell("# 00"), stale]
    nbformat.write(nb, tmp_path / "notebooks" / "00_start_here.ipynb")
    monkeypatch.setattr(course, "ROOT", tmp_path)
    monkeypatch.setattr(course, "NOTEBOOKS", tmp_path / "notebooks")

    changed = course.update_badges()
    assert len(changed) == 2
    readme = (tmp_path / "README.md").read_text()
    assert "colab.research.google.com/github/someone/fork/blob/dev/notebooks/00_start_here.ipynb" in readme
    assert "mybinder.org/v2/gh/someone/fork/dev" in readme and readme.endswith("<!-- lessons:end -->\n\nafter\n")
    cell = nbformat.read(tmp_path / "notebooks" / "00_start_here.ipynb", as_version=4).cells[1]
    assert "git+https://github.com/someone/fork@dev" in cell.source
    assert course.update_badges() == []  # idempotent
    assert (tmp_path / "README.md").read_text() == readme
