"""CycleMemorySystem: the lazy co-simulation interface (advance / next_event with posts in
between gives what one uninterrupted run gives), end-to-end DRAM traffic over the NoC,
multicast, records and counters, every model combination."""
import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.memsys.cycle import CycleMemorySystem
from neurosim.memsys.cycle import make_memory_system
from neurosim.memsys.ideal import IdealMemorySystem
from neurosim.stats import StatGroup

COMBOS = [("cycle", "cycle"), ("cycle", "ideal"), ("ideal", "cycle")]


def make(noc, dram, *sets):
    return CycleMemorySystem(load_arch("paper-20core", [f"noc.model={noc}",
                                                        f"dram.model={dram}", *sets]))


def post(ms, op):
    kind, t, a, b, n = op
    if kind == "msg":
        return [ms.send(t, (a, 0), (b, 0), n, "spike")]
    if kind == "mc":
        return ms.send(t, (a, 0), [(d, 0) for d in b], n, "spike")
    f = ms.dram_read if kind == "rd" else ms.dram_write
    return [f(t, a, b, n, "weights" if kind == "rd" else "state")]


def random_op(rng, t, multicast=False):
    u = rng.random()
    a = int(rng.integers(0, 20))
    if u < 0.45:
        b = int(rng.integers(0, 20))
        return ("msg", t, a, b, int(rng.integers(0, 5000)))
    if u < 0.55 and multicast:
        dst = sorted(set(int(x) for x in rng.integers(0, 20, 4)))
        return ("mc", t, a, dst, int(rng.integers(0, 3000)))
    addr = int(rng.integers(0, 1 << 22)) & ~63
    return ("rd" if u < 0.8 else "wr", t, a, addr, int(rng.integers(1, 700)))


def reactive_run(ms, rng, n_ops, multicast=False, horizon=False, quiet=0.0, got=None):
    """A chip-like driver: some posts at fixed cycles, and every completed handle triggers
    a new post a few cycles later. With ``quiet``, that share of the handles is posted
    quiet (``set_wakes(h, False)``, needs ``horizon="final"``): as in the chip model,
    nothing reacts to them, and they are taken from ``settled()``, each before the cycle the
    driver goes to next. ``got``: filled with handle id -> availability. Returns the posts
    in call order."""
    got = {} if got is None else got
    posts = []
    pending = sorted((int(t), k) for k, t in enumerate(rng.integers(0, 3000, n_ops // 2)))
    own = [t for t, _ in pending]
    reactions = []
    returned = []
    now = 0
    while own or reactions or True:
        nxt_own = min(own + reactions) if (own or reactions) else None
        # horizon "final": the driver promises no post before its own next one, as the
        # chip model does (reactions come at or after a delivery, which stops the engine)
        final = horizon == "final"
        e = (ms.next_event(nxt_own, final=final) if horizon and (nxt_own is not None or final)
             else ms.next_event())
        settled = ms.settled()
        cands = [x for x in (e, nxt_own) if x is not None]
        for h in settled:
            assert now <= h.available < min(cands)   # passed on the way, before going on
            returned.append(h.id)
            got[h.id] = h.available
        if not cands:
            break
        t = min(cands)
        assert t >= now
        now = t
        done = ms.advance(t)
        for h in done:
            assert h.available <= t
            returned.append(h.id)
            got[h.id] = h.available
            if len(posts) < n_ops and rng.random() < 0.7:
                reactions.append(h.available + int(rng.integers(0, 20)))
        while t in own or t in reactions:
            (own if t in own else reactions).remove(t)
            op = random_op(rng, t, multicast)
            posts.append(op)
            for h in post(ms, op):
                if quiet and rng.random() < quiet:
                    ms.set_wakes(h, False)
    assert len(returned) == len(set(returned))
    return posts


def uninterrupted(cfg_sets, posts):
    ms = make(*cfg_sets)
    handles = [h for op in posts for h in post(ms, op)]
    ms.drain()
    return ms, handles


@pytest.mark.parametrize("noc, dram", COMBOS)
@pytest.mark.parametrize("horizon", [False, True, "final"])
def test_interleaved_equals_uninterrupted(noc, dram, horizon):
    rng = np.random.default_rng(11)
    sets = (noc, dram, "dram.timing_ns.tREFI=400")
    a = make(*sets)
    posts = reactive_run(a, rng, 160, horizon=horizon)
    assert len(posts) > 100
    b, _ = uninterrupted(sets, posts)
    assert a.messages == b.messages
    assert a.dram == b.dram
    assert a.counters == b.counters
    assert all(m.available >= m.send >= 0 for m in a.messages)


@pytest.mark.parametrize("noc, dram", COMBOS)
def test_quiet_handles_are_settled_with_their_own_cycles(noc, dram):
    """Handles posted quiet do not stop a final run: they come back from ``settled()``
    with the availability one uninterrupted run gives them, and the driver is woken less
    often; everything else is as without them."""
    sets = (noc, dram, "dram.timing_ns.tREFI=400")
    wakes = {}
    for q in (0.0, 0.8):
        a = make(*sets)
        calls = []
        a.advance = (lambda f: lambda t: calls.append(t) or f(t))(a.advance)
        got = {}
        posts = reactive_run(a, np.random.default_rng(11), 160, horizon="final", quiet=q,
                             got=got)
        b, handles = uninterrupted(sets, posts)
        assert a.messages == b.messages and a.dram == b.dram and a.counters == b.counters
        assert [got[h.id] for h in handles] == [h.available for h in handles]
        wakes[q] = len(calls)
    assert wakes[0.8] < wakes[0.0]


def test_interleaved_equals_uninterrupted_multicast():
    rng = np.random.default_rng(5)
    sets = ("cycle", "cycle", "noc.multicast=true", "noc.vcs=2")
    a = make(*sets)
    posts = reactive_run(a, rng, 120, multicast=True)
    assert any(op[0] == "mc" for op in posts)
    b, _ = uninterrupted(sets, posts)
    assert a.messages == b.messages and a.dram == b.dram and a.counters == b.counters


def test_advance_in_arbitrary_steps():
    # the same posts, advanced in random steps with next_event calls in between
    rng = np.random.default_rng(2)
    ops = sorted((random_op(rng, int(t)) for t in rng.integers(0, 2000, 150)),
                 key=lambda op: op[1])
    ref, ref_h = uninterrupted(("cycle", "cycle"), ops)
    ms = make("cycle", "cycle")
    got = {}
    t = 0
    k = 0
    while True:
        while k < len(ops) and ops[k][1] <= t:
            for h in post(ms, ops[k]):
                got[h.id] = h
            k += 1
        if rng.random() < 0.5:
            ms.next_event(t + int(rng.integers(0, 50)))
        for h in ms.advance(t):
            assert h.available <= t
        if k == len(ops) and ms.next_event() is None:
            break
        t += int(rng.integers(1, 60))
    assert ms.messages == ref.messages and ms.dram == ref.dram
    assert [got[h.id].available for h in ref_h] == [h.available for h in ref_h]


def test_final_horizon_runs_without_speculation_and_refuses_earlier_posts():
    """next_event(horizon, final=True) simulates up to the horizon as committed work: the
    same answer as without the promise, nothing to roll back, and a post before the
    cycle it reached breaks the promise (an error, not a silently wrong result)."""
    e = make("cycle", "cycle")
    e.dram_read(0, 19, 4096, 64, "weights")
    first = e.next_event()
    ms = make("cycle", "cycle")
    ms.dram_read(0, 19, 4096, 64, "weights")
    assert ms.next_event(first - 1, final=True) is None
    assert not ms.eng.speculating and ms.eng.G == first - 1
    assert ms.next_event(first + 10, final=True) == first
    with pytest.raises(AssertionError, match="final"):
        ms.send(first - 5, (0, 0), (1, 0), 8, "spike")


@pytest.mark.parametrize("noc,dram", COMBOS)
def test_send_many_is_one_send_each(noc, dram):
    # The chip posts a tile's messages with one send_many: the same handles, records,
    # counters and delivery cycles as one send each, in order (messages to the sender
    # itself, multi-packet ones and DRAM traffic between the batches included).
    rng = np.random.default_rng(7)
    batches = []
    for t in range(0, 400, 4):
        src = int(rng.integers(0, 20))
        dsts = [int(d) for d in rng.integers(0, 20, int(rng.integers(1, 9)))]
        bits = [int(b) for b in rng.integers(0, 6000, len(dsts))]
        batches.append((t, src, dsts, bits))
    runs = []
    for many in (False, True):
        ms = make(noc, dram)
        got = {}
        for k, (t, src, dsts, bits) in enumerate(batches):
            ms.post_order(k % 3)
            tags = [("m", k, i) for i in range(len(dsts))]
            if many:
                hs = ms.send_many(t, (src, 0), [(d, 0) for d in dsts], bits, "grad", tags)
            else:
                hs = [ms.send(t, (src, 0), (d, 0), b, "grad", tag)
                      for d, b, tag in zip(dsts, bits, tags)]
            hs.append(ms.dram_read(t, src, 64 * k * 7, 200, "weights"))
            got.update((h.id, h) for h in hs)
        ms.drain()
        runs.append(({i: h.available for i, h in got.items()}, list(ms.messages),
                     list(ms.dram), ms.counters, ms.messages.summary_by_kind()))
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="2 destinations, 1 payloads"):
        make(noc, dram).send_many(0, (0, 0), [(1, 0), (2, 0)], [8], "grad", [(), ()])


def test_post_before_committed_cycle_is_refused():
    ms = make("cycle", "cycle")
    ms.advance(100)
    with pytest.raises(ValueError, match="after advance"):
        ms.send(99, (0, 0), (1, 0), 8, "spike")


@pytest.mark.parametrize("noc", ["cycle", "ideal"])
def test_bad_endpoints_are_refused(noc):
    ms = make(noc, "cycle")
    with pytest.raises(ValueError, match="no DRAM controller"):
        ms.send(0, (0, 0), (3, 5), 8, "spike")
    with pytest.raises(ValueError, match="no such mesh node"):
        ms.send(0, (0, 0), (20, 0), 8, "spike")
    with pytest.raises(ValueError, match="port"):
        ms.send(0, (0, 2), (1, 0), 8, "spike")


def test_next_event_is_the_first_availability():
    ms = make("cycle", "cycle")
    h1 = ms.send(0, (0, 0), (19, 0), 512, "spike")
    h2 = ms.dram_read(0, 19, 4096, 64, "weights")
    e = ms.next_event()
    # 7 hops, 5 flits (spec 6.6): the head leaves router k's buffer at H_k = 4 + 5k; with
    # 4-flit buffers the 5th flit waits at each router k < 7 for the credit of the head's
    # slot downstream (H_k + 7), and at router 7 leaves at H_7 + 5 = 44 (its ejection
    # credit and its arrival), is sent at 45 and ejected at 47 -> available 48 (one cycle
    # after the unthrottled 7 + 5*7 + 4 + 1 = 47)
    assert e == 48
    assert ms.advance(e - 1) == []
    assert ms.advance(e) == [h1] and h1.available == e
    assert ms.next_event(horizon=e + 5) is None  # the read takes longer
    e2 = ms.next_event()
    assert ms.advance(e2) == [h2] and h2.available == e2
    assert ms.next_event() is None


def test_dram_read_over_the_noc_hand_worked():
    # core 7 (x=2, y=1) reads 64 B from channel 0 (controller at node 0, 3 hops).
    # request: 1 flit, ejected at 50 + 7 + 5*3 = 72 (spec 6.6), at the controller at 73;
    # it joins the read queue at the end of 73 (spec 7.2): ACT at 74, RD at 74 + tRCD(9) =
    # 83, data ends 83 + tCL(9) + tBURST(3) = 95; the 5-flit response is enqueued at 95; its
    # 5th flit waits for credits (4-flit buffers: the head leaves router k at H_k = 95 + 4 +
    # 5k, the 5th flit at H_k + 7 for k < 3 and at H_3 + 5 at the last router), ejected at
    # H_3 + 8 = 122 -> available 123 (LPDDR4-3200 at 500 MHz)
    ms = make("cycle", "cycle")
    h = ms.dram_read(50, 7, 0, 64, "weights")
    ms.drain()
    assert h.available == 123
    req, resp = ms.messages
    assert (req.kind, req.send, req.available) == ("dram_read_req", 50, 73)
    assert (resp.kind, resp.send, resp.available) == ("dram_read_resp", 95, 123)
    (d,) = ms.dram
    assert (d.channel, d.arrive, d.complete, d.outcome) == (0, 73, 95, "miss")


def test_dram_write_completes_at_end_of_data():
    # 64 B write: 5 flits to the controller over 3 hops, ejected at 50 + 27 = 77 (as the
    # response above), at the controller at 78; it joins the write queue at the end of 78
    # and, the read queue being empty, drains at once: ACT 79, WR 79 + tRCD(9) = 88, data
    # ends 88 + tCWL(5) + tBURST(3) = 96; no acknowledgement
    ms = make("cycle", "cycle")
    h = ms.dram_write(50, 7, 0, 64, "state")
    ms.drain()
    (d,) = ms.dram
    assert (d.arrive, d.complete) == (78, 96)
    assert h.available == 96


def test_ideal_parts_match_ideal_memory_system_when_uncontended():
    # a lone message: the ideal NoC gives send + ideal_latency in both implementations
    cfg = load_arch("paper-20core", ["noc.model=ideal", "dram.model=cycle"])
    ms = CycleMemorySystem(cfg)
    ideal = IdealMemorySystem(cfg)
    for m in (ms, ideal):
        m.send(5, (0, 0), (7, 0), 300, "spike")
    ms.drain()
    assert ms.messages == ideal.messages
    assert ms.counters == ideal.counters
    # DRAM traffic counts the same NoC packets, flits and bytes in both
    for m in (ms, ideal):
        m.dram_read(50, 13, 4096, 300, "weights")
        m.dram_write(60, 9, 1 << 20, 130, "wgrad")
    ms.drain()
    cmds = {"act", "pre", "ref", "rd", "wr"}
    assert {k: v for k, v in ms.counters.items() if k[1] not in cmds} == ideal.counters


def test_make_memory_system_picks_the_model():
    # the default is the cycle-level NoC and DRAM; both ideal is the ideal model
    assert isinstance(make_memory_system(load_arch("paper-20core")), CycleMemorySystem)
    assert isinstance(make_memory_system(load_arch(
        "paper-20core", ["noc.model=ideal", "dram.model=ideal"])), IdealMemorySystem)
    for noc, dram in COMBOS:
        cfg = load_arch("paper-20core", [f"noc.model={noc}", f"dram.model={dram}"])
        assert isinstance(make_memory_system(cfg), CycleMemorySystem)


def test_multicast_chain_hand_worked():
    # node 0 multicasts 5 flits to nodes 2 and 1 (given in that order). Chain: nearest
    # first, so 0 -> 1 -> 2. Leg 1 (1 hop, 5 flits through 4-flit buffers): available at
    # 18, as in tests/test_noc.py::test_a_packet_longer_than_the_buffers_waits_for_credits.
    # Node 1's NI forwards each packet the cycle after its tail arrives: enqueued at 18,
    # the same 1-hop trip through idle routers: 18 + 18 = 36.
    ms = make("cycle", "cycle", "noc.multicast=true")
    h2, h1 = ms.send(0, (0, 0), [(2, 0), (1, 0)], 512, "spike")
    ms.drain()
    assert (h1.available, h2.available) == (18, 36)
    c = ms.counters
    assert c[("noc", "packets")] == 2 and c[("noc", "link_flits")] == 10
    unicast = make("cycle", "cycle")
    unicast.send(0, (0, 0), [(2, 0), (1, 0)], 512, "spike")
    unicast.drain()
    assert unicast.counters[("noc", "link_flits")] == 15


def test_multicast_includes_the_sender_itself():
    ms = make("cycle", "cycle", "noc.multicast=true")
    hs = ms.send(3, (4, 0), [(4, 0), (9, 0)], 100, "spike")
    ms.drain()
    # node 4 -> node 9: 1 hop, 2 flits: ejected 3 + 7 + 5*1 + 1 = 16 (spec 6.6), available 17
    assert hs[0].available == 3 and hs[1].available == 3 + 7 + 5 + 1 + 1


def test_extra_and_published_stats():
    ms = make("cycle", "cycle")
    rng = np.random.default_rng(0)
    for t in range(0, 300, 3):
        post(ms, random_op(rng, t))
    ms.drain()
    ex = ms.extra
    kinds = ex["noc"]["packet_kinds"]
    assert {"spike", "dram_read_req", "dram_read_resp", "dram_write"} <= set(kinds)
    assert sum(k["packets"] for k in kinds.values()) == ms.counters[("noc", "packets")]
    assert kinds["dram_read_req"]["payload_bytes"] == 0
    assert kinds["dram_write"]["payload_bytes"] == 64 * kinds["dram_write"]["packets"]
    assert kinds["spike"]["payload_bytes"] == sum(m.payload_bits for m in ms.messages
                                                  if m.kind == "spike" and m.packets) / 8
    lat = kinds["spike"]["latency"]
    assert sum(lat["hist_counts"]) == kinds["spike"]["packets"]
    assert lat["p99"] >= lat["p50"] > 0
    g = StatGroup("chip")
    from neurosim.memsys.stats import publish_memsys_stats

    publish_memsys_stats(ms, g)
    flat = {row[0]: row[1] for row in g.flat()}
    assert flat["chip.noc.injected_flits"] == flat["chip.noc.ejected_flits"]
    assert flat["chip.dram.ch0.requests"] + flat["chip.dram.ch1.requests"] == len(ms.dram)


def test_multicast_ideal_noc_matches_ideal_memory_system():
    sets = ["noc.model=ideal", "dram.model=cycle", "noc.multicast=true"]
    cfg = load_arch("paper-20core", sets)
    ms, ideal = CycleMemorySystem(cfg), IdealMemorySystem(cfg)
    out = [m.send(4, (6, 0), [(19, 0), (6, 0), (0, 0), (7, 0)], 700, "spike")
           for m in (ms, ideal)]
    ms.drain()
    ideal.advance(100)
    assert [h.available for h in out[0]] == [h.available for h in out[1]] == [14, 4, 14, 14]
    assert ms.messages == ideal.messages
    assert ms.counters == ideal.counters
    # chain 6 -> 7 -> ... : legs 6->7 (1 hop), 7->0 (3), 0->19 (7): 11 links x 7 flits
    assert ms.counters[("noc", "link_flits")] == 11 * 7


def test_dram_channels_interleave_over_two_controllers():
    # channel 1's controller sits at the far corner: its request travels 7 hops, not 0
    ms = make("cycle", "cycle", "chip.dram_nodes=[[0,0],[4,3]]")
    ms.dram_read(0, 0, 0, 128, "weights")
    ms.drain()
    req0, resp0, req1, resp1 = ms.messages
    assert (req0.dst, req1.dst) == ((0, 5), (19, 5))
    assert req0.available == 0 + 7 + 1      # 0 hops, 1 flit: ejected at 0 + 7 (spec 6.6)
    # queued behind req0 at the core's NI: injected at 1, received by router 0 at 3 behind
    # req0 in the same input VC; req0 leaves it at 4 (received 2 + RT + VA), so req1's head
    # is routed at 5 instead of 3: two cycles late, ejected 1 + 7 + 5*7 + 2 = 45 -> 46
    assert req1.available == 46


# ---------------------------------------------------------------- lean records and tables


def count_by_kind(records):
    """{kind: (records, flits, payload bits)} counted over expanded message records, keys in
    order of first appearance (what report.py would build by iterating)."""
    out = {}
    for m in records:
        n, f, b = out.get(m.kind, (0, 0, 0))
        out[m.kind] = (n + 1, f + m.flits, b + m.payload_bits)
    return out


def test_ideal_summary_by_kind_counts_core_local_messages():
    # the summary the stats read is the one counted over the records, core-local messages
    # (0 packets, their payload bits) included, as in the cycle-level model (the ideal model
    # left them out before the two shared their counting)
    cfg = load_arch("paper-20core", ["noc.model=ideal", "dram.model=ideal",
                                     "noc.multicast=true"])
    ideal = IdealMemorySystem(cfg)
    ideal.send(0, (4, 0), (4, 0), 300, "grad")
    ideal.send(1, (4, 0), [(4, 0), (9, 0)], 100, "spike")
    ideal.dram_read(2, 4, 0, 128, "weights")
    ideal.advance(1000)
    want = count_by_kind(ideal.messages)
    got = ideal.messages.summary_by_kind()
    assert got == want and list(got) == list(want)
    assert got["grad"] == (1, 0, 300)          # core-local: one record, no flits
    assert got["spike"] == (2, 2, 200)         # the sender's copy, and 1 head + 1 body flit
    # 128 B = 2 bursts of 64 B: 2 one-flit requests, 2 responses of 1 + 512 / 128 flits
    assert got["dram_read_req"] == (2, 2, 0) and got["dram_read_resp"] == (2, 10, 1024)


@pytest.mark.parametrize("noc, dram", COMBOS)
def test_record_logs_are_lazy_sequences(noc, dram):
    ms = make(noc, dram, "noc.multicast=true")
    reactive_run(ms, np.random.default_rng(3), 80, multicast=True)
    ms.send(ms._C, (4, 0), (4, 0), 300, "grad")       # core-local: 0 packets, still a record
    ms.advance(ms._C + 1)
    msgs, drams = list(ms.messages), list(ms.dram)
    assert type(ms.messages).__name__ == "RecordLog"
    assert len(ms.messages) == len(msgs) > 100 and len(ms.dram) == len(drams) > 50
    assert ms.messages == msgs and ms.dram == drams
    assert ms.messages[0] == msgs[0] and ms.messages[-1] == msgs[-1]
    assert ms.dram[len(drams) // 2] == drams[len(drams) // 2]
    assert {m.kind for m in msgs} >= {"spike", "grad", "dram_read_req", "dram_read_resp",
                                      "dram_write"}
    want = count_by_kind(msgs)
    got = ms.messages.summary_by_kind()
    assert got == want and list(got) == list(want)


def test_chip_run_does_not_expand_the_records(monkeypatch):
    from neurosim import api
    from neurosim.memsys import cycle as cycle_memsys

    def refuse(self, which):
        raise AssertionError(f"{which} records expanded")

    monkeypatch.setattr(cycle_memsys.CycleMemorySystem, "_expand", refuse)
    res = api.run("paper-20core", "mlp-digits", ["noc.model=cycle", "dram.model=cycle"])
    assert res.summary["messages"] == len(res.timing.messages) > 0
    flits = res.stats["chip"]["noc.flits_by_message"].value
    assert sum(flits.values()) == res.summary["noc_flits"]


def run_in_steps(ms, posts, step: int = 37) -> int:
    """Post ``posts`` into ``ms`` and advance it ``step`` cycles at a time until it drains
    (so that table rows retire as the run goes); the last cycle advanced to."""
    ops = sorted(posts, key=lambda op: op[1])
    k, t = 0, 0
    while k < len(ops) or ms.next_event() is not None:
        while k < len(ops) and ops[k][1] <= t:
            post(ms, ops[k])
            k += 1
        ms.next_event()
        ms.advance(t)
        t += step
    ms.advance(t)
    return t


@pytest.mark.parametrize("noc, dram", COMBOS)
def test_retired_rows_keep_records_and_statistics(noc, dram, monkeypatch):
    from neurosim.memsys.cycle import Engine

    sets = (noc, dram, "dram.timing_ns.tREFI=400")
    posts = reactive_run(make(*sets), np.random.default_rng(7), 160)
    keep, _ = uninterrupted(sets, posts)          # tables never retired (RETIRE_MIN rows)
    monkeypatch.setattr(Engine, "RETIRE_MIN", 1)

    # the same posts, advanced in steps so that rows retire as the run goes
    ms = make(*sets)
    t = run_in_steps(ms, posts)
    keep.advance(t)
    assert keep.eng.pb == keep.eng.rb == 0
    # rows did retire: at least a third (a write waiting to be drained, spec 7.2, holds
    # back every later row: retirement keeps the rows from the first one in flight)
    assert ms.eng.rb > 0 and ms.eng.n_rq - ms.eng.rb < 2 * ms.eng.n_rq // 3
    assert (ms.eng.pb > 0 and ms.eng.n_pk - ms.eng.pb < ms.eng.n_pk // 2) or noc == "ideal"
    assert ms.messages == keep.messages and ms.dram == keep.dram
    assert ms.counters == keep.counters
    assert ms.extra == keep.extra


@pytest.mark.long
@pytest.mark.parametrize("noc, dram", COMBOS)
def test_records_beyond_the_kept_rows_are_summarised(noc, dram, monkeypatch):
    # issue 15: past Engine.RECORD_ROWS retired requests the per-request records are
    # dropped (bounded memory), and so are the log entries of old delivered messages; the
    # statistics (payloads included) stay those of a run that kept every row,
    # the records cannot be listed any more, except those ending in the last
    # RECORD_WINDOW cycles (what the critical path asks for)
    from neurosim.memsys.base import RecordsNotKept
    from neurosim.memsys.cycle import Engine

    sets = (noc, dram, "dram.timing_ns.tREFI=400")
    posts = reactive_run(make(*sets), np.random.default_rng(7), 160)
    keep, _ = uninterrupted(sets, posts)
    monkeypatch.setattr(Engine, "RETIRE_MIN", 1)
    monkeypatch.setattr(Engine, "RECORD_ROWS", 8)
    monkeypatch.setattr(Engine, "RECORD_WINDOW", 300)
    monkeypatch.setattr(CycleMemorySystem, "LOG_MIN", 1)
    ms = make(*sets)
    t = run_in_steps(ms, posts)
    keep.advance(t)
    assert not ms.eng.records_kept and ms.eng.rb > 8
    assert 0 < ms.eng.retired_upto <= t - 300
    assert len(ms._log) < len(keep._log)     # old delivered messages dropped from the log
    assert ms.extra == keep.extra and ms.counters == keep.counters
    assert len(ms.messages) == len(keep.messages) and len(ms.dram) == len(keep.dram)
    assert ms.messages.summary_by_kind() == keep.messages.summary_by_kind()
    with pytest.raises(RecordsNotKept, match="first 8 DRAM requests"):
        list(ms.messages)
    with pytest.raises(RecordsNotKept):
        ms.dram.ending_at(ms.eng.retired_upto - 1)
    late = sorted({m.available for m in keep.messages if m.available >= ms.eng.retired_upto}
                  | {d.complete for d in keep.dram if d.complete >= ms.eng.retired_upto})
    assert late
    for c in late:
        assert ms.messages.ending_at(c) == [m for m in keep.messages if m.available == c]
        assert ms.dram.ending_at(c) == [d for d in keep.dram if d.complete == c]
        assert keep.dram.ending_at(c) == [d for d in keep.dram if d.complete == c]


def test_latency_summary_of_counts_is_numpys():
    # the summaries kept instead of every latency give numpy's mean, percentiles
    # (linear interpolation) and histogram bit for bit
    from neurosim.memsys.stats import LATENCY_EDGES, latency_summary_of_counts

    rng = np.random.default_rng(5)
    for i in range(400):
        n = int(rng.integers(1, 2000))
        scale = (2, 9, 300, 40000)[i % 4]
        lat = rng.integers(0, scale, n) if i % 3 else rng.geometric(1 / scale, n)
        hist, _ = np.histogram(lat, bins=np.array(LATENCY_EDGES, dtype=np.float64))
        want = {"count": n, "mean": float(lat.mean()), "p50": float(np.percentile(lat, 50)),
                "p99": float(np.percentile(lat, 99)), "max": int(lat.max()),
                "hist_edges": list(LATENCY_EDGES[:-1]), "hist_counts": hist.tolist()}
        got = latency_summary_of_counts(np.bincount(lat))
        assert repr(got) == repr(want)
    assert latency_summary_of_counts(np.zeros(0, np.int64))["count"] == 0


def test_tallies_group_batches_as_record_by_record():
    # the retired packets' and requests' tallies, fed in batches, hold what grouping every
    # record one at a time gives (kinds, channels and tensor codes found by counting)
    from neurosim.memsys.stats import PacketTally, RequestTally

    rng = np.random.default_rng(7)
    packets, requests = PacketTally(), RequestTally()
    want_pk, want_rq, want_lat, first, last = {}, {}, {}, {}, {}
    for _ in range(30):
        n = int(rng.integers(0, 50))
        kind = rng.integers(0, 7, n) * int(rng.integers(1, 3))
        flits = rng.integers(1, 18, n)
        latency = rng.integers(0, 5000, n)
        packets.add(kind, flits, latency)
        for k, f, lat in zip(kind.tolist(), flits.tolist(), latency.tolist()):
            got = want_pk.setdefault(k, [0, 0, []])
            got[0] += 1
            got[1] += f
            got[2].append(lat)
        channel = rng.integers(0, 4, n)
        write = rng.random(n) < 0.3
        tensor = rng.integers(0, 9, n)
        arrive = rng.integers(0, 10_000, n)
        complete = arrive + rng.integers(1, 900, n)
        requests.add(channel, write, tensor, arrive, complete)
        for ch, w, t, a, c in zip(channel.tolist(), write.tolist(), tensor.tolist(),
                                  arrive.tolist(), complete.tolist()):
            want_rq[(ch, w, t)] = want_rq.get((ch, w, t), 0) + 1
            want_lat.setdefault((ch, w), []).append(c - a)
            first[ch] = min(first.get(ch, a), a)
            last[ch] = max(last.get(ch, c), c)
    assert sorted(packets.kinds) == sorted(want_pk)
    for k, (npk, nfl, lats) in want_pk.items():
        got = packets.kinds[k]
        assert (got[0], got[1]) == (npk, nfl)
        assert got[2].tolist() == np.bincount(lats).tolist()
    assert requests.requests == want_rq
    assert sorted(requests.latency) == sorted(want_lat)
    for at, lats in want_lat.items():
        assert requests.latency[at].tolist() == np.bincount(lats).tolist()
    assert (requests.first, requests.last) == (first, last)


def test_late_post_rolls_back_to_a_checkpoint_not_the_start():
    # a long read makes next_event speculate thousands of cycles (many checkpoints); a post
    # late in that span rolls back only to the checkpoint before it
    ms = make("cycle", "cycle")
    ops = [("rd", 0, 0, 0, 64 * 3000), ("msg", 5000, 1, 2, 4000)]
    post(ms, ops[0])
    e = ms.next_event()
    assert e > 6000
    eng = ms.eng
    assert eng.S.par[0] > 3                          # checkpoints held
    start = int(eng.S.ck_g[0])
    post(ms, ops[1])
    ms._consistent()
    assert start < eng.G <= 5000                     # not back to the start
    assert eng.G > 5000 - 2 * int(eng.S.par[1])
    ms.drain()
    ref, _ = uninterrupted(("cycle", "cycle"), ops)
    assert ms.messages == ref.messages and ms.dram == ref.dram


@pytest.mark.parametrize("noc,dram", COMBOS)
def test_transfer_rows_hold_each_bursts_decoded_address(noc, dram):
    """A transfer's table rows (filled by one kernel, ``_transfer_rows``): one request per
    burst at the channel, rank x banks + bank and row that DramAddressMap.decode gives its
    address (bank groups and two ranks in the map); with the cycle-level NoC, its request
    packets to the channel's controller and, for a read, the response packets back, which
    then carry the handle; with the ideal NoC, the arrival ``noc.ideal_latency`` later."""
    ms = make(noc, dram, "chip.dram_nodes=[[0,0],[4,3]]", "dram.channels=2", "dram.ranks=2",
              "dram.banks=8", "dram.bank_groups=2", "dram.address_mapping=RoRaBgBaChCo")
    amap, eng = ms.amap, ms.eng
    for write, node, addr, nbytes in ((False, 6, 4096 - 64 * 3, 64 * 7),
                                      (True, 13, 1 << 20, 200)):
        r0, p0 = eng.n_rq, eng.n_pk
        (ms.dram_write if write else ms.dram_read)(5, node, addr, nbytes, "weights")
        first, n = amap.bursts(addr, nbytes)
        assert eng.n_rq - r0 == n
        R, P = eng.R, eng.P
        npk_req = len(ms._dram_flits["dram_write" if write else "dram_read_req"])
        npk_resp = len(ms._dram_flits["dram_read_resp"])
        for k in range(n):
            f = amap.decode((first + k) * amap.burst)
            i = r0 + k - eng.rb
            assert (R.channel[i], R.bank[i], R.row[i], R.write[i], R.pk_rem[i]) == (
                f["channel"], f["rank"] * 8 + f["bank"], f["row"], int(write), npk_req)
            if noc == "ideal":
                assert R.arrive[i] == 5 + ms.cfg.noc.ideal_latency and R.handle[i] >= 0
                continue
            ctrl_ep = 2 * int(ms._ctrl_node[f["channel"]]) + 1
            for j in range(npk_req):
                q = p0 + k * npk_req + j - eng.pb
                assert (P.src_ep[q], P.dst_ep[q], P.time[q], P.req[q]) == (
                    2 * node, ctrl_ep, 5, r0 + k)
            if write:
                assert R.handle[i] >= 0 and R.resp_n[i] == 0
                continue
            assert R.handle[i] == -1 and R.resp_n[i] == npk_resp
            q0 = p0 + n * npk_req + k * npk_resp
            assert R.resp_first[i] == q0
            for q in range(q0 - eng.pb, q0 - eng.pb + npk_resp):
                assert (P.src_ep[q], P.dst_ep[q], P.req[q]) == (ctrl_ep, 2 * node, -1)
                assert P.handle[q] >= 0
        assert eng.n_pk - p0 == (0 if noc == "ideal" else
                                 n * (npk_req + (0 if write else npk_resp)))
    ms.drain()


@pytest.mark.parametrize("noc, dram", COMBOS)
def test_activity_samples_hold_the_counters_of_their_cycles(noc, dram, monkeypatch):
    """The timeline's activity samples (taken by the engine in committed runs, and at each
    advance) hold the cumulative link, injection and DRAM-command counters at the top of
    their cycles, as a run advanced to that cycle has them; at least the spacing apart, and
    thinned out (the spacing doubled) beyond the limit. Small limit and buffer here, so that
    both the thinning and the engine's full-buffer returns happen."""
    from neurosim.memsys import cycle

    monkeypatch.setattr(cycle, "ACTIVITY_SAMPLES", 40)
    monkeypatch.setattr(cycle, "SAMPLE_ROWS", 7)
    sets = (noc, dram, "dram.timing_ns.tREFI=400")
    a = make(*sets)
    posts = reactive_run(a, np.random.default_rng(5), 400, horizon="final", quiet=0.5)
    cycles, st_port, st_inj, bus = a.eng.activity()
    assert 20 <= len(cycles) <= 40
    assert min(np.diff(cycles)) >= 2 * cycle.ACTIVITY_FIRST_EVERY    # thinned at least once
    b = make(*sets)
    for op in posts:
        post(b, op)
    cmd = b.eng.D.cmd
    rdwr = [cycle.dm.CMD_NAMES.index(k) for k in ("rd", "wr")]
    for j, c in enumerate(cycles):
        b.advance(c)
        assert (b.eng.N.st_port == st_port[j]).all(), c
        assert (b.eng.N.st_inj == st_inj[j]).all(), c
        assert (cmd[:, rdwr].sum(axis=1) == bus[j]).all(), c
    assert st_port[-1].sum() > 0 if noc == "cycle" else bus[-1].sum() > 0
