"""The classroom workbook: write the parts of an autoencoder, get told what is wrong and why.

A student gets a workbook (``write_workbook``) whose exercises are bodies to write —
``Dense.forward``, ``Sigmoid.backward``, ``BCE``, ``Adam.step``, … — then checks each
one (``check_task``), and finally trains an autoencoder on MNIST with nothing but their
own classes.  ``TASKS`` lists the exercises in order; each topic module (``dense``,
``activations``, ``losses``, ``optimizers``, ``vae``, ``capstone``) defines its part of
the workbook once: the code with its blanks, the tasks and their checks.

    >>> from tinyae.workbook import check_task
    >>> print(check_task("1.2", Dense))          # doctest: +SKIP
    ✓ 1.2 Dense.backward  4/4
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from tinyae.registry import lookup
from tinyae.workbook.parts import PARTS, TASKS
from tinyae.workbook.remote import is_class, type_name
from tinyae.workbook.source import WorkbookError, load_workbook, render, write_workbook
from tinyae.workbook.task import Checks, Mistake, SubCheck, Task, TaskResult, crash_hint

# The tasks that check a class (the others check a function), read from the parts' code.
CLASS_TASKS = {task.id for part in PARTS for task in part.tasks
               if re.search(rf"^class {task.name}\b", part.code, re.MULTILINE)}

__all__ = ["PARTS", "TASKS", "Task", "TaskResult", "WorkbookError", "check_task", "get_task",
           "load_workbook", "render", "write_workbook"]


def get_task(task_id: str) -> Task:
    """The task with this id (``"1.2"``); a ``ValueError`` listing the ids if there is none."""
    return lookup({task.id: task for task in TASKS}, task_id, "task")


def check_task(task_id: str, obj: Any = None, *, namespace: dict[str, Any] | None = None,
               seed: int = 0) -> TaskResult:
    """Run one task's checks on the student's code.

    ``obj`` is the student's class or function for the task (``check_task("1.2", Dense)``
    in a notebook); or ``namespace`` is a loaded workbook (``load_workbook``) from which
    the task takes its name.  ``seed`` chooses the inputs the checks draw (the grader
    uses the teacher's).  A bug in the student's code never raises: it becomes a failed
    sub-check whose hint says what went wrong, and where; the others still run.
    """
    task = get_task(task_id)
    if obj is None:
        if namespace is None:
            raise TypeError(f"check_task({task_id!r}) needs the code to check: "
                            f"check_task({task_id!r}, {task.name}) or namespace=load_workbook(…)")
        if task.name not in namespace:
            return _result(task, hint=f"the workbook defines no `{task.name}`, which exercise "
                                      f"{task.id} checks: keep the name the workbook gave it")
        obj = namespace[task.name]
    if task.id in CLASS_TASKS and not is_class(obj):
        return _result(task, hint=f"pass the class itself, check_task({task_id!r}, {task.name}), "
                                  f"not an instance of it or another object")
    if not callable(obj):
        return _result(task, hint=f"pass the function itself, check_task({task_id!r}, "
                                  f"{task.name}), not {type_name(obj)}")
    checks = Checks(task.subchecks, task_rng(task, seed), task.formula)
    # The student's NumPy warnings (overflow in exp, …) would bury the result; checks look
    # at the numbers themselves.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            details = task.check(obj, checks)
        except Mistake as mistake:  # the whole task stops: every sub-check not run fails
            return _result(task, checks, checks.hint_of(mistake), mistake.details)
        except Exception as error:  # the student's code broke the check itself
            return _result(task, checks, crash_hint(error, f"checking {task.title}"))
    return _result(task, checks, details=details)


def task_rng(task: Task, seed: int) -> np.random.Generator:
    """The random numbers of ``task``'s inputs under ``seed``: each task its own stream."""
    return np.random.default_rng([seed, *(int(n) for n in task.id.split("."))])


def _result(task: Task, checks: Checks | None = None, hint: str = "",
            details: str = "") -> TaskResult:
    """The task's result from its sub-checks; ``hint`` fails every sub-check that did not run.

    The hint has a paragraph per failing sub-check ("db: …"), or just the hint when every
    sub-check failed for one reason; the details join the sub-checks' and the task's.
    """
    done = checks.done if checks else {}
    total = sum(weight for _, weight in task.subchecks)
    subs = [done.get(name) or SubCheck(name, weight, False, hint or "not checked")
            for name, weight in task.subchecks]
    failing = [sub for sub in subs if not sub.passed]
    names: dict[str, list[str]] = {}  # hint -> the failing sub-checks that gave it
    for sub in failing:
        names.setdefault(sub.hint, []).append(sub.name)
    whole = len(failing) == len(subs) and len(names) == 1  # one reason failed everything
    hints = list(names) if whole else [f"{', '.join(n)}: {hint}" for hint, n in names.items()]
    rows: list[dict[str, Any]] = [
        {"name": sub.name, "points": task.points * sub.weight / total if sub.passed else 0.0,
         "max_points": task.points * sub.weight / total, "passed": sub.passed, "hint": sub.hint}
        for sub in subs]
    return TaskResult(task.id, task.title, round(sum(row["points"] for row in rows), 6),
                      float(task.points), not failing, "\n\n".join(hints),
                      "\n\n".join(filter(None, [*(sub.details for sub in subs), details])), rows)
