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
"""
from __future__ import annotations

from numba import typeof


class CompiledCall:
    """``CompiledCall(kernel)(*args)`` runs ``kernel(*args)`` through the implementation
    selected for the first call's argument types."""

    __slots__ = ("kernel", "entry", "signature")

    def __init__(self, kernel):
        self.kernel = kernel
        self.entry = None
        self.signature = None

    def __call__(self, *args):
        if self.entry is None:
            out = self.kernel(*args)           # compiles, or loads from the cache
            self.signature = tuple(typeof(a) for a in args)
            self.entry = self.kernel.overloads[self.signature].entry_point
            return out
        return self.entry(*args)

    def check(self, *args) -> None:
        """Raise if ``args`` do not have the types of the first call."""
        sig = tuple(typeof(a) for a in args)
        if self.signature is not None and sig != self.signature:
            raise TypeError(f"{self.kernel.__name__}: argument types changed from "
                            f"{self.signature} to {sig}")
