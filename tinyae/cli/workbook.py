"""``tinyae workbook``: hand out the exercise workbook, check it, grade a class.

* ``tinyae workbook new DIR [--solved] [--notebook]`` writes DIR/workbook.py (or
  DIR/workbook.ipynb) and DIR/README.md for a student;
* ``tinyae workbook check PATH`` grades one workbook (PATH is the file or its folder): a
  line per task, then each failure's hint, then the total; exit status 0 when every task
  passes, 1 otherwise;
* ``tinyae workbook grade SUBMISSIONS --csv grades.csv`` grades a class (one sub-folder or
  one workbook file per student) into a CSV, and a feedback file per student.

Each task is checked against a walled process of its own with a time limit
(``tinyae.workbook.grading``): a student's infinite loop or crash costs that task only,
and every verdict is taken in this process.  ``--seed`` draws the checks' inputs: a
student's ``check`` uses 0; ``grade`` the teacher's seed, or a new one it prints.  Bad
usage (an unknown task id, a folder that is not there) exits 2.  What is printed only
reports: the files (results.json, the CSV, the feedback) are written whoever reads it,
and a reader that stops early (``| head``) stops the printing, not the grading.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import textwrap
from pathlib import Path
from typing import Any

from tinyae.cli.errors import user_values
from tinyae.cli.options import positive_float, positive_int
from tinyae.cli.output import silence_stdout
from tinyae.workbook import get_task, write_workbook
from tinyae.workbook.feedback import headline
from tinyae.workbook.gradescope import write_gradescope_recipe
from tinyae.workbook.grading import DEFAULT_TIMEOUT, class_outputs, grade, grade_class, write_gradescope
from tinyae.workbook.rubric import Rubric, default_rubric, load_rubric, write_rubric
from tinyae.workbook.source import SUFFIXES

WORKBOOK_EXAMPLES = """\
examples:
  tinyae workbook new hw1                         a workbook to fill in: hw1/workbook.py
  tinyae workbook new hw1 --notebook              the same as a Jupyter notebook
  tinyae workbook new key --solved                the answer key (every task passes)
  tinyae workbook check hw1                       grade it: a line per task, hints, the total
  tinyae workbook check hw1/workbook.ipynb        the same, naming the file
  tinyae workbook check hw1 --task 1.2            one task only
  tinyae workbook check /autograder/submission --gradescope /autograder/results/results.json
  tinyae workbook rubric rubric.toml              the teacher's settings, commented, to edit
  tinyae workbook new hw1 --rubric rubric.toml    only the rubric's tasks, with its points
  tinyae workbook grade submissions/ --csv grades.csv --rubric rubric.toml
  tinyae workbook grade submissions/ --csv grades.csv --seed 2718
                    a sub-folder or a .py/.ipynb file per student; feedback in grades-feedback/

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
    new.add_argument("--rubric", metavar="PATH",
                     help="the exercises are the rubric's tasks, with its points; the tasks it "
                          "leaves out are written out (default: every task)")
    new.set_defaults(run=run_new)

    check = actions.add_parser("check", help="grade one workbook, with a hint for each failure",
                               description="Check every task of the workbook PATH, each in "
                                           "its own process. Exit 0 if all pass, else 1.")
    check.add_argument("dir", metavar="PATH", type=workbook_path,
                       help="the workbook (.py or .ipynb), or the folder holding it")
    add_grading_flags(check)
    check.add_argument("--gradescope", metavar="PATH",
                       help="also write Gradescope's results.json to PATH")
    check.set_defaults(run=run_check)

    grade_ = actions.add_parser("grade", help="grade a class: a CSV row and a feedback file "
                                              "per student",
                                description="Grade every student of SUBMISSIONS into a CSV "
                                            "and a feedback file each; a broken submission "
                                            "only fills its own row.")
    grade_.add_argument("submissions", metavar="SUBMISSIONS", type=folder,
                        help="a folder with one sub-folder per student, or one .py/.ipynb "
                             "file per student (as an LMS exports them)")
    grade_.add_argument("--csv", required=True, metavar="PATH", help="the CSV to write")
    grade_.add_argument("--feedback", metavar="DIR",
                        help="where to write a Markdown feedback file per student "
                             "(default: beside the CSV, its name + '-feedback')")
    add_grading_flags(grade_)
    grade_.set_defaults(run=run_grade)

    rubric = actions.add_parser("rubric", help="write a rubric to edit: tasks, points, time "
                                               "limit, seed",
                                description="Write PATH, today's settings as a commented TOML "
                                            "file (with a seed drawn for it); give it to new, "
                                            "check and grade with --rubric PATH.")
    rubric.add_argument("path", metavar="PATH", help="the file to write (never overwritten)")
    rubric.set_defaults(run=run_rubric)

    recipe = actions.add_parser(
        "gradescope", help="write Gradescope's autograder: setup.sh, run_autograder, a zip",
        description="Write DIR/setup.sh (installs the wheel), DIR/run_autograder (grades "
                    "/autograder/submission with --seed) and DIR/autograder.zip holding both and "
                    "the wheel, to upload to Gradescope.")
    recipe.add_argument("dir", metavar="DIR", help="the folder to write into (created if needed)")
    recipe.add_argument("--wheel", required=True, metavar="PATH",
                        help="the tinyae wheel to grade with (`pip wheel --no-deps -w dist .`)")
    recipe.add_argument("--seed", required=True, type=seed, metavar="N",
                        help="draws the checks' inputs, the same for every student")
    recipe.set_defaults(run=run_gradescope)


def add_grading_flags(parser: argparse.ArgumentParser) -> None:
    """--task and --timeout, shared by check and grade."""
    parser.add_argument("--task", dest="tasks", action="append", type=task_id, metavar="ID",
                        help="check only this task (repeat for more; default: all)")
    parser.add_argument("--rubric", metavar="PATH",
                        help="the teacher's rubric (TOML): the tasks, their points, the time "
                             "limit, the seed; a flag given here wins over it")
    parser.add_argument("--timeout", type=positive_float, metavar="S",
                        help="CPU seconds each task may use before it counts as hanging; "
                             "three times as long on the wall clock (default: the rubric's, "
                             f"else {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--jobs", type=positive_int, metavar="N",
                        help="tasks checked at a time (default: the rubric's, else one per "
                             "core); each task's limit is its own CPU time, so a busy machine "
                             "does not fail it")
    parser.add_argument("--seed", type=seed, metavar="N",
                        help="draws the checks' shapes and values (default: the rubric's; "
                             "else check: 0, what students see, and grade: a new random seed, "
                             "printed)")


def folder(text: str) -> str:
    """An existing folder (argparse type): a missing one is a usage error, exit 2."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return text


def workbook_path(text: str) -> str:
    """A workbook file or a folder (argparse type): anything else is a usage error, exit 2."""
    path = Path(text)
    if path.is_file() and path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a workbook: name a .py or .ipynb "
                                         f"file, or the folder holding it")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file or folder: {text!r}")
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
    parts = read_rubric(args.rubric).workbook_parts()
    for path in write_workbook(args.dir, solved=args.solved, notebook=args.notebook, parts=parts):
        print(f"wrote {path}")
    print(f"next: fill in the exercises, then run `tinyae workbook check {args.dir}`")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Print a line per task, then each failure's hint and details, then the total.

    Gradescope's file is written first: however the printing ends, it is there.
    """
    rubric = grading_rubric(args)
    seed_ = 0 if rubric.seed is None else rubric.seed
    results = rubric.apply(grade(args.dir, rubric.tasks, timeout=rubric.timeout, seed=seed_,
                                 jobs=rubric.jobs))
    written = write_gradescope(results, args.gradescope, seed_) if args.gradescope else None
    for result in results:
        say(headline(result))
    for result in results:
        if not result.passed:
            say(f"\n{result.task_id} {result.title}:")
            if len(result.checks) > 1:  # which sub-checks earned their points
                say("  " + "  ".join(("✓ " if row["passed"] else "✗ ") + row["name"]
                                     for row in result.checks))
            say(textwrap.indent("\n\n".join(filter(None, [result.hint, result.details])), "  "))
    points = sum(result.points for result in results)
    out_of = sum(result.max_points for result in results)
    passed = sum(result.passed for result in results)
    say(f"\ntotal: {points:g}/{out_of:g} points, {passed} of {len(results)} tasks pass"
        + (f" (seed {seed_})" if seed_ else ""))
    if written:
        say(f"wrote {written}")
    return 0 if passed == len(results) else 1


def run_grade(args: argparse.Namespace) -> int:
    """Grade the class, a line per student as it goes; 0 once the CSV is written."""
    with user_values():  # an output inside the submissions: refused before grading starts
        _, feedback = class_outputs(args.submissions, args.csv, args.feedback)
    rubric = grading_rubric(args)
    seed_ = secrets.randbelow(2**32) if rubric.seed is None else rubric.seed
    say(f"seed {seed_}: the checks' inputs (--seed {seed_} grades again with the same ones)")
    grade_class(args.submissions, args.csv, rubric.tasks, timeout=rubric.timeout, seed=seed_,
                jobs=rubric.jobs, feedback=feedback, progress=say, rescore=rubric.apply)
    say(f"wrote {args.csv}, and a feedback file per student in {feedback}")
    return 0


def run_rubric(args: argparse.Namespace) -> int:
    """Write the default rubric for the teacher to edit."""
    print(f"wrote {write_rubric(args.path)}: edit it, then give it to new, check and grade "
          f"with --rubric {args.path}")
    return 0


def run_gradescope(args: argparse.Namespace) -> int:
    """Write Gradescope's autograder and say what to upload."""
    with user_values():  # a file that is not a tinyae wheel is refused: exit 2
        written = write_gradescope_recipe(args.dir, args.wheel, args.seed)
    for path in written:
        print(f"wrote {path}")
    print(f"next: upload {written[-1]} as the assignment's autograder on Gradescope")
    return 0


def read_rubric(path: str | None) -> Rubric:
    """The rubric in ``path`` (``--rubric``), or today's; a wrong one is a usage error, exit 2."""
    with user_values():
        return load_rubric(path) if path else default_rubric()


def grading_rubric(args: argparse.Namespace) -> Rubric:
    """The rubric (``--rubric``, or today's), narrowed to ``--task``; a flag given wins over it."""
    rubric = read_rubric(args.rubric)
    if args.tasks:
        with user_values():
            rubric = rubric.only(args.tasks)
    return dataclasses.replace(rubric, timeout=args.timeout or rubric.timeout,
                               seed=rubric.seed if args.seed is None else args.seed,
                               jobs=args.jobs or rubric.jobs)


def say(text: str) -> None:
    """Print a line of the report; once nobody reads it (``| head`` has quit), nothing more.

    The report only tells what the files hold, so a closed pipe stops the printing and
    nothing else: grading goes on and every file is written.  Standard output is then
    pointed at the null device, where later lines, and Python's last flush, go quietly.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        silence_stdout()
