"""What every figure shares: loading pyplot lazily, saving and showing, checking image arrays.

matplotlib is imported inside ``_pyplot``, never at module level, so that
``import tinyae`` stays fast.  On a machine without a display (or under CI) the
non-interactive "Agg" backend is selected first.  ``save`` ends every figure: it
writes the PNG and, inside a Jupyter notebook, displays the figure inline.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only for type hints; never imported at run time
    from matplotlib.figure import Figure

DPI = 100
SavePath = str | os.PathLike | None  # where to save the PNG; None: do not save it


class BackendWarning(UserWarning):
    """$MPLBACKEND names no matplotlib backend: the figures are drawn with "Agg" instead."""


def check_backend() -> str | None:
    """Import matplotlib; if $MPLBACKEND names no backend, use "Agg" and return why (else None).

    matplotlib reads $MPLBACKEND when it is imported and raises on a name it does not
    know — in a training script, after the training, when the first figure is drawn.
    Figures are what tinyae draws, into PNG files: "Agg" draws every one of them, so a
    wrong name costs only the window, not the run.  The variable is hidden from the
    import, then checked the way matplotlib checks it (``rcParams["backend"]``).
    """
    wanted = os.environ.get("MPLBACKEND")
    if not wanted or "matplotlib" in sys.modules:
        import matplotlib  # noqa: F401  (imported for the caller: it reads $MPLBACKEND itself)

        return None
    del os.environ["MPLBACKEND"]
    try:
        import matplotlib
    finally:
        os.environ["MPLBACKEND"] = wanted
    try:
        matplotlib.rcParams["backend"] = wanted  # what the import does with $MPLBACKEND
    except ValueError:
        matplotlib.use("Agg")
        return (f"MPLBACKEND={wanted!r} is not a matplotlib backend: drawing the figures with 'Agg' "
                "(PNG files, no window); unset MPLBACKEND, or set it to one matplotlib knows "
                "(agg, tkagg, qtagg, …)")
    return None


def _pyplot():
    """Import and return ``matplotlib.pyplot``, choosing "Agg" first when there is no screen.

    No screen means: Linux without $DISPLAY or $WAYLAND_DISPLAY, or $CI set (GitHub Actions,
    GitLab, ... set CI=true).  An explicit $MPLBACKEND, or a pyplot that is already
    imported (e.g. in a notebook), is left alone — unless matplotlib does not know the
    $MPLBACKEND: then "Agg", with a ``BackendWarning`` (``check_backend``).
    """
    note = check_backend()
    if note:
        warnings.warn(note, BackendWarning, stacklevel=2)
    import matplotlib

    no_screen = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    on_ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    user_choice = os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules
    if (no_screen or on_ci) and not user_choice:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Figure, path: SavePath = None) -> Figure:
    """Save ``fig`` as a PNG at ``path`` (making the folder); in a notebook, also show it.

    Every figure of tinyae ends here, and so should a figure drawn by hand
    (``fig, ax = plt.subplots()`` … ``plot.save(fig, path)``), so that one rule holds:

    * in a Jupyter notebook the figure is displayed where it is drawn, then closed;
    * in a script it is saved and closed, so that long runs do not pile up open figures;
      without a ``path`` it stays open (for ``plt.show()`` or more drawing).

    Returns ``fig``; a closed figure can still be saved again with ``fig.savefig``.
    A file the system will not write raises ``OSError`` naming it (a full disk or
    ``ulimit -f`` names no file itself).
    """
    if path is not None:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=DPI, format="png")
        except OSError as error:
            raise OSError(error.errno, f"cannot write the figure to {path}: "
                                       f"{error.strerror or error}") from error
    in_notebook = _inline_notebook()
    if in_notebook:
        _display_once(fig)
    if in_notebook or path is not None:
        _pyplot().close(fig)
    return fig


_finish = save  # the name the figure modules end with


def _inline_notebook() -> bool:
    """True inside a Jupyter kernel whose matplotlib backend draws figures into the notebook.

    IPython is looked at only if something has imported it already: a script never does.
    """
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()  # None in plain Python; a terminal IPython has no ``kernel``
    return hasattr(shell, "kernel") and "inline" in _pyplot().get_backend()


def _display_once(fig: Figure) -> None:
    """Display ``fig`` in the notebook now, and not a second time when the cell returns it."""
    from IPython import get_ipython
    from IPython.display import display

    display(fig)
    quiet = _QuietInCell(fig, get_ipython().execution_count)
    fig._ipython_display_ = quiet  # type: ignore[attr-defined]


class _QuietInCell:
    """``fig._ipython_display_`` once ``save`` has displayed ``fig`` in notebook cell ``cell``.

    A cell ending in ``plot.reconstructions(...)`` returns the Figure, and Jupyter shows a
    cell's result too: the same picture twice.  IPython asks an object's
    ``_ipython_display_`` before anything else, so this one does nothing in that cell and,
    from the next cell on (``fig`` alone in a cell), shows the figure as usual.  A class,
    not a closure, so that the figure can still be pickled.
    """

    def __init__(self, fig: Figure, cell: int) -> None:
        self.fig, self.cell = fig, cell

    def __call__(self) -> None:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython().execution_count != self.cell:
            del self.fig._ipython_display_  # type: ignore[attr-defined]
            display(self.fig)


def _as_images(x: np.ndarray, name: str) -> np.ndarray:
    """Images as (N, H, W) from (N, H*W) with a square side, or from (N, H, W) with H = W.

    Raises ValueError naming ``name`` if the array is empty, not square or not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3 and x.shape[1] == x.shape[2]:
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, H*W) or (N, H, H) with N >= 1, got {x.shape}; "
            "for a single image use x[None]"
        )
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(
            f"{name} has {x.shape[1]} values per image, which is not a square number "
            "(784 = 28 x 28); pass flattened square images"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf: the model has probably diverged")
    return x.reshape(-1, side, side)


def _check_count(name: str, n: int) -> None:
    """Raise unless ``n`` is an int >= 1 (a number of images, columns or steps)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an int >= 1, got {n!r}")


def _grey(ax, image: np.ndarray) -> None:
    """Draw one image in grey on the fixed scale [0, 1] (black = 0) without ticks."""
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def _is_number_list(values) -> bool:
    """True for a non-empty 1-D sequence of real numbers (skips nested monitor records)."""
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested lists
        return False
    return arr.ndim == 1 and arr.size > 0 and np.issubdtype(arr.dtype, np.number)
