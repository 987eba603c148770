"""Reference model, NoC (spec 4.4 and 6): zero-load latency for every pair of a 4x5 mesh,
a single packet throttled by small buffers, contention and round-robin, by hand."""
import pytest

from neurosim.reference.noc import CycleNoc, Message, packet_flits

from handcases import arch


def deliver(cfg, sends, until=500):
    """``sends``: list of (cycle, src (node, port), dst (node, port), flits per packet).
    Returns the available cycle of each message."""
    noc = CycleNoc(cfg)
    msgs = []
    for i, (cyc, src, dst, flits) in enumerate(sends):
        msgs.append(Message("spike", src, dst, cyc, 0, (i,), (i,), flits=list(flits)))
    for c in range(until):
        for m in msgs:
            if m.send == c:
                noc.enqueue(m)
        noc.step(c)
        if all(m.available is not None for m in msgs) and not noc.busy():
            break
    return [m.available for m in msgs]


def test_packetization():
    assert packet_flits(0, 128) == [1]               # a read request: one head flit
    assert packet_flits(512, 128) == [5]             # a 64-byte burst
    assert packet_flits(16 * 128, 128) == [17]
    assert packet_flits(16 * 128 + 1, 128) == [17, 2]
    assert packet_flits(512, 8) == [17, 17, 17, 17]


@pytest.mark.parametrize("rd,ld,flits", [(2, 1, 1), (2, 1, 5), (1, 2, 3), (3, 1, 17)])
def test_zero_load_latency_every_pair_of_4x5_mesh(rd, ld, flits):
    """Idle network: available = s + (h+1)*router_delay + h*link_delay + F, for every
    (source, destination) pair of the 20-node mesh, with buffers of rd + 2*ld flits."""
    cfg = arch("chip.cores=20", "chip.mesh.cols=5", "chip.mesh.rows=4",
               f"noc.router_delay={rd}", f"noc.link_delay={ld}",
               f"noc.buffer_flits={rd + 2 * ld}", "noc.model=cycle")
    for a in range(20):
        for b in range(20):
            h = abs(a % 5 - b % 5) + abs(a // 5 - b // 5)
            port = 5 if a == b else 0  # a == b: core to the DRAM controller of its node
            (avail,) = deliver(cfg, [(7, (a, 0), (b, port), [flits])])
            assert avail == 7 + (h + 1) * rd + h * ld + flits, (a, b)


def test_small_buffers_throttle_a_single_packet():
    """buffer_flits 1, router and link delay 1, one hop, 3 flits: each flit after the first
    waits for the credit round trip (by hand: tail ejected at 9, available 10; the
    unthrottled formula would give 6)."""
    cfg = arch("chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1", "noc.router_delay=1",
               "noc.link_delay=1", "noc.buffer_flits=1")
    assert deliver(cfg, [(0, (0, 0), (1, 0), [3])]) == [10]


def test_contention_for_a_link_by_hand():
    """1x3 mesh, delays 1. A: node 0 -> node 2, 2 flits; B: node 1 -> node 2, 4 flits, both
    sent at 0. B owns router 1's east output from cycle 1 until its tail leaves at 4; A's
    head, eligible at 3, waits until 5; A is available at 9 instead of its zero-load 7.
    B is not delayed (7 = zero-load)."""
    cfg = arch("chip.cores=3", "chip.mesh.cols=3", "chip.mesh.rows=1", "noc.router_delay=1",
               "noc.link_delay=1", "noc.buffer_flits=4")
    assert deliver(cfg, [(0, (0, 0), (2, 0), [2]), (0, (1, 0), (2, 0), [4])]) == [9, 7]


def test_round_robin_output_arbitration_by_hand():
    """1x3 mesh, A: 0 -> 1 and B: 2 -> 1, 2 flits each, sent at 0. Both heads reach router 1
    at 2 and request the core ejection port at 3; its pointer starts at input 0, so the
    east input (port 2, B) wins before the west input (port 4, A). B: 5, A: 7."""
    cfg = arch("chip.cores=3", "chip.mesh.cols=3", "chip.mesh.rows=1", "noc.router_delay=1",
               "noc.link_delay=1", "noc.buffer_flits=4")
    assert deliver(cfg, [(0, (0, 0), (1, 0), [2]), (0, (2, 0), (1, 0), [2])]) == [7, 5]


def test_two_virtual_channels_interleave_packets_on_a_link_by_hand():
    """1x3 mesh, DRAM controller at node 2, delays 1, buffers 4. A: core 0 -> core 2,
    3 flits; B: core 1 -> DRAM port of node 2, 3 flits; both sent at 0.
    1 VC: A's head waits at router 1 until B's tail has left (3), leaves at 4; B: 6, A: 9.
    2 VCs: A's head takes east VC 1 at 3 and wins the east output (its pointer is past
    input 0 after B's grants), B's tail follows at 4; the west input of router 2 then
    alternates its VCs: B: 7, A: 9."""
    base = ["chip.cores=3", "chip.mesh.cols=3", "chip.mesh.rows=1", "chip.dram_nodes=[[2, 0]]",
            "noc.router_delay=1", "noc.link_delay=1", "noc.buffer_flits=4"]
    sends = [(0, (0, 0), (2, 0), [3]), (0, (1, 0), (2, 5), [3])]
    assert deliver(arch(*base, "noc.vcs=1"), sends) == [9, 6]
    assert deliver(arch(*base, "noc.vcs=2"), sends) == [9, 7]
