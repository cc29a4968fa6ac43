"""Test-wide settings.

One BLAS thread: the tests multiply small matrices, where a second thread gains
little, and on a busy 2-core machine OpenBLAS threads waiting for each other make
them up to 25 times slower.  This must run before NumPy is imported.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402  (after the BLAS setting above)


@pytest.fixture
def unscreened(monkeypatch):
    """Grading with the source screen switched off: only the process walls stand.

    The grading tests of crashes and of attacks use it: a trick the screen refuses must
    still be stopped by the walls, were the screen ever fooled.
    """
    from tinyae.workbook import grading
    from tinyae.workbook.screen import Screening

    monkeypatch.setattr(grading, "screen", lambda cells: Screening({}, ""))
