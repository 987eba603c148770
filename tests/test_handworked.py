"""Hand-worked whole-chip cases (spec sections 2-3, ideal memory system), written once and
run on both timing models: the event-driven one (``neurosim.hw.chip.simulate``) and the
cycle-stepped reference (``neurosim.reference.simulate``). The arithmetic is in each
docstring; the models' own unit-level tests (tile programs, op streams, kernels) stay beside
them."""
import pytest

from neurosim.hw.chip import simulate as event_driven
from neurosim.reference import simulate as reference

from handcases import SMALL, arch, network, one_core_case, part, placement, trace, two_core_case


@pytest.fixture(params=[event_driven, reference], ids=["hw", "reference"])
def model(request):
    return request.param


def spans(res):
    return {(t.kind, t.b, t.t): (t.ready, t.start, t.end) for t in res.tiles}


def test_spec_2_6_fp_tile_in_the_chip_is_14_cycles(model):
    """The FP tile of spec 2.6 (linear part, n_in 128, n_ch 64, 32 lanes, scan 64, depth 4,
    16 neuron lanes, inputs {3, 70, 71}: fill 4 + window 0 (1 nonzero, 2 chunks) 2 + window 1
    (2 nonzeros, 4 chunks) 4 + LIF 64/16 = 4 -> 14), alone on its engine in a whole step
    with zero memory latencies: ready 0, start 0, end 14, no stalls."""
    cfg = arch("core.fp.lanes=32", "core.fp.scan_width=64", "core.fp.pipeline_depth=4",
               "core.fp.neuron_lanes=16", "noc.model=ideal", "noc.ideal_latency=0",
               "dram.model=ideal", "dram.ideal_latency=0")
    net = network([{"name": "fc", "type": "linear", "out": 64}], [128])
    tr = trace(net, {"fc": {"in": {3, 70, 71}}})
    res = model(cfg, net, tr, placement({"fc": [part("fc", 0, 0, 0, 64)]}))
    fp = res.tiles_by_key()[("FP", "fc", 0, 0, 0)]
    assert (fp.ready, fp.start, fp.end, fp.bank_stalls) == (0, 0, 14, 0)
    assert res.counters[("core0.fp", "add_ops")] == 3 * 64
    assert res.counters[("core0.fp", "neuron_updates")] == 64


def test_one_core_schedule_two_samples_in_flight(model):
    res = one_core_case(model, )
    assert spans(res) == {
        ("FP", 0, 0): (0, 0, 4), ("FP", 0, 1): (4, 4, 7),
        ("FP", 1, 0): (7, 7, 10), ("FP", 1, 1): (10, 10, 19),
        ("LOSS", 0, -1): (7, 7, 10), ("BP", 0, 1): (10, 10, 12), ("BP", 0, 0): (12, 12, 14),
        ("LOSS", 1, -1): (19, 19, 22), ("BP", 1, 1): (22, 22, 24), ("BP", 1, 0): (24, 24, 26),
        ("WG", 0, 1): (12, 12, 16), ("WG", 0, 0): (16, 16, 19),
        ("WG", 1, 1): (24, 24, 27), ("WG", 1, 0): (27, 27, 30),
        ("UPD", -1, -1): (30, 30, 39)}
    assert res.total_cycles == 39
    bp = res.tiles_by_key()[("BP", "o", 0, 0, 1)]
    assert bp.delta_end == 12


def test_one_core_schedule_one_sample_in_flight(model):
    """samples_in_flight 1 (or fp_bp_overlap false): FP of sample 1 is admitted only when
    every BP and WG tile of sample 0 has ended (WG(0,0) at 19)."""
    for opt in ("schedule.samples_in_flight=1", "schedule.fp_bp_overlap=false"):
        s = spans(one_core_case(model, opt))
        assert s[("FP", 1, 0)] == (19, 19, 22)
        assert s[("FP", 1, 1)] == (22, 22, 31)
        assert s[("WG", 1, 0)] == (39, 39, 42)
        assert s[("UPD", -1, -1)] == (42, 42, 51)


def test_two_cores_messages_by_hand(model):
    """h (core 0) -> o (core 1), NoC latency 2.
    FP(h) [0,5): 1 + 1 input x ceil(6/4) + ceil(6/4). Spike message at 5: 6-bit slice, 1
    spike: aer 1 x ceil(log2 6) = 3 bits < bitmap 6 -> 3 bits, available 7.
    FP(o) [7,10), LOSS [10,12), BP(o) [12,16): 1 + 1 delta + delta 1 x ceil(6/4) chunks;
    delta phase ends 14, so WG(o) [14,17), UPD(o) [17,24). Gradient message at 16: e = 6
    entries, all nonzero (o is linear): dense 96 < sparse 6 x (3 + 16) -> 96 bits, at 18.
    BP(h) [18,21) (no transposed phase), WG(h) [21,24), UPD(h) [24, 24 + 1 + 48/4 = 37)."""
    res = two_core_case(model)
    s = {(t.kind, t.layer): (t.ready, t.start, t.end) for t in res.tiles}
    assert s == {("FP", "h"): (0, 0, 5), ("FP", "o"): (7, 7, 10), ("LOSS", ""): (10, 10, 12),
                 ("BP", "o"): (12, 12, 16), ("WG", "o"): (14, 14, 17),
                 ("UPD", "o"): (17, 17, 24), ("BP", "h"): (18, 18, 21),
                 ("WG", "h"): (21, 21, 24), ("UPD", "h"): (24, 24, 37)}
    assert res.total_cycles == 37
    msgs = {m.kind: m for m in res.messages}
    sp, gr = msgs["spike"], msgs["grad"]
    assert (sp.src, sp.dst, sp.send, sp.available, sp.payload_bits, sp.packets, sp.flits) == (
        (0, 0), (1, 0), 5, 7, 3, 1, 2)
    assert (gr.src, gr.dst, gr.send, gr.available, gr.payload_bits, gr.packets, gr.flits) == (
        (1, 0), (0, 0), 16, 18, 96, 1, 2)
    c = res.counters
    assert c[("core0.sram.spikes", "read_bits")] == 3 and c[("core1.sram.spikes", "write_bits")] == 3
    assert c[("core1.sram.gradients", "read_bits")] == 96
    assert (c[("noc", "packets")], c[("noc", "flits")], c[("noc", "router_flits")],
            c[("noc", "link_flits")]) == (2, 4, 8, 4)


def test_fp_vs_bp_bank_conflict_in_a_schedule_by_hand(model):
    """input [4] -> h (4) -> o (4) on one core, batch 2, T 1, depths 0, 4 lanes, one
    single-ported weights bank, no loads, zero latencies.
    FP(h,0) [0,2), FP(o,0) [2,4), LOSS(0) [4,5). FP(h,1) (4 inputs: weights at 4..7, LIF)
    starts at 4; BP(o,0) starts at 5: delta (gradients) at 5, its transposed chunk needs
    weights at 6: FP has priority (ptr 0), BP stalls; ptr -> BP; at 7 BP wins, FP stalls;
    BP ends 8, FP's last chunk at 8, LIF 9, ends 10. Then WG(o,0) [6,8) (delta ended 6),
    BP(h,0) [8,9), WG(h,0) [9,11), FP(o,1) [10,12), LOSS(1) [12,13), BP(o,1) [13,15),
    WG(o,1) [14,16), BP(h,1) [15,16), WG(h,1) [16,18), UPD(h) [18,22), UPD(o) [22,26)."""
    net = network([{"name": "h", "type": "linear", "out": 4},
                   {"name": "o", "type": "linear", "out": 4}], [4], T=1, batch=2)
    tr = trace(net, {("h", 0, 0): {"in": {0}}, ("h", 1, 0): {"in": {0, 1, 2, 3}},
                     ("o", 0, 0): {"in": {0}, "gu": {0}}})
    pl = placement({"h": [part("h", 0, 0, 0, 4)], "o": [part("o", 0, 0, 0, 4)]}, batch=2)
    cfg = arch(*SMALL, "core.fp.pipeline_depth=0", "core.bp.pipeline_depth=0",
               "core.wg.pipeline_depth=0", "core.sram.weights.banks=1",
               "core.sram.weights.ports=1")
    res = model(cfg, net, tr, pl)
    got = {(t.kind, t.layer, t.b): (t.start, t.end, t.bank_stalls) for t in res.tiles}
    assert got == {
        ("FP", "h", 0): (0, 2, 0), ("FP", "o", 0): (2, 4, 0), ("LOSS", "", 0): (4, 5, 0),
        ("FP", "h", 1): (4, 10, 1), ("BP", "o", 0): (5, 8, 1), ("WG", "o", 0): (6, 8, 0),
        ("BP", "h", 0): (8, 9, 0), ("WG", "h", 0): (9, 11, 0), ("FP", "o", 1): (10, 12, 0),
        ("LOSS", "", 1): (12, 13, 0), ("BP", "o", 1): (13, 15, 0), ("WG", "o", 1): (14, 16, 0),
        ("BP", "h", 1): (15, 16, 0), ("WG", "h", 1): (16, 18, 0),
        ("UPD", "h", -1): (18, 22, 0), ("UPD", "o", -1): (22, 26, 0)}
    assert res.tiles_by_key()[("BP", "o", 0, 0, 0)].delta_end == 6
    assert res.counters[("core0.fp", "bank_conflict.weights")] == 1
    assert res.counters[("core0.bp", "bank_conflict.weights")] == 1
    assert res.total_cycles == 26
