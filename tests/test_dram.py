"""Cycle-level DRAM (docs/microarchitecture.md section 7): every timing parameter, FR-FCFS,
page policies, refresh, bandwidth bounds, counters.

The DRAM is driven with ``noc.model: ideal`` and ``noc.ideal_latency: 0``, so a request
posted at cycle t reaches its channel at t. The clock is 1 GHz and timings are whole ns, so
each timing is that many cycles. Addresses (1 channel, 1 rank, 4 banks, 16 bursts of 64 B per
row, RoBaRaCoCh): byte address = ((row * 4 + bank) * 16 + col) * 64.
"""
import numpy as np
import pytest

from neurosim.arch import dram_timing_cycles, load_arch
from neurosim.hw.cycle_memsys import CycleMemorySystem

T = {"tRCD": 10, "tCL": 12, "tCWL": 8, "tRP": 10, "tRAS": 25, "tWR": 12, "tRTP": 6,
     "tCCD": 4, "tRRD": 5, "tFAW": 30, "tWTR": 6, "tREFI": 0, "tRFC": 100}
TBURST = 4  # 64 B on a 64-bit bus at 2000 MT/s = 4 ns


def cfg(**over):
    t = {**T, **{k: v for k, v in over.items() if k.startswith("t")}}
    sets = ["noc.model=ideal", "noc.ideal_latency=0", "dram.model=cycle", "chip.clock_mhz=1000",
            "dram.preset=null", "dram.channels=1", "dram.ranks=1",
            f"dram.banks={over.get('banks', 4)}", "dram.bus_bits=64",
            "dram.data_rate_mtps=2000", "dram.burst_bytes=64", "dram.row_bytes=1024",
            f"dram.page_policy={over.get('policy', 'open')}",
            f"dram.queue_depth={over.get('queue_depth', 32)}"]
    sets += [f"dram.timing_ns.{k}={v}" for k, v in t.items()]
    return load_arch("paper-20core", sets)


def addr(row, bank, col=0, banks=4):
    return ((row * banks + bank) * 16 + col) * 64


def run(reqs, **over):
    """reqs: (cycle, 'r'|'w', address). Returns the DRAM records in post order."""
    ms = CycleMemorySystem(cfg(**over))
    for t, rw, a in reqs:
        (ms.dram_write if rw == "w" else ms.dram_read)(t, 0, a, 64, "weights")
    ms.drain()
    return ms, ms.dram


def test_config_conversion():
    assert dram_timing_cycles(cfg())["tBURST"] == TBURST
    assert dram_timing_cycles(cfg(tRCD=13))["tRCD"] == 13


MISS = T["tRCD"] + T["tCL"] + TBURST  # ACT at arrival, RD tRCD later


@pytest.mark.parametrize("key", ["tRCD", "tCL"])
def test_read_miss_latency(key):
    for v in (T[key], T[key] + 3):
        _, (r,) = run([(5, "r", addr(0, 0))], **{key: v})
        assert r.outcome == "miss"
        assert r.complete - r.arrive == MISS + (v - T[key])


def test_write_latency_tcwl():
    for v in (8, 11):
        _, (r,) = run([(5, "w", addr(0, 0))], tCWL=v)
        assert r.complete - r.arrive == T["tRCD"] + v + TBURST


def test_row_hit():
    _, (a, b) = run([(0, "r", addr(3, 1, 0)), (100, "r", addr(3, 1, 5))])
    assert (a.outcome, b.outcome) == ("miss", "hit")
    assert b.complete - b.arrive == T["tCL"] + TBURST


@pytest.mark.parametrize("key", ["tRP", "tRAS"])
def test_row_conflict(key):
    # ACT row 0 at 0; a request to row 1 of the same bank at 1: PRE at tRAS, ACT tRP later
    for v in (T[key], T[key] + 5):
        _, (a, b) = run([(0, "r", addr(0, 0)), (1, "r", addr(1, 0))], **{key: v})
        tras, trp = (v, T["tRP"]) if key == "tRAS" else (T["tRAS"], v)
        assert b.outcome == "conflict"
        assert b.complete == tras + trp + T["tRCD"] + T["tCL"] + TBURST


def test_trtp_delays_precharge_after_read():
    # tRAS small so that read-to-precharge binds: RD at 10, PRE at 10 + tRTP
    for v in (6, 20):
        _, (a, b) = run([(0, "r", addr(0, 0)), (1, "r", addr(1, 0))], tRAS=1, tRTP=v)
        assert b.complete == 10 + v + T["tRP"] + T["tRCD"] + T["tCL"] + TBURST


def test_twr_delays_precharge_after_write():
    # WR at 10, data ends 10 + tCWL + tBURST, PRE tWR later
    for v in (12, 20):
        _, (a, b) = run([(0, "w", addr(0, 0)), (1, "r", addr(1, 0))], tRAS=1, tWR=v)
        pre = 10 + T["tCWL"] + TBURST + v
        assert b.complete == pre + T["tRP"] + T["tRCD"] + T["tCL"] + TBURST


def test_tccd_spaces_column_commands():
    # two hits of one row: RD at 10 and at 10 + max(tCCD, tBURST)
    for v in (4, 9):
        _, (a, b) = run([(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 0, 1))], tCCD=v)
        assert b.complete - a.complete == max(v, TBURST)


def test_data_bus_spaces_bursts():
    # tCCD 1 < tBURST 4: the data bus is the limit
    _, recs = run([(0, "r", addr(0, 0, k)) for k in range(4)], tCCD=1)
    assert np.diff([r.complete for r in recs]).tolist() == [TBURST] * 3


def test_trrd_spaces_activates():
    # two banks: ACTs at 0 and tRRD (tRRD > tCCD so the second RD waits for its ACT)
    for v in (5, 9):
        _, (a, b) = run([(0, "r", addr(0, 0)), (0, "r", addr(0, 1))], tRRD=v)
        assert b.complete == v + T["tRCD"] + T["tCL"] + TBURST


def test_tfaw_limits_activates():
    # 5 banks opened at once (8 banks): ACTs at 0, 5, 10, 15 (tRRD), the 5th at
    # max(20, tFAW). tRCD = 22 keeps the RDs (22, 27, ...) off the ACT cycles.
    for v in (20, 40):
        _, recs = run([(0, "r", addr(0, b, banks=8)) for b in range(5)], banks=8, tFAW=v,
                      tRCD=22)
        assert recs[4].complete == max(20, v) + 22 + T["tCL"] + TBURST


def test_twtr_delays_read_after_write():
    # WR to bank 0 at 10; RD to bank 1 (opened at 5) waits until WR + tCWL + tBURST + tWTR
    for v in (6, 15):
        _, (w, r) = run([(0, "w", addr(0, 0)), (0, "r", addr(0, 1))], tWTR=v)
        assert r.complete == 10 + T["tCWL"] + TBURST + v + T["tCL"] + TBURST


def test_refresh_blocks_for_trfc():
    # idle DRAM: REF at tREFI = 1000; a request arriving at 1001 waits until 1000 + tRFC
    for rfc in (100, 150):
        ms, (r,) = run([(1001, "r", addr(0, 0))], tREFI=1000, tRFC=rfc)
        assert r.complete == 1000 + rfc + MISS
        assert ms.counters[("dram.ch0", "ref")] == 1


def test_refresh_precharges_open_banks_first():
    # bank 0 opened at 985 (RD at 995). At 1000 refresh is due: its PRE is legal at
    # max(985 + tRAS, 995 + tRTP) = 1010, REF at 1010 + tRP = 1020; the next request (a hit
    # before the refresh) finds the bank closed and activates at 1020 + tRFC
    ms, (a, b) = run([(985, "r", addr(0, 0)), (1001, "r", addr(0, 0, 1))], tREFI=1000)
    assert a.complete == 985 + MISS
    assert b.outcome == "miss"
    assert b.complete == 1020 + T["tRFC"] + MISS
    c = ms.counters
    assert (c[("dram.ch0", "pre")], c[("dram.ch0", "ref")], c[("dram.ch0", "act")]) == (1, 1, 2)


def test_refresh_blocks_column_commands():
    # a RD that would issue at 1000 waits for the whole refresh (PRE, REF, tRFC, ACT)
    ms, (a,) = run([(990, "r", addr(0, 0))], tREFI=1000)
    assert a.complete == 1015 + T["tRP"] + T["tRFC"] + MISS


@pytest.mark.parametrize("refi, refs", [(1000, 5), (700, 7)])
def test_refresh_interval_counts(refi, refs):
    # REFs at refi, 2*refi, ... while the DRAM idles; those before cycle 5600 are counted
    ms, _ = run([(0, "r", addr(0, 0)), (5000, "r", addr(0, 0))], tREFI=refi)
    ms.advance(5600)
    assert ms.counters[("dram.ch0", "ref")] == refs


def test_closed_page_auto_precharges():
    # the second access to the same row is a miss: ACT again tRP after the earliest PRE
    # (RD at 10 -> PRE legal at max(tRAS = 25, 10 + tRTP) = 25 -> ACT at 35)
    ms, (a, b) = run([(0, "r", addr(0, 0, 0)), (1, "r", addr(0, 0, 1))], policy="closed")
    assert (a.outcome, b.outcome) == ("miss", "miss")
    assert b.complete == 35 + MISS
    assert ms.counters[("dram.ch0", "pre")] == 2


def test_fr_fcfs_serves_row_hits_first():
    # bank 0 open on row 0 at 0; queued: row 1 (older), then row 0 (younger). The younger
    # hit's RD is legal at 14 (tCCD after the first RD at 10) and goes first.
    _, (a, b, c) = run([(0, "r", addr(0, 0, 0)), (1, "r", addr(1, 0)),
                        (2, "r", addr(0, 0, 1))])
    assert c.outcome == "hit" and c.complete == 14 + T["tCL"] + TBURST
    assert b.outcome == "conflict" and b.complete > c.complete


def test_queue_depth_delays_admission():
    # depth 1: the second request (a hit) joins only when the first leaves the queue
    _, (a, b) = run([(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 0, 1))], queue_depth=1)
    assert a.complete == MISS
    assert b.complete == 14 + T["tCL"] + TBURST  # joins at 11, RD at max(11, 10 + tCCD)
    _, (a, b) = run([(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 2, 0))], queue_depth=1)
    assert b.complete == 11 + MISS  # the ACT of bank 2 waits for the admission at 11


def test_sequential_reads_reach_peak_bandwidth():
    # 256 consecutive bursts (16 rows, spread over the 4 banks): the ACT of the next row is
    # issued between column commands, so after the first miss the bus never idles
    n = 256
    ms, recs = run([(0, "r", k * 64) for k in range(n)])
    comp = sorted(r.complete for r in recs)
    assert comp[0] == MISS
    assert comp[-1] == MISS + (n - 1) * TBURST
    bw = ms.extra["dram"]["ch0"]["bytes_per_cycle"]
    assert bw == pytest.approx(n * 64 / (MISS + (n - 1) * TBURST))
    # peak: one 64 B burst per max(tBURST, tCCD) cycles
    assert bw > 0.95 * 64 / max(TBURST, T["tCCD"])


def test_random_reads_are_row_miss_bound():
    rng = np.random.default_rng(3)
    n = 600
    rows = rng.integers(0, 4096, n)
    banks = rng.integers(0, 4, n)
    ms, recs = run([(0, "r", addr(int(r), int(b), int(c)))
                    for r, b, c in zip(rows, banks, rng.integers(0, 16, n))])
    assert sum(r.outcome == "hit" for r in recs) < 0.02 * n
    ex = ms.extra["dram"]["ch0"]
    # every request needs a PRE-ACT cycle of its bank: at most `banks` requests per tRC
    trc = T["tRAS"] + T["tRP"]
    bound = min(4 / trc, 4 / T["tFAW"], 1 / T["tRRD"]) * 64
    assert ex["bytes_per_cycle"] <= bound
    assert ex["bytes_per_cycle"] > 0.8 * bound
    peak = 64 / TBURST
    assert ex["bytes_per_cycle"] < 0.5 * peak


@pytest.mark.parametrize("refi", [0, 500])
def test_counters_add_up(refi):
    ms = CycleMemorySystem(cfg(tREFI=refi))
    rng = np.random.default_rng(0)
    kinds = ["weights", "state", "spikes", "wgrad"]
    for i in range(300):
        f = ms.dram_write if rng.random() < 0.4 else ms.dram_read
        f(int(i * 3), 0, int(rng.integers(0, 1 << 20)) & ~63, int(rng.integers(1, 300)),
          kinds[i % 4])
    ms.drain()
    c = ms.counters
    for d in ("read", "write"):
        assert c[("dram.ch0", f"{d}_bytes")] == sum(c[("dram.ch0", f"{d}_bytes.{k}")]
                                                    for k in kinds)
    recs = ms.dram
    assert c[("dram.ch0", "rd")] + c[("dram.ch0", "wr")] == len(recs)
    assert c[("dram.ch0", "read_bytes")] + c[("dram.ch0", "write_bytes")] == 64 * len(recs)
    ex = ms.extra["dram"]["ch0"]
    assert ex["row_hits"] + ex["row_misses"] + ex["row_conflicts"] == len(recs)
    assert [r.outcome for r in recs].count("hit") == ex["row_hits"]
    if refi == 0:  # each miss or conflict costs one ACT, each conflict one PRE
        assert c[("dram.ch0", "act")] == ex["row_misses"] + ex["row_conflicts"]
        assert c[("dram.ch0", "pre")] == ex["row_conflicts"]
        assert c[("dram.ch0", "ref")] == 0
    else:  # a refresh may close a row before its request's column command
        assert c[("dram.ch0", "act")] >= ex["row_misses"] + ex["row_conflicts"]
        assert c[("dram.ch0", "ref")] == (ms._C - 1) // 500
        # every PRE closes a row an ACT opened; at most one row per bank stays open
        assert 0 <= c[("dram.ch0", "act")] - c[("dram.ch0", "pre")] <= 4
