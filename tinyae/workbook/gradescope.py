"""The Gradescope autograder for the workbook: ``setup.sh``, ``run_autograder``, and the zip to upload.

Gradescope unzips the teacher's ``autograder.zip`` into ``/autograder/source``, runs
``setup.sh`` once to build the grading image, then, for every submission, runs
``run_autograder``, which must grade ``/autograder/submission`` and write
``/autograder/results/results.json``.  The recipe:

* ``setup.sh`` installs tinyae from the wheel inside the zip (no network needed for
  tinyae itself; pip fetches NumPy and matplotlib);
* ``run_autograder`` runs ``tinyae workbook check`` on the submission with the teacher's
  seed and ``--gradescope``: one Gradescope test per sub-check, its hint as the output.

Both scripts take two variables, so that a teacher (and the tests) can rehearse the
whole run on their own machine before uploading: ``PYTHON``, the interpreter
(default ``python3``), and ``AUTOGRADER``, the folder that stands for ``/autograder``.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder: it installs tinyae
# from the wheel beside this file (Gradescope unzips autograder.zip into /autograder/source).
# Choose a base image whose python3 is 3.10 or newer (Ubuntu 22.04 or later).
# PYTHON names another interpreter: a rehearsal on your own machine uses a virtual env's.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${{PYTHON:-python3}}"
if ! "$PYTHON" -m pip --version > /dev/null 2>&1; then  # a base image may come without pip
    apt-get update && apt-get install -y python3-pip
fi
# Ubuntu 24.04's python3 refuses system-wide installs (PEP 668): this container is throwaway.
PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install --no-cache-dir "./{wheel}"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: tinyae grades the workbook handed in
# (/autograder/submission), drawing the checks' inputs from seed {seed}, and writes
# /autograder/results/results.json: a test per sub-check, its hint as the output.
# AUTOGRADER stands for /autograder and PYTHON for python3, to rehearse on your own machine.
set -euo pipefail
ROOT="${{AUTOGRADER:-/autograder}}"
"${{PYTHON:-python3}}" -m tinyae workbook check "$ROOT/submission" --seed {seed} \\
    --gradescope "$ROOT/results/results.json"
"""

ZIP_NAME = "autograder.zip"
WHEEL_NAME = re.compile(r"^tinyae-[A-Za-z0-9_.+-]+\.whl$")  # safe to name in a shell script


def write_gradescope_recipe(folder: str | os.PathLike, wheel: str | os.PathLike, seed: int) -> list[Path]:
    """Write the autograder into ``folder``: the scripts, a copy of ``wheel``, and ``autograder.zip``.

    ``wheel`` is the tinyae wheel to grade with (``pip wheel --no-deps -w dist .`` in a
    clone builds one); ``seed`` draws the checks' inputs, the same for every student.
    ``autograder.zip`` holds ``setup.sh``, ``run_autograder`` and the wheel at its top
    level, as Gradescope wants: upload it as the assignment's autograder.  Returns the
    files written, the zip last.  Never overwrites: if one of them is already in
    ``folder``, nothing is written and ``FileExistsError`` names it.
    """
    wheel, folder = Path(wheel), Path(folder)
    if not WHEEL_NAME.match(wheel.name):
        raise ValueError(f"{wheel} is not a tinyae wheel (a file named tinyae-….whl)")
    if not wheel.is_file():
        raise FileNotFoundError(f"no such wheel: {wheel}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"a seed is a whole number from 0 to {2**32 - 1}, got {seed}")
    scripts = {"setup.sh": SETUP_SH.format(wheel=wheel.name),
               "run_autograder": RUN_AUTOGRADER.format(seed=seed)}
    paths = [folder / name for name in (*scripts, wheel.name, ZIP_NAME)]
    existing = [path for path in paths if path.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} already exists; the autograder would overwrite it. "
                              "Choose an empty folder, or move the old files away first.")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (folder / name).write_text(text, encoding="utf-8", newline="\n")  # bash wants \n, even from Windows
        (folder / name).chmod(0o755)
    shutil.copyfile(wheel, folder / wheel.name)
    with zipfile.ZipFile(folder / ZIP_NAME, "w") as archive:
        for path in paths[:-1]:  # at the zip's top level
            info = zipfile.ZipInfo.from_file(path, path.name)
            # The Unix modes, written out: the scripts executable even when zipped on Windows.
            info.external_attr = (0o100755 if path.name in scripts else 0o100644) << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return paths
