"""The FP, BP and WG engines: what one tile costs, cycle by cycle
(``docs/microarchitecture.md`` section 2).

A tile is a sequence of cycles, each *free* (no SRAM port) or an *SRAM cycle* that needs a
set of bank slots. This module turns a tile and the trace bits it consumes into that
sequence, in one of two modes of the same numba kernels:

- *count* (``emit=False``): the tile's isolated length, its BP delta-phase length and its
  event counters (section 8), in closed form per nonzero -- cheap, used for every tile (for
  FP tiles through :func:`fp_input_taps`, one scan per layer input shared by all the
  layer's parts, and :func:`fp_tile_count`; ``fp_tile``'s own counting mode is what the
  tests check that pair against);
- *emit* (``emit=True``): additionally writes the op stream, one ``int64`` code per cycle,
  which the SRAM arbiter (:mod:`neurosim.hw.sram`) replays when several engines of a core are
  active at once and bank conflicts are possible.

Op codes: ``-1`` is a free cycle; otherwise ``kind << 48 | bank1 << 24 | bank0`` where
``kind`` (``OP_*``) fixes which buffers are touched and how many consecutive banks
(``KIND_*`` tables built by :func:`op_kind_tables`), and ``bank0``/``bank1`` are the first
banks of the chunk's words in those buffers.

The zero-skipping front end is :func:`_scan` -- the window rule lives there once: windows of
``scan_width`` bits aligned at bit 0, each costing ``max(1, chunks of its nonzeros)``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..arch import (SRAM_BUFFERS, grad_bits, master_words_per_chunk, neuron_words_per_chunk,
                    value_bits, words_per_chunk)
from ..jit import njit

# Buffers, by index (order of arch.SRAM_BUFFERS).
BUF = {name: i for i, name in enumerate(SRAM_BUFFERS)}
B_WEIGHTS, B_STATE, B_SPIKES, B_GRADIENTS, B_WGRAD = (BUF[n] for n in SRAM_BUFFERS)
N_BUF = len(SRAM_BUFFERS)

# Op kinds of SRAM cycles.
OP_FP_ACC, OP_LIF, OP_BP_DELTA, OP_BP_TRANS, OP_WG_ACC, OP_UPD, OP_UPD_MASTER = 1, 2, 3, 4, 5, 6, 7
N_OP_KINDS = 8
FREE = np.int64(-1)

# The op kinds a tile's stream may hold by tile kind: before its delta length, and from it
# on (only a BP tile's differ: g(U) in its delta passes, weights and g(U) in its transposed
# product; the others' delta length is their length). The SRAM arbiter reads them as sets
# of buffers (``EngineParams.tile_buffers``): tiles whose sets are disjoint never contend.
TILE_OP_KINDS = {
    "FP": ((OP_FP_ACC, OP_LIF), (OP_FP_ACC, OP_LIF)),
    "BP": ((OP_BP_DELTA,), (OP_BP_TRANS,)),
    "WG": ((OP_WG_ACC,), (OP_WG_ACC,)),
    "UPD": ((OP_UPD, OP_UPD_MASTER), (OP_UPD, OP_UPD_MASTER)),
    "LOSS": ((), ()),
}

# Counter vector of a tile (int64[N_CNT]); per-buffer SRAM words at CNT_SRAM + 2*buf (+1 write).
CNT_ADD, CNT_MAC, CNT_NEURON, CNT_SCAN = 0, 1, 2, 3
CNT_SRAM = 4
N_CNT = CNT_SRAM + 2 * N_BUF
ENGINE_COUNTERS = ("add_ops", "mac_ops", "neuron_updates", "scan_windows")

# Scan modes of the front end.
MODE_FP, MODE_BP, MODE_WG = 0, 1, 2

# Layout of the int64 parameter vector handed to the scan kernel.
(P_CONV, P_H, P_W, P_C, P_HO, P_WO, P_K, P_S, P_PAD, P_NCH, P_LANES, P_NCHUNK, P_BASE0, P_K0,
 P_BANKS0, P_BASE1, P_K1, P_BANKS1, P_NIN, P_NNZIN, P_ASTRIDE) = range(21)
N_PRM = 21


def cdiv(a: int, b: int) -> int:
    return -(-int(a) // int(b))


# --------------------------------------------------------------------------- bit helpers


# de Bruijn sequence B(2, 6): the top 6 bits of ``DEBRUIJN << i`` differ for every i < 64
_DEBRUIJN = 0x03F79D71B4CB0A89
_CTZ_TABLE = np.zeros(64, np.int64)
for _i in range(64):
    _CTZ_TABLE[((_DEBRUIJN << _i) & 0xFFFFFFFFFFFFFFFF) >> 58] = _i
_DEBRUIJN = np.uint64(_DEBRUIJN)


@njit(cache=True, inline="always")
def _ctz(x):
    """Index of the lowest set bit of a nonzero uint64 (the lowest bit times the de Bruijn
    constant puts a unique pattern in the top 6 bits: a multiply and a lookup, no branch)."""
    return _CTZ_TABLE[(x & (~x + np.uint64(1))) * _DEBRUIJN >> np.uint64(58)]


@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def count_bits(words):
    n = 0
    for i in range(words.shape[0]):
        n += _popcount(words[i])
    return n


@njit(cache=True)
def position_counts(words, positions, channels):
    """Nonzero channels at each position of an HWC-ordered bit vector: int64[positions]."""
    out = np.zeros(positions, np.int64)
    for wi in range(words.shape[0]):
        x = words[wi]
        while x != np.uint64(0):
            i = wi * 64 + _ctz(x)
            out[i // channels] += 1
            x &= x - np.uint64(1)
    return out


@njit(cache=True)
def part_slice_bits(words, n_full, positions, channels, lo, hi):
    """Bits of channels [lo, hi) at every position of an HWC vector, in part order
    ``pos * (hi - lo) + (c - lo)`` (a linear layer is one position). Returns packed words."""
    n_ch = hi - lo
    n = positions * n_ch
    out = np.zeros((n + 63) // 64, np.uint64)
    for wi in range(words.shape[0]):
        x = words[wi]
        while x != np.uint64(0):
            i = wi * 64 + _ctz(x)
            x &= x - np.uint64(1)
            c = i % channels
            if c >= lo and c < hi:
                j = (i // channels) * n_ch + (c - lo)
                out[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    return out


# --------------------------------------------------------------------------- op codes


@njit(cache=True, inline="always")
def _code(kind, bank0, bank1):
    return (np.int64(kind) << np.int64(48)) | (np.int64(bank1) << np.int64(24)) | np.int64(bank0)


@njit(cache=True, inline="always")
def _bank(word, banks):
    """The bank of SRAM word ``word`` (>= 0): ``word mod banks``, by a mask when ``banks`` is
    a power of two (an integer division per emitted op otherwise dominates emission)."""
    if banks & (banks - 1) == 0:
        return word & (banks - 1)
    return word % banks


@njit(cache=True, inline="always")
def _emit_free(emit, codes, k, n):
    if emit:
        for q in range(n):
            codes[k + q] = FREE
    return k + n


# --------------------------------------------------------------------------- front end


@njit(cache=True, inline="always")
def _valid(o_or_i, pad, kk, stride, limit, forward):
    """Whether kernel offset ``kk`` is valid for a coordinate. forward (FP): input coordinate
    y, output (y + P - k)/s must be an integer in [0, limit). Backward (BP/WG): output
    coordinate o, input o*s + k - P must lie in [0, limit)."""
    if forward:
        v = o_or_i + pad - kk
        return v >= 0 and v % stride == 0 and v // stride < limit
    v = o_or_i * stride + kk - pad
    return v >= 0 and v < limit


@njit(cache=True, inline="always")
def _valid_range(o_or_i, pad, kk_max, stride, limit, forward):
    """``(first, last)``: the kernel offsets ``0 <= kk < kk_max`` valid for a coordinate (as
    :func:`_valid`) are ``first, first + step, ..., <= last``, with ``step`` the stride
    forward and 1 backward; ``first > last`` when there is none. In closed form, so that
    counting and emission walk only the valid offsets (no division per offset)."""
    if forward:   # v = i + P - kk >= 0, v % s == 0, v // s < limit
        top = o_or_i + pad
        lo = max(0, top - stride * (limit - 1))
        hi = min(kk_max - 1, top)
        if lo > hi:
            return 1, 0
        return lo + (top - lo) % stride, hi
    # v = o*s + kk - P in [0, limit)
    return (max(0, pad - o_or_i * stride),
            min(kk_max - 1, limit - 1 + pad - o_or_i * stride))


@njit(cache=True, inline="always")
def _range_len(first, last, step):
    """How many of ``first, first + step, ...`` are ``<= last``."""
    return 0 if first > last else (last - first) // step + 1


# ``_chunks``' memo of the conv position its last nonzero was at: index range [lo, hi) of the
# position, its coordinates times the stride minus the padding (BP/WG), its valid kernel
# rows and columns (first, last) and their counts
M_LO, M_HI, M_Y, M_X, M_Y0, M_Y1, M_X0, M_X1, M_NY, M_NX = range(10)
N_MEMO = 10


@njit(cache=True, inline="always")
def _at_position(i, per, width, pad, K, S, lim_y, lim_x, forward, memo):
    """Fill ``memo`` for the conv position of index ``i`` (``per`` indices per position,
    ``width`` positions per row), unless ``i`` is still in the one it holds: a scan visits
    indices in increasing order, so the divisions and valid ranges are worked out once per
    position rather than once per nonzero."""
    if i < memo[M_HI]:
        return
    pos = i // per
    memo[M_LO] = pos * per
    memo[M_HI] = memo[M_LO] + per
    y = pos // width
    x = pos - y * width
    y0, y1 = _valid_range(y, pad, K, S, lim_y, forward)
    x0, x1 = _valid_range(x, pad, K, S, lim_x, forward)
    step = S if forward else 1
    memo[M_Y0], memo[M_Y1], memo[M_X0], memo[M_X1] = y0, y1, x0, x1
    memo[M_NY] = _range_len(y0, y1, step)
    memo[M_NX] = _range_len(x0, x1, step)
    memo[M_Y] = y * S - pad
    memo[M_X] = x * S - pad


@njit(cache=True, inline="always")
def _chunks(mode, i, prm, aux, emit, codes, k, cnt, memo):
    """Work of one nonzero ``i`` of the scanned vector: writes its chunk ops at ``codes[k:]``
    when emitting, adds its counters, returns the number of chunks. ``memo``: the scan's
    :func:`_at_position` state (conv layers)."""
    lanes = prm[P_LANES]
    nchunk = prm[P_NCHUNK]
    k0, k1 = prm[P_K0], prm[P_K1]
    if prm[P_CONV] == 0:
        if mode == MODE_FP:       # input i, n_ch outputs: ceil(n_ch/lanes) weight chunks
            c = nchunk
            cnt[CNT_ADD] += prm[P_NCH]
            cnt[CNT_SRAM + 2 * B_WEIGHTS] += c * k0
            if emit:
                for j in range(c):
                    a = prm[P_BASE0] + (i * nchunk + j) * k0
                    codes[k + j] = _code(OP_FP_ACC, _bank(a, prm[P_BANKS0]), 0)
        elif mode == MODE_BP:     # delta d: ceil(n_in/lanes) chunks of W row and g(S_in)
            c = nchunk
            cnt[CNT_MAC] += prm[P_NIN]
            cnt[CNT_SRAM + 2 * B_WEIGHTS] += c * k0
            cnt[CNT_SRAM + 2 * B_GRADIENTS] += c * k1
            cnt[CNT_SRAM + 2 * B_GRADIENTS + 1] += c * k1
            if emit:
                for j in range(c):
                    a = prm[P_BASE0] + (i * nchunk + j) * k0
                    g = prm[P_BASE1] + j * k1
                    codes[k + j] = _code(OP_BP_TRANS, _bank(a, prm[P_BANKS0]),
                                         _bank(g, prm[P_BANKS1]))
        else:                     # WG delta d: ceil(nnz_in/lanes) chunks over nonzero inputs
            c = nchunk
            cnt[CNT_ADD] += prm[P_NNZIN]
            cnt[CNT_SRAM + 2 * B_WGRAD] += c * k0
            cnt[CNT_SRAM + 2 * B_WGRAD + 1] += c * k0
            if emit:
                for j in range(c):
                    a = prm[P_BASE0] + (i * prm[P_ASTRIDE] + j) * k0
                    codes[k + j] = _code(OP_WG_ACC, _bank(a, prm[P_BANKS0]), 0)
        return c
    K, S, pad = prm[P_K], prm[P_S], prm[P_PAD]
    total = 0
    if mode == MODE_FP:           # input (y, x, ci); valid offsets map it to an output
        _at_position(i, prm[P_C], prm[P_W], pad, K, S, prm[P_HO], prm[P_WO], True, memo)
        ci = i - memo[M_LO]
        nx = memo[M_NX]
        taps = memo[M_NY] * nx
        cnt[CNT_ADD] += taps * prm[P_NCH]
        cnt[CNT_SRAM + 2 * B_WEIGHTS] += taps * nchunk * k0
        if emit:   # rows ky, valid columns kx (every S-th), chunks j: a's words in order
            banks0 = prm[P_BANKS0]
            col_step = (S - 1) * nchunk * k0   # skipped columns between valid ones
            # (stride 1: a row's columns and chunks are one run of consecutive words)
            runs, run = (nx, nchunk) if S > 1 else (1, nx * nchunk)
            x0 = memo[M_X0]
            for ky in range(memo[M_Y0], memo[M_Y1] + 1, S):
                a = prm[P_BASE0] + ((ci * K + ky) * K + x0) * nchunk * k0
                for _ in range(runs):
                    for _ in range(run):
                        codes[k + total] = _code(OP_FP_ACC, _bank(a, banks0), 0)
                        a += k0
                        total += 1
                    a += col_step
        return taps * nchunk
    # BP / WG: delta d = (oy, ox, co_local) in part order; valid offsets are consecutive
    _at_position(i, prm[P_NCH], prm[P_WO], pad, K, S, prm[P_H], prm[P_W], False, memo)
    co = i - memo[M_LO]
    y0, y1, x0, x1 = memo[M_Y0], memo[M_Y1], memo[M_X0], memo[M_X1]
    taps = memo[M_NY] * memo[M_NX]
    if taps == 0:
        return 0
    if mode == MODE_BP:
        total = taps * nchunk
        cnt[CNT_MAC] += taps * prm[P_C]
        cnt[CNT_SRAM + 2 * B_WEIGHTS] += total * k0
        cnt[CNT_SRAM + 2 * B_GRADIENTS] += total * k1
        cnt[CNT_SRAM + 2 * B_GRADIENTS + 1] += total * k1
        if emit:   # a row's offsets and chunks are consecutive words of W and of g(S_in)
            banks0, banks1 = prm[P_BANKS0], prm[P_BANKS1]
            run = memo[M_NX] * nchunk
            m = k
            for ky in range(y0, y1 + 1):
                y = memo[M_Y] + ky
                a = prm[P_BASE0] + ((co * K + ky) * K + x0) * nchunk * k0
                g = prm[P_BASE1] + (y * prm[P_W] + memo[M_X] + x0) * nchunk * k1
                for _ in range(run):
                    codes[m] = _code(OP_BP_TRANS, _bank(a, banks0), _bank(g, banks1))
                    a += k0
                    g += k1
                    m += 1
        return total
    for ky in range(y0, y1 + 1):
        row = (memo[M_Y] + ky) * prm[P_W] + memo[M_X]
        for kx in range(x0, x1 + 1):
            nz = aux[row + kx]
            c = (nz + lanes - 1) // lanes
            cnt[CNT_ADD] += nz
            if emit:
                a = prm[P_BASE0] + ((co * K + ky) * K + kx) * nchunk * k0
                for j in range(c):
                    codes[k + total + j] = _code(OP_WG_ACC, _bank(a + j * k0, prm[P_BANKS0]), 0)
            total += c
    cnt[CNT_SRAM + 2 * B_WGRAD] += total * k0
    cnt[CNT_SRAM + 2 * B_WGRAD + 1] += total * k0
    return total


@njit(cache=True, _nrt=False)
def _scan(words, n, sw, mode, prm, aux, emit, codes, k, cnt, memo):
    """Zero-skipping front end over ``n`` bits in windows of ``sw``: each window costs
    ``max(1, chunks of its nonzeros)`` cycles. Returns the next code index. ``memo``: zeros
    of length N_MEMO, for :func:`_chunks` (allocated by the caller: this loop is compiled
    without reference counting, which numba otherwise puts on its arrays per nonzero)."""
    nwin = (n + sw - 1) // sw
    cnt[CNT_SCAN] += nwin
    cur = -1          # window being accumulated
    cur_end = 0       # its end (the nonzeros come in increasing order: no division each)
    win_chunks = 0
    for wi in range(words.shape[0]):
        x = words[wi]
        while x != np.uint64(0):
            i = wi * 64 + _ctz(x)
            x &= x - np.uint64(1)
            if i >= cur_end:
                w = i // sw
                if cur >= 0 and win_chunks == 0:
                    k = _emit_free(emit, codes, k, 1)
                k = _emit_free(emit, codes, k, w - cur - 1)   # empty windows in between
                cur = w
                cur_end = (w + 1) * sw
                win_chunks = 0
            c = _chunks(mode, i, prm, aux, emit, codes, k, cnt, memo)
            k += c
            win_chunks += c
    if cur >= 0 and win_chunks == 0:
        k = _emit_free(emit, codes, k, 1)
    return _emit_free(emit, codes, k, nwin - cur - 1)


# --------------------------------------------------------------------------- tiles


@njit(cache=True, inline="always")
def _lif_phase(k, n_part, nl, k_s, base_U, sbanks, emit, codes, cnt):
    """The FP tile's LIF updates from code index ``k``; returns the tile's length."""
    n_lif = (n_part + nl - 1) // nl
    if emit:
        for m in range(n_lif):
            codes[k + m] = _code(OP_LIF, _bank(base_U + m * k_s, sbanks), 0)
    cnt[CNT_NEURON] += n_part
    cnt[CNT_SRAM + 2 * B_STATE] += n_lif * k_s
    cnt[CNT_SRAM + 2 * B_STATE + 1] += n_lif * k_s
    return k + n_lif


@njit(cache=True)
def fp_tile(in_words, n_in, sw, depth, prm, nl, n_part, k_s, base_U, sbanks, emit, codes, cnt):
    """FP tile: fill, accumulate over the nonzero inputs, LIF. Returns its length."""
    k = _emit_free(emit, codes, 0, depth)
    # (the mode typed np.int64, not a literal: one compilation of _scan and _chunks serves
    # the three tiles instead of one per mode, ~4 s each on a cold cache)
    k = _scan(in_words, n_in, sw, np.int64(MODE_FP), prm, prm, emit, codes, k, cnt,
              np.zeros(N_MEMO, np.int64))
    return _lif_phase(k, n_part, nl, k_s, base_U, sbanks, emit, codes, cnt)


@njit(cache=True)
def fp_input_taps(in_words, n_in, sw, prm):
    """``(taps, idle windows)`` of the FP front end over one input: the valid (nonzero
    input, kernel offset) pairs, and the scan windows with none. Every part of the layer
    scans the same input, only with ``nchunk`` chunks per tap, and a window with a tap then
    costs ``nchunk x`` its taps (at least 1): so one scan serves all parts
    (:func:`fp_tile_count`)."""
    unit = prm.copy()   # one output channel: one chunk of one word per tap
    unit[P_NCH] = 1
    unit[P_NCHUNK] = 1
    unit[P_K0] = 1
    cnt = np.zeros(N_CNT, np.int64)
    no_codes = np.empty(0, np.int64)
    # (typed constants: literal False and 0 would compile _scan once more, ~2 s)
    k = _scan(in_words, n_in, sw, np.int64(MODE_FP), unit, unit, np.bool_(False), no_codes,
              np.int64(0), cnt, np.zeros(N_MEMO, np.int64))
    return cnt[CNT_ADD], k - cnt[CNT_ADD]


@njit(cache=True)
def fp_tile_count(taps, idle, n_in, sw, depth, prm, nl, n_part, k_s, cnt):
    """:func:`fp_tile`'s length and counters (counting mode) from
    :func:`fp_input_taps` of its input."""
    nchunk = prm[P_NCHUNK]
    cnt[CNT_SCAN] += (n_in + sw - 1) // sw
    cnt[CNT_ADD] += taps * prm[P_NCH]
    cnt[CNT_SRAM + 2 * B_WEIGHTS] += taps * nchunk * prm[P_K0]
    k = depth + taps * nchunk + idle
    return _lif_phase(k, n_part, nl, k_s, 0, 1, False, np.empty(0, np.int64), cnt)


@njit(cache=True)
def bp_tile(gu_words, n_part, sw, depth, passes, transposed, prm, base_GU, emit, codes, cnt):
    """BP tile: fill, ``passes`` delta passes over g(S) -> g(U), then (if ``transposed``) the
    transposed product over the nonzero deltas. Returns (length, delta-phase length)."""
    lanes = prm[P_LANES]
    k1 = prm[P_K1]
    k = _emit_free(emit, codes, 0, depth)
    n_delta = (n_part + lanes - 1) // lanes
    if emit:
        for r in range(passes):
            for m in range(n_delta):
                codes[k + r * n_delta + m] = _code(OP_BP_DELTA,
                                                   _bank(base_GU + m * k1, prm[P_BANKS1]), 0)
    k += passes * n_delta
    cnt[CNT_MAC] += passes * n_part
    cnt[CNT_SRAM + 2 * B_GRADIENTS] += passes * n_delta * k1
    cnt[CNT_SRAM + 2 * B_GRADIENTS + 1] += passes * n_delta * k1
    delta_len = k
    if transposed:
        k = _scan(gu_words, n_part, sw, np.int64(MODE_BP), prm, prm, emit, codes, k, cnt,
                  np.zeros(N_MEMO, np.int64))
    return k, delta_len


@njit(cache=True)
def wg_tile(gu_words, n_part, n_in, sw, depth, prm, nnzc, emit, codes, cnt):
    """WG tile: fill, index the nonzero inputs, accumulate (nonzero delta, nonzero input)
    pairs. ``nnzc``: nonzero input channels per input position (conv). Returns its length."""
    n_index = (n_in + sw - 1) // sw
    k = _emit_free(emit, codes, 0, depth + n_index)
    cnt[CNT_SCAN] += n_index
    return _scan(gu_words, n_part, sw, np.int64(MODE_WG), prm, nnzc, emit, codes, k, cnt,
                 np.zeros(N_MEMO, np.int64))


@njit(cache=True)
def upd_tile(depth, passes, n_w, lanes, base_GW, k_g, gwbanks, base_W, k_uw, wbanks,
             base_WM, k_m, emit, codes, cnt):
    """UPD tile: fill, then ``passes`` sweeps over the part's weights (read g(W), read-modify-
    write W) and, with master weights (``k_m > 0``), one sweep that updates the FP32 master
    copy and writes the rounded W (spec 2.5a). Returns its length."""
    k = _emit_free(emit, codes, 0, depth)
    n = (n_w + lanes - 1) // lanes
    if emit:
        for r in range(passes):
            for m in range(n):
                codes[k + r * n + m] = _code(OP_UPD, _bank(base_GW + m * k_g, gwbanks),
                                             _bank(base_W + m * k_uw, wbanks))
        if k_m > 0:
            for m in range(n):
                codes[k + passes * n + m] = _code(OP_UPD_MASTER, _bank(base_WM + m * k_m, gwbanks),
                                                  _bank(base_W + m * k_uw, wbanks))
    cnt[CNT_MAC] += passes * n_w
    cnt[CNT_SRAM + 2 * B_WGRAD] += passes * n * k_g
    cnt[CNT_SRAM + 2 * B_WEIGHTS] += passes * n * k_uw
    cnt[CNT_SRAM + 2 * B_WEIGHTS + 1] += passes * n * k_uw
    if k_m > 0:
        cnt[CNT_SRAM + 2 * B_WGRAD] += n * k_m
        cnt[CNT_SRAM + 2 * B_WGRAD + 1] += n * k_m
        cnt[CNT_SRAM + 2 * B_WEIGHTS + 1] += n * k_uw
        return k + (passes + 1) * n
    return k + passes * n


# --------------------------------------------------------------------------- config tables


class EngineParams:
    """Per-config constants the kernels need (lanes, scan widths, words per chunk, banks)."""

    def __init__(self, cfg):
        c = cfg.core
        self.bits = value_bits(cfg)
        self.grad_bits = grad_bits(cfg)      # accumulators and momentum in wgrad (2.5a)
        sram = c.sram
        self.banks = np.array([sram[b].banks for b in SRAM_BUFFERS], np.int64)
        self.ports = np.array([sram[b].ports for b in SRAM_BUFFERS], np.int64)
        self.width = np.array([sram[b].width_bits for b in SRAM_BUFFERS], np.int64)

        self.fp_lanes, self.bp_lanes, self.wg_lanes = c.fp.lanes, c.bp.lanes, c.wg.lanes
        self.fp_sw, self.bp_sw, self.wg_sw = c.fp.scan_width, c.bp.scan_width, c.wg.scan_width
        self.fp_depth, self.bp_depth, self.wg_depth = (c.fp.pipeline_depth, c.bp.pipeline_depth,
                                                       c.wg.pipeline_depth)
        self.neuron_lanes = c.fp.neuron_lanes
        # SRAM words (consecutive banks) of one chunk, by engine and buffer (arch.py)
        self.k_fw = words_per_chunk(cfg, "fp", "weights")
        self.k_s = neuron_words_per_chunk(cfg)
        self.k_bw = words_per_chunk(cfg, "bp", "weights")
        self.k_bg = words_per_chunk(cfg, "bp", "gradients")
        self.k_g = words_per_chunk(cfg, "wg", "wgrad")
        self.k_uw = words_per_chunk(cfg, "wg", "weights")
        self.k_m = master_words_per_chunk(cfg)   # master weights per chunk (0 without)
        # kind -> (buffer0, words0, buffer1, words1); buffer1 = -1 when one buffer.
        kb0 = np.full(N_OP_KINDS, -1, np.int64)
        kk0 = np.zeros(N_OP_KINDS, np.int64)
        kb1 = np.full(N_OP_KINDS, -1, np.int64)
        kk1 = np.zeros(N_OP_KINDS, np.int64)
        for kind, b0, w0, b1, w1 in (
                (OP_FP_ACC, B_WEIGHTS, self.k_fw, -1, 0),
                (OP_LIF, B_STATE, self.k_s, -1, 0),
                (OP_BP_DELTA, B_GRADIENTS, self.k_bg, -1, 0),
                (OP_BP_TRANS, B_WEIGHTS, self.k_bw, B_GRADIENTS, self.k_bg),
                (OP_WG_ACC, B_WGRAD, self.k_g, -1, 0),
                (OP_UPD, B_WGRAD, self.k_g, B_WEIGHTS, self.k_uw),
                (OP_UPD_MASTER, B_WGRAD, self.k_m, B_WEIGHTS, self.k_uw)):
            kb0[kind], kk0[kind], kb1[kind], kk1[kind] = b0, w0, b1, w1
        self.kind_tables = (kb0, kk0, kb1, kk1)
        self.kind_masks = kind_bank_masks(self.kind_tables, self.banks)
        # tile kind -> (buffers before its delta length, from it on), as bit masks
        self.tile_buffers = {tk: tuple(self.buffer_mask(ks) for ks in phases)
                             for tk, phases in TILE_OP_KINDS.items()}

    def buffer_mask(self, kinds) -> int:
        """Bit ``b`` set for each SRAM buffer ``b`` that an op of one of ``kinds`` touches."""
        kb0, _, kb1, _ = self.kind_tables
        mask = 0
        for k in kinds:
            for b in (kb0[k], kb1[k]):
                if b >= 0:
                    mask |= 1 << int(b)
        return mask


def kind_bank_masks(kind_tables, banks) -> tuple:
    """``(km0, km1)``, int64[op kinds, max banks]: the banks an op of a kind whose first bank
    in its first (second) buffer is ``j`` occupies there, as a bit mask over all buffers'
    banks (bit = the buffer's first bit + bank, modulo 64). Two ops whose masks share no bit
    touch no common bank, so neither can be denied a port by the other (spec 3.4); a shared
    bit (possibly an alias modulo 64) only means the arbiter must look closer. (Copies of
    masks made once per distinct tables: a few hundred us of Python per chip model.)"""
    key = tuple(tuple(int(x) for x in t) for t in kind_tables) + (tuple(int(x) for x in banks),)
    return tuple(m.copy() for m in _kind_bank_masks(key))


@lru_cache(maxsize=64)
def _kind_bank_masks(key) -> tuple:
    kb0, kk0, kb1, kk1, banks = (np.array(t, np.int64) for t in key)
    first_bit = np.concatenate([[0], np.cumsum(banks)[:-1]])
    masks = []
    for kb, kk in ((kb0, kk0), (kb1, kk1)):
        km = np.zeros((len(kb), int(banks.max())), np.uint64)
        for kind, b in enumerate(kb):
            if b < 0:
                continue
            nb = int(banks[b])
            for j in range(nb):
                bits = 0
                for q in range(int(kk[kind])):
                    bits |= 1 << int((first_bit[b] + (j + q) % nb) % 64)
                km[kind, j] = bits
        masks.append(km.view(np.int64))
    return tuple(masks)


def conv_geometry(layer) -> list:
    """[conv, H, W, C_in, H', W', K, stride, padding] of a weighted layer."""
    if layer.kind == "conv":
        c, h, w = layer.in_shape
        _, ho, wo = layer.out_shape
        return [1, h, w, c, ho, wo, layer.kernel, layer.stride, layer.padding]
    return [0, 1, 1, layer.n_in, 1, 1, 1, 1, 0]


def scan_params(ep: EngineParams, layer, mode: int, n_ch: int, base0: int, base1: int = 0,
                nnz_in: int = 0) -> np.ndarray:
    """The parameter vector of :func:`_scan` for a part of ``layer`` in ``mode``."""
    prm = np.zeros(N_PRM, np.int64)
    prm[:9] = conv_geometry(layer)
    prm[P_NCH] = n_ch
    prm[P_NIN] = layer.n_in
    prm[P_NNZIN] = nnz_in
    c_in = layer.in_channels if layer.kind == "conv" else layer.n_in
    if mode == MODE_FP:
        lanes = ep.fp_lanes
        prm[P_NCHUNK] = cdiv(n_ch, lanes)
        prm[P_BASE0], prm[P_K0], prm[P_BANKS0] = base0, ep.k_fw, ep.banks[B_WEIGHTS]
    elif mode == MODE_BP:
        lanes = ep.bp_lanes
        prm[P_NCHUNK] = cdiv(c_in, lanes)
        prm[P_BASE0], prm[P_K0], prm[P_BANKS0] = base0, ep.k_bw, ep.banks[B_WEIGHTS]
        prm[P_BASE1], prm[P_K1], prm[P_BANKS1] = base1, ep.k_bg, ep.banks[B_GRADIENTS]
    else:
        lanes = ep.wg_lanes
        prm[P_NCHUNK] = cdiv(c_in, lanes) if layer.kind == "conv" else cdiv(nnz_in, lanes)
        prm[P_ASTRIDE] = cdiv(layer.n_in, lanes)
        prm[P_BASE0], prm[P_K0], prm[P_BANKS0] = base0, ep.k_g, ep.banks[B_WGRAD]
    prm[P_LANES] = lanes
    return prm


__all__ = ["EngineParams", "fp_tile", "fp_input_taps", "fp_tile_count", "bp_tile", "wg_tile",
           "upd_tile", "scan_params", "kind_bank_masks",
           "part_slice_bits", "position_counts", "count_bits", "cdiv", "FREE",
           "OP_FP_ACC", "OP_LIF", "OP_BP_DELTA", "OP_BP_TRANS", "OP_WG_ACC", "OP_UPD",
           "OP_UPD_MASTER",
           "N_CNT", "CNT_ADD", "CNT_MAC", "CNT_NEURON", "CNT_SCAN", "CNT_SRAM", "N_BUF",
           "ENGINE_COUNTERS", "MODE_FP", "MODE_BP", "MODE_WG"]
