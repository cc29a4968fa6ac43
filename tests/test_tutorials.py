"""End to end: every solution runs as a script, and the tutorials are what a learner gets.

Each solution runs in its own subprocess (the installed package, no sys.path tricks) in a
temporary directory, in quick mode and offline, with its figures and cache in that
directory: nothing is shared, so the tests can run in parallel.  The tutorials assert
their key claims inline, so a broken package makes them fail.  Each tutorial runs once,
as its notebook in a Jupyter kernel (``test_notebooks.py``: the figures listed in
``FIGURES`` shown and saved); the notebook holds the script's code cell for cell
(checked there too), so running the script as well would run the same code twice.
"""

from __future__ import annotations

import ast
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

TUTORIALS_DIR = Path(__file__).resolve().parent.parent / "tutorials"
TUTORIALS = sorted(TUTORIALS_DIR.glob("[0-9][0-9]_*.py"))
SOLUTIONS = sorted((TUTORIALS_DIR / "solutions").glob("[0-9][0-9]_*.py"))
TIMEOUT = 120  # seconds per script; each takes a few seconds in quick mode

# The figures each tutorial must show and save, relative to $TINYAE_FIGURES.
FIGURES = {
    "01_dense_and_backprop": ["01_dense_and_backprop/step_size.png"],
    "02_activations": ["02_activations/activations.png", "02_activations/gradient_through_depth.png"],
    "03_losses": ["03_losses/loss_vs_target.png"],
    "04_first_autoencoder": [f"04_first_autoencoder/{name}.png" for name in
                             ("loss_curves", "reconstructions", "reconstructions_blob", "filters")],
    "05_data_problems": ["05_data_problems/softmax_vs_sigmoid.png", "05_data_problems/identity.png"],
    "06_vae": [f"06_vae/{name}.png" for name in ("vae_loss", "latent_scatter", "latent_manifold",
                                                 "samples", "beta_sweep", "schedules")],
    "07_diagnostics": ["07_diagnostics/monitor_blob.png", "07_diagnostics/monitor_fixed.png"],
    "08_beyond_plain": [f"08_beyond_plain/{name}.png" for name in
                        ("denoising", "sparse_filters", "rho_hat", "deep_vs_pca")],
}
SOLUTION_FIGURES = {"04_first_autoencoder": ["04_first_autoencoder_solutions/latent_scatter.png"]}


# Matplotlib's settings and font cache for every run, kept out of the user's home: one
# folder for the whole session, since building the font cache anew costs each run 0.5 s.
MPL_CONFIG = Path(tempfile.mkdtemp(prefix="tinyae-tests-matplotlib-"))
atexit.register(shutil.rmtree, MPL_CONFIG, ignore_errors=True)


def quick_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a test run: quick, offline, figures and caches under ``tmp_path``."""
    return {
        **os.environ,
        "TINYAE_QUICK": "1",
        "TINYAE_OFFLINE": "1",
        "TINYAE_FIGURES": str(tmp_path / "figures"),
        "TINYAE_CACHE_DIR": str(tmp_path / "cache"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(MPL_CONFIG),
        "OPENBLAS_NUM_THREADS": "1",
    }


def run_script(script: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` with the test environment; return the finished process."""
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=quick_env(tmp_path),
                          capture_output=True, text=True, timeout=TIMEOUT)


def assert_ran(result: subprocess.CompletedProcess, script: Path) -> None:
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n--- stdout (end) ---\n{result.stdout[-3000:]}"
        f"\n--- stderr (end) ---\n{result.stderr[-3000:]}"
    )


def test_all_eight_tutorials_and_solutions_exist():
    numbers = [path.name[:2] for path in TUTORIALS]
    assert numbers == [f"{i:02d}" for i in range(1, 9)], numbers
    assert [path.name for path in SOLUTIONS] == [path.name for path in TUTORIALS]
    assert set(FIGURES) == {path.stem for path in TUTORIALS}


@pytest.mark.parametrize("script", SOLUTIONS, ids=lambda path: path.stem)
def test_solution_runs(script, tmp_path):
    result = run_script(script, tmp_path)
    assert_ran(result, script)
    for name in SOLUTION_FIGURES.get(script.stem, []):
        assert (tmp_path / "figures" / name).is_file(), f"{script.name} did not write {name}"


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_tutorial_structure(script):
    """Percent format with prose, at least two exercises, no sys.path tricks, the installed package."""
    text = script.read_text(encoding="utf-8")
    assert text.count("# %% [markdown]") >= 1
    assert re.search(r"^# %%$", text, flags=re.MULTILINE), "no code cell"
    exercises = set(re.findall(r"\*\*Exercise (\d)\.\*\*", text))
    assert len(exercises) >= 2, f"{script.name} has {len(exercises)} exercises"
    assert (TUTORIALS_DIR / "solutions" / script.name).is_file()
    assert "sys.path" not in text
    assert re.search(r"^(import tinyae|from tinyae)", text, flags=re.MULTILINE)
    assert "TINYAE_FIGURES" in text and "TINYAE_QUICK" in text


def todo_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """The functions of ``path`` by name, keeping those whose body holds a ``# TODO`` line."""
    text = path.read_text(encoding="utf-8")
    return {node.name: node for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef) and "# TODO" in (ast.get_source_segment(text, node) or "")}


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_every_function_to_fill_in_is_written_in_the_solutions(script):
    """A stub the learner completes (``# TODO`` lines) has its answer, same arguments, no TODO left."""
    stubs = todo_functions(script)
    solution = script.parent / "solutions" / script.name
    text = solution.read_text(encoding="utf-8")
    answers = {node.name: node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.FunctionDef)}
    for name, stub in stubs.items():
        assert name in answers, f"{solution.name} does not write {name}, an exercise of {script.name}"
        assert ast.dump(answers[name].args) == ast.dump(stub.args), f"{name}: arguments differ"
    assert not set(stubs) & set(todo_functions(solution)), "a solution still has # TODO lines"


def test_readme_lists_every_tutorial():
    readme = (TUTORIALS_DIR / "README.md").read_text(encoding="utf-8")
    for script in TUTORIALS:
        assert script.name in readme, f"README.md does not mention {script.name}"
    assert "python -m tools.sync_notebooks" in readme and "TINYAE_FIGURES" in readme
