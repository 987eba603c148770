"""Reference model, whole chip (spec sections 3-5): memory-system cases, encodings and bad
inputs worked out by hand."""
import pytest

from neurosim.reference import simulate

from handcases import SMALL, arch, network, one_core_case, part, placement, trace, two_core_case

# The hand-worked schedules, messages and bank conflicts run on both models:
# tests/test_handworked.py.


def test_input_frame_load_through_ideal_noc_and_dram():
    """A 64-byte input frame per FP tile: one read request (1 flit, NoC latency 3), DRAM
    latency 5, response (1 + 512/128 = 5 flits, latency 3): start = ready + 11."""
    res = one_core_case(simulate, "noc.ideal_latency=3", "dram.ideal_latency=5", frame_bytes=64)
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


@pytest.mark.parametrize("enc,bits", [("bitmap", 6), ("aer", 3), ("auto", 3)])
def test_spike_encoding_option(enc, bits):
    res = two_core_case(simulate, f"noc.spike_encoding={enc}")
    assert [m.payload_bits for m in res.messages if m.kind == "spike"] == [bits]


@pytest.mark.parametrize("enc,bits", [("dense", 96), ("sparse", 114), ("auto", 96)])
def test_gradient_encoding_option(enc, bits):
    res = two_core_case(simulate, f"noc.gradient_encoding={enc}")
    assert [m.payload_bits for m in res.messages if m.kind == "grad"] == [bits]


def test_two_cores_cycle_noc_spike_latency():
    """Same case on the cycle NoC (BookSim2's router, spec 6.6): the 2-flit spike message
    over 1 hop is ejected at 5 + 7 + 5*1 + (2 - 1) = 18 and available at 19."""
    res = two_core_case(simulate, "noc.model=cycle")
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
