"""``tinyae tutorials DIR``: write the tutorials out for a student, wherever tinyae came from.

The tutorials ship with the package: a wheel carries them inside it, as
``tinyae/tutorials/`` (setup.cfg maps the repository's ``tutorials/`` there); a clone
installed with ``pip install -e`` has them at the top of the repository.  Either way the
command copies the eight scripts, their notebooks, the solutions and the map
(``README.md``) into DIR, keeping the layout the workbook's pointers use
(``tutorials/04_first_autoencoder.py``), and lists what it wrote.  It never overwrites:
if one of the files is already in DIR, it writes nothing and says which.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import tinyae

# What a student gets, as globs under the tutorials folder (the notebooks' generator,
# tools/sync_notebooks.py, makes a notebook for each script these name).
FILES = ("README.md", "[0-9][0-9]_*.py", "[0-9][0-9]_*.ipynb",
         "solutions/[0-9][0-9]_*.py", "solutions/[0-9][0-9]_*.ipynb")

TUTORIALS_EXAMPLES = """\
examples:
  tinyae tutorials tutorials        write them into ./tutorials (the folder the workbook points to)
  tinyae tutorials ~/ml/tinyae      anywhere else

Each tutorial is a script (python tutorials/01_dense_and_backprop.py) and the same lessons
as a notebook (01_dense_and_backprop.ipynb); solutions/ holds the worked exercises."""


def add_parser(subparsers: Any) -> None:
    """``tinyae tutorials DIR``."""
    parser = subparsers.add_parser(
        "tutorials", help="write the tutorials, their notebooks and solutions into a folder",
        description="Copy the tutorials that came with tinyae (scripts, notebooks, solutions "
                    "and the map, README.md) into DIR. Never overwrites a file.",
        epilog=TUTORIALS_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", metavar="DIR", help="the folder to write into (created if needed)")
    parser.set_defaults(run=run)


def shipped_tutorials() -> Path:
    """The folder of tutorials that came with this tinyae.

    Inside the package when it was installed from a wheel; the ``tutorials/`` beside the
    package in a clone (an editable install imports tinyae from the clone itself).
    """
    package = Path(tinyae.__file__).resolve().parent
    for folder in (package / "tutorials", package.parent / "tutorials"):
        if (folder / "README.md").is_file():
            return folder
    raise FileNotFoundError(f"this tinyae ({package}) came without its tutorials: reinstall it "
                            "from a wheel (pip install tinyae-….whl) or a clone (pip install -e .)")


def tutorial_files(source: Path) -> list[Path]:
    """The files to copy, relative to the tutorials folder ``source``, in a stable order."""
    return sorted(path.relative_to(source) for pattern in FILES for path in source.glob(pattern))


def write_tutorials(folder: str | Path) -> list[Path]:
    """Copy the shipped tutorials into ``folder`` (created if needed); returns the files written.

    Never overwrites: if any of the files is already in ``folder``, nothing is written
    and ``FileExistsError`` names it.
    """
    source, folder = shipped_tutorials(), Path(folder)
    files = tutorial_files(source)
    existing = [folder / name for name in files if (folder / name).exists()]
    if existing:
        more = f" (and {len(existing) - 1} more of the tutorials' files)" if len(existing) > 1 else ""
        raise FileExistsError(
            f"{existing[0]} already exists{more}; writing the tutorials would overwrite it (and "
            f"your changes with it). Choose another folder, or move the old files away first.")
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, folder / name)
    return [folder / name for name in files]


def run(args: argparse.Namespace) -> int:
    """Write the tutorials, list them, and say where to start."""
    written = write_tutorials(args.dir)
    for path in written:
        print(f"wrote {path}")
    first = min(path for path in written if path.suffix == ".ipynb" and path.parent == Path(args.dir))
    print(f"next: open {first} in Jupyter, or run `python {first.with_suffix('.py')}`; "
          f"{Path(args.dir) / 'README.md'} says what each tutorial teaches")
    return 0
