"""Reference model, core (spec 3.4): bank-conflict arbitration between engines, by hand."""
from types import SimpleNamespace

from neurosim.reference.core import Core
from neurosim.reference.engines import Program

from handcases import arch


def run_core(cfg, programs, start_cycles=(0, 0, 0), until=50):
    """Start the given engine programs and step the core; return per-engine (end, stalls)."""
    core = Core(cfg, 0)
    out = {}
    tiles = {}
    for c in range(until):
        for e, prog in enumerate(programs):
            if prog is not None and c == start_cycles[e]:
                tiles[e] = SimpleNamespace(delta_end=-1)
                core.start(e, tiles[e], Program(prog), c)
        for e in core.step(c):
            r = core.finish(e)
            out[e] = (c + 1, r.stalls)
    return out, core


W = "weights"
G = "gradients"


def test_fp_vs_bp_weight_bank_conflict_by_hand():
    """FP needs weights bank 0 three times; BP needs (w0, g0), (w1, g0), (w0, g0).
    c0: order FP,BP,WG: FP granted, BP stalls -> ptr = FP + 1 = BP.
    c1: order BP,WG,FP: BP granted, FP stalls -> ptr = BP + 1 = WG.
    c2: order WG,FP,BP: FP (w0) and BP (w1, g0) both granted; no denial: ptr stays.
    c3: FP (w0) granted, BP (w0) stalls -> ptr = FP + 1.
    c4: BP alone. FP: 3 cycles + 1 stall, ends 4; BP: 3 cycles + 2 stalls, ends 5."""
    cfg = arch("core.sram.weights.banks=2", "core.sram.weights.ports=1")
    fp = [((W, 0),), ((W, 0),), ((W, 0),)]
    bp = [((W, 0), (G, 0)), ((W, 1), (G, 0)), ((W, 0), (G, 0))]
    out, core = run_core(cfg, [fp, bp, None])
    assert out == {0: (4, 1), 1: (5, 2)}
    assert core.stall_counts == {("core0.fp", "bank_conflict.weights"): 1,
                                 ("core0.bp", "bank_conflict.weights"): 2}
    assert core.ptr == 1


def test_two_ports_no_conflict_and_free_cycles_never_stall():
    cfg = arch("core.sram.weights.ports=2")
    fp = [((W, 0),), None, ((W, 0),)]
    bp = [((W, 0), (G, 0)), ((W, 0), (G, 0)), None]
    out, core = run_core(cfg, [fp, bp, None])
    assert out == {0: (3, 0), 1: (3, 0)}
    assert core.ptr == 0


def test_stall_reason_is_first_full_buffer_in_slot_order():
    """Three engines on weights bank 3: a stall is counted against the first buffer (in
    slot order) whose bank is full, and the pointer rotates past the highest-priority
    granted engine."""
    cfg = arch()
    upd = [(("wgrad", 0), (W, 3)), (("wgrad", 1), (W, 3))]
    bp = [((W, 3), (G, 0)), ((W, 4), (G, 0))]
    fp = [((W, 3),)]
    # c0: FP granted (w3), BP stalls (w3 full: weights), WG stalls (w3 full: weights);
    #     ptr = FP+1 = 1 -> c1: BP, WG, FP: BP granted (w3), WG stalls; ptr = BP+1 = 2
    # c2: WG, FP, BP: WG granted (w3), BP (w4, g0) granted. c3: WG (w3). WG ends 4.
    out, core = run_core(cfg, [fp, bp, upd])
    assert out == {0: (1, 0), 1: (3, 1), 2: (4, 2)}
    assert core.stall_counts == {("core0.bp", "bank_conflict.weights"): 1,
                                 ("core0.wg", "bank_conflict.weights"): 2}
