"""Cost per simulated cycle of the memory system's numba kernels, each alone
(docs/performance.md, "Kernels").

    python benchmarks/bench_kernels.py [--arch paper-20core] [--repeat 3] [--only noc|dram]

NoC: uniform traffic on the arch's mesh (4-flit packets, Bernoulli injection at 0.05, 0.1
and 0.3 flits/node/cycle for ``--cycles`` cycles, :mod:`neurosim.memsys.characterize`'s
generators), and DRAM-like traffic (every core to the DRAM controller's endpoint and back,
0.5 and 0.9 flits/cycle each way), run to drain with ``dram.model=ideal``. DRAM: replay of ``--bursts`` one-burst
reads (sequential, random) and a random mix with 1/3 writes, Poisson arrivals at a fraction
of the peak bandwidth, with no NoC in front (``noc.model=ideal``, latency 0).

Each row is run ``--repeat`` times and the minimum CPU time (``time.process_time``: the
machine is shared) of the kernel run is reported, in us per simulated cycle (the cycles from
0 to the last ejection / completion, idle ones included) and per packet / burst. ``digest``
is a hash of every packet's injection and ejection cycle and the routers' statistics (NoC),
or of every burst's completion cycle and outcome (DRAM): a kernel change that keeps the
results byte-identical keeps it.
"""
from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np

from neurosim.arch import load_arch
from neurosim.memsys.base import DramAddressMap
from neurosim.memsys.characterize import (bernoulli_times, dram_replay, peak_bytes_per_cycle,
                                          traffic_destinations)
from neurosim.memsys.cycle import INF, RUN_DRAIN, Engine
from neurosim.memsys.topology import Mesh

NOC_RATES = (0.05, 0.1, 0.3)
NOC_DRAM_RATES = (0.5, 0.9)   # flits/cycle into (and out of) the DRAM controller's endpoint
PACKET_FLITS = 4
DRAM_ROWS = (("seq-read", 0.5, 0.0), ("random-read", 0.5, 0.0), ("random-read", 0.9, 0.0),
             ("random-mixed", 0.5, 1 / 3))


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    return h.hexdigest()[:12]


def noc_traffic(cfg, rate: float, cycles: int, seed: int = 1, dram: bool = False) -> tuple:
    """``(times, src_ep, dst_ep)`` of a NoC row's packets (see :func:`noc_row`), by time."""
    cols, rows = cfg.chip.mesh.cols, cfg.chip.mesh.rows
    nodes = cols * rows
    rng = np.random.default_rng(seed)
    if dram:
        ctrl = 2 * int(Mesh.of(cfg).dram_nodes[0]) + 1
        t_up, s_up = bernoulli_times(rng, nodes, rate / nodes / PACKET_FLITS, cycles)
        t_down, _ = bernoulli_times(rng, 1, rate / PACKET_FLITS, cycles)
        d_down = rng.integers(0, nodes, t_down.size)
        times = np.concatenate([t_up, t_down])
        order = np.argsort(times, kind="stable")
        times = times[order]
        src_ep = np.concatenate([2 * s_up, np.full(t_down.size, ctrl)])[order]
        dst_ep = np.concatenate([np.full(t_up.size, ctrl), 2 * d_down])[order]
    else:
        times, src = bernoulli_times(rng, nodes, rate / PACKET_FLITS, cycles)
        src_ep = 2 * src
        dst_ep = 2 * traffic_destinations("uniform", cols, rows, src, rng, 0, 0.0)
    return times, src_ep, dst_ep


def noc_row(arch: str, rate: float, cycles: int, repeat: int, seed: int = 1,
            dram: bool = False) -> dict:
    """``dram``: DRAM-like traffic instead of uniform: every core sends to the first DRAM
    controller's endpoint at ``rate / nodes`` flits/cycle and that endpoint to every core at
    ``rate`` flits/cycle in all (a congested hotspot, as on DRAM-spilling workloads)."""
    cfg = load_arch(arch, ["noc.model=cycle", "dram.model=ideal"])
    times, src_ep, dst_ep = noc_traffic(cfg, rate, cycles, seed, dram)
    best, digest, end = INF, None, 0
    for _ in range(repeat):
        eng = Engine(cfg, True, False)
        ids = eng.add_packets(times.size, src_ep=src_ep, dst_ep=dst_ep, flits=PACKET_FLITS,
                              time=times)
        eng.schedule_posts(ids, times)
        t0 = time.process_time()
        eng.run(INF, RUN_DRAIN)
        best = min(best, time.process_time() - t0)
        P, N = eng.P, eng.N
        n = times.size
        end = int(P.eject[:n].max()) + 1
        digest = _digest(P.inject[:n], P.eject[:n], N.st_port, N.st_router, N.st_busy,
                         N.st_occ, N.st_inj, N.st_ej)
    name = (f"noc dram hotspot {rate:.2f} flits/cycle" if dram
            else f"noc uniform {rate:.2f} flits/node/cycle")
    return {"row": name, "cycles": end, "items": int(times.size), "cpu_s": best,
            "digest": digest}


def dram_row(arch: str, pattern: str, load: float, write_fraction: float, bursts: int,
             repeat: int, seed: int = 1) -> dict:
    cfg = load_arch(arch, ["noc.model=ideal", "noc.ideal_latency=0", "dram.model=cycle"])
    d = cfg.dram
    rng = np.random.default_rng(seed)
    per_cycle = load * peak_bytes_per_cycle(cfg) / d.burst_bytes
    arrive = np.floor(np.cumsum(rng.exponential(1 / per_cycle, bursts))).astype(np.int64)
    if pattern.startswith("seq"):
        burst = np.arange(bursts, dtype=np.int64)
    else:
        burst = rng.integers(0, (1 << 30) // d.burst_bytes, bursts)
    write = (rng.random(bursts) < write_fraction).astype(np.int64)
    DramAddressMap(cfg)  # (checks the mapping before timing)
    best, digest, end = INF, None, 0
    for _ in range(repeat):
        t0 = time.process_time()
        comp, outcome = dram_replay(cfg, burst * d.burst_bytes, write, arrive)
        best = min(best, time.process_time() - t0)
        end = int(comp.max()) + 1
        digest = _digest(comp, outcome)
    return {"row": f"dram {pattern} {load:.1f} of peak", "cycles": end, "items": bursts,
            "cpu_s": best, "digest": digest}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="paper-20core")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=20_000, help="NoC injection cycles")
    ap.add_argument("--bursts", type=int, default=100_000, help="DRAM bursts per row")
    ap.add_argument("--only", choices=("noc", "dram"))
    args = ap.parse_args(argv)
    # compile (or load) the kernels before timing
    noc_row(args.arch, 0.1, 100, 1)
    dram_row(args.arch, "seq-read", 0.5, 0.0, 100, 1)
    out = []
    if args.only != "dram":
        out += [noc_row(args.arch, r, args.cycles, args.repeat) for r in NOC_RATES]
        out += [noc_row(args.arch, r, args.cycles, args.repeat, dram=True)
                for r in NOC_DRAM_RATES]
    if args.only != "noc":
        out += [dram_row(args.arch, p, x, w, args.bursts, args.repeat) for p, x, w in DRAM_ROWS]
    print(f"{'row':34} {'cycles':>9} {'packets/bursts':>14} {'cpu s':>7} {'us/cycle':>9} "
          f"{'us/item':>8}  digest")
    for r in out:
        print(f"{r['row']:34} {r['cycles']:9d} {r['items']:14d} {r['cpu_s']:7.3f} "
              f"{1e6 * r['cpu_s'] / r['cycles']:9.3f} {1e6 * r['cpu_s'] / r['items']:8.2f}  "
              f"{r['digest']}")


if __name__ == "__main__":
    main()
