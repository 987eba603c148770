"""Hand-worked whole-chip cases (spec sections 2-3, ideal memory system), written once and
run on both timing models: the event-driven one (``neurosim.hw.chip.simulate``) and the
cycle-stepped reference (``neurosim.reference.simulate``). The arithmetic is in each
docstring; the models' own unit-level tests (tile programs, op streams, kernels) stay beside
them."""
import pytest

from neurosim.hw.chip import simulate as event_driven
from neurosim.reference import simulate as reference

from handcases import (SMALL, arch, dvs_linear_step_case, network, one_core_case, part,
                       placement, trace, two_core_case, two_layer_dvs_case)


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


def test_single_linear_layer_step_with_memory_latencies(model):
    """The FP tile of spec 2.6 (14 cycles) inside a whole step on one core, placed by the
    mapper, with ideal NoC 10 and DRAM 50 cycles:
    FP: input frame load (dvs, 16 B = 1 burst): 10 (NoC) + 50 (DRAM) + 10 (NoC) -> start
        70, end 84. LOSS: 6 + T*ceil(64/16) = 10 -> [84, 94). BP (reads only the input, no
        transposed phase): 6 + 4 = 10 -> [94, 104), delta end 104. WG: 4 + index
        ceil(128/64) = 2 + one window with nonzero delta 5, ceil(3 inputs/16) = 1 chunk
        -> 7 -> [104, 111). UPD: 4 + 64*128/16 = 516 -> [111, 627).
    The statistics and summary of that step (built from either model's result)."""
    from neurosim.hw.report import build_stats, summarize

    res, cfg, net, pl = dvs_linear_step_case(model)
    t = res.tiles_by_key()
    fp = t[("FP", "fc", 0, 0, 0)]
    assert (fp.ready, fp.start, fp.end) == (0, 70, 84)
    loss = t[("LOSS", "", -1, 0, -1)]
    assert (loss.start, loss.end) == (84, 94)
    bp = t[("BP", "fc", 0, 0, 0)]
    assert (bp.start, bp.delta_end, bp.end) == (94, 104, 104)
    wg = t[("WG", "fc", 0, 0, 0)]
    assert (wg.ready, wg.start, wg.end) == (104, 104, 111)
    upd = t[("UPD", "fc", 0, -1, -1)]
    assert (upd.start, upd.end) == (111, 627)
    assert res.total_cycles == 627
    c = res.counters
    assert c[("core0.fp", "add_ops")] == 3 * 64 and c[("core0.fp", "neuron_updates")] == 64
    assert c[("core0.bp", "mac_ops")] == 64 + 64        # LOSS T*n_out + delta
    assert c[("core0.wg", "mac_ops")] == 64 * 128       # UPD
    stats = build_stats(cfg, net, pl, res, net.batch, net.time_steps)
    s = summarize(cfg, res, stats)
    assert s["total_cycles"] == 627 and s["dram_read_bytes"] == 64   # the one input burst
    assert s["dram_read_bytes_input"] == 64 and s["dram_write_bytes"] == 0
    assert stats["chip.core0.fp.busy_cycles"].value == 14
    assert stats["chip.core0.fp.stall_cycles"].value["wait_dram"] == 70


def test_two_cores_messages_and_dependencies_with_memory_latencies(model):
    """h (16 -> 8) on core 0, o (8 -> 4) on core 1, T = 2, ideal NoC 10, DRAM 50.
    core0 FP(h,t0): frame load 70, 4 + 2 nonzeros + 1 LIF = 7 -> [70, 77); spike message
      (aer 1*3 bits < bitmap 8) available 87. FP(h,t1): ready 77, start 147, 6 -> 153;
      message available 163.
    core1 FP(o,t0): [87, 93). FP(o,t1): no input spikes, one empty window: [163, 169).
      LOSS: 6 + 2*1 = 8 -> [169, 177). BP(o,t1): delta 6+1 -> delta end 184, one nonzero
      delta * ceil(8/16) -> end 185; g(S_in) message (dense 8*16 = 128 bits) at 195.
      WG(o,t1): ready 184, 4 + 1 index + 1 (no nonzero inputs: the window costs 1) ->
      [184, 190). BP(o,t0): [185, 193), delta end 192, message at 203.
      WG(o,t0): ready 192, 6 -> [192, 198). UPD(o): 4 + 32/16 -> [198, 204).
    core0 BP(h,t1): ready 195 (no transposed phase) 7 -> [195, 202). WG(h,t1): [202, 208).
      BP(h,t0): ready 203 -> [203, 210). WG(h,t0): [210, 216). UPD(h): 4 + 128/16 ->
      [216, 228) = the end of the step."""
    res = two_layer_dvs_case(model, "noc.model=ideal", "dram.model=ideal", bits={
        ("h", 0, 0): {"in": {0, 1}, "out": {0}, "gu": {1}},
        ("h", 0, 1): {"in": {2}, "gu": {1}},
        ("o", 0, 0): {"in": {0}, "gu": {0}}, ("o", 0, 1): {"gu": {2}}})
    t = res.tiles_by_key()
    want = {("FP", "h", 0, 0, 0): (0, 70, 77), ("FP", "h", 0, 0, 1): (77, 147, 153),
            ("FP", "o", 0, 0, 0): (87, 87, 93), ("FP", "o", 0, 0, 1): (163, 163, 169),
            ("LOSS", "", -1, 0, -1): (169, 169, 177), ("BP", "o", 0, 0, 1): (177, 177, 185),
            ("WG", "o", 0, 0, 1): (184, 184, 190), ("BP", "o", 0, 0, 0): (185, 185, 193),
            ("WG", "o", 0, 0, 0): (192, 192, 198), ("UPD", "o", 0, -1, -1): (198, 198, 204),
            ("BP", "h", 0, 0, 1): (195, 195, 202), ("WG", "h", 0, 0, 1): (202, 202, 208),
            ("BP", "h", 0, 0, 0): (203, 203, 210), ("WG", "h", 0, 0, 0): (210, 210, 216),
            ("UPD", "h", 0, -1, -1): (216, 216, 228)}
    assert {k: (t[k].ready, t[k].start, t[k].end) for k in want} == want
    assert t[("BP", "o", 0, 0, 1)].delta_end == 184
    assert res.total_cycles == 228
    spikes = [m for m in res.messages if m.kind == "spike"]
    assert [(m.send, m.available, m.payload_bits) for m in spikes] == [(77, 87, 3),
                                                                      (153, 163, 0)]
    grads = [m for m in res.messages if m.kind == "grad"]
    assert [(m.send, m.available, m.payload_bits) for m in grads] == [(185, 195, 128),
                                                                     (193, 203, 128)]
    assert all(r.bank_stalls == 0 for r in res.tiles)


def test_bp_wg_overlap_off_makes_wg_wait_for_bp_end(model):
    """With bp_wg_overlap a WG tile is ready at its BP tile's delta-phase end; without, at
    the BP tile's end, which is one cycle later here (one nonzero delta, one transposed
    chunk: ceil(8/16) = 1 cycle after the delta phase)."""
    bits = {("o", 0, 0): {"in": {0}, "gu": {0}}, ("o", 0, 1): {"gu": {2}}}
    on = two_layer_dvs_case(model, bits=bits).tiles_by_key()
    off = two_layer_dvs_case(model, "schedule.bp_wg_overlap=false", bits=bits).tiles_by_key()
    k = ("WG", "o", 0, 0, 1)
    assert on[k].ready == on[("BP", "o", 0, 0, 1)].delta_end
    assert off[k].ready == off[("BP", "o", 0, 0, 1)].end == on[k].ready + 1
