"""Engine tile kernels: hand-worked cycle counts (spec section 2) and brute-force checks of the
op streams (HWC order, valid conv offsets, part-local neuron order, bank addresses)."""
import math

import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.hw import engines as E
from neurosim.workload.network import Edge, HwLayer
from neurosim.workload.trace import pack_bits

EMPTY = np.zeros(0, np.int64)


def arch(*sets):
    return load_arch("paper-20core", list(sets))


def conv(c_in, h, w, c_out, k=3, s=1, p=1):
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return HwLayer(1, "c", "conv", (c_in, h, w), (c_out, ho, wo), k, s, p, True,
                   (Edge("x", (c_in, h, w)),))


def linear(n_in, n_out):
    return HwLayer(1, "f", "linear", (n_in,), (n_out,), edges=(Edge("x", (n_in,)),))


def run_fp(ep, layer, bits, n_ch, base_W=0, base_U=0, emit=False):
    prm = E.scan_params(ep, layer, E.MODE_FP, n_ch, base_W)
    n_part = n_ch * (layer.out_shape[1] * layer.out_shape[2] if layer.kind == "conv" else 1)
    cnt = np.zeros(E.N_CNT, np.int64)
    args = (pack_bits(bits), layer.n_in, ep.fp_sw, ep.fp_depth, prm, ep.neuron_lanes, n_part,
            ep.k_s, base_U, int(ep.banks[E.B_STATE]))
    n = E.fp_tile(*args, False, EMPTY, cnt)
    # the simulator's counting path: the input's taps, shared by all parts of the layer
    taps, idle = E.fp_input_taps(pack_bits(bits), layer.n_in, ep.fp_sw, prm)
    cnt_shared = np.zeros(E.N_CNT, np.int64)
    assert E.fp_tile_count(taps, idle, layer.n_in, ep.fp_sw, ep.fp_depth, prm,
                           ep.neuron_lanes, n_part, ep.k_s, cnt_shared) == n
    assert np.array_equal(cnt_shared, cnt)
    if not emit:
        return n, cnt
    codes = np.empty(n, np.int64)
    cnt2 = np.zeros(E.N_CNT, np.int64)
    assert E.fp_tile(*args, True, codes, cnt2) == n
    assert np.array_equal(cnt, cnt2)
    return n, cnt, codes


def run_bp(ep, layer, gu_bits, n_ch, passes=1, transposed=True, base_W=0, base_GS=0, base_GU=0,
           emit=False):
    prm = E.scan_params(ep, layer, E.MODE_BP, n_ch, base_W, base_GS)
    cnt = np.zeros(E.N_CNT, np.int64)
    args = (pack_bits(gu_bits), len(gu_bits), ep.bp_sw, ep.bp_depth, passes, transposed, prm,
            base_GU)
    n, dl = E.bp_tile(*args, False, EMPTY, cnt)
    if not emit:
        return n, dl, cnt
    codes = np.empty(n, np.int64)
    cnt2 = np.zeros(E.N_CNT, np.int64)
    assert E.bp_tile(*args, True, codes, cnt2) == (n, dl)
    assert np.array_equal(cnt, cnt2)
    return n, dl, cnt, codes


def run_wg(ep, layer, gu_bits, in_bits, n_ch, base_GW=0, emit=False):
    words_in = pack_bits(in_bits)
    nnz = int(in_bits.sum())
    prm = E.scan_params(ep, layer, E.MODE_WG, n_ch, base_GW, nnz_in=nnz)
    if layer.kind == "conv":
        c, h, w = layer.in_shape
        nnzc = E.position_counts(words_in, h * w, c)
    else:
        nnzc = prm
    cnt = np.zeros(E.N_CNT, np.int64)
    args = (pack_bits(gu_bits), len(gu_bits), layer.n_in, ep.wg_sw, ep.wg_depth, prm, nnzc)
    n = E.wg_tile(*args, False, EMPTY, cnt)
    if not emit:
        return n, cnt
    codes = np.empty(n, np.int64)
    assert E.wg_tile(*args, True, codes, np.zeros(E.N_CNT, np.int64)) == n
    return n, cnt, codes


# --------------------------------------------------------------------------- hand-worked


def test_fp_linear_example_of_spec_2_6_is_14_cycles():
    # n_in 128, n_ch 64, fp.lanes 32, scan 64, depth 4, neuron_lanes 16, nonzeros {3, 70, 71}:
    # fill 4 + window 0 (one nonzero, 2 chunks) 2 + window 1 (two nonzeros) 4 + LIF 64/16 = 4
    ep = E.EngineParams(arch("core.fp.lanes=32", "core.fp.scan_width=64",
                             "core.fp.pipeline_depth=4", "core.fp.neuron_lanes=16"))
    bits = np.zeros(128, bool)
    bits[[3, 70, 71]] = True
    n, cnt, codes = run_fp(ep, linear(128, 64), bits, 64, emit=True)
    assert n == 14
    assert cnt[E.CNT_ADD] == 3 * 64 and cnt[E.CNT_NEURON] == 64 and cnt[E.CNT_SCAN] == 2
    # k_fw = 32 lanes * 16 b / 256 b = 2 words; input 3 chunk 0 at word (3*2+0)*2 = 12
    assert [int(c & 0xFFFFFF) for c in codes[4:6]] == [12 % 16, 14 % 16]
    assert cnt[E.CNT_SRAM + 2 * E.B_WEIGHTS] == 6 * 2


def test_small_conv_fp_tile():
    # 1x3x3 input, 3x3 kernel, stride 1, padding 1, 2 output channels (1 chunk per offset).
    # Nonzero inputs (0,0) -> bit 0 and (1,1) -> bit 4 (HWC, C = 1). Valid offsets:
    # (0,0): oy = 0+1-ky in [0,3) for ky in {0,1}; same for x -> 4; (1,1): all 9.
    # scan width 4: window 0 (bits 0-3) 4 cycles, window 1 (bits 4-7) 9, window 2 (bit 8,
    # empty) 1; fill 4; LIF 2*9 = 18 neurons / 16 lanes = 2 -> 4 + 4 + 9 + 1 + 2 = 20.
    ep = E.EngineParams(arch("core.fp.scan_width=4"))
    bits = np.zeros(9, bool)
    bits[[0, 4]] = True
    n, cnt = run_fp(ep, conv(1, 3, 3, 2), bits, 2)
    assert n == 20
    assert cnt[E.CNT_ADD] == (4 + 9) * 2 and cnt[E.CNT_SCAN] == 3


def test_bp_tile_delta_and_transposed():
    # linear 40 -> 20, bp.lanes 16, scan 8, depth 6, one partial g(S) (P = 1).
    # delta: ceil(20/16) = 2 cycles. transposed: windows of 8 over 20 deltas, nonzeros
    # {1, 2, 17}, each ceil(40/16) = 3 chunks: window 0: 6, window 1 (empty): 1, window 2: 3.
    # length = 6 + 2 + 6 + 1 + 3 = 18; the delta phase ends after 6 + 2 = 8 cycles.
    ep = E.EngineParams(arch("core.bp.scan_width=8", "core.bp.pipeline_depth=6"))
    gu = np.zeros(20, bool)
    gu[[1, 2, 17]] = True
    n, dl, cnt = run_bp(ep, linear(40, 20), gu, 20)
    assert (n, dl) == (18, 8)
    assert cnt[E.CNT_MAC] == 20 + 3 * 40 and cnt[E.CNT_SCAN] == 3
    # three partial vectors: 3 delta passes; without a transposed phase only fill + delta
    assert run_bp(ep, linear(40, 20), gu, 20, passes=3)[:2] == (22, 12)
    assert run_bp(ep, linear(40, 20), gu, 20, transposed=False)[:2] == (8, 8)


def test_wg_tile():
    # linear 40 -> 20, wg.lanes 16, scan 8, depth 4, 5 nonzero inputs: each nonzero delta
    # costs ceil(5/16) = 1 chunk. index ceil(40/8) = 5; windows of 8 over 20 deltas with
    # nonzeros {1, 2, 17}: 2 + 1 (empty) + 1 -> 4 + 5 + 4 = 13.
    ep = E.EngineParams(arch("core.wg.scan_width=8", "core.wg.pipeline_depth=4"))
    gu = np.zeros(20, bool)
    gu[[1, 2, 17]] = True
    x = np.zeros(40, bool)
    x[[0, 9, 10, 30, 39]] = True
    n, cnt = run_wg(ep, linear(40, 20), gu, x, 20)
    assert n == 13
    assert cnt[E.CNT_ADD] == 3 * 5 and cnt[E.CNT_SCAN] == 5 + 3


def test_upd_tile():
    # n_w = 20*40 = 800 weights, wg.lanes 16: 50 cycles per sweep, depth 4.
    ep = E.EngineParams(arch())
    cnt = np.zeros(E.N_CNT, np.int64)
    args = (4, 1, 800, 16, 0, ep.k_g, 16, 0, ep.k_uw, 16, 0, 0)
    assert E.upd_tile(*args, False, EMPTY, cnt) == 54
    assert cnt[E.CNT_MAC] == 800
    # two replicas summed and momentum: (2 + 1) sweeps
    args = (4, 3, 800, 16, 0, ep.k_g, 16, 0, ep.k_uw, 16, 0, 0)
    assert E.upd_tile(*args, False, EMPTY, np.zeros(E.N_CNT, np.int64)) == 4 + 150
    # FP32 master weights (k_m = 2 words per lane group): one more sweep that reads and
    # writes WM (2 words each per cycle) and writes W, so 4 + 2 * 50 cycles.
    cnt = np.zeros(E.N_CNT, np.int64)
    args = (4, 1, 800, 16, 0, ep.k_g, 16, 0, ep.k_uw, 16, 8, 2)
    assert E.upd_tile(*args, False, EMPTY, cnt) == 4 + 100
    assert cnt[E.CNT_SRAM + 2 * E.B_WGRAD] == 50 * ep.k_g + 50 * 2
    assert cnt[E.CNT_SRAM + 2 * E.B_WGRAD + 1] == 50 * 2
    codes = np.empty(104, np.int64)
    E.upd_tile(*args, True, codes, np.zeros(E.N_CNT, np.int64))
    assert_declared_kinds("UPD", codes, len(codes))


# --------------------------------------------------------------------------- brute force


def decode(ep, code):
    """Slots of an op code: None (free) or sorted [(buffer, bank)]."""
    if code < 0:
        return None
    kb0, kk0, kb1, kk1 = ep.kind_tables
    kind = code >> 48
    banks = (code & 0xFFFFFF, (code >> 24) & 0xFFFFFF)
    out = []
    for b, k, first in ((kb0[kind], kk0[kind], banks[0]), (kb1[kind], kk1[kind], banks[1])):
        if b >= 0:
            out += [(int(b), int((first + q) % ep.banks[b])) for q in range(k)]
    return out


def slots(ep, buf, addr, k):
    return [(buf, (addr + q) % int(ep.banks[buf])) for q in range(k)]


def windows(n, sw, bits, per_nonzero):
    """Spec 2: each window costs max(1, chunks); chunks issue in nonzero order."""
    ops = []
    for w in range(math.ceil(n / sw)):
        win = []
        for i in range(w * sw, min((w + 1) * sw, n)):
            if bits[i]:
                win += per_nonzero(i)
        ops += win if win else [None]
    return ops


def bf_fp(ep, layer, bits, n_ch, base_W, base_U):
    L, k = ep.fp_lanes, ep.k_fw
    nc = math.ceil(n_ch / L)
    if layer.kind == "conv":
        C, H, W = layer.in_shape
        _, Ho, Wo = layer.out_shape
        K, s, P = layer.kernel, layer.stride, layer.padding

        def per(i):
            y, x, ci = i // C // W, i // C % W, i % C
            out = []
            for ky in range(K):
                for kx in range(K):
                    # valid when some output (oy, ox) reads input (y, x) through (ky, kx)
                    if any(oy * s + ky - P == y and ox * s + kx - P == x
                           for oy in range(Ho) for ox in range(Wo)):
                        out += [slots(ep, E.B_WEIGHTS,
                                      base_W + (((ci * K + ky) * K + kx) * nc + j) * k, k)
                                for j in range(nc)]
            return out
        n_part = n_ch * Ho * Wo
    else:
        def per(i):
            return [slots(ep, E.B_WEIGHTS, base_W + (i * nc + j) * k, k) for j in range(nc)]
        n_part = n_ch
    ops = [None] * ep.fp_depth + windows(layer.n_in, ep.fp_sw, bits, per)
    ops += [slots(ep, E.B_STATE, base_U + m * ep.k_s, ep.k_s)
            for m in range(math.ceil(n_part / ep.neuron_lanes))]
    return ops


def to_part(full_bits, layer, lo, hi):
    """Part-local neuron order (y*W'+x)*n_ch + (c-lo), from the HWC layer vector."""
    if layer.kind != "conv":
        return full_bits[lo:hi].copy()
    C, Ho, Wo = layer.out_shape
    out = np.zeros(Ho * Wo * (hi - lo), bool)
    for y in range(Ho):
        for x in range(Wo):
            for c in range(lo, hi):
                out[(y * Wo + x) * (hi - lo) + c - lo] = full_bits[(y * Wo + x) * C + c]
    return out


def conv_taps(layer, d, n_ch):
    """(co, ky, kx, y, x) of the kernel taps of output delta ``d`` that land inside the input."""
    C, H, W = layer.in_shape
    _, Ho, Wo = layer.out_shape
    K, s, P = layer.kernel, layer.stride, layer.padding
    co, pos = d % n_ch, d // n_ch
    oy, ox = pos // Wo, pos % Wo
    for ky in range(K):
        for kx in range(K):
            y, x = oy * s + ky - P, ox * s + kx - P
            if 0 <= y < H and 0 <= x < W:
                yield co, ky, kx, y, x


def bf_bp(ep, layer, part_bits, n_ch, base_W, base_GS, base_GU):
    L = ep.bp_lanes
    n_part = len(part_bits)
    ops = [None] * ep.bp_depth + [slots(ep, E.B_GRADIENTS, base_GU + m * ep.k_bg, ep.k_bg)
                                  for m in range(math.ceil(n_part / L))]
    if layer.kind == "conv":
        C, H, W = layer.in_shape
        K = layer.kernel
        nc = math.ceil(C / L)

        def per(d):
            return [slots(ep, E.B_WEIGHTS, base_W + (((co * K + ky) * K + kx) * nc + j)
                          * ep.k_bw, ep.k_bw)
                    + slots(ep, E.B_GRADIENTS, base_GS + ((y * W + x) * nc + j) * ep.k_bg,
                            ep.k_bg)
                    for co, ky, kx, y, x in conv_taps(layer, d, n_ch) for j in range(nc)]
    else:
        nc = math.ceil(layer.n_in / L)

        def per(d):
            return [slots(ep, E.B_WEIGHTS, base_W + (d * nc + j) * ep.k_bw, ep.k_bw)
                    + slots(ep, E.B_GRADIENTS, base_GS + j * ep.k_bg, ep.k_bg) for j in range(nc)]
    return ops + windows(n_part, ep.bp_sw, part_bits, per)


def bf_wg(ep, layer, part_bits, in_bits, n_ch, base_GW):
    L, k = ep.wg_lanes, ep.k_g
    n_part = len(part_bits)
    ops = [None] * (ep.wg_depth + math.ceil(layer.n_in / ep.wg_sw))
    if layer.kind == "conv":
        C, H, W = layer.in_shape
        K = layer.kernel
        nc = math.ceil(C / L)

        def per(d):
            out = []
            for co, ky, kx, y, x in conv_taps(layer, d, n_ch):
                nz = sum(in_bits[(y * W + x) * C + c] for c in range(C))
                out += [slots(ep, E.B_WGRAD, base_GW + (((co * K + ky) * K + kx) * nc + j) * k, k)
                        for j in range(math.ceil(nz / L))]
            return out
    else:
        nnz = int(in_bits.sum())
        stride = math.ceil(layer.n_in / L)

        def per(d):
            return [slots(ep, E.B_WGRAD, base_GW + (d * stride + j) * k, k)
                    for j in range(math.ceil(nnz / L))]
    return ops + windows(n_part, ep.wg_sw, part_bits, per)


def random_case(rng):
    sets = [f"core.fp.lanes={rng.choice([4, 8, 16, 32])}",
            f"core.bp.lanes={rng.choice([4, 8, 16])}",
            f"core.wg.lanes={rng.choice([2, 4, 16])}",
            f"core.fp.scan_width={rng.choice([1, 5, 16, 64, 100])}",
            f"core.bp.scan_width={rng.choice([3, 8, 64])}",
            f"core.wg.scan_width={rng.choice([2, 7, 64])}",
            f"core.fp.neuron_lanes={rng.choice([4, 16])}",
            f"core.fp.pipeline_depth={rng.integers(0, 4)}",
            f"core.sram.weights.banks={rng.choice([4, 6, 8, 16])}",
            f"core.sram.weights.width_bits={rng.choice([128, 256])}",
            f"core.sram.gradients.banks={rng.choice([4, 6, 8])}",
            f"core.sram.gradients.width_bits={rng.choice([64, 256])}",
            f"core.sram.wgrad.banks={rng.choice([8, 12, 16])}",
            f"core.sram.state.banks={rng.choice([5, 8])}"]
    ep = E.EngineParams(arch(*sets))
    if rng.random() < 0.7:
        k = int(rng.choice([1, 2, 3]))
        layer = conv(int(rng.integers(1, 5)), int(rng.integers(k, 7)), int(rng.integers(k, 7)),
                     int(rng.integers(1, 9)), k, int(rng.choice([1, 2])),
                     int(rng.integers(0, k)))
    else:
        layer = linear(int(rng.integers(1, 70)), int(rng.integers(1, 40)))
    return ep, layer


@pytest.mark.parametrize("seed", range(40))
def test_kernels_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    ep, layer = random_case(rng)
    C_out = layer.out_shape[0]
    lo = int(rng.integers(0, C_out))
    hi = int(rng.integers(lo + 1, C_out + 1))
    n_ch = hi - lo
    in_bits = rng.random(layer.n_in) < rng.choice([0.05, 0.3, 0.8])
    full_gu = rng.random(layer.n_out) < rng.choice([0.05, 0.3, 0.8])
    part_gu = to_part(full_gu, layer, lo, hi)
    bases = [int(v) for v in rng.integers(0, 50, 4)]
    # part-order slicing kernel
    positions = layer.out_shape[1] * layer.out_shape[2] if layer.kind == "conv" else 1
    channels = C_out if layer.kind == "conv" else layer.n_out
    got = E.part_slice_bits(pack_bits(full_gu), layer.n_out, positions, channels, lo, hi)
    assert np.array_equal(got, pack_bits(part_gu))

    _, _, codes = run_fp(ep, layer, in_bits, n_ch, bases[0], bases[1], emit=True)
    assert [decode(ep, c) for c in codes] == bf_fp(ep, layer, in_bits, n_ch, bases[0], bases[1])
    assert_declared_kinds("FP", codes, len(codes))
    _, dl, _, codes = run_bp(ep, layer, part_gu, n_ch, base_W=bases[0], base_GS=bases[2],
                             base_GU=bases[3], emit=True)
    want = bf_bp(ep, layer, part_gu, n_ch, bases[0], bases[2], bases[3])
    assert [decode(ep, c) for c in codes] == want
    assert dl == ep.bp_depth + math.ceil(len(part_gu) / ep.bp_lanes)
    assert_declared_kinds("BP", codes, dl)
    _, _, codes = run_wg(ep, layer, part_gu, in_bits, n_ch, bases[1], emit=True)
    assert [decode(ep, c) for c in codes] == bf_wg(ep, layer, part_gu, in_bits, n_ch, bases[1])
    assert_declared_kinds("WG", codes, len(codes))


def assert_declared_kinds(tile_kind, codes, dl):
    """The op kinds of a tile's stream before and from ``dl`` are among those
    ``E.TILE_OP_KINDS`` declares (the SRAM arbiter skips co-simulating tiles whose declared
    buffers are disjoint)."""
    for part, declared in zip((codes[:dl], codes[dl:]), E.TILE_OP_KINDS[tile_kind]):
        assert {int(c) >> 48 for c in part if c >= 0} <= set(declared)


def test_closed_form_tap_counts_equal_the_validity_loop():
    """The closed-form valid kernel offsets (what counting and emission walk) are exactly
    those ``_valid`` accepts one offset at a time, and their count is the range's length,
    both directions, over strides, paddings and borders."""
    for forward in (True, False):
        for K in range(1, 6):
            for stride in range(1, 4):
                step = stride if forward else 1
                for pad in range(K):
                    for limit in range(1, 8):
                        for coord in range(12):
                            want = [kk for kk in range(K)
                                    if E._valid(coord, pad, kk, stride, limit, forward)]
                            first, last = E._valid_range(coord, pad, K, stride, limit,
                                                         forward)
                            assert list(range(first, last + 1, step)) == want
                            assert E._range_len(first, last, step) == len(want)
