"""Cycle-level DRAM controller (``docs/microarchitecture.md`` section 7), structured as
DRAMsim3's JEDEC controller.

Per channel: ``ranks x banks`` banks in ``bank_groups`` groups per rank, each with a row
buffer (open or closed page policy) and a row-hit count; an arrival FIFO feeding a read
queue and a write queue (write draining, 7.2); per-rank staggered refresh; at most one
command per cycle, chosen by FR-FCFS with a row-hit cap (7.3). Every timing constraint is
one entry of the table built once by :func:`timing_table` (7.4): for each issued command,
the delay it imposes on each later command on the same bank, the other banks of its bank
group, the other bank groups of its rank, and the other ranks. Each bank holds the earliest
cycle of every command kind; the scheduler only compares the cycle with it. All timings are
in chip cycles (:func:`neurosim.arch.dram_timing_cycles`).

The state lives in numpy arrays (:class:`DramState`), stepped by :func:`dram_channel_cycle`
(numba); :mod:`neurosim.memsys.cycle` feeds it requests and collects completions.
``dram.model: ideal`` uses the same completion FIFO with a fixed latency and no queue.

Implementation note (it does not change the semantics of section 7): a channel is stepped
only in the cycles in which its step can do something (``DramState.wake``). A step that
issues no command, begins no drain and lets no arrival join leaves the state as it was, and
the next one can differ only once a time it compares the cycle with has come (a bank's
earliest command, the four-activation window, a due refresh); until then the channel
sleeps, and the occupancy sums count the skipped cycles at its next step. An arrival wakes
it.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..arch import dram_timing_cycles
from ..jit import njit

NEG = -(1 << 40)       # "long ago" for last-command times
INF = 1 << 62
NONE = -(1 << 50)      # timing-table entry: no constraint

# parameters, indexed by these names in DramState.par
(T_CL, T_CWL, T_BURST, T_FAW, T_REF_STEP, T_REF_PERIOD, P_CLOSED, P_BANKS, P_GROUP_BANKS,
 P_IDEAL, P_IDEAL_LAT, P_READ_DEPTH, P_WRITE_DEPTH, P_HIT_CAP) = range(14)
N_PAR = 14
# command kinds of the timing table, and the counters (RDA/WRA count as rd/wr plus a pre)
COMMANDS = ("act", "pre", "ref", "rd", "wr", "rda", "wra")
C_ACT, C_PRE, C_REF, C_RD, C_WR, C_RDA, C_WRA = range(7)
CMD_NAMES = ("act", "pre", "ref", "rd", "wr")
# relation of a bank to the bank a command issued on (the table's columns)
SCOPES = ("same_bank", "same_group", "other_group", "other_rank")
S_BANK, S_GROUP, S_OTHER_GROUP, S_OTHER_RANK = range(4)
OUTCOMES = ("hit", "miss", "conflict")
O_HIT, O_MISS, O_CONFLICT = range(3)
READ_QUEUE, WRITE_QUEUE = 0, 1

# Per-request table, shared with cycle.py (which appends rows). Row ``r - rb`` holds
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
    "next",              # next request in the channel's arrival FIFO
])

DramState = namedtuple("DramState", [
    "par",                       # parameters, indexed by T_* / P_*
    "table",                     # [scope, issued command, later command] delay or NONE
    "q_req", "q_first", "q_cnt",  # read / write queues [CH, 2, depth] in age order
    "ovf_head", "ovf_tail",      # arrival FIFO [CH] (linked through Requests.next)
    "drain",                     # [CH] writes still to issue in the current drain, 0: none
    "open_row", "row_hits",      # banks [CH, NB]
    "earliest",                  # [CH, NB, 7] earliest cycle of each command kind
    "rk_faw", "rk_ref",          # ranks: last 4 ACT times [CH, RK, 4], next refresh [CH, RK]
    "cf_req", "cf_time", "cf_head", "cf_cnt",  # completions in flight [CH, cap] (FIFO)
    "cmd",                       # [CH, 5] commands issued by CMD_NAMES
    "outc",                      # [CH, 3] hits, misses, conflicts
    "bank_outc",                 # [CH, NB, 3] the same by bank
    "occupancy",                 # [CH, 3] sums over cycles: read queue, write queue, draining
    # when a channel's step can change anything (see dram_channel_due)
    "wake",                      # [CH] earliest cycle its next step may issue or join
    "stepped",                   # [CH] last cycle it was stepped (occupancy counted to it)
    # constant tables
    "bank_rank",                 # [NB] rank of each bank of a channel
    "scope",                     # [NB, NB] S_* relation of a bank to the bank a command issued on
    # scratch of one scheduling step (not state): banks marked with the step's stamp
    "mark_seen",                 # [NB] a request of the queue before the current one targets it
    "mark_hit",                  # [NB] a queued request targets its open row
    "mark_write",                # [NB] a queued write targets it
    "stamp",                     # [1] the current step's stamp
])

DRAM_LIVE = ("q_req", "q_first", "q_cnt", "ovf_head", "ovf_tail", "drain", "open_row",
             "row_hits", "earliest", "rk_faw", "rk_ref", "cf_req", "cf_time", "cf_head",
             "cf_cnt", "cmd", "outc", "bank_outc", "occupancy", "wake", "stepped")


def timing_table(t: dict) -> np.ndarray:
    """The table of section 7.4 from timings in cycles (:func:`dram_timing_cycles`):
    ``table[scope, X, Y]`` is the delay from command ``X`` to a later command ``Y`` on a
    bank in relation ``scope`` to X's bank (``NONE``: no constraint)."""
    bl, rl, wl, rtrs = t["tBURST"], t["tCL"], t["tCWL"], t["tRTRS"]
    tab = np.full((4, 7, 7), NONE, np.int64)

    def put(x_cmds, y_cmds, delays):  # delays: same bank, same group, other group, other rank
        for x in x_cmds:
            for y in y_cmds:
                for s, d in enumerate(delays):
                    if d is not None:
                        tab[s, x, y] = d

    reads, writes = (C_RD, C_RDA), (C_WR, C_WRA)
    put([C_ACT], [C_ACT], (t["tRAS"] + t["tRP"], t["tRRD_L"], t["tRRD"], None))
    put([C_ACT], reads + writes, (t["tRCD"], None, None, None))
    put([C_ACT], [C_PRE], (t["tRAS"], None, None, None))
    put([C_PRE], [C_ACT, C_REF], (t["tRP"], None, None, None))
    rd_rd = (max(bl, t["tCCD_L"]), max(bl, t["tCCD_L"]), max(bl, t["tCCD"]), bl + rtrs)
    put(reads, reads, rd_rd)
    put(reads, writes, (rl + bl - wl + rtrs,) * 4)
    put([C_RD], [C_PRE], (t["tRTP"], None, None, None))
    put([C_RDA], [C_ACT], (bl + t["tRTP"] + t["tRP"], None, None, None))
    put([C_RDA], [C_REF], (t["tRTP"] + t["tRP"], None, None, None))
    put(writes, reads, (wl + bl + t["tWTR_L"], wl + bl + t["tWTR_L"], wl + bl + t["tWTR"],
                        wl + bl + rtrs - rl))
    put(writes, writes, (max(bl, t["tCCD_L"]), max(bl, t["tCCD_L"]), max(bl, t["tCCD"]), bl))
    put([C_WR], [C_PRE], (wl + bl + t["tWR"], None, None, None))
    put([C_WRA], [C_ACT, C_REF], (wl + bl + t["tWR"] + t["tRP"], None, None, None))
    put([C_REF], [C_ACT, C_REF], (t["tRFC"], t["tRFC"], t["tRFC"], None))  # whole rank
    return tab


def dram_params(cfg) -> np.ndarray:
    t = dram_timing_cycles(cfg)
    d = cfg.dram
    par = np.zeros(N_PAR, np.int64)
    par[T_CL], par[T_CWL], par[T_BURST], par[T_FAW] = t["tCL"], t["tCWL"], t["tBURST"], t["tFAW"]
    step = t["tREFI"] // d.ranks
    par[T_REF_STEP] = step
    par[T_REF_PERIOD] = step * d.ranks
    par[P_CLOSED] = 1 if d.page_policy == "closed" else 0
    par[P_BANKS] = d.banks
    par[P_GROUP_BANKS] = d.banks // d.bank_groups
    par[P_IDEAL] = 1 if d.model == "ideal" else 0
    par[P_IDEAL_LAT] = d.ideal_latency
    par[P_READ_DEPTH] = d.queue_depth
    par[P_WRITE_DEPTH] = d.write_queue_depth
    par[P_HIT_CAP] = d.row_hit_cap
    return par


def make_dram_state(cfg, extra_latency: int = 0) -> DramState:
    """``extra_latency``: cycles a completion may wait in the FIFO beyond the DRAM's own
    (sizes the FIFO)."""
    d = cfg.dram
    par = dram_params(cfg)
    CH, RK, NB = d.channels, d.ranks, d.ranks * d.banks
    QD = max(d.queue_depth, d.write_queue_depth)
    # At most one burst ends per cycle per channel (cycle model), or one request arrives per
    # cycle per controller (ideal model behind the cycle NoC); a completion waits at most
    # the longest data latency.
    cap = int(max(par[T_CL], par[T_CWL]) + par[T_BURST] + par[P_IDEAL_LAT] + extra_latency + 8)
    nbk, gb = d.banks, d.banks // d.bank_groups
    bank = np.arange(NB, dtype=np.int64)
    rank, group = bank // nbk, (bank % nbk) // gb
    scope = np.where(rank[None, :] != rank[:, None], S_OTHER_RANK,
                     np.where(bank[None, :] == bank[:, None], S_BANK,
                              np.where(group[None, :] == group[:, None], S_GROUP,
                                       S_OTHER_GROUP))).astype(np.int64)
    rk_ref = np.full((CH, RK), INF, np.int64)
    if par[T_REF_STEP] > 0 and not par[P_IDEAL]:
        rk_ref[:, :] = (np.arange(RK, dtype=np.int64) + 1) * par[T_REF_STEP]
    return DramState(
        par=par, table=timing_table(dram_timing_cycles(cfg)),
        q_req=np.full((CH, 2, QD), -1, np.int64), q_first=np.full((CH, 2, QD), -1, np.int64),
        q_cnt=np.zeros((CH, 2), np.int64),
        ovf_head=np.full(CH, -1, np.int64), ovf_tail=np.full(CH, -1, np.int64),
        drain=np.zeros(CH, np.int64),
        open_row=np.full((CH, NB), -1, np.int64), row_hits=np.zeros((CH, NB), np.int64),
        earliest=np.zeros((CH, NB, len(COMMANDS)), np.int64),
        rk_faw=np.full((CH, RK, 4), NEG, np.int64), rk_ref=rk_ref,
        cf_req=np.zeros((CH, cap), np.int64), cf_time=np.zeros((CH, cap), np.int64),
        cf_head=np.zeros(CH, np.int64), cf_cnt=np.zeros(CH, np.int64),
        cmd=np.zeros((CH, 5), np.int64), outc=np.zeros((CH, 3), np.int64),
        bank_outc=np.zeros((CH, NB, 3), np.int64),
        occupancy=np.zeros((CH, 3), np.int64),
        wake=np.zeros(CH, np.int64), stepped=np.zeros(CH, np.int64),
        bank_rank=rank, scope=scope,
        mark_seen=np.zeros(NB, np.int64), mark_hit=np.zeros(NB, np.int64),
        mark_write=np.zeros(NB, np.int64), stamp=np.zeros(1, np.int64),
    )


# --------------------------------------------------------------------------- kernels

# The kernels allocate nothing and are compiled without numba's reference counting
# (``_nrt=False``): with it, numba puts atomic reference-count operations on the state
# arrays into the hot loops (wherever a short-circuit ``and``/``or`` or a helper call touches
# them), which cost about 10x the simulation itself.

# They are written as those of noc.py for a short compilation: state arrays bound to locals
# once, no CPython wrapper for helpers called only from kernels, constant arguments typed
# (``np.int64(C_ACT)``, ``np.bool_(True)``: a literal compiles the helper once per value).


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_push_completion(D, ch, r, t):
    cf_req = D.cf_req
    cf_cnt = D.cf_cnt
    cf_head = D.cf_head
    cf_time = D.cf_time
    cap = cf_req.shape[1]
    n = cf_cnt[ch]
    if n >= cap:
        raise RuntimeError("DRAM completion FIFO overflow")
    pos = cf_head[ch] + n
    if pos >= cap:
        pos -= cap
    cf_req[ch, pos] = r
    cf_time[ch, pos] = t
    cf_cnt[ch] = n + 1


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_arrive(R, D, ch, r, rb):
    """Request r has reached its controller (R.arrive set): it enters the arrival FIFO."""
    next_request = R.next
    ovf_head = D.ovf_head
    ovf_tail = D.ovf_tail
    wake = D.wake
    wake[ch] = 0            # it joins a queue in the channel's next step
    next_request[r - rb] = -1
    if ovf_head[ch] < 0:
        ovf_head[ch] = r
    else:
        next_request[ovf_tail[ch] - rb] = r
    ovf_tail[ch] = r


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_next_refresh(D, ch):
    """Earliest due refresh of the channel (INF: none)."""
    rk_ref = D.rk_ref
    t = INF
    for rk in range(rk_ref.shape[1]):
        if rk_ref[ch, rk] < t:
            t = rk_ref[ch, rk]
    return t


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_channel_idle(D, ch, c):
    """No request at the channel and no refresh due."""
    q_cnt = D.q_cnt
    ovf_head = D.ovf_head
    return (q_cnt[ch, 0] == 0 and q_cnt[ch, 1] == 0 and ovf_head[ch] < 0
            and c < dram_next_refresh(D, ch))


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_channel_due(D, ch, c):
    """The channel's step at cycle c may change something: it is not idle and not asleep
    (``wake``: a step that issues nothing and joins nothing changes nothing but the
    occupancy sums, counted when it next steps, until a timing constraint expires)."""
    return c >= D.wake[ch] and not dram_channel_idle(D, ch, c)


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _issue(D, ch, b, x, c):
    """Command kind x issues at cycle c on bank b: every bank of the channel takes the
    delays of the timing table (7.4)."""
    open_row = D.open_row
    scope = D.scope
    earliest = D.earliest
    table = D.table
    NB = open_row.shape[1]
    for b2 in range(NB):
        s = scope[b, b2]
        for y in range(earliest.shape[2]):
            d = table[s, x, y]
            if d != NONE and c + d > earliest[ch, b2, y]:
                earliest[ch, b2, y] = c + d


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _faw_free(D, ch, rk):
    """First cycle the rank may activate as far as tFAW goes: the oldest of its last four
    ACTs out of the window."""
    rk_faw = D.rk_faw
    oldest = rk_faw[ch, rk, 0]
    for k in range(1, 4):
        if rk_faw[ch, rk, k] < oldest:
            oldest = rk_faw[ch, rk, k]
    return oldest + D.par[T_FAW]


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _faw_ok(D, ch, rk, c):
    """Fewer than 4 ACTs of the rank in (c - tFAW, c]."""
    return c >= _faw_free(D, ch, rk)


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _drain_begins(D, ch):
    """7.2: a write drain is to begin (none on; the write queue full, or writes and no
    reads queued)."""
    p = D.par
    q_cnt = D.q_cnt
    nw = q_cnt[ch, WRITE_QUEUE]
    return (D.drain[ch] == 0 and nw > 0
            and (nw >= p[P_WRITE_DEPTH] or q_cnt[ch, READ_QUEUE] == 0))


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _activate(D, ch, b, row, c):
    bank_rank = D.bank_rank
    open_row = D.open_row
    row_hits = D.row_hits
    rk_faw = D.rk_faw
    cmd = D.cmd
    rk = bank_rank[b]
    open_row[ch, b] = row
    row_hits[ch, b] = 0
    k0 = 0  # replace the oldest of the last four ACT times
    for k in range(1, 4):
        if rk_faw[ch, rk, k] < rk_faw[ch, rk, k0]:
            k0 = k
    rk_faw[ch, rk, k0] = c
    _issue(D, ch, b, np.int64(C_ACT), c)
    cmd[ch, 0] += 1


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _precharge(D, ch, b, c):
    open_row = D.open_row
    row_hits = D.row_hits
    cmd = D.cmd
    open_row[ch, b] = -1
    row_hits[ch, b] = 0
    _issue(D, ch, b, np.int64(C_PRE), c)
    cmd[ch, 1] += 1


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _refreshing_rank(D, ch, c):
    """The rank with the earliest due refresh (ties: lowest), or -1."""
    rk_ref = D.rk_ref
    best = -1
    for rk in range(rk_ref.shape[1]):
        if rk_ref[ch, rk] <= c and (best < 0 or rk_ref[ch, rk] < rk_ref[ch, best]):
            best = rk
    return best


@njit(cache=True, _nrt=False, inline="always")
def _refresh_step(D, ch, rk, c):
    """Step 1 of 7.3 for the refreshing rank: PRE its lowest legal open bank, else REF once
    every bank is closed and REF-ready. Returns whether a command issued."""
    par = D.par
    open_row = D.open_row
    earliest = D.earliest
    rk_ref = D.rk_ref
    cmd = D.cmd
    nbk = par[P_BANKS]
    any_open = False
    for b in range(rk * nbk, (rk + 1) * nbk):
        if open_row[ch, b] >= 0:
            any_open = True
            if c >= earliest[ch, b, C_PRE]:
                _precharge(D, ch, b, c)
                return True
    if any_open:
        return False
    for b in range(rk * nbk, (rk + 1) * nbk):
        if c < earliest[ch, b, C_REF]:
            return False
    _issue(D, ch, rk * nbk, np.int64(C_REF), c)
    rk_ref[ch, rk] += par[T_REF_PERIOD]
    cmd[ch, 2] += 1
    return True


@njit(cache=True, _nrt=False, inline="always")
def _join_queues(R, D, ch, rb):
    """7.2: the head of the arrival FIFO joins its queue while that has room. Returns
    whether one joined."""
    p = D.par
    ovf_head = D.ovf_head
    write = R.write
    q_cnt = D.q_cnt
    q_req = D.q_req
    q_first = D.q_first
    ovf_tail = D.ovf_tail
    next_request = R.next
    joined = False
    while ovf_head[ch] >= 0:
        r = ovf_head[ch]
        q = WRITE_QUEUE if write[r - rb] != 0 else READ_QUEUE
        n = q_cnt[ch, q]
        if n >= (p[P_WRITE_DEPTH] if q == WRITE_QUEUE else p[P_READ_DEPTH]):
            return joined
        q_req[ch, q, n] = r
        q_first[ch, q, n] = -1
        q_cnt[ch, q] = n + 1
        joined = True
        if r == ovf_tail[ch]:
            ovf_head[ch] = -1
            ovf_tail[ch] = -1
        else:
            ovf_head[ch] = next_request[r - rb]
    return joined


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _mark_banks(R, D, ch, q, stamp, hits, rb):
    """Stamp the banks queue q targets: all of them (``hits`` false, into ``mark_write``),
    or those with a queued request for their open row (``hits``, into ``mark_hit``)."""
    q_cnt = D.q_cnt
    q_req = D.q_req
    bank = R.bank
    mark_write = D.mark_write
    row = R.row
    open_row = D.open_row
    mark_hit = D.mark_hit
    for j in range(q_cnt[ch, q]):
        r = q_req[ch, q, j]
        b = bank[r - rb]
        if not hits:
            mark_write[b] = stamp
        elif row[r - rb] == open_row[ch, b]:
            mark_hit[b] = stamp


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _fr_fcfs(R, D, ch, q, c, rb, refreshing, fallback):
    """7.3 step 3 over queue q: (position of the oldest request whose column command is
    legal, position of the oldest whose ACT or PRE is legal), -1 where none. ``fallback``:
    the read queue served while draining (no ACT or PRE on a bank a queued write targets).

    A PRE for request k is allowed (7.3 step 3 (a), (b)) when no older request of the queue
    targets its bank and, below the row-hit cap, no queued request hits the bank's open row
    (with no older one on the bank, any hit is younger). Both are read from banks stamped in
    one pass each (``mark_*``: older requests as the scan goes, hits and the write queue's
    banks the first time they are asked), not by rescanning the queue per request."""
    p = D.par
    q_cnt = D.q_cnt
    step_stamp = D.stamp
    q_req = D.q_req
    bank = R.bank
    bank_rank = D.bank_rank
    mark_seen = D.mark_seen
    open_row = D.open_row
    row = R.row
    earliest = D.earliest
    mark_write = D.mark_write
    row_hits = D.row_hits
    mark_hit = D.mark_hit
    n = q_cnt[ch, q]
    stamp = step_stamp[0] + 1
    step_stamp[0] = stamp
    hits_marked = False
    writes_marked = False
    x = (C_WR if q == WRITE_QUEUE else C_RD) + (2 if p[P_CLOSED] else 0)
    col = -1
    other = -1
    for k in range(n):
        r = q_req[ch, q, k]
        b = bank[r - rb]
        rk = bank_rank[b]
        if rk == refreshing:
            mark_seen[b] = stamp
            continue
        orow = open_row[ch, b]
        if orow == row[r - rb]:
            if c >= earliest[ch, b, x]:
                col = k
                break
        elif other < 0:
            if fallback and not writes_marked:
                _mark_banks(R, D, ch, np.int64(WRITE_QUEUE), stamp, np.bool_(False), rb)
                writes_marked = True
            if not (fallback and mark_write[b] == stamp):
                if orow < 0:
                    if c >= earliest[ch, b, C_ACT] and _faw_ok(D, ch, rk, c):
                        other = k
                elif c >= earliest[ch, b, C_PRE] and mark_seen[b] != stamp:
                    if row_hits[ch, b] >= p[P_HIT_CAP]:
                        other = k
                    else:
                        if not hits_marked:
                            _mark_banks(R, D, ch, q, stamp, np.bool_(True), rb)
                            hits_marked = True
                        if mark_hit[b] != stamp:
                            other = k
        mark_seen[b] = stamp
    return col, other


@njit(cache=True, _nrt=False, inline="always")
def _schedule(R, D, ch, c, rb):
    """Steps 1-4 of 7.3: refresh, write-drain mode, FR-FCFS, one command at most. Returns
    whether it changed the state (a command issued, or a drain begun)."""
    p = D.par
    q_cnt = D.q_cnt
    occupancy = D.occupancy
    drain = D.drain
    q_req = D.q_req
    bank = R.bank
    q_first = D.q_first
    outc = D.outc
    bank_outc = D.bank_outc
    request_outcome = R.outcome
    issue = R.issue
    cmd = D.cmd
    open_row = D.open_row
    row_hits = D.row_hits
    complete = R.complete
    row = R.row
    stepped = D.stepped
    nw = q_cnt[ch, WRITE_QUEUE]
    # the queues have not changed since the last step (only a step changes them): each
    # cycle since counts them as this one does
    span = c - stepped[ch]
    stepped[ch] = c
    occupancy[ch, 0] += q_cnt[ch, READ_QUEUE] * span
    occupancy[ch, 1] += nw * span
    if drain[ch] > 0:
        occupancy[ch, 2] += span
    refreshing = _refreshing_rank(D, ch, c)
    if refreshing >= 0 and _refresh_step(D, ch, refreshing, c):
        return True
    # 2. write draining
    acted = False
    if _drain_begins(D, ch):
        drain[ch] = nw
        acted = True
    q = WRITE_QUEUE if drain[ch] > 0 else READ_QUEUE
    # 3. FR-FCFS
    col, other = _fr_fcfs(R, D, ch, q, c, rb, refreshing, np.bool_(False))
    if col < 0 and other < 0 and q == WRITE_QUEUE:
        q = np.int64(READ_QUEUE)
        col, other = _fr_fcfs(R, D, ch, q, c, rb, refreshing, np.bool_(True))
    n = q_cnt[ch, q]
    if col >= 0:
        # 4. column command
        r = q_req[ch, q, col]
        b = bank[r - rb]
        outcome = q_first[ch, q, col]
        if outcome < 0:
            outcome = O_HIT
        outc[ch, outcome] += 1
        bank_outc[ch, b, outcome] += 1
        request_outcome[r - rb] = outcome
        issue[r - rb] = c
        if q == WRITE_QUEUE:
            done = c + p[T_CWL] + p[T_BURST]
            cmd[ch, 4] += 1
            drain[ch] -= 1
            x = C_WR
        else:
            done = c + p[T_CL] + p[T_BURST]
            cmd[ch, 3] += 1
            x = C_RD
        if p[P_CLOSED]:  # RDA / WRA: auto-precharge
            _issue(D, ch, b, x + 2, c)
            open_row[ch, b] = -1
            row_hits[ch, b] = 0
            cmd[ch, 1] += 1
        else:
            _issue(D, ch, b, x, c)
            row_hits[ch, b] += 1
        complete[r - rb] = done
        dram_push_completion(D, ch, r, done)
        for k in range(col, n - 1):
            q_req[ch, q, k] = q_req[ch, q, k + 1]
            q_first[ch, q, k] = q_first[ch, q, k + 1]
        q_cnt[ch, q] = n - 1
        return True
    if other >= 0:
        r = q_req[ch, q, other]
        b = bank[r - rb]
        if open_row[ch, b] < 0:
            _activate(D, ch, b, row[r - rb], c)
            if q_first[ch, q, other] < 0:
                q_first[ch, q, other] = O_MISS
        else:
            _precharge(D, ch, b, c)
            if q_first[ch, q, other] < 0:
                q_first[ch, q, other] = O_CONFLICT
        return True
    return acted


# The step's parts (_schedule, _join_queues, _wake_after_step, _refresh_step) are
# inline="always": a plain call takes Requests and DramState as ~340 scalars, which cost
# more than the step itself (docs/performance.md). dram_channel_cycle stays a call from
# engine_run: inlined there too, it slows the NoC code that shares that function.
@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def dram_channel_cycle(R, D, ch, c, rb):
    """One cycle of a channel (7.3): steps 1-4, then the arrivals join the queues (step 5).
    A column command pushes the request's completion (end of its data burst)."""
    acted = _schedule(R, D, ch, c, rb)
    joined = _join_queues(R, D, ch, rb)
    D.wake[ch] = _wake_after_step(R, D, ch, c, rb, acted or joined)


@njit(cache=True, _nrt=False, inline="always")
def _wake_after_step(R, D, ch, c, rb, changed):
    """The first cycle after a step at cycle c in which a step can do anything. Until the
    next step the state is what it is now, so a step's every choice is the same except
    where a cycle is compared with a time: a due refresh (``rk_ref``), a bank's earliest
    command (``earliest``) and the four-activation window; and none issues while each
    such time is still ahead. So: the earliest of them over every queued request (both
    queues: which is served depends only on the state) and the refreshing ranks, or
    c + 1 when one has come or a drain is to begin. ``changed``: the step issued, began a
    drain or let an arrival join. If not, a time already passed made nothing legal at c
    and cannot later, as the rest of what its command waits on is state (an older request
    on the bank, a queued row hit, a queued write, a refresh) that only a change changes:
    it is left out."""
    p = D.par
    q_cnt = D.q_cnt
    q_req = D.q_req
    bank = R.bank
    row = R.row
    bank_rank = D.bank_rank
    open_row = D.open_row
    earliest = D.earliest
    rk_ref = D.rk_ref
    nbk = p[P_BANKS]
    if _drain_begins(D, ch):
        return c + 1
    # a time counts when it is ahead of c, or (after a change) also when it has come
    lo = -INF if changed else c
    # (c + 1 is the least it can return: the scans stop once t reaches it)
    floor = c + 1
    t = INF
    for rk in range(rk_ref.shape[1]):
        if rk_ref[ch, rk] > c:
            t = min(t, rk_ref[ch, rk])
            continue
        for b in range(rk * nbk, (rk + 1) * nbk):   # refreshing: its PREs and REF
            for x in (C_PRE, C_REF):
                if earliest[ch, b, x] > lo:
                    t = min(t, earliest[ch, b, x])
    if t <= floor:
        return floor
    closed = 2 if p[P_CLOSED] else 0
    for q in range(2):
        x = (C_WR if q == WRITE_QUEUE else C_RD) + closed
        for k in range(q_cnt[ch, q]):
            r = q_req[ch, q, k]
            b = bank[r - rb]
            orow = open_row[ch, b]
            if orow == row[r - rb]:
                e = earliest[ch, b, x]
            elif orow < 0:
                e = max(earliest[ch, b, C_ACT], _faw_free(D, ch, bank_rank[b]))
            else:
                e = earliest[ch, b, C_PRE]
            if e > lo and e < t:
                if e <= floor:
                    return floor
                t = e
    return max(t, floor)
