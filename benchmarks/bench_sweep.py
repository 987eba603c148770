"""Sweep throughput on 1 and 2 local Dask workers (and, for contrast, 2 threads in one
worker process), with identical rows checked across the runs.

    python benchmarks/bench_sweep.py                      # fake CPU-bound runner (tests/fake_runner.py)
    python benchmarks/bench_sweep.py --runner neurosim.api:run --spec workloads/sweeps/vgg11-cores.yaml

The fake runner's points spin a GIL-holding pure-Python loop (NEUROSIM_FAKE_WORK iterations),
like a simulation that holds the GIL, so threads cannot overlap and processes can. Wall
times include starting the local cluster. Prints a Markdown table for docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _spin(n: int) -> float:
    """The fake runner's loop, timed (for the machine's own parallelism ceiling)."""
    t = time.perf_counter()
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % 1000003
    return time.perf_counter() - t


def raw_speedup(work: int, tasks: int = 4) -> float:
    """Wall time of `tasks` loops on 1 plain process over that on 2: the most any two
    workers can gain on this machine right now (other load included)."""
    import multiprocessing as mp

    walls = []
    for n in (1, 2):
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(n) as pool:
            pool.map(_spin, [work] * tasks)
        walls.append(time.perf_counter() - t)
    return walls[0] / walls[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", default=None, help="sweep spec (default: 8 core counts x 2 "
                    "time-step counts on paper-20core-85mib x vgg11-cifar10, 16 points)")
    ap.add_argument("--runner", default="fake_runner:run")
    ap.add_argument("--work", type=int, default=8_000_000,
                    help="fake runner: loop iterations per point")
    ap.add_argument("--sleep", type=float, default=0.0,
                    help="fake runner: seconds each point sleeps (points that wait, not "
                    "compute: measures the sweep's own dispatch overhead)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration (min kept)")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "tests"))  # the fake runner; spawned workers inherit it
    os.environ["NEUROSIM_FAKE_WORK"] = str(args.work)
    os.environ["NEUROSIM_FAKE_SLEEP"] = str(args.sleep)
    from neurosim.sweep import RUN_COLUMNS, ResultStore, run_sweep

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    spec = args.spec
    if spec is None:
        spec = tmp / "bench.yaml"
        spec.write_text(f"arch: {ROOT / 'arch_configs/paper-20core-85mib.yaml'}\n"
                        f"workload: {ROOT / 'workloads/vgg11-cifar10.yaml'}\n"
                        "grid: {chip.cores: [1, 2, 3, 4, 5, 6, 8, 9], "
                        "workload.time_steps: [2, 4]}\n")
    configs = [("1 worker process", dict(workers=1)),
               ("2 worker processes", dict(workers=2)),
               ("1 worker process, 2 threads", dict(workers=1, threads_per_worker=2))]
    times, rows, point_s = {}, {}, {}
    ceiling = [raw_speedup(args.work)] if args.work else []
    # Interleaved (A, B, C, A, B, C, ...) so that other load on the machine hits every
    # configuration alike; the best run of each is kept.
    for r in range(args.repeat):
        for label, kw in configs:
            db = tmp / f"{label.replace(' ', '_').replace(',', '')}-{r}.db"
            t0 = time.perf_counter()
            rep = run_sweep(spec, db=db, point_runner=args.runner, progress=False, **kw)
            wall = time.perf_counter() - t0
            assert not rep.lost, rep.line()
            if wall < times.get(label, float("inf")):
                times[label] = wall
                with ResultStore(db, create=False) as s:
                    point_s[label] = sum(x["wall_s"] for x in s.rows()) / len(s.rows())
            with ResultStore(db, create=False) as s:
                rows[label] = [{k: v for k, v in x.items() if k not in RUN_COLUMNS}
                               for x in s.rows()]
                n = len(rows[label])
    if args.work:
        ceiling.append(raw_speedup(args.work))
    load = os.getloadavg()
    same = all(rows[l] == rows[configs[0][0]] for l, _ in configs)
    base = times[configs[0][0]]
    print(f"sweep of {n} points, runner {args.runner}"
          + (f" (NEUROSIM_FAKE_WORK={args.work}, NEUROSIM_FAKE_SLEEP={args.sleep})"
             if args.runner.startswith("fake") else "")
          + f"; {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; best of {args.repeat}; load average "
          f"{load[0]:.1f} at the end (other processes share the CPUs)")
    print()
    print("| local cluster | sweep wall time (s) | mean time of one point (s) | "
          "speed-up over 1 worker |")
    print("|---|---|---|---|")
    for label, _ in configs:
        print(f"| {label} | {times[label]:.2f} | {point_s[label]:.2f} | "
              f"{base / times[label]:.2f} |")
    print()
    if ceiling:
        print("plain multiprocessing on the same loop, 2 processes vs 1 (before, after): "
              + ", ".join(f"{c:.2f}" for c in ceiling)
              + " -- the most two workers can gain on this machine at the time")
    print(f"rows identical across the runs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
