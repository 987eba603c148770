"""Speed of the cycle-level NoC and DRAM models (docs/performance.md, "Memory system").

    python benchmarks/bench_memsys.py [--quick]

1. NoC characterisation points: 100,000 packets of 5 flits, uniform traffic, 4x4 mesh.
2. DRAM characterisation points: 100,000 requests, LPDDR4-3200 x2 channels.
3. Chip-like co-simulation: a driver that posts messages and DRAM transfers and reacts to
   completions through next_event/advance (with and without a horizon), 4x5 mesh.
Times are wall-clock after a warm-up call (numba kernels compiled and cached).
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from neurosim.arch import load_arch
from neurosim.memsys.characterize import dram_point, noc_point
from neurosim.memsys.cycle import CycleMemorySystem


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t, out


def chip_like(n_ops: int, horizon: bool, seed: int = 0):
    cfg = load_arch("paper-20core", ["noc.model=cycle", "dram.model=cycle"])
    ms = CycleMemorySystem(cfg)
    rng = np.random.default_rng(seed)
    own = sorted(int(t) for t in rng.integers(0, n_ops * 4, n_ops // 4))
    reactions: list[int] = []
    posted = 0
    while own or reactions or ms.next_event() is not None:
        nxt = min(own + reactions) if (own or reactions) else None
        e = ms.next_event(nxt) if (horizon and nxt is not None) else ms.next_event()
        t = min(x for x in (e, nxt) if x is not None)
        for h in ms.advance(t):
            if posted < n_ops:
                reactions.append(h.available + int(rng.integers(0, 30)))
        for lst in (own, reactions):
            while t in lst:
                lst.remove(t)
                a = int(rng.integers(0, 20))
                u = rng.random()
                if u < 0.5:
                    ms.send(t, (a, 0), (int(rng.integers(0, 20)), 0),
                            int(rng.integers(64, 4096)), "spike")
                elif u < 0.8:
                    ms.dram_read(t, a, int(rng.integers(0, 1 << 24)) & ~63,
                                 int(rng.integers(64, 1024)), "weights")
                else:
                    ms.dram_write(t, a, int(rng.integers(0, 1 << 24)) & ~63,
                                  int(rng.integers(64, 1024)), "state")
                posted += 1
    return ms, posted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{platform.processor() or '?'}")

    mesh = load_arch("paper-20core", ["chip.mesh.cols=4", "chip.mesh.rows=4", "chip.cores=16"])
    noc_point(mesh, "uniform", 0.1, 5, packets=1000)  # warm-up (JIT cache load)
    print("\nNoC, 4x4 mesh, uniform, 5-flit packets, 1 VC x 4 flits")
    print(f"{'rate':>6}{'packets':>9}{'cycles':>9}{'wall s':>8}{'Mcycle/s':>10}{'kpkt/s':>8}")
    for rate in (0.1, 0.3, 0.45):
        dt, row = timed(noc_point, mesh, "uniform", rate, 5, packets=100_000 // scale)
        print(f"{rate:>6}{row['packets']:>9}{row['cycles']:>9}{dt:>8.2f}"
              f"{row['cycles'] / dt / 1e6:>10.2f}{row['packets'] / dt / 1e3:>8.0f}")

    cfg = load_arch("paper-20core")
    dram_point(cfg, "random-read", 0.3, requests=1000)
    print("\nDRAM, LPDDR4-3200 x 2 channels at 500 MHz")
    print(f"{'pattern':>12}{'load':>6}{'requests':>10}{'cycles':>9}{'wall s':>8}{'kreq/s':>8}")
    for pattern, load in (("seq-read", 0.8), ("random-read", 0.4), ("mixed", 0.4)):
        dt, row = timed(dram_point, cfg, pattern, load, requests=100_000 // scale)
        print(f"{pattern:>12}{load:>6}{row['requests']:>10}{row['cycles']:>9}{dt:>8.2f}"
              f"{row['requests'] / dt / 1e3:>8.0f}")

    chip_like(200, True)
    print("\nChip-like co-simulation, 4x5 mesh + LPDDR4 (posts react to completions)")
    print(f"{'horizon':>8}{'posts':>7}{'messages':>10}{'bursts':>8}{'cycles':>9}{'wall s':>8}"
          f"{'posts/s':>9}")
    for horizon in (True, False):
        dt, (ms, posted) = timed(chip_like, 20_000 // scale, horizon)
        print(f"{str(horizon):>8}{posted:>7}{len(ms.messages):>10}{len(ms.dram):>8}"
              f"{ms._C:>9}{dt:>8.2f}{posted / dt:>9.0f}")


if __name__ == "__main__":
    main()
