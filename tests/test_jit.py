"""neurosim.jit: numba's BLAS probe is answered without importing scipy.linalg, and nothing
else changes -- BLAS still works for a compilation that needs it, and a scipy imported first
is used as numba would use it. Each case in a fresh interpreter (the probe runs once per
process)."""
import subprocess
import sys


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_probe_skips_scipy_linalg_and_blas_still_compiles_later():
    loaded, have_blas, dot, importable = _run(
        "import sys, numpy as np\n"
        "import neurosim.jit\n"
        "from numba.np import arraymath\n"
        "print('scipy.linalg' in sys.modules, arraymath._HAVE_BLAS)\n"
        "@neurosim.jit.njit(cache=False)\n"
        "def f(a, b):\n"
        "    return np.dot(a, b)\n"
        "print(f(np.ones((2, 3)), np.ones(3)).sum())\n"
        "import scipy.linalg.cython_blas\n"
        "print(scipy.linalg.cython_blas.__name__)\n")
    assert (loaded, have_blas) == ("False", "False")
    assert dot == "6.0"                          # np.dot compiled with BLAS after the probe
    assert importable == "scipy.linalg.cython_blas"


def test_a_scipy_imported_first_is_left_alone():
    (have_blas,) = _run("import scipy.linalg.cython_blas\n"
                        "import neurosim.jit\n"
                        "from numba.np import arraymath\n"
                        "print(arraymath._HAVE_BLAS)\n")
    assert have_blas == "True"
