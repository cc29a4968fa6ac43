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
from tinyae.workbook.source import WorkbookError, load_workbook, render, write_workbook
from tinyae.workbook.task import Mistake, Task, TaskResult, crash_hint, quote_formula

# The tasks that check a class (the others check a function), read from the parts' code.
CLASS_TASKS = {task.id for part in PARTS for task in part.tasks
               if re.search(rf"^class {task.name}\b", part.code, re.MULTILINE)}

__all__ = ["PARTS", "TASKS", "Task", "TaskResult", "WorkbookError", "check_task", "get_task",
           "load_workbook", "render", "write_workbook"]


def get_task(task_id: str) -> Task:
    """The task with this id (``"1.2"``); a ``ValueError`` listing the ids if there is none."""
    return lookup({task.id: task for task in TASKS}, task_id, "task")


def check_task(task_id: str, obj: Any = None, *,
               namespace: dict[str, Any] | None = None) -> TaskResult:
    """Run one task's checks on the student's code, in this process.

    ``obj`` is the student's class or function for the task (``check_task("1.2", Dense)``
    in a notebook); or ``namespace`` is a loaded workbook (``load_workbook``) from which
    the task takes its name.  A bug in the student's code never raises: it becomes a
    failed ``TaskResult`` whose hint says what went wrong, and where.
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
    if task.id in CLASS_TASKS and not isinstance(obj, type):
        return _result(task, hint=f"pass the class itself, check_task({task_id!r}, {task.name}), "
                                  f"not {obj!r:.60}")
    if not callable(obj):
        return _result(task, hint=f"pass the function itself, check_task({task_id!r}, "
                                  f"{task.name}), not {obj!r:.60}")
    # The student's NumPy warnings (overflow in exp, …) would bury the result; checks look
    # at the numbers themselves.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            details = task.check(obj)
        except Mistake as mistake:
            formula = quote_formula(task.formula, mistake.about) if mistake.about else ""
            hint = mistake.hint + (f" The docstring's formula: {formula}." if formula else "")
            return _result(task, hint=hint, details=mistake.details)
        except Exception as error:  # the student's code broke the check itself
            return _result(task, hint=crash_hint(error, f"checking {task.title}"))
    return _result(task, passed=True, details=details)


def _result(task: Task, passed: bool = False, hint: str = "", details: str = "") -> TaskResult:
    return TaskResult(task.id, task.title, float(task.points if passed else 0), float(task.points),
                      passed, hint, details)
