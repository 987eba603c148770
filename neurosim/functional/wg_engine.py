"""WG engine, functionally: weight-gradient accumulation and the weight update.

Accumulate (2.4): for one (sample, time step), each pair (nonzero delta ``d``, nonzero input
``i``) adds ``x[i]*g(U)[d]`` (just ``g(U)[d]`` for a binary input) into ``gW[i, d]``,
rounding after the add. Calls follow the engine's program order (samples ascending, time
steps descending), which fixes the order of the adds into each accumulator.
Update (2.5): ``W = W + (-lr/B) * gW`` as an unfused multiply-add; with momentum,
``M = mu*M + gW`` then ``W = W + (-lr/B) * M``.
"""
from __future__ import annotations

from numba import njit

from .numerics import rnd


@njit(cache=True)
def accumulate(gW, x, gU, binary, code, sgw):
    """In place over one (b, t): x (n_in,), gU (n_out,)."""
    n_in = x.shape[0]
    n_out = gU.shape[0]
    for d in range(n_out):
        g = gU[d]
        if g == 0.0:
            continue
        for i in range(n_in):
            xi = x[i]
            if xi == 0.0:
                continue
            term = g if binary else rnd(xi * g, code, sgw)
            gW[i, d] = rnd(gW[i, d] + term, code, sgw)


@njit(cache=True)
def update(W, gW, M, neg_lr, mu, momentum, code, sw, sgw):
    """In place: W (and M) updated from gW."""
    n_in, n_out = W.shape
    for i in range(n_in):
        for j in range(n_out):
            g = gW[i, j]
            if momentum:
                M[i, j] = rnd(rnd(mu * M[i, j], code, sgw) + g, code, sgw)
                g = M[i, j]
            W[i, j] = rnd(W[i, j] + rnd(neg_lr * g, code, sw), code, sw)
