"""The discrete-event chip model end to end: schedule invariants on random cases, spilled
tensors, data parallelism, determinism. (Its hand-worked whole-step cases -- tile times
through dependencies, DRAM loads and messages -- run on both models in
tests/test_handworked.py.)"""
import pytest

from neurosim import api
from neurosim.hw.chip import ChipModel, simulate
from neurosim.mapping import map_network
from neurosim.workload import build_network, load_workload


def tiles(res):
    return {r.key: r for r in res.tiles}


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


@pytest.mark.parametrize("memory", [["noc.model=ideal", "dram.model=ideal"], []])
def test_prediction_horizon_changes_no_result(monkeypatch, memory):
    """While an engine of a core waits for its loads, the core's SRAM arbiter predicts its
    next milestone no further than a horizon (chip.PREDICT_SPAN, doubled each time): a
    speed setting. From one cycle to no bound at all, the step is the same."""
    from neurosim.hw import chip as chip_mod
    from neurosim.hw.sram import CoreArbiter

    wl = small_conv_workload(batch=3, T=2)   # weights and weight gradients spilled
    arch = api.load_arch("paper-20core", ["chip.cores=1", "core.sram.weights.size_kib=2",
                                          "core.sram.wgrad.size_kib=2"] + memory)
    reached = []
    predict = CoreArbiter.predict

    def spy(self, horizon=1 << 62):
        when = predict(self, horizon)
        if horizon < 1 << 40 and when == max(horizon, self.sync + 1) and self._spec:
            reached.append(when)      # co-simulated up to the horizon, no milestone before
        return when

    monkeypatch.setattr(CoreArbiter, "predict", spy)
    runs = {}
    for span in (1, chip_mod.PREDICT_SPAN, 1 << 62):
        monkeypatch.setattr(chip_mod, "PREDICT_SPAN", span)
        reached.clear()
        runs[span] = api.run(arch, wl), len(reached)
    assert runs[1][1] > 0                   # the horizon was reached, and resumed from
    ref = runs[1 << 62][0]
    for span in (1, chip_mod.PREDICT_SPAN):
        got = runs[span][0]
        assert got.summary == ref.summary
        assert got.timing.tiles == ref.timing.tiles
        assert list(got.timing.dram) == list(ref.timing.dram)
        assert got.stats.to_json() == ref.stats.to_json()


def test_quiet_deliveries_change_no_result(monkeypatch):
    """Messages and stores no tile waits on yet are delivered without waking the chip
    (``ChipModel._meets_on_delivery``, ``MemorySystem.set_wakes``): on a spilling
    multi-core step with the cycle-level NoC and DRAM, the same step as when every
    delivery wakes it, with far fewer wake-ups."""
    from neurosim.memsys.cycle import CycleMemorySystem

    wl = small_conv_workload(batch=2, T=2)
    arch = api.load_arch("paper-20core", ["chip.cores=4", "core.sram.weights.size_kib=2",
                                          "core.sram.wgrad.size_kib=2"])
    calls = {"settled": 0, "advance": 0}
    settled, advance = CycleMemorySystem.settled, CycleMemorySystem.advance

    def count_settled(self):
        out = settled(self)
        calls["settled"] += len(out)
        return out

    def count_advance(self, cycle):
        calls["advance"] += 1
        return advance(self, cycle)

    monkeypatch.setattr(CycleMemorySystem, "settled", count_settled)
    monkeypatch.setattr(CycleMemorySystem, "advance", count_advance)
    quiet = api.run(arch, wl)
    quiet_calls = dict(calls)
    monkeypatch.setattr(CycleMemorySystem, "set_wakes", lambda self, h, wakes: False)
    calls.update(settled=0, advance=0)
    woken = api.run(arch, wl)
    assert quiet_calls["settled"] > 0 and calls["settled"] == 0
    assert quiet_calls["advance"] < calls["advance"]
    assert quiet.summary == woken.summary
    assert quiet.timing.tiles == woken.timing.tiles
    assert list(quiet.timing.messages) == list(woken.timing.messages)
    assert list(quiet.timing.dram) == list(woken.timing.dram)
    assert quiet.stats.to_json() == woken.stats.to_json()
