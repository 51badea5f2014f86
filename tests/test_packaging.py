"""The install story: pinned requirements, Binder's copy of them, pyproject's loose bounds, CI, README."""

import json
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
    for name in ("tensorflow", "keras", "ipywidgets", "matplotlib", "numpy", "scipy", "scikit-learn"):
        assert name in binder, f"binder/requirements.txt does not pin {name}"
    disagree = {n: (v, main.get(n)) for n, v in binder.items() if main.get(n) != v}
    assert not disagree, f"binder pins differ from requirements.txt (binder, main): {disagree}"
    assert "-e ." in requirement_lines(ROOT / "binder" / "requirements.txt")


# repo2docker's base environment for Python 3.11 (what binder/runtime.txt asks for), from
# jupyterhub/repo2docker repo2docker/buildpacks/conda/environment.py-3.11-linux-64.lock
# (frozen 2025-11-13): the packages our pins meet there, at the versions it installs.
REPO2DOCKER_BASE = {
    "jupyterlab": "4.4.10", "notebook": "7.4.7", "jupyter-server": "2.17.0", "jupyterlab-server": "2.28.0",
    "notebook-shim": "0.2.4", "jupyterhub-singleuser": "5.4.2", "nbconvert": "7.16.6", "ipykernel": "7.1.0",
    "ipywidgets": "8.1.8", "jupyterlab-widgets": "3.0.16", "widgetsnbextension": "4.0.15", "nbformat": "5.10.4",
    "nbclient": "0.10.2", "jupyter-client": "8.6.3", "jupyter-core": "5.9.1", "tornado": "6.5.2",
    "traitlets": "5.14.3", "ipython": "9.7.0", "comm": "0.2.3", "pyzmq": "27.1.0",
}
# What those base packages require of the packages above (Requires-Dist of their wheels).
REPO2DOCKER_BASE_REQUIRES = [
    ("notebook 7.4.7", "jupyterlab>=4.4.9,<4.5"),
    ("jupyterlab 4.4.10", "ipykernel>=6.5.0,!=6.30.0"),
    ("jupyterlab 4.4.10", "tornado>=6.2.0"),
    ("jupyter-server 2.17.0", "jupyter-client>=7.4.4"),
    ("jupyter-server 2.17.0", "nbformat>=5.3.0"),
    ("jupyter-server 2.17.0", "tornado>=6.2.0"),
    ("nbconvert 7.16.6", "nbclient>=0.5.0"),
    ("nbconvert 7.16.6", "nbformat>=5.7"),
]
# The Jupyter server and front end that repo2docker sets up: binder/ leaves them to the base.
REPO2DOCKER_SERVER = ("jupyterlab", "notebook", "jupyter-server", "jupyterlab-server", "notebook-shim",
                      "jupyterhub-singleuser", "jupyterhub")


def test_binder_resolves_against_repo2dockers_base_environment():
    """binder/requirements.txt goes into repo2docker's own environment: no pin may break a package there."""
    from importlib import metadata

    from packaging.requirements import Requirement

    binder = pins(ROOT / "binder" / "requirements.txt")
    main = pins(ROOT / "requirements.txt")
    server = sorted(set(binder) & set(REPO2DOCKER_SERVER))
    assert not server, f"binder/requirements.txt pins {server}: repo2docker's base brings its own, leave them to it"
    # what the environment holds after pip: our pins, else the base's version
    after = dict(REPO2DOCKER_BASE, **binder)
    for who, text in REPO2DOCKER_BASE_REQUIRES:
        req = Requirement(text)
        name = req.name.lower()
        assert req.specifier.contains(after[name], prereleases=True), \
            f"{who} requires {text}, but binder/ would install {name} {after[name]}"
    # our pins pull newer versions of some base packages (ipykernel 7.4 needs a newer tornado):
    # whatever they pull here, from the same pins, must still satisfy the base's requirements
    for pinned, version in binder.items():
        try:
            dist = metadata.distribution(pinned)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version or main.get(pinned) != version:
            continue
        for text in dist.requires or []:
            req = Requirement(text)
            name = req.name.lower().replace("_", "-")
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if name not in REPO2DOCKER_BASE or req.specifier.contains(after[name], prereleases=True):
                continue
            pulled = metadata.version(name)  # what pip chose for the same pins here
            for who, base_text in REPO2DOCKER_BASE_REQUIRES:
                base_req = Requirement(base_text)
                if base_req.name.lower() == name:
                    assert base_req.specifier.contains(pulled, prereleases=True), \
                        f"{pinned} {version} pulls {name} {pulled}, but {who} requires {base_text}"


def test_binder_runtime_and_apt():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "dataset-fashion-mnist" in requirement_lines(ROOT / "binder" / "apt.txt")


def test_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["requires-python"].replace(" ", "") == ">=3.11,<3.14"
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
    assert cmds == ["./course lab", "./course test"], cmds
    script = (ROOT / "course").read_text()
    assert "-m jupyter lab notebooks/00_start_here.ipynb" in script and '-m pytest "$@"' in script
    assert "pip install -r requirements.txt" in script


def test_supported_pythons_agree_everywhere():
    """The set-up script, pyproject's requires-python and the README name the same Pythons."""
    from packaging.specifiers import SpecifierSet

    script = (ROOT / "course").read_text()
    accepted = re.search(r'case "\$1" in ([\d.*|]+)\)', script).group(1).split("|")
    minors = [tuple(int(x) for x in v.rstrip(".*").split(".")) for v in accepted]
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    for minor in range(8, 16):
        version = f"3.{minor}.0"
        assert ((3, minor) in minors) == (version in spec), f"course and requires-python disagree on {version}"
    names = ", ".join(f"{a}.{b}" for a, b in minors[:-1]) + f" or {minors[-1][0]}.{minors[-1][1]}"
    assert names in script and names in (ROOT / "README.md").read_text()


def test_ci_installs_from_scratch_and_runs_the_readme_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert script.startswith("#!") and "set -euo pipefail" in script
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"
    update = next(i for i, ln in enumerate(lines) if re.match(r"(sudo )?apt-get update\b", ln))
    install = next(i for i, ln in enumerate(lines) if re.match(r"(sudo )?apt-get install\b", ln))
    assert update < install
    for package in ("python3-venv", "dataset-fashion-mnist", "chromium"):  # a stock Debian python3 needs venv
        assert package in lines[install].split()
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


def test_notebooks_store_the_kernelspec_ipykernel_writes():
    """JupyterLab rewrites (and marks modified) a notebook whose kernelspec differs from the kernel's."""
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    from gan_lessons import course

    spec = get_kernel_dict()
    expected = {"display_name": spec["display_name"], "language": spec["language"], "name": KERNEL_NAME}
    assert course.KERNELSPEC == expected
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        meta = json.loads(path.read_text())["metadata"]
        assert meta.get("kernelspec") == expected, f"{path.name}: kernelspec {meta.get('kernelspec')}"


def test_each_cell_gives_nbval_each_option_once():
    """A '# NBVAL_...' comment and the same option as a tag make nbval warn: keep the tag alone."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] != "code":
                continue
            tags = {t.lower() for t in cell["metadata"].get("tags", [])}
            for line in "".join(cell["source"]).splitlines():
                m = re.match(r"\s*#\s*(NBVAL_\w+)", line)
                if m:
                    option = m.group(1).lower().replace("_", "-")
                    same = {option} | ({"raises-exception"} if option == "nbval-raises-exception" else set())
                    assert not tags & same, f"{path.name} cell {i}: both '# {m.group(1)}' and tag {tags & same}"


def test_render_stores_the_kernelspec(tmp_path):
    import nbformat

    from gan_lessons import course

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    course.render(path, quick=True)
    stored = json.loads(path.read_text())
    assert stored["metadata"]["kernelspec"] == course.KERNELSPEC
    assert "".join(stored["cells"][0]["outputs"][0]["text"]) == "42\n"
