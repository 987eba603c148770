"""BP engine, functionally: the delta g(U[t]) and the transposed product g(S_in[t]).

Delta (2.3 step 2): ``g(U) = g(S)*sg(U) + beta*g(U[t+1])*(1-S)`` with two rounded products
and a rounded sum. Transposed product (2.3 step 3): for each nonzero delta ``d`` in
ascending order, lanes over the inputs do ``gS_in[i] += W[i, d] * g(U)[d]`` as an unfused
multiply-add (product rounded, then sum rounded).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import rnd


@njit(cache=True)
def delta(gS, sg, gU_next, S, beta, code, sg_scale):
    B, n = gS.shape
    gU = np.empty_like(gS)
    for b in range(B):
        for j in range(n):
            a = rnd(gS[b, j] * sg[b, j], code, sg_scale)
            c = 0.0 if S[b, j] != 0.0 else rnd(beta * gU_next[b, j], code, sg_scale)
            gU[b, j] = rnd(a + c, code, sg_scale)
    return gU


@njit(cache=True)
def transposed(W, gU, code, sg_scale):
    B, n_out = gU.shape
    n_in = W.shape[0]
    acc = np.zeros((B, n_in))
    for b in range(B):
        for d in range(n_out):
            g = gU[b, d]
            if g == 0.0:
                continue
            for i in range(n_in):
                acc[b, i] = rnd(acc[b, i] + rnd(W[i, d] * g, code, sg_scale), code, sg_scale)
    return acc
