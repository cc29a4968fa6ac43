"""Regenerate the notebooks shipped beside the percent-format tutorials.

Run from the repository root after editing any tutorial or solution::

    python -m tools.sync_notebooks          # rewrite every notebook that is out of date
    python -m tools.sync_notebooks --check  # write nothing; exit 1 if one is out of date

The ``.py`` file is the source; ``NN_name.ipynb`` beside it is generated from it by
``tinyae.notebook`` (no outputs), with one setup cell put first: when the kernel cannot
import tinyae, it installs it — from the clone around the notebook, a wheel beside it,
or the package index — so that a student can open the notebook from any Jupyter or
Colab.  That cell lives here, not in the scripts: a script run needs tinyae installed
anyway, and one copy is easier to keep right than twenty.

The notebooks also ship inside the wheel (setup.cfg maps ``tutorials/`` to the package
``tinyae.tutorials``), and ``tinyae tutorials DIR`` writes them out for a student: what
this tool writes is what students get.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinyae.notebook import notebook_json

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (  # globs under ROOT: every matching .py gets a notebook
    "tutorials/[0-9][0-9]_*.py",
    "tutorials/solutions/[0-9][0-9]_*.py",
)
COMMAND = "python -m tools.sync_notebooks"

SETUP_CELL = '''\
# %%
# Setup: make sure this kernel can import tinyae.  If it cannot, install it from the nearest
# of: the tinyae clone this notebook sits in (pip install -e), a tinyae wheel in this folder
# or above (the file your teacher gave you), the package index (pip install tinyae).
# Generated from {script} by `{command}`.
import importlib.util
import subprocess
import sys
from pathlib import Path


def tinyae_source(here: Path) -> list[str]:
    """What `pip install` needs: ["-e", a clone], [a wheel] or ["tinyae"], nearest `here` first."""
    for folder in (here, *here.parents):
        setup = folder / "setup.cfg"
        if setup.is_file() and "name = tinyae" in setup.read_text(encoding="utf-8"):
            return ["-e", str(folder)]
        wheels = sorted(folder.glob("tinyae-*.whl"), key=lambda wheel: wheel.stat().st_mtime)
        if wheels:
            return [str(wheels[-1])]  # the newest, if there are several
    return ["tinyae"]


if importlib.util.find_spec("tinyae") is None:
    source = tinyae_source(Path.cwd())  # Jupyter runs a notebook in its own folder
    print(f"installing tinyae: pip install {{' '.join(source)}}")
    subprocess.run([sys.executable, "-m", "pip", "install", *source], check=True)
    if source[0] == "-e":  # an editable install takes effect when Python starts: until this
        sys.path.insert(0, source[1])  # kernel restarts, import tinyae from the clone itself
    importlib.invalidate_caches()
    if importlib.util.find_spec("tinyae") is None:
        raise ModuleNotFoundError("tinyae is installed, but this kernel cannot see it yet: "
                                  "restart the kernel, then run the notebook again.")

'''


def scripts() -> list[Path]:
    """Every percent-format script that ships with a notebook, in a stable order."""
    return sorted(path for pattern in SOURCES for path in ROOT.glob(pattern))


def notebook_of(script: Path) -> Path:
    """Where the notebook of ``script`` lives: beside it, ``.py`` → ``.ipynb``."""
    return script.with_suffix(".ipynb")


def expected_text(script: Path) -> str:
    """The ``.ipynb`` text that ``script`` generates: the setup cell, then its own cells."""
    setup = SETUP_CELL.format(script=script.name, command=COMMAND)
    return notebook_json(setup + script.read_text(encoding="utf-8"))


def out_of_date() -> list[Path]:
    """The notebooks that are missing or differ from what their script generates."""
    return [notebook_of(script) for script in scripts()
            if not notebook_of(script).is_file()
            or notebook_of(script).read_text(encoding="utf-8") != expected_text(script)]


def main(argv: list[str] | None = None) -> int:
    """Write the out-of-date notebooks (or, with ``--check``, only list them); exit status."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit with status 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = out_of_date()
    for notebook in stale:
        name = notebook.relative_to(ROOT)
        if args.check:
            print(f"{name} differs from {name.with_suffix('.py').name}: run `{COMMAND}`")
        else:
            notebook.write_text(expected_text(notebook.with_suffix(".py")), encoding="utf-8")
            print(f"wrote {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
