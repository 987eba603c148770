"""Reference model, DRAM (spec 5.2 and 7): address decoding, and the command sequences of a
few cases worked out by hand on a channel with round timings (1 GHz clock, so 1 ns = 1
cycle). The timing cases shared with the event model are in test_dram.py (both models)."""
from neurosim.arch import dram_timing_cycles
from neurosim.memsys.base import DramAddressMap
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


def test_address_mapping_with_bank_groups():
    """DRAMsim3's rochrababgco with one channel: LSB first Co(2) Bg(1) Ba(1) Ra(1) Ch(0) Ro;
    the bank within the rank is group * 2 + bank. Case is ignored. The event model's map
    decodes the same fields."""
    c = arch("dram.channels=1", "dram.ranks=2", "dram.banks=4", "dram.bank_groups=2",
             "dram.burst_bytes=64", "dram.row_bytes=256", "dram.address_mapping=rochrababgco")
    a = ((((5 * 2 + 1) * 2 + 1) * 2 + 1) * 4 + 3) * 64   # row 5, rank 1, ba 1, bg 1, col 3
    assert AddressMap(c).decode(a) == {"column": 3, "rank": 1, "bank": 3, "channel": 0,
                                       "row": 5}
    hw = DramAddressMap(c).decode(a)
    assert (hw["col"], hw["rank"], hw["bank"], hw["row"]) == (3, 1, 3, 5)


def test_single_read_latency_is_a_row_miss():
    """Arrives 5, joins the queue at the end of 5: ACT at 6, RD at 6 + tRCD = 9, data ends
    9 + tCL + tBURST = 15."""
    (r,), ch = run(cfg(), [(5, 0, 7, False)])
    assert (r.complete, r.outcome) == (15, "miss")
    assert ch.commands == [(6, "act"), (9, "rd")]


def test_row_hit_miss_conflict():
    """r0 row 0 (miss): ACT 1, RD 4, done 10. r1 row 0 (hit): RD at 4 + max(tBURST,
    tCCD) = 6, done 12. r2 row 1 same bank (conflict): no PRE while the older r1 is queued
    (until 6); PRE legal at max(ACT 1 + tRAS = 9, RD 6 + tRTP = 8) = 9, ACT at 9 + tRP = 12
    (= ACT 1 + tRC 11), RD 15, done 21."""
    reqs, ch = run(cfg(), [(0, 0, 0, False), (1, 0, 0, False), (2, 0, 1, False)])
    assert [(r.complete, r.outcome) for r in reqs] == [(10, "miss"), (12, "hit"),
                                                       (21, "conflict")]
    assert ch.commands == [(1, "act"), (4, "rd"), (6, "rd"), (9, "pre"), (12, "act"),
                           (15, "rd")]


def test_trrd_and_tfaw_by_hand():
    """Five reads to five banks at cycle 0, joined at the end of 0. One command per cycle,
    column commands first: ACT b0 @1, ACT b1 @3 (tRRD), RD b0 @4, ACT b2 @5, RD b1 @6,
    ACT b3 @7, RD b2 @8, ACT b4 blocked at 9 by tFAW (4 ACTs in (-1, 9]), RD b3 @10,
    ACT b4 @11, RD b4 @14. Without the tFAW limit (tFAW 0): ACT b4 @9, RD @12."""
    arr = [(0, b, 0, False) for b in range(5)]
    reqs, ch = run(cfg(), arr)
    assert [r.complete for r in reqs] == [10, 12, 14, 16, 20]
    assert [c for c, cmd in ch.commands if cmd == "act"] == [1, 3, 5, 7, 11]
    reqs, _ = run(cfg(tFAW=0), arr)
    assert reqs[4].complete == 12 + 4 + 2
