"""How many NoC packets cross the network at their class's minimum latency, i.e. met no
other flit on the way (docs/performance.md, "Packets that meet no other flit are too few
to skip"):

    python benchmarks/noc_contention.py paper-20core vgg11-cifar10 --set workload.batch=1

Runs the step with the cycle-level memory system and, per (hops, flits) class of packets,
counts the occurrences of each network latency (injection of the head at the source NI to
the tail's ejection); prints per class the packets, the smallest latency seen, the share of
packets at it, the mean latency and the mean wait in the source NI's queue, then the share
of packets (and of router-flit traversals) at their class minimum. A packet above its
class's minimum was delayed by another one (a busy output port, VC or buffer on its path):
what an analytic fast path for packets that meet no other flit could not skip. The packet
rows are read where the engine retires them (``Engine._shift``, wrapped here: this is a
measuring script, not the model).
"""
from __future__ import annotations

import collections
import sys
import time

import numpy as np

from neurosim import api
from neurosim.memsys import cycle as cy
from neurosim.memsys.topology import Mesh


class Latencies:
    """Occurrences of each network latency, and the NI queueing, per (hops, flits)."""

    def __init__(self, mesh: Mesh):
        self.mesh = mesh
        self.counts = collections.defaultdict(lambda: np.zeros(0, np.int64))
        self.wait = collections.defaultdict(int)

    def add(self, P, k: int) -> None:
        """The first k rows of the packet table P (those delivered)."""
        ok = P.eject[:k] >= 0
        hops = self.mesh.hops(P.src_ep[:k][ok] >> 1, P.dst_ep[:k][ok] >> 1)
        lat = (P.eject[:k] - P.inject[:k])[ok]
        wait = (P.inject[:k] - P.time[:k])[ok]
        flits = P.flits[:k][ok]
        for key in set(zip(hops.tolist(), flits.tolist())):
            sel = (hops == key[0]) & (flits == key[1])
            c = np.bincount(lat[sel])
            a = self.counts[key]
            if a.size < c.size:
                a = np.concatenate([a, np.zeros(c.size - a.size, np.int64)])
            a[:c.size] += c
            self.counts[key] = a
            self.wait[key] += int(wait[sel].sum())

    def report(self) -> str:
        total = sum(int(a.sum()) for a in self.counts.values())
        lines = ["hops flits packets min_latency share_at_min mean_latency mean_NI_wait"]
        at_min = rf_all = rf_min = 0
        for key in sorted(self.counts):
            a = self.counts[key]
            n, m = int(a.sum()), int(np.nonzero(a)[0][0])
            at_min += int(a[m])
            rf_all += n * key[1] * (key[0] + 1)      # router traversals of its flits
            rf_min += int(a[m]) * key[1] * (key[0] + 1)
            mean = float((np.arange(a.size) * a).sum() / n)
            lines.append(f"{key[0]} {key[1]} {n} {m} {a[m] / n:.3f} {mean:.1f} "
                         f"{self.wait[key] / n:.1f}")
        lines.append(f"{total} packets; at their class minimum: {at_min / total:.3f} of the "
                     f"packets, {rf_min / rf_all:.3f} of the router-flit traversals")
        return "\n".join(lines)


def main(argv) -> int:
    arch, workload = argv[0], argv[1]
    sets = [a for a in argv[2:] if a != "--set"]
    state: dict = {}
    shift, advance = cy.Engine._shift, cy.CycleMemorySystem.advance

    def counting_shift(T, fields, k, n):
        if "src_ep" in T._fields and k:
            state["lat"].add(T, k)
        return shift(T, fields, k, n)

    def noting_advance(self, cycle):
        state["eng"] = self.eng
        state.setdefault("lat", Latencies(self.mesh))
        return advance(self, cycle)

    cy.Engine._shift = staticmethod(counting_shift)
    cy.CycleMemorySystem.advance = noting_advance
    t0 = time.process_time()
    api.run(arch, workload, sets)
    eng = state["eng"]
    state["lat"].add(eng.P, eng.n_pk - eng.pb)      # the rows never retired
    print(f"{arch} {workload} {' '.join(sets)}: {time.process_time() - t0:.0f} s CPU")
    print(state["lat"].report())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
