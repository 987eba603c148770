"""Cycle-level 2-D mesh network-on-chip (``docs/microarchitecture.md`` section 6).

BookSim2's input-queued virtual-channel router: XY routing, then VC allocation (once per
packet, at the head flit), switch allocation and switch traversal, each a stage with its own
delay and its own FIFO of pending work (6.3); separable iSLIP allocators (6.4); credit-based
flow control per VC with the credit delay apart from the channel latency; injection and
ejection channels between each network interface (NI) and its router (6.2, 6.5).

The state lives in numpy arrays (:class:`NocState`) and is stepped one cycle at a time by
:func:`ni_cycle`, then :func:`router_cycle` and :func:`router_wake` per router due (numba);
:mod:`neurosim.memsys.cycle` drives them together with the DRAM model and does the
bookkeeping (messages, handles, multicast forwarding). Endpoints (network
interfaces) are numbered ``2*node`` (the core, router port 0) and ``2*node + 1`` (the DRAM
controller, router port 5).

Implementation notes (they do not change the semantics of section 6):

- A channel is a FIFO of (receive cycle, item) per receiving port; the receiver takes the
  items due. A credit is stamped with the cycle its router (or NI) may use it (receive +
  credit delay); it is taken in the first cycle the router is evaluated at or after that
  stamp, which is the same since credits are only looked at by a switch allocation (or an
  injection) of an evaluated cycle, after the cycle's credits are taken.
- Routers and NIs are evaluated only in the cycles in which they can do something
  (``RS_WAKE``, ``ep_wake``: the earliest flit or credit arrival that matters, stage start or
  completion, flit to send or inject); any other cycle would only take credits early. So a
  router whose flits all wait for credits (or a free output VC) sleeps until one arrives,
  and an empty router sleeps (wake INF) until a flit is sent to it: a credit to it leaves
  its wake alone and is taken at that evaluation.
- A stage queue holds input VCs (``input * V + vc``); its started entries form a prefix
  (they all complete in the same cycle), so "started" is one count per queue.
- A flit is encoded as ``packet << 5 | index`` (at most 17 flits per packet).
"""
from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

import numpy as np

from ..jit import njit
from . import topology
from .topology import NPORTS, PORT_CORE, PORT_DRAM, Mesh

OPPOSITE = np.array(topology.OPPOSITE, dtype=np.int64)  # input port a link enters by
FLIT_SHIFT = 5
FLIT_MASK = (1 << FLIT_SHIFT) - 1
INF_CYCLE = 1 << 62

# Input VC states (spec 6.3)
VC_IDLE, VC_ROUTING, VC_VC_ALLOC, VC_ACTIVE = range(4)
# Stage queues of a router, in the order the spec starts and completes them
STAGE_RT, STAGE_VA, STAGE_SA = range(3)

# Columns of ``NocState.rs[R, NRS]``, a router's control scalars (a FIFO's head and count,
# a stage's progress, allocator pointers), by port (NPORTS columns from the one named) or by
# stage (3). One row per router rather than ~20 arrays: the kernels are inlined into one
# big function (``cycle.engine_run``), where each array is a base pointer and shape to keep
# live (register pressure, spills), and a router's scalars then share cache lines.
RS_CH_HEAD = 0                          # channel into input port i: FIFO head, count
RS_CH_CNT = RS_CH_HEAD + NPORTS
RS_CR_HEAD = RS_CH_CNT + NPORTS         # credit channel into output port o: head, count
RS_CR_CNT = RS_CR_HEAD + NPORTS
RS_SQ_HEAD = RS_CR_CNT + NPORTS         # stage queue s: head, count, started entries,
RS_SQ_CNT = RS_SQ_HEAD + 3              # cycle the started ones complete
RS_SQ_STARTED = RS_SQ_CNT + 3
RS_SQ_DONE = RS_SQ_STARTED + 3
RS_XQ_HEAD = RS_SQ_DONE + 3             # switch traversal queue: the same
RS_XQ_CNT = RS_XQ_HEAD + 1
RS_XQ_STARTED = RS_XQ_CNT + 1
RS_XQ_DONE = RS_XQ_STARTED + 1
RS_OQ_HEAD = RS_XQ_DONE + 1             # output queue o: head, count
RS_OQ_CNT = RS_OQ_HEAD + NPORTS
RS_SW_PTR = RS_OQ_CNT + NPORTS          # switch round-robin pointer per input
RS_SA_GPTR = RS_SW_PTR + NPORTS         # iSLIP grant / accept pointers of the switch
RS_SA_APTR = RS_SA_GPTR + NPORTS        # allocator per output / input
RS_NLOAD = RS_SA_APTR + NPORTS          # flits in the input channels, buffers, traversal
#                                         and output queues
RS_WAKE = RS_NLOAD + 1                  # earliest cycle the router can do anything (a flit
#                                         due from a channel, a stage to start or complete,
#                                         a flit to send); not before it is evaluated
NRS = RS_WAKE + 1

# Fields of ``NocState.vs[R, 6, V, NVS]``, the state of a router's VCs (likewise together, as
# ``rs``): of input VC (r, i, v), its FIFO's head and count, state, routed output port and
# output VC; of output VC (r, o, w), the input VC owning it (input * V + vc, -1: free) and
# its credits
VS_BUF_HEAD, VS_BUF_CNT, VS_STATE, VS_OUT, VS_OUTVC, VS_OWNER, VS_CREDITS = range(7)
NVS = 7

# Fields of ``NocState.par``
PAR_NAMES = ("routing_delay", "vc_alloc_delay", "sw_alloc_delay", "crossbar_delay",
             "link_delay", "credit_delay", "injection_delay", "ejection_delay",
             "buffer_flits", "vcs", "cols", "rows", "alloc_iters")
(PAR_RT, PAR_VA, PAR_SA, PAR_ST, PAR_LINK, PAR_CREDIT, PAR_INJ, PAR_EJ, PAR_B, PAR_V,
 PAR_COLS, PAR_ROWS, PAR_ITERS) = range(len(PAR_NAMES))

# Per-packet table, shared with cycle.py (which appends rows). Row ``p - pb`` holds
# packet ``p``: the rows of delivered packets may be retired (``pb``, the id of row 0, is an
# argument of the kernels that read the table). Only ``inject``,
# ``eject``, ``next`` and (for packets enqueued by the model itself) ``time`` are written by
# the kernels.
Packets = namedtuple("Packets", [
    "src_ep",   # endpoint that injects it
    "dst_ep",   # endpoint that ejects it
    "flits",    # head + body flits
    "time",     # cycle it is enqueued at its source NI
    "inject",   # cycle its head flit was injected
    "eject",    # cycle its tail flit was received by the destination NI
    "next",     # next packet in the same NI queue (valid only while it is not the tail)
    "handle",   # handle whose part completes when it is ejected (-1: none)
    "req",      # DRAM request it carries (-1: none)
    "fwd",      # multicast: packet to enqueue at its destination NI once ejected (-1: none)
    "kind",     # message kind index (statistics)
])

NocState = namedtuple("NocState", [
    "par",        # PAR_NAMES
    "neigh",      # [R, 6] router behind each port (-1: none)
    "route",      # [R, E] output port at each router towards each endpoint (XY routing)
    "vc_port", "vc_index",  # [6V] port and VC of a VC numbered ``port * V + vc``
    # input VCs [R, 6, V, B]: FIFO
    "buf_flit", "buf_arr",
    "vs",         # [R, 6, V, NVS] per input VC and per output VC (VS_*)
    "rs",         # [R, NRS] control scalars (RS_*: FIFO heads and counts, stages, pointers)
    # channels into a router's input ports [R, 6, K]: receive cycle, flit, VC; FIFO
    "ch_time", "ch_flit", "ch_vc",
    # credit channels into a router's output ports [R, 6, K]: usable cycle, VC; FIFO
    "cr_time", "cr_vc",
    # stage queues [R, 3, 6V] (route, VC allocation, switch allocation): input VCs, result
    "sq", "sq_res",
    # switch traversal queue [R, K]: flit, output port, output VC; FIFO
    "xq_flit", "xq_out", "xq_vc",
    # output queues [R, 6, K]: flit, output VC
    "oq_flit", "oq_vc",
    # iSLIP grant / accept pointers of the VC allocator [R, 6V]
    "va_gptr", "va_aptr",
    # network interfaces [E]: packet queue, flits sent of the head packet, its VC, last VC
    # taken; per injection VC [E, V]: owned by a packet, credits
    "ep_head", "ep_tail", "ep_sent", "ep_vc", "ep_last", "ep_own", "ep_cred",
    "ep_wake",    # [E] earliest cycle the NI can do anything (as RS_WAKE for routers)
    "ecr_time", "ecr_vc", "ecr_head", "ecr_cnt",           # credits to the NI [E, K]
    "ej_time", "ej_flit", "ej_vc", "ej_head", "ej_cnt",    # ejection channel [E, K]
    "ej_pkts",    # packets whose tail was received by their NI in the current cycle
    # allocator scratch: requests [6V, 6V], request counts, grants, matches
    "a_req", "a_nin", "a_nout", "a_grant", "a_inm", "a_outm",
    "sc",         # [0] ejections this cycle, [1] non-empty NI queues, [2] flits in the network
    # statistics
    "st_port",    # [R, 6] flits sent through each output port (links and ejection)
    "st_router",  # [R] flits switched
    "st_busy",    # [R] cycles with at least one flit switched
    "st_occ",     # [R, 6] sum over flits of cycles spent in that input buffer
    "st_inj", "st_ej",  # [E] flits injected / ejected per endpoint
])


def noc_params(cfg) -> dict:
    """The router parameters of ``cfg`` by ``PAR_NAMES`` (spec 6.1)."""
    n = cfg.noc
    return {"routing_delay": n.routing_delay, "vc_alloc_delay": n.vc_alloc_delay,
            "sw_alloc_delay": n.sw_alloc_delay,
            "crossbar_delay": n.st_prepare_delay + n.st_final_delay,
            "link_delay": n.link_delay, "credit_delay": n.credit_delay,
            "injection_delay": n.injection_delay, "ejection_delay": n.ejection_delay,
            "buffer_flits": n.buffer_flits, "vcs": n.vcs,
            "cols": cfg.chip.mesh.cols, "rows": cfg.chip.mesh.rows,
            "alloc_iters": n.alloc_iters}


def hop_cycles(cfg) -> int:
    """Cycles a head flit spends per hop in an idle network: the router stages from its
    arrival to its departure, plus the link (spec 6.6)."""
    p = noc_params(cfg)
    return (p["routing_delay"] + p["vc_alloc_delay"] + p["sw_alloc_delay"]
            + p["crossbar_delay"] + p["link_delay"])


def zero_load_latency(cfg, hops, flits):
    """Spec 6.6: cycles from enqueue at the source NI to the tail's arrival at the
    destination NI, in an idle network, for ``flits <= noc.buffer_flits``."""
    p = noc_params(cfg)
    router = (p["routing_delay"] + p["vc_alloc_delay"] + p["sw_alloc_delay"]
              + p["crossbar_delay"] - 1)
    return ((1 + p["injection_delay"]) + (hops + 1) * router
            + hops * (1 + p["link_delay"]) + (1 + p["ejection_delay"]) + (flits - 1))


def make_noc_state(cfg) -> NocState:
    p = noc_params(cfg)
    cols, rows = p["cols"], p["rows"]
    R, V, B = cols * rows, p["vcs"], p["buffer_flits"]
    E = 2 * R
    neigh = np.full((R, NPORTS), -1, np.int64)
    for r, o, d in Mesh(cols, rows).links():
        neigh[r, o] = d
    kc = max(p["link_delay"], p["injection_delay"]) + 2    # flits on a channel
    kr = V * B + 2                                         # credits outstanding
    ke = p["ejection_delay"] + 2
    kx = NPORTS * (p["crossbar_delay"] + 1)
    ko = 2 * p["crossbar_delay"] + 2
    QN = NPORTS * V

    def z(*shape, fill=0):
        return np.full(shape, fill, np.int64)
    vs = z(R, NPORTS, V, NVS)
    vs[..., VS_OUT] = vs[..., VS_OUTVC] = vs[..., VS_OWNER] = -1
    vs[..., VS_CREDITS] = B
    return NocState(
        par=np.array([p[k] for k in PAR_NAMES], np.int64), neigh=neigh,
        route=_route_table(cols, rows).copy(),
        vc_port=np.arange(QN, dtype=np.int64) // V, vc_index=np.arange(QN, dtype=np.int64) % V,
        buf_flit=z(R, NPORTS, V, B), buf_arr=z(R, NPORTS, V, B), vs=vs,
        rs=z(R, NRS),
        ch_time=z(R, NPORTS, kc), ch_flit=z(R, NPORTS, kc), ch_vc=z(R, NPORTS, kc),
        cr_time=z(R, NPORTS, kr), cr_vc=z(R, NPORTS, kr),
        sq=z(R, 3, QN), sq_res=z(R, 3, QN),
        xq_flit=z(R, kx), xq_out=z(R, kx), xq_vc=z(R, kx),
        oq_flit=z(R, NPORTS, ko), oq_vc=z(R, NPORTS, ko),
        va_gptr=z(R, QN), va_aptr=z(R, QN),
        ep_head=z(E, fill=-1), ep_tail=z(E, fill=-1), ep_sent=z(E), ep_vc=z(E),
        ep_last=z(E, fill=-1), ep_own=z(E, V), ep_cred=z(E, V, fill=B), ep_wake=z(E),
        ecr_time=z(E, kr), ecr_vc=z(E, kr), ecr_head=z(E), ecr_cnt=z(E),
        ej_time=z(E, ke), ej_flit=z(E, ke), ej_vc=z(E, ke), ej_head=z(E), ej_cnt=z(E),
        ej_pkts=z(E),
        a_req=z(QN, QN, fill=-1), a_nin=z(QN), a_nout=z(QN), a_grant=z(QN), a_inm=z(QN),
        a_outm=z(QN),
        sc=z(3),
        st_port=z(R, NPORTS), st_router=z(R), st_busy=z(R), st_occ=z(R, NPORTS),
        st_inj=z(E), st_ej=z(E),
    )


@lru_cache(maxsize=16)
def _route_table(cols: int, rows: int) -> np.ndarray:
    """XY routing (spec 6.1, :meth:`Mesh.next_port`): the output port at every router
    towards every endpoint of a cols x rows mesh, the endpoint's own port (0 or 5) at its
    router. The kernels route by this table (built once per shape)."""
    mesh = Mesh(cols, rows)

    def port(r, e):
        o = mesh.next_port(r, e >> 1)
        return o if o >= 0 else PORT_DRAM if e & 1 else PORT_CORE
    return np.array([[port(r, e) for e in range(2 * mesh.nodes)] for r in range(mesh.nodes)],
                    np.int64)


# The live (mutable) arrays: what a snapshot must copy to roll the network back.
NOC_LIVE = tuple(f for f in NocState._fields
                 if f not in ("par", "neigh", "route", "vc_port", "vc_index"))


def endpoint(node: int, port: int) -> int:
    """Endpoint id of (node, router port): the core (port 0) or the DRAM controller (5)."""
    if port not in (PORT_CORE, PORT_DRAM):
        raise ValueError(f"endpoints sit on router port 0 or 5, not {port}")
    return 2 * node + (1 if port == PORT_DRAM else 0)


# --------------------------------------------------------------------------- kernels

# The kernels allocate nothing and are compiled without numba's reference counting
# (``_nrt=False``): with it, numba puts atomic reference-count operations on the state
# arrays into the hot loops (wherever a short-circuit ``and``/``or`` or a helper call touches
# them), which cost about 10x the simulation itself.

# What they are written like keeps their compilation short (docs/performance.md, "Compile
# time"): a kernel binds the state arrays it reads to locals once (``x = N.x``: every
# ``N.x`` on a namedtuple of ~80 arrays lowers to a load of the whole tuple); small helpers
# take the few arrays they use and are plain calls, which LLVM inlines (``inline="always"``
# makes numba copy the callee's IR, with all its variables, per call site); helpers only
# called from kernels have no CPython wrapper (``no_cpython_wrapper``: unboxing a tuple of
# arrays costs compilation per function). A literal argument compiles a helper once more
# per value (``islip`` is compiled for the VC allocator's ``QV`` and for the switch
# allocator's literal ``NPORTS``: kept, its loops over 6 ports then unroll: 7.2 us/cycle on
# bench_kernels' uniform 0.30 row, 7.5 with ``np.int64(NPORTS)``).


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _ring(j, k):
    """``j mod k`` for ``0 <= j < 2k`` (ring-buffer positions), without a division."""
    return j - k if j >= k else j


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def islip(req, nin, nout, n, m, gptr, aptr, goff, aoff, grant, inm, outm, iters):
    """Spec 6.4: iSLIP on the requests ``req[0:n, 0:m] >= 0`` (``nin``/``nout``: request
    counts per requester / resource; the pointers are ``gptr[goff:goff + m]`` and
    ``aptr[aoff:aoff + n]``); leaves the match in ``inm[0:n]`` / ``outm[0:m]``."""
    for k in range(n):
        inm[k] = -1
    for k in range(m):
        outm[k] = -1
    # no two requests share a requester or a resource: every request is granted and
    # accepted in the first iteration (the result and pointer moves of the loop below)
    simple = True
    for k in range(n):
        if nin[k] > 1:
            simple = False
            break
    if simple:
        for o in range(m):
            if nout[o] > 1:
                simple = False
                break
    if simple:
        for o in range(m):
            if nout[o] == 0:
                continue
            for i in range(n):
                if req[i, o] >= 0:
                    inm[i] = o
                    outm[o] = i
                    gptr[goff + o] = _ring(i + 1, n)
                    aptr[aoff + i] = _ring(o + 1, m)
                    break
        return
    for it in range(iters):
        for o in range(m):
            grant[o] = -1
            if outm[o] >= 0 or nout[o] == 0:
                continue
            for k in range(n):
                i = _ring(gptr[goff + o] + k, n)
                if req[i, o] >= 0 and inm[i] < 0:
                    grant[o] = i
                    break
        for i in range(n):
            if nin[i] == 0 or inm[i] >= 0:
                continue
            for k in range(m):
                o = _ring(aptr[aoff + i] + k, m)
                if grant[o] == i:
                    inm[i] = o
                    outm[o] = i
                    if it == 0:
                        gptr[goff + o] = _ring(i + 1, n)
                        aptr[aoff + i] = _ring(o + 1, m)
                    break


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _flit_to(ch_time, ch_flit, ch_vc, rs, d, i, t, f, w):
    """Send flit f in VC w on the channel into input port i of router d, received at t."""
    KC = ch_time.shape[2]
    k = _ring(rs[d, RS_CH_HEAD + i] + rs[d, RS_CH_CNT + i], KC)
    ch_time[d, i, k] = t
    ch_flit[d, i, k] = f
    ch_vc[d, i, k] = w
    rs[d, RS_CH_CNT + i] += 1
    rs[d, RS_NLOAD] += 1
    if t < rs[d, RS_WAKE]:
        rs[d, RS_WAKE] = t


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _credit_to(cr_time, cr_vc, rs, u, o, t, w):
    """Send a credit for VC w to output port o of router u, usable from cycle t."""
    KRR = cr_time.shape[2]
    k = _ring(rs[u, RS_CR_HEAD + o] + rs[u, RS_CR_CNT + o], KRR)
    cr_time[u, o, k] = t
    cr_vc[u, o, k] = w
    rs[u, RS_CR_CNT + o] += 1
    if t < rs[u, RS_WAKE] and rs[u, RS_NLOAD] > 0:   # (an empty router takes it later)
        rs[u, RS_WAKE] = t


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _sq_push(sq, rs, r, s, e):
    """Append input VC e to stage queue s of router r."""
    QN = sq.shape[2]
    sq[r, s, _ring(rs[r, RS_SQ_HEAD + s] + rs[r, RS_SQ_CNT + s], QN)] = e
    rs[r, RS_SQ_CNT + s] += 1


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def _head_arrives(par, route, dst_ep, vs, sq, rs, r, i, v, f, pb):
    """A head flit is at the front of idle input VC (r, i, v): it enters routing, or (with
    lookahead routing, routing_delay 0) VC allocation with its route (spec 6.3)."""
    V = par[PAR_V]
    if par[PAR_RT] > 0:
        vs[r, i, v, VS_STATE] = VC_ROUTING
        _sq_push(sq, rs, r, STAGE_RT, i * V + v)
    else:
        vs[r, i, v, VS_OUT] = route[r, dst_ep[(f >> 5) - pb]]
        vs[r, i, v, VS_STATE] = VC_VC_ALLOC
        _sq_push(sq, rs, r, STAGE_VA, i * V + v)


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def noc_enqueue(next_packet, ep_head, ep_tail, ep_wake, sc, e, p, pb):
    """Append packet p to the queue of NI endpoint e (``next_packet`` is ``Packets.next``,
    the others the ``NocState`` arrays of the same names)."""
    next_packet[p - pb] = -1
    ep_wake[e] = 0
    if ep_head[e] < 0:
        ep_head[e] = p
        ep_tail[e] = p
        sc[1] += 1
    else:
        next_packet[ep_tail[e] - pb] = p
        ep_tail[e] = p


@njit(cache=True, _nrt=False, no_cpython_wrapper=True)
def noc_busy(sc):
    """Anything queued at an NI or in the network (``sc`` is ``NocState.sc``)."""
    return sc[1] > 0 or sc[2] > 0


@njit(cache=True, _nrt=False, inline="always")
def ni_cycle(P, N, c, pb):
    """Spec 6.5: the NIs' part of cycle c -- receive ejected flits and credits, inject; the
    first part of the network's cycle (spec 6.2), then :func:`router_cycle` and
    :func:`router_wake` for every router whose wake (``rs[r, RS_WAKE]``) is due. The packets
    whose tail reached their NI are left in ``N.ej_pkts[:N.sc[0]]``."""
    sc = N.sc
    sc[0] = 0
    if sc[1] == 0 and sc[2] == 0:     # nothing queued at an NI nor in the network
        return
    par = N.par
    rs = N.rs
    ep_head = N.ep_head
    ej_time = N.ej_time
    ecr_time = N.ecr_time
    ep_wake = N.ep_wake
    cr_time = N.cr_time
    cr_vc = N.cr_vc
    ej_cnt = N.ej_cnt
    ej_head = N.ej_head
    ej_flit = N.ej_flit
    ej_vc = N.ej_vc
    st_ej = N.st_ej
    flits = P.flits
    eject = P.eject
    ej_pkts = N.ej_pkts
    ecr_cnt = N.ecr_cnt
    ecr_head = N.ecr_head
    ep_cred = N.ep_cred
    ecr_vc = N.ecr_vc
    ED = par[PAR_EJ]
    CD = par[PAR_CREDIT]
    E = ep_head.shape[0]
    KE = ej_time.shape[1]
    KR = ecr_time.shape[1]
    for e in range(E):
        if ep_wake[e] > c:
            continue
        r = e >> 1
        port = 5 if (e & 1) else 0
        # ejection channel
        while ej_cnt[e] > 0 and ej_time[e, ej_head[e]] <= c:
            h = ej_head[e]
            f = ej_flit[e, h]
            w = ej_vc[e, h]
            ej_head[e] = _ring(h + 1, KE)
            ej_cnt[e] -= 1
            sc[2] -= 1
            st_ej[e] += 1
            p = f >> 5
            if (f & 31) == flits[p - pb] - 1:
                eject[p - pb] = c
                ej_pkts[sc[0]] = p
                sc[0] += 1
            # its credit goes back to the router's ejection port
            _credit_to(cr_time, cr_vc, rs, r, port, c + 1 + ED + CD, w)
        # credits from the router's injection port
        while ecr_cnt[e] > 0 and ecr_time[e, ecr_head[e]] <= c:
            h = ecr_head[e]
            ep_cred[e, ecr_vc[e, h]] += 1
            ecr_head[e] = _ring(h + 1, KR)
            ecr_cnt[e] -= 1
        # injection: the next flit of the packet at the head of the queue
        if ep_head[e] >= 0:
            _ni_inject(P, N, e, r, port, c, pb)
        ep_wake[e] = _ni_wake(N, e, c)


@njit(cache=True, _nrt=False, inline="always")
def _ni_inject(P, N, e, r, port, c, pb):
    """Spec 6.5: NI e injects the next flit of the packet at the head of its queue, if it
    can (a free injection VC with a credit for a head flit, a credit on its VC otherwise)."""
    par = N.par
    rs = N.rs
    ep_head = N.ep_head
    ep_sent = N.ep_sent
    ep_last = N.ep_last
    ep_own = N.ep_own
    ep_cred = N.ep_cred
    ep_vc = N.ep_vc
    inject = P.inject
    sc = N.sc
    st_inj = N.st_inj
    flits = P.flits
    ep_tail = N.ep_tail
    next_packet = P.next
    ch_time = N.ch_time
    ch_flit = N.ch_flit
    ch_vc = N.ch_vc
    V = par[PAR_V]
    ID = par[PAR_INJ]
    p = ep_head[e]
    s = ep_sent[e]
    if s == 0:
        last = ep_last[e]
        v = -1
        for k in range(1, V + 1):
            w = 0 if last < 0 else _ring(last + k, V)
            if ep_own[e, w] == 0 and ep_cred[e, w] > 0:
                v = w
                break
        if v < 0:
            return
        ep_own[e, v] = 1
        ep_last[e] = v
        ep_vc[e] = v
        inject[p - pb] = c
    else:
        v = ep_vc[e]
        if ep_cred[e, v] <= 0:
            return
    ep_cred[e, v] -= 1
    _flit_to(ch_time, ch_flit, ch_vc, rs, r, port, c + 1 + ID,
             (p << 5) | s, v)
    sc[2] += 1
    st_inj[e] += 1
    s += 1
    if s == flits[p - pb]:
        ep_own[e, v] = 0
        s = 0
        if p == ep_tail[e]:
            ep_head[e] = -1
            ep_tail[e] = -1
            sc[1] -= 1
        else:
            ep_head[e] = next_packet[p - pb]
    ep_sent[e] = s


@njit(cache=True, _nrt=False, inline="always")
def _ni_wake(N, e, c):
    """After NI e's cycle c: a cycle no later than the next one in which it does anything --
    receives an ejected flit, or injects (the next cycle if it can, else when the next
    credit arrives: a blocked injection changes nothing)."""
    ej_cnt = N.ej_cnt
    ej_time = N.ej_time
    ej_head = N.ej_head
    ep_head = N.ep_head
    ep_sent = N.ep_sent
    ep_cred = N.ep_cred
    ep_vc = N.ep_vc
    par = N.par
    ep_own = N.ep_own
    ecr_cnt = N.ecr_cnt
    ecr_time = N.ecr_time
    ecr_head = N.ecr_head
    nxt = INF_CYCLE
    if ej_cnt[e] > 0:
        nxt = ej_time[e, ej_head[e]]
    if ep_head[e] >= 0:
        if ep_sent[e] > 0:
            if ep_cred[e, ep_vc[e]] > 0:
                return c + 1
        else:
            for w in range(par[PAR_V]):
                if ep_own[e, w] == 0 and ep_cred[e, w] > 0:
                    return c + 1
        if ecr_cnt[e] > 0 and ecr_time[e, ecr_head[e]] < nxt:
            nxt = ecr_time[e, ecr_head[e]]
    return nxt if nxt > c else c + 1


@njit(cache=True, _nrt=False, inline="always")
def router_cycle(P, N, r, c, pb):
    """Spec 6.3: router r in cycle c -- receive, start stages, complete stages, send. Called
    (after :func:`ni_cycle`) for each router whose wake is due (INF once it is empty: see
    _credit_to); the caller then sets its next wake, ``rs[r, RS_WAKE] = router_wake(N, r,
    c)`` (a call of its own, not one inlined here: cycle.engine_run)."""
    par = N.par
    rs = N.rs
    vs = N.vs
    sq = N.sq
    ch_time = N.ch_time
    cr_time = N.cr_time
    xq_flit = N.xq_flit
    oq_flit = N.oq_flit
    ch_flit = N.ch_flit
    ch_vc = N.ch_vc
    buf_flit = N.buf_flit
    buf_arr = N.buf_arr
    cr_vc = N.cr_vc
    vc_port = N.vc_port
    vc_index = N.vc_index
    sq_res = N.sq_res
    va_gptr = N.va_gptr
    va_aptr = N.va_aptr
    a_nin = N.a_nin
    a_nout = N.a_nout
    a_req = N.a_req
    a_grant = N.a_grant
    a_inm = N.a_inm
    a_outm = N.a_outm
    route = N.route
    dst_ep = P.dst_ep
    st_occ = N.st_occ
    st_router = N.st_router
    flits = P.flits
    ecr_head = N.ecr_head
    ecr_cnt = N.ecr_cnt
    ecr_time = N.ecr_time
    ecr_vc = N.ecr_vc
    ep_wake = N.ep_wake
    neigh = N.neigh
    xq_out = N.xq_out
    xq_vc = N.xq_vc
    st_busy = N.st_busy
    oq_vc = N.oq_vc
    st_port = N.st_port
    ej_time = N.ej_time
    ej_head = N.ej_head
    ej_cnt = N.ej_cnt
    ej_flit = N.ej_flit
    ej_vc = N.ej_vc
    V = par[PAR_V]
    B = par[PAR_B]
    QN = sq.shape[2]
    KC = ch_time.shape[2]
    KRR = cr_time.shape[2]
    KX = xq_flit.shape[1]
    KO = oq_flit.shape[2]
    # ---- 1. receive flits (by input port) and credits
    for i in range(NPORTS):
        while rs[r, RS_CH_CNT + i] > 0 and ch_time[r, i, rs[r, RS_CH_HEAD + i]] <= c:
            h = rs[r, RS_CH_HEAD + i]
            f = ch_flit[r, i, h]
            v = ch_vc[r, i, h]
            rs[r, RS_CH_HEAD + i] = _ring(h + 1, KC)
            rs[r, RS_CH_CNT + i] -= 1
            pos = _ring(vs[r, i, v, VS_BUF_HEAD] + vs[r, i, v, VS_BUF_CNT], B)
            buf_flit[r, i, v, pos] = f
            buf_arr[r, i, v, pos] = c
            vs[r, i, v, VS_BUF_CNT] += 1
            st = vs[r, i, v, VS_STATE]
            if st == VC_IDLE:
                _head_arrives(par, route, dst_ep, vs, sq, rs,
                              r, i, v, f, pb)
            elif st == VC_ACTIVE and vs[r, i, v, VS_BUF_CNT] == 1:
                _sq_push(sq, rs, r, STAGE_SA, i * V + v)
    for o in range(NPORTS):
        while rs[r, RS_CR_CNT + o] > 0 and cr_time[r, o, rs[r, RS_CR_HEAD + o]] <= c:
            h = rs[r, RS_CR_HEAD + o]
            vs[r, o, cr_vc[r, o, h], VS_CREDITS] += 1
            rs[r, RS_CR_HEAD + o] = _ring(h + 1, KRR)
            rs[r, RS_CR_CNT + o] -= 1

    # ---- 2. start the stages whose queue has no started entry
    # routing
    if rs[r, RS_SQ_STARTED + STAGE_RT] == 0 and rs[r, RS_SQ_CNT + STAGE_RT] > 0:
        rs[r, RS_SQ_STARTED + STAGE_RT] = rs[r, RS_SQ_CNT + STAGE_RT]
        rs[r, RS_SQ_DONE + STAGE_RT] = c + par[PAR_RT] - 1
    # VC allocation
    n_va = rs[r, RS_SQ_CNT + STAGE_VA]
    single = False
    if rs[r, RS_SQ_STARTED + STAGE_VA] == 0 and n_va == 1:
        # one requester asking for at most one output VC: the request, if any, is granted
        # and accepted with the pointer moves of iSLIP's first iteration (as islip does)
        h0 = rs[r, RS_SQ_HEAD + STAGE_VA]
        e = sq[r, STAGE_VA, h0]
        o = vs[r, vc_port[e], vc_index[e], VS_OUT]
        free = -1
        nfree = 0
        for w in range(V):
            if vs[r, o, w, VS_OWNER] < 0:
                nfree += 1
                free = w
        if nfree <= 1:
            single = True
            QV = NPORTS * V
            if nfree == 1:
                g = o * V + free
                sq_res[r, STAGE_VA, h0] = g
                va_gptr[r, g] = _ring(e + 1, QV)
                va_aptr[r, e] = _ring(g + 1, QV)
            else:
                sq_res[r, STAGE_VA, h0] = -1
            rs[r, RS_SQ_STARTED + STAGE_VA] = 1
            rs[r, RS_SQ_DONE + STAGE_VA] = c + par[PAR_VA] - 1
    if not single and rs[r, RS_SQ_STARTED + STAGE_VA] == 0 and n_va > 0:
        QV = NPORTS * V
        for k in range(QV):
            a_nin[k] = 0
            a_nout[k] = 0
        h0 = rs[r, RS_SQ_HEAD + STAGE_VA]
        for k in range(n_va):
            e = sq[r, STAGE_VA, _ring(h0 + k, QN)]
            o = vs[r, vc_port[e], vc_index[e], VS_OUT]
            for w in range(V):
                if vs[r, o, w, VS_OWNER] < 0:
                    a_req[e, o * V + w] = 1
                    a_nin[e] += 1
                    a_nout[o * V + w] += 1
        islip(a_req, a_nin, a_nout, QV, QV, va_gptr[r], va_aptr[r], 0, 0, a_grant,
              a_inm, a_outm, par[PAR_ITERS])
        for k in range(n_va):
            j = _ring(h0 + k, QN)
            e = sq[r, STAGE_VA, j]
            sq_res[r, STAGE_VA, j] = a_inm[e]
            o = vs[r, vc_port[e], vc_index[e], VS_OUT]
            for w in range(V):
                a_req[e, o * V + w] = -1
        rs[r, RS_SQ_STARTED + STAGE_VA] = n_va
        rs[r, RS_SQ_DONE + STAGE_VA] = c + par[PAR_VA] - 1
    # switch allocation
    n_sa = rs[r, RS_SQ_CNT + STAGE_SA]
    if rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa == 1:
        # one request at most: as in islip, granted and accepted with the pointer moves
        h0 = rs[r, RS_SQ_HEAD + STAGE_SA]
        e = sq[r, STAGE_SA, h0]
        i = vc_port[e]
        v = vc_index[e]
        o = vs[r, i, v, VS_OUT]
        if vs[r, o, vs[r, i, v, VS_OUTVC], VS_CREDITS] > 0:
            sq_res[r, STAGE_SA, h0] = o
            rs[r, RS_SW_PTR + i] = _ring(v + 1, V)
            rs[r, RS_SA_GPTR + o] = _ring(i + 1, NPORTS)
            rs[r, RS_SA_APTR + i] = _ring(o + 1, NPORTS)
        else:
            sq_res[r, STAGE_SA, h0] = -1
        rs[r, RS_SQ_STARTED + STAGE_SA] = 1
        rs[r, RS_SQ_DONE + STAGE_SA] = c + par[PAR_SA] - 1
    elif rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa > 0:
        for k in range(NPORTS):
            a_nin[k] = 0
            a_nout[k] = 0
        h0 = rs[r, RS_SQ_HEAD + STAGE_SA]
        for k in range(n_sa):
            e = sq[r, STAGE_SA, _ring(h0 + k, QN)]
            i = vc_port[e]
            v = vc_index[e]
            o = vs[r, i, v, VS_OUT]
            if vs[r, o, vs[r, i, v, VS_OUTVC], VS_CREDITS] <= 0:
                continue
            lab = a_req[i, o]
            if lab < 0:
                a_req[i, o] = v
                a_nin[i] += 1
                a_nout[o] += 1
            else:
                ptr = rs[r, RS_SW_PTR + i]
                if _ring(v - ptr + V, V) < _ring(lab - ptr + V, V):
                    a_req[i, o] = v
        islip(a_req, a_nin, a_nout, NPORTS, NPORTS, rs[r], rs[r], RS_SA_GPTR, RS_SA_APTR,
              a_grant, a_inm, a_outm, par[PAR_ITERS])
        for k in range(n_sa):
            j = _ring(h0 + k, QN)
            e = sq[r, STAGE_SA, j]
            i = vc_port[e]
            v = vc_index[e]
            m = a_inm[i]
            if m >= 0 and a_req[i, m] == v:
                sq_res[r, STAGE_SA, j] = m
                rs[r, RS_SW_PTR + i] = _ring(v + 1, V)
            else:
                sq_res[r, STAGE_SA, j] = -1
        for k in range(n_sa):
            e = sq[r, STAGE_SA, _ring(h0 + k, QN)]
            i = vc_port[e]
            a_req[i, vs[r, i, vc_index[e], VS_OUT]] = -1
        rs[r, RS_SQ_STARTED + STAGE_SA] = n_sa
        rs[r, RS_SQ_DONE + STAGE_SA] = c + par[PAR_SA] - 1
    # switch traversal
    if rs[r, RS_XQ_STARTED] == 0 and rs[r, RS_XQ_CNT] > 0:
        rs[r, RS_XQ_STARTED] = rs[r, RS_XQ_CNT]
        rs[r, RS_XQ_DONE] = c + par[PAR_ST] - 1

    # ---- 3. complete the stages whose started entries are done now
    n = rs[r, RS_SQ_STARTED + STAGE_RT]
    if n > 0 and rs[r, RS_SQ_DONE + STAGE_RT] == c:
        for k in range(n):
            h = rs[r, RS_SQ_HEAD + STAGE_RT]
            e = sq[r, STAGE_RT, h]
            rs[r, RS_SQ_HEAD + STAGE_RT] = _ring(h + 1, QN)
            rs[r, RS_SQ_CNT + STAGE_RT] -= 1
            i = vc_port[e]
            v = vc_index[e]
            f = buf_flit[r, i, v, vs[r, i, v, VS_BUF_HEAD]]
            vs[r, i, v, VS_OUT] = route[r, dst_ep[(f >> 5) - pb]]
            vs[r, i, v, VS_STATE] = VC_VC_ALLOC
            _sq_push(sq, rs, r, STAGE_VA, e)
        rs[r, RS_SQ_STARTED + STAGE_RT] = 0
    n = rs[r, RS_SQ_STARTED + STAGE_VA]
    if n > 0 and rs[r, RS_SQ_DONE + STAGE_VA] == c:
        for k in range(n):
            h = rs[r, RS_SQ_HEAD + STAGE_VA]
            e = sq[r, STAGE_VA, h]
            res = sq_res[r, STAGE_VA, h]
            rs[r, RS_SQ_HEAD + STAGE_VA] = _ring(h + 1, QN)
            rs[r, RS_SQ_CNT + STAGE_VA] -= 1
            i = vc_port[e]
            v = vc_index[e]
            if res >= 0:
                vs[r, vc_port[res], vc_index[res], VS_OWNER] = e
                vs[r, i, v, VS_OUTVC] = vc_index[res]
                vs[r, i, v, VS_STATE] = VC_ACTIVE
                _sq_push(sq, rs, r, STAGE_SA, e)
            else:
                _sq_push(sq, rs, r, STAGE_VA, e)
        rs[r, RS_SQ_STARTED + STAGE_VA] = 0
    n = rs[r, RS_SQ_STARTED + STAGE_SA]
    if n > 0 and rs[r, RS_SQ_DONE + STAGE_SA] == c:
        switched = False
        for k in range(n):
            h = rs[r, RS_SQ_HEAD + STAGE_SA]
            e = sq[r, STAGE_SA, h]
            o = sq_res[r, STAGE_SA, h]
            rs[r, RS_SQ_HEAD + STAGE_SA] = _ring(h + 1, QN)
            rs[r, RS_SQ_CNT + STAGE_SA] -= 1
            if o < 0:
                _sq_push(sq, rs, r, STAGE_SA, e)
                continue
            switched = True
            i = vc_port[e]
            v = vc_index[e]
            w = vs[r, i, v, VS_OUTVC]
            bh = vs[r, i, v, VS_BUF_HEAD]
            f = buf_flit[r, i, v, bh]
            st_occ[r, i] += c - buf_arr[r, i, v, bh]
            vs[r, i, v, VS_BUF_HEAD] = _ring(bh + 1, B)
            vs[r, i, v, VS_BUF_CNT] -= 1
            st_router[r] += 1
            tail = (f & 31) == flits[(f >> 5) - pb] - 1
            vs[r, o, w, VS_CREDITS] -= 1
            if tail:
                vs[r, o, w, VS_OWNER] = -1
            # the freed slot's credit goes upstream (to the NI for an injection port)
            if i == 0 or i == 5:
                ep = 2 * r + (1 if i == 5 else 0)
                kk = _ring(ecr_head[ep] + ecr_cnt[ep], ecr_time.shape[1])
                ecr_time[ep, kk] = c + 1 + par[PAR_INJ]
                ecr_vc[ep, kk] = v
                ecr_cnt[ep] += 1
                if ecr_time[ep, kk] < ep_wake[ep]:
                    ep_wake[ep] = ecr_time[ep, kk]
            else:
                _credit_to(cr_time, cr_vc, rs, neigh[r, i], OPPOSITE[i],
                           c + 1 + par[PAR_LINK] + par[PAR_CREDIT], v)
            kx = _ring(rs[r, RS_XQ_HEAD] + rs[r, RS_XQ_CNT], KX)
            xq_flit[r, kx] = f
            xq_out[r, kx] = o
            xq_vc[r, kx] = w
            rs[r, RS_XQ_CNT] += 1
            if vs[r, i, v, VS_BUF_CNT] == 0:
                if tail:
                    vs[r, i, v, VS_STATE] = VC_IDLE
            elif tail:
                _head_arrives(par, route, dst_ep, vs, sq, rs,
                              r, i, v, buf_flit[r, i, v, vs[r, i, v, VS_BUF_HEAD]], pb)
            else:
                _sq_push(sq, rs, r, STAGE_SA, e)
        rs[r, RS_SQ_STARTED + STAGE_SA] = 0
        if switched:
            st_busy[r] += 1
    n = rs[r, RS_XQ_STARTED]
    if n > 0 and rs[r, RS_XQ_DONE] == c:
        for k in range(n):
            h = rs[r, RS_XQ_HEAD]
            o = xq_out[r, h]
            ko = _ring(rs[r, RS_OQ_HEAD + o] + rs[r, RS_OQ_CNT + o], KO)
            oq_flit[r, o, ko] = xq_flit[r, h]
            oq_vc[r, o, ko] = xq_vc[r, h]
            rs[r, RS_OQ_CNT + o] += 1
            rs[r, RS_XQ_HEAD] = _ring(h + 1, KX)
            rs[r, RS_XQ_CNT] -= 1
        rs[r, RS_XQ_STARTED] = 0

    # ---- 4. send: one flit per output port
    for o in range(NPORTS):
        if rs[r, RS_OQ_CNT + o] == 0:
            continue
        h = rs[r, RS_OQ_HEAD + o]
        f = oq_flit[r, o, h]
        w = oq_vc[r, o, h]
        rs[r, RS_OQ_HEAD + o] = _ring(h + 1, KO)
        rs[r, RS_OQ_CNT + o] -= 1
        st_port[r, o] += 1
        rs[r, RS_NLOAD] -= 1
        if o == 0 or o == 5:
            ep = 2 * r + (1 if o == 5 else 0)
            KE = ej_time.shape[1]
            k = _ring(ej_head[ep] + ej_cnt[ep], KE)
            ej_time[ep, k] = c + 1 + par[PAR_EJ]
            ej_flit[ep, k] = f
            ej_vc[ep, k] = w
            ej_cnt[ep] += 1
            if ej_time[ep, k] < ep_wake[ep]:
                ep_wake[ep] = ej_time[ep, k]
        else:
            _flit_to(ch_time, ch_flit, ch_vc, rs, neigh[r, o],
                     OPPOSITE[o], c + 1 + par[PAR_LINK], f, w)


@njit(cache=True, _nrt=False, inline="always")
def router_wake(N, r, c):
    """After router r's cycle c (:func:`router_cycle`): a cycle no later than the next one
    in which it does anything -- receives a flit from a channel, starts or completes a
    stage, sends a flit. (Evaluating it earlier only takes its due credits early, which
    changes nothing: see the notes at the top.) A stage queue with unstarted entries makes
    it the next cycle, except when the stage takes one cycle and none of its entries can
    win it: switch allocation with no credit for any entry's output VC (then the next
    credit arrival at one of their ports) and VC allocation with no free output VC on any
    entry's port (an output VC is freed only by this router switching a tail: it is busy
    then)."""
    par = N.par
    rs = N.rs
    vs = N.vs
    sq = N.sq
    vc_port = N.vc_port
    vc_index = N.vc_index
    cr_time = N.cr_time
    ch_time = N.ch_time
    V = par[PAR_V]
    QN = sq.shape[2]
    nxt = INF_CYCLE
    if rs[r, RS_XQ_CNT] > 0:
        if rs[r, RS_XQ_STARTED] == 0:
            return c + 1
        nxt = rs[r, RS_XQ_DONE]
    for o in range(NPORTS):
        if rs[r, RS_OQ_CNT + o] > 0:
            return c + 1
    n = rs[r, RS_SQ_CNT + STAGE_RT]
    if n > 0:
        if rs[r, RS_SQ_STARTED + STAGE_RT] == 0:
            return c + 1
        if rs[r, RS_SQ_DONE + STAGE_RT] < nxt:
            nxt = rs[r, RS_SQ_DONE + STAGE_RT]
    n = rs[r, RS_SQ_CNT + STAGE_VA]
    if n > 0:
        if rs[r, RS_SQ_STARTED + STAGE_VA] > 0:
            if rs[r, RS_SQ_DONE + STAGE_VA] < nxt:
                nxt = rs[r, RS_SQ_DONE + STAGE_VA]
        elif par[PAR_VA] != 1:
            return c + 1
        else:
            h0 = rs[r, RS_SQ_HEAD + STAGE_VA]
            for k in range(n):
                e = sq[r, STAGE_VA, _ring(h0 + k, QN)]
                o = vs[r, vc_port[e], vc_index[e], VS_OUT]
                for w in range(V):
                    if vs[r, o, w, VS_OWNER] < 0:
                        return c + 1
    n = rs[r, RS_SQ_CNT + STAGE_SA]
    if n > 0:
        if rs[r, RS_SQ_STARTED + STAGE_SA] > 0:
            if rs[r, RS_SQ_DONE + STAGE_SA] < nxt:
                nxt = rs[r, RS_SQ_DONE + STAGE_SA]
        elif par[PAR_SA] != 1:
            return c + 1
        else:
            h0 = rs[r, RS_SQ_HEAD + STAGE_SA]
            for k in range(n):
                e = sq[r, STAGE_SA, _ring(h0 + k, QN)]
                i = vc_port[e]
                v = vc_index[e]
                o = vs[r, i, v, VS_OUT]
                if vs[r, o, vs[r, i, v, VS_OUTVC], VS_CREDITS] > 0:
                    return c + 1
                if rs[r, RS_CR_CNT + o] > 0:
                    t = cr_time[r, o, rs[r, RS_CR_HEAD + o]]
                    if t < nxt:
                        nxt = t
    for i in range(NPORTS):
        if rs[r, RS_CH_CNT + i] > 0:
            t = ch_time[r, i, rs[r, RS_CH_HEAD + i]]
            if t < nxt:
                nxt = t
    return nxt if nxt > c else c + 1
