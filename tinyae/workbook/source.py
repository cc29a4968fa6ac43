"""The workbook a student starts from, written from the tasks' own code; and loading it back.

``render`` assembles one percent-format script (see ``tinyae.notebook``) from the parts:
an introduction, the imports, then for each part a markdown cell naming its exercises
and a code cell with its class or function — blanked (``raise NotImplementedError``)
or solved (the answer key).  A notebook gets a check cell after each exercise; the
script instead checks everything when run (``python workbook.py``).  ``write_workbook``
writes it with a README; ``load_workbook`` executes a student's workbook and returns
its names.
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import re
import shlex
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyae.notebook import notebook_json
from tinyae.workbook.parts import PARTS
from tinyae.workbook.task import Part, blank_code, crash_hint

NAMES = ("workbook.py", "workbook.ipynb")
SUFFIXES = (".py", ".ipynb")  # what a workbook file may be called, whatever its name
WIDTH = 88  # markdown lines, wrapped
CHECK_CELL = re.compile(r"^\s*(print\()?check_task\(")
MAGIC = re.compile(r"^[%!]")  # IPython magics and shell lines are not Python

INTRO = """\
{start}

Your classes follow tinyae's contracts — a layer subclasses `tinyae.Layer`, a loss has \
`forward(p, y)` and `backward()`, an optimizer has `step(params, grads)` — so they work \
inside `tinyae.Sequential` and `tinyae.fit`. The last exercise trains an autoencoder on \
MNIST with nothing but your own parts.

Check an exercise as soon as you have written it: {how} A check that fails says what is \
wrong and why. `tinyae workbook check .` in this folder checks every exercise the way \
the grader does (each in its own process, with a time limit)."""
START = ("Each exercise is a method or a function whose body is `raise NotImplementedError(…)`. "
         "Replace that line with your code: the docstring above it gives the formula, the "
         "shapes and the tutorial that derives it.")
START_KEY = ("This is the answer key: every exercise is written out and every check passes. "
             "Students get the same workbook with each answer replaced by "
             "`raise NotImplementedError(…)`.")
HOW_NOTEBOOK = "run the check cell under it, e.g. `print(check_task(\"1.2\", Dense))`."
HOW_SCRIPT = ("`python workbook.py` checks them all; in a notebook or an interactive "
              "window, `print(check_task(\"1.2\", Dense))` checks one.")
IMPORTS = "import numpy as np\n\nimport tinyae\nfrom tinyae.workbook import TASKS, check_task"
HAND_IN = """\
When every check passes, hand in this file as it is. Your grade is the sum of the points \
of the exercises that pass; `tinyae workbook check .` shows exactly what the grader will see."""
RUN_ALL = """\
if __name__ == "__main__":  # `python workbook.py`: check every exercise, then add up
    points = out_of = 0.0
    for task in TASKS:
        result = check_task(task.id, namespace=globals())
        print(result)
        points, out_of = points + result.points, out_of + result.max_points
    print(f"total: {points:g}/{out_of:g} points")"""

README = """\
# Your tinyae workbook

`{name}` holds the exercises: you write the forward and backward passes of a dense layer,
the activations, the losses, SGD with momentum, Adam and the parts of a VAE, then train an
autoencoder on MNIST with your own classes.

First install tinyae (Python 3.10 or newer) and write out the tutorials the exercises
point to (`tutorials/01_dense_and_backprop.py` …, each also a notebook, and worked
solutions in `tutorials/solutions/`), in this folder:

    pip install tinyae-0.1.0-py3-none-any.whl   # the wheel your teacher gave you, by its file name
    pip install tinyae                          # or else: from the package index
    tinyae tutorials tutorials                  # writes ./tutorials

In a notebook (Jupyter, Colab), run `%pip install …` in a cell instead of `pip install …`.

1. Open `{name}`{open}. Each exercise is a body that raises `NotImplementedError`; its
   docstring gives the formula, the shapes and the tutorial that derives it.
2. Check your work: {check}
3. Check everything the way the grader will, in this folder:

       tinyae workbook check .                 # every exercise
       tinyae workbook check . --task 1.2      # one exercise

   A failing check says what is wrong and why (an extra average over the batch, a missing
   transpose, a gradient overwritten instead of accumulated, …).
4. Hand in `{name}`.
"""


class WorkbookError(Exception):
    """A workbook that cannot be loaded: missing, not valid Python, or crashing at import."""


def markdown(text: str) -> str:
    """A markdown cell: every paragraph wrapped and commented."""
    lines = []
    for paragraph in text.split("\n\n"):
        if paragraph.startswith(("* ", "#")):
            lines += paragraph.splitlines()
        else:
            lines += textwrap.wrap(paragraph, WIDTH)
        lines.append("")
    return "# %% [markdown]\n" + "\n".join(f"# {line}".rstrip() for line in lines[:-1])


def code(text: str) -> str:
    """A code cell."""
    return f"# %%\n{text}"


def part_cells(part: Part, solved: bool, notebook: bool) -> list[str]:
    """The markdown cell, the code cell and (in a notebook) one check cell per exercise."""
    items = [f"* **Exercise {t.id}: `{t.title}`** ({t.points} points) — see `{t.tutorial}`"
             for t in part.tasks]
    cells = [markdown(f"## {part.heading}\n\n{part.intro}\n\n" + "\n".join(items)),
             code(blank_code(part.code, solved))]
    if notebook:
        cells += [code(f'print(check_task("{t.id}", {t.name}))') for t in part.tasks]
    return cells


def render(parts: Sequence[Part], solved: bool = False, notebook: bool = False) -> str:
    """The whole workbook as one percent-format script."""
    title = "# The tinyae workbook" + (": answer key" if solved else "")
    intro = INTRO.format(start=START_KEY if solved else START,
                         how=HOW_NOTEBOOK if notebook else HOW_SCRIPT)
    cells = [markdown(f"{title}\n\n{intro}"),
             code(IMPORTS)]
    for part in parts:
        cells += part_cells(part, solved, notebook)
    cells.append(markdown("## Handing in\n\n" + HAND_IN))
    if not notebook:
        cells.append(code(RUN_ALL))
    return "\n\n\n".join(cells) + "\n"


def write_workbook(folder: str | Path, solved: bool = False, notebook: bool = False,
                   parts: Sequence[Part] = PARTS) -> list[Path]:
    """Write ``workbook.py`` (or ``workbook.ipynb``) and ``README.md`` into ``folder``.

    ``solved`` fills in the answers (the teacher's key); ``notebook`` writes a Jupyter
    notebook with a check cell after each exercise; ``parts`` are the parts to write (a
    rubric's ``workbook_parts()``: its tasks, with its points).  Never overwrites: a folder
    that already holds a workbook or a README raises ``FileExistsError``.
    """
    folder = Path(folder)
    name = NAMES[1] if notebook else NAMES[0]
    existing = [folder / n for n in (*NAMES, "README.md") if (folder / n).exists()]
    if existing:
        raise FileExistsError(
            f"{existing[0]} already exists; a new workbook would overwrite it (and your work "
            f"with it). Choose an empty folder, or move the old files away first.")
    text = render(parts, solved, notebook)
    readme = README.format(
        name=name, open=" in Jupyter" if notebook else " in your editor",
        check="run the check cell under each exercise." if notebook
        else "`python workbook.py` runs every check.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(notebook_json(text) if notebook else text, encoding="utf-8")
    (folder / "README.md").write_text(readme, encoding="utf-8")
    return [folder / name, folder / "README.md"]


def find_workbook(folder: str | Path) -> Path:
    """The workbook file in ``folder`` (or ``folder`` itself if it is a file).

    Students rename files and LMSs rename them again, so the workbook is ``workbook.py``
    or ``workbook.ipynb`` in any case (``Workbook.py``), or else the only ``.py`` or
    ``.ipynb`` file in the folder.  Anything else raises ``WorkbookError`` saying which
    file to keep, or how to name the one meant.
    """
    path = Path(folder)
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise WorkbookError(f"{path} is not a workbook: a workbook is a .py or .ipynb file")
        return path
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in SUFFIXES)
    named = [p for p in files if p.name.lower() in NAMES]
    found = named or files
    if not found:
        raise WorkbookError(f"no workbook.py or workbook.ipynb in {path} (nor any other .py or "
                            f".ipynb file)")
    if len(found) > 1:
        which = ("both workbook.py and workbook.ipynb" if named
                 else "no workbook.py but " + ", ".join(p.name for p in found))
        checks = " or ".join(f"`tinyae workbook check {shlex.quote(str(p))}`" for p in found)
        raise WorkbookError(f"{path} holds {which}: keep the one you worked in and move the "
                            f"others out of the folder, or name it: {checks}")
    return found[0]


def code_cells(path: Path) -> list[tuple[str, str]]:
    """``[(filename, source), …]`` to execute: the script, or a notebook's code cells.

    A script is decoded as Python decodes it (a UTF-8 byte-order mark, or a ``# -*- coding:
    latin-1 -*-`` line, is honoured); a notebook is UTF-8 JSON (a byte-order mark is
    allowed).  A notebook's check cells are skipped (checking is the grader's job, not the
    import's) and IPython magics (``%matplotlib``, ``!pip``) are commented out.  What
    cannot be read raises ``WorkbookError`` with a one-line reason.
    """
    notebook = path.suffix.lower() == ".ipynb"
    save = "save it as UTF-8" + ("" if notebook else
                                 ", or name its encoding in a first line: # -*- coding: latin-1 -*-")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig") if notebook else importlib.util.decode_source(data)
    except OSError as error:
        raise WorkbookError(f"cannot read {path}: {error}") from None
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise WorkbookError(f"cannot read {path.name}: line {line} is not {error.encoding} "
                            f"text; {save}") from None
    except SyntaxError as error:  # how Python refuses a coding line it cannot follow
        raise WorkbookError(f"cannot read {path.name}: {error.msg}; {save}") from None
    if not notebook:
        return [(str(path), text)]
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        raise WorkbookError(f"{path} is not a Jupyter notebook (no JSON with cells)") from None
    if not isinstance(cells, list):
        raise WorkbookError(f"{path} is not a Jupyter notebook (its cells are not a list)")
    sources = []
    for index, cell in enumerate(cells, start=1):
        source = cell_source(cell, f"{path.name}, cell {index}")
        lines = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if cell.get("cell_type") != "code" or (lines and all(CHECK_CELL.match(ln) for ln in lines)):
            continue
        source = "\n".join("# " + ln if MAGIC.match(ln) else ln for ln in source.splitlines())
        sources.append((f"{path.name}, cell {index}", source))
    return sources


def cell_source(cell: Any, name: str) -> str:
    """A notebook cell's source as one string (the format allows text or a list of lines).

    Anything else — a cell that is not a JSON object, a source that is a number — raises
    ``WorkbookError`` naming the cell: the notebook was changed by hand or by a broken tool.
    """
    fix = ("a cell's \"source\" is text or a list of lines: fix that cell in a text editor, "
           "or copy your code into a new notebook")
    if not isinstance(cell, dict):
        raise WorkbookError(f"{name} is {type(cell).__name__}, not a cell (a JSON object); {fix}")
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    if not isinstance(source, str):
        what = type(source).__name__
        if isinstance(source, list):
            what = "a list holding " + next(type(line).__name__ for line in source
                                             if not isinstance(line, str))
        raise WorkbookError(f"{name}: its source is {what}, not text; {fix}")
    return source


def load_workbook(folder: str | Path) -> dict[str, Any]:
    """Execute a student's workbook and return its namespace (``{"Dense": …, …}``).

    ``folder`` holds ``workbook.py`` or ``workbook.ipynb`` (or is that file).  Raises
    ``WorkbookError`` with a one-line reason if it cannot: missing file, a syntax error
    (with its line), or an exception while the workbook runs.
    """
    path = find_workbook(folder)
    namespace: dict[str, Any] = {"__name__": "workbook", "__file__": str(path)}
    for filename, source in code_cells(path):
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            compiled = compile(source, filename, "exec")
        except SyntaxError as error:
            text = f": `{error.text.strip()}`" if error.text else ""
            raise WorkbookError(f"{Path(filename).name}, line {error.lineno}: SyntaxError: "
                                f"{error.msg}{text}") from None
        try:
            exec(compiled, namespace)
        except Exception as error:  # the student's code at import: report it, in one line
            raise WorkbookError(crash_hint(error, f"loading {path.name}")) from None
    return namespace
