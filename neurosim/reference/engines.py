"""Engines of the reference model: the cycle-by-cycle program of one tile in isolation
(``docs/microarchitecture.md`` section 2).

A tile's program is a plain list with one entry per cycle of the tile run without
contention: ``None`` for a *free* cycle (no SRAM port needed), or a tuple of SRAM *slots*
``(buffer, bank)`` the cycle needs. The core (``core.py``) steps through the list one entry
per granted cycle. The event counters of spec section 8 that a tile causes do not depend on
timing, so the program carries them too.

Everything here is written to be read against the spec line by line, not to be fast.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..arch import grad_bits, master_bits, value_bits


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Program:
    cycles: list                      # per cycle: None (free) or tuple of (buffer, bank)
    counters: Counter = field(default_factory=Counter)  # (component, action) -> count
    delta_end_index: int = -1         # BP: program index right after the last delta cycle


class Words:
    """Word addresses of one buffer -> the banks a chunk of ``k`` words occupies."""

    def __init__(self, cfg, buffer: str, k: int):
        self.buffer = buffer
        self.banks = cfg.core.sram[buffer].banks
        self.k = k

    def slots(self, word: int) -> tuple:
        return tuple((self.buffer, (word + q) % self.banks) for q in range(self.k))


def words_per_chunk(cfg, lanes: int, buffer: str, bits: int | None = None) -> int:
    """Words of ``buffer`` one chunk of ``lanes`` values touches: the accumulators in wgrad
    are ``core.wg.grad_precision`` wide, everything else ``core.precision`` (spec 2.5a)."""
    if bits is None:
        bits = grad_bits(cfg) if buffer == "wgrad" else value_bits(cfg)
    return ceil_div(lanes * bits, cfg.core.sram[buffer].width_bits)


def scan(program: list, counters: Counter, comp: str, mask: np.ndarray, sw: int,
         chunks_of) -> None:
    """Zero-skipping front end (spec section 2): windows of ``sw`` bits aligned at bit 0;
    a window costs max(1, chunks of its nonzeros) cycles. ``chunks_of(i)`` lists the SRAM
    slots of each chunk of nonzero ``i`` in issue order."""
    n = len(mask)
    for w0 in range(0, n, sw):
        counters[(comp, "scan_windows")] += 1
        window_cycles = []
        for i in range(w0, min(w0 + sw, n)):
            if mask[i]:
                window_cycles.extend(chunks_of(i))
        if window_cycles:
            program.extend(window_cycles)
        else:
            program.append(None)


def conv_out_offsets(layer, y: int, x: int):
    """FP conv: offsets (ky, kx) at which input position (y, x) reaches an output."""
    K, s, P = layer.kernel, layer.stride, layer.padding
    _, Ho, Wo = layer.out_shape
    out = []
    for ky in range(K):
        for kx in range(K):
            ny, nx = y + P - ky, x + P - kx
            if ny < 0 or nx < 0 or ny % s or nx % s:
                continue
            if ny // s < Ho and nx // s < Wo:
                out.append((ky, kx))
    return out


def conv_in_positions(layer, oy: int, ox: int):
    """BP/WG conv: valid offsets (ky, kx) of output (oy, ox) with their input position."""
    K, s, P = layer.kernel, layer.stride, layer.padding
    _, H, W = layer.in_shape
    out = []
    for ky in range(K):
        for kx in range(K):
            y, x = oy * s + ky - P, ox * s + kx - P
            if 0 <= y < H and 0 <= x < W:
                out.append((ky, kx, y, x))
    return out


def part_neurons(layer, part) -> int:
    if layer.kind == "conv":
        return part.n_ch * layer.out_shape[1] * layer.out_shape[2]
    return part.n_ch


def part_weights(layer, part) -> int:
    if layer.kind == "conv":
        return part.n_ch * layer.in_channels * layer.kernel * layer.kernel
    return part.n_ch * layer.n_in


def part_vector(layer, part, layer_bits: np.ndarray) -> np.ndarray:
    """A layer output vector (HWC, all channels) cut to the part's order
    ``(y*W' + x)*n_ch + (c - out_lo)``."""
    if layer.kind == "conv":
        c = layer.out_channels
        return layer_bits.reshape(-1, c)[:, part.out_lo:part.out_hi].reshape(-1)
    return layer_bits[part.out_lo:part.out_hi]


def base(part, tensor: str) -> int:
    return part.tensors[tensor].sram_base


# --------------------------------------------------------------------------- tiles


def fp_program(cfg, layer, part, core: int, in_mask: np.ndarray) -> Program:
    """FP(l, p, b, t), spec 2.1. ``in_mask``: bool (n_in,) nonzero inputs at (b, t)."""
    fp = cfg.core.fp
    L = fp.lanes
    comp = f"core{core}.fp"
    cnt = Counter()
    prog: list = [None] * fp.pipeline_depth
    weights = Words(cfg, "weights", words_per_chunk(cfg, L, "weights"))
    J = ceil_div(part.n_ch, L)
    base_w = base(part, "W")

    def chunk(word, j):
        cnt[(comp, "add_ops")] += min(L, part.n_ch - j * L)
        cnt[(f"core{core}.sram.weights", "read_words")] += weights.k
        return weights.slots(word)

    if layer.kind == "linear":
        def chunks_of(i):
            return [chunk(base_w + (i * J + j) * weights.k, j) for j in range(J)]
    else:
        c_in, _, w_in = layer.in_shape
        K = layer.kernel

        def chunks_of(i):
            ci, x, y = i % c_in, (i // c_in) % w_in, i // (c_in * w_in)
            return [chunk(base_w + (((ci * K + ky) * K + kx) * J + j) * weights.k, j)
                    for ky, kx in conv_out_offsets(layer, y, x) for j in range(J)]

    scan(prog, cnt, comp, in_mask, fp.scan_width, chunks_of)
    # LIF: neuron_lanes neurons per cycle, reading and writing the state buffer.
    NL = fp.neuron_lanes
    state = Words(cfg, "state", words_per_chunk(cfg, NL, "state"))
    n_part = part_neurons(layer, part)
    for m in range(ceil_div(n_part, NL)):
        prog.append(state.slots(base(part, "U") + m * state.k))
        cnt[(comp, "neuron_updates")] += min(NL, n_part - m * NL)
        cnt[(f"core{core}.sram.state", "read_words")] += state.k
        cnt[(f"core{core}.sram.state", "write_words")] += state.k
    cnt[(comp, "tiles")] += 1
    return Program(prog, cnt)


def loss_program(cfg, out_layer, core: int, time_steps: int) -> Program:
    """LOSS(b), spec 2.2: free cycles only."""
    bp = cfg.core.bp
    n = bp.pipeline_depth + time_steps * ceil_div(out_layer.n_out, bp.lanes)
    cnt = Counter({(f"core{core}.bp", "mac_ops"): time_steps * out_layer.n_out,
                   (f"core{core}.bp", "tiles"): 1})
    return Program([None] * n, cnt)


def bp_program(cfg, layer, part, core: int, passes: int, gu_part: np.ndarray,
               transposed: bool) -> Program:
    """BP(l, p, b, t), spec 2.3. ``passes``: P partial g(S) vectors received;
    ``gu_part``: bool (n_part,) nonzero g(U[t]) in part order."""
    bp = cfg.core.bp
    L = bp.lanes
    comp = f"core{core}.bp"
    cnt = Counter()
    prog: list = [None] * bp.pipeline_depth
    grads = Words(cfg, "gradients", words_per_chunk(cfg, L, "gradients"))
    gname = f"core{core}.sram.gradients"
    n_part = part_neurons(layer, part)
    for _ in range(passes):
        for m in range(ceil_div(n_part, L)):
            prog.append(grads.slots(base(part, "GU") + m * grads.k))
            cnt[(comp, "mac_ops")] += min(L, n_part - m * L)
            cnt[(gname, "read_words")] += grads.k
            cnt[(gname, "write_words")] += grads.k
    delta_end = len(prog)
    if transposed:
        weights = Words(cfg, "weights", words_per_chunk(cfg, L, "weights"))
        base_w, base_gs = base(part, "W"), base(part, "GS")

        def chunk(w_word, g_word, active):
            cnt[(comp, "mac_ops")] += active
            cnt[(f"core{core}.sram.weights", "read_words")] += weights.k
            cnt[(gname, "read_words")] += grads.k
            cnt[(gname, "write_words")] += grads.k
            # Slot order = the order "first buffer whose bank was full" is judged in.
            return weights.slots(w_word) + grads.slots(g_word)

        if layer.kind == "linear":
            n_in = layer.n_in
            J = ceil_div(n_in, L)

            def chunks_of(d):
                return [chunk(base_w + (d * J + j) * weights.k, base_gs + j * grads.k,
                              min(L, n_in - j * L)) for j in range(J)]
        else:
            c_in, _, w_in = layer.in_shape
            _, _, w_out = layer.out_shape
            K = layer.kernel
            J = ceil_div(c_in, L)

            def chunks_of(d):
                co, pos = d % part.n_ch, d // part.n_ch
                oy, ox = pos // w_out, pos % w_out
                return [chunk(base_w + (((co * K + ky) * K + kx) * J + j) * weights.k,
                              base_gs + ((y * w_in + x) * J + j) * grads.k,
                              min(L, c_in - j * L))
                        for ky, kx, y, x in conv_in_positions(layer, oy, ox)
                        for j in range(J)]

        scan(prog, cnt, comp, gu_part, bp.scan_width, chunks_of)
    cnt[(comp, "tiles")] += 1
    return Program(prog, cnt, delta_end_index=delta_end)


def wg_program(cfg, layer, part, core: int, in_mask: np.ndarray,
               gu_part: np.ndarray) -> Program:
    """WG(l, p, b, t), spec 2.4."""
    wg = cfg.core.wg
    L = wg.lanes
    comp = f"core{core}.wg"
    cnt = Counter()
    prog: list = [None] * wg.pipeline_depth
    # Index: the front end compacts the nonzero inputs, scan_width bits per cycle.
    n_index = ceil_div(layer.n_in, wg.scan_width)
    prog.extend([None] * n_index)
    cnt[(comp, "scan_windows")] += n_index
    wgrad = Words(cfg, "wgrad", words_per_chunk(cfg, L, "wgrad"))
    base_gw = base(part, "GW")

    def chunk(word, active):
        cnt[(comp, "add_ops")] += active
        cnt[(f"core{core}.sram.wgrad", "read_words")] += wgrad.k
        cnt[(f"core{core}.sram.wgrad", "write_words")] += wgrad.k
        return wgrad.slots(word)

    if layer.kind == "linear":
        nnz_in = int(np.count_nonzero(in_mask))
        J_all = ceil_div(layer.n_in, L)

        def chunks_of(d):
            return [chunk(base_gw + (d * J_all + j) * wgrad.k, min(L, nnz_in - j * L))
                    for j in range(ceil_div(nnz_in, L))]
    else:
        c_in, _, w_in = layer.in_shape
        _, _, w_out = layer.out_shape
        K = layer.kernel
        J_all = ceil_div(c_in, L)
        nnz_at = in_mask.reshape(-1, c_in).sum(axis=1)  # nonzero channels per position

        def chunks_of(d):
            co, pos = d % part.n_ch, d // part.n_ch
            oy, ox = pos // w_out, pos % w_out
            out = []
            for ky, kx, y, x in conv_in_positions(layer, oy, ox):
                nnz_c = int(nnz_at[y * w_in + x])
                for j in range(ceil_div(nnz_c, L)):
                    out.append(chunk(base_gw + (((co * K + ky) * K + kx) * J_all + j) * wgrad.k,
                                     min(L, nnz_c - j * L)))
            return out

    scan(prog, cnt, comp, gu_part, wg.scan_width, chunks_of)
    cnt[(comp, "tiles")] += 1
    return Program(prog, cnt)


def upd_program(cfg, layer, part, core: int, replicas: int, momentum: bool) -> Program:
    """UPD(l, p), spec 2.5: ``replicas + momentum`` passes that read g(W) and update W,
    then, with FP32 master weights (2.5a), one pass that updates the master copy and writes
    the rounded weights."""
    wg = cfg.core.wg
    L = wg.lanes
    comp = f"core{core}.wg"
    cnt = Counter()
    prog: list = [None] * wg.pipeline_depth
    wgrad = Words(cfg, "wgrad", words_per_chunk(cfg, L, "wgrad"))
    weights = Words(cfg, "weights", words_per_chunk(cfg, L, "weights"))
    n_w = part_weights(layer, part)
    per_pass = ceil_div(n_w, L)
    for i in range((replicas + int(momentum)) * per_pass):
        m = i % per_pass
        prog.append(wgrad.slots(base(part, "GW") + m * wgrad.k)
                    + weights.slots(base(part, "W") + m * weights.k))
        cnt[(comp, "mac_ops")] += min(L, n_w - m * L)
        cnt[(f"core{core}.sram.wgrad", "read_words")] += wgrad.k
        cnt[(f"core{core}.sram.weights", "read_words")] += weights.k
        cnt[(f"core{core}.sram.weights", "write_words")] += weights.k
    if master_bits(cfg):
        master = Words(cfg, "wgrad", words_per_chunk(cfg, L, "wgrad", master_bits(cfg)))
        for m in range(per_pass):
            prog.append(master.slots(base(part, "WM") + m * master.k)
                        + weights.slots(base(part, "W") + m * weights.k))
            cnt[(f"core{core}.sram.wgrad", "read_words")] += master.k
            cnt[(f"core{core}.sram.wgrad", "write_words")] += master.k
            cnt[(f"core{core}.sram.weights", "write_words")] += weights.k
    cnt[(comp, "tiles")] += 1
    return Program(prog, cnt)
