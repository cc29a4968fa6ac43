"""Test-wide settings.

One BLAS thread: the tests multiply small matrices, where a second thread gains
little, and on a busy 2-core machine OpenBLAS threads waiting for each other make
them up to 25 times slower.  This must run before NumPy is imported.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
