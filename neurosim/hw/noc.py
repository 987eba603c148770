"""Cycle-level 2-D mesh network-on-chip (``docs/microarchitecture.md`` section 6).

XY dimension-order routing, wormhole switching, ``flit_bits``-wide links, a router pipeline
of ``router_delay`` cycles, ``link_delay``-cycle links, ``vcs`` virtual channels of
``buffer_flits`` flits per input port with credit-based flow control and a separable
(input-first) round-robin switch allocator. One flit per cycle crosses each link, each input
port and each output port.

The state lives in numpy arrays (:class:`NocState`) and is stepped one cycle at a time by
:func:`noc_cycle` (numba); :mod:`neurosim.hw.cycle_memsys` drives it together with the DRAM
model and does the bookkeeping (messages, handles, multicast forwarding). Endpoints (network
interfaces) are numbered ``2*node`` (the core, router port 0) and ``2*node + 1`` (the DRAM
controller, router port 5).

Implementation notes (they do not change the semantics of section 6):

- A flit sent on a link is stored in the downstream input buffer at once, stamped with its
  arrival cycle ``c + link_delay``; it cannot be picked before ``arrival + router_delay``, so
  this is the same as holding it on the wire. Credits guarantee the slot.
- Credit returns are kept per output VC as a FIFO of the cycles they arrive; a credit is
  usable from that cycle on (phase 1 of the spec's cycle).
- A flit is encoded as ``packet << 5 | index`` (at most 17 flits per packet).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

PORT_CORE, PORT_N, PORT_E, PORT_S, PORT_W, PORT_DRAM = range(6)
NPORTS = 6
PORT_NAMES = ("core", "north", "east", "south", "west", "dram")
OPPOSITE = np.array([0, 3, 4, 1, 2, 5], dtype=np.int64)  # input port a link enters by
FLIT_SHIFT = 5
FLIT_MASK = (1 << FLIT_SHIFT) - 1

# Per-packet table, shared with cycle_memsys (which appends rows). Row ``p - pb`` holds
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
    "eject",    # cycle its tail flit was ejected
    "next",     # next packet in the same NI queue (valid only while it is not the tail)
    "handle",   # handle whose part completes when it is ejected (-1: none)
    "req",      # DRAM request it carries (-1: none)
    "fwd",      # multicast: packet to enqueue at its destination NI once ejected (-1: none)
    "kind",     # message kind index (statistics)
])

NocState = namedtuple("NocState", [
    "par",        # [router_delay, link_delay, buffer_flits, vcs, cols, rows]
    "neigh",      # [R, 6] router behind each port (-1: none)
    "buf_flit", "buf_arr", "buf_head", "buf_cnt",     # input VC FIFOs [R, 6, V(, B)]
    "route_o", "route_w",  # output port / VC of the packet at the head of an input VC
    "owner",      # [R, 6, V] packet owning an output VC (ejection ports: VC 0)
    "in_owner",   # [R, 6, V] packet owning an injection-port VC (ports 0 and 5)
    "credits",    # [R, 6, V] credits of an output VC
    "cret", "cret_head", "cret_cnt",  # credit returns in flight (arrival cycles), FIFO
    "in_ptr", "out_ptr",  # round-robin pointers [R, 6]
    "nflits",     # [R] flits in the router's input buffers (including those on the wire)
    "ep_head", "ep_tail", "ep_vc", "ep_sent",  # NI queues [E]
    "ej_pkts",    # packets whose tail was ejected in the current cycle
    "sa_req",     # [3, 6] switch allocation scratch: VC, output port, output VC per input
    "sc",         # [0] ejections this cycle, [1] non-empty NI queues
    # statistics
    "st_port",    # [R, 6] flits sent through each output port (links and ejection)
    "st_router",  # [R] flits switched
    "st_busy",    # [R] cycles with at least one flit switched
    "st_occ",     # [R, 6] sum over flits of cycles spent in that input buffer
    "st_inj", "st_ej",  # [E] flits injected / ejected per endpoint
])


def noc_params(cfg) -> dict:
    n = cfg.noc
    return {"router_delay": n.router_delay, "link_delay": n.link_delay,
            "buffer_flits": n.buffer_flits, "vcs": n.vcs,
            "cols": cfg.chip.mesh.cols, "rows": cfg.chip.mesh.rows}


def make_noc_state(cfg) -> NocState:
    p = noc_params(cfg)
    cols, rows = p["cols"], p["rows"]
    R, V, B = cols * rows, p["vcs"], p["buffer_flits"]
    E = 2 * R
    neigh = np.full((R, NPORTS), -1, np.int64)
    for r in range(R):
        x, y = r % cols, r // cols
        if y > 0:
            neigh[r, PORT_N] = r - cols
        if x < cols - 1:
            neigh[r, PORT_E] = r + 1
        if y < rows - 1:
            neigh[r, PORT_S] = r + cols
        if x > 0:
            neigh[r, PORT_W] = r - 1
    z3 = lambda fill=0: np.full((R, NPORTS, V), fill, np.int64)  # noqa: E731
    return NocState(
        par=np.array([p["router_delay"], p["link_delay"], B, V, cols, rows], np.int64),
        neigh=neigh,
        buf_flit=np.zeros((R, NPORTS, V, B), np.int64),
        buf_arr=np.zeros((R, NPORTS, V, B), np.int64),
        buf_head=z3(), buf_cnt=z3(), route_o=z3(-1), route_w=z3(-1),
        owner=z3(-1), in_owner=z3(-1), credits=z3(B),
        cret=np.zeros((R, NPORTS, V, B), np.int64), cret_head=z3(), cret_cnt=z3(),
        in_ptr=np.zeros((R, NPORTS), np.int64), out_ptr=np.zeros((R, NPORTS), np.int64),
        nflits=np.zeros(R, np.int64),
        ep_head=np.full(E, -1, np.int64), ep_tail=np.full(E, -1, np.int64),
        ep_vc=np.zeros(E, np.int64), ep_sent=np.zeros(E, np.int64),
        ej_pkts=np.zeros(E, np.int64), sa_req=np.zeros((3, NPORTS), np.int64),
        sc=np.zeros(2, np.int64),
        st_port=np.zeros((R, NPORTS), np.int64), st_router=np.zeros(R, np.int64),
        st_busy=np.zeros(R, np.int64), st_occ=np.zeros((R, NPORTS), np.int64),
        st_inj=np.zeros(E, np.int64), st_ej=np.zeros(E, np.int64),
    )


# The live (mutable) arrays: what a snapshot must copy to roll the network back.
NOC_LIVE = ("buf_flit", "buf_arr", "buf_head", "buf_cnt", "route_o", "route_w", "owner",
            "in_owner", "credits", "cret", "cret_head", "cret_cnt", "in_ptr", "out_ptr",
            "nflits", "ep_head", "ep_tail", "ep_vc", "ep_sent", "sc", "st_port", "st_router",
            "st_busy", "st_occ", "st_inj", "st_ej")


def endpoint(node: int, port: int) -> int:
    """Endpoint id of (node, router port): the core (port 0) or the DRAM controller (5)."""
    if port not in (PORT_CORE, PORT_DRAM):
        raise ValueError(f"endpoints sit on router port 0 or 5, not {port}")
    return 2 * node + (1 if port == PORT_DRAM else 0)


def xy_hops(cols: int, a: int, b: int) -> int:
    return abs(a % cols - b % cols) + abs(a // cols - b // cols)


def xy_path(cols: int, a: int, b: int) -> list[tuple[int, int]]:
    """The routers (node, output port) a packet from node a to node b passes, in order;
    the last entry's port is -1 (ejection)."""
    out = []
    r = a
    while True:
        x, y = r % cols, r // cols
        xd, yd = b % cols, b // cols
        if xd > x:
            o, nxt = PORT_E, r + 1
        elif xd < x:
            o, nxt = PORT_W, r - 1
        elif yd > y:
            o, nxt = PORT_S, r + cols
        elif yd < y:
            o, nxt = PORT_N, r - cols
        else:
            out.append((r, -1))
            return out
        out.append((r, o))
        r = nxt


# --------------------------------------------------------------------------- kernels

# The kernels allocate nothing and are compiled without numba's reference counting
# (``_nrt=False``): with it, numba puts atomic reference-count operations on the state
# arrays into the hot loops (wherever a short-circuit ``and``/``or`` or a helper call touches
# them), which cost about 10x the simulation itself.


@njit(cache=True, _nrt=False)
def noc_route(cols, r, dst_ep):
    """XY routing: the output port at router r towards endpoint dst_ep."""
    d = dst_ep >> 1
    x = r % cols
    xd = d % cols
    if xd > x:
        return 2
    if xd < x:
        return 4
    y = r // cols
    yd = d // cols
    if yd > y:
        return 3
    if yd < y:
        return 1
    if dst_ep & 1:
        return 5
    return 0


@njit(cache=True, _nrt=False)
def _push(N, r, i, v, f, t):
    B = N.buf_flit.shape[3]
    pos = (N.buf_head[r, i, v] + N.buf_cnt[r, i, v]) % B
    N.buf_flit[r, i, v, pos] = f
    N.buf_arr[r, i, v, pos] = t
    N.buf_cnt[r, i, v] += 1


@njit(cache=True, _nrt=False)
def _credit(N, r, o, w, c):
    """Credits of output VC (r, o, w) usable in cycle c (collects returns due by c)."""
    n = N.cret_cnt[r, o, w]
    if n > 0:
        B = N.cret.shape[3]
        h = N.cret_head[r, o, w]
        while n > 0 and N.cret[r, o, w, h] <= c:
            h = (h + 1) % B
            n -= 1
            N.credits[r, o, w] += 1
        N.cret_head[r, o, w] = h
        N.cret_cnt[r, o, w] = n
    return N.credits[r, o, w]


@njit(cache=True, _nrt=False)
def noc_enqueue(P, N, e, p, pb):
    """Append packet p to the queue of NI endpoint e."""
    P.next[p - pb] = -1
    if N.ep_head[e] < 0:
        N.ep_head[e] = p
        N.ep_tail[e] = p
        N.sc[1] += 1
    else:
        P.next[N.ep_tail[e] - pb] = p
        N.ep_tail[e] = p


@njit(cache=True, _nrt=False)
def noc_busy(N):
    """Anything queued at an NI or buffered in a router."""
    if N.sc[1] > 0:
        return True
    for r in range(N.nflits.shape[0]):
        if N.nflits[r] > 0:
            return True
    return False


@njit(cache=True, _nrt=False)
def noc_cycle(P, N, c, pb):
    """Phases 2 and 3 of cycle c (phase 1 is implicit, see the module notes). The packets
    whose tail was ejected are left in ``N.ej_pkts[:N.sc[0]]``."""
    rd = N.par[0]
    ld = N.par[1]
    B = N.par[2]
    V = N.par[3]
    cols = N.par[4]
    R = N.nflits.shape[0]
    E = N.ep_head.shape[0]
    N.sc[0] = 0

    # ---- phase 2: injection, one flit per NI
    if N.sc[1] > 0:
        for e in range(E):
            p = N.ep_head[e]
            if p < 0:
                continue
            r = e >> 1
            port = 5 if (e & 1) else 0
            s = N.ep_sent[e]
            if s == 0:
                v = -1
                for k in range(V):
                    if N.in_owner[r, port, k] < 0 and N.buf_cnt[r, port, k] < B:
                        v = k
                        break
                if v < 0:
                    continue
                N.ep_vc[e] = v
                N.in_owner[r, port, v] = p
                P.inject[p - pb] = c
            else:
                v = N.ep_vc[e]
                if N.buf_cnt[r, port, v] >= B:
                    continue
            _push(N, r, port, v, (p << 5) | s, c)
            N.nflits[r] += 1
            N.st_inj[e] += 1
            s += 1
            if s == P.flits[p - pb]:
                N.in_owner[r, port, v] = -1
                s = 0
                if p == N.ep_tail[e]:
                    N.ep_head[e] = -1
                    N.ep_tail[e] = -1
                    N.sc[1] -= 1
                else:
                    N.ep_head[e] = P.next[p - pb]
            N.ep_sent[e] = s

    # ---- phase 3: separable switch allocation (input first) and traversal
    req_v = N.sa_req[0]
    req_o = N.sa_req[1]
    req_w = N.sa_req[2]
    for r in range(R):
        if N.nflits[r] == 0:
            continue
        want = 0  # bit o: some input requests output o
        for i in range(6):
            req_v[i] = -1
            for k in range(V):
                v = (N.in_ptr[r, i] + k) % V
                if N.buf_cnt[r, i, v] == 0:
                    continue
                h = N.buf_head[r, i, v]
                if N.buf_arr[r, i, v, h] + rd > c:
                    continue
                f = N.buf_flit[r, i, v, h]
                p = f >> 5
                if (f & 31) == 0:  # head: needs a free output VC with a credit
                    o = noc_route(cols, r, P.dst_ep[p - pb])
                    if o == 0 or o == 5:
                        if N.owner[r, o, 0] >= 0:
                            continue
                        w = 0
                    else:
                        w = -1
                        for k2 in range(V):
                            if N.owner[r, o, k2] < 0 and _credit(N, r, o, k2, c) > 0:
                                w = k2
                                break
                        if w < 0:
                            continue
                else:  # body / tail: a credit on the VC its packet owns
                    o = N.route_o[r, i, v]
                    w = N.route_w[r, i, v]
                    if o != 0 and o != 5 and _credit(N, r, o, w, c) <= 0:
                        continue
                req_v[i] = v
                req_o[i] = o
                req_w[i] = w
                want |= 1 << o
                break
        if want == 0:
            continue
        granted = False
        for o in range(6):
            if not (want >> o) & 1:
                continue
            gi = -1
            for k in range(6):
                i = (N.out_ptr[r, o] + k) % 6
                if req_v[i] >= 0 and req_o[i] == o:
                    gi = i
                    break
            i = gi
            v = req_v[i]
            w = req_w[i]
            granted = True
            # traversal: the flit leaves input VC (r, i, v)
            h = N.buf_head[r, i, v]
            f = N.buf_flit[r, i, v, h]
            N.st_occ[r, i] += c - N.buf_arr[r, i, v, h]
            N.buf_head[r, i, v] = (h + 1) % B
            N.buf_cnt[r, i, v] -= 1
            N.nflits[r] -= 1
            N.st_router[r] += 1
            N.st_port[r, o] += 1
            p = f >> 5
            idx = f & 31
            tail = idx == P.flits[p - pb] - 1
            if i >= 1 and i <= 4:  # the freed slot's credit returns upstream
                u = N.neigh[r, i]
                uo = OPPOSITE[i]
                n = N.cret_cnt[u, uo, v]
                N.cret[u, uo, v, (N.cret_head[u, uo, v] + n) % B] = c + ld
                N.cret_cnt[u, uo, v] = n + 1
            if o == 0 or o == 5:  # ejection
                if tail:
                    N.owner[r, o, 0] = -1
                    P.eject[p - pb] = c
                    N.ej_pkts[N.sc[0]] = p
                    N.sc[0] += 1
                    N.st_ej[2 * r + (1 if o == 5 else 0)] += 1
                else:
                    N.st_ej[2 * r + (1 if o == 5 else 0)] += 1
                    if idx == 0:
                        N.owner[r, o, 0] = p
                        N.route_o[r, i, v] = o
                        N.route_w[r, i, v] = 0
            else:
                N.credits[r, o, w] -= 1
                d = N.neigh[r, o]
                _push(N, d, OPPOSITE[o], w, f, c + ld)
                N.nflits[d] += 1
                if tail:
                    N.owner[r, o, w] = -1
                elif idx == 0:
                    N.owner[r, o, w] = p
                    N.route_o[r, i, v] = o
                    N.route_w[r, i, v] = w
            N.in_ptr[r, i] = (v + 1) % V
            N.out_ptr[r, o] = (i + 1) % 6
        if granted:
            N.st_busy[r] += 1
