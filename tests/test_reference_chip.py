"""Reference model, whole chip (spec sections 3-5): schedules, dependencies, messages and
DRAM transfers worked out by hand."""
import pytest

from neurosim.reference import simulate

from handcases import arch, network, part, placement, trace

SMALL = ["core.fp.lanes=4", "core.fp.pipeline_depth=1", "core.fp.scan_width=8",
         "core.fp.neuron_lanes=4", "core.bp.lanes=4", "core.bp.pipeline_depth=1",
         "core.bp.scan_width=8", "core.wg.lanes=4", "core.wg.pipeline_depth=1",
         "core.wg.scan_width=8", "noc.model=ideal", "noc.ideal_latency=0",
         "dram.model=ideal", "dram.ideal_latency=0"]


def one_core_case(*overrides, frame_bytes=0):
    """input [8] -> linear o (4), T = 2, batch 2, one core. Tile lengths (depth 1 each):
    FP = 1 + max(1, nnz) + 1: (0,0) nnz 2 -> 4, (0,1) 1 -> 3, (1,0) 0 -> 3, (1,1) 7 -> 9.
    LOSS = 1 + 2*1 = 3. BP = 1 + 1 delta cycle (no transposed phase: o reads the input).
    WG = 1 + 1 index + max(1, deltas x ceil(nnz_in/4)): (0,1) 2 deltas, nnz_in 1 -> 4,
    others 3. UPD = 1 + 32/4 = 9."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8], T=2, batch=2)
    tr = trace(net, {("o", 0, 0): {"in": {0, 1}}, ("o", 0, 1): {"in": {2}, "gu": {0, 3}},
                     ("o", 1, 0): {"in": set(), "gu": {1}},
                     ("o", 1, 1): {"in": set(range(1, 8))}})
    pl = placement({"o": [part("o", 0, 0, 0, 4)]}, batch=2, frame_bytes=frame_bytes)
    return simulate(arch(*SMALL, *overrides), net, tr, pl)


def spans(res):
    return {(t.kind, t.b, t.t): (t.ready, t.start, t.end) for t in res.tiles}


def test_one_core_schedule_two_samples_in_flight():
    res = one_core_case()
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


def test_one_core_schedule_one_sample_in_flight():
    """samples_in_flight 1 (or fp_bp_overlap false): FP of sample 1 is admitted only when
    every BP and WG tile of sample 0 has ended (WG(0,0) at 19)."""
    for opt in ("schedule.samples_in_flight=1", "schedule.fp_bp_overlap=false"):
        s = spans(one_core_case(opt))
        assert s[("FP", 1, 0)] == (19, 19, 22)
        assert s[("FP", 1, 1)] == (22, 22, 31)
        assert s[("WG", 1, 0)] == (39, 39, 42)
        assert s[("UPD", -1, -1)] == (42, 42, 51)


def test_input_frame_load_through_ideal_noc_and_dram():
    """A 64-byte input frame per FP tile: one read request (1 flit, NoC latency 3), DRAM
    latency 5, response (1 + 512/128 = 5 flits, latency 3): start = ready + 11."""
    res = one_core_case("noc.ideal_latency=3", "dram.ideal_latency=5", frame_bytes=64)
    fp = res.tiles_by_key()[("FP", "o", 0, 0, 0)]
    assert (fp.ready, fp.start, fp.end) == (0, 11, 15)
    req = [m for m in res.messages if m.kind == "dram_read_req" and m.send == 0]
    resp = [m for m in res.messages if m.kind == "dram_read_resp" and m.send == 8]
    assert [(m.available, m.packets, m.flits, m.payload_bits) for m in req] == [(3, 1, 1, 0)]
    assert [(m.available, m.packets, m.flits, m.payload_bits) for m in resp] == [
        (11, 1, 5, 512)]
    assert [(d.arrive, d.complete, d.tensor, d.write) for d in res.dram
            if d.arrive == 3] == [(3, 8, "input", False)]
    assert res.counters[("dram.ch0", "read_bytes.input")] == 4 * 64
    assert res.counters[("core0.sram.spikes", "write_bits")] == 4 * 64 * 8


def two_core_case(*overrides):
    net = network([{"name": "h", "type": "linear", "out": 6},
                   {"name": "o", "type": "linear", "out": 4}], [8], T=1, batch=1)
    tr = trace(net, {"h": {"in": {0}, "out": {2}}, "o": {"in": {2}, "gu": {1}}})
    pl = placement({"h": [part("h", 0, 0, 0, 6)], "o": [part("o", 0, 1, 0, 4)]})
    cfg = arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1",
               "noc.ideal_latency=2", *overrides)
    return simulate(cfg, net, tr, pl)


def test_two_cores_messages_by_hand():
    """h (core 0) -> o (core 1), NoC latency 2.
    FP(h) [0,5): 1 + 1 input x ceil(6/4) + ceil(6/4). Spike message at 5: 6-bit slice, 1
    spike: aer 1 x ceil(log2 6) = 3 bits < bitmap 6 -> 3 bits, available 7.
    FP(o) [7,10), LOSS [10,12), BP(o) [12,16): 1 + 1 delta + delta 1 x ceil(6/4) chunks;
    delta phase ends 14, so WG(o) [14,17), UPD(o) [17,24). Gradient message at 16: e = 6
    entries, all nonzero (o is linear): dense 96 < sparse 6 x (3 + 16) -> 96 bits, at 18.
    BP(h) [18,21) (no transposed phase), WG(h) [21,24), UPD(h) [24, 24 + 1 + 48/4 = 37)."""
    res = two_core_case()
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


@pytest.mark.parametrize("enc,bits", [("bitmap", 6), ("aer", 3), ("auto", 3)])
def test_spike_encoding_option(enc, bits):
    res = two_core_case(f"noc.spike_encoding={enc}")
    assert [m.payload_bits for m in res.messages if m.kind == "spike"] == [bits]


@pytest.mark.parametrize("enc,bits", [("dense", 96), ("sparse", 114), ("auto", 96)])
def test_gradient_encoding_option(enc, bits):
    res = two_core_case(f"noc.gradient_encoding={enc}")
    assert [m.payload_bits for m in res.messages if m.kind == "grad"] == [bits]


def test_two_cores_cycle_noc_spike_latency():
    """Same case on the cycle NoC (BookSim2's router, spec 6.6): the 2-flit spike message
    over 1 hop is ejected at 5 + 7 + 5*1 + (2 - 1) = 18 and available at 19."""
    res = two_core_case("noc.model=cycle")
    fp = res.tiles_by_key()[("FP", "o", 0, 0, 0)]
    assert fp.ready == 19


def test_conv_gradient_message_counts_receptive_field():
    """c1 (conv, 2 ch, 3x3) -> c2 (conv 3x3, pad 1, 1 ch). One nonzero delta of c2 at the
    corner (0,0) reaches input positions (0..1, 0..1): nz = 4 positions x 2 channels = 8 of
    e = 18 entries: sparse 8 x (5 + 16) = 168 < dense 288."""
    net = network([{"name": "c1", "type": "conv2d", "out_channels": 2, "kernel": 1,
                    "padding": 0},
                   {"name": "c2", "type": "conv2d", "out_channels": 1, "kernel": 3,
                    "padding": 1}], [1, 3, 3])
    tr = trace(net, {"c2": {"gu": {0}}})
    pl = placement({"c1": [part("c1", 0, 0, 0, 2)], "c2": [part("c2", 0, 0, 0, 1)]})
    res = simulate(arch(*SMALL), net, tr, pl)
    assert [m.payload_bits for m in res.messages if m.kind == "grad"] == [168]
    # core-local messages use no NoC: available when sent, no packets
    assert all(m.available == m.send and m.flits == 0 for m in res.messages)
    assert res.counters[("noc", "packets")] == 0


def test_zero_latencies_satisfy_dependencies_in_the_same_cycle():
    """noc.ideal_latency 0 and dram.ideal_latency 0: a message is available in the cycle
    it is sent, so the consumer is ready when the producer ends; a spilled W and the input
    frame load in zero cycles, so start == ready; a spilled saved(b,t) stored at FP's end
    is complete in the same cycle."""
    net = network([{"name": "h", "type": "linear", "out": 6},
                   {"name": "o", "type": "linear", "out": 4}], [8], T=1, batch=1)
    tr = trace(net, {"h": {"in": {0}, "out": {2}}, "o": {"in": {2}, "gu": {1}}})
    pl = placement({"h": [part("h", 0, 0, 0, 6, spill=("W", "saved"))],
                    "o": [part("o", 0, 1, 0, 4, spill=("W", "saved", "GW"))]},
                   frame_bytes=64)
    cfg = arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1")
    res = simulate(cfg, net, tr, pl)
    k = res.tiles_by_key()
    assert (k[("FP", "h", 0, 0, 0)].ready, k[("FP", "h", 0, 0, 0)].start) == (0, 0)
    assert k[("FP", "o", 0, 0, 0)].ready == k[("FP", "o", 0, 0, 0)].start == \
        k[("FP", "h", 0, 0, 0)].end
    assert k[("BP", "h", 0, 0, 0)].ready == k[("BP", "o", 0, 0, 0)].end
    assert all(t.start == t.ready for t in res.tiles)
    # the same with 3-cycle latencies: each spilled load costs 3 + 0 + 3 cycles
    res = simulate(arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1",
                        "noc.ideal_latency=3"), net, tr, pl)
    k = res.tiles_by_key()
    assert k[("FP", "h", 0, 0, 0)].start == 6
    assert k[("BP", "o", 0, 0, 0)].start - k[("BP", "o", 0, 0, 0)].ready == 6


def test_bad_inputs_are_one_line_input_errors():
    from neurosim.errors import InputError

    net = network([{"name": "h", "type": "linear", "out": 6},
                   {"name": "o", "type": "linear", "out": 4}], [8], T=1, batch=1)
    tr = trace(net)
    cfg = arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1")
    good = {"h": [part("h", 0, 0, 0, 6)], "o": [part("o", 0, 1, 0, 4)]}
    bad = [
        ({"h": good["h"], "o": [part("o", 0, 1, 0, 2), part("o", 1, 1, 2, 4)]},
         "exactly one part for the output layer"),
        ({"h": [part("h", 0, 0, 0, 3)], "o": good["o"]}, "covering all 6"),
        ({"h": [part("h", 0, 5, 0, 6)], "o": good["o"]}, "below chip.cores"),
        ({"h": good["h"], "o": [part("o", 0, 1, 0, 4, spill=("GU",))]}, "never spill"),
    ]
    for layers, msg in bad:
        with pytest.raises(InputError, match=msg):
            simulate(cfg, net, tr, placement(layers))
    with pytest.raises(InputError, match="replicas"):  # 2 replicas, batch 1
        simulate(cfg, net, tr, placement([{"h": [part("h", 0, 0, 0, 6)],
                                           "o": [part("o", 0, 0, 0, 4)]},
                                          {"h": [part("h", 0, 1, 0, 6)],
                                           "o": [part("o", 0, 1, 0, 4)]}]))
    with pytest.raises(InputError, match="tREFI"):
        simulate(arch(*SMALL, "dram.model=cycle", "dram.timing_ns.tREFI=100",
                      "dram.timing_ns.tRFC=200", "chip.cores=2", "chip.mesh.cols=2",
                      "chip.mesh.rows=1"), net, tr, placement(good))
    with pytest.raises(InputError, match="core.wg.lanes"):  # k_uw = 32*16/16 > 16 banks
        simulate(arch(*SMALL, "core.wg.lanes=32", "core.sram.weights.width_bits=16",
                      "core.sram.wgrad.banks=32", "chip.cores=2", "chip.mesh.cols=2",
                      "chip.mesh.rows=1"), net, tr, placement(good))
    # A weighted layer that feeds nothing (not the last) is a workload error, found when
    # the network is built, before any model runs (spec 1.1, decision 9).
    with pytest.raises(InputError, match="feeding a later one"):
        network([{"name": "a", "type": "linear", "out": 3},
                 {"name": "b", "type": "linear", "out": 3, "input": "input"},
                 {"name": "o", "type": "linear", "out": 2}], [8])


def test_fp_vs_bp_bank_conflict_in_a_schedule_by_hand():
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
    res = simulate(cfg, net, tr, pl)
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
