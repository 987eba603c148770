"""numba for the package's kernels: every module with compiled code takes ``njit`` from here.

When numba first compiles or loads a function from its cache, it imports its array-math
module, which probes for BLAS by importing ``scipy.linalg.cython_blas``; scipy is installed
(scikit-learn needs it), so every command paid for importing all of ``scipy.linalg``: about
0.3 s of CPU on a 2-core machine where ``neurosim run`` of a small workload takes 7 s
(docs/performance.md, "Fixed costs of a command, the posting path, activity samples in the
engine"). The probe only chooses how ``np.correlate``/``np.convolve`` are compiled, which no
kernel here uses. So it is answered "no BLAS", once, before any kernel loads: a compilation
that needs BLAS later (``np.dot`` in a jitted function) still imports scipy then, and an
import of scipy that came first is left alone.
"""
from __future__ import annotations

import sys

import numba

_BLAS_PROBE = "scipy.linalg.cython_blas"

if "numba.np.arraymath" not in sys.modules and _BLAS_PROBE not in sys.modules:
    sys.modules[_BLAS_PROBE] = None     # the probe's import raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules[_BLAS_PROBE]

njit = numba.njit

__all__ = ["njit"]
