"""The BLAS a benchmark runs on: its kernels and threads, which must be set before NumPy loads.

NumPy's matrix products run in OpenBLAS, which reads two things once, when NumPy is
first imported:

* ``OPENBLAS_NUM_THREADS``: how many threads one product may use.
* ``OPENBLAS_CORETYPE``: the processor family whose kernels to use.  Unset, OpenBLAS
  detects the processor itself.  Some machines set it (with ``OPENBLAS_L2_SIZE``) to
  dodge bugs of old OpenBLAS builds; ``Haswell`` on an AVX-512 processor then means
  AVX2 kernels.  Measured on one core of the 2-core AVX-512 machine tinyae is developed
  on, a float32 (128 × 784) @ (784 × 400) product took 0.71 ms with Haswell kernels and
  0.41 ms with the SkylakeX kernels OpenBLAS picks itself — while PyTorch's MKL always
  picks AVX-512 by itself.  A fair side-by-side gives both libraries the kernels of the
  processor: ``--native-blas``.

``restart_with`` re-runs the script with the environment asked for (the only way to
change what BLAS read at import); ``describe`` says what is in force.
"""

from __future__ import annotations

import os
import sys

FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def restart_with(threads: int | None, native: bool) -> None:
    """Re-run this script with ``threads`` BLAS threads and (``native``) no forced core type.

    Does nothing if the environment is already so; otherwise replaces the process.
    """
    env = dict(os.environ)
    if threads:
        env.update({name: str(threads) for name in THREADS})
    if native:
        for name in FORCING:
            env.pop(name, None)
    if env != dict(os.environ):
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def describe() -> str:
    """NumPy and its BLAS as in force, e.g. ``"numpy 2.4.6, openblas 0.3.31 SkylakeX kernels, 1 thread"``.

    Names the kernels through threadpoolctl when it is importable (it is not a tinyae
    dependency), and any core type forced by the environment.
    """
    import numpy  # loads its BLAS, so that threadpoolctl can find it

    forced = ", ".join(f"{name}={os.environ[name]}" for name in FORCING if name in os.environ)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
        text = f"BLAS threads {threads} (threadpoolctl not installed)"
    else:
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        blas = [i for i in blas if "numpy" in i["filepath"]] or blas  # NumPy's own copy, if it has one
        text = ", ".join(f"{i['internal_api']} {i['version']} {i.get('architecture', '?')} kernels, "
                         f"{i['num_threads']} thread{'s' * (i['num_threads'] != 1)}" for i in blas)
    if forced:
        text += f" (forced by {forced}; --native-blas lets OpenBLAS choose)"
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:  # how long idle threads spin (README, Speed)
        text += f", OPENBLAS_THREAD_TIMEOUT={os.environ['OPENBLAS_THREAD_TIMEOUT']}"
    return f"numpy {numpy.__version__}, " + text


def blas_threads() -> int | None:
    """The thread count of NumPy's BLAS, or None without threadpoolctl to ask."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=None)


def describe_torch(torch) -> str:
    """PyTorch's CPU kernels and threads, e.g. ``"torch 2.13.0+cpu AVX512 kernels, 1 thread"``."""
    n = torch.get_num_threads()
    return (f"torch {torch.__version__} {torch.backends.cpu.get_cpu_capability()} kernels, "
            f"{n} thread{'s' * (n != 1)}")
