"""Zero-skipping 2-D convolution kernels (numba) for the built-in trainer.

Maps are HWC: ``x`` (N, H, W, C), weights ``w`` (K, K, C_in, C_out), output (N, H', W', C_out)
with ``oy = (y + P - ky) / s``. Like the chip's engines, the loops visit only nonzero inputs
(forward) and nonzero deltas (backward), so the work scales with spike and gradient density;
the innermost loop runs over channels, contiguous in HWC.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def out_size(h: int, k: int, s: int, p: int) -> int:
    return (h + 2 * p - k) // s + 1


def conv_forward(x: np.ndarray, w: np.ndarray, stride: int, padding: int) -> np.ndarray:
    n, h, wd, _ = x.shape
    k, co = w.shape[0], w.shape[3]
    out = np.zeros((n, out_size(h, k, stride, padding), out_size(wd, k, stride, padding), co),
                   dtype=np.result_type(x, w))
    _forward(np.ascontiguousarray(x), np.ascontiguousarray(w), stride, padding, out)
    return out


def conv_backward(x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: int, padding: int):
    """(g(W), g(x)) for output gradient ``g`` (N, H', W', C_out)."""
    g = np.ascontiguousarray(g)
    gw = np.zeros_like(w)
    gx = np.zeros(x.shape, dtype=g.dtype)
    wt = np.ascontiguousarray(w.transpose(0, 1, 3, 2))  # (K, K, C_out, C_in)
    _backward(np.ascontiguousarray(x), wt, g, stride, padding, gw, gx)
    return gw, gx


@njit(cache=True)
def _forward(x, w, s, p, out):
    n_, h, wd, c_in = x.shape
    k, c_out = w.shape[0], w.shape[3]
    ho, wo = out.shape[1], out.shape[2]
    for n in range(n_):
        for y in range(h):
            for xx in range(wd):
                for c in range(c_in):
                    v = x[n, y, xx, c]
                    if v == 0:
                        continue
                    for ky in range(k):
                        ny = y + p - ky
                        if ny < 0 or ny % s:
                            continue
                        oy = ny // s
                        if oy >= ho:
                            continue
                        for kx in range(k):
                            nx = xx + p - kx
                            if nx < 0 or nx % s:
                                continue
                            ox = nx // s
                            if ox >= wo:
                                continue
                            for co in range(c_out):  # explicit: no temporaries
                                out[n, oy, ox, co] += v * w[ky, kx, c, co]


@njit(cache=True)
def _backward(x, wt, g, s, p, gw, gx):
    n_, h, wd, c_in = x.shape
    k, c_out = wt.shape[0], wt.shape[2]
    ho, wo = g.shape[1], g.shape[2]
    nz = np.empty(c_out, dtype=np.int64)
    for n in range(n_):
        for oy in range(ho):
            for ox in range(wo):
                m = 0
                for co in range(c_out):
                    if g[n, oy, ox, co] != 0:
                        nz[m] = co
                        m += 1
                if m == 0:
                    continue
                for ky in range(k):
                    y = oy * s + ky - p
                    if y < 0 or y >= h:
                        continue
                    for kx in range(k):
                        xx = ox * s + kx - p
                        if xx < 0 or xx >= wd:
                            continue
                        # g(x) = W^T g over the nonzero deltas
                        for j in range(m):
                            co = nz[j]
                            d = g[n, oy, ox, co]
                            for c in range(c_in):
                                gx[n, y, xx, c] += d * wt[ky, kx, co, c]
                        # g(W): only (nonzero input, nonzero delta) pairs
                        for c in range(c_in):
                            v = x[n, y, xx, c]
                            if v == 0:
                                continue
                            for j in range(m):
                                co = nz[j]
                                gw[ky, kx, c, co] += v * g[n, oy, ox, co]
