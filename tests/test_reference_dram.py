"""Reference model, DRAM (spec 5.2 and 7): address decoding and command timing worked out
by hand on a channel with round timings (1 GHz clock, so 1 ns = 1 cycle)."""
from neurosim.arch import dram_timing_cycles
from neurosim.reference.dram import AddressMap, CycleChannel, Request

from handcases import arch

TIMING = dict(tRCD=3, tCL=4, tCWL=2, tRP=3, tRAS=8, tWR=2, tRTP=2, tCCD=2, tRRD=2,
              tFAW=10, tWTR=2, tREFI=10000, tRFC=20)


def cfg(**timing):
    t = {**TIMING, **timing}
    return arch("chip.clock_mhz=1000", "dram.model=cycle", "dram.channels=1", "dram.ranks=1",
                "dram.banks=8", "dram.bus_bits=32", "dram.data_rate_mtps=8000",
                "dram.burst_bytes=64", "dram.row_bytes=1024",
                *[f"dram.timing_ns.{k}={v}" for k, v in t.items()])


def run(config, arrivals, until=400, policy=None):
    """``arrivals``: list of (cycle, bank, row, write). Returns the requests (complete,
    outcome) and the channel."""
    ch = CycleChannel(config, 0)
    reqs = [Request(0, 0, bank, row, write, "weights", 0) for _, bank, row, write in arrivals]
    for c in range(until):
        for (a, *_), r in zip(arrivals, reqs):
            if a == c:
                r.arrive = c
                ch.arrive(c, r)
        ch.step(c)
    return reqs, ch


def test_timings_in_cycles():
    t = dram_timing_cycles(cfg())
    assert t["tBURST"] == 2 and t["tRCD"] == 3 and t["tREFI"] == 10000
    # LPDDR4-3200 at 500 MHz: 64 B over 4 B x 3200 MT/s = 5 ns = 2.5 -> 3 cycles
    assert dram_timing_cycles(arch())["tBURST"] == 3


def test_address_mapping_fields():
    c = arch("dram.channels=2", "dram.ranks=2", "dram.banks=4", "dram.burst_bytes=64",
             "dram.row_bytes=256", "dram.address_mapping=RoBaRaCoCh")
    m = AddressMap(c)
    # burst index bits, LSB first: Ch(1) Co(2) Ra(1) Ba(2) Ro(rest)
    a = (((((5 * 4 + 3) * 2 + 1) * 4 + 2) * 2 + 1)) * 64
    assert m.decode(a) == {"channel": 1, "column": 2, "rank": 1, "bank": 3, "row": 5}
    c2 = arch("dram.channels=2", "dram.ranks=2", "dram.banks=4", "dram.burst_bytes=64",
              "dram.row_bytes=256", "dram.address_mapping=RoChBaRaCo")
    # LSB first: Co(2) Ra(1) Ba(2) Ch(1) Ro
    a = ((((5 * 2 + 1) * 4 + 3) * 2 + 1) * 4 + 2) * 64
    assert AddressMap(c2).decode(a) == {"column": 2, "rank": 1, "bank": 3, "channel": 1,
                                        "row": 5}


def test_single_read_latency_is_a_row_miss():
    """ACT at 5, RD at 5 + tRCD = 8, data ends 8 + tCL + tBURST = 14."""
    (r,), ch = run(cfg(), [(5, 0, 7, False)])
    assert (r.complete, r.outcome) == (14, "miss")
    assert [cmd for _, cmd in ch.commands] == ["act", "rd"]


def test_row_hit_miss_conflict():
    """r0 row 0 (miss): ACT 0, RD 3, done 9. r1 row 0 (hit): RD at 3 + tCCD = 5, data
    [9, 11), done 11. r2 row 1 same bank (conflict): PRE legal at max(ACT + tRAS = 8,
    RD 5 + tRTP = 7) = 8, ACT at 8 + tRP = 11, RD 14, done 20."""
    reqs, ch = run(cfg(), [(0, 0, 0, False), (1, 0, 0, False), (2, 0, 1, False)])
    assert [(r.complete, r.outcome) for r in reqs] == [(9, "miss"), (11, "hit"),
                                                       (20, "conflict")]
    assert ch.commands == [(0, "act"), (3, "rd"), (5, "rd"), (8, "pre"), (11, "act"),
                           (14, "rd")]


def test_ready_row_hit_goes_before_an_older_conflict():
    """FR-FCFS: r0 opens row 0; r1 (row 1, older) must wait for PRE; r2 (row 0, younger)
    hits and is served first."""
    reqs, _ = run(cfg(), [(0, 0, 0, False), (1, 0, 1, False), (2, 0, 0, False)])
    assert [r.outcome for r in reqs] == ["miss", "conflict", "hit"]
    assert reqs[2].complete < reqs[1].complete


def test_tccd_spaces_column_commands():
    """Two hits: RDs tCCD apart. tCCD 2 (= tBURST): done 9, 11; tCCD 4: done 9, 13."""
    reqs, _ = run(cfg(), [(0, 0, 0, False), (0, 0, 0, False)])
    assert [r.complete for r in reqs] == [9, 11]
    reqs, _ = run(cfg(tCCD=4), [(0, 0, 0, False), (0, 0, 0, False)])
    assert [r.complete for r in reqs] == [9, 13]


def test_trrd_and_tfaw_by_hand():
    """Five reads to five banks at cycle 0. One command per cycle, row hits first:
    ACT b0 @0, ACT b1 @2 (tRRD), RD b0 @3, ACT b2 @4, RD b1 @5, ACT b3 @6, RD b2 @7,
    ACT b4 blocked at 8 by tFAW (4 ACTs in (-2, 8]), RD b3 @9, ACT b4 @10, RD b4 @13.
    Without the tFAW limit (tFAW 0): ACT b4 @8, RD @11."""
    arr = [(0, b, 0, False) for b in range(5)]
    reqs, ch = run(cfg(), arr)
    assert [r.complete for r in reqs] == [9, 11, 13, 15, 19]
    assert [c for c, cmd in ch.commands if cmd == "act"] == [0, 2, 4, 6, 10]
    reqs, _ = run(cfg(tFAW=0), arr)
    assert reqs[4].complete == 11 + 4 + 2


def test_write_then_read_twtr():
    """WR b0 @3 (after ACT @0), data [5, 7); RD b1 (ACT @2) needs >= 3 + tCWL + tBURST +
    tWTR = 9, and tCCD; done 9 + 4 + 2 = 15. The write is done at 3 + 2 + 2 = 7."""
    reqs, _ = run(cfg(), [(0, 0, 0, True), (0, 1, 0, False)])
    assert [r.complete for r in reqs] == [7, 15]


def test_closed_page_auto_precharge():
    """Closed page: RD @3 auto-precharges; the bank's next ACT is legal tRP after the
    earliest legal PRE, max(ACT 0 + tRAS 8, RD 3 + tRTP 2) = 8, i.e. at 11: second
    request to the same row is a miss: ACT 11, RD 14, done 20. Two PREs counted."""
    c = cfg()
    c2 = arch("chip.clock_mhz=1000", "dram.model=cycle", "dram.channels=1", "dram.ranks=1",
              "dram.banks=8", "dram.bus_bits=32", "dram.data_rate_mtps=8000",
              "dram.burst_bytes=64", "dram.row_bytes=1024", "dram.page_policy=closed",
              *[f"dram.timing_ns.{k}={v}" for k, v in TIMING.items()])
    reqs, ch = run(c2, [(0, 0, 0, False), (1, 0, 0, False)])
    assert [(r.complete, r.outcome) for r in reqs] == [(9, "miss"), (20, "miss")]
    assert [cmd for _, cmd in ch.commands].count("pre") == 2
    reqs, _ = run(c, [(0, 0, 0, False), (1, 0, 0, False)])
    assert reqs[1].outcome == "hit"


def test_refresh_idle_and_busy():
    """Idle (tREFI 60, tRFC 10): REF at 60; a request at 61 waits for the block to end:
    ACT 70, RD 73, done 79. Busy (tREFI 70): a request at 68 opens bank 0 (ACT 68); at 70
    refresh is due, so its RD (legal at 71) may not issue; PRE when legal (ACT + tRAS =
    76), REF once tRP has passed (79), blocked until 89: ACT 89, RD 92, done 98 (a miss:
    its first command was ACT). (tREFI must exceed tRFC + tRAS + tRP + one PRE per bank,
    54 cycles here, or check_arch rejects it: refresh could starve every request.)"""
    reqs, ch = run(cfg(tREFI=60, tRFC=10), [(61, 0, 0, False)], until=80)
    assert reqs[0].complete == 79
    assert ch.commands == [(60, "ref"), (70, "act"), (73, "rd")]
    reqs, ch = run(cfg(tREFI=70, tRFC=10), [(68, 0, 0, False)], until=100)
    assert (reqs[0].complete, reqs[0].outcome) == (98, "miss")
    assert ch.commands == [(68, "act"), (76, "pre"), (79, "ref"), (89, "act"), (92, "rd")]


def test_queue_depth_holds_requests_back():
    """queue_depth 1: the second request (a row hit) cannot be seen until the first leaves
    the queue at its RD (3): it joins at 4, RD at max(4, 3 + tCCD) = 5."""
    c = arch("chip.clock_mhz=1000", "dram.model=cycle", "dram.channels=1", "dram.ranks=1",
             "dram.banks=8", "dram.bus_bits=32", "dram.data_rate_mtps=8000",
             "dram.burst_bytes=64", "dram.row_bytes=1024", "dram.queue_depth=1",
             *[f"dram.timing_ns.{k}={v}" for k, v in TIMING.items()])
    reqs, _ = run(c, [(0, 0, 0, False), (0, 0, 0, False)])
    assert [r.complete for r in reqs] == [9, 11]
