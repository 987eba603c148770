"""FP engine, functionally: accumulate weights of nonzero inputs in hardware order, then LIF.

Accumulate (docs/microarchitecture.md 2.1): for each nonzero input in ascending HWC index,
one lane per output channel adds ``x*W`` into that output's accumulator (for a conv input,
at each valid kernel offset, row-major), the product and the sum each rounded to the format
(a binary input's product is ``W`` itself, exact). The loop is the trainer's own
zero-skipping kernel (:func:`neurosim.workload.conv_kernels.conv_forward`) run with the
chip's number format; a linear layer is its 1x1 case.

LIF: ``U = beta*U_prev*(1-S_prev) + I`` (hard reset) or ``U = beta*U_prev + I - V_th*S_prev``
(soft; the subtraction only after a spike), rounding after each operation; ``S = U >= V_th``.
"""
from __future__ import annotations

import numpy as np

from ..jit import njit
from ..workload.conv_kernels import conv_forward
from .numerics import rnd


def current(x: np.ndarray, w: np.ndarray, conv: bool, stride: int, padding: int,
            fmt: tuple) -> np.ndarray:
    """Synaptic current of every (t, b): ``x`` (T, B, ...) -> (T, B, ...); ``fmt`` =
    (format code, int scale) of the accumulators."""
    t, b = x.shape[:2]
    if conv:
        out = conv_forward(x.reshape((t * b,) + x.shape[2:]), w, stride, padding, fmt)
        return out.reshape((t, b) + out.shape[1:])
    out = conv_forward(x.reshape(t * b, 1, 1, -1), w.reshape((1, 1) + w.shape), 1, 0, fmt)
    return out.reshape(t, b, -1)


@njit(cache=True)
def lif(U_prev, S_prev, I, beta, v_th, soft, code, su):
    """One LIF update per neuron of (B, n) arrays; returns (U, S)."""
    B, n = I.shape
    U = np.empty_like(I)
    S = np.zeros_like(I)
    for b in range(B):
        for j in range(n):
            if soft:
                u = rnd(rnd(beta * U_prev[b, j], code, su) + I[b, j], code, su)
                if S_prev[b, j] != 0.0:
                    u = rnd(u - v_th, code, su)
            else:
                keep = 0.0 if S_prev[b, j] != 0.0 else U_prev[b, j]
                u = rnd(rnd(beta * keep, code, su) + I[b, j], code, su)
            U[b, j] = u
            if u >= v_th:
                S[b, j] = 1.0
    return U, S
