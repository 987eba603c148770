"""FP engine, functionally: accumulate weights of nonzero inputs in hardware order, then LIF.

Order (docs/microarchitecture.md 2.1): for each nonzero input ``i`` in ascending order, one
lane per output adds ``W[i, j]`` into that output's accumulator, rounding after each add.
Binary inputs are accumulate-only; multi-level inputs (direct coding) are multiplied first
(an unfused multiply-add). The LIF step then computes ``U = beta*U_prev*(1-S_prev) + I``
(hard reset) or ``U = beta*U_prev + I - V_th*S_prev`` (soft), rounding after each operation.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import rnd


@njit(cache=True)
def accumulate(W, x, binary, code, sw, su):
    """I[b, :] = sum over nonzero x[b, i] (ascending i) of x[b, i] * W[i, :] in format."""
    B, n_in = x.shape
    n_out = W.shape[1]
    acc = np.zeros((B, n_out))
    for b in range(B):
        for i in range(n_in):
            xi = x[b, i]
            if xi == 0.0:
                continue  # zero-skipping: the front end never issues it
            for j in range(n_out):
                term = W[i, j] if binary else rnd(xi * W[i, j], code, su)
                acc[b, j] = rnd(acc[b, j] + term, code, su)
    return acc


@njit(cache=True)
def lif(U_prev, S_prev, I, beta, v_th, soft, code, su):
    """One LIF update per neuron; returns (U, S)."""
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
