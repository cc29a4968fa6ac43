"""Regenerate the notebooks shipped beside the percent-format tutorials.

Run from the repository root after editing any tutorial or solution::

    python -m tools.sync_notebooks          # rewrite every notebook that is out of date
    python -m tools.sync_notebooks --check  # write nothing; exit 1 if one is out of date

The ``.py`` file is the source; ``NN_name.ipynb`` beside it is generated from it by
``tinyae.notebook`` (no outputs), with one setup cell put first: it installs tinyae from
the clone around the notebook when the kernel cannot import it, so that a student can
open the notebook from any Jupyter.  That cell lives here, not in the scripts: a script
run needs tinyae installed anyway, and one copy is easier to keep right than twenty.
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
# Setup: make sure this kernel can import tinyae; if it cannot, install the tinyae clone
# this notebook sits in (pip install -e), or stop and say how.
# Generated from {script} by `{command}`.
import importlib.util
import subprocess
import sys
from pathlib import Path


def tinyae_clone() -> Path | None:
    """The nearest folder at or above this notebook's folder whose setup.cfg is tinyae's."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        setup = folder / "setup.cfg"
        if setup.is_file() and "name = tinyae" in setup.read_text(encoding="utf-8"):
            return folder
    return None


if importlib.util.find_spec("tinyae") is None:
    clone = tinyae_clone()
    if clone is None:
        raise ModuleNotFoundError(f"tinyae is not installed for this kernel ({{sys.executable}}): "
                                  "run `%pip install -e <your tinyae clone>` in a cell, then "
                                  "restart the kernel.")
    print(f"installing tinyae from {{clone}} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "-e", str(clone)], check=True)
    # An editable install takes effect when Python starts; until this kernel restarts,
    # import tinyae (the same files) from the clone itself.
    sys.path.insert(0, str(clone))
    importlib.invalidate_caches()

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
