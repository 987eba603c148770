"""Zero-skipping 2-D convolution kernels (numba) for the built-in trainer.

Maps are HWC: ``x`` (N, H, W, C), weights ``w`` (K, K, C_in, C_out), output (N, H', W', C_out)
with ``oy = (y + P - ky) / s``. Like the chip's engines, the loops visit only nonzero inputs
(forward) and nonzero deltas (backward), so the work scales with spike and gradient density;
the innermost loop runs over channels, contiguous in HWC.

The loops are also the chip engines' program order (docs/microarchitecture.md 2.1, 2.3,
2.4), so the functional chip datapath (:mod:`neurosim.functional`) runs these same kernels
with a number format: every product and every sum is then rounded to the format
(:func:`neurosim.functional.numerics.rnd`; unfused multiply-add), in this order. The trainer
passes ``NATIVE`` (no rounding: the arrays' own float arithmetic, bit for bit what the
unrounded loops computed). A linear layer is the 1x1 case: ``x`` (N, 1, 1, n_in), ``w``
(1, 1, n_in, n_out).

Order of the adds into one accumulator, which is what rounding makes visible: forward,
nonzero inputs in ascending HWC index; ``g(x)``, nonzero deltas in ascending (oy, ox, co);
``g(W)``, ascending ``n`` then (oy, ox): the caller orders ``n`` as the WG engine's tiles
(samples ascending, time steps descending).
"""
from __future__ import annotations

import numpy as np

from ..functional.numerics import NATIVE, rnd
from ..jit import njit


def out_size(h: int, k: int, s: int, p: int) -> int:
    return (h + 2 * p - k) // s + 1


def conv_forward(x: np.ndarray, w: np.ndarray, stride: int, padding: int,
                 fmt: tuple = (NATIVE, 1.0)) -> np.ndarray:
    """Synaptic current (N, H', W', C_out); ``fmt`` = (format code, int scale) of the
    accumulators."""
    n, h, wd, _ = x.shape
    k, co = w.shape[0], w.shape[3]
    out = np.zeros((n, out_size(h, k, stride, padding), out_size(wd, k, stride, padding), co),
                   dtype=np.result_type(x, w))
    _forward(np.ascontiguousarray(x), np.ascontiguousarray(w), stride, padding, out,
             fmt[0], fmt[1])
    return out


def conv_backward(x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: int, padding: int,
                  gx_fmt: tuple | None = (NATIVE, 1.0), gw_fmt: tuple | None = (NATIVE, 1.0),
                  gw: np.ndarray | None = None):
    """(g(W), g(x)) for output gradient ``g`` (N, H', W', C_out). A format of None skips
    that output (returned as None); ``gw``, if given, is accumulated into in place."""
    g = np.ascontiguousarray(g)
    want_gw, want_gx = gw_fmt is not None, gx_fmt is not None
    if gw is None:
        gw = np.zeros_like(w) if want_gw else np.zeros((0, 0, 0, 0), dtype=w.dtype)
    gx = np.zeros(x.shape if want_gx else (0, 0, 0, 0), dtype=g.dtype)
    wt = np.ascontiguousarray(w.transpose(0, 1, 3, 2))  # (K, K, C_out, C_in)
    cx, sx = gx_fmt if want_gx else (NATIVE, 1.0)
    cw, sw = gw_fmt if want_gw else (NATIVE, 1.0)
    _backward(np.ascontiguousarray(x), wt, g, stride, padding, gw, gx, want_gw, want_gx,
              cw, sw, cx, sx)
    return (gw if want_gw else None), (gx if want_gx else None)


@njit(cache=True)
def _forward(x, w, s, p, out, code, scale):
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
                                out[n, oy, ox, co] = rnd(
                                    out[n, oy, ox, co] + rnd(v * w[ky, kx, c, co], code, scale),
                                    code, scale)


@njit(cache=True)
def _backward(x, wt, g, s, p, gw, gx, want_gw, want_gx, cw, sw, cx, sx):
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
                        if want_gx:
                            for j in range(m):
                                co = nz[j]
                                d = g[n, oy, ox, co]
                                for c in range(c_in):
                                    gx[n, y, xx, c] = rnd(
                                        gx[n, y, xx, c] + rnd(d * wt[ky, kx, co, c], cx, sx),
                                        cx, sx)
                        if not want_gw:
                            continue
                        # g(W): only (nonzero input, nonzero delta) pairs
                        for c in range(c_in):
                            v = x[n, y, xx, c]
                            if v == 0:
                                continue
                            for j in range(m):
                                co = nz[j]
                                gw[ky, kx, c, co] = rnd(
                                    gw[ky, kx, c, co] + rnd(v * g[n, oy, ox, co], cw, sw),
                                    cw, sw)
