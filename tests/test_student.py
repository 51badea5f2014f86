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


def _stubbed_names(source: str) -> set[str]:
    """Top-level names that a student copy's cell binds through a statement holding the stub."""
    import ast

    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    names = set()
    for node in tree.body:
        if any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(node)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name)) if target else None
    return names


def _bound_and_used(source: str) -> tuple[set[str], set[str]]:
    import ast

    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    bound = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            if target is not None:
                bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bound, used


@pytest.mark.parametrize("path", LESSONS[1:], ids=lambda p: p.name[:2])
def test_after_each_check_the_student_copy_uses_only_the_reference(copies, path):
    """In the student copy, no cell after an exercise's check calls what the stub left unwritten unless a cell
    in between hands the name to the course's implementation: so past its checks the copy runs the same code as
    the lesson itself, which the notebook tests execute."""
    import ast

    nb = course.read_notebook(copies[path.name])
    for solution, check in course.exercises(course.read_notebook(path)):
        tree = ast.parse("\n".join(line for line in course._cell_text(nb.cells[solution]).splitlines()
                                   if not line.lstrip().startswith(("%", "!"))))
        for node in tree.body:   # a stub only inside a def: running the exercise's cell defines, never raises
            if "NotImplementedError" in ast.unparse(node):
                assert isinstance(node, ast.FunctionDef), f"{path.name} cell {solution}: a stub outside a function"
        stubbed = _stubbed_names(course._cell_text(nb.cells[solution]))
        for i in range(check + 1, len(nb.cells)):
            if nb.cells[i].cell_type != "code" or not stubbed:
                continue
            bound, used = _bound_and_used(course._cell_text(nb.cells[i]))
            assert not (stubbed & used), f"{path.name} cell {i} uses {sorted(stubbed & used)} from the exercise in cell {solution}"
            stubbed -= bound                                     # handed to the reference from here on


def test_every_check_stops_an_unwritten_exercise_with_not_implemented_error():
    from gan_lessons import checks

    def stub(*args, **kwargs):
        raise NotImplementedError()

    arguments = {"check_generator_side": (stub, 7), "check_losses_from_logits": (stub, stub)}
    names = [n for n in dir(checks) if n.startswith("check_") and n != "check_train_step"]
    assert len(names) >= 14
    for name in names:
        with pytest.raises(NotImplementedError):
            getattr(checks, name)(*arguments.get(name, (stub,)))


# the lessons whose cells after a check call a name the exercise defines (handed over to the reference)
TAKEOVER = [p for p in LESSONS if p.name[:2] in ("01", "04")]


@pytest.mark.parametrize("path", TAKEOVER, ids=lambda p: p.name[:2])
def test_student_copy_runs_to_the_end_on_the_reference_fallback(copies, path, monkeypatch):
    """With GAN_LESSONS_FALLBACK=1 every unwritten exercise is reported at its check (as NotImplementedError, not
    another error) and the lesson runs on to its last cell on the course's reference implementations."""
    from nbclient import NotebookClient

    nb = course.read_notebook(copies[path.name])
    found = course.exercises(course.read_notebook(path))
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    monkeypatch.setenv("GAN_LESSONS_QUICK", "1")        # the kernel inherits both; pytest restores them
    monkeypatch.setenv("GAN_LESSONS_FALLBACK", "1")
    client.execute()                                     # raises on any cell's error
    for _, check in found:
        if check is None:
            continue
        printed = "".join(o.get("text", "") for o in nb.cells[check].outputs if o.get("name") == "stdout")
        assert "✗" in printed and "not written yet (NotImplementedError)" in printed, (path.name, check, printed)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "every code cell ran"


def test_the_takeover_lessons_are_exactly_those_that_need_it(copies):
    """The full fallback run above covers every lesson whose later cells rebind an exercise's name."""
    needs = set()
    for path in LESSONS[1:]:
        nb = course.read_notebook(copies[path.name])
        for solution, check in course.exercises(course.read_notebook(path)):
            stubbed = _stubbed_names(course._cell_text(nb.cells[solution]))
            if any(stubbed & _bound_and_used(course._cell_text(c))[0] for c in nb.cells[check + 1:] if c.cell_type == "code"):
                needs.add(path.name[:2])
    assert needs == {p.name[:2] for p in TAKEOVER}


def test_nbgrader_autogrades_lesson_01_full_marks_for_the_solution_none_for_the_stub(tmp_path):
    """nbgrader's own autograde: the lesson as written (the solution) earns its check's point, the student
    copy as released (the stub) earns none, and the lesson still runs to its end in both."""
    from nbgrader.api import Gradebook

    lesson = ROOT / "notebooks" / "01_minimax_objective.ipynb"
    course_dir = tmp_path / "nbgrader"
    (course_dir / "source" / "l01").mkdir(parents=True)
    (course_dir / "source" / "l01" / lesson.name).write_bytes(lesson.read_bytes())
    db = course_dir / "gradebook.db"
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{db}'\n"
        "c.Execute.timeout = 600\n"
        "c.Execute.allow_errors = True\n")
    env = dict(os.environ, GAN_LESSONS_QUICK="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

    def nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]

    nbgrader("generate_assignment", "l01", "--force", "--create")
    for student, source in (("solved", course_dir / "source" / "l01"), ("stub", course_dir / "release" / "l01")):
        target = course_dir / "submitted" / student / "l01"
        target.mkdir(parents=True)
        (target / lesson.name).write_bytes((source / lesson.name).read_bytes())
        nbgrader("db", "student", "add", student)
    nbgrader("autograde", "l01", "--force", "--create")
    with Gradebook(f"sqlite:///{db}") as gb:
        scores = {s: gb.find_submission_notebook(lesson.stem, "l01", s).score for s in ("solved", "stub")}
        max_score = gb.find_notebook(lesson.stem, "l01").max_score
    assert max_score > 0 and scores == {"solved": max_score, "stub": 0}, (scores, max_score)
    graded = course.read_notebook(course_dir / "autograded" / "stub" / "l01" / lesson.name)
    failed = [i for i, c in enumerate(graded.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    (_, check), = course.exercises(course.read_notebook(lesson))
    assert failed == [check], "only the stub's check fails; the reference takes over for every cell after it"
