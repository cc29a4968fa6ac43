"""Installing tinyae without a clone: the wheel, ``tinyae tutorials``, the Gradescope recipe.

The wheel is built once per session from a copy of the files a build reads, so that the
clone is left untouched and nothing stale in it (an old ``build/`` folder) can slip into
the wheel; offline, since the test extra holds pyproject.toml's build requirements.
The slow test installs that wheel into a fresh virtual environment — nothing else of the
clone — and does what a student and a teacher do: run a notebook's setup cell, ``tinyae
tutorials``, ``tinyae workbook new``, and the Gradescope run in Gradescope's folder
layout.  It needs the package index for NumPy and matplotlib.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from keys import blank, honest_key
from tinyae.cli import main
from tinyae.cli.tutorials import tutorial_files
from tinyae.workbook import TASKS, write_workbook
from tinyae.workbook.gradescope import ZIP_NAME, write_gradescope_recipe

REPO = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "tinyae", "tutorials")
SEED = 2718


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """tinyae's wheel, built from a clean copy of the clone (about 2 s)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "figures", ".*"))
        else:
            shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(source)], check=True, timeout=300)
    [built] = out.glob("tinyae-*.whl")
    return built


def test_the_wheel_carries_the_package_its_data_and_the_tutorials(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "tinyae").rglob("*.py")
               if "__pycache__" not in path.parts}
    assert "tinyae/workbook/gradescope.py" in modules
    assert not modules - names, f"missing from the wheel (a package not listed in setup.cfg?): " \
                                f"{sorted(modules - names)}"
    data = {path.relative_to(REPO).as_posix() for path in (REPO / "tinyae" / "datasets" / "data").iterdir()}
    assert not data - names
    tutorials = {f"tinyae/tutorials/{name.as_posix()}" for name in tutorial_files(REPO / "tutorials")}
    assert {"tinyae/tutorials/README.md", "tinyae/tutorials/01_dense_and_backprop.ipynb",
            "tinyae/tutorials/solutions/08_beyond_plain.py"} <= tutorials
    assert not tutorials - names, f"tutorials missing from the wheel: {sorted(tutorials - names)}"


def test_tutorials_command_writes_them_all_lists_them_and_never_overwrites(tmp_path, capsys):
    folder = tmp_path / "tutorials"
    assert main(["tutorials", str(folder)]) == 0
    printed = capsys.readouterr().out
    files = tutorial_files(REPO / "tutorials")
    assert len(files) == 1 + 2 * 2 * 8  # the map, and 8 tutorials and 8 solutions, each .py + .ipynb
    for name in files:
        assert (folder / name).read_bytes() == (REPO / "tutorials" / name).read_bytes()
        assert f"wrote {folder / name}\n" in printed
    assert f"open {folder / '01_dense_and_backprop.ipynb'} in Jupyter" in printed

    mine = folder / "solutions" / "03_losses.py"
    mine.write_text("# my own notes\n", encoding="utf-8")
    (folder / "README.md").unlink()
    assert main(["tutorials", str(folder)]) == 1
    error = capsys.readouterr().err
    assert "already exists" in error and "would overwrite it" in error
    assert mine.read_text(encoding="utf-8") == "# my own notes\n"
    assert not (folder / "README.md").exists(), "wrote some files before refusing"


def test_the_students_readme_says_how_to_install_and_where_the_tutorials_come_from(tmp_path):
    readme = write_workbook(tmp_path)[1].read_text(encoding="utf-8")
    assert "pip install tinyae-" in readme and "pip install tinyae " in readme
    assert "tinyae tutorials tutorials" in readme  # the folder every exercise points into:
    assert all(task.tutorial.startswith("tutorials/") for task in TASKS)


# --- the Gradescope recipe ------------------------------------------------------------------


def gradescope_layout(root: Path, recipe: Path, workbook: str) -> Path:
    """``root`` laid out as Gradescope lays out /autograder; returns its ``run_autograder``.

    autograder.zip unzipped into ``source/`` (with the modes the zip records, as ``unzip``
    keeps them), ``run_autograder`` copied up beside it, the student's upload in
    ``submission/`` and an empty ``results/``.
    """
    with zipfile.ZipFile(recipe / ZIP_NAME) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, root / "source"))
            path.chmod(info.external_attr >> 16 & 0o777)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "submission" / "workbook.py").write_text(workbook, encoding="utf-8")
    (root / "results").mkdir()
    return root / "run_autograder"


def rehearsal_env(root: Path, python: str | Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` with the variables that point the recipe's scripts at ``root`` and ``python``."""
    return base | {"AUTOGRADER": str(root), "PYTHON": str(python), "OPENBLAS_NUM_THREADS": "1"}


def test_the_recipe_zip_holds_executable_scripts_and_the_wheel_at_its_top(wheel, tmp_path):
    written = write_gradescope_recipe(tmp_path / "recipe", wheel, SEED)
    assert [path.name for path in written] == ["setup.sh", "run_autograder", wheel.name, ZIP_NAME]
    with zipfile.ZipFile(written[-1]) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        assert archive.read(wheel.name) == wheel.read_bytes()
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    assert set(modes) == {"setup.sh", "run_autograder", wheel.name}
    assert all(modes[name] & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))
    assert f'pip install --no-cache-dir "./{wheel.name}"' in setup
    assert f'workbook check "$ROOT/submission" --seed {SEED}' in run
    assert '--gradescope "$ROOT/results/results.json"' in run
    assert "\r" not in setup + run


def test_the_recipe_refuses_a_file_that_is_not_a_wheel_and_never_overwrites(wheel, tmp_path):
    with pytest.raises(ValueError, match="not a tinyae wheel"):
        write_gradescope_recipe(tmp_path / "a", tmp_path / "numpy-2.0-py3-none-any.whl", SEED)
    with pytest.raises(ValueError, match="a seed is a whole number"):
        write_gradescope_recipe(tmp_path / "a", wheel, -1)
    folder = tmp_path / "recipe"
    folder.mkdir()
    (folder / "run_autograder").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="run_autograder already exists"):
        write_gradescope_recipe(folder, wheel, SEED)
    assert [path.name for path in folder.iterdir()] == ["run_autograder"]


def test_run_autograder_grades_the_submission_into_gradescopes_results(wheel, tmp_path):
    """The recipe's run_autograder in Gradescope's layout, with this environment's tinyae."""
    write_gradescope_recipe(tmp_path / "recipe", wheel, SEED)
    root = tmp_path / "autograder"
    run_autograder = gradescope_layout(root, tmp_path / "recipe", blank())
    result = subprocess.run([str(run_autograder)], env=rehearsal_env(root, sys.executable, dict(os.environ)),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr  # every task fails: the status says so
    assert f"(seed {SEED})" in result.stdout
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and results["tests"]
    assert all(test["status"] == "failed" for test in results["tests"])


# --- a fresh virtual environment with only the wheel ----------------------------------------


@pytest.mark.slow  # NumPy and matplotlib into a new virtual environment: ~30 s, more on a cold cache
def test_a_fresh_environment_with_only_the_wheel_teaches_and_grades(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    clean |= {"TINYAE_OFFLINE": "1", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}

    def run(*command: str | Path, cwd: Path = tmp_path, env: dict[str, str] = clean) -> str:
        result = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    # A student with the teacher's wheel: a shipped notebook's first cell installs it.
    student = tmp_path / "student"
    student.mkdir()
    shutil.copy(wheel, student)
    notebook = json.loads(zipfile.ZipFile(wheel).read("tinyae/tutorials/01_dense_and_backprop.ipynb"))
    setup_cell = "".join(notebook["cells"][0]["source"])
    printed = run(python, "-c", setup_cell + "\nimport tinyae\nprint('from', tinyae.__file__)", cwd=student)
    assert f"pip install {student / wheel.name}" in printed
    assert f"from {env_dir}" in printed  # imported at once, without a restart

    # Then the tutorials, and a workbook whose pointers lead into them.
    hw1 = student / "hw1"
    run(python, "-m", "tinyae", "workbook", "new", hw1)
    assert "tinyae tutorials tutorials" in (hw1 / "README.md").read_text(encoding="utf-8")
    printed = run(python, "-m", "tinyae", "tutorials", "tutorials", cwd=hw1)
    shipped = {name.removeprefix("tinyae/tutorials/"): name for name in zipfile.ZipFile(wheel).namelist()
               if name.startswith("tinyae/tutorials/")}
    assert printed.count("wrote ") == len(shipped) == len(tutorial_files(REPO / "tutorials"))
    for name, in_wheel in shipped.items():
        assert (hw1 / "tutorials" / name).read_bytes() == zipfile.ZipFile(wheel).read(in_wheel)
    pointers = {match for task in TASKS for match in re.findall(r"tutorials/\S+\.py", task.tutorial)}
    assert pointers and all((hw1 / pointer).is_file() for pointer in pointers)

    # The teacher's autograder, rehearsed: setup.sh installs the wheel, run_autograder grades.
    run(python, "-c", "import sys; from tinyae.workbook.gradescope import write_gradescope_recipe; "
                      "write_gradescope_recipe(*sys.argv[1:3], int(sys.argv[3]))",
        tmp_path / "recipe", wheel, str(SEED))
    root = tmp_path / "autograder"
    run_autograder = gradescope_layout(root, tmp_path / "recipe", honest_key())
    run("bash", root / "source" / "setup.sh", env=rehearsal_env(root, python, clean))
    printed = run(run_autograder, env=rehearsal_env(root, python, clean))
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert all(test["status"] == "passed" for test in results["tests"]), printed
    out_of = sum(test["max_score"] for test in results["tests"])
    assert out_of > 0 and results["score"] == pytest.approx(out_of)
