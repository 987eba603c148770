"""Cycle-level NoC (docs/microarchitecture.md section 6): zero-load closed form, hand-worked
contention, virtual channels, credit throttling, counters."""
import itertools

import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.hw.cycle_memsys import CycleMemorySystem
from neurosim.hw.memsys import packetize


def noc_cfg(*sets, cols=5, rows=4):
    return load_arch("paper-20core", ["noc.model=cycle", "dram.model=ideal",
                                      f"chip.mesh.cols={cols}", f"chip.mesh.rows={rows}",
                                      f"chip.cores={cols * rows}", *sets])


def hops(cols, a, b):
    return abs(a % cols - b % cols) + abs(a // cols - b // cols)


@pytest.mark.parametrize("rd, ld, buf, payload", [
    (2, 1, 4, 512),        # defaults, 5 flits
    (1, 1, 3, 0),          # head-only packet
    (3, 2, 7, 16 * 128),   # longest packet: 17 flits
    (1, 3, 8, 300),        # slow links
])
def test_zero_load_latency_every_pair_4x5(rd, ld, buf, payload):
    cfg = noc_cfg(f"noc.router_delay={rd}", f"noc.link_delay={ld}",
                  f"noc.buffer_flits={buf}")
    ms = CycleMemorySystem(cfg)
    F = packetize(payload, 128)[0]
    gap = 200  # every message finds an idle network
    expect = {}
    for k, (a, b) in enumerate(itertools.permutations(range(20), 2)):
        s = k * gap
        h = ms.send(s, (a, 0), (b, 0), payload, "spike")
        expect[h.id] = s + (hops(5, a, b) + 1) * rd + hops(5, a, b) * ld + F
    ms.drain()
    recs = ms.messages
    assert len(recs) == 380
    for rec, want in zip(recs, expect.values()):
        assert rec.available == want, (rec, want)


def test_zero_load_to_and_from_the_dram_port():
    # the controller endpoint (port 5) of node 0 is reached through router 0 like a core
    cfg = noc_cfg()
    ms = CycleMemorySystem(cfg)
    for k, a in enumerate(range(20)):
        ms.send(k * 100, (a, 0), (0, 5), 512, "spike")
        ms.send(k * 100 + 50, (0, 5), (a, 0), 0, "spike")
    ms.drain()
    for rec in ms.messages:
        h = hops(5, rec.src[0], rec.dst[0])
        F = 5 if rec.payload_bits else 1
        assert rec.available == rec.send + (h + 1) * 2 + h + F


def test_message_of_several_packets_back_to_back():
    # 3 packets of 17, 17 and 2 flits stream one flit per cycle: the last tail leaves the
    # source NI 36 flits after the first head
    ms = CycleMemorySystem(noc_cfg())
    payload = 2 * 16 * 128 + 100
    assert packetize(payload, 128) == [17, 17, 2]
    ms.send(0, (0, 0), (3, 0), payload, "grad")
    ms.drain()
    (rec,) = ms.messages
    assert (rec.packets, rec.flits) == (3, 36)
    assert rec.available == 0 + 4 * 2 + 3 * 1 + 36


def test_self_message_uses_no_noc():
    ms = CycleMemorySystem(noc_cfg())
    h = ms.send(7, (4, 0), (4, 0), 512, "spike")
    assert ms.next_event() == 7
    assert ms.advance(7) == [h] and h.available == 7
    assert ms.counters[("noc", "flits")] == 0


def _two_senders(vcs):
    """1x3 mesh. At cycle 0 node 1 sends X (5 flits) and node 0 sends A (5 flits), both to
    node 2: they share node 1's east output and node 2's ejection port."""
    cfg = noc_cfg(f"noc.vcs={vcs}", cols=3, rows=1)
    ms = CycleMemorySystem(cfg)
    x = ms.send(0, (1, 0), (2, 0), 512, "spike")
    a = ms.send(0, (0, 0), (2, 0), 512, "spike")
    ms.drain()
    return x.available, a.available


def test_contention_one_vc_hand_worked():
    # X: injected 0..4, leaves router 1 at 2..6, ejected at router 2 at 5..9 -> available 10.
    # A: head reaches router 1 at 3 (ready at 5) but the east VC is owned by X until X's
    # tail leaves at 6; at 7 one credit has come back (X's flit 1 was ejected at 6), so A
    # leaves router 1 at 7, 8, 9, 10, 11 (each credit returns just in time), reaches router
    # 2 at 8..12, is ejected at 10..14 -> available 15 (13 at zero load).
    assert _two_senders(1) == (10, 15)


def test_contention_two_vcs_hand_worked():
    # A's head takes east VC 1 at router 1 (cycle 5) and the output alternates round-robin:
    # router 1 sends X at 2, 3, 4, 6, 8 and A at 5, 7, 9, 10, 11. At router 2 the ejection
    # port is held by X from its head (5) to its tail (ready at 11): X is ejected at
    # 5, 6, 7, 9, 11 -> available 12; A follows at 12..16 -> available 17.
    assert _two_senders(2) == (12, 17)


def test_two_packets_to_one_destination_round_robin():
    # 3x1 mesh: nodes 0 and 2 both send 5 flits to node 1 at cycle 0. Both heads are ready
    # at router 1 at cycle 5; the ejection port's pointer starts at 0 and the first
    # requesting input from it is port 2 (east, from node 2): node 2 wins (5..9 -> 10),
    # node 0 follows (10..14 -> 15).
    ms = CycleMemorySystem(noc_cfg(cols=3, rows=1))
    w = ms.send(0, (0, 0), (1, 0), 512, "spike")
    e = ms.send(0, (2, 0), (1, 0), 512, "spike")
    ms.drain()
    assert (e.available, w.available) == (10, 15)


def test_small_buffer_throttles_a_single_packet():
    # buffer_flits = 2 < router_delay + 2*link_delay = 4: the credit loop limits a 5-flit
    # packet over one hop. Hand-worked: the source sends at 2, 3, 6, 7, 10 (each credit
    # returns 4 cycles after use), router 1 ejects at 5, 6, 9, 10, 13 -> available 14
    # (10 with enough buffering).
    ms = CycleMemorySystem(noc_cfg("noc.buffer_flits=2", cols=2, rows=1))
    h = ms.send(0, (0, 0), (1, 0), 512, "spike")
    ms.drain()
    assert h.available == 14
    ms = CycleMemorySystem(noc_cfg("noc.buffer_flits=4", cols=2, rows=1))
    h = ms.send(0, (0, 0), (1, 0), 512, "spike")
    ms.drain()
    assert h.available == 10


def test_injection_queue_is_fifo():
    # two messages from one NI: the second starts injecting when the first's tail is in
    ms = CycleMemorySystem(noc_cfg())
    a = ms.send(0, (0, 0), (1, 0), 512, "spike")
    b = ms.send(0, (0, 0), (2, 0), 512, "spike")
    ms.drain()
    assert a.available == 0 + 2 * 2 + 1 + 5
    assert b.available == 5 + 3 * 2 + 2 + 5


def test_flit_counters_add_up_under_random_traffic():
    cfg = noc_cfg("noc.vcs=2")
    ms = CycleMemorySystem(cfg)
    rng = np.random.default_rng(1)
    sent = 0
    for t in range(0, 400, 2):
        for _ in range(3):
            a, b = rng.integers(0, 20, 2)
            if a != b:
                ms.send(t, (int(a), 0), (int(b), 0), int(rng.integers(0, 3000)), "spike")
                sent += 1
    ms.drain()
    ex = ms.extra["noc"]
    c = ms.counters
    assert ex["injected_flits"] == ex["ejected_flits"] == c[("noc", "flits")]
    assert sum(l["flits"] for l in ex["links"]) == c[("noc", "link_flits")]
    assert sum(r["flits"] for r in ex["routers"]) == c[("noc", "router_flits")]
    assert ex["packet_kinds"]["spike"]["packets"] == c[("noc", "packets")]
    assert len(ms.messages) == sent and all(m.available > m.send for m in ms.messages)


def test_contention_raises_latency():
    # the same message pattern, all at once vs spread out: contention must show
    def run(spacing):
        ms = CycleMemorySystem(noc_cfg())
        for k, a in enumerate(range(1, 20)):
            ms.send(k * spacing, (a, 0), (0, 0), 1024, "spike")
        ms.drain()
        return [m.available - m.send for m in ms.messages]

    spread, burst = run(100), run(0)
    assert max(burst) > 3 * max(spread)
