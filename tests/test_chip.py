"""The discrete-event chip model end to end: hand-worked tile times through dependencies,
DRAM loads and messages; schedule invariants on random cases; determinism."""
import numpy as np
import pytest

from neurosim import api
from neurosim.hw.chip import ChipModel, simulate
from neurosim.mapping import map_network
from neurosim.workload import build_network, load_workload
from neurosim.workload.trace import LayerTrace, Trace, pack_bits


def make_trace(net, bits: dict) -> Trace:
    """bits: {layer: {mask kind: bool (B, T, n)}}; missing masks are all zero."""
    B, T = net.batch, net.time_steps
    layers = []
    for l in net.layers:
        m = bits.get(l.name, {})

        def get(kind, n):
            return pack_bits(m.get(kind, np.zeros((B, T, n), bool)))

        layers.append(LayerTrace(l.name, l.n_in, l.n_out, get("in_mask", l.n_in),
                                 get("out_spikes", l.n_out), get("sg_mask", l.n_out),
                                 get("gu_mask", l.n_out)))
    tr = Trace(net, layers, {"source": "test"})
    tr.validate()
    return tr


def bits(B, T, n, on: dict):
    """bool (B, T, n) with on[(b, t)] = list of set indices."""
    out = np.zeros((B, T, n), bool)
    for (b, t), idx in on.items():
        out[b, t, idx] = True
    return out


def tiles(res):
    return {r.key: r for r in res.tiles}


def test_single_linear_layer_step_hand_worked():
    # The FP tile of spec 2.6 (14 cycles) inside a whole step on one core:
    # FP: input frame load (dvs, 16 B = 1 burst): 10 (NoC) + 50 (DRAM) + 10 (NoC) -> start
    #     70, end 84. LOSS: 6 + T*ceil(64/16) = 10 -> [84, 94). BP (reads only the input, no
    #     transposed phase): 6 + 4 = 10 -> [94, 104), delta end 104. WG: 4 + index
    #     ceil(128/64) = 2 + one window with nonzero delta 5, ceil(3 inputs/16) = 1 chunk
    #     -> 7 -> [104, 111). UPD: 4 + 64*128/16 = 516 -> [111, 627).
    wl = load_workload({"name": "one", "time_steps": 1, "batch": 1,
                        "network": {"input": {"shape": [128], "coding": "dvs"},
                                    "layers": [{"name": "fc", "type": "linear", "out": 64}]}})
    net = build_network(wl)
    tr = make_trace(net, {"fc": {"in_mask": bits(1, 1, 128, {(0, 0): [3, 70, 71]}),
                                 "gu_mask": bits(1, 1, 64, {(0, 0): [5]}),
                                 "sg_mask": bits(1, 1, 64, {(0, 0): [5]})}})
    arch = api.load_arch("single-core", ["noc.model=ideal", "dram.model=ideal", "noc.ideal_latency=10",
                                         "dram.ideal_latency=50"])
    res = api.run(arch, wl, trace=tr)
    t = tiles(res.timing)
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
    assert res.timing.total_cycles == 627
    s = res.summary
    assert s["total_cycles"] == 627 and s["dram_read_bytes"] == 64
    assert s["dram_read_bytes_input"] == 64 and s["dram_write_bytes"] == 0
    c = res.timing.counters
    assert c[("core0.fp", "add_ops")] == 3 * 64 and c[("core0.fp", "neuron_updates")] == 64
    assert c[("core0.bp", "mac_ops")] == 64 + 64        # LOSS T*n_out + delta
    assert c[("core0.wg", "mac_ops")] == 64 * 128       # UPD
    assert res.stats["chip.core0.fp.busy_cycles"].value == 14
    assert res.stats["chip.core0.fp.stall_cycles"].value["wait_dram"] == 70


def two_layer_workload(**extra):
    return load_workload({"name": "two", "time_steps": 2, "batch": 1,
                          "network": {"input": {"shape": [16], "coding": "dvs"},
                                      "layers": [{"name": "h", "type": "linear", "out": 8},
                                                 {"name": "o", "type": "linear", "out": 4}]},
                          "mapping": {"layers": {"h": [0], "o": [1]}}, **extra})


def test_two_cores_messages_and_dependencies_hand_worked():
    # h (16 -> 8) on core 0, o (8 -> 4) on core 1, T = 2, ideal NoC 10, DRAM 50.
    # core0 FP(h,t0): frame load 70, 4 + 2 nonzeros + 1 LIF = 7 -> [70, 77); spike message
    #   (aer 1*3 bits < bitmap 8) available 87. FP(h,t1): ready 77, start 147, 6 -> 153;
    #   message available 163.
    # core1 FP(o,t0): [87, 93). FP(o,t1): no input spikes, one empty window: [163, 169).
    #   LOSS: 6 + 2*1 = 8 -> [169, 177). BP(o,t1): delta 6+1 -> delta end 184, one nonzero
    #   delta * ceil(8/16) -> end 185; g(S_in) message (dense 8*16 = 128 bits) at 195.
    #   WG(o,t1): ready 184, 4 + 1 index + 1 (no nonzero inputs: the window costs 1) ->
    #   [184, 190). BP(o,t0): [185, 193), delta end 192, message at 203.
    #   WG(o,t0): ready 192, 6 -> [192, 198). UPD(o): 4 + 32/16 -> [198, 204).
    # core0 BP(h,t1): ready 195 (no transposed phase) 7 -> [195, 202). WG(h,t1): [202, 208).
    #   BP(h,t0): ready 203 -> [203, 210). WG(h,t0): [210, 216). UPD(h): 4 + 128/16 ->
    #   [216, 228) = the end of the step.
    wl = two_layer_workload()
    net = build_network(wl)
    tr = make_trace(net, {
        "h": {"in_mask": bits(1, 2, 16, {(0, 0): [0, 1], (0, 1): [2]}),
              "out_spikes": bits(1, 2, 8, {(0, 0): [0]}),
              "gu_mask": bits(1, 2, 8, {(0, 0): [1], (0, 1): [1]})},
        "o": {"in_mask": bits(1, 2, 8, {(0, 0): [0]}),
              "gu_mask": bits(1, 2, 4, {(0, 0): [0], (0, 1): [2]})}})
    arch = api.load_arch("paper-20core", ["chip.cores=2", "noc.model=ideal", "dram.model=ideal"])
    res = api.run(arch, wl, trace=tr)
    t = tiles(res.timing)
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
    assert res.timing.total_cycles == 228
    spikes = [m for m in res.timing.messages if m.kind == "spike"]
    assert [(m.send, m.available, m.payload_bits) for m in spikes] == [(77, 87, 3),
                                                                      (153, 163, 0)]
    grads = [m for m in res.timing.messages if m.kind == "grad"]
    assert [(m.send, m.available, m.payload_bits) for m in grads] == [(185, 195, 128),
                                                                     (193, 203, 128)]
    assert all(r.bank_stalls == 0 for r in res.timing.tiles)


def test_bp_wg_overlap_off_makes_wg_wait_for_bp_end():
    wl = two_layer_workload()
    net = build_network(wl)
    tr = make_trace(net, {"o": {"in_mask": bits(1, 2, 8, {(0, 0): [0]}),
                                "gu_mask": bits(1, 2, 4, {(0, 0): [0], (0, 1): [2]})}})
    on = tiles(api.run(api.load_arch("paper-20core", ["chip.cores=2"]), wl, trace=tr).timing)
    off = tiles(api.run(api.load_arch("paper-20core", ["chip.cores=2",
                                                       "schedule.bp_wg_overlap=false"]),
                        wl, trace=tr).timing)
    k = ("WG", "o", 0, 0, 1)
    assert on[k].ready == on[("BP", "o", 0, 0, 1)].delta_end
    assert off[k].ready == off[("BP", "o", 0, 0, 1)].end == on[k].ready + 1


def small_conv_workload(batch=3, T=2, **kw):
    d = {"name": "conv", "time_steps": T, "batch": batch,
         "network": {"input": {"shape": [2, 8, 8], "coding": "dvs"}, "layers": [
             {"name": "c1", "type": "conv2d", "out_channels": 8},
             {"type": "maxpool", "kernel": 2},
             {"name": "c2", "type": "conv2d", "out_channels": 12, "stride": 2},
             {"type": "flatten"},
             {"name": "fc", "type": "linear", "out": 5}]},
         "traces": {"source": "synthetic", "seed": 4, "input_density": 0.4,
                    "firing": 0.3, "gradient": 0.4}}
    d.update(kw)
    return load_workload(d)


CASES = [
    ["chip.cores=1"],
    ["chip.cores=3", "core.sram.weights.banks=1", "core.sram.weights.width_bits=512",
     "core.sram.weights.size_kib=1"],
    ["chip.cores=2", "schedule.layer_pipeline=false", "noc.model=ideal", "noc.ideal_latency=0"],
    ["chip.cores=4", "mapping.strategy=data-parallel", "dram.model=ideal", "dram.ideal_latency=0"],
    ["chip.cores=3", "mapping.strategy=output-split", "schedule.fp_bp_overlap=false",
     "core.sram.wgrad.banks=1", "core.sram.wgrad.size_kib=2"],
    ["chip.cores=2", "core.sram.weights.size_kib=4", "core.sram.wgrad.size_kib=4",
     "core.sram.state.size_kib=2"],
]


@pytest.mark.parametrize("sets", CASES)
def test_schedule_invariants(sets):
    wl = small_conv_workload()
    arch = api.load_arch("paper-20core", sets)
    res = api.run(arch, wl)
    tm = res.timing
    t = tiles(tm)
    model = ChipModel(arch, res.network, res.trace, res.placement)
    # every tile of every program ran exactly once
    want = {tile.key for progs in model.programs.values() for p in progs.values() for tile in p}
    assert set(t) == want and len(tm.tiles) == len(want)
    S = arch.schedule.samples_in_flight if arch.schedule.fp_bp_overlap else 1
    R = len(res.placement.replicas)
    for core, progs in model.programs.items():
        for eng, prog in progs.items():
            prev = 0
            for tile in prog:
                r = t[tile.key]
                # in order, no overlap on an engine; ready <= start <= end
                assert prev <= r.ready <= r.start < r.end
                prev = r.end
                # occupancy = isolated length + bank stalls
                length, dl, _, _ = model.coster.work(tile, model.part_of(tile))
                assert r.end - r.start == length + r.bank_stalls
                if tile.kind == "BP":
                    assert r.start + dl <= r.delta_end <= r.end
                if tile.kind == "WG":
                    bp = t[("BP",) + tile.key[1:]]
                    assert r.ready >= (bp.delta_end if arch.schedule.bp_wg_overlap else bp.end)
                if tile.kind == "FP" and tile.b - S * R >= 0:
                    first = [x for x in prog if x.b == tile.b][0]
                    if first == tile:
                        old = [t[x.key].end for p in progs.values() for x in p
                               if x.b == tile.b - S * R and x.kind in ("LOSS", "BP", "WG")]
                        assert r.ready >= max(old)
    for m in tm.messages:
        assert m.available >= m.send
    assert tm.total_cycles == max([r.end for r in tm.tiles] + [m.available for m in tm.messages]
                                  + [d.complete for d in tm.dram])


def test_layer_barrier_without_layer_pipelining():
    wl = small_conv_workload()
    arch = api.load_arch("paper-20core", ["chip.cores=3", "schedule.layer_pipeline=false",
                                          "mapping.strategy=layer-pipelined"])
    res = api.run(arch, wl)
    t = tiles(res.timing)
    for b in range(3):
        last_c1 = max(r.end for r in res.timing.tiles if r.kind == "FP" and r.layer == "c1"
                      and r.b == b)
        assert t[("FP", "c2", 0, b, 0)].ready >= last_c1
        last_c2 = max(r.end for r in res.timing.tiles if r.kind == "BP" and r.layer == "c2"
                      and r.b == b)
        assert t[("BP", "c1", 0, b, 1)].ready >= last_c2


def test_data_parallel_reduces_weight_gradients_on_replica_zero():
    wl = small_conv_workload(batch=4)
    arch = api.load_arch("paper-20core", ["chip.cores=2", "mapping.strategy=data-parallel"])
    res = api.run(arch, wl)
    assert len(res.placement.replicas) == 2
    wg_msgs = [m for m in res.timing.messages if m.kind == "wgrad"]
    w_msgs = [m for m in res.timing.messages if m.kind == "weights"]
    n_parts = sum(len(p) for p in res.placement.replicas[1].layers.values())
    assert len(wg_msgs) == len(w_msgs) == n_parts
    t = tiles(res.timing)
    for m in wg_msgs:
        _, layer, part, r = m.tag
        assert t[("UPD", layer, part, -1, -1)].ready >= m.available
    # the updated weights sent back to replica 1 are the last thing of the step
    assert res.timing.total_cycles == max(m.available for m in w_msgs)


def test_spilled_weights_are_loaded_by_every_fp_and_bp_tile():
    wl = small_conv_workload(batch=1, T=2)
    arch = api.load_arch("paper-20core", ["chip.cores=1", "core.sram.weights.size_kib=2",
                                          "noc.model=ideal", "dram.model=ideal"])
    res = api.run(arch, wl)
    spilled = [(p.layer, p.index) for p in res.placement.parts_on_core(0)
               if not p.tensors["W"].resident]
    assert spilled
    t = tiles(res.timing)
    for layer, part in spilled:
        pl = res.placement.replicas[0].layers[layer][part]
        nbursts = -(-pl.tensors["W"].nbytes // 64)
        for step in range(2):
            fp = t[("FP", layer, part, 0, step)]
            assert fp.start - fp.ready >= 70    # 10 + 50 + 10 for the loads
            got = [d for d in res.timing.dram if d.tensor == "weights" and not d.write
                   and pl.tensors["W"].dram_addr <= d.address
                   < pl.tensors["W"].dram_addr + nbursts * 64]
            assert len(got) == nbursts * (2 + 2 + 1)   # FP and BP at both steps, UPD
    assert res.summary["dram_read_bytes_weights"] > 0


def test_same_inputs_give_identical_results():
    wl = small_conv_workload()
    arch = api.load_arch("paper-20core", ["chip.cores=3", "core.sram.weights.banks=1",
                                          "core.sram.weights.width_bits=512"])
    a, b = api.run(arch, wl), api.run(arch, wl)
    assert a.summary == b.summary
    assert a.timing.tiles == b.timing.tiles
    assert list(a.timing.messages) == list(b.timing.messages)
    assert list(a.timing.dram) == list(b.timing.dram)
    assert a.timing.counters == b.timing.counters
    assert a.stats.to_json() == b.stats.to_json()


def test_simulate_contract_signature():
    wl = small_conv_workload(batch=1, T=1)
    arch = api.load_arch("paper-20core", ["chip.cores=2"])
    net = build_network(wl)
    tr = api.get_traces(wl, net)
    pl = map_network(arch, net, wl, tr)
    res = simulate(arch, net, tr, pl, momentum=True)
    assert res.total_cycles > 0 and res.tiles
    upd = [r for r in res.tiles if r.kind == "UPD"]
    assert upd and all(r.end > r.start for r in upd)


@pytest.mark.slow
def test_vgg11_on_20_cores_invariants_and_determinism():
    """``pytest -m slow tests/test_chip.py``: the full VGG-11 step twice on paper-20core."""
    a = api.run("paper-20core", "vgg11-cifar10")
    b = api.run("paper-20core", "vgg11-cifar10")
    assert a.summary == b.summary and a.timing.tiles == b.timing.tiles
    model = ChipModel(a.arch, a.network, a.trace, a.placement)
    for r in a.timing.tiles:
        tile = next(t for p in model.programs[r.core].values() for t in p if t.key == r.key)
        length = model.coster.work(tile, model.part_of(tile))[0]
        assert r.end - r.start == length + r.bank_stalls
