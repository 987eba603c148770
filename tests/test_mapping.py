"""The mapper: strategies, the SRAM capacity rule (parts split until their working set fits),
residency and addresses, and the ideal memory system's bulk DRAM transfers."""
import math

import pytest

from neurosim import api
from neurosim.arch import SRAM_BUFFERS, buffer_bytes
from neurosim.hw.mapping import map_network, part_footprint
from neurosim.hw.memsys import IdealMemorySystem, PORT_CORE, PORT_DRAM
from neurosim.workload import build_network, load_workload


def vgg():
    wl = load_workload("vgg11-cifar10")
    net = build_network(wl)
    return wl, net, api.get_traces(wl, net)


def check_placement(arch, net, pl):
    """Every part fits its buffers; resident tensors fit the buffers without overlapping;
    spilled tensors have burst-aligned, disjoint DRAM ranges."""
    for r in pl.replicas:
        for l in net.layers:
            parts = r.layers[l.name]
            assert parts[0].out_lo == 0 and parts[-1].out_hi == (
                l.out_channels if l.kind == "conv" else l.n_out)
            for p in parts:
                ws = part_footprint(arch, net, l, p.out_hi - p.out_lo, False, r.index == 0,
                                    False)
                assert all(ws[b] <= buffer_bytes(arch, b) for b in SRAM_BUFFERS)
    spans = []
    cores = {c for r in pl.replicas for c in r.cores()}
    for core in cores:
        for buf in ("weights", "wgrad", "state", "spikes"):
            width = arch.core.sram[buf].width_bits
            words = buffer_bytes(arch, buf) * 8 // width
            used = []
            for p in pl.parts_on_core(core):
                for name, tp in p.tensors.items():
                    if tp.resident and name not in ("GU", "GS") and _buf(name) == buf:
                        used.append((tp.sram_base, name, tp.nbytes))
            used.sort()
            for (a, *_), (b, *_) in zip(used, used[1:]):
                assert a < b
            if used:
                last = used[-1]
                assert last[0] + math.ceil(last[2] * 8 / width) <= words
    for r in pl.replicas:
        for parts in r.layers.values():
            for p in parts:
                for name, tp in p.tensors.items():
                    if not tp.resident:
                        assert tp.dram_addr % arch.dram.burst_bytes == 0
                        n = net.batch * net.time_steps if name in ("saved", "saved_in") else 1
                        spans.append((tp.dram_addr, tp.dram_addr + max(tp.stride * n, tp.nbytes)))
    spans.sort()
    assert spans[0][0] >= pl.input_frame_stride * net.batch * net.time_steps
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0


def _buf(name):
    from neurosim.hw.placement import TENSORS
    return TENSORS[name][0]


@pytest.mark.parametrize("cores", [1, 2, 7, 20])
def test_auto_mapping_of_vgg11_is_consistent(cores):
    wl, net, tr = vgg()
    arch = api.load_arch("paper-20core", [f"chip.cores={cores}"])
    pl = map_network(arch, net, wl, tr)
    assert pl.replicas[0].cores() == list(range(cores))
    assert len(pl.replicas[0].layers["fc"]) == 1
    check_placement(arch, net, pl)


def test_big_layer_is_split_on_its_core_until_it_fits():
    # conv5 has 512*256*9 FP16 weights = 2.36 MB: alone on a core with 1 MiB of weights SRAM
    # its parts must each hold at most 1 MiB of weights -> at least 3 parts.
    wl, net, tr = vgg()
    arch = api.load_arch("paper-20core", ["chip.cores=1"])
    pl = map_network(arch, net, wl, tr)
    parts = pl.replicas[0].layers["conv5"]
    assert len(parts) >= 3
    assert all((p.out_hi - p.out_lo) * 256 * 9 * 2 <= 1024 * 1024 for p in parts)
    assert any("conv5" in n and "split" in n for n in pl.notes)
    assert not parts[-1].tensors["W"].resident


def test_strategies():
    wl, net, tr = vgg()
    arch = api.load_arch("paper-20core", ["chip.cores=4", "mapping.strategy=output-split"])
    pl = map_network(arch, net, wl, tr)
    assert [p.core for p in pl.replicas[0].layers["conv2"]][:4] == [0, 1, 2, 3]
    arch = api.load_arch("paper-20core", ["chip.cores=4", "mapping.strategy=layer-pipelined"])
    pl = map_network(arch, net, wl, tr)
    for parts in pl.replicas[0].layers.values():
        assert len({p.core for p in parts}) == 1
    arch = api.load_arch("paper-20core", ["chip.cores=8", "mapping.strategy=data-parallel"])
    pl = map_network(arch, net, wl, tr)
    assert len(pl.replicas) == 4 and [r.samples for r in pl.replicas] == [[0], [1], [2], [3]]
    shapes = [[(p.out_lo, p.out_hi) for parts in r.layers.values() for p in parts]
              for r in pl.replicas]
    assert all(s == shapes[0] for s in shapes)
    assert all(set(a.cores()).isdisjoint(b.cores()) for a in pl.replicas for b in pl.replicas
               if a is not b)


def test_ideal_memory_system_bulk_transfer_records():
    # 3 bursts from byte 64 on 2 channels interleaved at the lowest burst-address bit
    # (RoBaRaCoCh): bursts 1, 2, 3 -> channels 1, 0, 1. Read: request at 5, at the
    # controller (node 0) 5 + 10, data at 15 + 50, response back at 65 + 10 = 75.
    arch = api.load_arch("paper-20core", ["noc.ideal_latency=10", "dram.ideal_latency=50"])
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
