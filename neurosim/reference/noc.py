"""The network-on-chip of the reference model (``docs/microarchitecture.md`` sections 4.4
and 6): packetization, network interfaces, and either the ideal model (fixed latency) or a
cycle-stepped 2-D mesh of wormhole routers with virtual channels and credit flow control.

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
    route: dict = field(default_factory=dict)  # node -> (output port, output vc)


@dataclass
class Flit:
    packet: Packet
    seq: int
    arrival: int

    @property
    def head(self) -> bool:
        return self.seq == 0

    @property
    def tail(self) -> bool:
        return self.seq == self.packet.n_flits - 1


class Router:
    def __init__(self, vcs: int, buffer_flits: int):
        self.inputs = [[deque() for _ in range(vcs)] for _ in range(N_PORTS)]
        self.in_ptr = [0] * N_PORTS                  # round-robin over VCs, per input port
        self.out_ptr = [0] * N_PORTS                 # round-robin over inputs, per output
        # Link output ports: per VC, the packet that owns the downstream VC and the credits.
        self.out_owner = [[None] * vcs for _ in range(N_PORTS)]
        self.credits = [[buffer_flits] * vcs for _ in range(N_PORTS)]
        self.inj_owner = [[None] * vcs for _ in range(N_PORTS)]  # injection ports 0 and 5
        self.flits = 0                               # buffered flits (to skip idle routers)


class CycleNoc:
    """``noc.model: cycle``: the mesh stepped one cycle at a time (spec section 6)."""

    def __init__(self, cfg):
        n = cfg.noc
        self.cols = cfg.chip.mesh.cols
        self.nodes = cfg.chip.mesh.cols * cfg.chip.mesh.rows
        self.rd, self.ld = n.router_delay, n.link_delay
        self.vcs, self.depth = n.vcs, n.buffer_flits
        self.routers = [Router(self.vcs, self.depth) for _ in range(self.nodes)]
        self.ni = {}                 # (node, port) -> deque of Packet
        self.on_links = []           # (arrive cycle, node, input port, vc, flit)
        self.credits_back = []       # (return cycle, node, output port, vc)
        self.contention = 0          # cycles a ready flit lost to another packet

    def post(self, msg: Message) -> None:
        pass  # enqueued at the NI when the chip flushes the cycle's posts (enqueue)

    def enqueue(self, msg: Message) -> None:
        q = self.ni.setdefault(msg.via or msg.src, deque())
        for f in msg.flits:
            q.append(Packet(msg, f))

    def busy(self) -> bool:
        return (any(self.ni.values()) or bool(self.on_links)
                or any(r.flits for r in self.routers))

    # ------------------------------------------------------------------ one cycle

    def step(self, c: int) -> None:
        # 1. Arrivals of flits and credits sent link_delay cycles ago.
        if self.on_links:
            still = []
            for item in self.on_links:
                if item[0] == c:
                    _, node, port, vc, flit = item
                    flit.arrival = c
                    self.routers[node].inputs[port][vc].append(flit)
                    self.routers[node].flits += 1
                else:
                    still.append(item)
            self.on_links = still
        if self.credits_back:
            still = []
            for item in self.credits_back:
                if item[0] == c:
                    _, node, port, vc = item
                    self.routers[node].credits[port][vc] += 1
                else:
                    still.append(item)
            self.credits_back = still
        # 2. Injection: one flit per NI endpoint per cycle.
        for (node, port), q in self.ni.items():
            if not q:
                continue
            pkt = q[0]
            r = self.routers[node]
            bufs = r.inputs[port]
            if pkt.injected == 0:
                free = [v for v in range(self.vcs)
                        if r.inj_owner[port][v] is None and len(bufs[v]) < self.depth]
                if not free:
                    continue
                pkt.inj_vc = free[0]
                r.inj_owner[port][pkt.inj_vc] = pkt
            elif len(bufs[pkt.inj_vc]) >= self.depth:
                continue
            bufs[pkt.inj_vc].append(Flit(pkt, pkt.injected, c))
            r.flits += 1
            pkt.injected += 1
            if pkt.injected == pkt.n_flits:
                r.inj_owner[port][pkt.inj_vc] = None
                q.popleft()
        # 3. Switch allocation and traversal, separable, input first.
        for node, r in enumerate(self.routers):
            if r.flits:
                self._allocate(c, node, r)

    def _request(self, c: int, node: int, r: Router, flit: Flit):
        """The output port this flit may use now, or None."""
        if flit.arrival + self.rd > c:
            return None
        msg = flit.packet.msg
        if flit.head:
            out = mesh_route(self.cols, node, msg.dst[0], msg.dst[1])
            if out in (PORT_CORE, PORT_DRAM):
                if r.out_owner[out][0] is None:
                    return out
                self.contention += 1
                return None
            if any(r.out_owner[out][v] is None and r.credits[out][v] > 0
                   for v in range(self.vcs)):
                return out
            if all(r.out_owner[out][v] is not None for v in range(self.vcs)):
                self.contention += 1
            return None
        out, vc = flit.packet.route[node]
        if out in (PORT_CORE, PORT_DRAM) or r.credits[out][vc] > 0:
            return out
        return None

    def _allocate(self, c: int, node: int, r: Router) -> None:
        picks = {}  # input port -> (vc, output port)
        for port in range(N_PORTS):
            if not any(r.inputs[port]):
                continue
            for i in range(self.vcs):
                vc = (r.in_ptr[port] + i) % self.vcs
                buf = r.inputs[port][vc]
                if not buf:
                    continue
                out = self._request(c, node, r, buf[0])
                if out is not None:
                    picks[port] = (vc, out)
                    break
        by_output = {}
        for port, (_, out) in picks.items():
            by_output.setdefault(out, []).append(port)
        grants = []
        for out, requesters in by_output.items():
            # round-robin over input port index, starting at the output's pointer
            port = min(requesters, key=lambda p: (p - r.out_ptr[out]) % N_PORTS)
            grants.append((port, picks[port][0], out))
            r.out_ptr[out] = (port + 1) % N_PORTS
            self.contention += len(requesters) - 1
        for port, vc, out in grants:
            r.in_ptr[port] = (vc + 1) % self.vcs
            flit = r.inputs[port][vc].popleft()
            r.flits -= 1
            pkt = flit.packet
            if flit.head:
                if out in (PORT_CORE, PORT_DRAM):
                    ovc = 0
                else:
                    ovc = next(v for v in range(self.vcs)
                               if r.out_owner[out][v] is None and r.credits[out][v] > 0)
                r.out_owner[out][ovc] = pkt
                pkt.route[node] = (out, ovc)
            _, ovc = pkt.route[node]
            if flit.tail:
                r.out_owner[out][ovc] = None
            if port not in (PORT_CORE, PORT_DRAM):  # the slot's credit goes back upstream
                self.credits_back.append((c + self.ld, neighbour(self.cols, node, port),
                                          OPPOSITE[port], vc))
            if out in (PORT_CORE, PORT_DRAM):
                if flit.tail:
                    msg = pkt.msg
                    if msg.next_leg is not None:
                        # multicast (spec 4.5): this NI sends the packet on; enqueued now,
                        # it is injected from the next cycle, ahead of the core's own
                        # packets of that cycle (they join the queue in the chip's phase B1)
                        self.ni.setdefault(msg.dst, deque()).append(
                            Packet(msg.next_leg, pkt.n_flits))
                    msg.packets_done += 1
                    if msg.packets_done == len(msg.flits):
                        msg.set_available(c + 1)
            else:
                r.credits[out][ovc] -= 1
                self.on_links.append((c + self.ld, neighbour(self.cols, node, out),
                                      OPPOSITE[out], ovc, flit))
