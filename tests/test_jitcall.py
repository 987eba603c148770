"""CompiledCall: the entry point chosen on the first call gives the kernel's own results, and
a change of argument types is caught by check()."""
from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from neurosim.jitcall import CompiledCall

Pair = namedtuple("Pair", ["a", "b"])


@njit(cache=False)
def _add_into(p, k):
    for i in range(p.a.shape[0]):
        p.b[i] += p.a[i] * k
    return p.b.sum()


def test_compiled_call_matches_the_kernel_and_checks_types():
    call = CompiledCall(_add_into)
    p = Pair(np.arange(4, dtype=np.int64), np.zeros(4, np.int64))
    assert call(p, 2) == 12           # first call: through the dispatcher (0+2+4+6)
    assert call(p, 1) == 18           # then the entry point: 12 + (0+1+2+3)
    assert p.b.tolist() == [0, 3, 6, 9]
    call.check(p, 1)                  # same types: fine
    with pytest.raises(TypeError, match="argument types changed"):
        call.check(Pair(np.arange(4.0), np.zeros(4)), 1)
