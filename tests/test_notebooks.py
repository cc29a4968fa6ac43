"""The shipped notebooks: generated from their scripts, and run in a real Jupyter kernel.

Each notebook runs top to bottom in a fresh IPython kernel (nbclient + ipykernel; the
tutorials two kernels at a time) with the inline matplotlib backend, in quick mode,
offline, with its figures and caches in a temporary folder, as the scripts do in
test_tutorials.py.  It must raise nothing and show every figure it draws inline, exactly
once, while still saving it to its file.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from test_tutorials import FIGURES, TIMEOUT, TUTORIALS_DIR, quick_env

REPO = TUTORIALS_DIR.parent
INLINE = "module://matplotlib_inline.backend_inline"  # what Jupyter uses unless told otherwise
SYNC = [sys.executable, "-m", "tools.sync_notebooks"]

# The notebooks run in a kernel, each with the figures it must show and save
# (relative to $TINYAE_FIGURES).  One line adds a notebook.
NOTEBOOKS = {TUTORIALS_DIR / f"{stem}.ipynb": figures for stem, figures in FIGURES.items()}


def kernel_client(nb: nbformat.NotebookNode, tmp_path: Path) -> NotebookClient:
    """A client that runs ``nb`` in a fresh kernel working in ``tmp_path``."""
    return NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}})


def kernel_env(tmp_path: Path) -> dict[str, str]:
    """The kernel's environment: the tests' quick one, with Jupyter's inline backend."""
    return quick_env(tmp_path) | {"MPLBACKEND": INLINE}


def run_in_kernel(nb: nbformat.NotebookNode, tmp_path: Path) -> nbformat.NotebookNode:
    """Execute ``nb`` in a fresh kernel working in ``tmp_path``; return it with its outputs."""
    kernel_client(nb, tmp_path).execute(env=kernel_env(tmp_path))
    return nb


async def run_two_at_a_time(folders: dict[Path, Path]) -> dict[Path, nbformat.NotebookNode | Exception]:
    """Execute every notebook (key) in a fresh kernel working in its folder (value).

    Two kernels at a time: each is a process of its own on one BLAS thread, so two keep
    both cores busy (the tutorials took 33 s one after another here, 19 s two at a time).
    A notebook that fails gives its exception in place of its outputs.
    """
    gate = asyncio.Semaphore(2)

    async def run(path: Path, folder: Path) -> nbformat.NotebookNode:
        async with gate:
            nb = nbformat.read(path, as_version=4)
            await kernel_client(nb, folder).async_execute(env=kernel_env(folder))
            return nb

    results = await asyncio.gather(*(run(*item) for item in folders.items()), return_exceptions=True)
    return dict(zip(folders, results))


@pytest.fixture(scope="module")
def tutorials_run(request, tmp_path_factory) -> dict[Path, tuple[nbformat.NotebookNode | Exception, Path]]:
    """The tutorial notebooks this session tests, executed: outputs (or exception) and folder."""
    test = test_notebook_runs_in_a_kernel_and_shows_every_figure_inline  # defined below
    selected = [item.callspec.params["notebook"] for item in request.session.items
                if getattr(item, "function", None) is test]
    folders = {path: tmp_path_factory.mktemp(path.stem) for path in selected}
    results = asyncio.run(run_two_at_a_time(folders))
    return {path: (results[path], folders[path]) for path in selected}


def images(outputs: list) -> list:
    """The outputs that show a PNG (a figure)."""
    return [output for output in outputs if "image/png" in output.get("data", {})]


@pytest.mark.slow  # a Jupyter kernel: run by .ci/run's slow tier
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_a_kernel_and_shows_every_figure_inline(notebook, tutorials_run):
    nb, tmp_path = tutorials_run[notebook]
    if isinstance(nb, Exception):
        raise nb  # the notebook's own error: a cell that raised, or a timeout
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    shown, figures = images(outputs), NOTEBOOKS[notebook]
    assert len(shown) == len(figures), (
        f"{notebook.name} showed {len(shown)} figures inline, but draws {len(figures)}: {figures}")
    assert all(output.output_type == "display_data" for output in shown), "a figure shown twice"
    printed = "".join(output.get("text", "") for output in outputs)
    assert "<Figure" not in printed
    missing = [name for name in figures if not (tmp_path / "figures" / name).is_file()]
    assert not missing, f"{notebook.name} did not save {missing}"


def test_every_shipped_notebook_is_what_its_script_generates():
    result = subprocess.run([*SYNC, "--check"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"out-of-date notebooks:\n{result.stdout}{result.stderr}"
    scripts = sorted(TUTORIALS_DIR.glob("[0-9][0-9]_*.py"))
    scripts += sorted((TUTORIALS_DIR / "solutions").glob("[0-9][0-9]_*.py"))
    for script in scripts:
        nb = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
        nbformat.validate(nb)
        assert "find_spec(\"tinyae\")" in nb.cells[0].source, f"{script.name}: no setup cell first"


def test_the_check_names_a_stale_notebook_and_the_command_that_fixes_it(tmp_path):
    """A tiny copy of the layout: a tutorial edited after its notebook was made."""
    (tmp_path / "tools").mkdir()
    shutil.copy(REPO / "tools" / "sync_notebooks.py", tmp_path / "tools")
    script = tmp_path / "tutorials" / "01_first.py"
    script.parent.mkdir()
    script.write_text("# %% [markdown]\n# # A title\n\n# %%\nx = 1\n", encoding="utf-8")

    def sync(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*SYNC, *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, check=False,
                              env=quick_env(tmp_path) | {"PYTHONPATH": str(REPO)})

    missing = sync("--check")
    assert missing.returncode == 1 and "python -m tools.sync_notebooks" in missing.stdout
    assert sync().returncode == 0 and sync("--check").returncode == 0
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    assert [cell.cell_type for cell in notebook.cells] == ["code", "markdown", "code"]
    script.write_text(script.read_text(encoding="utf-8") + "y = 2\n", encoding="utf-8")
    stale = sync("--check")
    assert stale.returncode == 1 and "tutorials/01_first.ipynb differs" in stale.stdout


# --- tinyae.plot in a notebook and in a script ----------------------------------------------

CELLS = {  # source: how many figures the cell must show
    "from tinyae import plot\nplot.loss_curves({'loss': [3.0, 2.0]}, path='curve.png')": 1,
    "fig = plot.loss_curves({'loss': [3.0, 2.0]})\nprint('after the figure')": 1,
    "fig  # shown again when asked for in a later cell": 1,
    "import matplotlib.pyplot as plt\nhand, ax = plt.subplots()\nax.plot([1, 2])\n"
    "plot.save(hand, 'hand.png')": 1,
    "import pickle\nlen(pickle.dumps(plot.loss_curves({'loss': [1.0]})))": 1,
}


@pytest.mark.slow  # a Jupyter kernel: run by .ci/run's slow tier
def test_plot_shows_each_figure_once_in_a_notebook_and_saves_it(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    run_in_kernel(nb, tmp_path)
    for cell, expected in zip(nb.cells, CELLS.values()):
        assert len(images(cell.outputs)) == expected, (cell.source, cell.outputs)
    first, second, *_, pickled = nb.cells
    assert [output.output_type for output in first.outputs] == ["display_data"]  # no result
    assert [output.output_type for output in second.outputs] == ["display_data", "stream"]
    assert int(pickled.outputs[-1].data["text/plain"]) > 1000
    assert (tmp_path / "curve.png").is_file() and (tmp_path / "hand.png").is_file()


SCRIPT = """\
import sys
import tinyae, tinyae.plot
assert "matplotlib" not in sys.modules and "IPython" not in sys.modules, "imported early"
import IPython  # imported, but no notebook kernel: figures behave as in a script
from tinyae import plot
kept = plot.loss_curves({"loss": [3.0, 2.0]})
saved = plot.loss_curves({"loss": [3.0, 2.0]}, path="curve.png")
print(plot._pyplot().get_fignums() == [kept.number])
"""


def test_in_a_script_plot_saves_and_closes_and_shows_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=quick_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True\n" and (tmp_path / "curve.png").is_file()


# --- the setup cell that opens every notebook ---------------------------------------------


@pytest.fixture
def setup_cell(monkeypatch):
    """The first cell's source, and the calls it makes to ``subprocess.run`` (none run)."""
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: calls.append(command))
    monkeypatch.setattr(sys, "path", list(sys.path))  # the cell may add the clone
    source = nbformat.read(next(iter(NOTEBOOKS)), as_version=4).cells[0].source
    return source, calls


def without_tinyae(monkeypatch, calls: list[list[str]], installs: bool = True) -> None:
    """Make the setup cell believe that tinyae is not installed — until pip has run, if ``installs``."""
    find_spec = importlib.util.find_spec

    def pretend(name, *args):
        if name == "tinyae" and not (installs and calls):
            return None
        return find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", pretend)


def pip_install(*what: str) -> list[list[str]]:
    """The calls of the cell that installs ``what`` with the kernel's pip."""
    return [[sys.executable, "-m", "pip", "install", *what]]


def test_setup_cell_does_nothing_when_tinyae_imports(setup_cell, monkeypatch, tmp_path):
    source, calls = setup_cell
    monkeypatch.chdir(tmp_path)
    exec(source, {})  # noqa: S102  (the cell, as a kernel would run it)
    assert calls == []


def test_setup_cell_installs_the_clone_the_notebook_sits_in(setup_cell, monkeypatch, tmp_path):
    source, calls = setup_cell
    clone = tmp_path / "my-tinyae"
    (clone / "tutorials" / "solutions").mkdir(parents=True)
    shutil.copy(REPO / "setup.cfg", clone)
    (tmp_path / "tinyae-0.1.0-py3-none-any.whl").touch()  # farther away than the clone
    without_tinyae(monkeypatch, calls)
    monkeypatch.chdir(clone / "tutorials" / "solutions")
    exec(source, {})  # noqa: S102  (the cell, as a kernel would run it)
    assert calls == pip_install("-e", str(clone))
    assert sys.path[0] == str(clone)  # importable now, before the kernel restarts


def test_setup_cell_installs_the_newest_wheel_at_or_above_the_notebook(setup_cell, monkeypatch, tmp_path):
    """What ``tinyae tutorials`` wrote, with the teacher's wheel dropped beside it (no clone)."""
    source, calls = setup_cell
    notebooks = tmp_path / "course" / "tutorials" / "solutions"
    notebooks.mkdir(parents=True)
    (tmp_path / "course" / "setup.cfg").write_text("[metadata]\nname = another-project\n")
    old, new = (tmp_path / "course" / f"tinyae-{v}-py3-none-any.whl" for v in ("0.9.0", "0.10.0"))
    old.touch()
    new.touch()
    os.utime(old, (new.stat().st_mtime + 60,) * 2)  # the one given last wins, whatever its name
    without_tinyae(monkeypatch, calls)
    monkeypatch.chdir(notebooks)
    exec(source, {})  # noqa: S102  (the cell, as a kernel would run it)
    assert calls == pip_install(str(old))


def test_setup_cell_with_neither_a_clone_nor_a_wheel_installs_from_the_index(setup_cell, monkeypatch,
                                                                             tmp_path):
    """A notebook opened alone, as in Colab."""
    source, calls = setup_cell
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = another-project\n")
    without_tinyae(monkeypatch, calls)
    monkeypatch.chdir(tmp_path)
    exec(source, {})  # noqa: S102  (the cell, as a kernel would run it)
    assert calls == pip_install("tinyae")


def test_setup_cell_says_to_restart_when_the_kernel_cannot_see_the_install(setup_cell, monkeypatch,
                                                                           tmp_path):
    source, calls = setup_cell
    without_tinyae(monkeypatch, calls, installs=False)  # e.g. pip chose a user folder new to Python
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFoundError, match=r"restart the kernel"):
        exec(source, {})  # noqa: S102  (the cell, as a kernel would run it)
    assert calls == pip_install("tinyae")


# --- the classroom workbook as a notebook -------------------------------------------------


@pytest.mark.slow  # a Jupyter kernel: run by .ci/run's slow tier
@pytest.mark.parametrize("solved", [True, False], ids=["answer-key", "blank"])
def test_workbook_notebook_runs_in_a_kernel_and_checks_every_exercise(solved, tmp_path):
    """A student opens ``tinyae workbook new DIR --notebook`` and runs it top to bottom.

    No cell may raise: a blank exercise is reported by its check cell ("not written yet"),
    not by a traceback.  The answer key passes every check cell, the blank one none.
    """
    from tinyae.workbook import TASKS, write_workbook

    folder = tmp_path / "workbook"
    notebook = write_workbook(folder, solved=solved, notebook=True)[0]
    nb = run_in_kernel(nbformat.read(notebook, as_version=4), folder)
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    printed = "".join(output.get("text", "") for output in outputs)
    for task in TASKS:
        mark = "✓" if solved else "✗"
        assert f"{mark} {task.id} " in printed, f"no {mark} line for exercise {task.id}"
    if not solved:
        assert printed.count("not written yet") >= len(TASKS)
