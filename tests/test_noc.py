"""Cycle-level NoC (docs/microarchitecture.md section 6): zero-load closed form and
hand-worked cases, each written once and run on both models (the event model's
``CycleMemorySystem`` and the reference's ``CycleNoc``); counters of the event model.

Defaults unless a case says otherwise: BookSim2's router, every stage 1 cycle (routing RT,
VC allocation VA, switch allocation SA, traversal ST), channels of latency 1 (a flit sent in
cycle t is received in t + 2), credit delay 0, 4-flit buffers, 1 VC, 128-bit flits. A head
received by a router in cycle a is routed in a, VC-allocated in a+1, switch-allocated in
a+2 (it leaves the buffer, its credit goes upstream), traverses in a+3 and is sent at the
end of a+3: the next router receives it in a+5. An NI injecting in cycle s: its router
receives in s+2. A flit sent to the NI in cycle t is ejected in t+2; the message is
available one cycle after its last tail is ejected.
"""
import itertools

import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.memsys.cycle import CycleMemorySystem
from neurosim.reference.noc import CycleNoc, Message

MODELS = ("hw", "reference")


def noc_cfg(*sets, cols=5, rows=4):
    return load_arch("paper-20core", ["noc.model=cycle", "dram.model=ideal",
                                      f"chip.mesh.cols={cols}", f"chip.mesh.rows={rows}",
                                      f"chip.cores={cols * rows}", *sets])


def deliver(model, cfg, sends):
    """``sends``: (cycle, src (node, port), dst (node, port), flits of its one packet).
    Returns the cycle each message is available at its destination."""
    if model == "hw":
        ms = CycleMemorySystem(cfg)
        hs = [ms.send(c, src, dst, (f - 1) * cfg.noc.flit_bits, "spike")
              for c, src, dst, f in sends]
        ms.drain()
        return [h.available for h in hs]
    noc = CycleNoc(cfg)
    msgs = [Message("spike", src, dst, c, 0, (k,), (k,), flits=[f])
            for k, (c, src, dst, f) in enumerate(sends)]
    c = 0
    while c < 100_000:
        for m in msgs:
            if m.send == c:
                noc.enqueue(m)
        noc.step(c)
        if all(m.available is not None for m in msgs) and not noc.busy():
            break
        c += 1
    return [m.available for m in msgs]


def hops(cols, a, b):
    return abs(a % cols - b % cols) + abs(a // cols - b // cols)


# (overrides, flits): the formula of spec 6.6 holds for F = 1, and for F <= buffer_flits
# when switch allocation and traversal take one cycle (the body streams one flit a cycle)
ZERO_LOAD = [
    ((), 1),
    ((), 4),
    (("noc.routing_delay=0", "noc.vc_alloc_delay=2", "noc.link_delay=2",
      "noc.credit_delay=1", "noc.injection_delay=2", "noc.buffer_flits=8"), 6),
    (("noc.routing_delay=2", "noc.sw_alloc_delay=2", "noc.st_prepare_delay=1",
      "noc.st_final_delay=2", "noc.ejection_delay=3", "noc.vcs=2"), 1),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("sets, flits", ZERO_LOAD)
def test_zero_load_latency_every_pair_4x5(model, sets, flits):
    cfg = noc_cfg(*sets)
    n = cfg.noc
    router = (n.routing_delay + n.vc_alloc_delay + n.sw_alloc_delay + n.st_prepare_delay
              + n.st_final_delay - 1)
    gap = 200  # every message finds an idle network
    sends, want = [], []
    for k, (a, b) in enumerate(itertools.permutations(range(20), 2)):
        h = hops(5, a, b)
        sends.append((k * gap, (a, 0), (b, 0), flits))
        # spec 6.6, plus one cycle to availability
        want.append(k * gap + (1 + n.injection_delay) + (h + 1) * router
                    + h * (1 + n.link_delay) + (1 + n.ejection_delay) + (flits - 1) + 1)
    assert deliver(model, cfg, sends) == want


@pytest.mark.parametrize("model", MODELS)
def test_zero_load_to_and_from_the_dram_port(model):
    # the controller endpoint (port 5) of node 0 is reached through router 0 like a core;
    # BookSim2 defaults: ejected at s + 7 + 5h + F - 1, available one cycle later
    cfg = noc_cfg()
    sends = []
    for k, a in enumerate(range(20)):
        sends.append((k * 100, (a, 0), (0, 5), 4))
        sends.append((k * 100 + 50, (0, 5), (a, 0), 1))
    got = deliver(model, cfg, sends)
    for (s, src, dst, f), avail in zip(sends, got):
        assert avail == s + 7 + 5 * hops(5, src[0], dst[0]) + (f - 1) + 1


@pytest.mark.parametrize("model", MODELS)
def test_a_packet_longer_than_the_buffers_waits_for_credits(model):
    # 2x1 mesh, node 0 -> node 1, 5 flits, 4-flit buffers. The NI injects flits 0..3 at
    # 0..3 and flit 4 at 6, when the head's credit is back (the head leaves router 0's
    # buffer at 4 = 2 + RT + VA, the credit is received at 4 + 2). Router 0 switches the
    # flits at 4, 5, 6, 7 and flit 4 (received at 8) needs a credit of the east VC: router 1
    # frees the head's slot at 9 (received 7, + RT + VA), the credit arrives at 11, so flit
    # 4 leaves router 0 at 11 and reaches router 1 at 11 + 1 (ST) + 2 = 14. Router 1 switches
    # 9, 10, 11, 12; its ejection VC's 4 credits are used by then and the first comes back
    # at 14 (head sent at 10, ejected 12, credit received 14): flit 4 leaves at 14, is sent
    # at 15, ejected at 17 -> available 18 (unthrottled: 0 + 7 + 5 + 4 = 16, available 17).
    cfg = noc_cfg(cols=2, rows=1)
    assert deliver(model, cfg, [(0, (0, 0), (1, 0), 5)]) == [18]
    assert deliver(model, noc_cfg("noc.buffer_flits=5", cols=2, rows=1),
                   [(0, (0, 0), (1, 0), 5)]) == [17]


@pytest.mark.parametrize("model", MODELS)
def test_contention_for_a_link_hand_worked(model):
    # 1x3 mesh, X: node 1 -> node 2 and A: node 0 -> node 2, 4 flits each, both at 0.
    # X is never delayed: 0 + 7 + 5 + 3 = 15 ejected, available 16. X owns router 1's east
    # VC from 3 (VA) until its tail leaves at 7 (switched at 4..7) and uses its 4 credits;
    # router 2 frees them at 9..12, so they are back at 11..14. A's head reaches router 1
    # at 7, is VC-allocated at 8 (X's tail left at 7), and switch allocation finds no
    # credit until 11: A leaves router 1 at 11..14, reaches router 2 at 14..17. There its
    # head is routed at 14, takes the ejection VC at 15; X used the 4 ejection credits at
    # 9..12 and they are back at 14..17, so A is switched at 16, 17, 18, 19, sent 17..20,
    # ejected 19..22 -> available 23 (zero-load: 0 + 7 + 10 + 3 + 1 = 21).
    cfg = noc_cfg(cols=3, rows=1)
    assert deliver(model, cfg, [(0, (1, 0), (2, 0), 4), (0, (0, 0), (2, 0), 4)]) == [16, 23]


@pytest.mark.parametrize("model", MODELS)
def test_round_robin_vc_allocation_hand_worked(model):
    # 1x3 mesh, A: 0 -> 1 and B: 2 -> 1, 2 flits each, sent at 0. Both heads reach router 1
    # at 7 and request the core ejection VC at 8; its grant pointer starts at requester 0,
    # so the east input (port 2, B) wins before the west input (port 4, A). B is switched
    # at 9, 10 and ejected at 12, 13 -> 14. A's head re-requests at 9 and 10 (the VC is
    # still B's: B's tail leaves in the switch allocation completing at 10, after the VC
    # allocation of 10 started), gets it at 11, is switched at 12, 13, ejected 15, 16 -> 17.
    cfg = noc_cfg(cols=3, rows=1)
    assert deliver(model, cfg, [(0, (0, 0), (1, 0), 2), (0, (2, 0), (1, 0), 2)]) == [17, 14]


@pytest.mark.parametrize("model", MODELS)
def test_injection_queue_is_fifo_and_credit_limited(model):
    # node 0 sends a (4 flits, to node 1) then b (4 flits, to node 2), both enqueued at 0.
    # a: injected 0..3, zero-load 0 + 7 + 5 + 3 = 15 -> available 16. b's head needs an
    # injection credit: a's head leaves router 0's buffer at 4, the credit is back at 6, so
    # b is injected at 6..9. At router 0 (received 8, routed 8, VC 9) b's head finds no
    # credit on the east VC until a's head leaves router 1 (9) + 2 = 11: it leaves router 0
    # at 11, one cycle after its zero-load 10; from there on nothing waits: ejected at
    # 6 + 7 + 5*2 + 3 + 1 = 27 -> available 28.
    cfg = noc_cfg()
    assert deliver(model, cfg, [(0, (0, 0), (1, 0), 4), (0, (0, 0), (2, 0), 4)]) == [16, 28]


def test_self_message_uses_no_noc():
    ms = CycleMemorySystem(noc_cfg())
    h = ms.send(7, (4, 0), (4, 0), 512, "spike")
    assert ms.next_event() == 7
    assert ms.advance(7) == [h] and h.available == 7
    assert ms.counters[("noc", "flits")] == 0


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


@pytest.mark.parametrize("model", MODELS)
def test_random_traffic_models_agree(model):
    # many packets at once, 2 VCs, 2 allocator iterations: both models give the same cycles
    cfg = noc_cfg("noc.vcs=2", "noc.alloc_iters=2", "noc.buffer_flits=3")
    rng = np.random.default_rng(3)
    sends = [(int(rng.integers(0, 30)), (int(a), 0), (int(b), 0), int(rng.integers(1, 8)))
             for a, b in rng.integers(0, 20, (60, 2)) if a != b]
    got = deliver(model, cfg, sends)
    other = deliver("reference" if model == "hw" else "hw", cfg, sends)
    assert got == other


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


def test_bad_crossbar_delay_is_refused():
    from neurosim.errors import InputError
    with pytest.raises(InputError, match="st_prepare_delay"):
        noc_cfg("noc.st_prepare_delay=0", "noc.st_final_delay=0")


@pytest.mark.parametrize("model", MODELS)
def test_vc_allocation_ignores_credits_hand_worked(model):
    # the contention case above with 2 VCs: A's head is VC-allocated at router 1 at 8,
    # when both east VCs are free (X's tail left VC 0 at 7). Its requester's accept
    # pointer is 0, so it takes VC 0 -- whose 4 credits X still holds -- rather than
    # VC 1 with 4 credits: VC allocation does not look at credits (BookSim2's
    # vc_busy_when_full = 0). Everything then happens as with 1 VC: X 16, A 23.
    cfg = noc_cfg("noc.vcs=2", cols=3, rows=1)
    assert deliver(model, cfg, [(0, (1, 0), (2, 0), 4), (0, (0, 0), (2, 0), 4)]) == [16, 23]


@pytest.mark.parametrize("model", MODELS)
def test_a_slow_stage_is_not_pipelined(model):
    # vc_alloc_delay 2: a stage with a delay above 1 takes a new batch only when its
    # previous one completes. 1x2 mesh, 1-flit packets. A: core 0 -> core 1 and B: core 1
    # -> core 0, enqueued at 0, never meet (B reaches router 0 at 8, after C is gone):
    # 0 + 2 + (1 + 2 + 1 + 1 - 1) * 2 + 2 + 2 = 14, available 15. C: node 0's DRAM
    # controller -> core 0, enqueued at 1, received by router 0 at 3 on port 5 and routed
    # at 3, after the VC allocator started A's batch (A received 2, routed 2, allocation
    # 3..4); the allocator takes C at 5 (done 6), switch allocation 7, traversal 8, ejected
    # at 10 -> available 11 (with an idle allocator: allocation 4..5, available 10).
    cfg = noc_cfg("noc.vc_alloc_delay=2", cols=2, rows=1)
    got = deliver(model, cfg, [(0, (0, 0), (1, 0), 1), (0, (1, 0), (0, 0), 1),
                               (1, (0, 5), (0, 0), 1)])
    assert got == [15, 15, 11]
