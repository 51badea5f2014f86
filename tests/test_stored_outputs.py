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
def test_stored_outputs_match_current_code(path):
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
    nb.metadata["gan_lessons"] = {"source_sha256": course.source_hash(nb), "mode": "full"}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert course.check_stored(path) == []
    nb.cells[0].source = "print(2)"
    nbformat.write(nb, path)
    assert any("code changed" in p for p in course.check_stored(path))
    nb.metadata["gan_lessons"] = {"source_sha256": course.source_hash(nb), "mode": "quick"}
    nbformat.write(nb, path)
    assert any("full mode" in p for p in course.check_stored(path))
