"""The chip's 2-D mesh (``docs/microarchitecture.md`` 4.5, 5.2 and 6.1): node numbering and
coordinates, router ports and the directed links between routers, XY (dimension-order)
routes and hop counts, the node of each DRAM channel's controller, and the order in which a
multicast chain visits its destinations.

Everything in neurosim that needs the geometry of the mesh asks :class:`Mesh` (the mapper,
both memory systems, their statistics, characterisation and the validation checks), except
:mod:`neurosim.reference`, which reads the spec on its own. The NoC kernel routes by a
table built from :meth:`Mesh.next_port` (``neurosim.memsys.noc._route_table``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Router ports (spec 6.1). A network endpoint sits on port 0 (the core) or 5 (the DRAM
# controller); ports 1-4 lead to the neighbouring routers.
PORT_CORE, PORT_N, PORT_E, PORT_S, PORT_W, PORT_DRAM = range(6)
NPORTS = 6
PORT_NAMES = ("core", "north", "east", "south", "west", "dram")
OPPOSITE = (0, 3, 4, 1, 2, 5)   # the input port by which a link from output port i enters
STEP = {PORT_N: (0, -1), PORT_E: (1, 0), PORT_S: (0, 1), PORT_W: (-1, 0)}  # (dx, dy)


@dataclass(frozen=True)
class Mesh:
    """A ``cols`` x ``rows`` mesh; node ``n`` at ``(n mod cols, n div cols)``, core ``i`` at
    node ``i``. ``dram_nodes``: the node of each entry of ``chip.dram_nodes``; channel
    ``ch``'s controller sits at entry ``ch mod len(dram_nodes)`` (spec 5.2)."""

    cols: int
    rows: int
    dram_nodes: tuple = (0,)

    @classmethod
    def of(cls, cfg) -> "Mesh":
        """The mesh of an arch config (``chip.mesh`` and ``chip.dram_nodes``)."""
        cols, rows = cfg.chip.mesh.cols, cfg.chip.mesh.rows
        return cls(cols, rows, tuple(y * cols + x for x, y in cfg.get("chip.dram_nodes")))

    @property
    def nodes(self) -> int:
        return self.cols * self.rows

    def xy(self, node):
        """(x, y) of a node (or of a numpy array of nodes)."""
        return node % self.cols, node // self.cols

    def node(self, x, y):
        return y * self.cols + x

    def hops(self, a, b):
        """XY hops (links crossed) from node a to node b; numpy arrays element-wise."""
        c = self.cols
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.abs(a % c - b % c) + np.abs(a // c - b // c)
        return abs(a % c - b % c) + abs(a // c - b // c)

    def neighbour(self, node: int, port: int) -> int:
        """The router behind output port 1-4 of ``node`` (-1: the mesh edge)."""
        x, y = self.xy(node)
        dx, dy = STEP[port]
        if 0 <= x + dx < self.cols and 0 <= y + dy < self.rows:
            return self.node(x + dx, y + dy)
        return -1

    def links(self) -> list[tuple[int, int, int]]:
        """Every directed router-to-router link: (node, output port, neighbour node), by node
        then port."""
        return [(n, p, self.neighbour(n, p)) for n in range(self.nodes)
                for p in (PORT_N, PORT_E, PORT_S, PORT_W) if self.neighbour(n, p) >= 0]

    def next_port(self, node: int, dst: int) -> int:
        """XY routing (spec 6.1): the output port at ``node`` towards node ``dst`` (x first,
        then y; -1 once there: the packet leaves by its destination endpoint's port)."""
        (x, y), (xd, yd) = self.xy(node), self.xy(dst)
        if xd != x:
            return PORT_E if xd > x else PORT_W
        if yd != y:
            return PORT_S if yd > y else PORT_N
        return -1

    def route(self, a: int, b: int) -> list[tuple[int, int]]:
        """The routers (node, output port) a packet from node a to node b passes, in order;
        the last entry's port is -1 (ejection)."""
        out, r = [], a
        while True:
            o = self.next_port(r, b)
            out.append((r, o))
            if o < 0:
                return out
            r = self.neighbour(r, o)

    def dram_controller(self, channel: int) -> int:
        """The node of DRAM channel ``channel``'s controller."""
        return self.dram_nodes[channel % len(self.dram_nodes)]

    def nearest_dram_hops(self, node: int) -> int:
        """Hops from ``node`` to the nearest DRAM controller."""
        return min(self.hops(node, d) for d in self.dram_nodes)

    def multicast_chain(self, src: tuple, dsts: list) -> list:
        """Order in which a multicast from endpoint ``src`` visits the endpoints ``dsts``
        (spec 4.5): from the current endpoint, the nearest next (XY hops), ties by (node,
        port); the source itself is left out."""
        if len(set(dsts)) != len(dsts):
            raise ValueError(f"multicast to repeated destinations {dsts}")
        left = sorted(d for d in dsts if d != src)
        order, at = [], src
        while left:
            nxt = min(left, key=lambda d: (self.hops(at[0], d[0]), d))
            left.remove(nxt)
            order.append(nxt)
            at = nxt
        return order


__all__ = ["Mesh", "PORT_CORE", "PORT_N", "PORT_E", "PORT_S", "PORT_W", "PORT_DRAM", "NPORTS",
           "PORT_NAMES", "OPPOSITE"]
