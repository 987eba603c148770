"""The network-on-chip of the reference model (``docs/microarchitecture.md`` sections 4.4
and 6): packetization, network interfaces, and either the ideal model (fixed latency) or a
cycle-stepped 2-D mesh of BookSim2-style input-queued virtual-channel routers (route,
VC allocation, switch allocation, switch traversal; iSLIP allocators; credit flow control).

A :class:`Message` is posted at the cycle its source enqueues it; when the cycle at which it
becomes available at the destination is known, ``msg.available`` is set and
``msg.on_available(msg)`` is called (possibly before that cycle comes: callers compare with
the current cycle).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

PORT_CORE, PORT_NORTH, PORT_EAST, PORT_SOUTH, PORT_WEST, PORT_DRAM = range(6)
N_PORTS = 6
OPPOSITE = {PORT_NORTH: PORT_SOUTH, PORT_SOUTH: PORT_NORTH,
            PORT_EAST: PORT_WEST, PORT_WEST: PORT_EAST}
PAYLOAD_FLITS_PER_PACKET = 16  # spec 4.4: up to 16 * flit_bits payload bits per packet


def packet_flits(payload_bits: int, flit_bits: int) -> list:
    """Flits of each packet of a message of ``payload_bits`` (head flit included)."""
    per_packet = PAYLOAD_FLITS_PER_PACKET * flit_bits
    n_packets = max(1, -(-payload_bits // per_packet))
    flits = []
    left = payload_bits
    for _ in range(n_packets):
        body = min(left, per_packet)
        flits.append(1 + -(-body // flit_bits))
        left -= body
    return flits


@dataclass
class Message:
    kind: str
    src: tuple                 # (node, port)
    dst: tuple
    send: int
    payload_bits: int
    tag: tuple
    order: tuple               # NI enqueue order among messages posted in the same cycle
    flits: list = field(default_factory=list)   # per packet; empty for a core-local message
    available: int | None = None
    on_available: object = None
    packets_done: int = 0
    last_eject: int = -1
    via: tuple | None = None   # multicast leg: the endpoint that forwards it (else src)
    next_leg: object = None    # multicast: the leg each packet is forwarded to on arrival

    def set_available(self, cycle: int) -> None:
        self.available = cycle
        if self.on_available is not None:
            self.on_available(self)


def hops(cols: int, a: int, b: int) -> int:
    return abs(a % cols - b % cols) + abs(a // cols - b // cols)


def multicast_chain(cols: int, src: tuple, dsts: list) -> list:
    """Spec 4.5: the order a multicast visits its destinations -- from where it is, the
    destination fewest XY hops away next (ties: lowest (node, port)); not the source."""
    left = sorted(d for d in dsts if d != src)
    chain, at = [], src
    while left:
        nxt = min(left, key=lambda d: (hops(cols, at[0], d[0]), d))
        left.remove(nxt)
        chain.append(nxt)
        at = nxt
    return chain


def mesh_route(cols: int, node: int, dst_node: int, dst_port: int) -> int:
    """XY dimension-order routing: the output port at ``node``."""
    x, y = node % cols, node // cols
    dx, dy = dst_node % cols, dst_node // cols
    if dx > x:
        return PORT_EAST
    if dx < x:
        return PORT_WEST
    if dy > y:
        return PORT_SOUTH
    if dy < y:
        return PORT_NORTH
    return dst_port


def neighbour(cols: int, node: int, port: int) -> int:
    return {PORT_NORTH: node - cols, PORT_SOUTH: node + cols,
            PORT_EAST: node + 1, PORT_WEST: node - 1}[port]


class IdealNoc:
    """``noc.model: ideal``: every message available ``noc.ideal_latency`` cycles after it
    is sent, whatever the traffic."""

    def __init__(self, cfg):
        self.latency = cfg.noc.ideal_latency
        self.contention = 0

    def post(self, msg: Message) -> None:
        msg.set_available(msg.send + self.latency)

    def enqueue(self, msg: Message) -> None:
        pass  # no network interfaces to queue in

    def step(self, cycle: int) -> None:
        pass

    def busy(self) -> bool:
        return False


@dataclass
class Packet:
    msg: Message
    n_flits: int
    injected: int = 0
    inj_vc: int = -1


@dataclass
class Flit:
    packet: Packet
    seq: int
    vc: int = -1          # the VC it travels in on its current channel / buffer
    arrival: int = 0

    @property
    def head(self) -> bool:
        return self.seq == 0

    @property
    def tail(self) -> bool:
        return self.seq == self.packet.n_flits - 1


def islip(requests: set, n_in: int, n_out: int, grant_ptr: list, accept_ptr: list,
          iters: int) -> dict:
    """Spec 6.4: iSLIP matching of ``requests`` (pairs (requester, resource)); pointers
    are updated in place; returns {requester: resource}."""
    matched_in, matched_out = {}, {}
    for it in range(iters):
        grants = {}
        for o in range(n_out):
            if o in matched_out:
                continue
            cands = [i for (i, oo) in requests if oo == o and i not in matched_in]
            if cands:
                grants[o] = min(cands, key=lambda i: (i - grant_ptr[o]) % n_in)
        for i in range(n_in):
            if i in matched_in:
                continue
            offers = [o for o, g in grants.items() if g == i]
            if not offers:
                continue
            o = min(offers, key=lambda o: (o - accept_ptr[i]) % n_out)
            matched_in[i], matched_out[o] = o, i
            if it == 0:
                grant_ptr[o] = (i + 1) % n_in
                accept_ptr[i] = (o + 1) % n_out
    return matched_in


class Stage:
    """A router stage (spec 6.3): a FIFO of input VCs; it starts all its waiting entries
    when none is in progress, and completes them ``delay - 1`` cycles after."""

    def __init__(self, delay: int):
        self.delay = delay
        self.waiting = []       # input VCs (port, vc), in order
        self.running = []       # (input VC, result)
        self.done = None


class Router:
    def __init__(self, vcs: int, depth: int, delays: dict):
        P = N_PORTS
        self.buf = [[deque() for _ in range(vcs)] for _ in range(P)]
        self.state = [["idle"] * vcs for _ in range(P)]
        self.route = [[None] * vcs for _ in range(P)]     # (output port, output vc)
        self.owner = [[None] * vcs for _ in range(P)]     # output VC -> input VC
        self.credits = [[depth] * vcs for _ in range(P)]
        self.rt = Stage(delays["rt"])
        self.va = Stage(delays["va"])
        self.sa = Stage(delays["sa"])
        self.xbar_wait, self.xbar_run, self.xbar_done = [], [], None
        self.xbar_delay = delays["st"]
        self.out_q = [deque() for _ in range(P)]
        self.sw_ptr = [0] * P
        self.sa_g, self.sa_a = [0] * P, [0] * P
        self.va_g, self.va_a = [0] * (P * vcs), [0] * (P * vcs)
        self.load = 0


class CycleNoc:
    """``noc.model: cycle``: the mesh stepped one cycle at a time (spec section 6)."""

    def __init__(self, cfg):
        n = cfg.noc
        self.cols = cfg.chip.mesh.cols
        self.nodes = cfg.chip.mesh.cols * cfg.chip.mesh.rows
        self.vcs, self.depth = n.vcs, n.buffer_flits
        self.d_link, self.d_credit = n.link_delay, n.credit_delay
        self.d_inj, self.d_ej = n.injection_delay, n.ejection_delay
        self.iters = n.alloc_iters
        self.d_rt = n.routing_delay
        delays = {"rt": n.routing_delay, "va": n.vc_alloc_delay, "sa": n.sw_alloc_delay,
                  "st": n.st_prepare_delay + n.st_final_delay}
        self.routers = [Router(self.vcs, self.depth, delays) for _ in range(self.nodes)]
        self.ni = {}                 # (node, port) -> deque of Packet
        self.ni_credits = {}         # (node, port) -> credits per injection VC
        self.ni_owned = {}           # (node, port) -> injection VCs owned by a packet
        self.ni_last = {}            # (node, port) -> last injection VC taken
        self.flits_in = []           # (receive cycle, node, input port, flit)
        self.credits_in = []         # (usable cycle, node, output port, vc)
        self.ni_credits_in = []      # (usable cycle, (node, port), vc)
        self.eject_in = []           # (receive cycle, (node, port), flit)
        self.in_network = 0
        self.contention = 0          # switch requests that lost (statistics only)

    def post(self, msg: Message) -> None:
        pass  # enqueued at the NI when the chip flushes the cycle's posts (enqueue)

    def enqueue(self, msg: Message) -> None:
        q = self.ni.setdefault(msg.via or msg.src, deque())
        for f in msg.flits:
            q.append(Packet(msg, f))

    def busy(self) -> bool:
        return any(self.ni.values()) or self.in_network > 0

    # ------------------------------------------------------------------ one cycle

    def step(self, c: int) -> None:
        self._nis(c)
        for node, r in enumerate(self.routers):
            self._router(c, node, r)

    def _nis(self, c: int) -> None:
        """Spec 6.5: NIs receive ejected flits and credits, then inject."""
        forwards = []
        due = [x for x in self.eject_in if x[0] <= c]
        self.eject_in = [x for x in self.eject_in if x[0] > c]
        for _, ep, flit in due:
            self.in_network -= 1
            # the credit returns to the router's ejection port
            self.credits_in.append((c + 1 + self.d_ej + self.d_credit, ep[0], ep[1], flit.vc))
            if flit.tail:
                pkt = flit.packet
                msg = pkt.msg
                if msg.next_leg is not None:
                    # multicast (spec 4.5): this NI sends the packet on; enqueued at the
                    # end of this cycle, it is injected from the next cycle, ahead of the
                    # core's own packets of that cycle (they join in the chip's phase B1)
                    forwards.append((msg.dst, Packet(msg.next_leg, pkt.n_flits)))
                msg.packets_done += 1
                if msg.packets_done == len(msg.flits):
                    msg.set_available(c + 1)
        due = [x for x in self.ni_credits_in if x[0] <= c]
        self.ni_credits_in = [x for x in self.ni_credits_in if x[0] > c]
        for _, ep, vc in due:
            self.ni_credits[ep][vc] += 1
        for ep, q in self.ni.items():
            if not q:
                continue
            credits = self.ni_credits.setdefault(ep, [self.depth] * self.vcs)
            owned = self.ni_owned.setdefault(ep, [False] * self.vcs)
            pkt = q[0]
            if pkt.injected == 0:
                last = self.ni_last.get(ep, -1)
                order = ([0] if last < 0 else
                         [(last + k) % self.vcs for k in range(1, self.vcs + 1)])
                free = [v for v in order if not owned[v] and credits[v] > 0]
                if not free:
                    continue
                pkt.inj_vc = free[0]
                owned[pkt.inj_vc] = True
                self.ni_last[ep] = pkt.inj_vc
            elif credits[pkt.inj_vc] == 0:
                continue
            credits[pkt.inj_vc] -= 1
            flit = Flit(pkt, pkt.injected, pkt.inj_vc)
            self.flits_in.append((c + 1 + self.d_inj, ep[0], ep[1], flit))
            self.in_network += 1
            self.routers[ep[0]].load += 1
            pkt.injected += 1
            if pkt.injected == pkt.n_flits:
                owned[pkt.inj_vc] = False
                q.popleft()
        for ep, pkt in forwards:
            self.ni.setdefault(ep, deque()).append(pkt)

    def _to_routing(self, node: int, r: Router, port: int, vc: int) -> None:
        """The head at the front of an idle input VC starts its way (spec 6.3)."""
        if self.d_rt > 0:
            r.state[port][vc] = "routing"
            r.rt.waiting.append((port, vc))
        else:
            r.route[port][vc] = (self._route(node, r.buf[port][vc][0]), None)
            r.state[port][vc] = "vc_alloc"
            r.va.waiting.append((port, vc))

    def _route(self, node: int, flit: Flit) -> int:
        msg = flit.packet.msg
        return mesh_route(self.cols, node, msg.dst[0], msg.dst[1])

    def _router(self, c: int, node: int, r: Router) -> None:
        if r.load == 0:
            return
        V = self.vcs
        # 1. receive flits (by input port) and credits
        arrived = sorted((x for x in self.flits_in if x[0] <= c and x[1] == node),
                         key=lambda x: x[2])
        self.flits_in = [x for x in self.flits_in if not (x[0] <= c and x[1] == node)]
        for _, _, port, flit in arrived:
            flit.arrival = c
            r.buf[port][flit.vc].append(flit)
            if r.state[port][flit.vc] == "idle":
                self._to_routing(node, r, port, flit.vc)
            elif r.state[port][flit.vc] == "active" and len(r.buf[port][flit.vc]) == 1:
                r.sa.waiting.append((port, flit.vc))
        mine = [x for x in self.credits_in if x[0] <= c and x[1] == node]
        self.credits_in = [x for x in self.credits_in if not (x[0] <= c and x[1] == node)]
        for _, _, out, vc in mine:
            r.credits[out][vc] += 1
        # 2. start
        if not r.rt.running and r.rt.waiting:
            r.rt.running = [(e, None) for e in r.rt.waiting]
            r.rt.waiting = []
            r.rt.done = c + r.rt.delay - 1
        if not r.va.running and r.va.waiting:
            reqs = set()
            for (p, v) in r.va.waiting:
                out = r.route[p][v][0]
                for w in range(V):
                    if r.owner[out][w] is None:
                        reqs.add((p * V + v, out * V + w))
            match = islip(reqs, N_PORTS * V, N_PORTS * V, r.va_g, r.va_a, self.iters)
            r.va.running = [((p, v), match.get(p * V + v)) for (p, v) in r.va.waiting]
            r.va.waiting = []
            r.va.done = c + r.va.delay - 1
        if not r.sa.running and r.sa.waiting:
            label = {}   # (input, output) -> the VC that requests it
            for (p, v) in r.sa.waiting:
                out, ovc = r.route[p][v]
                if r.credits[out][ovc] == 0:
                    continue
                old = label.get((p, out))
                if old is None or (v - r.sw_ptr[p]) % V < (old - r.sw_ptr[p]) % V:
                    label[(p, out)] = v
            match = islip(set(label), N_PORTS, N_PORTS, r.sa_g, r.sa_a, self.iters)
            running = []
            for (p, v) in r.sa.waiting:
                out = match.get(p)
                if out is not None and label[(p, out)] == v:
                    running.append(((p, v), out))
                    r.sw_ptr[p] = (v + 1) % V
                else:
                    running.append(((p, v), None))
                    self.contention += 1
            r.sa.running = running
            r.sa.waiting = []
            r.sa.done = c + r.sa.delay - 1
        if not r.xbar_run and r.xbar_wait:
            r.xbar_run, r.xbar_wait = r.xbar_wait, []
            r.xbar_done = c + r.xbar_delay - 1
        # 3. complete
        if r.rt.running and r.rt.done == c:
            for (p, v), _ in r.rt.running:
                r.route[p][v] = (self._route(node, r.buf[p][v][0]), None)
                r.state[p][v] = "vc_alloc"
                r.va.waiting.append((p, v))
            r.rt.running = []
        if r.va.running and r.va.done == c:
            for (p, v), res in r.va.running:
                if res is None:
                    r.va.waiting.append((p, v))
                    continue
                out, ovc = divmod(res, V)
                r.owner[out][ovc] = (p, v)
                r.route[p][v] = (out, ovc)
                r.state[p][v] = "active"
                r.sa.waiting.append((p, v))
            r.va.running = []
        if r.sa.running and r.sa.done == c:
            for (p, v), out in r.sa.running:
                if out is None:
                    r.sa.waiting.append((p, v))
                    continue
                flit = r.buf[p][v].popleft()
                ovc = r.route[p][v][1]
                r.credits[out][ovc] -= 1
                if flit.tail:
                    r.owner[out][ovc] = None
                if p in (PORT_CORE, PORT_DRAM):     # the slot's credit goes to the NI
                    self.ni_credits_in.append((c + 1 + self.d_inj, (node, p), v))
                else:
                    self.credits_in.append((c + 1 + self.d_link + self.d_credit,
                                            neighbour(self.cols, node, p), OPPOSITE[p], v))
                flit.vc = ovc
                r.xbar_wait.append((flit, out))
                if not r.buf[p][v]:
                    if flit.tail:
                        r.state[p][v] = "idle"
                elif flit.tail:
                    self._to_routing(node, r, p, v)
                else:
                    r.sa.waiting.append((p, v))
            r.sa.running = []
        if r.xbar_run and r.xbar_done == c:
            for flit, out in r.xbar_run:
                r.out_q[out].append(flit)
            r.xbar_run = []
        # 4. send one flit per output port
        for out in range(N_PORTS):
            if not r.out_q[out]:
                continue
            flit = r.out_q[out].popleft()
            r.load -= 1
            if out in (PORT_CORE, PORT_DRAM):
                self.eject_in.append((c + 1 + self.d_ej, (node, out), flit))
            else:
                d = neighbour(self.cols, node, out)
                self.flits_in.append((c + 1 + self.d_link, d, OPPOSITE[out], flit))
                self.routers[d].load += 1
