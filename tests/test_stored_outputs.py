"""Every notebook keeps the outputs of a full-mode run of its *current* code."""

import json

import pytest

from gan_lessons import course

NOTEBOOKS = sorted(course.NOTEBOOKS.glob("*.ipynb"))


def test_every_lesson_in_the_index_exists_or_is_later():
    names = {p.name for p in NOTEBOOKS}
    listed = {f"{n}_{s}.ipynb" for n, s, *_ in course.LESSONS}
    assert names <= listed, f"notebooks not in course.LESSONS: {sorted(names - listed)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_stored_outputs_match_current_code_and_library(path):
    problems = course.check_stored(path)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_code_cell_installs_on_colab_only(path):
    cells = json.loads(path.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    src = "".join(first["source"])
    assert course.SETUP_TAG in first["metadata"].get("tags", []), "first code cell must be the Colab setup cell"
    assert 'if "google.colab" in sys.modules' in src
    install = src.split("pip install", 1)[1].lower()  # the comment above it may name them; the install may not
    assert "tensorflow" not in install and "ipywidgets" not in install
    assert src.rstrip("\n") == course.colab_cell_source().rstrip("\n"), "run python -m gan_lessons badges"


def test_hash_changes_with_code_but_not_with_outputs():
    nb = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}]}
    h = course.source_hash(nb)
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    assert course.source_hash(nb) == h
    nb["cells"][0]["source"] = "x = 2"
    assert course.source_hash(nb) != h


def test_check_stored_flags_stale_and_quick_notebooks(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)", execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", text="1\n")])]
    nb.metadata["gan_lessons"] = {**course.content_stamp(nb), "mode": "full"}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert course.check_stored(path) == []
    nb.cells[0].source = "print(2)"
    nbformat.write(nb, path)
    assert any("code changed" in p for p in course.check_stored(path))
    nb.metadata["gan_lessons"] = {**course.content_stamp(nb), "mode": "quick"}
    nbformat.write(nb, path)
    assert any("full mode" in p for p in course.check_stored(path))


def stamped(cells, mode="full"):
    """A notebook whose code cells were 'run' (execution counts, outputs) and stamped as render does."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, execution_count=i + 1,
                                          outputs=[nbformat.v4.new_output("stream", text=out)] if out else [])
                for i, (src, out) in enumerate(cells)]
    nb.metadata["gan_lessons"] = {**course.content_stamp(nb), "mode": mode}
    return nb


def test_stamp_catches_library_output_and_code_changes(tmp_path, monkeypatch):
    import shutil

    import nbformat

    pkg = tmp_path / "gan_lessons"
    shutil.copytree(course.PACKAGE, pkg, ignore=shutil.ignore_patterns("weights", "__pycache__"))
    monkeypatch.setattr(course, "PACKAGE", pkg)
    nb = stamped([("%matplotlib inline\nfrom gan_lessons import losses", ""), ("print(1)", "1\n")])
    deps = course.module_dependencies(nb)
    assert {"__init__", "losses", "runtime"} <= set(deps) and "widgets" not in deps and "course" not in deps
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert course.check_stored(path) == []

    (pkg / "widgets.py").write_text((pkg / "widgets.py").read_text() + "\n# an unrelated change\n")
    assert course.check_stored(path) == [], "a module the notebook does not use must not stale it"
    original = (pkg / "runtime.py").read_text()
    (pkg / "runtime.py").write_text(original.replace("QUICK", "QUICK ", 1))  # e.g. a changed constant
    problems = course.check_stored(path)
    assert len(problems) == 1 and "gan_lessons/runtime.py changed" in problems[0]
    assert f"python -m gan_lessons render {path}" in problems[0] and "--stale" in problems[0]
    (pkg / "runtime.py").write_text(original)
    assert course.check_stored(path) == []

    edited = nbformat.read(path, as_version=4)
    edited.cells[1].outputs[0]["text"] = "2\n"  # an output edited by hand
    nbformat.write(edited, path)
    assert any("outputs were edited or removed" in p for p in course.check_stored(path))
    for cell in edited.cells:  # every output deleted (counts kept)
        cell.outputs = []
    nbformat.write(edited, path)
    assert any("outputs were edited or removed" in p for p in course.check_stored(path))

    old = nbformat.read(path, as_version=4)
    old.metadata["gan_lessons"] = {"source_sha256": course.source_hash(old), "mode": "full"}  # a stamp of before
    nbformat.write(old, path)
    assert any("rendered before stamps recorded" in p for p in course.check_stored(path))


def test_render_stale_rerenders_exactly_the_stale_notebooks(tmp_path, capsys):
    import nbformat

    from gan_lessons.__main__ import main

    (tmp_path / "pyproject.toml").write_text('[tool.gan_lessons]\nrepository = "x/y"\n')
    (tmp_path / "notebooks").mkdir()
    fresh = tmp_path / "notebooks" / "a.ipynb"
    nbformat.write(stamped([("print(1)", "1\n")]), fresh)
    stale = tmp_path / "notebooks" / "b.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from gan_lessons import runtime\nprint(6 * 7)")]
    nbformat.write(nb, stale)
    fresh_bytes = fresh.read_bytes()

    assert main(["render", "--check", "--repo", str(tmp_path)]) == 1
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith("notebooks/b.ipynb: ")
    assert main(["render", "--stale", "--repo", str(tmp_path)]) == 0
    assert fresh.read_bytes() == fresh_bytes, "a fresh notebook is not re-rendered"
    out = nbformat.read(stale, as_version=4)
    assert out.cells[0].outputs[0]["text"] == "42\n"
    assert set(out.metadata["gan_lessons"]["modules_sha256"]) == {"__init__", "runtime"}
    assert course.check_stored(stale) == []
    assert main(["render", "--check", "--repo", str(tmp_path)]) == 0


def test_render_writes_nothing_when_the_notebook_or_library_changes_meanwhile(tmp_path, monkeypatch):
    import nbformat

    path = tmp_path / "self_editing.ipynb"
    nb = nbformat.v4.new_notebook()
    # the cell edits the notebook's file while it is being rendered, as a student's save would
    nb.cells = [nbformat.v4.new_code_cell("open('self_editing.ipynb', 'a').write('\\n')")]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="edited while it was rendering; nothing was written"):
        course.render(path)
    assert path.read_text().endswith("}\n\n") and "gan_lessons" not in nbformat.read(path, as_version=4).metadata

    nb.cells = [nbformat.v4.new_code_cell("from gan_lessons import runtime\nprint(1)")]
    nbformat.write(nb, path)
    before = path.read_bytes()
    real, calls = course.module_hashes, []

    def edited_meanwhile(names):
        calls.append(names)
        hashes = real(names)
        return hashes if len(calls) == 1 else {**hashes, "runtime": "0" * 64}

    monkeypatch.setattr(course, "module_hashes", edited_meanwhile)
    with pytest.raises(ValueError, match=r"gan_lessons/runtime\.py changed while it was rendering"):
        course.render(path)
    assert path.read_bytes() == before
