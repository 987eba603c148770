"""The mapper: strategies and objectives, the SRAM capacity rule (parts split until their
working set fits), residency and addresses, the exact DRAM traffic of a placement (spec 5.2),
and the ideal memory system's bulk DRAM transfers."""
import dataclasses
import math
from functools import lru_cache
from pathlib import Path

import pytest

from neurosim import api
from neurosim.arch import SRAM_BUFFERS, buffer_bytes
from neurosim.errors import DoesNotFit, InputError
from neurosim.mapping import layer_outputs, map_network, part_footprint
from neurosim.memsys.ideal import IdealMemorySystem
from neurosim.memsys.topology import PORT_CORE, PORT_DRAM
from neurosim.mapping import placement_traffic
from neurosim.mapping.footprint import TensorSizes
from neurosim.mapping.placement import Placement, build_placement
from neurosim.mapping.footprint import PER_STEP_TENSORS, TENSORS
from neurosim.workload import build_network, load_workload

SHIPPED = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "workloads")
                 .glob("*.yaml"))
# Most tests here pin the placements of the first versions' large buffers (VGG-11 fits
# entirely); the edge-sized default is checked on its own below.
BIG = "paper-20core-85mib"
# The buffer sizes the 85 MiB chip had before it was sized for the shipped workloads: with
# them, one output channel of these workloads' largest layers fits nowhere (its per-tile
# working set), and the error names this buffer.
SMALL = ["core.sram.gradients.size_kib=256", "core.sram.spikes.size_kib=128",
         "core.sram.wgrad.size_kib=1024"]
NEEDS_BIGGER = {"gesture-dvs128": "gradients", "resnet18-imagenet": "spikes",
                "resnet19-cifar10": "gradients", "vgg-cifar10dvs": "gradients"}
# The default suite maps a few shipped workloads (a small one, the flagship, one that needs
# the bigger buffers); `pytest -m slow` maps all of them.
FAST_SHIPPED = ("mlp-digits", "vgg11-cifar10", "vgg-cifar10dvs")


def shipped(fast=FAST_SHIPPED):
    return [name if name in fast else pytest.param(name, marks=pytest.mark.slow)
            for name in SHIPPED]


@lru_cache(maxsize=None)
def loaded(name):
    wl = load_workload(name)
    net = build_network(wl)
    return wl, net, api.get_traces(wl, net)


def vgg():
    return loaded("vgg11-cifar10")


def traffic_total(pl, net, arch):
    return sum(r + w for r, w in placement_traffic(pl, net, net.time_steps,
                                                   arch.dram.burst_bytes).values())


def check_placement(arch, net, pl, momentum=False, state_full=False):
    """The rules of spec 1.1 and 5.1: parts cover every layer's channels in order; the output
    layer has one part per replica; replicas split identically on disjoint cores, R <= batch;
    every part's per-tile working set fits each buffer; per core and buffer the working
    region, the staging region (the largest sum of one part's spilled instances) and every
    resident tensor (all its instances) fit the buffer without overlapping, and spilled
    tensors are staged at the staging base; spilled tensors have burst-aligned, disjoint
    DRAM ranges after the input frames."""
    B = sum(len(r.samples) for r in pl.replicas)
    T = net.time_steps
    R = len(pl.replicas)
    assert 1 <= R <= B
    S = arch.schedule.samples_in_flight if arch.schedule.fp_bp_overlap else 1
    caps = {b: buffer_bytes(arch, b) for b in SRAM_BUFFERS}
    shapes = []
    for r in pl.replicas:
        assert len(r.layers[net.output_layer.name]) == 1
        shape = []
        for l in net.layers:
            bounds = [(p.out_lo, p.out_hi) for p in r.layers[l.name]]
            assert bounds[0][0] == 0 and bounds[-1][1] == layer_outputs(l)
            assert all(lo < hi for lo, hi in bounds)
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            shape += bounds
            for p in r.layers[l.name]:
                ws = part_footprint(arch, net, l, p.n_ch, momentum, r.index == 0, state_full)
                assert all(ws[b] <= caps[b] for b in SRAM_BUFFERS), (l.name, p.n_ch, ws)
        shapes.append(shape)
        held = min(S, len(r.samples)) * T
        for core in r.cores():
            parts = pl.parts_on_core(core)
            reads_input = any(e.src == "input" for p in parts for e in net[p.layer].edges)
            for buf in ("weights", "wgrad", "state", "spikes"):
                width = arch.core.sram[buf].width_bits

                def words(nbytes):
                    return math.ceil(nbytes * 8 / width)

                cap_words = caps[buf] * 8 // width
                work = words(pl.input_frame_bytes) if buf == "spikes" and reads_input else 0
                staging = max(sum(tp.nbytes for name, tp in p.tensors.items()
                                  if TENSORS[name][0] == buf and not tp.resident)
                              for p in parts)
                regions = [(0, work), (work, work + words(staging))]
                resident = 0
                for p in parts:
                    for name, tp in p.tensors.items():
                        if TENSORS[name][0] != buf:
                            continue
                        if tp.resident:
                            n = held if name in PER_STEP_TENSORS else 1
                            regions.append((tp.sram_base, tp.sram_base + words(tp.nbytes * n)))
                            resident += words(tp.nbytes * n)
                        else:
                            assert tp.sram_base == work
                # the sum of what the buffer holds fits it, and nothing overlaps
                assert work + words(staging) + resident <= cap_words, (core, buf)
                regions = sorted(x for x in regions if x[1] > x[0])
                assert all(a[1] <= b[0] for a, b in zip(regions, regions[1:])), (core, buf)
                assert not regions or regions[-1][1] <= cap_words
            gwidth = arch.core.sram["gradients"].width_bits
            for p in parts:
                gu, gs = p.tensors["GU"], p.tensors.get("GS")
                assert gu.resident and gu.sram_base == 0
                if gs is not None:
                    assert gs.resident and gs.sram_base == math.ceil(gu.nbytes * 8 / gwidth)
    assert all(s == shapes[0] for s in shapes)
    assert all(set(a.cores()).isdisjoint(b.cores()) for a in pl.replicas for b in pl.replicas
               if a is not b)
    spans = []
    for r in pl.replicas:
        for parts in r.layers.values():
            for p in parts:
                for name, tp in p.tensors.items():
                    if not tp.resident:
                        assert tp.dram_addr % arch.dram.burst_bytes == 0
                        n = B * T if name in PER_STEP_TENSORS else 1
                        spans.append((tp.dram_addr, tp.dram_addr + max(tp.stride * n, tp.nbytes)))
    spans.sort()
    assert not spans or spans[0][0] >= pl.input_frame_stride * B * T
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0


# --------------------------------------------------------------------------- capacity


@pytest.mark.parametrize("name", shipped())
def test_shipped_workloads_fit_the_85mib_chip_or_the_error_names_the_buffer(name):
    wl, net, tr = loaded(name)
    for objective in ("balanced", "time"):
        arch = api.load_arch(BIG, [f"mapping.objective={objective}"])
        check_placement(arch, net, map_network(arch, net, wl, tr))
        small = api.load_arch(BIG, SMALL + [f"mapping.objective={objective}"])
        if name in NEEDS_BIGGER:
            with pytest.raises(InputError) as e:
                map_network(small, net, wl, tr)
            assert e.value.key == f"core.sram.{NEEDS_BIGGER[name]}.size_kib"
            assert "to hold one output channel" in e.value.expected
        else:
            check_placement(small, net, map_network(small, net, wl, tr))


@pytest.mark.parametrize("name", shipped())
def test_shipped_workloads_on_the_edge_sized_paper_20core(name):
    """paper-20core's buffers come from its area budget, not from the workloads
    (arch_configs/paper-20core.yaml): gradients (320 KiB) holds the largest CIFAR- or
    DVS-scale per-tile working set (vgg-cifar10dvs conv2, 297 KiB); ImageNet-scale
    resnet18-imagenet does not fit, and the mapper says which buffer."""
    wl, net, tr = loaded(name)
    arch = api.load_arch("paper-20core")
    if name == "resnet18-imagenet":
        with pytest.raises(DoesNotFit) as e:     # an InputError the studies list as a row
            map_network(arch, net, wl, tr)
        assert e.value.key.startswith("core.sram.")
        assert "to hold one output channel" in e.value.expected
    else:
        check_placement(arch, net, map_network(arch, net, wl, tr))


@pytest.mark.parametrize("cores", [1, 2, 4, 8, 20])
@pytest.mark.parametrize("name", shipped(("mlp-digits", "vgg11-cifar10")))
def test_residency_invariants_of_every_shipped_workload(name, cores):
    wl, net, tr = loaded(name)
    sets = [f"chip.cores={cores}"]
    momentum = wl.optimizer.type == "momentum"
    # (the big workloads' mapping searches are slow: one objective keeps CI short)
    objectives = ["balanced"] if name in NEEDS_BIGGER else ["balanced", "traffic", "time"]
    for objective in objectives:
        arch = api.load_arch(BIG, sets + [f"mapping.objective={objective}"])
        pl = map_network(arch, net, wl, tr)
        assert set(pl.replicas[0].cores()) <= set(range(cores))
        check_placement(arch, net, pl, momentum)


@pytest.mark.parametrize("objective", ["balanced", "traffic", "time"])
@pytest.mark.parametrize("cores", [2, 3])
def test_residency_invariants_with_small_buffers(cores, objective):
    # Many small tensors: rounding each one up to whole words must not push the last one
    # past the end of its buffer (the fill counts words, as the addresses do).
    wl, net, tr = vgg()
    arch = api.load_arch(BIG, [f"chip.cores={cores}", f"mapping.objective={objective}",
                                          "core.sram.weights.size_kib=64",
                                          "core.sram.state.size_kib=32",
                                          "core.sram.spikes.size_kib=8"])
    check_placement(arch, net, map_network(arch, net, wl, tr))


def test_big_layer_is_split_on_its_core_until_it_fits():
    # conv5 has 512*256*9 FP16 weights = 2.36 MB: alone on a core with 1 MiB of weights SRAM
    # its parts must each hold at most 1 MiB of weights -> at least 3 parts.
    wl, net, tr = vgg()
    arch = api.load_arch(BIG, ["chip.cores=1", "mapping.objective=time"])
    pl = map_network(arch, net, wl, tr)
    parts = pl.replicas[0].layers["conv5"]
    assert len(parts) >= 3
    assert all((p.out_hi - p.out_lo) * 256 * 9 * 2 <= 1024 * 1024 for p in parts)
    assert any("conv5" in n and "split" in n for n in pl.notes)
    assert not parts[-1].tensors["W"].resident
    # the other objectives cut it finer (small parts keep the staging region small)
    for objective in ("balanced", "traffic"):
        arch = api.load_arch(BIG, ["chip.cores=1", f"mapping.objective={objective}"])
        parts = map_network(arch, net, wl, tr).replicas[0].layers["conv5"]
        assert len(parts) >= 3
        assert all((p.out_hi - p.out_lo) * 256 * 9 * 2 <= 1024 * 1024 for p in parts)


@pytest.mark.parametrize("objective", ["balanced", "traffic", "time"])
def test_capacity_errors_do_not_depend_on_the_objective(objective):
    wl, net, tr = vgg()
    # one output channel of conv6 (the first layer with 512 input channels) needs 512*9 FP16
    # weights = 9 KiB
    arch = api.load_arch(BIG, ["core.sram.weights.size_kib=8",
                                          f"mapping.objective={objective}"])
    with pytest.raises(InputError) as e:
        map_network(arch, net, wl, tr)
    assert e.value.key == "core.sram.weights.size_kib" and "layer conv6" in e.value.expected
    wl, net, tr = loaded("mlp-digits")
    # the output layer fc2 (128 x 10 FP16 weights = 2.5 KiB) must stay in one part
    arch = api.load_arch(BIG, ["core.sram.weights.size_kib=2",
                                          f"mapping.objective={objective}"])
    with pytest.raises(InputError) as e:
        map_network(arch, net, wl, tr)
    assert e.value.key == "core.sram.weights.size_kib" and "output layer fc2" in e.value.expected


def test_objective_must_be_one_of_the_choices():
    with pytest.raises(InputError) as e:
        api.load_arch(BIG, ["mapping.objective=fastest"])
    assert e.value.key == "mapping.objective"


# --------------------------------------------------------------------------- traffic


def test_placement_traffic_by_hand_and_by_simulation():
    # mlp-digits (64-128-10, B=16, T=8) on one core with 16 KiB of weights SRAM: fc1's W is
    # 64*128*2 = 16384 B, fc2's 128*10*2 = 2560 B. Together they do not fit, and whichever
    # is resident leaves no room for the other's staging, so both spill (spec 5.1). Spec 5.2:
    # a spilled W is loaded by every FP and BP tile (2*B*T = 256) and by UPD, stored by UPD.
    # The input frame (64 rate-coded FP16 values = 128 B, 2 bursts) is loaded by each of
    # fc1's 128 FP tiles.
    wl, net, tr = loaded("mlp-digits")
    arch = api.load_arch("single-core", ["core.sram.weights.size_kib=16",
                                         "mapping.objective=time"])
    pl = map_network(arch, net, wl, tr)
    assert [p.tensors["W"].resident for l in ("fc1", "fc2")
            for p in pl.replicas[0].layers[l]] == [False, False]
    traffic = placement_traffic(pl, net, net.time_steps, arch.dram.burst_bytes)
    assert traffic == {"weights": [257 * (16384 + 2560), 16384 + 2560], "input": [128 * 128, 0]}
    res = api.run(arch, wl, trace=tr, placement=pl)
    s = res.summary
    assert s["dram_read_bytes_weights"] == 257 * (16384 + 2560)
    assert s["dram_write_bytes_weights"] == 16384 + 2560
    assert s["dram_read_bytes_input"] == 128 * 128
    assert s["dram_read_bytes"] + s["dram_write_bytes"] == traffic_total(pl, net, arch)


def test_spilled_state_and_momentum_traffic_matches_the_simulation():
    # convnet-digits with small state and wgrad buffers and the momentum optimizer: U, saved,
    # GW and M spill; placement_traffic must count what the simulation moves, kind by kind.
    # (Synthetic traces: what spills does not depend on training the network first.)
    wl = load_workload("convnet-digits", ["optimizer.type=momentum", "traces.source=synthetic"])
    net = build_network(wl)
    tr = api.get_traces(wl, net)
    arch = api.load_arch(BIG, ["chip.cores=2", "core.sram.state.size_kib=4",
                                          "core.sram.wgrad.size_kib=8",
                                          "core.sram.spikes.size_kib=2"])
    pl = map_network(arch, net, wl, tr)
    check_placement(arch, net, pl, momentum=True)
    traffic = placement_traffic(pl, net, net.time_steps, arch.dram.burst_bytes)
    assert {"state", "wgrad", "optimizer"} <= set(traffic)
    s = api.run(arch, wl, trace=tr, placement=pl).summary
    for kind, (rd, wr) in traffic.items():
        assert (s[f"dram_read_bytes_{kind}"], s[f"dram_write_bytes_{kind}"]) == (rd, wr), kind
    assert s["dram_read_bytes"] + s["dram_write_bytes"] == traffic_total(pl, net, arch)


def test_placement_to_dict_is_asdict_and_round_trips():
    # Placement.to_dict is written field by field for speed: it must stay what
    # dataclasses.asdict gives (every field, in order), on spilled tensors and two replicas.
    wl = load_workload("convnet-digits", ["optimizer.type=momentum", "traces.source=synthetic",
                                          "batch=2"])
    net = build_network(wl)
    tr = api.get_traces(wl, net)
    arch = api.load_arch(BIG, ["chip.cores=4", "mapping.strategy=data-parallel",
                               "core.sram.state.size_kib=4", "core.sram.wgrad.size_kib=8"])
    pl = map_network(arch, net, wl, tr)
    assert len(pl.replicas) == 2
    assert any(not tp.resident for r in pl.replicas for parts in r.layers.values()
               for p in parts for tp in p.tensors.values())
    d = pl.to_dict()
    assert d == dataclasses.asdict(pl) and list(d) == list(dataclasses.asdict(pl))
    assert Placement.from_dict(d).to_dict() == d


def test_placement_refuses_a_tensor_memo_of_other_options():
    wl = load_workload("convnet-digits", ["traces.source=synthetic"])
    net = build_network(wl)
    arch = api.load_arch(BIG, ["chip.cores=2"])
    layout = {l.name: [(0, 0, layer_outputs(l))] for l in net.layers}
    memo = TensorSizes(arch, net, momentum=True, state_full=False)
    with pytest.raises(ValueError, match="another arch, network or training options"):
        build_placement(arch, net, [layout], momentum=False, sizes=memo)
    same = TensorSizes(arch, net, momentum=False, state_full=False)
    assert (build_placement(arch, net, [layout], sizes=same).to_json()
            == build_placement(arch, net, [layout]).to_json())


def first_fit_cores(net, capacity: int, bits: int = 16) -> int:
    """Buffers of ``capacity`` bytes needed to hold every layer's weights when whole output
    channels are packed in order, several layers' channels per buffer."""
    cores, room = 1, capacity
    for l in net.layers:
        per_channel = l.n_weights // layer_outputs(l) * bits // 8
        for _ in range(layer_outputs(l)):
            if per_channel > room:
                cores, room = cores + 1, capacity
            room -= per_channel
    return cores


def vgg11_traffic_placement():
    """VGG-11 on paper-20core-85mib (1 MiB wgrad buffers) mapped by the ``time`` and the
    ``traffic`` objectives: (workload, network, trace, time arch and placement, traffic arch
    and placement)."""
    wl, net, tr = vgg()
    one_mib = ["core.sram.wgrad.size_kib=1024"]  # the wgrad size the figures below assume
    legacy = api.load_arch(BIG, one_mib + ["mapping.objective=time"])
    arch = api.load_arch(BIG, one_mib + ["mapping.objective=traffic"])
    return wl, net, tr, legacy, map_network(legacy, net, wl, tr), arch, \
        map_network(arch, net, wl, tr)


def test_vgg11_traffic_objective_keeps_every_weight_resident():
    wl, net, tr, legacy, old, arch, pl = vgg11_traffic_placement()
    # Feasible: 18.45 MB of FP16 weights (and as many weight gradients), packed in whole
    # output channels, fit 18 of the 20 cores' 1 MiB weights (and wgrad) buffers.
    total = sum(l.n_weights * 2 for l in net.layers)
    assert total == 18_445_696 and total <= 20 * 1024 * 1024
    assert first_fit_cores(net, 1024 * 1024) == 18
    # the time objective streams conv8's W (and g(W)) from DRAM on every tile:
    # 155.7 MB + 4.7 MB of weights, 80.2 MB + 75.5 MB of weight gradients, 98 kB of input
    assert traffic_total(old, net, legacy) == 316_243_968
    check_placement(arch, net, pl)
    for parts in pl.replicas[0].layers.values():
        for p in parts:
            assert p.tensors["W"].resident and p.tensors["GW"].resident
    # only the network input is read: each frame (3*32*32 FP16 = 6 kB) by every part of
    # conv1 (kept in one part) once per sample and time step
    assert len(pl.replicas[0].layers["conv1"]) == 1
    assert traffic_total(pl, net, arch) == 4 * 4 * 6144


@pytest.mark.slow
def test_vgg11_traffic_objective_traffic_is_what_the_simulation_moves():
    """The placement's DRAM bytes above, simulated (the simulator's byte count against the
    table on small networks: test_placement_traffic_by_hand_and_by_simulation)."""
    wl, net, tr, legacy, old, arch, pl = vgg11_traffic_placement()
    s = api.run(arch, wl, trace=tr, placement=pl).summary
    simulated = s["dram_read_bytes"] + s["dram_write_bytes"]
    assert simulated == traffic_total(pl, net, arch)
    # only the network input is read: each frame (3*32*32 FP16 = 6 kB) by every part of
    # conv1 (kept in one part) once per sample and time step
    assert len(pl.replicas[0].layers["conv1"]) == 1
    assert simulated == s["dram_read_bytes_input"] == 4 * 4 * 6144
    assert simulated * 1000 < traffic_total(old, net, legacy)


# --------------------------------------------------------------------------- objectives


def test_objectives_choose_different_mappings():
    wl, net, tr = vgg()
    maps = {o: map_network(api.load_arch(BIG, [f"mapping.objective={o}"]), net, wl, tr)
            for o in ("time", "traffic", "balanced")}
    layouts = {o: [(p.core, p.out_lo, p.out_hi) for ps in pl.replicas[0].layers.values()
                   for p in ps] for o, pl in maps.items()}
    assert len({str(v) for v in layouts.values()}) == 3
    # time: the mapper as it was -- conv8 cut into 5 parts on core 19, all streamed
    conv8 = maps["time"].replicas[0].layers["conv8"]
    assert [p.core for p in conv8] == [19] * 5
    assert not any(p.tensors["W"].resident for p in conv8)
    assert not any(n.startswith("objective") for n in maps["time"].notes)
    for o in ("traffic", "balanced"):
        assert any(n.startswith(f"objective {o}: best of") for n in maps[o].notes)
    arch = api.load_arch(BIG)
    assert arch.mapping.objective == "balanced"
    assert map_network(arch, net, wl, tr).to_json() == maps["balanced"].to_json()


@pytest.mark.parametrize("objective", ["balanced", "traffic"])
def test_mapping_is_deterministic(objective):
    for name, cores in (("vgg11-cifar10", 20), ("convnet-digits", 3)):
        wl, net, tr = loaded(name)
        sets = [f"chip.cores={cores}", f"mapping.objective={objective}"]
        a = map_network(api.load_arch(BIG, sets), net, wl, tr)
        wl2 = load_workload(name)        # everything afresh
        net2 = build_network(wl2)
        b = map_network(api.load_arch(BIG, sets), net2, wl2,
                        api.get_traces(wl2, net2))
        assert a.to_json() == b.to_json()


@pytest.mark.parametrize("objective", ["balanced", "traffic", "time"])
def test_strategies(objective):
    wl, net, tr = vgg()
    o = f"mapping.objective={objective}"
    arch = api.load_arch(BIG, ["chip.cores=4", "mapping.strategy=output-split", o])
    pl = map_network(arch, net, wl, tr)
    assert [p.core for p in pl.replicas[0].layers["conv2"]][:4] == [0, 1, 2, 3]
    arch = api.load_arch(BIG, ["chip.cores=4", "mapping.strategy=layer-pipelined", o])
    pl = map_network(arch, net, wl, tr)
    for parts in pl.replicas[0].layers.values():
        assert len({p.core for p in parts}) == 1
    arch = api.load_arch(BIG, ["chip.cores=8", "mapping.strategy=data-parallel", o])
    pl = map_network(arch, net, wl, tr)
    assert len(pl.replicas) == 4 and [r.samples for r in pl.replicas] == [[0], [1], [2], [3]]
    check_placement(arch, net, pl)
    # R <= batch: 20 cores, batch 4 -> 4 replicas of 5 cores
    arch = api.load_arch(BIG, ["mapping.strategy=data-parallel", o])
    pl = map_network(arch, net, wl, tr)
    assert len(pl.replicas) == 4 and [r.cores() for r in pl.replicas][1][0] == 5
    check_placement(arch, net, pl)


def test_explicit_layout_wins_over_the_objective():
    _, net, tr = loaded("convnet-digits")
    wl = load_workload("convnet-digits", ["mapping.layers={conv1: [0, 1], conv3: [2]}"])
    for objective in ("balanced", "traffic"):
        arch = api.load_arch(BIG, ["chip.cores=4", f"mapping.objective={objective}"])
        pl = map_network(arch, net, wl, tr)
        assert pl.strategy == "explicit"
        got = {name: [p.core for p in ps] for name, ps in pl.replicas[0].layers.items()}
        # a layer not listed goes to the last core of the layer before it
        assert got == {"conv1": [0, 1], "conv2": [1], "conv3": [2], "fc": [2]}


# --------------------------------------------------------------------------- memory system


def test_ideal_memory_system_bulk_transfer_records():
    # 3 bursts from byte 64 on 2 channels interleaved at the lowest burst-address bit
    # (RoBaRaCoCh): bursts 1, 2, 3 -> channels 1, 0, 1. Read: request at 5, at the
    # controller (node 0) 5 + 10, data at 15 + 50, response back at 65 + 10 = 75.
    arch = api.load_arch(BIG, ["noc.ideal_latency=10", "dram.ideal_latency=50"])
    ms = IdealMemorySystem(arch)
    h = ms.dram_read(5, 7, 64, 192, "weights", ("t",))
    assert h.available == 75
    assert [(d.channel, d.address, d.arrive, d.complete) for d in ms.dram] == [
        (1, 64, 15, 65), (0, 128, 15, 65), (1, 192, 15, 65)]
    msgs = list(ms.messages)
    assert [(m.kind, m.src, m.dst, m.send, m.available, m.flits) for m in msgs[:2]] == [
        ("dram_read_req", (7, PORT_CORE), (0, PORT_DRAM), 5, 15, 1),
        ("dram_read_resp", (0, PORT_DRAM), (7, PORT_CORE), 65, 75, 1 + 4)]
    assert len(msgs) == len(ms.messages) == 6
    c = ms.counters
    assert c[("dram.ch1", "read_bytes")] == 128 and c[("dram.ch0", "read_bytes.weights")] == 64
    hops = 2 + 1                  # node 7 = (2, 1) to node 0 = (0, 0)
    assert c[("noc", "flits")] == 3 * (1 + 5)
    assert c[("noc", "link_flits")] == 3 * (1 + 5) * hops
    w = ms.dram_write(6, 7, 0, 1, "state")
    assert w.available == 6 + 10 + 50 and len(ms.dram) == 4
    assert ms.messages.summary_by_kind()["dram_write"] == (1, 5, 512)
    assert ms.next_event() == 66
    assert [x.id for x in ms.advance(74)] == [w.id]
    assert [x.id for x in ms.advance(75)] == [h.id] and ms.next_event() is None
