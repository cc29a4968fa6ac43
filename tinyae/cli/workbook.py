"""``tinyae workbook``: hand out the exercise workbook, check it, grade a class.

* ``tinyae workbook new DIR [--solved] [--notebook]`` writes DIR/workbook.py (or
  DIR/workbook.ipynb) and DIR/README.md for a student;
* ``tinyae workbook check DIR`` grades one workbook: a line per task, the hint for each
  failure, the total; exit status 0 when every task passes, 1 otherwise;
* ``tinyae workbook grade SUBMISSIONS --csv grades.csv`` grades one sub-folder per
  student into a CSV.

Each task is checked against a walled process of its own with a time limit
(``tinyae.workbook.grading``): a student's infinite loop or crash costs that task only,
and every verdict is taken in this process.  ``--seed`` draws the checks' inputs: a
student's ``check`` uses 0; ``grade`` the teacher's seed, or a new one it prints.  Bad
usage (an unknown task id, a folder that is not there) exits 2.
"""

from __future__ import annotations

import argparse
import secrets
import textwrap
from pathlib import Path
from typing import Any

from tinyae.cli.options import positive_float, positive_int
from tinyae.workbook import get_task, write_workbook
from tinyae.workbook.grading import DEFAULT_TIMEOUT, grade, grade_class, write_gradescope

WORKBOOK_EXAMPLES = """\
examples:
  tinyae workbook new hw1                         a workbook to fill in: hw1/workbook.py
  tinyae workbook new hw1 --notebook              the same as a Jupyter notebook
  tinyae workbook new key --solved                the answer key (every task passes)
  tinyae workbook check hw1                       grade it: a line per task, hints, the total
  tinyae workbook check hw1 --task 1.2            one task only
  tinyae workbook check /autograder/submission --gradescope /autograder/results/results.json
  tinyae workbook grade submissions/ --csv grades.csv --seed 2718   one sub-folder per student

check exits 0 when every task passes and 1 otherwise; bad usage exits 2."""


def add_parser(subparsers: Any) -> None:
    """``tinyae workbook`` and its three actions: new, check, grade."""
    parser = subparsers.add_parser(
        "workbook", help="hand out the exercise workbook, check a student's, grade a class",
        description="The exercise workbook: students implement the layers, losses and models "
                    "of the tutorials; every task is checked numerically with a hint on failure.",
        epilog=WORKBOOK_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    title="actions (tinyae workbook ACTION --help)")
    new = actions.add_parser("new", help="write a new workbook for a student",
                             description="Write DIR/workbook.py (or .ipynb) and DIR/README.md.")
    new.add_argument("dir", metavar="DIR", help="the folder to write into (created if needed)")
    new.add_argument("--solved", action="store_true", help="the answer key: every blank filled in")
    new.add_argument("--notebook", action="store_true",
                     help="a Jupyter notebook, workbook.ipynb, with a check after each exercise")
    new.set_defaults(run=run_new)

    check = actions.add_parser("check", help="grade one workbook, with a hint for each failure",
                               description="Check every task of the workbook in DIR, each in "
                                           "its own process. Exit 0 if all pass, else 1.")
    check.add_argument("dir", metavar="DIR", type=folder, help="the folder holding the workbook")
    add_grading_flags(check)
    check.add_argument("--gradescope", metavar="PATH",
                       help="also write Gradescope's results.json to PATH")
    check.set_defaults(run=run_check)

    grade_ = actions.add_parser("grade", help="grade a class: one CSV row per student",
                                description="Grade every sub-folder of SUBMISSIONS (one per "
                                            "student) into a CSV; a broken submission only "
                                            "fills its own row.")
    grade_.add_argument("submissions", metavar="SUBMISSIONS", type=folder,
                        help="a folder with one sub-folder per student")
    grade_.add_argument("--csv", required=True, metavar="PATH", help="the CSV to write")
    add_grading_flags(grade_)
    grade_.set_defaults(run=run_grade)


def add_grading_flags(parser: argparse.ArgumentParser) -> None:
    """--task and --timeout, shared by check and grade."""
    parser.add_argument("--task", dest="tasks", action="append", type=task_id, metavar="ID",
                        help="check only this task (repeat for more; default: all)")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
                        help="CPU seconds each task may use before it counts as hanging; "
                             "three times as long on the wall clock (default: %(default)g)")
    parser.add_argument("--jobs", type=positive_int, metavar="N",
                        help="tasks checked at a time (default: one per core); each task's "
                             "limit is its own CPU time, so a busy machine does not fail it")
    parser.add_argument("--seed", type=seed, metavar="N",
                        help="draws the checks' shapes and values (check: 0, what students see; "
                             "grade: a new random seed, printed, unless given)")


def folder(text: str) -> str:
    """An existing folder (argparse type): a missing one is a usage error, exit 2."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return text


def seed(text: str) -> int:
    """A seed (argparse type): a whole number from 0 to 2**32 − 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to {2**32 - 1}, "
                                         f"got {text!r}")
    return value


def task_id(text: str) -> str:
    """A task id of the workbook (argparse type); an unknown one lists the valid ids."""
    try:
        return get_task(text).id
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run_new(args: argparse.Namespace) -> int:
    """Write the workbook and say what to do next."""
    for path in write_workbook(args.dir, solved=args.solved, notebook=args.notebook):
        print(f"wrote {path}")
    print(f"next: fill in the exercises, then run `tinyae workbook check {args.dir}`")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Print a line per task, then each failure's hint and details, then the total."""
    seed_ = 0 if args.seed is None else args.seed
    results = grade(args.dir, args.tasks, timeout=args.timeout, seed=seed_, jobs=args.jobs)
    for result in results:
        print(result)
    for result in results:
        if not result.passed:
            print(f"\n{result.task_id} {result.title}:")
            if len(result.checks) > 1:  # which sub-checks earned their points
                print("  " + "  ".join(("✓ " if row["passed"] else "✗ ") + row["name"]
                                       for row in result.checks))
            print(textwrap.indent("\n\n".join(filter(None, [result.hint, result.details])), "  "))
    points = sum(result.points for result in results)
    out_of = sum(result.max_points for result in results)
    passed = sum(result.passed for result in results)
    print(f"\ntotal: {points:g}/{out_of:g} points, {passed} of {len(results)} tasks pass"
          + (f" (seed {seed_})" if seed_ else ""))
    if args.gradescope:
        print(f"wrote {write_gradescope(results, args.gradescope, seed_)}")
    return 0 if passed == len(results) else 1


def run_grade(args: argparse.Namespace) -> int:
    """Grade the class, a line per student as it goes; 0 once the CSV is written."""
    seed_ = secrets.randbelow(2**32) if args.seed is None else args.seed
    print(f"seed {seed_}: the checks' inputs (--seed {seed_} grades again with the same ones)")
    grade_class(args.submissions, args.csv, args.tasks, timeout=args.timeout, verbose=True,
                seed=seed_, jobs=args.jobs)
    print(f"wrote {args.csv}")
    return 0
