"""BP engine, functionally: the delta g(U[t]) and the transposed product g(S_in[t]).

Delta (docs/microarchitecture.md 2.3 step 2): ``g(U) = g(S)*sg(U) + beta*g(U[t+1])*(1-S)``
(soft reset: no ``(1-S)``, decision 1.1a), two rounded products and a rounded sum; for the
output layer under ``ce_membrane`` the loss gradient at ``U[T-1]`` is then added (rounded).
Transposed product (2.3 step 3): for each nonzero delta in ascending part order, lanes over
the input channels do ``gS_in += W * g(U)`` as an unfused multiply-add, at every valid
kernel offset for conv: the trainer's kernel
(:func:`neurosim.workload.conv_kernels.conv_backward`) run with the chip's format.
"""
from __future__ import annotations

import numpy as np

from ..jit import njit
from ..workload.conv_kernels import conv_backward
from .numerics import rnd


@njit(cache=True)
def delta(gS, sg, gU_next, S, extra, beta, soft, code, scale):
    """g(U[t]) of (B, n) arrays; ``extra`` is a gradient entering at U[t] directly (0 if
    none)."""
    B, n = gS.shape
    gU = np.empty_like(gS)
    for b in range(B):
        for j in range(n):
            a = rnd(gS[b, j] * sg[b, j], code, scale)
            c = 0.0 if (S[b, j] != 0.0 and not soft) else rnd(beta * gU_next[b, j], code, scale)
            g = rnd(a + c, code, scale)
            if extra[b, j] != 0.0:
                g = rnd(g + extra[b, j], code, scale)
            gU[b, j] = g
    return gU


def transposed(w: np.ndarray, g_u: np.ndarray, x_shape: tuple, conv: bool, stride: int,
               padding: int, fmt: tuple) -> np.ndarray:
    """g(S_in) of every (t, b): ``g_u`` (T, B, ...) -> (T, B, *x_shape[2:])."""
    t, b = g_u.shape[:2]
    if conv:
        x = np.zeros((t * b,) + tuple(x_shape[2:]))  # only its shape is read
        _, gx = conv_backward(x, w, g_u.reshape((t * b,) + g_u.shape[2:]), stride, padding,
                              gx_fmt=fmt, gw_fmt=None)
    else:
        x = np.zeros((t * b, 1, 1, w.shape[0]))
        _, gx = conv_backward(x, w.reshape((1, 1) + w.shape), g_u.reshape(t * b, 1, 1, -1), 1, 0,
                              gx_fmt=fmt, gw_fmt=None)
    return gx.reshape(tuple(x_shape))
