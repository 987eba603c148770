"""Regressions of the reconciliation of the three timing models (issue 5): every point on
which the event-driven model (``neurosim.hw``), its cycle-level memory system and the
cycle-stepped reference (``neurosim.reference``) disagreed, as a small hand-made case with
the value the spec (``docs/microarchitecture.md``, Decisions log) prescribes, and the two
models agreeing on it record for record."""
import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.errors import InputError
from neurosim.memsys import cycle as cm
from neurosim.hw.chip import simulate as event_model
from neurosim.memsys.base import DramAddressMap
from neurosim.reference import simulate as reference
from neurosim.reference.dram import Dram
from neurosim.validation.compare import compare
from neurosim.workload import build_network, load_workload

from handcases import arch, network, part, placement, trace

SMALL = ["core.fp.lanes=4", "core.fp.pipeline_depth=1", "core.fp.scan_width=8",
         "core.fp.neuron_lanes=4", "core.bp.lanes=4", "core.bp.pipeline_depth=1",
         "core.bp.scan_width=8", "core.wg.lanes=4", "core.wg.pipeline_depth=1",
         "core.wg.scan_width=8", "noc.model=ideal", "noc.ideal_latency=0",
         "dram.model=ideal", "dram.ideal_latency=0"]


def both(cfg, net, tr, pl, momentum=False):
    """Run both models; they must agree exactly. Returns the reference's result."""
    ref = reference(cfg, net, tr, pl, momentum=momentum)
    mod = event_model(cfg, net, tr, pl, momentum=momentum)
    diffs = compare(ref, mod)
    assert diffs == [], "\n".join(str(d) for d in diffs[:5])
    return ref


def two_layer(cores=1, **kw):
    """input [8] -> linear h (4) -> linear o (2)."""
    net = network([{"name": "h", "type": "linear", "out": 4},
                   {"name": "o", "type": "linear", "out": 2}], [8], **kw)
    tr = trace(net, {"h": {"in": {0, 3}, "out": {1, 2}, "gu": {0, 1}},
                     "o": {"in": {1, 2}, "out": {0}, "gu": {0, 1}}})
    return net, tr


# --------------------------------------------------------------------------- messages


def test_core_local_message_is_recorded_without_noc_or_sram_traffic():
    """Decision 1: a spike message to the sender's own core has a MessageRecord (0 packets,
    available when sent) but no noc counters and no SRAM read/write bits."""
    net, tr = two_layer()
    pl = placement({"h": [part("h", 0, 0, 0, 4)], "o": [part("o", 0, 0, 0, 2)]})
    res = both(arch(*SMALL, "noc.ideal_latency=7"), net, tr, pl)
    (m,) = [m for m in res.messages if m.kind == "spike"]
    fp_h = res.tiles_by_key()[("FP", "h", 0, 0, 0)]
    assert (m.src, m.dst, m.send, m.available, m.packets, m.flits) == \
        ((0, 0), (0, 0), fp_h.end, fp_h.end, 0, 0)
    (g,) = [m for m in res.messages if m.kind == "grad"]
    assert g.packets == 0 and g.available == g.send
    assert not any(v for k, v in res.counters.items() if k[0] == "noc")
    assert not any(v for (_, a), v in res.counters.items() if a in ("read_bits", "write_bits"))


def test_spike_messages_to_one_core_for_two_consumer_layers_are_distinct():
    """A producer feeding two consumer layers on the same core sends two messages; each
    consumer waits for its own (the event model once keyed them by core only)."""
    net = network([{"name": "a", "type": "linear", "out": 4},
                   {"name": "b", "type": "linear", "out": 4},
                   {"name": "s", "type": "add", "inputs": ["a", "b"]},
                   {"name": "o", "type": "linear", "out": 2}], [8])
    tr = trace(net, {"a": {"in": {0}, "out": {0, 1, 2}, "gu": {0}},
                     "b": {"in": {0, 1, 2}, "out": {3}, "gu": {1}},
                     "o": {"in": {0, 1, 2, 3}, "out": {0}, "gu": {0}}})
    pl = placement({"a": [part("a", 0, 0, 0, 4)], "b": [part("b", 0, 1, 0, 4)],
                    "o": [part("o", 0, 1, 0, 2)]})
    cfg = load_arch("paper-20core", SMALL[:-4] + [
        "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1", "noc.model=cycle",
        "noc.flit_bits=16", "noc.spike_encoding=aer", "dram.model=ideal",
        "dram.ideal_latency=0"])
    res = both(cfg, net, tr, pl)
    msgs = {m.tag[5] if len(m.tag) > 6 else m.tag: m for m in res.messages
            if m.kind == "spike"}
    tiles = res.tiles_by_key()
    # a -> b and a -> o share the link 0 -> 1: the second is later
    assert msgs["o"].available > msgs["b"].available
    assert tiles[("FP", "b", 0, 0, 0)].ready == msgs["b"].available
    assert tiles[("FP", "o", 0, 0, 0)].ready == max(msgs["o"].available,
                                                     tiles[("FP", "b", 0, 0, 0)].end)


def test_same_cycle_requests_keep_core_order_across_a_zero_latency_chain():
    """Decision 2: core 1's FP(h, t=0) ends at c and its spike (ideal NoC, latency 0) makes
    core 0's FP(o, t=0) ready at c; both that tile and core 1's FP(h, t=1) load a spilled W
    at c. The requests reach the controller in core order: core 0's first. With a closed
    page and one bank, core 0's request is served first."""
    net, tr = two_layer(T=2)
    # h's W and o's W in the same bank, different rows (one bank: every row conflicts)
    pl = placement({"h": [part("h", 0, 1, 0, 4, spill=("W",), dram={"W": 0}, nbytes=64)],
                    "o": [part("o", 0, 0, 0, 2, spill=("W",), dram={"W": 4096},
                               nbytes=64)]})
    cfg = load_arch("paper-20core", SMALL[:-4] + [
        "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1", "noc.model=ideal",
        "noc.ideal_latency=0", "dram.model=cycle", "dram.channels=1", "dram.banks=1",
        "dram.page_policy=closed"])
    res = both(cfg, net, tr, pl)
    tiles = res.tiles_by_key()
    c = tiles[("FP", "h", 0, 0, 0)].end
    assert tiles[("FP", "o", 0, 0, 0)].ready == c == tiles[("FP", "h", 0, 0, 1)].ready
    at_c = sorted((d for d in res.dram if d.arrive == c), key=lambda d: d.complete)
    assert [d.address for d in at_c] == [4096, 0]      # core 0's request first


def test_multicast_chain_legs():
    """Decision 7: with noc.multicast, a spike message from core 0 to a layer split over
    cores 1 and 2 (1x3 mesh) is one chain 0 -> 1 -> 2; leg 2 leaves core 1 the cycle leg 1
    is available there. Zero-load latency of an F-flit packet over h hops with BookSim2's
    router (spec 6.6): ejected 7 + 5h + F - 1 cycles after it is enqueued, available one
    cycle later. The source reads the payload once."""
    net = network([{"name": "h", "type": "linear", "out": 4},
                   {"name": "g", "type": "linear", "out": 2},
                   {"name": "o", "type": "linear", "out": 2}], [8])
    tr = trace(net, {"h": {"in": {0}, "out": {1, 2}, "gu": {0}},
                     "g": {"in": {1, 2}, "out": {0}, "gu": {0, 1}},
                     "o": {"in": {0}, "out": {0}, "gu": {0}}})
    pl = placement({"h": [part("h", 0, 0, 0, 4)],
                    "g": [part("g", 0, 1, 0, 1), part("g", 1, 2, 1, 2)],
                    "o": [part("o", 0, 2, 0, 2)]})
    common = SMALL[:-4] + ["chip.cores=3", "chip.mesh.cols=3", "chip.mesh.rows=1",
                           "noc.model=cycle", "noc.link_delay=1",
                           "noc.buffer_flits=4", "noc.flit_bits=16",
                           "noc.spike_encoding=bitmap", "dram.model=ideal",
                           "dram.ideal_latency=0"]
    res = both(load_arch("paper-20core", common + ["noc.multicast=true"]), net, tr, pl)
    legs = sorted((m for m in res.messages if m.kind == "spike" and m.tag[1] == "h"),
                  key=lambda m: m.available)
    assert [(m.src, m.dst) for m in legs] == [((0, 0), (1, 0)), ((0, 0), (2, 0))]
    F = legs[0].flits                 # 4 payload bits in one body flit + head
    assert F == 2 and legs[0].send == legs[1].send
    assert legs[0].available == legs[0].send + 7 + 5 * 1 + (F - 1) + 1   # 1 hop: send + 14
    assert legs[1].available == legs[0].available + 7 + 5 * 1 + (F - 1) + 1
    assert res.counters[("core0.sram.spikes", "read_bits")] == 4
    assert res.counters[("core1.sram.spikes", "write_bits")] == 4
    uni = both(load_arch("paper-20core", common), net, tr, pl)
    assert uni.counters[("core0.sram.spikes", "read_bits")] == 8   # once per unicast


# --------------------------------------------------------------------------- tiles, tensors


def test_momentum_tensor_moves_only_with_momentum():
    """A spilled M is neither loaded nor stored by UPD without the momentum optimizer (the
    event model once loaded it)."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8])
    tr = trace(net, {"o": {"in": {0, 1}, "gu": {0}}})
    pl = placement({"o": [part("o", 0, 0, 0, 4, spill=("M",), nbytes=64)]})
    res = both(arch(*SMALL), net, tr, pl)
    assert not [d for d in res.dram if d.tensor == "optimizer"]
    upd = res.tiles_by_key()[("UPD", "o", 0, -1, -1)]
    assert upd.start == upd.ready and upd.end - upd.start == 1 + 32 // 4
    res = both(arch(*SMALL), net, tr, pl, momentum=True)
    assert len([d for d in res.dram if d.tensor == "optimizer"]) == 2   # load + store
    upd = res.tiles_by_key()[("UPD", "o", 0, -1, -1)]
    assert upd.end - upd.start == 1 + 2 * 32 // 4


def test_weight_gradient_formats_in_both_models():
    """Decision 6: FP32 accumulators and FP32 master weights. n_w = 32, wg.lanes = 4, wgrad
    64 bits wide: k_g = 4*32/64 = 2, k_m = 2. UPD = 1 + (R + M + 1) * 8 = 17 cycles; its
    master pass reads and writes 8*k_m wgrad words and writes 8 weights words. The spilled
    master copy (32 * 4 bytes) is loaded and stored by UPD."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8])
    tr = trace(net, {"o": {"in": {0, 1}, "gu": {0}}})
    tensors = part("o", 0, 0, 0, 4, spill=("WM",), nbytes=64)
    from neurosim.mapping.placement import TensorPlace
    tensors.tensors["WM"] = TensorPlace(False, 0, 128, 0x80000, 0)
    pl = placement({"o": [tensors]})
    cfg = arch(*SMALL, "core.wg.grad_precision=fp32", "core.wg.master_weights=fp32",
               "core.wg.update_rounding=stochastic", "core.sram.wgrad.width_bits=64",
               "core.sram.wgrad.banks=4")
    res = both(cfg, net, tr, pl)
    tiles = res.tiles_by_key()
    upd = tiles[("UPD", "o", 0, -1, -1)]
    assert upd.end - upd.start == 17
    wm = [d for d in res.dram if d.address >= 0x80000]
    assert len(wm) == 2 * 128 // 64 and all(d.tensor == "weights" for d in wm)
    # WG: one delta, ceil(2 nonzero inputs / 4) = 1 chunk of k_g = 2 words, read and write
    wgrad = (2 + 0) + 8 * 2 + 8 * 2        # WG read, UPD gradient pass, UPD master pass
    assert res.counters[("core0.sram.wgrad", "read_words")] == wgrad
    assert res.counters[("core0.sram.wgrad", "write_words")] == 2 + 8 * 2


def test_bank_conflict_stalls_are_counters_too():
    """Section 8: each stalled cycle is a (core<i>.<engine>, bank_conflict.<buffer>)
    counter (the event model once reported only the tile field)."""
    from neurosim.validation.strategies import seeded_case

    for i in range(200):
        case = seeded_case(0, i)
        ref = reference(case.arch, case.network, case.trace, case.placement,
                        momentum=case.momentum)
        if any(t.bank_stalls for t in ref.tiles):
            break
    mod = event_model(case.arch, case.network, case.trace, case.placement,
                      momentum=case.momentum)
    assert compare(ref, mod) == []
    for res in (ref, mod):
        stalls = sum(n for (_, a), n in res.counters.items() if a.startswith("bank_conflict."))
        assert stalls == sum(t.bank_stalls for t in res.tiles) > 0


# --------------------------------------------------------------------------- DRAM


DRAM_NS = {"tRCD": 2, "tCL": 10, "tCWL": 2, "tRP": 2, "tRAS": 4, "tWR": 1, "tRTP": 1,
           "tCCD": 1, "tRRD": 1, "tFAW": 10, "tWTR": 1, "tREFI": 0, "tRFC": 1}


def dram_cfg(**timing):
    """1 GHz (1 ns = 1 cycle), one channel, one rank, two banks, 64 B bursts on a 64-bit bus
    at 8000 MT/s (tBURST = 1), 128 B rows (RoBaRaCoCh: burst index bit 0 = column, bit 1 =
    bank, the rest = row)."""
    return load_arch({"name": "d", "chip": {"cores": 1, "mesh": {"cols": 1, "rows": 1},
                                           "clock_mhz": 1000.0},
                      "dram": {"model": "cycle", "preset": None, "channels": 1, "ranks": 1,
                               "banks": 2, "bus_bits": 64, "data_rate_mtps": 8000.0,
                               "burst_bytes": 64, "row_bytes": 128,
                               "timing_ns": {**DRAM_NS, **timing}}})


def run_dram_models(cfg, requests):
    """(complete, outcome) per request ``(arrive, byte address, write)`` from the reference
    channel and from the memory system's DRAM kernel."""
    d = Dram(cfg)
    reqs = [d.request(a, w, "weights") for _, a, w in requests]
    for c in range(200):
        for (t, _, _), r in zip(requests, reqs):
            if t == c:
                r.arrive = c
                d.channels[0].arrive(c, r)
        d.channels[0].step(c)
    ref = [(r.complete, r.outcome) for r in reqs]
    eng = cm.Engine(cfg, False, True)
    f = DramAddressMap(cfg).decode_array(np.array([a for _, a, _ in requests]))
    arrive = np.array([t for t, _, _ in requests])
    ids = eng.add_requests(len(requests), channel=f["channel"], bank=f["bank"],
                           row=f["row"], write=np.array([int(w) for *_, w in requests]),
                           arrive=arrive)
    eng.schedule_deliveries(ids, arrive)
    eng.run(cm.INF, cm.RUN_DRAIN)
    from neurosim.memsys.dram import OUTCOMES
    got = [(int(eng.R.complete[i]), OUTCOMES[int(eng.R.outcome[i])]) for i in ids]
    assert got == ref
    return ref


def test_data_bus_in_issue_order():
    """Decisions 4 and 14 (the timing table keeps bursts in issue order): the RD (miss) ACT
    at 1 (the cycle after its arrival), RD at 1 + tRCD = 3, data [13, 14). The WR to the
    same row waits in the write queue until the read queue is empty (4), then for
    RD-to-WR = tCL + tBURST - tCWL = 9: WR at 12, data [14, 15), not [6, 7) before the
    RD's data."""
    assert run_dram_models(dram_cfg(), [(0, 0, False), (0, 64, True)]) == \
        [(14, "miss"), (15, "hit")]


def test_precharge_guard_prevents_livelock():
    """Decision 3, tRAS (1) < tRCD (3): A (row 0) ACT at 1, RD at 4, completes 4+4+1 = 9.
    B (row 1, same bank) may not PRE while A is queued; PRE at max(ACT 1 + tRAS,
    RD 4 + tRTP) = 5, ACT at 5 + tRP = 7, RD at 10, completes 15."""
    cfg = dram_cfg(tRAS=1, tRCD=3, tCL=4)
    assert run_dram_models(cfg, [(0, 0, False), (0, 256, False)]) == \
        [(9, "miss"), (15, "conflict")]


def test_refresh_disabled_and_counted_to_the_end_of_the_step():
    """Decision 5: tREFI = 0 disables refresh (the reference once refreshed forever); with
    refresh on, both models count the REFs issued before total_cycles, also while the DRAM
    is idle (the event model once stopped the memory system at its last transfer)."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8], T=2, batch=2)
    tr = trace(net, {"o": {"in": set(range(8)), "gu": {0, 1}}})
    pl = placement({"o": [part("o", 0, 0, 0, 4)]}, batch=2, frame_bytes=16)
    base = SMALL[:-2] + ["dram.model=cycle", "chip.clock_mhz=1000", "dram.banks=2"] + \
        [f"dram.timing_ns.{k}={v}" for k, v in DRAM_NS.items() if k != "tREFI"]
    res = both(arch(*base, "dram.timing_ns.tREFI=0"), net, tr, pl)
    assert res.counters[("dram.ch0", "ref")] == 0
    res = both(arch(*base, "dram.timing_ns.tREFI=60"), net, tr, pl)
    # the frame loads are over long before the end: one REF every 60 cycles (in the idle
    # tail each bank is closed and ACT-ready at its due cycle), up to the step's last cycle
    assert res.total_cycles > 120
    assert res.counters[("dram.ch0", "ref")] == (res.total_cycles - 1) // 60


# --------------------------------------------------------------------------- input errors


def test_check_arch_rejects_chunks_wider_than_the_banks_and_short_refresh():
    with pytest.raises(InputError, match="core.wg.lanes"):     # k_uw = 16*16/64 = 4 > 2
        arch("core.fp.lanes=8", "core.bp.lanes=8", "core.wg.lanes=16",
             "core.sram.weights.width_bits=64", "core.sram.weights.banks=2")
    arch("core.fp.lanes=8", "core.bp.lanes=8", "core.wg.lanes=8",
         "core.sram.weights.width_bits=64", "core.sram.weights.banks=2")
    with pytest.raises(InputError, match="core.wg.lanes"):     # k_m = 16*32/256 = 2 > 1
        arch("core.wg.master_weights=fp32", "core.sram.wgrad.banks=1")
    with pytest.raises(InputError, match="tREFI"):
        arch("dram.model=cycle", "dram.timing_ns.tREFI=100", "dram.timing_ns.tRFC=100")
    with pytest.raises(InputError, match="starve"):   # 1 cycle over tRFC is not enough
        arch("dram.model=cycle", "dram.timing_ns.tREFI=182", "dram.timing_ns.tRFC=180")
    arch("dram.model=cycle", "dram.timing_ns.tREFI=0")          # 0: refresh off
    arch("dram.model=ideal", "dram.timing_ns.tREFI=100", "dram.timing_ns.tRFC=100")
    with pytest.raises(InputError, match="core.fp.neuron_lanes"):  # 16*16/64 = 4 > 2 banks
        arch("core.fp.neuron_lanes=16", "core.sram.state.width_bits=64",
             "core.sram.state.banks=2")
    # the event model's SRAM op codes hold a bank index in 24 bits (once, in check_arch)
    with pytest.raises(InputError, match=r"core.sram.spikes.banks.*fewer than 2\^24"):
        arch("core.sram.spikes.banks=16777216", "core.sram.spikes.size_kib=1048576")


def test_the_event_model_checks_the_arch_it_is_given():
    """A Config that skipped load_arch's cross-key checks is refused by the chip model
    itself, with the same check (arch.check_arch, written once)."""
    from neurosim.params import Config

    bad = arch("core.fp.lanes=8", "core.bp.lanes=8", "core.wg.lanes=8",
               "core.sram.weights.width_bits=64", "core.sram.weights.banks=2")
    raw = bad.to_dict()
    raw["core"]["wg"]["lanes"] = 16            # k_uw = 16*16/64 = 4 > 2 banks
    net = network([{"name": "o", "type": "linear", "out": 4}], [8])
    pl = placement({"o": [part("o", 0, 0, 0, 4)]})
    with pytest.raises(InputError, match="core.wg.lanes"):
        event_model(Config(raw, "<edited>"), net, trace(net), pl)


def test_dead_end_layer_is_a_workload_error():
    with pytest.raises(InputError, match="feeds none"):
        build_network(load_workload({
            "name": "w", "time_steps": 1, "batch": 1,
            "network": {"input": {"shape": [8]},
                        "layers": [{"name": "a", "type": "linear", "out": 4},
                                   {"name": "b", "type": "linear", "out": 4,
                                    "input": "input"}]}}))


def test_unaligned_dram_address_is_rejected_by_both_models():
    net = network([{"name": "o", "type": "linear", "out": 4}], [8])
    tr = trace(net)
    pl = placement({"o": [part("o", 0, 0, 0, 4, spill=("W",), dram={"W": 100})]})
    with pytest.raises(InputError, match="whole bursts"):
        reference(arch(*SMALL), net, tr, pl)
    with pytest.raises(ValueError, match="multiples"):
        event_model(arch(*SMALL), net, tr, pl)


def test_mapper_never_makes_an_empty_part():
    """`neurosim validate --cases 2000 --seed 1`, case #257: conv1 has 2 output channels, the
    data-parallel mapper spread it over 3 cores, one part (0, 0) -- the reference rejected
    the placement. A part holds at least one channel (spec 1.1); both models now run the
    mapper's placement and agree."""
    from neurosim.mapping import map_network
    from neurosim.validation.harness import run_case
    from neurosim.validation.strategies import case_from_seed

    case = case_from_seed(1000260, mode="train")   # recorded before modes were drawn
    for rep in map_network(case.arch, case.network, None, case.trace).replicas:
        for parts in rep.layers.values():
            assert all(p.out_lo < p.out_hi for p in parts)
    assert [(p.out_lo, p.out_hi) for p in case.placement.replicas[0].layers["conv1"]] == \
        [(0, 1), (1, 2)]
    res = run_case(case, reference, event_model)
    assert res.ok, res.report
