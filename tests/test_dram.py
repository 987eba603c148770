"""Cycle-level DRAM (docs/microarchitecture.md section 7): every timing parameter, FR-FCFS,
the row-hit cap, read and write queues with write draining, bank groups, ranks, page
policies, refresh, bandwidth bounds, counters. Each hand-worked case runs on both models:
the event model's ``CycleMemorySystem`` and the reference's ``CycleChannel``.

The DRAM is driven with ``noc.model: ideal`` and ``noc.ideal_latency: 0``, so a request
posted at cycle t reaches its channel at t; it joins its queue at the end of t and its
first command issues at t + 1 at the earliest (7.2). The clock is 1 GHz and timings are
whole ns, so each timing is that many cycles. Addresses (1 channel, 1 rank, 4 banks, 16
bursts of 64 B per row, RoBaRaCoCh): byte address = ((row * 4 + bank) * 16 + col) * 64.
With ``bank_groups: 2`` banks 0, 1 form group 0 and banks 2, 3 group 1.
"""
from collections import Counter

import numpy as np
import pytest

from neurosim.arch import dram_timing_cycles, load_arch
from neurosim.memsys.cycle import CycleMemorySystem
from neurosim.reference.dram import Dram as ReferenceDram

T = {"tRCD": 10, "tCL": 12, "tCWL": 8, "tRP": 10, "tRAS": 25, "tWR": 12, "tRTP": 6,
     "tCCD": 4, "tRRD": 5, "tFAW": 30, "tWTR": 6, "tREFI": 0, "tRFC": 100}
TBURST = 4  # 64 B on a 64-bit bus at 2000 MT/s = 4 ns
MODELS = ["hw", "reference"]


def cfg(**over):
    t = {**T, **{k: v for k, v in over.items() if k.startswith("t")}}
    sets = ["noc.model=ideal", "noc.ideal_latency=0", "dram.model=cycle", "chip.clock_mhz=1000",
            "dram.preset=null", "dram.channels=1", f"dram.ranks={over.get('ranks', 1)}",
            f"dram.banks={over.get('banks', 4)}", "dram.bus_bits=64",
            f"dram.bank_groups={over.get('groups', 1)}",
            "dram.data_rate_mtps=2000", "dram.burst_bytes=64", "dram.row_bytes=1024",
            f"dram.page_policy={over.get('policy', 'open')}",
            f"dram.queue_depth={over.get('queue_depth', 32)}",
            f"dram.write_queue_depth={over.get('write_queue_depth', 32)}",
            f"dram.row_hit_cap={over.get('cap', 4)}",
            f"dram.address_mapping={over.get('mapping', 'RoBaRaCoCh')}"]
    sets += [f"dram.timing_ns.{k}={v}" for k, v in t.items()]
    return load_arch("paper-20core", sets)


def addr(row, bank, col=0, banks=4):
    return ((row * banks + bank) * 16 + col) * 64


class ReferenceRun:
    """The reference's DRAM stepped cycle by cycle over the same requests."""

    def __init__(self, config, reqs):
        self.dram = ReferenceDram(config)
        self.requests = [self.dram.request(a, rw == "w", "weights") for _, rw, a in reqs]
        pending = sorted(zip([t for t, _, _ in reqs], range(len(reqs))))
        c = 0
        while pending or self.dram.busy() or any(r.complete is None or r.complete > c
                                                 for r in self.requests):
            while pending and pending[0][0] == c:
                r = self.requests[pending.pop(0)[1]]
                r.arrive = c
                self.dram.channels[r.channel].arrive(c, r)
            for ch in self.dram.channels:
                ch.step(c)
            c += 1
        self.end = c

    def counters(self, before=None):
        out = Counter()
        for ch in self.dram.channels:
            for cmd, n in ch.command_counts(self.end if before is None else before).items():
                out[(f"dram.ch{ch.index}", cmd)] += n
        return out


def simulate(model, reqs, **over):
    """reqs: (cycle, 'r'|'w', address). Returns (counters, records in post order); a record
    has ``arrive``, ``complete`` and ``outcome``."""
    config = cfg(**over)
    if model == "reference":
        run = ReferenceRun(config, reqs)
        return run.counters(), run.requests
    ms = CycleMemorySystem(config)
    for t, rw, a in reqs:
        (ms.dram_write if rw == "w" else ms.dram_read)(t, 0, a, 64, "weights")
    ms.drain()
    return ms.counters, ms.dram


def run(reqs, **over):
    """The event model alone (for its statistics)."""
    ms = CycleMemorySystem(cfg(**over))
    for t, rw, a in reqs:
        (ms.dram_write if rw == "w" else ms.dram_read)(t, 0, a, 64, "weights")
    ms.drain()
    return ms, ms.dram


def test_config_conversion():
    t = dram_timing_cycles(cfg())
    assert t["tBURST"] == TBURST
    assert dram_timing_cycles(cfg(tRCD=13))["tRCD"] == 13
    # one bank group: the same-group values are the _S ones, whatever is set
    assert (t["tCCD_L"], t["tRRD_L"], t["tWTR_L"], t["tRTRS"]) == (4, 5, 6, 0)
    assert dram_timing_cycles(cfg(groups=2, tCCD_L=7))["tCCD_L"] == 7
    assert dram_timing_cycles(cfg(groups=1, tCCD_L=7))["tCCD_L"] == 4
    assert dram_timing_cycles(cfg(groups=2))["tCCD_L"] == 4  # null: tCCD


MISS = 1 + T["tRCD"] + T["tCL"] + TBURST  # ACT the cycle after arrival, RD tRCD later
HIT = 1 + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("key", ["tRCD", "tCL"])
def test_read_miss_latency(model, key):
    for v in (T[key], T[key] + 3):
        _, (r,) = simulate(model, [(5, "r", addr(0, 0))], **{key: v})
        assert r.outcome == "miss"
        assert r.complete - r.arrive == MISS + (v - T[key])


@pytest.mark.parametrize("model", MODELS)
def test_write_latency_tcwl(model):
    # an idle controller drains a lone write at once: ACT 6, WR 16, data 16 + tCWL + tBURST
    for v in (8, 11):
        _, (r,) = simulate(model, [(5, "w", addr(0, 0))], tCWL=v)
        assert r.complete - r.arrive == 1 + T["tRCD"] + v + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_row_hit(model):
    _, (a, b) = simulate(model, [(0, "r", addr(3, 1, 0)), (100, "r", addr(3, 1, 5))])
    assert (a.outcome, b.outcome) == ("miss", "hit")
    assert b.complete - b.arrive == HIT


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("key", ["tRP", "tRAS"])
def test_row_conflict(model, key):
    # ACT row 0 at 1 (RD at 11); a request to row 1 of the same bank at 1: PRE at
    # 1 + tRAS (> RD 11 + tRTP 6), ACT tRP later (= 1 + tRC), RD tRCD after that
    for v in (T[key], T[key] + 5):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0)), (1, "r", addr(1, 0))], **{key: v})
        tras, trp = (v, T["tRP"]) if key == "tRAS" else (T["tRAS"], v)
        assert b.outcome == "conflict"
        assert b.complete == 1 + tras + trp + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_trtp_delays_precharge_after_read(model):
    # tRAS small so that read-to-precharge binds: RD at 11, PRE at 11 + tRTP
    for v in (6, 20):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0)), (1, "r", addr(1, 0))], tRAS=1,
                             tRTP=v)
        assert b.complete == 11 + v + T["tRP"] + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_twr_delays_precharge_after_write(model):
    # The write drains first (the read queue is empty at 1): ACT 1, WR 11, data ends
    # 11 + tCWL + tBURST = 23. Meanwhile the read to row 1 may not PRE bank 0 (a queued
    # write targets it, 7.2). After the WR: PRE at 23 + tWR, ACT tRP later.
    for v in (12, 20):
        _, (a, b) = simulate(model, [(0, "w", addr(0, 0)), (1, "r", addr(1, 0))], tRAS=1,
                             tWR=v)
        assert a.complete == 11 + T["tCWL"] + TBURST
        pre = 11 + T["tCWL"] + TBURST + v
        assert b.complete == pre + T["tRP"] + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_tccd_spaces_column_commands(model):
    # two hits of one row: RD at 11 and at 11 + max(tCCD, tBURST)
    for v in (4, 9):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 0, 1))],
                             tCCD=v)
        assert b.complete - a.complete == max(v, TBURST)


@pytest.mark.parametrize("model", MODELS)
def test_data_bus_spaces_bursts(model):
    # tCCD 1 < tBURST 4: RD-to-RD is max(tBURST, tCCD) = tBURST
    _, recs = simulate(model, [(0, "r", addr(0, 0, k)) for k in range(4)], tCCD=1)
    assert np.diff([r.complete for r in recs]).tolist() == [TBURST] * 3


@pytest.mark.parametrize("model", MODELS)
def test_trrd_spaces_activates(model):
    # two banks: ACTs at 1 and 1 + tRRD (the second RD waits for its ACT + tRCD)
    for v in (5, 9):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0)), (0, "r", addr(0, 1))], tRRD=v)
        assert b.complete == 1 + v + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_tfaw_limits_activates(model):
    # 5 banks opened at once (8 banks): ACTs at 1, 6, 11, 16 (tRRD), the 5th at
    # max(21, 1 + tFAW). tRCD = 22 keeps the RDs (23, 28, ...) off the ACT cycles.
    for v in (20, 40):
        _, recs = simulate(model, [(0, "r", addr(0, b, banks=8)) for b in range(5)], banks=8,
                           tFAW=v, tRCD=22)
        assert recs[4].complete == max(21, 1 + v) + 22 + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_twtr_delays_read_after_write(model):
    # The write drains first: ACT bank 0 at 1, WR at 11. The read (bank 1, at 5) is served
    # while the write waits for tRCD: ACT bank 1 at 6. Its RD waits until
    # WR + tCWL + tBURST + tWTR.
    for v in (6, 15):
        _, (w, r) = simulate(model, [(0, "w", addr(0, 0)), (5, "r", addr(0, 1))], tWTR=v)
        assert r.complete == 11 + T["tCWL"] + TBURST + v + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_reads_go_before_writes_until_drain(model):
    # a write and a read at 0: the read queue is served (the write queue is not full);
    # ACT bank 1 at 1, RD 11 (done 27). At 12 the read queue is empty: drain, ACT bank 0
    # at 12, WR 22 (RD-to-WR tCL + tBURST - tCWL = 8 allows 19), done 22 + 8 + 4 = 34.
    _, (w, r) = simulate(model, [(0, "w", addr(0, 0)), (0, "r", addr(0, 1))])
    assert (r.complete, w.complete) == (27, 34)


@pytest.mark.parametrize("model", MODELS)
def test_full_write_queue_starts_draining(model):
    # write queue of 2: two writes (bank 0) and a read (bank 1) at 0; both writes join at
    # the end of 0, so at 1 the write queue is full and drains both: ACT b0 at 1,
    # WR at 11 and 15 (done 23, 27). The read is served meanwhile (the write queue has
    # nothing legal at 2): ACT b1 at 6 (tRRD), its RD after the last WR + tCWL + tBURST +
    # tWTR = 15 + 18 = 33, done 33 + 16 = 49.
    _, (w0, w1, r) = simulate(model, [(0, "w", addr(0, 0, 0)), (0, "w", addr(0, 0, 1)),
                                      (0, "r", addr(0, 1))], write_queue_depth=2)
    assert (w0.complete, w1.complete, r.complete) == (23, 27, 49)


@pytest.mark.parametrize("model", MODELS)
def test_bank_groups_tccd_l(model):
    # 2 groups, tCCD_L 7 > tCCD_S 4: reads to banks 0 and 1 (same group) or 0 and 2.
    # ACTs at 1 and 6 (tRRD_L = tRRD_S = 5); RD b0 at 11; the second RD at
    # max(6 + tRCD = 16, 11 + tCCD): 18 in the same group, 16 in the other.
    for bank, rd in ((1, 18), (2, 16)):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0)), (0, "r", addr(0, bank))],
                             groups=2, tCCD_L=7)
        assert b.complete == rd + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_bank_groups_trrd_l_twtr_l(model):
    # tRRD_L 9: ACT b0 at 1, ACT b1 (same group) at 10, b2 (other group) at 6
    for bank, act in ((1, 10), (2, 6)):
        _, (a, b) = simulate(model, [(0, "r", addr(0, 0)), (0, "r", addr(0, bank))],
                             groups=2, tRRD_L=9)
        assert b.complete == act + T["tRCD"] + T["tCL"] + TBURST
    # tWTR_L 15: the write-then-read case of test_twtr (WR 11), read in bank 1 (same
    # group: WR + 12 + 15 = 38) or bank 2 (other group: WR + 12 + tWTR_S 6 = 29)
    for bank, rd in ((1, 38), (2, 29)):
        _, (w, r) = simulate(model, [(0, "w", addr(0, 0)), (5, "r", addr(0, bank))],
                             groups=2, tWTR_L=15)
        assert r.complete == rd + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_rank_switch_trtrs(model):
    # 2 ranks (RoBaRaCoCh: rank above the column): reads to rank 0 and rank 1, bank 0.
    # ACTs at 1 and 6 (tRRD binds only within a rank, but one command a cycle and FR-FCFS
    # keep them apart: ACT r0 at 1, ACT r1 at 2). RD r0 at 11, RD r1 at
    # max(12, 11 + tBURST + tRTRS).
    def a(rank):
        return ((0 * 4 * 2 + rank) * 16) * 64
    for rtrs, rd in ((0, 15), (3, 18)):
        _, (x, y) = simulate(model, [(0, "r", a(0)), (0, "r", a(1))], ranks=2, tRTRS=rtrs)
        assert x.complete == 11 + T["tCL"] + TBURST
        assert y.complete == rd + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_row_hit_cap_lets_a_conflict_in(model):
    # bank 0 row 0 opened at 1 by the first of 8 hits; a row-1 request arrives at 2
    # (older than the hits at 3..). Hits are served first (FR-FCFS) until the row-hit count
    # reaches the cap; then the conflict may PRE although hits are pending.
    hits = [(0, "r", addr(0, 0, 0)), (2, "r", addr(1, 0))] + \
           [(3, "r", addr(0, 0, k)) for k in range(1, 8)]
    # tRTP 1, so that a PRE fits between two hits (4 cycles apart).
    # cap 16: all 8 hits first (RDs 11, 15, ..., 39); PRE at 39 + tRTP = 40 > 1 + tRAS,
    # ACT 50, RD 60
    _, recs = simulate(model, hits, cap=16, tRTP=1)
    assert recs[1].complete == 60 + T["tCL"] + TBURST
    # cap 2: hits go first while legal (RDs 11, 15, 19, 23); from 15 on the row-hit count is
    # >= 2, so the conflict may PRE in a cycle without a legal RD once PRE is legal at
    # 1 + tRAS = 26 (24 and 25 are too early, 27 would be the next RD): PRE 26, ACT 36,
    # RD 46
    _, recs = simulate(model, hits, cap=2, tRTP=1)
    assert recs[1].complete == 46 + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_refresh_blocks_for_trfc(model):
    # idle DRAM: REF at tREFI = 1000; a request arriving at 1001 waits until 1000 + tRFC
    for rfc in (100, 150):
        counters, (r,) = simulate(model, [(1001, "r", addr(0, 0))], tREFI=1000, tRFC=rfc)
        assert r.complete == 1000 + rfc + T["tRCD"] + T["tCL"] + TBURST
        assert counters[("dram.ch0", "ref")] == 1


@pytest.mark.parametrize("model", MODELS)
def test_refresh_precharges_open_banks_first(model):
    # bank 0 opened at 986 (RD at 996). At 1000 refresh is due: its PRE is legal at
    # max(986 + tRAS, 996 + tRTP) = 1011, REF at 1011 + tRP = 1021; the next request (a hit
    # before the refresh) finds the bank closed and activates at 1021 + tRFC
    counters, (a, b) = simulate(model, [(985, "r", addr(0, 0)), (1001, "r", addr(0, 0, 1))],
                                tREFI=1000)
    assert a.complete == 985 + MISS
    assert b.outcome == "miss"
    assert b.complete == 1021 + T["tRFC"] + T["tRCD"] + T["tCL"] + TBURST
    c = counters
    assert (c[("dram.ch0", "pre")], c[("dram.ch0", "ref")], c[("dram.ch0", "act")]) == (1, 1, 2)


@pytest.mark.parametrize("model", MODELS)
def test_refresh_blocks_column_commands(model):
    # ACT at 991; the RD legal at 1001 waits for the whole refresh: PRE at 991 + tRAS =
    # 1016, REF 1026, ACT 1026 + tRFC, RD tRCD later
    _, (a,) = simulate(model, [(990, "r", addr(0, 0))], tREFI=1000)
    assert a.complete == 1016 + T["tRP"] + T["tRFC"] + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("model", MODELS)
def test_refresh_is_per_rank_and_staggered(model):
    # 2 ranks, tREFI 1000: rank 0 refreshes at 500, rank 1 at 1000 (I = 1000 / 2). A read
    # of rank 1 at 499 is not held up by rank 0's refresh beyond the command slot the REF
    # takes at 500: ACT 501, RD 511; one of rank 0 at 501 waits for 500 + tRFC.
    def a(rank):
        return rank * 16 * 64
    _, (x, y) = simulate(model, [(499, "r", a(1)), (501, "r", a(0))], ranks=2, tREFI=1000)
    assert x.complete == 501 + T["tRCD"] + T["tCL"] + TBURST
    assert y.complete == 500 + T["tRFC"] + T["tRCD"] + T["tCL"] + TBURST


@pytest.mark.parametrize("refi, refs", [(1000, 5), (700, 7)])
def test_refresh_interval_counts(refi, refs):
    # REFs at refi, 2*refi, ... while the DRAM idles; those before cycle 5600 are counted
    ms, _ = run([(0, "r", addr(0, 0)), (5000, "r", addr(0, 0))], tREFI=refi)
    ms.advance(5600)
    assert ms.counters[("dram.ch0", "ref")] == refs


@pytest.mark.parametrize("model", MODELS)
def test_closed_page_auto_precharges(model):
    # the second access to the same row is a miss: RDA at 11 closes the bank; its next
    # ACT is legal at max(RDA + tBURST + tRTP + tRP = 31, ACT 1 + tRAS + tRP = 36) = 36
    counters, (a, b) = simulate(model, [(0, "r", addr(0, 0, 0)), (1, "r", addr(0, 0, 1))],
                                policy="closed")
    assert (a.outcome, b.outcome) == ("miss", "miss")
    assert b.complete == 36 + T["tRCD"] + T["tCL"] + TBURST
    assert counters[("dram.ch0", "pre")] == 2


@pytest.mark.parametrize("model", MODELS)
def test_fr_fcfs_serves_row_hits_first(model):
    # bank 0 open on row 0 at 1; queued: row 1 (older), then row 0 (younger). The younger
    # hit's RD is legal at 15 (tCCD after the first RD at 11) and goes first; the older
    # conflict may not PRE while a hit to the open row is pending (row-hit count 1 < 4).
    _, (a, b, c) = simulate(model, [(0, "r", addr(0, 0, 0)), (1, "r", addr(1, 0)),
                                    (2, "r", addr(0, 0, 1))])
    assert c.outcome == "hit" and c.complete == 15 + T["tCL"] + TBURST
    assert b.outcome == "conflict" and b.complete > c.complete


@pytest.mark.parametrize("model", MODELS)
def test_queue_depth_delays_admission(model):
    # depth 1: the second request (a hit) joins when the first leaves the queue (its RD
    # at 11): at the end of 11; RD at max(12, 11 + tCCD) = 15
    _, (a, b) = simulate(model, [(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 0, 1))],
                         queue_depth=1)
    assert a.complete == MISS
    assert b.complete == 15 + T["tCL"] + TBURST
    _, (a, b) = simulate(model, [(0, "r", addr(0, 0, 0)), (0, "r", addr(0, 2, 0))],
                         queue_depth=1)
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
    # each miss or conflict costs at least one ACT (more when its row is closed before its
    # column command: by a conflict past the row-hit cap, by a refresh, or by a read while
    # the write that opened the row waits for the next drain); each conflict one PRE
    assert c[("dram.ch0", "act")] >= ex["row_misses"] + ex["row_conflicts"]
    assert c[("dram.ch0", "pre")] >= ex["row_conflicts"]
    assert c[("dram.ch0", "ref")] == (0 if refi == 0 else (ms._C - 1) // 500)
    # every PRE closes a row an ACT opened; at most one row per bank stays open
    assert 0 <= c[("dram.ch0", "act")] - c[("dram.ch0", "pre")] <= 4


@pytest.mark.parametrize("refi", [0, 500])
def test_queue_occupancy_is_the_requests_queue_time(refi):
    """The occupancy sums (avg_read_queue, avg_write_queue times the span) count every
    request once per cycle it spends in its queue: from the cycle after it joins (its arrival
    cycle, with queues deep enough never to make it wait outside) through the cycle of its
    column command."""
    ms = CycleMemorySystem(cfg(tREFI=refi, queue_depth=512, write_queue_depth=512))
    rng = np.random.default_rng(5)
    t = 0
    for _ in range(400):
        t += int(rng.integers(0, 40))
        f = ms.dram_write if rng.random() < 0.3 else ms.dram_read
        f(t, 0, int(rng.integers(0, 1 << 20)) & ~63, 64, "weights")
    ms.drain()
    R, n = ms.eng.R, ms.eng.n_rq
    assert ms.eng.rb == 0 and (R.issue[:n] >= R.arrive[:n]).all()
    wait = R.issue[:n] - R.arrive[:n]
    occupancy = ms.eng.D.occupancy[0]
    assert occupancy[0] == wait[R.write[:n] == 0].sum() > 0
    assert occupancy[1] == wait[R.write[:n] != 0].sum() > 0


@pytest.mark.parametrize("key, value, expect", [
    ("dram.address_mapping", "RoBaRaCo", "field string"),       # no channel field
    ("dram.address_mapping", "BaRoRaCoCh", "field string"),     # row not first
    ("dram.address_mapping", "RoBaBaRaCoCh", "field string"),   # a field twice
    ("dram.address_mapping", "RoBaRaCoChXy", "field string"),   # unknown field
    ("dram.bank_groups", "3", "power of two"),
    ("dram.bank_groups", "8", "at most dram.banks"),
    ("dram.timing_ns.tCCD_L", "-1", "non-negative"),
])
def test_bad_dram_controller_keys(key, value, expect):
    from neurosim.errors import InputError

    with pytest.raises(InputError, match=expect) as e:
        load_arch("paper-20core", ["dram.preset=null", "dram.channels=1", "dram.ranks=1",
                                   "dram.banks=4", "dram.bus_bits=64",
                                   "dram.data_rate_mtps=2000", "dram.burst_bytes=64",
                                   "dram.row_bytes=1024"]
                  + [f"dram.timing_ns.{k}={v}" for k, v in T.items()] + [f"{key}={value}"])
    assert key in str(e.value)


@pytest.mark.parametrize("policy, refi, ranks, groups", [
    ("open", 0, 1, 1), ("open", 500, 2, 2), ("closed", 500, 1, 2), ("open", 300, 2, 1)])
def test_sleeping_channels_step_like_every_cycle(policy, refi, ranks, groups):
    """A channel is stepped only when a step can do something (``DramState.wake``; the
    occupancy sums count the cycles between): the same requests with the channel woken
    for every cycle give the same commands, completions, outcomes and occupancy sums."""
    over = dict(policy=policy, tREFI=refi, ranks=ranks, groups=groups, banks=4,
                queue_depth=8, write_queue_depth=8)

    def post(ms):
        rng = np.random.default_rng(7)
        t = 0
        for _ in range(300):
            t += int(rng.integers(0, 12))
            f = ms.dram_write if rng.random() < 0.35 else ms.dram_read
            f(t, 0, int(rng.integers(0, 1 << 16)) & ~63, 64 * int(rng.integers(1, 3)),
              "weights")

    sleeping = CycleMemorySystem(cfg(**over))
    post(sleeping)
    sleeping.drain()
    stepped = CycleMemorySystem(cfg(**over))
    post(stepped)
    eng = stepped.eng
    c = 0
    while (eng.R.complete[:eng.n_rq] < 0).any() or c <= sleeping._C:
        eng.D.wake[:] = 0            # every cycle a step, as without the wake
        eng.run(c + 1)
        c += 1
    a, b = sleeping.eng, stepped.eng
    n = a.n_rq
    assert n == b.n_rq > 300 and a.rb == b.rb == 0
    for col in ("issue", "complete", "outcome"):
        assert (getattr(a.R, col)[:n] == getattr(b.R, col)[:n]).all(), col
    for name in ("occupancy", "cmd", "outc", "bank_outc"):
        assert (getattr(a.D, name) == getattr(b.D, name)).all(), name
    assert a.D.occupancy[0, 0] > 0 and a.D.cmd[0].sum() > 0
