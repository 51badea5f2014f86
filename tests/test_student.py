"""Student copies and nbgrader metadata (issue: exercises a student actually does)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gan_lessons import course

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_student_source_replaces_each_region_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n\nz = 2\n"
    assert course.student_source(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nz = 2\n"
    assert course.student_source("a = 1\n") == "a = 1\n"
    for bad, what in (("### BEGIN SOLUTION\nx\n", "without"), ("x\n### END SOLUTION\n", "without"),
                      ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n", "inside")):
        with pytest.raises(ValueError, match=what):
            course.student_source(bad)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return {p.name: p for p in course.write_student_copies(out, ROOT)}


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_student_copy_has_stubs_no_solutions_and_nbgrader_metadata(copies, path):
    original = course.read_notebook(path)
    copy = course.read_notebook(copies[path.name])          # valid nbformat
    nbformat.validate(copy)
    found = course.exercises(original)
    assert course.exercises(copy) == [] or all(s is None for s in course.exercises(copy))  # no markers left
    assert len(original.cells) == len(copy.cells)
    solution_cells = {s for s, _ in found}
    ids = []
    for i, (a, b) in enumerate(zip(original.cells, copy.cells)):
        text = course._cell_text(b)
        assert course.SOLUTION_BEGIN not in text or b.cell_type == "markdown"
        if i in solution_cells:
            assert text == course.student_source(course._cell_text(a))
            assert "raise NotImplementedError()" in text and b.outputs == []
            meta = b.metadata["nbgrader"]
            assert meta["solution"] is True and meta["grade"] is False and meta["locked"] is False
        else:
            assert course._cell_text(a) == text, f"cell {i} changed"
        if "nbgrader" in b.metadata:
            assert b.metadata["nbgrader"]["schema_version"] == 3
            ids.append(b.metadata["nbgrader"]["grade_id"])
    for _, check in found:
        if check is not None:
            meta = copy.cells[check].metadata["nbgrader"]
            assert meta["grade"] is True and meta["locked"] is True and meta["points"] > 0
            assert copy.cells[check].outputs == []
    assert len(ids) == len(set(ids)), "grade_ids must be unique within a notebook"
    assert "gan_lessons" not in copy.metadata


def test_every_lesson_from_01_has_an_exercise_with_a_check():
    for path in LESSONS[1:]:
        found = course.exercises(course.read_notebook(path))
        assert any(check is not None for _, check in found), path.name


def test_student_copy_of_lesson_01_runs_until_its_first_check_and_stops_there(copies, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = course.read_notebook(copies["01_minimax_objective.ipynb"])
    solution, check = course.exercises(course.read_notebook(ROOT / "notebooks" / "01_minimax_objective.ipynb"))[0]
    nb.cells = nb.cells[:check + 1]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    assert "NotImplementedError" in str(err.value)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    assert ran[-1] is nb.cells[check], "every cell before the check ran; the check is the one that stopped"


def test_student_command_writes_copies_and_refuses_the_course_folder(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "gan_lessons", "student", *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True)
    done = run("--out", str(tmp_path / "copies"))
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "copies" / "notebooks").glob("*.ipynb"))) == len(LESSONS)
    refused = run("--out", str(ROOT / "notebooks" / "copies"))
    assert refused.returncode == 2 and "overwrite" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not (ROOT / "notebooks" / "copies").exists()


def test_nbgrader_generates_the_same_student_version(tmp_path, copies):
    """nbgrader itself accepts the lessons' metadata: its release version has our stubs, cell for cell."""
    course_dir = tmp_path / "nbgrader"
    source = course_dir / "source" / "lessons"
    source.mkdir(parents=True)
    for path in LESSONS:
        (source / path.name).write_bytes(path.read_bytes())
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course_dir / 'gradebook.db'}'\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "lessons", "--force", "--create"],
                          cwd=course_dir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for path in LESSONS:
        released = json.loads((course_dir / "release" / "lessons" / path.name).read_text())
        ours = course.read_notebook(copies[path.name])
        for s, c in course.exercises(course.read_notebook(path)):
            # the same code; nbgrader drops the newline after the stub when the region ended the cell
            assert "".join(released["cells"][s]["source"]).rstrip("\n") == course._cell_text(ours.cells[s]).rstrip("\n"), \
                (path.name, s)
            assert released["cells"][s]["metadata"]["nbgrader"]["solution"] is True
            if c is not None:
                assert released["cells"][c]["metadata"]["nbgrader"]["locked"] is True
