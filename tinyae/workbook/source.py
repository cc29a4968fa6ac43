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

import json
import linecache
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyae.notebook import notebook_json
from tinyae.workbook.parts import PARTS
from tinyae.workbook.task import Part, blank_code, crash_hint

NAMES = ("workbook.py", "workbook.ipynb")
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
if __name__ == "__main__":  # `python workbook.py`: check every exercise
    for task in TASKS:
        print(check_task(task.id, namespace=globals()))"""

README = """\
# Your tinyae workbook

`{name}` holds the exercises: you write the forward and backward passes of a dense layer,
the activations, the losses, SGD with momentum, Adam and the parts of a VAE, then train an
autoencoder on MNIST with your own classes.

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


def write_workbook(folder: str | Path, solved: bool = False, notebook: bool = False) -> list[Path]:
    """Write ``workbook.py`` (or ``workbook.ipynb``) and ``README.md`` into ``folder``.

    ``solved`` fills in the answers (the teacher's key); ``notebook`` writes a Jupyter
    notebook with a check cell after each exercise.  Never overwrites: a folder that
    already holds a workbook or a README raises ``FileExistsError``.
    """
    folder = Path(folder)
    name = NAMES[1] if notebook else NAMES[0]
    existing = [folder / n for n in (*NAMES, "README.md") if (folder / n).exists()]
    if existing:
        raise FileExistsError(
            f"{existing[0]} already exists; a new workbook would overwrite it (and your work "
            f"with it). Choose an empty folder, or move the old files away first.")
    text = render(PARTS, solved, notebook)
    readme = README.format(
        name=name, open=" in Jupyter" if notebook else " in your editor",
        check="run the check cell under each exercise." if notebook
        else "`python workbook.py` runs every check.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(notebook_json(text) if notebook else text, encoding="utf-8")
    (folder / "README.md").write_text(readme, encoding="utf-8")
    return [folder / name, folder / "README.md"]


def find_workbook(folder: str | Path) -> Path:
    """The workbook file in ``folder`` (or ``folder`` itself if it is a file)."""
    path = Path(folder)
    if path.is_file():
        return path
    found = [path / n for n in NAMES if (path / n).is_file()]
    if not found:
        raise WorkbookError(f"no workbook.py or workbook.ipynb in {path}")
    if len(found) > 1:
        raise WorkbookError(f"{path} holds both workbook.py and workbook.ipynb: keep the one you "
                            f"worked in, or pass that file itself")
    return found[0]


def code_cells(path: Path) -> list[tuple[str, str]]:
    """``[(filename, source), …]`` to execute: the script, or a notebook's code cells.

    A notebook's check cells are skipped (checking is the grader's job, not the import's)
    and IPython magics (``%matplotlib``, ``!pip``) are commented out.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WorkbookError(f"cannot read {path}: {error}") from None
    if path.suffix != ".ipynb":
        return [(str(path), text)]
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        raise WorkbookError(f"{path} is not a Jupyter notebook (no JSON with cells)") from None
    sources = []
    for index, cell in enumerate(cells, start=1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if cell.get("cell_type") != "code" or (lines and all(CHECK_CELL.match(ln) for ln in lines)):
            continue
        source = "\n".join("# " + ln if MAGIC.match(ln) else ln for ln in source.splitlines())
        sources.append((f"{path.name}, cell {index}", source))
    return sources


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
