"""The cycle-level memory system: the NoC of ``noc.py`` and the DRAM of ``dram.py``
co-simulated behind the :class:`~neurosim.memsys.base.MemorySystem` interface
(``docs/microarchitecture.md`` sections 4-7).

Either part may be ``ideal`` (fixed latency) while the other is cycle-level; both ideal is
:class:`~neurosim.memsys.ideal.IdealMemorySystem`.

**Lazy co-simulation.** The chip model posts messages and DRAM transfers and asks when the
next one becomes available. The engine (:func:`engine_run`, numba) keeps its state at the
top of a cycle ``G``; posts at cycles ``>= G`` are simply queued. ``next_event()``
speculates: it checkpoints the live state (router, NI and bank arrays: one flat buffer, a
few kB), runs forward until the first handle completes and keeps that state, taking further
checkpoints as it goes (every 256 cycles at first; at most 32, thinned out to every other
one with twice the spacing when full) and logging the updates it makes to the growing
tables (handle and packet counters; ejections, arrivals and completions). If a later post
lands before the speculated cycle, the next call rolls back to the latest checkpoint at or
before that post and re-runs from there; otherwise the speculated work is kept, so an
uninterrupted ``next_event``/``advance`` loop simulates each cycle once. ``advance`` drops
the checkpoints (and undo log) no rollback can reach any more. A caller that knows it will
post nothing before some cycle (the chip model: its next SimPy event) passes it as a final
horizon, ``next_event(horizon, final=True)``: the engine then runs only up to it (or to a
delivery already known) without checkpoints, as committed work, and nothing is re-run.

**Lean tables.** Packet and request ids only grow; the tables hold the rows from the first
one still in flight (:meth:`Engine.retire`): delivered rows go into running summaries of
what the statistics read (``PacketTally``, ``RequestTally``: counts and latency occurrences,
bounded however long the run) and, for the first ``Engine.RECORD_ROWS`` requests, into a
compact archive of what the records read (request channel, completion, wait, outcome,
response delivery). ``messages`` and ``dram`` are built from it on iteration; beyond, only
the records of the last ``Engine.RECORD_WINDOW`` cycles can be listed
(``RecordLog.ending_at``).

**Activity samples.** For the timeline's per-link and per-channel tracks the engine notes
the cumulative link-flit and DRAM-command counters at committed cycles
(:meth:`Engine.sample_activity`; at most ``ACTIVITY_SAMPLES``), read from its checkpoints
or its state after an ``advance``, or copied by the kernel itself at the sample cycles a
committed run passes (:meth:`Engine.arm_samples`): no kernel keeps anything more.

**Cycle order** (one engine cycle ``c``): (a) DRAM completions due at ``c`` (write done;
read response enqueued at the controller's NI, channel order); (b) requests delivered by an
ideal NoC join their channel; each channel's step (section 7); (c) posts of cycle ``c`` join
their NI queues; NoC injection, switch allocation and traversal (section 6); tails ejected
in ``c`` complete message parts (available ``c + 1``), deliver DRAM requests (arrival
``c + 1``) or are forwarded (multicast).
"""
from __future__ import annotations

import bisect
import heapq
from collections import Counter, namedtuple

import numpy as np

from ..counters import dram_path
from ..counters import key as counter_key
from ..jit import njit
from ..jitcall import CompiledCall
from ..timing import MESSAGE_KINDS, DramRecord, MessageRecord
from . import dram as dm
from . import noc as nm
from . import precompile
from .base import Handle, MemorySystem, RecordsNotKept
from .ideal import IdealMemorySystem
from .stats import PacketTally, RequestTally
from .topology import PORT_CORE, PORT_DRAM, Mesh



def _drop_stale_kernel_cache() -> None:
    """numba's on-disk cache is keyed on the caller's source file only: the engine kernel
    below inlines kernels of noc.py and dram.py, so its cache must go when they change."""
    import hashlib
    import os
    from pathlib import Path

    here = Path(__file__)
    h = hashlib.sha256()
    for f in (nm.__file__, dm.__file__, __file__):
        h.update(Path(f).read_bytes())
    stamp = h.hexdigest()
    dirs = [here.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        dirs.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    for d in dirs:
        try:
            mark = d / f"{here.stem}.kernels.stamp"
            if mark.is_file() and mark.read_text() == stamp:
                continue
            for f in d.rglob(f"{here.stem}.*.nb[ic]"):
                f.unlink()
            d.mkdir(parents=True, exist_ok=True)
            mark.write_text(stamp)
        except OSError:  # read-only install: numba then keeps its cache elsewhere or none
            pass


_drop_stale_kernel_cache()

INF = 1 << 62
S_UNTIL, S_EVENT, S_IDLE, S_SAMPLED = 0, 1, 2, 3  # why engine_run returned
RUN_UNTIL, RUN_STOP_EVENT, RUN_DRAIN = 0, 1, 2
SC_G, SC_ADONE, SC_POST, SC_DREQ, SC_EVN, SC_LOGN, SC_LOGGING = range(7)
LOG_HREM, LOG_HAVAIL, LOG_PKREM, LOG_EJECT, LOG_ARRIVE, LOG_COMPLETE = range(6)
CK_N, CK_EVERY, CK_NEXT = range(3)          # Spec.par: checkpoints held, spacing, next one
CK_MAX = 32                                 # checkpoints held at most (then thinned out)
CK_FIRST_EVERY = 256                        # initial spacing (cycles)
ACTIVITY_SAMPLES = 2048                     # activity samples held at most (timeline)
ACTIVITY_FIRST_EVERY = 64                   # their initial spacing (cycles)
SA_NEXT, SA_EVERY, SA_ROOM, SA_N, SA_LO = range(5)  # Samples.par (see Samples)
SAMPLE_ROWS = 256                           # samples a committed run takes before returning

Book = namedtuple("Book", [
    "h_rem", "h_avail",          # per handle: parts outstanding, availability so far
    "h_quiet",                   # per handle: 1 if a committed run need not stop at its
    #                              completion (``CycleMemorySystem.set_wakes``)
    "post_pkt", "post_time",     # packets to enqueue at core NIs, by (time, post order)
    "dreq", "dreq_time",         # requests an ideal NoC delivers, by (arrival, post order)
    "ev_h", "ev_t",              # handle completions (handle, available)
    "log_code", "log_idx", "log_old",  # undo log of a speculation
    "sc",                        # live scalars SC_*
    "cnt",                       # [posts, dreqs, handles] entries (set by Python)
    "mode",                      # [noc cycle?, dram cycle?, noc ideal latency,
    #                              dram ideal latency, packet of table row 0, request of row 0]
])

# Checkpoints of a speculation: every live array (router, NI, bank and Book scalars) is a
# view into the flat ``live`` buffer, so a checkpoint is one row copy.
Spec = namedtuple("Spec", [
    "live",      # [S] the live state (the arrays of NOC_LIVE, DRAM_LIVE and Book.sc)
    "ck",        # [CK_MAX, S] checkpoints, oldest first
    "ck_g",      # [CK_MAX] cycle at whose top each was taken
    "par",       # CK_* scalars
])

# Activity samples a committed run takes on its way (``CycleMemorySystem._run_final``): at
# the top of each cycle from ``SA_NEXT`` on, every ``SA_EVERY`` cycles, the live state's
# sampled counters (``Engine.SAMPLED``, from ``SA_LO`` in the live buffer) are copied into
# row ``SA_N``; after ``SA_ROOM`` of them the run returns (S_SAMPLED), for the caller to
# thin them out. ``SA_NEXT`` is INF while no run is armed.
Samples = namedtuple("Samples", [
    "par",       # SA_* scalars
    "cycle",     # [SAMPLE_ROWS] cycle of each sample
    "rows",      # [SAMPLE_ROWS, sampled counters]
])


# --------------------------------------------------------------------------- kernels

# (compiled without reference counting and written for a short compilation, as those of
# noc.py and dram.py: see there)


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _log(B, code, idx, old):
    sc = B.sc
    log_code = B.log_code
    log_idx = B.log_idx
    log_old = B.log_old
    n = sc[SC_LOGN]
    log_code[n] = code
    log_idx[n] = idx
    log_old[n] = old
    sc[SC_LOGN] = n + 1


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _part_done(B, h, t, ev_min):
    """One part of handle h is available at t; returns the updated earliest new event (a
    quiet handle's completion is not one, but while speculating)."""
    sc = B.sc
    h_rem = B.h_rem
    h_avail = B.h_avail
    h_quiet = B.h_quiet
    ev_h = B.ev_h
    ev_t = B.ev_t
    if h < 0:
        return ev_min
    if sc[SC_LOGGING]:
        _log(B, LOG_HREM, h, h_rem[h])
        _log(B, LOG_HAVAIL, h, h_avail[h])
    h_rem[h] -= 1
    if t > h_avail[h]:
        h_avail[h] = t
    if h_rem[h] == 0:
        n = sc[SC_EVN]
        ev_h[n] = h
        ev_t[n] = h_avail[h]
        sc[SC_EVN] = n + 1
        if h_avail[h] < ev_min and (h_quiet[h] == 0 or sc[SC_LOGGING] != 0):
            return h_avail[h]
    return ev_min


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _request_arrived(R, D, B, r, t, dram_cycle, ld, rb):
    """Request r reaches its controller at t (the engine is in cycle t or t - 1)."""
    sc = B.sc
    arrive = R.arrive
    channel = R.channel
    complete = R.complete
    outcome = R.outcome
    if sc[SC_LOGGING]:
        _log(B, LOG_ARRIVE, r, arrive[r - rb])
    arrive[r - rb] = t
    ch = channel[r - rb]
    if dram_cycle:
        dm.dram_arrive(R, D, ch, r, rb)
    else:
        if sc[SC_LOGGING]:
            _log(B, LOG_COMPLETE, r, complete[r - rb])
        complete[r - rb] = t + ld
        outcome[r - rb] = 3
        dm.dram_push_completion(D, ch, r, t + ld)


@njit(cache=True, _nrt=False)
def _checkpoint(S, c):
    """Checkpoint the live state at the top of cycle c; when CK_MAX are held, every other
    one is dropped (the first is kept) and the spacing doubles."""
    par = S.par
    live = S.live
    ck = S.ck
    ck_g = S.ck_g
    n = par[CK_N]
    size = live.shape[0]
    if n == CK_MAX:
        for j in range(1, CK_MAX // 2):
            for i in range(size):  # (loops: a slice copy would need NRT)
                ck[j, i] = ck[2 * j, i]
            ck_g[j] = ck_g[2 * j]
        n = CK_MAX // 2
        par[CK_EVERY] *= 2
    for i in range(size):
        ck[n, i] = live[i]
    ck_g[n] = c
    par[CK_N] = n + 1
    par[CK_NEXT] = c + par[CK_EVERY]


@njit(cache=True, _nrt=False)
def engine_run(P, R, B, N, D, S, A, until, how, ev_min):
    """Run from the top of cycle ``B.sc[SC_G]``. Stops at the top of cycle ``until`` after
    its phase (a) (RUN_UNTIL), or as soon as a handle completion not yet seen by the caller
    is available at or before the current cycle (RUN_STOP_EVENT; ``ev_min`` is the earliest
    such completion the caller already knows of), or when nothing is left that could
    complete (RUN_DRAIN, and RUN_STOP_EVENT), or once the activity samples it was armed for
    are taken (``A``, :data:`Samples`). Returns (status, earliest completion)."""
    mode = B.mode
    a_par = A.par
    q_cnt = D.q_cnt
    sc = B.sc
    spec_par = S.par
    cf_req = D.cf_req
    cf_cnt = D.cf_cnt
    cf_head = D.cf_head
    cf_time = D.cf_time
    write = R.write
    request_handle = R.handle
    resp_first = R.resp_first
    resp_n = R.resp_n
    enqueue_time = P.time
    src_ep = P.src_ep
    cnt = B.cnt
    post_time = B.post_time
    dreq_time = B.dreq_time
    dreq = B.dreq
    arrive = R.arrive
    post_pkt = B.post_pkt
    noc_sc = N.sc
    ej_pkts = N.ej_pkts
    next_packet = P.next
    ep_head = N.ep_head
    ep_tail = N.ep_tail
    ep_wake = N.ep_wake
    packet_handle = P.handle
    req = P.req
    pk_rem = R.pk_rem
    fwd = P.fwd
    noc_cycle = mode[0] != 0
    dram_cycle = mode[1] != 0
    ln = mode[2]
    ld = mode[3]
    pb = mode[4]
    rb = mode[5]
    CH = q_cnt.shape[0]
    c = sc[SC_G]
    while True:
        if sc[SC_LOGGING] != 0 and c >= spec_par[CK_NEXT]:
            sc[SC_G] = c
            _checkpoint(S, c)
        if sc[SC_ADONE] == 0:
            # (a) completions due at c, in channel order
            cap = cf_req.shape[1]
            for ch in range(CH):
                while cf_cnt[ch] > 0:
                    hd = cf_head[ch]
                    if cf_time[ch, hd] > c:
                        break
                    r = cf_req[ch, hd]
                    cf_head[ch] = hd + 1 if hd + 1 < cap else 0
                    cf_cnt[ch] -= 1
                    if write[r - rb] != 0:
                        ev_min = _part_done(B, request_handle[r - rb], c, ev_min)
                    elif noc_cycle:
                        q0 = resp_first[r - rb]
                        for q in range(q0, q0 + resp_n[r - rb]):
                            enqueue_time[q - pb] = c
                            nm.noc_enqueue(next_packet, ep_head, ep_tail, ep_wake, noc_sc,
                                           src_ep[q - pb], q, pb)
                    else:
                        ev_min = _part_done(B, request_handle[r - rb], c + ln, ev_min)
            sc[SC_ADONE] = 1
        if how == RUN_STOP_EVENT and ev_min <= c:
            sc[SC_G] = c
            return S_EVENT, ev_min
        if how == RUN_STOP_EVENT and sc[SC_LOGGING] == 0 and sc[SC_EVN] == cnt[2]:
            # committed work with every handle complete: nothing for the caller before it
            # posts again (and its step may end here: no DRAM cycles beyond it committed)
            sc[SC_G] = c
            return S_IDLE, ev_min
        if c >= until:
            sc[SC_G] = c
            return S_UNTIL, ev_min
        if c >= a_par[SA_NEXT]:
            # (where a run to this cycle would have returned for the caller to sample)
            j = a_par[SA_N]
            lo = a_par[SA_LO]
            rows = A.rows
            for i in range(rows.shape[1]):
                rows[j, i] = S.live[lo + i]
            A.cycle[j] = c
            a_par[SA_N] = j + 1
            a_par[SA_NEXT] = c + a_par[SA_EVERY]
            a_par[SA_ROOM] -= 1
            if a_par[SA_ROOM] == 0:
                a_par[SA_NEXT] = INF
                sc[SC_G] = c
                return S_SAMPLED, ev_min

        # skip cycles in which nothing can happen
        busy = noc_cycle and nm.noc_busy(noc_sc)
        if not busy and dram_cycle:
            for ch in range(CH):
                if dm.dram_channel_due(D, ch, c):
                    busy = True
                    break
        if not busy:
            nxt = INF
            if sc[SC_POST] < cnt[0]:
                nxt = post_time[sc[SC_POST]]
            if sc[SC_DREQ] < cnt[1]:
                nxt = min(nxt, dreq_time[sc[SC_DREQ]])
            asleep = False      # a channel with work, waiting for a timing constraint
            refresh = INF       # the idle channels' next refresh
            for ch in range(CH):
                if cf_cnt[ch] > 0:
                    nxt = min(nxt, cf_time[ch, cf_head[ch]])
                if not dram_cycle:
                    continue
                if dm.dram_channel_idle(D, ch, c):
                    refresh = min(refresh, dm.dram_next_refresh(D, ch))
                else:
                    asleep = True
                    nxt = min(nxt, D.wake[ch])
            if nxt == INF and how != RUN_UNTIL:
                sc[SC_G] = c
                return S_IDLE, ev_min
            nxt = min(nxt, refresh)
            if asleep and sc[SC_LOGGING] != 0 and spec_par[CK_NEXT] > c:
                # not past a checkpoint's cycle: checkpoints (and the activity samples
                # read from them) fall where they would with the channel stepped
                nxt = min(nxt, spec_par[CK_NEXT])
            nxt = min(nxt, until, a_par[SA_NEXT])
            if how == RUN_STOP_EVENT:   # stop at a completion found, not past it (a
                nxt = min(nxt, ev_min)  # caller's final horizon relies on it)
            if nxt > c:
                c = nxt
                sc[SC_ADONE] = 0
                continue

        # (b) DRAM
        while sc[SC_DREQ] < cnt[1] and dreq_time[sc[SC_DREQ]] <= c:
            r = dreq[sc[SC_DREQ]]
            sc[SC_DREQ] += 1
            _request_arrived(R, D, B, r, arrive[r - rb], dram_cycle, ld, rb)
        if dram_cycle:
            for ch in range(CH):
                if dm.dram_channel_due(D, ch, c):
                    n0 = cf_cnt[ch]
                    dm.dram_channel_cycle(R, D, ch, c, rb)
                    if cf_cnt[ch] > n0 and sc[SC_LOGGING]:  # a column command
                        r = cf_req[ch, (cf_head[ch] + n0) % cf_req.shape[1]]
                        _log(B, LOG_COMPLETE, r, -1)

        # (c) NoC
        if noc_cycle:
            while sc[SC_POST] < cnt[0] and post_time[sc[SC_POST]] <= c:
                q = post_pkt[sc[SC_POST]]
                sc[SC_POST] += 1
                nm.noc_enqueue(next_packet, ep_head, ep_tail, ep_wake, noc_sc,
                               src_ep[q - pb], q, pb)
            # the network's cycle (spec 6.2), its parts called here rather than through one
            # function of noc.py: numba copies an inlined function's IR once more for each
            # level of nesting (docs/performance.md: "The engine compiles 9 s faster")
            nm.ni_cycle(P, N, c, pb)
            noc_rs = N.rs   # (bound here: one more array live across the loop costs spills)
            for rt in range(noc_rs.shape[0]):
                if noc_rs[rt, nm.RS_WAKE] <= c:
                    nm.router_cycle(P, N, rt, c, pb)
                    noc_rs[rt, nm.RS_WAKE] = nm.router_wake(N, rt, c)
            for k in range(noc_sc[0]):
                p = ej_pkts[k]
                if sc[SC_LOGGING]:
                    _log(B, LOG_EJECT, p, -1)
                ev_min = _part_done(B, packet_handle[p - pb], c + 1, ev_min)
                r = req[p - pb]
                if r >= 0:
                    if sc[SC_LOGGING]:
                        _log(B, LOG_PKREM, r, pk_rem[r - rb])
                    pk_rem[r - rb] -= 1
                    if pk_rem[r - rb] == 0:
                        _request_arrived(R, D, B, r, c + 1, dram_cycle, ld, rb)
                q = fwd[p - pb]
                if q >= 0:
                    enqueue_time[q - pb] = c + 1
                    nm.noc_enqueue(next_packet, ep_head, ep_tail, ep_wake, noc_sc,
                                   src_ep[q - pb], q, pb)
        c += 1
        sc[SC_ADONE] = 0


@njit(cache=True, _nrt=False)
def _restore(P, R, B, S, j, logn_at):
    """Back to checkpoint j: undo the logged table updates made since (down to its log
    length ``logn_at``), then copy its live state back."""
    sc = B.sc
    log_code = B.log_code
    log_idx = B.log_idx
    h_rem = B.h_rem
    log_old = B.log_old
    h_avail = B.h_avail
    pk_rem = R.pk_rem
    mode = B.mode
    eject = P.eject
    arrive = R.arrive
    complete = R.complete
    live = S.live
    ck = S.ck
    par = S.par
    ck_g = S.ck_g
    for k in range(sc[SC_LOGN] - 1, logn_at - 1, -1):
        code = log_code[k]
        i = log_idx[k]
        if code == LOG_HREM:
            h_rem[i] = log_old[k]
        elif code == LOG_HAVAIL:
            h_avail[i] = log_old[k]
        elif code == LOG_PKREM:
            pk_rem[i - mode[5]] = log_old[k]
        elif code == LOG_EJECT:
            eject[i - mode[4]] = log_old[k]
        elif code == LOG_ARRIVE:
            arrive[i - mode[5]] = log_old[k]
        else:
            complete[i - mode[5]] = log_old[k]
    for i in range(live.shape[0]):
        live[i] = ck[j, i]
    par[CK_N] = j + 1
    par[CK_NEXT] = ck_g[j] + par[CK_EVERY]


# --------------------------------------------------------------------------- engine


@njit(cache=True, _nrt=False)
def _transfer_rows(P, R, tensor_col, pb, rb, p0, r0, first, n, channels, fields, ctrl_node,
                   nbanks, write, handle, tensor, noc_cycle, cycle, core_ep, req_flits,
                   resp_flits, kind_req, kind_resp, arrive):
    """Fill the table rows of a DRAM transfer of ``n`` bursts from burst index ``first``
    (channels given): requests ``r0..``, and with a cycle-level NoC (``noc_cycle``) their
    request packets from ``p0`` on, then for a read the response packets, which then carry
    the kernel handle ``handle`` (else the requests do). ``fields``:
    :meth:`DramAddressMap.field_table`; ``arrive`` >= 0: the requests' arrival (an ideal
    NoC). Columns not named keep the rows' defaults (``Engine.P_FIELDS``, ``R_FIELDS``)."""
    npk_req = req_flits.shape[0]
    npk_resp = resp_flits.shape[0] if noc_cycle and write == 0 else 0
    request_handle = -1 if npk_resp else handle
    q_resp = p0 + n * npk_req          # the first response packet
    for k in range(n):
        a = first + k
        rank = (a >> fields[0]) & fields[1]
        bank = ((a >> fields[4]) & fields[5]) * fields[7] + ((a >> fields[2]) & fields[3])
        i = r0 - rb + k
        R.channel[i] = channels[k]
        R.bank[i] = rank * nbanks + bank
        R.row[i] = a >> fields[6]
        R.write[i] = write
        R.handle[i] = request_handle
        R.pk_rem[i] = npk_req
        tensor_col[i] = tensor
        if arrive >= 0:
            R.arrive[i] = arrive
        if not noc_cycle:
            continue
        ctrl_ep = 2 * ctrl_node[channels[k]] + 1
        q = p0 - pb + k * npk_req
        _packet_rows(P, q, core_ep, ctrl_ep, req_flits, kind_req)
        for j in range(q, q + npk_req):
            P.time[j] = cycle
            P.req[j] = r0 + k
        if npk_resp:
            R.resp_first[i] = q_resp + k * npk_resp
            R.resp_n[i] = npk_resp
            q = q_resp - pb + k * npk_resp
            _packet_rows(P, q, ctrl_ep, core_ep, resp_flits, kind_resp)
            for j in range(q, q + npk_resp):
                P.handle[j] = handle


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _packet_rows(P, q, src_ep, dst_ep, flits, kind):
    """Packet table rows ``q..``: one packet of each of ``flits`` flits from ``src_ep`` to
    ``dst_ep``, of message kind ``kind``."""
    for j in range(flits.shape[0]):
        P.src_ep[q + j] = src_ep
        P.dst_ep[q + j] = dst_ep
        P.flits[q + j] = flits[j]
        P.kind[q + j] = kind


def _compiled_elsewhere() -> None:
    """Before the engine's kernels are first called here: a compilation of them in another
    process (:func:`compile_engine_elsewhere`) finishes first."""
    precompile.wait(engine_run)


def _narrow(a: np.ndarray) -> np.ndarray:
    """int32 copy of non-negative cycle counts (int64 if one does not fit)."""
    return a.astype(np.int32 if a.size == 0 or a.max() < 1 << 31 else np.int64)


def _grow(arr: np.ndarray, n: int, fill) -> np.ndarray:
    if n <= arr.shape[0]:
        return arr
    new = np.full(max(n, 2 * arr.shape[0], 64), fill, arr.dtype)
    new[:arr.shape[0]] = arr
    return new


class Engine:
    """Tables, live state, speculation (checkpoints / undo log) around :func:`engine_run`.

    Packet and request ids grow without bound, but the tables hold only the rows from ``pb``
    (``rb``) on: :meth:`retire` moves the rows of what was delivered before the committed
    cycle into a compact archive of the columns that records and statistics read."""

    P_FIELDS = {"src_ep": 0, "dst_ep": 0, "flits": 1, "time": INF, "inject": -1, "eject": -1,
                "next": -1, "handle": -1, "req": -1, "fwd": -1, "kind": 0}
    R_FIELDS = {"channel": 0, "bank": 0, "row": 0, "write": 0, "handle": -1, "resp_first": 0,
                "resp_n": 0, "pk_rem": 0, "arrive": -1, "issue": -1, "complete": -1,
                "outcome": -1, "next": -1}

    RETIRE_MIN = 1 << 16   # table rows below which retiring is not worth a pass
    TABLE_ROWS = 1024      # rows a table starts with (growing from 64 to a small validate
    #                        case's ~1000 packets cost 2 % of its time)
    # The kernels, called without the dispatcher's per-call typing (see jitcall). Shared by
    # every engine: the state an engine builds always has the same types (int64 arrays of
    # fixed dimensions), so the types are worked out once per process, not per simulation.
    # Before the first call, a compilation of them under way in another process (the first
    # run after an install: compile_engine_elsewhere) is let finish.
    _engine_run = CompiledCall(engine_run, _compiled_elsewhere)
    _checkpoint = CompiledCall(_checkpoint, _compiled_elsewhere)
    _restore = CompiledCall(_restore, _compiled_elsewhere)
    # Retired requests whose per-request records are kept (24 bytes each): beyond, only the
    # summaries are (statistics unchanged; iterating the records raises RecordsNotKept).
    RECORD_ROWS = 1 << 20
    # Beyond it, requests are retired only once all their events are this many cycles old,
    # so that the records ending in the last RECORD_WINDOW cycles can still be listed
    # (``RecordLog.ending_at``: the critical path's, docs/microarchitecture.md 10.2, which
    # asks for the requests arriving with the step's last DRAM write: it raises
    # RecordsNotKept should that write have waited longer than this in its controller).
    # A window of 2^20 cycles cost 200 MiB more at T = 16 of the converted VGG-16 (the
    # tables, sized for what is live, hold all rows of the window).
    RECORD_WINDOW = 1 << 16

    def __init__(self, cfg, noc_cycle: bool, dram_cycle: bool):
        self.cfg = cfg
        self.noc_cycle, self.dram_cycle = noc_cycle, dram_cycle
        self.ln = 0 if noc_cycle else cfg.noc.ideal_latency
        self.ld = cfg.dram.ideal_latency
        self.N = nm.make_noc_state(cfg)
        self.D = dm.make_dram_state(cfg, extra_latency=self.ln)
        self.n_pk = self.n_rq = self.n_h = 0
        # packet and request ids of table row 0, as B.mode[4] and [5] (which the kernels
        # read) hold them; plain ints here (read at every post)
        self.pb = self.rb = 0
        rows = self.TABLE_ROWS
        self.P = nm.Packets(**{k: np.full(rows, v, np.int64) for k, v in self.P_FIELDS.items()})
        self.R = dm.Requests(**{k: np.full(rows, v, np.int64) for k, v in self.R_FIELDS.items()})
        z = lambda: np.zeros(rows, np.int64)  # noqa: E731
        self.B = Book(h_rem=z(), h_avail=np.full(rows, -1, np.int64), h_quiet=z(), post_pkt=z(),
                      post_time=z(), dreq=z(), dreq_time=z(), ev_h=z(), ev_t=z(),
                      log_code=z(), log_idx=z(), log_old=z(), sc=np.zeros(8, np.int64),
                      cnt=np.zeros(3, np.int64),
                      mode=np.array([noc_cycle, dram_cycle, self.ln, self.ld, 0, 0],
                                    np.int64))
        self._make_live()
        # link and DRAM-bus activity over time (for the timeline): committed values of the
        # cumulative counters N.st_port and D.cmd at cycles at least ``_activity_every``
        # apart, at most ACTIVITY_SAMPLES of them (then every other one is dropped and the
        # spacing doubles)
        self._activity: list = []    # (cycle, the SAMPLED counters' slice of the state)
        self._activity_every = ACTIVITY_FIRST_EVERY
        self.packets_done = PacketTally()     # retired packets, summarised
        self.requests_done = RequestTally()   # retired requests, summarised
        self._arch_r: list = []      # retired requests' records: column chunks (see retire),
        #                              while no more than RECORD_ROWS rows (then None)
        self.tensor_code = np.zeros(rows, np.int64)  # tensor code of each request table row
        self.retired_upto = 0        # every retired request's events are before this cycle
        self._retire_at = self.RETIRE_MIN  # live rows that trigger the next retire
        self._keys = [np.zeros(rows, np.int64), np.zeros(rows, np.int64)]  # order keys

    # ------------------------------------------------------------ tables

    @property
    def G(self) -> int:
        return int(self.B.sc[SC_G])

    @property
    def a_done(self) -> int:
        return int(self.B.sc[SC_ADONE])

    @property
    def speculating(self) -> bool:
        return bool(self.S.par[CK_N] > 0)

    # The cumulative counters an activity sample copies: adjacent in the live buffer, so
    # that a sample is one slice copy.
    SAMPLED = (("N", "st_port"), ("N", "st_inj"), ("D", "cmd"))

    def _make_live(self):
        """Move the live arrays into one flat buffer (views), for one-copy checkpoints."""
        sampled = [(getattr(self, o), k) for o, k in self.SAMPLED]
        parts = ([(self.N, k) for k in nm.NOC_LIVE if ("N", k) not in self.SAMPLED]
                 + [(self.D, k) for k in dm.DRAM_LIVE if ("D", k) not in self.SAMPLED]
                 + sampled + [(self.B, "sc")])
        live = np.empty(sum(getattr(o, k).size for o, k in parts), np.int64)
        views: dict = {0: {}, 1: {}, 2: {}}
        self._live_at = {}                   # name -> (offset, shape, size) in the buffer
        at = 0
        for o, k in parts:
            a = getattr(o, k)
            v = live[at:at + a.size].reshape(a.shape)
            v[...] = a
            views[0 if o is self.N else 1 if o is self.D else 2][k] = v
            self._live_at[k] = (at, a.shape, a.size)  # (the three hold distinct names)
            at += a.size
        self.N = self.N._replace(**views[0])
        self.D = self.D._replace(**views[1])
        self.B = self.B._replace(**views[2])
        self._sc_at = at - self.B.sc.size    # where Book.sc sits in the buffer
        first, last = self._live_at[sampled[0][1]], self._live_at[sampled[-1][1]]
        self._sampled = slice(first[0], last[0] + last[2])
        self.S = Spec(live=live, ck=np.empty((CK_MAX, live.size), np.int64),
                      ck_g=np.zeros(CK_MAX, np.int64), par=np.zeros(3, np.int64))
        self.A = Samples(par=np.array([INF, 0, 0, 0, self._sampled.start], np.int64),
                         cycle=np.empty(SAMPLE_ROWS, np.int64),
                         rows=np.empty((SAMPLE_ROWS, self._sampled.stop - self._sampled.start),
                                       np.int64))

    def _fit_log(self):
        # a speculation logs at most 4 updates per packet (ejection, handle part, request
        # packet count) and 4 per request (arrival, completion, handle part) in the tables
        need = 4 * (self.n_pk - self.pb) + 4 * (self.n_rq - self.rb) + 16
        B = self.B
        if need > B.log_code.shape[0]:
            self.B = B._replace(log_code=_grow(B.log_code, need, 0),
                                log_idx=_grow(B.log_idx, need, 0),
                                log_old=_grow(B.log_old, need, 0))

    def reserve_packets(self, n: int) -> int:
        """Append ``n`` packet rows of defaults (``P_FIELDS``); the first one's id."""
        i0, pb = self.n_pk, self.pb
        self.n_pk += n
        if self.n_pk - pb > self.P.src_ep.shape[0]:
            self.P = nm.Packets(**{k: _grow(getattr(self.P, k), self.n_pk - pb, v)
                                   for k, v in self.P_FIELDS.items()})
        self._fit_log()
        return i0

    def reserve_requests(self, n: int) -> int:
        """Append ``n`` request rows of defaults (``R_FIELDS``, tensor code 0); the first
        one's id."""
        i0, rb = self.n_rq, self.rb
        self.n_rq += n
        if self.n_rq - rb > self.R.channel.shape[0]:
            self.R = dm.Requests(**{k: _grow(getattr(self.R, k), self.n_rq - rb, v)
                                    for k, v in self.R_FIELDS.items()})
        self.tensor_code = _grow(self.tensor_code, self.n_rq - rb, 0)
        self._fit_log()
        return i0

    def add_packets(self, n: int, **cols) -> np.ndarray:
        """Rows for ``n`` packets, columns given by name (a value, or one per packet); their
        ids."""
        i0 = self.reserve_packets(n)
        lo = i0 - self.pb
        P = self.P
        for k, v in cols.items():
            getattr(P, k)[lo:lo + n] = v
        return np.arange(i0, i0 + n)

    def add_messages(self, src_ep: int, dst_eps: list, flits: list, kind: int,
                     time: int | None) -> tuple[int, int]:
        """Rows for the packets of messages from one endpoint (or of one multicast leg), and a
        handle for each message: message i goes to ``dst_eps[i]`` in packets of ``flits[i]``
        flits each, all enqueued at cycle ``time`` (None: left to be forwarded). Returns the
        first packet's id and the first handle's (both consecutive, message by message). One
        packet, the most common single post, is written item by item (a numpy slice write
        costs about eight item writes)."""
        counts = [len(f) for f in flits]
        h0 = self.add_handles(counts)
        n = sum(counts)
        i0 = self.reserve_packets(n)
        lo = i0 - self.pb
        P = self.P
        if n == 1:
            P.src_ep[lo] = src_ep
            P.dst_ep[lo] = dst_eps[0]
            P.flits[lo] = flits[0][0]
            P.handle[lo] = h0
            P.kind[lo] = kind
            if time is not None:
                P.time[lo] = time
            return i0, h0
        hi = lo + n     # (add_packets' slices, without its keyword dict and id array)
        P.src_ep[lo:hi] = src_ep
        P.kind[lo:hi] = kind
        if time is not None:
            P.time[lo:hi] = time
        P.dst_ep[lo:hi] = np.repeat(dst_eps, counts)
        P.flits[lo:hi] = [f for each in flits for f in each]
        P.handle[lo:hi] = np.repeat(np.arange(h0, h0 + len(counts)), counts)
        return i0, h0

    def add_requests(self, n: int, tensor: int = 0, **cols) -> np.ndarray:
        """``n`` requests of the tensor kind coded ``tensor`` (statistics only)."""
        i0 = self.reserve_requests(n)
        rb = self.rb
        self.tensor_code[i0 - rb:self.n_rq - rb] = tensor
        for k, v in cols.items():
            getattr(self.R, k)[i0 - rb:self.n_rq - rb] = v
        return np.arange(i0, self.n_rq)

    def forward(self, prev: int, first: int, n: int) -> None:
        """Packets ``prev..prev+n-1``, once ejected, are enqueued again as packets
        ``first..first+n-1`` at their destination NI (a multicast chain's next leg)."""
        lo = prev - self.pb
        self.P.fwd[lo:lo + n] = np.arange(first, first + n)

    # ------------------------------------------------------------ retiring rows

    def _resp_last(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi of the request table: one past the last ejection of each read's
        response packets (-1: a write, a response not ejected yet, or an ideal NoC)."""
        R, P, pb = self.R, self.P, self.pb
        if not self.noc_cycle or hi <= lo:
            return np.full(hi - lo, -1, np.int64)
        rn = R.resp_n[lo:hi]
        out = np.full(hi - lo, -1, np.int64)
        sel = np.nonzero(rn > 0)[0]
        if sel.size:
            k = int(rn[sel].max())
            q = R.resp_first[lo:hi][sel][:, None] + np.arange(k)[None, :]
            valid = np.arange(k)[None, :] < rn[sel][:, None]
            ej = P.eject[np.where(valid, q - pb, 0)]
            ej = np.where(valid, ej, 0)  # (absent packets: 0, never the max of a real one)
            last = np.where((np.where(valid, ej, 1) >= 0).all(axis=1), ej.max(axis=1) + 1, -1)
            out[sel] = last
        return out

    def trim(self, committed: int) -> None:
        """Forget what no rollback can reach any more now that cycles before ``committed``
        are final: the checkpoints before the latest one at or before it, and the undo log
        below that one."""
        S, B = self.S, self.B
        n = int(S.par[CK_N])
        if n <= 1:     # not speculating, or from one checkpoint: nothing to forget
            return
        ck_g = S.ck_g[:n].tolist()
        j = bisect.bisect_right(ck_g, committed) - 1
        if j <= 0:
            return
        at = self._sc_at + SC_LOGN
        cut, m = int(S.ck[j, at]), int(B.sc[SC_LOGN])
        for name in ("log_code", "log_idx", "log_old"):
            a = getattr(B, name)
            a[:m - cut] = a[cut:m]
        B.sc[SC_LOGN] = m - cut
        S.ck[:n - j] = S.ck[j:n]
        S.ck_g[:n - j] = S.ck_g[j:n]
        S.ck[:n - j, at] -= cut
        S.par[CK_N] = n - j

    def retire(self, committed: int) -> None:
        """Archive the table rows of the requests (then packets) delivered before cycle
        ``committed`` (before the oldest checkpoint, while speculating: no rollback touches
        them) up to the first that is not, and drop consumed posts. Only when the tables
        have grown enough to make it worth a pass."""
        if (self.n_pk - self.pb) + (self.n_rq - self.rb) < self._retire_at:
            return
        S = self.S
        nck = int(S.par[CK_N])
        if nck:
            committed = min(committed, int(S.ck_g[0]))
        P, R, B = self.P, self.R, self.B
        pb, rb = self.pb, self.rb
        lr = self.n_rq - rb
        comp = R.complete[:lr]
        lim = committed if self._arch_r is not None else committed - self.RECORD_WINDOW
        fin = (comp >= 0) & (comp < lim)
        last = self._resp_last(0, lr)
        if self.noc_cycle:  # and the response delivered
            fin &= (R.resp_n[:lr] == 0) | ((last >= 0) & (last <= lim))
        else:               # (a read's data is back noc.ideal_latency after its burst)
            fin &= (R.write[:lr] != 0) | (comp + self.ln <= lim)
        kr = lr if fin.all() else int(np.argmin(fin))
        if kr:
            self.retired_upto = max(self.retired_upto, lim)
            write = R.write[:kr] != 0
            self.requests_done.add(R.channel[:kr], write, self.tensor_code[:kr], R.arrive[:kr],
                                   comp[:kr])
            if self._arch_r is not None and rb + kr > self.RECORD_ROWS:
                self._arch_r = None            # records no longer kept (see RECORD_ROWS)
            if self._arch_r is not None:
                wait = comp[:kr] - R.arrive[:kr]
                self._arch_r.append({
                    "channel": R.channel[:kr].astype(np.int16), "write": write,
                    "complete": comp[:kr].copy(), "wait": _narrow(wait),
                    "outcome": R.outcome[:kr].astype(np.int8), "resp_last": last[:kr].copy()})
            self.R = self._shift(R, self.R_FIELDS, kr, lr)
            self.tensor_code[:lr - kr] = self.tensor_code[kr:lr]
            B.mode[5] = self.rb = rb + kr
        # packets: delivered ones, and none that a live read still has to send back
        lp = self.n_pk - pb
        ej = P.eject[:lp]
        finp = (ej >= 0) & (ej < committed)
        kp = lp if finp.all() else int(np.argmin(finp))
        if self.noc_cycle:
            R = self.R
            reads = np.nonzero(R.resp_n[:self.n_rq - self.rb] > 0)[0]
            if reads.size:
                kp = min(kp, int(R.resp_first[reads[0]]) - pb)
        if kp > 0:
            self.packets_done.add(P.kind[:kp], P.flits[:kp], ej[:kp] + 1 - P.time[:kp])
            self.P = self._shift(P, self.P_FIELDS, kp, lp)
            B.mode[4] = self.pb = pb + kp
        for k, (ids, times) in enumerate((("post_pkt", "post_time"), ("dreq", "dreq_time"))):
            at = self._sc_at + SC_POST + k  # consumed entries, live and in every checkpoint
            used = int(S.ck[:nck, at].min(initial=B.sc[SC_POST + k]))
            n = int(B.cnt[k])
            for name in (ids, times):
                a = getattr(B, name)
                a[:n - used] = a[used:n]
            self._keys[k][:n - used] = self._keys[k][used:n]
            B.cnt[k] = n - used
            B.sc[SC_POST + k] -= used
            S.ck[:nck, at] -= used
        self._fit_log()
        live = (self.n_pk - self.pb) + (self.n_rq - self.rb)
        self._retire_at = max(self.RETIRE_MIN, 2 * live)

    @staticmethod
    def _shift(T, fields: dict, k: int, n: int):
        """Drop the first k of n rows of table T (refilling the freed tail with defaults);
        the arrays shrink when they are mostly empty."""
        cap = T[0].shape[0]
        new_cap = cap if (n - k) * 4 > cap else max(64, 2 * (n - k))
        cols = {}
        for name, fill in fields.items():
            a = getattr(T, name)
            if new_cap == cap:
                a[:n - k] = a[k:n]
                a[n - k:] = fill
                cols[name] = a
            else:
                b = np.full(new_cap, fill, a.dtype)
                b[:n - k] = a[k:n]
                cols[name] = b
        return type(T)(**cols)

    def packet_tally(self, cycles: int) -> PacketTally:
        """Every packet ejected before ``cycles`` (retired and live), summarised by kind."""
        n = self.n_pk - self.pb
        P = self.P
        ej = P.eject[:n]
        done = (ej >= 0) & (ej < cycles)
        out = self.packets_done.copy()
        out.add(P.kind[:n][done], P.flits[:n][done], (ej + 1 - P.time[:n])[done])
        return out

    def request_tally(self, cycles: int) -> RequestTally:
        """Every DRAM request completed by ``cycles`` (retired and live), summarised."""
        n = self.n_rq - self.rb
        R = self.R
        comp = R.complete[:n]
        done = (comp >= 0) & (comp <= cycles)
        out = self.requests_done.copy()
        out.add(R.channel[:n][done], R.write[:n][done] != 0, self.tensor_code[:n][done],
                R.arrive[:n][done], comp[done])
        return out

    @property
    def records_kept(self) -> bool:
        """Whether the records of every request are still there (see RECORD_ROWS)."""
        return self._arch_r is not None

    def request_columns(self, retired: bool = True) -> dict:
        """DRAM requests in id order (the retired ones too unless ``retired`` is false):
        channel, write, arrive, complete, outcome and (reads over the cycle NoC) the
        response's ``resp_last``."""
        n = self.n_rq - self.rb
        R = self.R
        live = {"channel": R.channel[:n], "write": R.write[:n] != 0, "arrive": R.arrive[:n],
                "complete": R.complete[:n], "outcome": R.outcome[:n],
                "resp_last": self._resp_last(0, n)}
        if not retired:
            return live
        if self._arch_r is None:
            raise RecordsNotKept(self.RECORD_ROWS)
        arch = [{"channel": a["channel"], "write": a["write"],
                 "arrive": a["complete"] - a["wait"], "complete": a["complete"],
                 "outcome": a["outcome"], "resp_last": a["resp_last"]} for a in self._arch_r]
        return {k: np.concatenate([p[k].astype(bool if k == "write" else np.int64)
                                   for p in arch + [live]]) for k in live}

    def _last_sample(self) -> int:
        return self._activity[-1][0] if self._activity else 0

    def next_sample(self) -> int:
        """The first cycle at which :meth:`sample_activity` takes a sample (unforced)."""
        return self._last_sample() + self._activity_every

    def sample_activity(self, committed: int, force: bool = False) -> None:
        """Note the committed counters of link and DRAM-bus activity: of the checkpoints at
        or before ``committed`` (no rollback can change them), or of the live state when it
        is at ``committed`` and not speculating; at most one every ``_activity_every``
        cycles unless ``force``."""
        if committed < (self._last_sample() + 1 if force else self.next_sample()):
            return
        if self.speculating:
            S = self.S
            states = [(g, S.ck[j]) for j, g in enumerate(S.ck_g[:S.par[CK_N]].tolist())
                      if g <= committed]
        else:
            states = [(self.G, self.S.live)] if self.G == committed else []
        for cycle, state in states:
            last = self._last_sample()
            if cycle <= last or (cycle < last + self._activity_every and not force):
                continue
            self._activity.append((cycle, state[self._sampled].copy()))
            self._thin_samples()

    def _thin_samples(self) -> None:
        if len(self._activity) > ACTIVITY_SAMPLES:
            self._activity = self._activity[1::2]
            self._activity_every *= 2

    def arm_samples(self) -> None:
        """Have the next run, committed work, take the samples :meth:`sample_activity` would
        take at the cycles it passes (returning S_SAMPLED when the samples are to be thinned
        out or its buffer is full). Saves a return to Python per sample: a validate case
        of 95 k cycles took 1,500."""
        par = self.A.par
        par[SA_NEXT] = self.next_sample()
        par[SA_EVERY] = self._activity_every
        par[SA_ROOM] = min(SAMPLE_ROWS, ACTIVITY_SAMPLES + 1 - len(self._activity))
        par[SA_N] = 0

    def take_samples(self) -> None:
        """The samples of the last armed run, noted (and the run disarmed). Only the last
        one can make them too many (``arm_samples``' room): thinned once, after it."""
        A = self.A
        A.par[SA_NEXT] = INF
        n = int(A.par[SA_N])
        if n:
            self._activity += zip(A.cycle[:n].tolist(), A.rows[:n].copy())
            self._thin_samples()

    def activity(self) -> tuple:
        """The samples of :meth:`sample_activity`: (cycles [S], flits sent by each router
        output port up to each sample cycle [S, node, port], flits injected by each endpoint
        [S, endpoint], RD + WR commands by channel [S, channel])."""
        lo, hi = self._sampled.start, self._sampled.stop
        rows = np.array([s for _, s in self._activity], np.int64).reshape(
            len(self._activity), hi - lo)

        def columns(name):
            at, shape, size = self._live_at[name]
            return rows[:, at - lo:at - lo + size].reshape((len(rows),) + shape)

        cmd, names = columns("cmd"), dm.CMD_NAMES
        return ([c for c, _ in self._activity], columns("st_port"), columns("st_inj"),
                cmd[:, :, names.index("rd")] + cmd[:, :, names.index("wr")])

    def add_handles(self, parts: list) -> int:
        """Handles for transfers of ``parts[i]`` parts each (packets or requests, whose
        completions complete them); the first one's id (they are consecutive)."""
        h = self.n_h
        m = len(parts)
        self.n_h += m
        B = self.B
        if self.n_h > B.h_rem.shape[0]:
            B = self.B = B._replace(h_rem=_grow(B.h_rem, self.n_h, 0),
                                    h_avail=_grow(B.h_avail, self.n_h, -1),
                                    h_quiet=_grow(B.h_quiet, self.n_h, 0),
                                    ev_h=_grow(B.ev_h, self.n_h, 0),
                                    ev_t=_grow(B.ev_t, self.n_h, 0))
        if m == 1:     # (item writes: see add_messages)
            B.h_rem[h] = parts[0]
            B.h_avail[h] = -1
            B.h_quiet[h] = 0
        else:
            B.h_rem[h:h + m] = parts
            B.h_avail[h:h + m] = -1
            B.h_quiet[h:h + m] = 0
        B.cnt[2] = self.n_h
        return h

    def _insert_sorted(self, ids_name, time_name, k, ids, times, key=0):
        """Insert (ids, times) into the list sorted by (time, key), after entries of equal
        (time, key): posts of one cycle are taken in the order of their keys (the chip
        model's NI order, spec 4.4), then in posting order. ``times``: one per id, or one
        cycle for all (the chip's posts: no sorting then)."""
        B = self.B
        n = int(B.cnt[k])
        m = len(ids)
        idl, tl = getattr(B, ids_name), getattr(B, time_name)
        if n + m > idl.shape[0]:
            B = B._replace(**{ids_name: _grow(idl, n + m, 0), time_name: _grow(tl, n + m, 0)})
            self.B = B
            idl, tl = getattr(B, ids_name), getattr(B, time_name)
        kl = self._keys[k]
        if n + m > kl.shape[0]:
            kl = self._keys[k] = _grow(kl, n + m, 0)
        one_cycle = isinstance(times, (int, np.integer))
        if one_cycle:
            first = times
        else:
            order = np.argsort(times, kind="stable")
            ids, times = np.asarray(ids)[order], np.asarray(times)[order]
            first = times[0]
        if n == 0 or first > tl[n - 1] or (first == tl[n - 1] and key >= kl[n - 1]):
            if m == 1 and one_cycle:   # one post after the others (the chip's most common):
                idl[n] = ids[0]        # item writes, not slices
                tl[n] = times
                kl[n] = key
                B.cnt[k] = n + 1
                return
            idl[n:n + m] = ids
            tl[n:n + m] = times
            kl[n:n + m] = key
        else:  # out of order: merge the tail from the first entry at or after times[0]
            # (entries already consumed are all earlier)
            i = int(np.searchsorted(tl[:n], first, side="left"))
            t_all = np.concatenate([tl[i:n], np.full(m, times, np.int64) if one_cycle
                                    else times])
            k_all = np.concatenate([kl[i:n], np.full(m, key, np.int64)])
            i_all = np.concatenate([idl[i:n], ids])
            o = np.lexsort((k_all, t_all))    # stable: by time, then key, then position
            idl[i:n + m] = i_all[o]
            tl[i:n + m] = t_all[o]
            kl[i:n + m] = k_all[o]
        B.cnt[k] = n + m

    def schedule_posts(self, pkts, times, key: int = 0):
        self._insert_sorted("post_pkt", "post_time", 0, pkts, times, key)

    def schedule_deliveries(self, reqs, times, key: int = 0):
        self._insert_sorted("dreq", "dreq_time", 1, reqs, times, key)

    # ------------------------------------------------------------ running

    def run(self, until: int, how: int = RUN_UNTIL, ev_min: int = INF) -> tuple[int, int]:
        st, e = self._engine_run(self.P, self.R, self.B, self.N, self.D, self.S, self.A,
                                 int(until), how, int(ev_min))
        return int(st), int(e)

    def snapshot(self):
        """Start speculating from here: checkpoint 0, table updates logged from now on."""
        self.B.sc[SC_LOGN] = 0
        self.B.sc[SC_LOGGING] = 1
        self.S.par[CK_N] = 0
        self.S.par[CK_EVERY] = CK_FIRST_EVERY
        self.S.par[CK_NEXT] = self.G
        self._checkpoint(self.S, self.G)

    def rollback(self, cycle: int, committed: int):
        """Back to the latest checkpoint at or before ``cycle`` (posts at ``cycle`` made the
        speculation beyond it stale), then forward to ``committed`` if it is earlier; a state
        that is no longer ahead of ``committed`` ends the speculation."""
        S = self.S
        j = int(np.searchsorted(S.ck_g[:S.par[CK_N]], cycle, side="right")) - 1
        if j < 0:
            raise AssertionError(f"rollback to {cycle}, before the speculation started")
        self._restore(self.P, self.R, self.B, S, j, int(S.ck[j, self._sc_at + SC_LOGN]))
        if self.G <= committed:
            self.commit()
            self.run(committed)

    def commit(self):
        self.S.par[CK_N] = 0
        self.B.sc[SC_LOGN] = 0
        self.B.sc[SC_LOGGING] = 0

    def events(self, lo: int = 0):
        n = int(self.B.sc[SC_EVN])
        return self.B.ev_h[lo:n], self.B.ev_t[lo:n]


def compile_engine_elsewhere(cfg=None) -> bool:
    """The first run after an install: have a child process compile the engine's kernels
    (:mod:`~neurosim.memsys.precompile`) if a run on ``cfg`` (any run, if None) uses a
    cycle-level NoC or DRAM and the engine is loaded neither here nor in numba's cache.
    True if started."""
    if cfg is not None and not uses_engine(cfg):
        return False
    if Engine._engine_run.entry is not None:
        return False
    return precompile.start(engine_run, f"{__name__}:_compile_engine")


def _probe_engine() -> Engine:
    """An engine of both cycle-level models, to compile the kernels with: their argument
    types are the same for every config."""
    from ..arch import load_arch

    return Engine(load_arch("paper-20core"), True, True)


def compile_dram_kernels() -> None:
    """While a child compiles the engine (:func:`compile_engine_elsewhere`): the DRAM
    kernels it calls, compiled here first (their argument types as ``engine_run`` passes
    them). The child reaches those call sites after inlining the NoC's kernels, seconds
    later, and then loads them from the cache."""
    from numba import typeof, types

    engine = _probe_engine()
    R, D, B, i64 = typeof(engine.R), typeof(engine.D), typeof(engine.B), types.int64
    dm.dram_channel_cycle.compile((R, D, i64, i64, i64))
    _request_arrived.compile((R, D, B, i64, i64, types.boolean, i64, i64))


def _compile_engine() -> None:
    """In that child: the engine's kernels into the cache."""
    with precompile.compiling(engine_run) as needed:
        if needed:
            engine = _probe_engine()
            engine.snapshot()                  # _checkpoint
            engine.run(1)                      # engine_run
            engine.rollback(0, 0)              # _restore


# --------------------------------------------------------------------------- memory system


class CycleMemorySystem(MemorySystem):
    """Cycle-level NoC and/or DRAM behind the memory-system interface.

    Beyond :class:`MemorySystem`:

    - ``send(..., dst=[(node, port), ...])`` sends one message to several endpoints and
      returns one handle per destination (in the order given). With ``noc.multicast: true``
      it is a multicast (section 4.5 of the spec: forwarded from NI to NI along a chain);
      otherwise one unicast per destination, in the order given.
    - ``next_event(horizon)`` may be given the caller's own next event cycle: the model then
      simulates no further than ``horizon`` and returns ``None`` if nothing is available by
      then.
    - ``messages``, ``dram``, ``counters`` and ``extra`` describe what has been committed
      (cycles before the last ``advance``); read them after the run. ``messages`` and
      ``dram`` are :class:`~neurosim.memsys.base.RecordLog` sequences: the per-burst records
      are built from the engine's tables only when iterated.
    """

    LOG_MIN = 1 << 16      # log entries below which dropping old messages is not worth a pass
    speculates = True
    _transfer_rows = CompiledCall(_transfer_rows)   # (shared, as Engine's kernels)

    def __init__(self, cfg):
        super().__init__(cfg)
        noc_cycle, dram_cycle = cfg.noc.model == "cycle", cfg.dram.model == "cycle"
        if not (noc_cycle or dram_cycle):
            raise ValueError("both models ideal: use IdealMemorySystem")
        self.noc_cycle, self.dram_cycle = noc_cycle, dram_cycle
        self.eng = Engine(cfg, noc_cycle, dram_cycle)
        self._nbanks = cfg.dram.banks
        self._dirty = INF            # earliest post since the last consistency point that
        #                              landed before the engine's cycle (INF: none)
        self._E = None               # cached next_event: (value, horizon it holds for)
        self._handles: list = []     # kernel handle id -> Handle (None once delivered and
        #                              passed by ``_ev_lo``)
        self._payload_dropped: dict = {}  # payload bits of delivered messages dropped from
        #                              the log (see _drop_old_messages), by kind
        self._drop_at = self.LOG_MIN
        self._known: list = []       # heap of handles whose availability was known at post
        self._ev_lo = 0
        self._settled: list = []     # quiet handles passed by committed runs, not yet taken
        self._reqs: list = []        # per DRAM transfer: (first request, bursts, tensor,
        #                              first address, write, node, cycle, tag)
        self._kinds = {k: i for i, k in enumerate(MESSAGE_KINDS)}
        self._tensors: dict = {}     # tensor kind -> code (the requests' ``tensor`` column)
        self._order = 0              # key of the posts that follow (see post_order)
        self._ep_ids: dict = {}      # (node, port) -> endpoint id
        self._dram_flit_arrays = {k: np.array(v, np.int64) for k, v in self._dram_flits.items()}
        self._field_table = self.amap.field_table()

    @property
    def _C(self) -> int:
        """The committed cycle (that of the last ``advance``)."""
        return self._now

    # ------------------------------------------------------------ helpers

    def _posted(self, cycle: int) -> None:
        if cycle < self.eng.G:
            if not self.eng.speculating:
                raise AssertionError(f"post at cycle {cycle} before the horizon "
                                     f"{self.eng.G} the caller gave as final")
            self._dirty = min(self._dirty, cycle)
        if self._E is not None and (self._E[0] is None or cycle < self._E[0]):
            self._E = None

    def _available_at(self, h: Handle, t: int) -> Handle:
        heapq.heappush(self._known, (t, h.id, h))
        return h

    def _kernel_handles(self, handles: list, kh: int) -> int:
        """``handles`` are the engine's handles ``kh``, ``kh + 1``, ...; returns ``kh``."""
        for i, h in enumerate(handles):
            h.kh = kh + i
        self._handles += handles
        return kh

    def set_wakes(self, h: Handle, wakes: bool) -> bool:
        """See :class:`~neurosim.memsys.base.MemorySystem`: a quiet handle's completion does
        not stop a committed run of the engine (``_part_done``)."""
        if h.kh < 0:
            return False
        self.eng.B.h_quiet[h.kh] = 0 if wakes else 1
        return True

    def settled(self) -> list:
        out, self._settled = self._settled, []
        out.sort(key=lambda h: (h.available, h.id))
        return out

    def _kind(self, kind: str) -> int:
        if kind not in self._kinds:
            self._kinds[kind] = len(self._kinds)
        return self._kinds[kind]

    def _ep(self, ep: tuple) -> int:
        got = self._ep_ids.get(ep)
        if got is None:
            got = self._ep_ids[ep] = nm.endpoint(int(ep[0]), int(ep[1]))
        return got

    # ------------------------------------------------------------ posts

    def post_order(self, key: int) -> None:
        """Order key of the posts that follow, among the posts of the same cycle (lower
        first; equal keys in posting order). The chip model keys its posts by (core,
        engine, sequence), so packets and requests of one cycle are handled in the spec's
        NI order (4.4) even when they are posted in several rounds of that cycle."""
        self._order = int(key)

    def _post_unicasts(self, src, legs):
        """Returns the id of the first packet (the legs' packets are consecutive)."""
        if not self.noc_cycle:
            for h, _dst, _flits in legs:
                self._available_at(h, h.post + self.ln)
            return None
        cycle = legs[0][0].post
        first = self._add_legs(src, legs, cycle)
        self.eng.schedule_posts(range(first, self.eng.n_pk), cycle, self._order)
        return first

    def _post_leg(self, h, via, dst, flits, prev):
        """The leg's token: the id of its first packet (its packets are consecutive); a
        forwarded leg is enqueued by the NI at ``via`` once the previous leg's packets
        (from id ``prev``) have been ejected there (spec 4.5)."""
        if prev is None:
            return self._post_unicasts(via, [(h, dst, flits)])
        first = self._add_legs(via, [(h, dst, flits)], None)
        self.eng.forward(prev, first, len(flits))
        return first

    def _add_legs(self, via, legs, time):
        """Handles and packet rows of messages leaving from ``via`` (enqueued at ``time``;
        None: forwarded); the first packet's id."""
        handles = [h for h, _, _ in legs]
        first, kh = self.eng.add_messages(self._ep(via), [self._ep(d) for _, d, _ in legs],
                                          [f for _, _, f in legs],
                                          self._kind(handles[0].kind), time)
        self._kernel_handles(handles, kh)
        return first

    def _post_transfer(self, h, node, first, n, channels, tensor, write):
        cycle, first, n = h.post, int(first), int(n)
        eng = self.eng
        req_flits = self._dram_flit_arrays["dram_write" if write else "dram_read_req"]
        resp_flits = self._dram_flit_arrays["dram_read_resp"]
        read_over_noc = self.noc_cycle and not write
        kh = self._kernel_handles(
            [h], eng.add_handles([n * (len(resp_flits) if read_over_noc else 1)]))
        r0 = eng.reserve_requests(n)
        p0 = eng.n_pk
        npk_req = len(req_flits)
        if self.noc_cycle:
            eng.reserve_packets(n * (npk_req + (len(resp_flits) if read_over_noc else 0)))
        self._transfer_rows(
            eng.P, eng.R, eng.tensor_code, eng.pb, eng.rb, p0, r0, first, n, channels,
            self._field_table, self._ctrl_node, self._nbanks, int(write), kh,
            self._tensors.setdefault(tensor, len(self._tensors)), self.noc_cycle, cycle,
            nm.endpoint(node, PORT_CORE), req_flits, resp_flits,
            self._kind("dram_write" if write else "dram_read_req"),
            self._kind("dram_read_resp"), -1 if self.noc_cycle else cycle + self.ln)
        self._reqs.append((r0, n, tensor, first * self.amap.burst, bool(write), node, cycle,
                           h.tag))
        self._log.append(("dram", len(self._reqs) - 1))
        if self.noc_cycle:
            eng.schedule_posts(np.arange(p0, p0 + n * npk_req), cycle, self._order)
        else:
            eng.schedule_deliveries(np.arange(r0, r0 + n), cycle + self.ln, self._order)
        return h

    # ------------------------------------------------------------ time

    def _consistent(self):
        """Undo the part of a speculation that a later post has made stale."""
        if self._dirty < INF:
            if self.eng.speculating:
                self.eng.rollback(self._dirty, self._C)
            else:
                self.eng.run(self._C)
            self._dirty = INF

    def _pending_kernel_min(self) -> tuple[int, int]:
        """The earliest completion found by the engine and not delivered: of a handle that
        is not quiet, and of any."""
        hs, ts = self.eng.events(self._ev_lo)
        stop = best = INF
        if not len(hs):      # (most calls: every completion delivered)
            return stop, best
        quiet = self.eng.B.h_quiet[hs].tolist()
        for h, t, q in zip(hs.tolist(), ts.tolist(), quiet):
            if self._handles[h].available is None:
                if t < best:
                    best = t
                if not q and t < stop:
                    stop = t
        return stop, best

    def _take(self, last: int, quiet_only: bool) -> tuple[list, int]:
        """Mark available the engine's completions not delivered yet at cycles <= ``last``
        (of quiet handles only, or all); returns their handles and the earliest completion
        left undelivered (INF: none; ``_pending_kernel_min``'s second value, in the same
        scan). Handles delivered in an unbroken run from ``_ev_lo`` are passed for good."""
        eng = self.eng
        hs, ts = eng.events(self._ev_lo)
        out = []
        rest = INF
        if not len(hs):
            return out, rest
        quiet = eng.B.h_quiet[hs].tolist() if quiet_only else None
        lo_moving = True
        for j, (kh, t) in enumerate(zip(hs.tolist(), ts.tolist())):
            h = self._handles[kh]
            if h.available is None:
                if t <= last and (not quiet_only or quiet[j]):
                    h.available = int(t)
                    out.append(h)
                elif t < rest:
                    rest = t
            if lo_moving and h.available is not None:
                self._ev_lo += 1
                self._handles[kh] = None     # never looked up again
            else:
                lo_moving = False
        return out, rest

    def next_event(self, horizon: int | None = None, final: bool = False):
        """See :class:`~neurosim.memsys.base.MemorySystem`. ``final``: the caller posts
        nothing before ``horizon`` (its own next event; without one, before the delivery
        returned), so the engine may run there as committed work, without checkpoints or an
        undo log; quiet completions on the way are handed over (``settled``)."""
        lim = INF if horizon is None else horizon
        if self._E is not None:  # no post or advance since it was computed
            value, covered = self._E
            if value is not None:
                return value if value <= lim else None
            if covered >= lim:
                return None
        self._consistent()
        eng = self.eng
        known = self._known[0][0] if self._known else INF
        stop, k = self._pending_kernel_min()
        if stop >= eng.G + eng.a_done:  # completions not yet simulated could come earlier
            if final:
                # committed work, so only up to where the caller may post: its horizon, or
                # a delivery known already (the caller acts on it, and may post then)
                k = self._run_final(max(min(lim, known), self._C), stop)
            else:
                if not eng.speculating:
                    eng.snapshot()
                eng.run(max(lim, self._C), RUN_STOP_EVENT, stop)
                k = self._pending_kernel_min()[1]
        best = min(known, k)
        value = int(best) if best < INF else None
        if value is not None and value > lim:
            self._E = (None, lim)
            return None
        self._E = (value, lim)
        return value

    def _run_final(self, until: int, stop: int) -> int:
        """Run the engine as committed work to ``until`` or to the first completion of a
        handle that is not quiet (``stop``: the earliest one found already). The quiet
        completions before the engine's cycle are final: handed over (``settled``), not
        woken for; one at that cycle is delivered by ``advance`` there, after the caller's
        own events of the cycle, as any. Link and DRAM-bus activity is sampled on the way
        (by the engine: ``Engine.arm_samples``). Returns the earliest completion left
        undelivered (INF: none)."""
        eng = self.eng
        if eng.speculating:
            raise AssertionError("a committed run while speculating")
        while True:
            eng.arm_samples()
            st, stop = eng.run(until, RUN_STOP_EVENT, stop)   # (stop: found ones included)
            eng.take_samples()
            if st != S_SAMPLED:
                break
        taken, rest = self._take(eng.G - 1, quiet_only=True)
        self._settled += taken
        return rest

    def advance(self, cycle):
        eng = self.eng
        if cycle > self._C:
            self._consistent()
            if cycle > eng.G or (cycle == eng.G and not eng.a_done):
                eng.commit()
                eng.run(cycle)
            self._now = cycle
            eng.sample_activity(cycle)
            eng.trim(cycle)
            eng.retire(cycle)
            if not eng.records_kept and len(self._log) >= self._drop_at:
                self._drop_old_messages()
        out = []
        while self._known and self._known[0][0] <= cycle:
            t, _, h = heapq.heappop(self._known)
            h.available = t
            out.append(h)
        out += self._take(cycle, quiet_only=False)[0]
        if self._E is not None and self._E[0] is not None and self._E[0] <= cycle:
            self._E = None
        out.sort(key=lambda h: (h.available, h.id))
        return out

    def _sync(self):
        """Bring the live state back to the committed cycle (drop any speculation)."""
        if self.eng.speculating or self._dirty < INF:
            if self.eng.speculating:
                self.eng.rollback(self._C, self._C)
            else:
                self.eng.run(self._C)
            self._dirty = INF
            self._E = None

    def drain(self) -> int:
        """Run until nothing is in flight; returns the last availability (for tests and
        characterisation; the chip model uses next_event/advance)."""
        last = self._C
        while True:
            e = self.next_event()
            if e is None:
                return last
            self.advance(e)
            last = e

    # ------------------------------------------------------------ records

    def _record_stamp(self):
        return (self._n_records["messages"], self._n_records["dram"], self._C)

    def _request_state(self, retired: bool = True) -> dict:
        """Committed state of every DRAM request (numpy arrays over request ids; only the
        rows not retired yet unless ``retired``): arrival and completion (-1 if not
        committed yet), outcome code (-1: pending; 3: ideal), and for reads the cycle the
        response is available at the core (-1: not yet, or a write)."""
        C = self._C
        T = self.eng.request_columns(retired)
        arr, comp, write = T["arrive"], T["complete"], T["write"]
        done = (comp >= 0) & (comp <= C)
        # a read's response leaves the controller when its burst ends; it is available at
        # the core once its last packet is ejected (cycle NoC) or noc.ideal_latency later
        if self.noc_cycle:
            last = T["resp_last"]
            ok = (comp >= 0) & (comp < C) & ~write & (last >= 0) & (last <= C)
            resp = np.where(ok, last, -1)
        else:
            t = comp + self.ln
            resp = np.where((comp >= 0) & (comp < C + 1) & (t <= C) & ~write, t, -1)
        return {"channel": T["channel"], "write": write,
                "arrive": np.where((arr >= 0) & (arr <= C), arr, -1),
                "complete": np.where(done, comp, -1), "outcome": np.where(done, T["outcome"], -1),
                "resp": resp}

    def _expand_context(self, which: str, since: int | None = None) -> dict:
        """The committed request state the records are built from: of every request, or,
        once the records are no longer kept (``Engine.RECORD_ROWS``), of the requests not
        retired yet -- enough for the records that end at ``since`` or later if it is not
        before ``Engine.retired_upto`` (else RecordsNotKept). ``first``: request id of
        row 0."""
        self._sync()
        if self.eng.records_kept:
            return dict(self._request_state(), first=0)
        if since is None or since < self.eng.retired_upto:
            raise RecordsNotKept(self.eng.RECORD_ROWS)
        return dict(self._request_state(retired=False), first=self.eng.rb)

    def _expand_transfer(self, i, which, st):
        """The records of transfer ``i`` (of ``_reqs``), burst by burst (those of its
        requests in ``st``); ``st``: the committed request state (:meth:`_expand_context`)."""
        r0, n, tensor, a0, write, node, cycle, tag = self._reqs[i]
        skip = max(0, st["first"] - r0)             # bursts of retired requests
        if skip >= n:
            return
        a0 += skip * self.amap.burst
        sl = slice(r0 + skip - st["first"], r0 + n - st["first"])
        chans, arrive = st["channel"][sl].tolist(), st["arrive"][sl].tolist()
        comp = st["complete"][sl].tolist()
        if which == "dram":
            names = dm.OUTCOMES + ("ideal",)  # outcome code 3: dram.model ideal
            b = self.amap.burst
            for k, (ch, a, c, oc) in enumerate(zip(chans, arrive, comp,
                                                   st["outcome"][sl].tolist())):
                yield DramRecord(ch, tensor, write, a0 + k * b, a, c,
                                 names[oc] if oc >= 0 else "pending")
            return
        bits = self.amap.burst * 8
        core = (node, PORT_CORE)
        ctrl_of = [(int(x), PORT_DRAM) for x in self._ctrl_node]
        if write:
            f = self._dram_flits["dram_write"]
            for ch, a in zip(chans, arrive):
                yield MessageRecord("dram_write", core, ctrl_of[ch], cycle, a, bits, len(f),
                                    sum(f), tag)
            return
        req, resp = self._dram_flits["dram_read_req"], self._dram_flits["dram_read_resp"]
        for ch, a, c, v in zip(chans, arrive, comp, st["resp"][sl].tolist()):
            ctrl = ctrl_of[ch]
            yield MessageRecord("dram_read_req", core, ctrl, cycle, a, 0, len(req), sum(req),
                                tag)
            yield MessageRecord("dram_read_resp", ctrl, core, c if v >= 0 else -1, v, bits,
                                len(resp), sum(resp), tag)

    def _drop_old_messages(self) -> None:
        """Once the records are no longer all kept (``Engine.RECORD_ROWS``), drop from the
        log the messages delivered before ``Engine.retired_upto`` (no record query reaches
        them), keeping their payload for the statistics: the log then grows with what is
        recent, not with the run."""
        lim = self.eng.retired_upto
        keep = []
        for entry in self._log:
            what, m = entry
            if what == "msg" and m[-1].available is not None and m[-1].available < lim:
                if m[5]:   # packets: it used the NoC
                    self._payload_dropped[m[0]] = self._payload_dropped.get(m[0], 0) + m[4]
                continue
            keep.append(entry)
        self._log = keep
        self._drop_at = max(self.LOG_MIN, 2 * len(keep))

    def tensor_names(self) -> list:
        """The tensor kind of each code of the requests' ``tensor`` column."""
        return list(self._tensors)

    def _payload_delivered(self) -> dict:
        """Payload bits of the messages available by the committed cycle that used the NoC
        (every leg of a multicast counts), by kind."""
        out: dict = dict(self._payload_dropped)
        for what, m in self._log:
            if what == "dram":
                continue
            kind, _, _, _, payload_bits, packets, _, _, h = m
            if packets and h.available is not None:
                out[kind] = out.get(kind, 0) + payload_bits
        bits = self.amap.burst * 8
        st = self._request_state(retired=False)   # retired rows: arrived, data delivered
        done = self.eng.requests_done
        write = st["write"]
        if write.any() or done.count(write=True):
            out["dram_write"] = bits * (done.count(write=True)
                                        + int((write & (st["arrive"] >= 0)).sum()))
        if (~write).any() or done.count(write=False):
            out["dram_read_resp"] = bits * (done.count(write=False)
                                            + int((st["resp"] >= 0).sum()))
        return out

    @property
    def counters(self) -> Counter:
        self._sync()
        c = Counter(self._traffic)
        if self.dram_cycle:
            for ch in range(self.cfg.dram.channels):
                for i, name in enumerate(dm.CMD_NAMES):
                    v = int(self.eng.D.cmd[ch, i])
                    if v:
                        c[counter_key(dram_path(ch), name)] += v
        return c

    def activity(self) -> dict:
        """Link and DRAM-bus activity over the step, for the timeline (``timeline.py``):
        ``cycles`` (ascending sample cycles, the committed one last), ``links`` (each
        directed router-to-router link's flits sent up to each sample cycle, by link
        ``(x,y)->(x,y)``), ``ports`` (each network interface's flits injected and ejected
        up to each sample cycle, by ``core (x,y) injection`` etc.; ``links`` and ``ports``
        with ``noc.model: cycle`` only), ``dram`` (each channel's data-bus busy cycles up to
        each sample cycle: RD and WR bursts x tBURST; with ``dram.model: cycle`` only)."""
        from ..arch import dram_timing_cycles

        self._sync()
        self.eng.sample_activity(self._C, force=True)
        cycles, ports, injected, rdwr = self.eng.activity()
        mesh = self.mesh
        out = {"cycles": cycles, "links": {}, "ports": {}, "dram": {}}
        if self.noc_cycle:
            for r, o, d in mesh.links():
                (x, y), (xd, yd) = mesh.xy(r), mesh.xy(d)
                out["links"][f"({x},{y})->({xd},{yd})"] = ports[:, r, o].tolist()
            for node in range(mesh.nodes):
                x, y = mesh.xy(node)
                ends = [("core", PORT_CORE)]
                if node in mesh.dram_nodes:
                    ends.append(("dram", PORT_DRAM))
                for name, port in ends:
                    e = nm.endpoint(node, port)
                    out["ports"][f"{name} ({x},{y}) injection"] = injected[:, e].tolist()
                    out["ports"][f"{name} ({x},{y}) ejection"] = ports[:, node, port].tolist()
        if self.dram_cycle:
            burst = dram_timing_cycles(self.cfg)["tBURST"]
            for ch in range(self.cfg.dram.channels):
                out["dram"][f"ch{ch}"] = (rdwr[:, ch] * burst).tolist()
        return out

    @property
    def extra(self) -> dict:
        from .stats import memsys_extra

        self._sync()
        return memsys_extra(self)


def uses_engine(cfg) -> bool:
    """Whether the config's memory system is this cycle-level one (a cycle-level NoC or
    DRAM), whose engine the run calls."""
    return not (cfg.noc.model == "ideal" and cfg.dram.model == "ideal")


def make_memory_system(cfg) -> MemorySystem:
    """The memory system the config asks for: the ideal one when both parts are ideal, else
    this cycle-level one (here, not in memsys.py, so that memsys never imports this module)."""
    return CycleMemorySystem(cfg) if uses_engine(cfg) else IdealMemorySystem(cfg)
