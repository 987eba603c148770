"""WG engine, functionally: weight-gradient accumulation and the weight update (UPD).

Accumulate (docs/microarchitecture.md 2.4): for one (sample, time step), each pair (nonzero
delta, nonzero input) adds ``x*g(U)`` (just ``g(U)`` for a binary input) into its
accumulator in ``core.wg.grad_precision``, rounding after the add. Tiles run in the engine's
program order, samples ascending and time steps descending, which fixes the order of the
adds into each accumulator; within a tile the trainer's kernel
(:func:`neurosim.workload.conv_kernels.conv_backward`) visits the pairs in the engine's order.

Update (2.5), per weight, with the batch size ``B`` of the step:
- SGD: ``W = W + (-lr/B)*gW``;
- momentum: ``M = mu*M + (1/B)*gW`` then ``W = W + (-lr)*M`` (the trainer's semantics:
  the velocity holds batch means);
each product rounded to the update format (:func:`neurosim.arch.update_precision`), the
sum rounded once into the weight's stored format. With ``master_weights: fp32`` that is the
FP32 master copy, and the datapath copy is then rounded from it (nearest); with
``update_rounding: stochastic`` the rounding into the stored format is stochastic.
"""
from __future__ import annotations

import numpy as np

from ..jit import njit
from ..workload.conv_kernels import conv_backward
from .numerics import rnd, rnd_stochastic


def accumulate(gw: np.ndarray, x: np.ndarray, g_u: np.ndarray, conv: bool, stride: int,
               padding: int, fmt: tuple) -> None:
    """Add the step's pairs into ``gw`` (the layer's accumulators) in place; ``x`` and
    ``g_u`` are (T, B, ...)."""
    def tiles(a):  # (T, B, ...) -> (B*T, ...): samples ascending, time steps descending
        a = np.swapaxes(a[::-1], 0, 1)
        return np.ascontiguousarray(a).reshape((-1,) + a.shape[2:])

    xs, gs = tiles(x), tiles(g_u)
    if conv:
        conv_backward(xs, gw, gs, stride, padding, gx_fmt=None, gw_fmt=fmt, gw=gw)
    else:
        gw4 = gw.reshape((1, 1) + gw.shape)  # a view: accumulated in place
        conv_backward(xs.reshape(len(xs), 1, 1, -1), gw4, gs.reshape(len(gs), 1, 1, -1), 1, 0,
                      gx_fmt=None, gw_fmt=fmt, gw=gw4)


@njit(cache=True)
def update(W, GW, M, WM, neg_lr_b, neg_lr, inv_b, mu, momentum, master, draws,
           cw, sw, cs, cu, cg, sg):
    """In place over flat arrays: W (datapath copy, format cw/sw), WM (master copy, format
    cs, or unused), M (momentum, format cg/sg), from GW. ``cs``: stored format (master's or
    W's); ``cu``: update format; ``draws``: uniform draws for stochastic rounding (empty =
    nearest)."""
    stochastic = draws.size > 0
    for k in range(W.size):
        if momentum:
            M[k] = rnd(rnd(mu * M[k], cg, sg) + rnd(inv_b * GW[k], cg, sg), cg, sg)
            step = rnd(neg_lr * M[k], cu, sw)
        else:
            step = rnd(neg_lr_b * GW[k], cu, sw)
        old = WM[k] if master else W[k]
        new = rnd_stochastic(old + step, cs, sw, draws[k]) if stochastic \
            else rnd(old + step, cs, sw)
        if master:
            WM[k] = new
            W[k] = rnd(new, cw, sw)
        else:
            W[k] = new
