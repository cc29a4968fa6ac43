"""The rubric file: the teacher's tasks, points, time limit and seed, checked and applied.

A rubric is read (``load_rubric``) and refused with one message naming the file, each
wrong key and its fix; ``apply`` puts its points on the checks' results (the task's
total and every sub-check row); ``workbook_parts`` gives the workbook of its tasks;
``write_rubric`` writes today's settings as a commented file to edit.
"""

from __future__ import annotations

import dataclasses
import re
import types

import pytest

from keys import honest_key
from test_workbook import MyDense
from tinyae.workbook import PARTS, TASKS, TaskResult, check_task, load_workbook, render
from tinyae.workbook import rubric as rubric_module
from tinyae.workbook.grading import DEFAULT_TIMEOUT, grade, gradescope_json
from tinyae.workbook.rubric import (
    MAX_SEED,
    RubricError,
    default_rubric,
    given_code,
    load_rubric,
    write_rubric,
)

# The example of the issue: 1.2 worth 6, its db 2 of them; 6.1 worth 10.
EXAMPLE = """\
seed = 2718
timeout = 30
[tasks."1.2"]
points = 6
[tasks."1.2".checks]
db = 2
[tasks."6.1"]
points = 10
"""


def rubric_file(tmp_path, text: str):
    """``text`` written to ``rubric.toml`` in ``tmp_path``; its path."""
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    return path


class WrongDb(MyDense):
    """A Dense whose db averages over the batch: every sub-check of 1.2 passes but db."""

    def backward(self, dout):
        self.dW += self.x.T @ dout
        self.db += dout.mean(axis=0)
        return dout @ self.W.T


@pytest.fixture(scope="module")
def results():
    """Results as the checks give them: 1.2 with db failing, 2.1 failing whole, 3.1 passing."""
    key: dict = {}  # the parts' code is the answer key: the markers are only comments
    exec("import numpy as np\nimport tinyae\n" + "\n".join(part.code for part in PARTS[:3]), key)
    return [check_task("1.2", WrongDb), check_task("2.1", "not a class"),
            check_task("3.1", key["MSE"])]


# --- the default rubric is today's ---------------------------------------------------------

def test_the_default_rubric_is_todays_tasks_points_and_limits():
    rubric = default_rubric()
    assert rubric.tasks == tuple(task.id for task in TASKS)
    assert rubric.points == {task.id: task.points for task in TASKS}
    assert (rubric.total, rubric.checks, rubric.timeout, rubric.seed, rubric.jobs) == (
        sum(task.points for task in TASKS), {}, DEFAULT_TIMEOUT, None, None)


def test_the_default_rubric_leaves_every_result_as_it_was(results):
    assert [row["passed"] for row in results[0].checks].count(False) == 1  # db alone fails
    assert default_rubric().apply(results) == results


def test_the_default_rubric_writes_todays_workbook():
    assert render(default_rubric().workbook_parts()) == render(PARTS)


# --- reading a rubric ----------------------------------------------------------------------

def test_the_example_rubric_reads_every_setting(tmp_path):
    rubric = load_rubric(rubric_file(tmp_path, "jobs = 2\n" + EXAMPLE))
    assert rubric.tasks == tuple(task.id for task in TASKS)  # no include: every task
    assert (rubric.points["1.2"], rubric.points["6.1"], rubric.points["1.1"]) == (6, 10, 2)
    assert rubric.checks == {"1.2": {"db": 2.0}}
    assert (rubric.seed, rubric.timeout, rubric.jobs) == (2718, 30.0, 2)
    assert isinstance(rubric.timeout, float)


def test_include_chooses_the_tasks_graded_in_workbook_order(tmp_path):
    rubric = load_rubric(rubric_file(tmp_path, 'include = ["6.1", "1.2"]\n[tasks."6.1"]\n'
                                               'points = 10\n'))
    assert rubric.tasks == ("1.2", "6.1")
    assert rubric.points == {"1.2": 4, "6.1": 10} and rubric.total == 14
    assert (rubric.seed, rubric.timeout, rubric.jobs) == (None, DEFAULT_TIMEOUT, None)


def test_a_rubric_with_a_byte_order_mark_reads(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_bytes(b"\xef\xbb\xbfseed = 5\n")  # as Notepad saves UTF-8
    assert load_rubric(path).seed == 5


ALL_IDS = ", ".join(task.id for task in TASKS)
SUBCHECKS_12 = 'dW, db, dx, accumulates, "dout left alone", "parameters left alone"'


@pytest.mark.parametrize("text, message", [
    ('include = ["1.2", "7.1"]', f'include: no task "7.1"; the tasks are {ALL_IDS}'),
    ("include = [1.2]", 'include: got 1.2; write each task id in quotes, "1.2"'),
    ('include = ["1.2", "1.2"]', 'include: "1.2" is listed twice'),
    ("include = []", "include: lists no task; include is a list of task ids"),
    ('include = "1.2"', 'include: got "1.2"; include is a list of task ids'),
    ('[tasks."7.1"]\npoints = 3', 'tasks."7.1": no task "7.1"; the tasks are 1.1'),
    ("[tasks.1.2]\npoints = 3", 'tasks."1": an id without quotes is split at its dot: '
                                'write [tasks."1.2"], in quotes'),
    ('include = ["1.1"]\n[tasks."1.2"]\npoints = 3', 'tasks."1.2": 1.2 is not in include, so it '
                                                    'is not graded; add "1.2" to include'),
    ("tasks = 3", 'tasks: got 3; each task\'s points go in a table of its own, [tasks."1.2"]'),
    ('[tasks."1.2"]\npoints = 0', 'tasks."1.2".points: got 0; a task\'s points are a whole '
                                  'number ≥ 1'),
    ('[tasks."1.2"]\npoints = -4', 'tasks."1.2".points: got -4'),
    ('[tasks."1.2"]\npoints = 2.5', 'tasks."1.2".points: got 2.5'),
    ('[tasks."1.2"]\npoints = "6"', 'tasks."1.2".points: got "6"'),
    ('[tasks."1.2".checks]\ndB = 1', f'tasks."1.2".checks: 1.2 has no sub-check "dB"; its '
                                     f'sub-checks are {SUBCHECKS_12}'),
    ('[tasks."1.2".checks]\ndb = 0', 'tasks."1.2".checks.db: got 0; a sub-check\'s points are a '
                                     'number > 0'),
    ('[tasks."1.2".checks]\ndb = nan', 'tasks."1.2".checks.db: got nan'),
    ('[tasks."1.2"]\nchecks = 2', 'tasks."1.2".checks: got 2; write a table of sub-check points'),
    ('[tasks."1.2".checks]\ndW = 3\ndx = 1', 'tasks."1.2".checks: their points add up to 4 of the '
                                             'task\'s 4, leaving nothing for db, accumulates'),
    ('[tasks."2.5".checks]\ndx = 2\n"dout left alone" = 2',
     'tasks."2.5".checks: every sub-check has points, adding up to 4, but the task has 3'),
    ('[tasks."1.2"]\ndb = 2', 'tasks."1.2".db: not a rubric setting; a sub-check\'s points go '
                              'under checks: checks = { db = 1 }'),
    ('[tasks."6.1"]\npoints = 10\nseed = 5', 'tasks."6.1".seed: not a rubric setting; seed is a '
                                            'setting of the whole rubric: move it above the first'),
    ('[tasks."1.2"]\npoint = 2', 'tasks."1.2".point: not a rubric setting; did you mean points?'),
    ("seed = -1", f"seed: got -1; seed is a whole number from 0 to {MAX_SEED}"),
    (f"seed = {2**32}", f"seed: got {2**32}; seed is a whole number from 0 to {MAX_SEED}"),
    ("seed = 1.5", "seed: got 1.5"),
    ('seed = "2718"', 'seed: got "2718"'),
    ("seed = true", "seed: got true"),
    ("timeout = 0", "timeout: got 0; the time limit is the CPU seconds each task may use, "
                    "a number > 0"),
    ("timeout = -3", "timeout: got -3"),
    ("timeout = inf", "timeout: got inf"),
    ("jobs = 0", "jobs: got 0; jobs is a whole number ≥ 1"),
    ("timout = 30", "timout: not a rubric setting; did you mean timeout?"),
    ("colour = 3", "colour: not a rubric setting; the keys are seed, timeout, jobs, include, tasks"),
    ('["1.2"]\npoints = 3', '1.2: not a rubric setting; a task\'s settings go in a '
                            '[tasks."<id>"] table'),
    ("seed = ", "is not valid TOML: "),
])
def test_a_wrong_rubric_is_refused_naming_the_file_the_key_and_the_fix(tmp_path, text, message):
    path = rubric_file(tmp_path, text + "\n")
    with pytest.raises(RubricError) as error:
        load_rubric(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)  # the CLI's user_values() makes it a usage error


def test_every_problem_is_told_at_once(tmp_path):
    path = rubric_file(tmp_path, 'seed = -1\ntimeout = 0\ninclude = ["9.9"]\n')
    with pytest.raises(RubricError) as error:
        load_rubric(path)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path} has 3 problems:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["seed", "timeout", "include"]


def test_a_missing_rubric_says_how_to_write_one(tmp_path):
    with pytest.raises(RubricError, match=r"nowhere\.toml: no such file; `tinyae workbook rubric "):
        load_rubric(tmp_path / "nowhere.toml")


def test_python_310_is_told_a_rubric_needs_311(tmp_path, monkeypatch):
    fake = types.SimpleNamespace(version_info=(3, 10, 13, "final", 0))
    monkeypatch.setattr(rubric_module, "sys", fake)
    with pytest.raises(RubricError, match=r"rubric\.toml: reading a rubric needs Python 3\.11 or "
                                          r"newer .* this is Python 3\.10\. "):
        load_rubric(rubric_file(tmp_path, "seed = 1\n"))


# --- applying a rubric ---------------------------------------------------------------------

def test_apply_rescales_the_task_and_every_sub_check(tmp_path, results):
    rubric = load_rubric(rubric_file(tmp_path, EXAMPLE))
    worth = rubric.check_points("1.2")
    # db keeps its 2; the other 4 points are shared 2 : 2 : 1 : 1 : 1 by the weights.
    assert worth == pytest.approx({"dW": 8 / 7, "db": 2, "dx": 8 / 7, "accumulates": 4 / 7,
                                   "dout left alone": 4 / 7, "parameters left alone": 4 / 7})
    before = [dataclasses.replace(result, checks=[dict(row) for row in result.checks])
              for result in results]
    dense, sigmoid, mse = rubric.apply(results)
    assert results == before  # the results given are left as they were
    assert (dense.points, dense.max_points) == (pytest.approx(4.0), 6.0)  # all but db's 2
    assert [row["max_points"] for row in dense.checks] == [worth[row["name"]] for row in dense.checks]
    assert [row["points"] for row in dense.checks] == [
        worth[row["name"]] * row["passed"] for row in dense.checks]
    assert (sigmoid.points, sigmoid.max_points) == (0.0, 2.0)  # 2.1 keeps the workbook's points
    assert (mse.points, mse.max_points, mse.passed) == (2.0, 2.0, True)
    assert (dense.hint, dense.details) == (results[0].hint, results[0].details)


def test_the_rubrics_points_reach_gradescope(tmp_path, results):
    rubric = load_rubric(rubric_file(tmp_path, EXAMPLE))
    tests = gradescope_json(rubric.apply(results[:1]))["tests"]
    assert sum(test["max_score"] for test in tests) == pytest.approx(6.0)
    assert [test["max_score"] for test in tests if test["name"].endswith(": db")] == [2.0]


def test_a_result_without_sub_checks_is_scaled_as_a_whole(tmp_path):
    rubric = load_rubric(rubric_file(tmp_path, '[tasks."1.2"]\npoints = 8\n'))
    (result,) = rubric.apply([TaskResult("1.2", "Dense.backward", 1.0, 4.0, False)])
    assert (result.points, result.max_points) == (2.0, 8.0)


def test_apply_and_only_refuse_tasks_the_rubric_does_not_grade(tmp_path, results):
    path = rubric_file(tmp_path, 'include = ["1.2", "6.1"]\n')
    rubric = load_rubric(path)
    with pytest.raises(RubricError, match=rf"{re.escape(str(path))} does not grade 2\.1, 3\.1: "
                                          r"it grades 1\.2, 6\.1"):
        rubric.apply(results)
    with pytest.raises(RubricError, match=r"does not grade 1\.1: it grades 1\.2, 6\.1; add it"):
        rubric.only(["1.1", "1.2"])
    narrowed = rubric.only(["1.2"])
    assert (narrowed.tasks, narrowed.points, narrowed.seed) == (("1.2",), {"1.2": 4}, rubric.seed)


def test_graded_with_the_rubric_as_the_cli_does(tmp_path):
    """The lines given for ``check --rubric``: grade(…, rubric's settings), then apply."""
    (tmp_path / "workbook.py").write_text(honest_key(), encoding="utf-8")
    rubric = load_rubric(rubric_file(tmp_path, 'include = ["1.1", "1.2"]\nseed = 7\ntimeout = 20\n'
                                               '[tasks."1.2"]\npoints = 6\nchecks = { db = 2 }\n'))
    results = rubric.apply(grade(tmp_path, rubric.tasks, timeout=rubric.timeout, seed=rubric.seed,
                                 jobs=rubric.jobs))
    assert [(r.task_id, r.points, r.max_points) for r in results] == [("1.1", 2, 2), ("1.2", 6, 6)]


# --- the workbook of a rubric --------------------------------------------------------------

def test_the_workbook_asks_for_the_rubrics_tasks_and_gives_the_others(tmp_path):
    rubric = load_rubric(rubric_file(tmp_path, 'include = ["1.2", "3.1"]\n[tasks."1.2"]\n'
                                               'points = 6\n'))
    text = render(rubric.workbook_parts())
    exercises = re.findall(r"\*\*Exercise (\S+): `[^`]+`\*\* \((\d+) points\)", text)
    assert exercises == [("1.2", "6"), ("3.1", "2")]
    assert "Written out for you, and not graded this time: 1.1 `Dense.forward`." in text
    notebook = render(rubric.workbook_parts(), notebook=True)
    assert re.findall(r'^print\(check_task\("([\d.]+)"', notebook, re.MULTILINE) == ["1.2", "3.1"]
    (tmp_path / "workbook.py").write_text(text, encoding="utf-8")
    namespace = load_workbook(tmp_path)
    for task_id in ("1.1", "2.1", "4.2"):  # given: the answer is there
        assert check_task(task_id, namespace=namespace).passed
    for task_id in ("1.2", "3.1"):  # asked for: still a blank
        assert "not written yet" in check_task(task_id, namespace=namespace).hint


def test_given_code_drops_only_the_markers_of_the_given_tasks():
    code = "def f():\n    # solution 1\n    a = 1\n    # end\n    # solution 2\n    b = 2\n    # end"
    assert given_code(code, {"1"}) == ("def f():\n    a = 1\n    # solution 2\n    b = 2\n"
                                       "    # end")


# --- writing one to start from -------------------------------------------------------------

def test_write_rubric_writes_the_default_with_a_seed_of_its_own(tmp_path):
    path = write_rubric(tmp_path / "rubric.toml")
    rubric = load_rubric(path)
    assert 0 <= rubric.seed <= MAX_SEED
    assert dataclasses.replace(rubric, seed=None) == default_rubric()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(len(line) <= 88 for line in lines)
    assert sum(line.startswith('[tasks."') for line in lines) == len(TASKS)


def test_write_rubric_never_overwrites(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text("seed = 1\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="already exists; a new rubric would overwrite it"):
        write_rubric(path)
    assert path.read_text(encoding="utf-8") == "seed = 1\n"


def test_the_written_examples_are_valid_and_change_nothing_when_uncommented(tmp_path):
    path = write_rubric(tmp_path / "rubric.toml")
    text = re.sub(r"^# (checks = |jobs = )", r"\1", path.read_text(encoding="utf-8"),
                  flags=re.MULTILINE)
    assert text.count("\nchecks = ") == len(TASKS)
    rubric = load_rubric(rubric_file(tmp_path, text))
    assert rubric.jobs == 2 and set(rubric.checks) == {task.id for task in TASKS}
    default = default_rubric()
    for task in TASKS:  # each example gives one sub-check its present points, to 3 digits
        assert rubric.check_points(task.id) == pytest.approx(default.check_points(task.id),
                                                             rel=2e-3)


def test_a_rubric_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_rubric().seed = 3
