"""The SRAM arbiter's two kernels on calls captured from a chip run (docs/performance.md,
"Tile emission, co-simulation and run outputs").

    python benchmarks/bench_arbiter.py [--arch paper-20core] [--workload vgg-cifar10dvs]
                                       [--time-steps 2] [--calls 300] [--repeat 5]

Simulates one step of a shipped workload with the ideal NoC and DRAM (as the sensitivity
study does) and keeps the inputs of the first ``--calls`` op-stream emissions of each tile
kernel (``fp_tile``, ``bp_tile``, ``wg_tile``: a tile's op codes, built when several engines
of a core are active) and of every 4th SRAM co-simulation (``cosim``) up to ``--calls``. It
then replays them ``--repeat`` times and prints, per kernel, the calls, the ops (emission)
or co-simulated cycles, the best time per op or cycle, and a digest of every output (op
codes; stop cycle, positions, stalls and priority pointer): two versions of the kernels
compute the same thing when their digests agree. Timings move by 10-20 % between runs on
a shared machine: compare versions in alternated runs.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from neurosim import api
from neurosim.hw import core as hw_core
from neurosim.hw import engines as E
from neurosim.hw import sram

ROOT = Path(__file__).resolve().parents[1]
IDEAL = ["noc.model=ideal", "dram.model=ideal"]
TILE_KERNELS = ("fp_tile", "bp_tile", "wg_tile")


def capture(arch: str, workload: str, time_steps: int, calls: int) -> tuple[dict, list]:
    """Run the step with the kernels' entry points wrapped; returns the captured inputs."""
    emitted = {name: [] for name in TILE_KERNELS}
    cosim_calls: list = []
    seen = [0]
    materializer, cosim = hw_core._materializer, sram.cosim

    def keep_materializer(kernel, args, n, pair=False):
        got = emitted.get(kernel.py_func.__name__)
        if got is not None and len(got) < calls:
            got.append((args, n))
        return materializer(kernel, args, n, pair)

    def keep_cosim(ops, pos, active, milestone, stalls, ptr, t0, t_until, *rest):
        seen[0] += 1
        if seen[0] % 4 == 0 and len(cosim_calls) < calls:
            cosim_calls.append(([o.copy() for o in ops], pos.copy(), active.copy(),
                                milestone.copy(), stalls.copy(), ptr.copy(), t0, t_until,
                                [r.copy() for r in rest]))
        return cosim(ops, pos, active, milestone, stalls, ptr, t0, t_until, *rest)

    hw_core._materializer, sram.cosim = keep_materializer, keep_cosim
    try:
        api.run(arch, str(ROOT / "workloads" / f"{workload}.yaml"),
                IDEAL + [f"workload.time_steps={time_steps}"])
    finally:
        hw_core._materializer, sram.cosim = materializer, cosim
    return emitted, cosim_calls


def time_emission(kernel, calls: list, repeat: int) -> tuple[int, float, str]:
    """(ops, best seconds, digest of every op stream)."""
    best, digest, ops = float("inf"), hashlib.sha1(), 0
    for rep in range(repeat + 1):          # the first pass also compiles / loads the kernel
        t0 = time.perf_counter()
        for args, n in calls:
            codes = np.empty(n, np.int64)
            kernel(*args, True, codes, np.zeros(E.N_CNT, np.int64))
            if rep == 0:
                digest.update(codes.tobytes())
                ops += n
        if rep:
            best = min(best, time.perf_counter() - t0)
    return ops, best, digest.hexdigest()[:16]


def time_cosim(calls: list, repeat: int) -> tuple[int, float, str]:
    """(co-simulated cycles, best seconds, digest of every call's results)."""
    best, digest, cycles = float("inf"), hashlib.sha1(), 0
    for rep in range(repeat + 1):
        elapsed = 0.0
        for ops, pos, active, milestone, stalls, ptr, t0, t_until, rest in calls:
            pos, stalls, ptr = pos.copy(), stalls.copy(), ptr.copy()
            rest = [r.copy() for r in rest]
            start = time.perf_counter()
            stop = sram.cosim(tuple(ops), pos, active, milestone, stalls, ptr, t0, t_until,
                              *rest)
            elapsed += time.perf_counter() - start
            if rep == 0:
                digest.update(np.array([stop], np.int64).tobytes() + pos.tobytes()
                              + stalls.tobytes() + ptr.tobytes())
                cycles += stop - t0
        if rep:
            best = min(best, elapsed)
    return cycles, best, digest.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="paper-20core")
    ap.add_argument("--workload", default="vgg-cifar10dvs")
    ap.add_argument("--time-steps", type=int, default=2)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    emitted, cosim_calls = capture(a.arch, a.workload, a.time_steps, a.calls)
    print(f"{a.workload} on {a.arch}, T = {a.time_steps}, ideal NoC and DRAM; "
          f"best of {a.repeat} replays")
    print(f"{'kernel':10} {'calls':>6} {'ops / cycles':>14} {'ns each':>8}  digest")
    for name in TILE_KERNELS:
        ops, best, digest = time_emission(getattr(E, name), emitted[name], a.repeat)
        print(f"{name:10} {len(emitted[name]):6} {ops:14,} {1e9 * best / max(1, ops):8.2f}  "
              f"{digest}")
    cycles, best, digest = time_cosim(cosim_calls, a.repeat)
    print(f"{'cosim':10} {len(cosim_calls):6} {cycles:14,} {1e9 * best / max(1, cycles):8.2f}  "
          f"{digest}")


if __name__ == "__main__":
    main()
