"""CompiledCall: the entry point chosen on the first call gives the kernel's own results, and
a change of argument types is caught by check()."""
from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from neurosim.jitcall import CompiledCall, type_key

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


def test_a_new_compiled_call_reuses_the_implementation_of_same_typed_arguments():
    first = CompiledCall(_add_into)
    first(Pair(np.arange(4, dtype=np.int64), np.zeros(4, np.int64)), 1)
    again = CompiledCall(_add_into)                   # e.g. the next simulation's engine
    p = Pair(np.arange(4, dtype=np.int64), np.zeros(4, np.int64))
    assert again(p, 3) == 18                          # 3 * (0+1+2+3), through the cached entry
    assert again.signature == first.signature
    floats = CompiledCall(_add_into)                  # other dtypes: their own implementation
    q = Pair(np.arange(4.0), np.zeros(4))
    assert floats(q, 0.5) == 3.0                      # 0.5 * (0+1+2+3)
    assert floats.signature != first.signature
    strided = CompiledCall(_add_into)                 # a non-contiguous array: layout "A"
    r = Pair(np.arange(8, dtype=np.int64)[::2], np.zeros(4, np.int64))
    assert strided(r, 1) == 12                        # 0+2+4+6
    assert strided.signature != first.signature


def test_type_key_tells_apart_what_numba_types_apart():
    a = np.zeros((3, 4), np.int64)
    ro = a.copy()
    ro.flags.writeable = False
    keys = [type_key((x,)) for x in (a, a[:, 1], np.asfortranarray(a), ro, a.astype(np.int32),
                                     np.zeros(4, np.int64), 1, 1.0, True)]
    assert len(set(keys)) == len(keys)
    assert type_key((a,)) == type_key((np.ones((5, 2), np.int64),))


def test_before_first_runs_once_before_the_first_call():
    seen = []
    call = CompiledCall(_add_into, lambda: seen.append(call.entry))
    p = Pair(np.arange(4, dtype=np.int64), np.zeros(4, np.int64))
    call(p, 1)
    call(p, 1)
    assert seen == [None]             # once, before the implementation was chosen
