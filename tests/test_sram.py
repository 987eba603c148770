"""SRAM bank arbitration between a core's engines (spec 3.4): a hand-worked FP/BP conflict,
and the lazy, speculative arbiter against a plain cycle-by-cycle replay."""
import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.hw import engines as E
from neurosim.hw.sram import CoreArbiter, TileExec
from neurosim.workload.network import Edge, HwLayer
from neurosim.workload.trace import pack_bits

EMPTY = np.zeros(0, np.int64)


def stream_buffers(ep, codes, dl):
    """The buffers (masks) a stream's ops touch before and from ``dl``: what
    ``EngineParams.tile_buffers`` declares, but exact."""
    kinds = [{int(c) >> 48 for c in part if c >= 0} for part in (codes[:dl], codes[dl:])]
    return tuple(ep.buffer_mask(k) for k in kinds)


def drive(ep, tiles, built=None):
    """Run tiles [(engine, start, codes, delta_len)] on one arbiter the way the DES does:
    start tiles at their cycle, otherwise jump to the predicted milestone. ``built``: a list
    that gets the engine of each op stream the arbiter asks for."""
    arb = CoreArbiter(ep)
    ends, deltas, execs = {}, {}, {}
    pending = sorted(tiles, key=lambda x: x[1])
    while True:
        pred = arb.predict()
        nxt = pending[0][1] if pending else None
        if pred is None and nxt is None:
            break
        if nxt is not None and (pred is None or nxt <= pred):
            e, start, codes, dl = pending.pop(0)

            def materialize(out, codes=codes, e=e):
                if built is not None:
                    built.append(e)
                out[:len(codes)] = codes
                return out[:len(codes)]
            te = TileExec(e, len(codes), dl, stream_buffers(ep, codes, dl), materialize,
                          lambda c, e=e: deltas.__setitem__(e, c),
                          lambda c, e=e: ends.__setitem__(e, c))
            execs[e] = te
            arb.start(te, start)
        else:
            arb.sync_to(pred)
    return ends, deltas, {e: list(te.stalls) for e, te in execs.items()}


def replay(ep, tiles):
    """Spec 3.4 written out plainly, one cycle at a time."""
    kb0, kk0, kb1, kk1 = ep.kind_tables
    state = {e: [start, codes, 0] for e, start, codes, _ in tiles}
    stalls = {e: [0] * E.N_BUF for e in state}
    ends = {}
    ptr = 0
    c = 0
    while len(ends) < len(state):
        used = {}
        denied, first = False, None
        for e in [(ptr + r) % 3 for r in range(3)]:
            if e not in state or e in ends or state[e][0] > c:
                continue
            code = int(state[e][1][state[e][2]])
            if code < 0:
                state[e][2] += 1
            else:
                kind = code >> 48
                want = []
                for b, k, first_bank in ((kb0[kind], kk0[kind], code & 0xFFFFFF),
                                         (kb1[kind], kk1[kind], (code >> 24) & 0xFFFFFF)):
                    if b >= 0:
                        want += [(int(b), int((first_bank + q) % ep.banks[b])) for q in range(k)]
                full = [s for s in want if used.get(s, 0) >= ep.ports[s[0]]]
                if full:
                    stalls[e][full[0][0]] += 1
                    denied = True
                else:
                    for s in want:
                        used[s] = used.get(s, 0) + 1
                    state[e][2] += 1
                    if first is None:
                        first = e
            if state[e][2] == len(state[e][1]):
                ends[e] = c + 1
        if denied:
            ptr = (first + 1) % 3
        c += 1
    return ends, stalls


def test_fp_bp_bank_conflict_hand_worked():
    # One weights bank with one port, so every two weight accesses in a cycle conflict.
    # FP: linear, 1 input (nonzero), 48 outputs on 16 lanes -> 3 weight chunks (k_fw = 1),
    #     then LIF: 48 neurons / 64 neuron lanes = 1 state cycle; no fill.
    # BP: linear 48 -> 16, 1 delta cycle (gradients), nonzero delta 0 -> ceil(48/16) = 3
    #     transposed chunks, each weights + gradients; no fill. Both start at cycle 0.
    # cycle 0, order FP,BP,WG: FP weights ok; BP delta (gradients) ok.          ptr stays 0
    # cycle 1, order FP,BP,WG: FP weights ok; BP weights busy -> BP stalls.     ptr -> 1
    # cycle 2, order BP,WG,FP: BP weights ok; FP weights busy -> FP stalls.     ptr -> 2
    # cycle 3, order WG,FP,BP: FP weights (3rd chunk) ok; BP stalls.            ptr -> 1
    # cycle 4, order BP,WG,FP: BP weights ok; FP LIF (state) ok.
    # cycle 5: BP weights (3rd chunk) ok.
    # FP: 4 cycles of work + 1 stall, ends at 5; BP: 4 + 2 stalls, ends at 6.
    cfg = load_arch("paper-20core", ["core.fp.lanes=16", "core.fp.neuron_lanes=64",
                                     "core.fp.pipeline_depth=0", "core.bp.pipeline_depth=0",
                                     "core.fp.scan_width=1", "core.bp.scan_width=16",
                                     "core.sram.weights.banks=1",
                                     "core.sram.weights.size_kib=64"])
    ep = E.EngineParams(cfg)
    fc = HwLayer(1, "f", "linear", (1,), (48,), edges=(Edge("x", (1,)),))
    prm = E.scan_params(ep, fc, E.MODE_FP, 48, 0)
    args = (pack_bits(np.ones(1, bool)), 1, ep.fp_sw, ep.fp_depth, prm, ep.neuron_lanes, 48,
            ep.k_s, 0, int(ep.banks[E.B_STATE]))
    n_fp = E.fp_tile(*args, False, EMPTY, np.zeros(E.N_CNT, np.int64))
    fp_codes = np.empty(n_fp, np.int64)
    E.fp_tile(*args, True, fp_codes, np.zeros(E.N_CNT, np.int64))
    assert n_fp == 4
    bl = HwLayer(2, "g", "linear", (48,), (16,), edges=(Edge("f", (48,)),))
    prm = E.scan_params(ep, bl, E.MODE_BP, 16, 0, 0)
    gu = np.zeros(16, bool)
    gu[0] = True
    args = (pack_bits(gu), 16, ep.bp_sw, ep.bp_depth, 1, True, prm, 0)
    n_bp, dl = E.bp_tile(*args, False, EMPTY, np.zeros(E.N_CNT, np.int64))
    bp_codes = np.empty(n_bp, np.int64)
    E.bp_tile(*args, True, bp_codes, np.zeros(E.N_CNT, np.int64))
    assert (n_bp, dl) == (4, 1)
    tiles = [(0, 0, fp_codes, n_fp), (1, 0, bp_codes, dl)]
    ends, deltas, stalls = drive(ep, tiles)
    assert ends == {0: 5, 1: 6}
    assert deltas[1] == 1
    assert stalls[0][E.B_WEIGHTS] == 1 and stalls[1][E.B_WEIGHTS] == 2
    assert sum(stalls[0]) == 1 and sum(stalls[1]) == 2
    assert replay(ep, tiles)[0] == ends


def random_codes(rng, ep, n, kinds=None):
    """``n`` random ops (a fifth free), of random kinds or of the given ones."""
    kinds = rng.integers(0, E.N_OP_KINDS, n) if kinds is None else rng.choice(kinds, n)
    codes = np.empty(n, np.int64)
    kb0, _, kb1, _ = ep.kind_tables
    for i, k in enumerate(kinds):
        if k == 0 or rng.random() < 0.2:
            codes[i] = -1
            continue
        b0 = int(rng.integers(0, ep.banks[kb0[k]]))
        b1 = int(rng.integers(0, ep.banks[kb1[k]])) if kb1[k] >= 0 else 0
        codes[i] = (int(k) << 48) | (b1 << 24) | b0
    return codes


def assert_arbiter_matches_replay(rng, ep, max_len, p_engine):
    """Random op streams on each engine (with probability ``p_engine``), random starts: the
    lazy arbiter's tile ends and stalls equal the plain replay's."""
    tiles = []
    for e in range(3):
        if rng.random() < p_engine:
            n = int(rng.integers(1, max_len))
            dl = int(rng.integers(1, n + 1)) if e == 1 else n
            tiles.append((e, int(rng.integers(0, 30)), random_codes(rng, ep, n), dl))
    ends, deltas, stalls = drive(ep, tiles)
    want_ends, want_stalls = replay(ep, tiles)
    assert ends == want_ends
    assert stalls == {e: s for e, s in want_stalls.items()}


@pytest.mark.parametrize("seed", range(30))
def test_lazy_arbiter_matches_cycle_replay(seed):
    rng = np.random.default_rng(seed)
    cfg = load_arch("paper-20core", [f"core.sram.weights.banks={rng.choice([1, 2, 4])}",
                                     f"core.sram.weights.ports={rng.choice([1, 2])}",
                                     "core.sram.weights.width_bits=512",
                                     f"core.sram.gradients.banks={rng.choice([1, 2, 8])}",
                                     "core.sram.gradients.width_bits=256",
                                     f"core.sram.wgrad.banks={rng.choice([1, 2])}",
                                     "core.sram.wgrad.width_bits=256",
                                     "core.sram.state.width_bits=256"])
    assert_arbiter_matches_replay(rng, E.EngineParams(cfg), max_len=60, p_engine=0.85)


@pytest.mark.parametrize("seed", range(20))
def test_arbiter_with_many_banks_matches_cycle_replay(seed):
    """More banks than the arbiter's 64-bit bank masks hold (weights 64 + wgrad 32 + ...: bits
    alias modulo 64) and several words per chunk: the masks' quick no-conflict test must
    still give exactly the replay's cycles and stalls."""
    rng = np.random.default_rng(1000 + seed)
    cfg = load_arch("paper-20core", [f"core.sram.weights.banks={rng.choice([16, 64])}",
                                     f"core.sram.weights.ports={rng.choice([1, 2])}",
                                     f"core.sram.weights.width_bits={rng.choice([64, 256])}",
                                     f"core.sram.gradients.banks={rng.choice([8, 32])}",
                                     "core.sram.gradients.width_bits=64",
                                     f"core.sram.wgrad.banks={rng.choice([16, 32])}",
                                     "core.sram.wgrad.width_bits=128"])
    assert_arbiter_matches_replay(rng, E.EngineParams(cfg), max_len=400, p_engine=1.0)


@pytest.mark.parametrize("seed", range(30))
def test_arbiter_with_tile_shaped_streams_matches_cycle_replay(seed):
    """Streams of the op kinds each tile kind emits (engines.TILE_OP_KINDS: FP on the FP
    engine, BP with a delta phase on the BP engine, WG or UPD on the WG engine), so that
    the arbiter's path for tiles with disjoint buffers (FP and WG, BP's delta passes and FP)
    runs between the co-simulated stretches: same ends and stalls as the plain replay."""
    rng = np.random.default_rng(2000 + seed)
    cfg = load_arch("paper-20core", [f"core.sram.weights.banks={rng.choice([1, 2])}",
                                     "core.sram.weights.width_bits=512",
                                     f"core.sram.gradients.banks={rng.choice([1, 2])}",
                                     "core.sram.gradients.width_bits=256",
                                     "core.sram.wgrad.width_bits=256"])
    ep = E.EngineParams(cfg)
    tiles = []
    for e, kind in enumerate(("FP", "BP", str(rng.choice(["WG", "UPD"])))):
        if rng.random() < 0.9:
            before, after = E.TILE_OP_KINDS[kind]
            n = int(rng.integers(1, 80))
            dl = int(rng.integers(1, n + 1)) if kind == "BP" else n
            codes = np.concatenate([random_codes(rng, ep, dl, before),
                                    random_codes(rng, ep, n - dl, after)])
            tiles.append((e, int(rng.integers(0, 40)), codes, dl))
    ends, deltas, stalls = drive(ep, tiles)
    want_ends, want_stalls = replay(ep, tiles)
    assert ends == want_ends
    assert stalls == want_stalls


def test_tiles_on_disjoint_buffers_are_not_replayed():
    """FP (weights, state) and WG (wgrad) overlapping from start to end, and BP in its
    delta passes (gradients) beside FP: no op stream is built; BP's transposed product
    (weights) beside FP is co-simulated."""
    cfg = load_arch("paper-20core", ["core.sram.weights.banks=1",
                                     "core.sram.weights.width_bits=512",
                                     "core.sram.gradients.width_bits=256",
                                     "core.sram.wgrad.width_bits=256"])
    ep = E.EngineParams(cfg)
    rng = np.random.default_rng(7)
    fp = random_codes(rng, ep, 50, E.TILE_OP_KINDS["FP"][0])
    wg = random_codes(rng, ep, 40, E.TILE_OP_KINDS["WG"][0])
    built = []
    ends, _, stalls = drive(ep, [(0, 0, fp, 50), (2, 5, wg, 40)], built)
    assert built == [] and ends == {0: 50, 2: 45}
    bp = np.concatenate([random_codes(rng, ep, 30, E.TILE_OP_KINDS["BP"][0]),
                         random_codes(rng, ep, 30, E.TILE_OP_KINDS["BP"][1])])
    tiles = [(0, 0, fp, 50), (1, 0, bp, 30)]
    ends, deltas, stalls = drive(ep, tiles, built)
    assert deltas[1] == 30 and sorted(set(built)) == [0, 1]
    assert (ends, stalls) == replay(ep, tiles)
