"""Cycle-level DRAM command model (``docs/microarchitecture.md`` section 7).

Per channel: ``ranks x banks`` banks with a row buffer (open or closed page policy), a
request queue of ``queue_depth`` entries (later requests wait in arrival order), at most one
command per cycle chosen by FR-FCFS, all-bank refresh every ``tREFI``, and the timing
constraints tRCD, tCL, tCWL, tRP, tRAS, tWR, tRTP, tCCD, tRRD, tFAW, tWTR, tRFC plus the
data-bus occupancy of each burst (tBURST). All timings are in chip cycles
(:func:`neurosim.arch.dram_timing_cycles`).

The state lives in numpy arrays (:class:`DramState`), stepped by :func:`dram_channel_cycle`
(numba); :mod:`neurosim.hw.cycle_memsys` feeds it requests and collects completions.
``dram.model: ideal`` uses the same completion FIFO with a fixed latency and no queue.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..arch import dram_timing_cycles

NEG = -(1 << 40)       # "long ago" for last-command times
INF = 1 << 62

TIMING_ORDER = ("tRCD", "tCL", "tCWL", "tRP", "tRAS", "tWR", "tRTP", "tCCD", "tRRD", "tFAW",
                "tWTR", "tREFI", "tRFC", "tBURST")
(T_RCD, T_CL, T_CWL, T_RP, T_RAS, T_WR, T_RTP, T_CCD, T_RRD, T_FAW, T_WTR, T_REFI, T_RFC,
 T_BURST, P_CLOSED, P_BANKS, P_IDEAL, P_IDEAL_LAT) = range(18)
CMD_NAMES = ("act", "pre", "ref", "rd", "wr")
C_ACT, C_PRE, C_REF, C_RD, C_WR = range(5)
OUTCOMES = ("hit", "miss", "conflict")
O_HIT, O_MISS, O_CONFLICT = range(3)

# Per-request table, shared with cycle_memsys (which appends rows). Row ``r - rb`` holds
# request ``r``: the rows of finished requests may be retired (``rb``, the id of row 0, is
# an argument of the kernels that read the table). The kernels write
# ``arrive`` (when the NoC delivers it), ``issue``, ``complete``, ``outcome``, ``next``,
# ``pk_rem``.
Requests = namedtuple("Requests", [
    "channel", "bank",   # bank = rank * banks + bank, within the channel
    "row", "write",
    "handle",            # handle whose part completes with it (writes; reads over an ideal NoC)
    "resp_first", "resp_n",  # read response packets (cycle NoC)
    "pk_rem",            # request packets still to arrive
    "arrive", "issue", "complete", "outcome",
    "next",              # next request in the channel's overflow list
])

DramState = namedtuple("DramState", [
    "par",                       # timings and flags, indexed by T_* / P_*
    "q_req", "q_first", "q_cnt",  # request queue [CH, QD] in age order
    "ovf_head", "ovf_tail",      # arrived requests waiting for a queue slot [CH]
    "open_row", "act_t", "act_ok", "pre_ok",  # banks [CH, NB]
    "rk_act", "rk_faw", "rk_wr",  # ranks [CH, RK] (rk_faw: [CH, RK, 4] last ACT times)
    "ch_col", "ch_bus", "ch_ref",  # channel: last column command, bus free from, next refresh
    "cf_req", "cf_time", "cf_head", "cf_cnt",  # completions in flight [CH, cap] (FIFO)
    "cmd",                       # [CH, 5] commands issued by type
    "outc",                      # [CH, 3] hits, misses, conflicts
])

DRAM_LIVE = ("q_req", "q_first", "q_cnt", "ovf_head", "ovf_tail", "open_row", "act_t",
             "act_ok", "pre_ok", "rk_act", "rk_faw", "rk_wr", "ch_col", "ch_bus", "ch_ref",
             "cf_req", "cf_time", "cf_head", "cf_cnt", "cmd", "outc")


def dram_params(cfg) -> np.ndarray:
    t = dram_timing_cycles(cfg)
    d = cfg.dram
    par = np.zeros(18, np.int64)
    for i, k in enumerate(TIMING_ORDER):
        par[i] = t[k]
    par[P_CLOSED] = 1 if d.page_policy == "closed" else 0
    par[P_BANKS] = d.banks
    par[P_IDEAL] = 1 if d.model == "ideal" else 0
    par[P_IDEAL_LAT] = d.ideal_latency
    return par


def make_dram_state(cfg, extra_latency: int = 0) -> DramState:
    """``extra_latency``: cycles a completion may wait in the FIFO beyond the DRAM's own
    (sizes the FIFO)."""
    d = cfg.dram
    par = dram_params(cfg)
    CH, RK, NB, QD = d.channels, d.ranks, d.ranks * d.banks, d.queue_depth
    # At most one burst ends per cycle per channel (cycle model), or one request arrives per
    # cycle per controller (ideal model behind the cycle NoC); a completion waits at most
    # the longest data latency.
    cap = int(max(par[T_CL], par[T_CWL]) + par[T_BURST] + par[P_IDEAL_LAT] + extra_latency + 8)
    first_ref = par[T_REFI] if par[T_REFI] > 0 and not par[P_IDEAL] else INF
    return DramState(
        par=par,
        q_req=np.full((CH, QD), -1, np.int64), q_first=np.full((CH, QD), -1, np.int64),
        q_cnt=np.zeros(CH, np.int64),
        ovf_head=np.full(CH, -1, np.int64), ovf_tail=np.full(CH, -1, np.int64),
        open_row=np.full((CH, NB), -1, np.int64), act_t=np.full((CH, NB), NEG, np.int64),
        act_ok=np.zeros((CH, NB), np.int64), pre_ok=np.zeros((CH, NB), np.int64),
        rk_act=np.full((CH, RK), NEG, np.int64), rk_faw=np.full((CH, RK, 4), NEG, np.int64),
        rk_wr=np.full((CH, RK), NEG, np.int64),
        ch_col=np.full(CH, NEG, np.int64), ch_bus=np.zeros(CH, np.int64),
        ch_ref=np.full(CH, first_ref, np.int64),
        cf_req=np.zeros((CH, cap), np.int64), cf_time=np.zeros((CH, cap), np.int64),
        cf_head=np.zeros(CH, np.int64), cf_cnt=np.zeros(CH, np.int64),
        cmd=np.zeros((CH, 5), np.int64), outc=np.zeros((CH, 3), np.int64),
    )


# --------------------------------------------------------------------------- kernels

# The kernels allocate nothing and are compiled without numba's reference counting
# (``_nrt=False``): with it, numba puts atomic reference-count operations on the state
# arrays into the hot loops (wherever a short-circuit ``and``/``or`` or a helper call touches
# them), which cost about 10x the simulation itself.


@njit(cache=True, _nrt=False)
def dram_push_completion(D, ch, r, t):
    cap = D.cf_req.shape[1]
    n = D.cf_cnt[ch]
    if n >= cap:
        raise RuntimeError("DRAM completion FIFO overflow")
    pos = (D.cf_head[ch] + n) % cap
    D.cf_req[ch, pos] = r
    D.cf_time[ch, pos] = t
    D.cf_cnt[ch] = n + 1


@njit(cache=True, _nrt=False)
def dram_arrive(R, D, ch, r, rb):
    """Request r has reached its controller (R.arrive set): wait for a queue slot."""
    R.next[r - rb] = -1
    if D.ovf_head[ch] < 0:
        D.ovf_head[ch] = r
    else:
        R.next[D.ovf_tail[ch] - rb] = r
    D.ovf_tail[ch] = r


@njit(cache=True, _nrt=False)
def dram_channel_idle(D, ch, c):
    """No request at the channel and no refresh due."""
    return D.q_cnt[ch] == 0 and D.ovf_head[ch] < 0 and c < D.ch_ref[ch]


@njit(cache=True, _nrt=False)
def _act_legal(D, ch, b, rk, c):
    p = D.par
    if D.open_row[ch, b] >= 0:
        return False
    if c < D.act_ok[ch, b] or c < D.act_t[ch, b] + p[T_RAS] + p[T_RP]:
        return False
    if c < D.rk_act[ch, rk] + p[T_RRD]:
        return False
    # fewer than 4 ACTs of the rank in (c - tFAW, c]: the oldest of the last four is out
    oldest = D.rk_faw[ch, rk, 0]
    for k in range(1, 4):
        if D.rk_faw[ch, rk, k] < oldest:
            oldest = D.rk_faw[ch, rk, k]
    return oldest <= c - p[T_FAW]


@njit(cache=True, _nrt=False)
def _col_legal(D, ch, b, rk, write, c):
    p = D.par
    if c < D.act_t[ch, b] + p[T_RCD] or c < D.ch_col[ch] + p[T_CCD]:
        return False
    lat = p[T_CWL] if write else p[T_CL]
    if c + lat < D.ch_bus[ch]:
        return False
    if not write and c < D.rk_wr[ch, rk] + p[T_CWL] + p[T_BURST] + p[T_WTR]:
        return False
    return True


@njit(cache=True, _nrt=False)
def _issue_act(D, ch, b, rk, row, c):
    D.open_row[ch, b] = row
    D.act_t[ch, b] = c
    D.rk_act[ch, rk] = c
    # replace the oldest of the last four ACT times
    k0 = 0
    for k in range(1, 4):
        if D.rk_faw[ch, rk, k] < D.rk_faw[ch, rk, k0]:
            k0 = k
    D.rk_faw[ch, rk, k0] = c
    # earliest PRE: tRAS after the ACT
    D.pre_ok[ch, b] = c + D.par[T_RAS]
    D.cmd[ch, 0] += 1


@njit(cache=True, _nrt=False)
def _issue_pre(D, ch, b, c):
    D.open_row[ch, b] = -1
    D.act_ok[ch, b] = c + D.par[T_RP]
    D.cmd[ch, 1] += 1


@njit(cache=True, _nrt=False)
def _older_same_bank(R, D, ch, k, b, rb):
    """An older queued request targets bank b: a PRE must not close its row."""
    for j in range(k):
        if R.bank[D.q_req[ch, j] - rb] == b:
            return True
    return False


@njit(cache=True, _nrt=False)
def dram_channel_cycle(R, D, ch, c, rb):
    """Steps 1-4 of section 7 for one channel in cycle c: queue joins, refresh, FR-FCFS.
    A column command pushes the request's completion (end of its data burst)."""
    p = D.par
    QD = D.q_req.shape[1]
    NB = D.open_row.shape[1]
    nbk = p[P_BANKS]
    # 1. arrived requests join the queue in order while it has room
    while D.q_cnt[ch] < QD and D.ovf_head[ch] >= 0:
        r = D.ovf_head[ch]
        D.q_req[ch, D.q_cnt[ch]] = r
        D.q_first[ch, D.q_cnt[ch]] = -1
        D.q_cnt[ch] += 1
        if r == D.ovf_tail[ch]:
            D.ovf_head[ch] = -1
            D.ovf_tail[ch] = -1
        else:
            D.ovf_head[ch] = R.next[r - rb]

    # 2. refresh: precharge open banks one per cycle, then REF
    if c >= D.ch_ref[ch]:
        all_closed = True
        for b in range(NB):
            if D.open_row[ch, b] >= 0:
                all_closed = False
                if c >= D.pre_ok[ch, b]:
                    _issue_pre(D, ch, b, c)
                    return
        if all_closed:
            for b in range(NB):
                if c < D.act_ok[ch, b] or c < D.act_t[ch, b] + p[T_RAS] + p[T_RP]:
                    return
            for b in range(NB):
                D.act_ok[ch, b] = max(D.act_ok[ch, b], c + p[T_RFC])
            D.cmd[ch, 2] += 1
            D.ch_ref[ch] += p[T_REFI]
        return

    # 3. FR-FCFS: the oldest legal column command, else the oldest legal ACT or PRE
    n = D.q_cnt[ch]
    if n == 0:
        return
    col = -1
    other = -1
    for k in range(n):
        r = D.q_req[ch, k]
        b = R.bank[r - rb]
        rk = b // nbk
        orow = D.open_row[ch, b]
        if orow == R.row[r - rb]:
            if _col_legal(D, ch, b, rk, R.write[r - rb] != 0, c):
                col = k
                break
        elif other < 0:
            if orow < 0:
                if _act_legal(D, ch, b, rk, c):
                    other = k
            elif c >= D.pre_ok[ch, b] and not _older_same_bank(R, D, ch, k, b, rb):
                other = k
    if col >= 0:
        r = D.q_req[ch, col]
        b = R.bank[r - rb]
        rk = b // nbk
        outcome = D.q_first[ch, col]
        if outcome < 0:
            outcome = 0
        D.outc[ch, outcome] += 1
        R.outcome[r - rb] = outcome
        R.issue[r - rb] = c
        D.ch_col[ch] = c
        if R.write[r - rb] != 0:
            done = c + p[T_CWL] + p[T_BURST]
            D.rk_wr[ch, rk] = c
            D.pre_ok[ch, b] = max(D.pre_ok[ch, b], done + p[T_WR])
            D.cmd[ch, 4] += 1
        else:
            done = c + p[T_CL] + p[T_BURST]
            D.pre_ok[ch, b] = max(D.pre_ok[ch, b], c + p[T_RTP])
            D.cmd[ch, 3] += 1
        D.ch_bus[ch] = done
        R.complete[r - rb] = done
        dram_push_completion(D, ch, r, done)
        if p[P_CLOSED]:  # auto-precharge at the earliest legal PRE cycle
            D.open_row[ch, b] = -1
            D.act_ok[ch, b] = max(D.pre_ok[ch, b], c) + p[T_RP]
            D.cmd[ch, 1] += 1
        for k in range(col, n - 1):
            D.q_req[ch, k] = D.q_req[ch, k + 1]
            D.q_first[ch, k] = D.q_first[ch, k + 1]
        D.q_cnt[ch] = n - 1
        return
    if other >= 0:
        r = D.q_req[ch, other]
        b = R.bank[r - rb]
        if D.open_row[ch, b] < 0:
            _issue_act(D, ch, b, b // nbk, R.row[r - rb], c)
            if D.q_first[ch, other] < 0:
                D.q_first[ch, other] = 1
        else:
            _issue_pre(D, ch, b, c)
            if D.q_first[ch, other] < 0:
                D.q_first[ch, other] = 2
