"""Calling a numba kernel many times with the same argument types, without the dispatcher's
per-call typing.

numba's dispatcher works out the type of every argument on every call; for a namedtuple of
arrays it does so in Python, array by array. The memory system's kernels take about 120
arrays in six namedtuples, so typing alone cost about 40 us per call, more than most of the
calls' own work (profile of ``neurosim run paper-20core vgg11-cifar10``: 37,610 calls, 1.5 s).
:class:`CompiledCall` lets the dispatcher choose (and compile or load) the implementation on
the first call, then calls that implementation's entry point, which only unboxes.

The caller promises that later calls pass arguments of the same types (same dtypes,
dimensions, layouts and namedtuple fields); :meth:`CompiledCall.check` verifies it, for tests.
The implementation chosen is remembered per kernel and :func:`type_key` of the arguments, so
the next ``CompiledCall`` of the same kernel skips the dispatcher's typing on its first call
too (typing the engine's ~120 arrays: about 10 ms per simulation under cProfile, which
matters for the many small ``neurosim validate`` cases). The cycle-level memory system goes
further: its engine's state always has the same types, so its ``CompiledCall`` objects are
class attributes, and even :func:`type_key` (~0.1 ms for those arrays) runs once per process.
"""
from __future__ import annotations

import numpy as np
from numba import typeof

_ENTRIES: dict = {}   # (kernel, type_key of the arguments) -> (entry point, signature)


def _array_key(a: np.ndarray) -> tuple:
    layout = "C" if a.flags.c_contiguous else "F" if a.flags.f_contiguous else "A"
    return (a.dtype.str, a.ndim, layout, a.flags.writeable, a.flags.aligned)


def _arg_key(x):
    if isinstance(x, np.ndarray):
        return _array_key(x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):   # a namedtuple
        return (type(x), tuple(_arg_key(v) for v in x))
    if isinstance(x, (bool, int, float, np.integer, np.floating, np.bool_)):
        return type(x)
    return typeof(x)   # anything else: numba's own type


def type_key(args) -> tuple:
    """Equal for two argument tuples that numba types alike (arrays by dtype, dimensions,
    layout, writability and alignment; namedtuples by class and fields; scalars by class);
    much cheaper than ``numba.typeof``."""
    return tuple(_arg_key(a) for a in args)


class CompiledCall:
    """``CompiledCall(kernel)(*args)`` runs ``kernel(*args)`` through the implementation
    selected for the first call's argument types."""

    __slots__ = ("kernel", "entry", "signature", "before_first")

    def __init__(self, kernel, before_first=None):
        self.kernel = kernel
        self.entry = None
        self.signature = None
        self.before_first = before_first   # called once, before the first call's dispatch

    def __call__(self, *args):
        if self.entry is None:
            if self.before_first is not None:
                self.before_first()
            key = (self.kernel, type_key(args))
            got = _ENTRIES.get(key)
            if got is None:
                out = self.kernel(*args)           # compiles, or loads from the cache
                self.signature = tuple(typeof(a) for a in args)
                self.entry = self.kernel.overloads[self.signature].entry_point
                _ENTRIES[key] = (self.entry, self.signature)
                return out
            self.entry, self.signature = got
        return self.entry(*args)

    def check(self, *args) -> None:
        """Raise if ``args`` do not have the types of the first call."""
        sig = tuple(typeof(a) for a in args)
        if self.signature is not None and sig != self.signature:
            raise TypeError(f"{self.kernel.__name__}: argument types changed from "
                            f"{self.signature} to {sig}")
