"""Number formats of the datapath, emulated exactly in float64.

Every value lives in a float64 array but is always a value of the chip's format; every
arithmetic result is rounded to the format at once (``rnd``), so a chain of operations gives
the bit-exact result of hardware that rounds after each operation:

- ``fp16``: IEEE binary16, round to nearest even, with subnormals and overflow to inf. The
  sum or product of two binary16 values is exact in float64 (their significands and
  exponent range fit 53 bits), so rounding that exact result once is correctly rounded.
- ``fp32``: IEEE binary32 (the sum/product of two binary32 values rounded to float64 and then
  to binary32 is correctly rounded: 53 >= 2*24 + 2, so double rounding is innocuous).
- ``int8`` / ``int4``: two's-complement fixed point with a power-of-two scale per tensor
  (shift-based, after IntegerNet), round to nearest even, saturating at the format's range.

A multiply-add is *unfused* (the product is rounded, then the sum): see docs/energy.md.

``NATIVE`` is "no rounding": the arithmetic of the arrays' own dtype. The trainer's kernels
(:mod:`neurosim.workload.conv_kernels`) take a format code so that the float32/float64
trainer and the chip datapath run the same loops; the trainer passes ``NATIVE``.

Stochastic rounding (:func:`rnd_stochastic`) rounds up with probability equal to the
distance from the lower neighbour in units of the quantum, so small updates survive in
expectation (Gupta et al., ICML 2015).
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import intrinsic

from ..jit import njit

NATIVE, FP16, FP32, INT8, INT4 = -1, 0, 1, 2, 3
CODES = {"fp16": FP16, "fp32": FP32, "int8": INT8, "int4": INT4}
INT_BITS = {INT8: 8, INT4: 4}
UNIT_ROUNDOFF = {"fp16": 2.0 ** -11, "fp32": 2.0 ** -24}

_F16_MIN_NORMAL = 2.0 ** -14
_F16_MAX = 65504.0


@intrinsic
def _bits_of(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a register move)."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, b):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


_DROP = 52 - 10  # float64 fraction bits below binary16's 10
_HALF = (1 << (_DROP - 1)) - 1
_MASK = ~((1 << _DROP) - 1)


@njit(cache=True, inline="always")
def round_fp16(x):
    if x == 0.0 or not math.isfinite(x):
        return x
    if abs(x) < _F16_MIN_NORMAL:  # subnormal: fixed quantum 2^-24
        return np.rint(x * 16777216.0) / 16777216.0
    # Keep 10 fraction bits, round to nearest even on the bits (a carry into the exponent
    # is the correct rounding up to the next binade).
    b = _bits_of(x)
    b = (b + _HALF + ((b >> _DROP) & 1)) & _MASK
    r = _float_of(b)
    if abs(r) > _F16_MAX:
        return math.copysign(math.inf, x)
    return r


@njit(cache=True, inline="always")
def rnd(x, code, scale):
    """Round ``x`` to format ``code``; ``scale`` is the fixed-point step of int formats."""
    if code == NATIVE:
        return x
    if code == FP16:
        return round_fp16(x)
    if code == FP32:
        return float(np.float32(x))
    bits = 8 if code == INT8 else 4
    hi = 2.0 ** (bits - 1) - 1.0
    q = np.rint(x / scale)
    if q > hi:
        q = hi
    elif q < -hi - 1.0:
        q = -hi - 1.0
    return q * scale


@njit(cache=True, inline="always")
def quantum(x, code, scale):
    """Spacing of the format's values at ``|x|`` (the unit in the last place)."""
    if code == FP16 or code == FP32:
        p, min_normal = (11, _F16_MIN_NORMAL) if code == FP16 else (24, 2.0 ** -126)
        if abs(x) < min_normal:
            return min_normal * 2.0 ** (1 - p)
        m, e = math.frexp(x)
        return 2.0 ** (e - p)
    return scale


@njit(cache=True, inline="always")
def rnd_stochastic(x, code, scale, u):
    """Round ``x`` down or up to a neighbouring value of the format, up with probability
    (x - lower) / quantum; ``u`` is a uniform draw in [0, 1)."""
    if code == NATIVE or x == 0.0 or not math.isfinite(x):
        return x
    q = quantum(x, code, scale)
    lo = math.floor(x / q) * q
    r = lo + q if u < (x - lo) / q else lo
    return rnd(r, code, scale)  # exact, except overflow (inf) and int saturation


@njit(cache=True)
def round_array(a, code, scale):
    out = np.empty_like(a)
    flat, oflat = a.ravel(), out.ravel()
    for i in range(flat.size):
        oflat[i] = rnd(flat[i], code, scale)
    return out


def pow2_scale(max_abs: float, code: int) -> float:
    """Shift-based fixed-point step: the smallest power of two with which ``max_abs`` fits
    the int format (1.0 for float formats)."""
    if code not in INT_BITS:
        return 1.0
    if max_abs <= 0 or not math.isfinite(max_abs):
        return 2.0 ** -(INT_BITS[code] - 1)
    return 2.0 ** (math.ceil(math.log2(max_abs)) - (INT_BITS[code] - 1))
