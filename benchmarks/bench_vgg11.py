"""Wall time of one VGG-11 CIFAR-10 training step in the event-driven model.

    taskset -c 0 python benchmarks/bench_vgg11.py [--arch paper-20core-85mib single-core] [--repeat 3]
        [--set noc.model=cycle dram.model=cycle]

Pin to one CPU core with ``taskset``. The numba kernels are compiled (or loaded from the
cache) by a warm-up run on a tiny workload first, so the figures are simulation time, not
compilation time. Prints one Markdown table row per arch config.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from neurosim import api
from neurosim.hw.chip import simulate
from neurosim.mapping import map_network
from neurosim.hw.report import build_stats, summarize

TINY = {"name": "warmup", "time_steps": 2, "batch": 2,
        "network": {"input": {"shape": [2, 8, 8], "coding": "dvs"}, "layers": [
            {"name": "c1", "type": "conv2d", "out_channels": 4},
            {"type": "maxpool", "kernel": 2}, {"type": "flatten"},
            {"name": "fc", "type": "linear", "out": 3}]}}


def bench(arch_name: str, workload: str, repeat: int, overrides=()) -> dict:
    arch = api.load_arch(arch_name, list(overrides))
    wl = api.load_workload(workload)
    net = api.build_network(wl)
    t = time.perf_counter()
    trace = api.get_traces(wl, net)
    t_trace = time.perf_counter() - t
    t = time.perf_counter()
    placement = map_network(arch, net, wl, trace)
    t_map = time.perf_counter() - t
    sims, reports = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        res = simulate(arch, net, trace, placement)
        sims.append(time.perf_counter() - t)
        t = time.perf_counter()
        summary = summarize(arch, res, build_stats(arch, net, placement, res, trace.batch,
                                                   trace.time_steps))
        reports.append(time.perf_counter() - t)
    return {"arch": arch_name, "cycles": summary["total_cycles"], "tiles": len(res.tiles),
            "cosim": res.extra["cosim_cycles"], "dram_requests": len(res.dram),
            "trace": t_trace, "map": t_map, "sim": statistics.median(sims),
            "sim_min": min(sims), "stats": statistics.median(reports)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=["paper-20core-85mib", "single-core"])
    ap.add_argument("--workload", default="vgg11-cifar10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="arch overrides, e.g. noc.model=cycle dram.model=cycle")
    args = ap.parse_args()
    t = time.perf_counter()
    api.run("single-core", TINY)          # compile or load the numba kernels
    if args.set:
        api.run("single-core", TINY, args.set)
    warm = time.perf_counter() - t
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"warm-up (numba compile/cache load): {warm:.2f} s; CPU cores available: {cpus}")
    print("| arch | step cycles | tiles | co-simulated cycles | DRAM requests | trace gen (s) "
          "| mapping (s) | simulate (s, median / min) | stats (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for a in args.arch:
        r = bench(a, args.workload, args.repeat, args.set)
        name = " ".join([r['arch']] + args.set)
        print(f"| {name} | {r['cycles']:,} | {r['tiles']:,} | {r['cosim']:,} | "
              f"{r['dram_requests']:,} | {r['trace']:.2f} | {r['map']:.2f} | "
              f"{r['sim']:.2f} / {r['sim_min']:.2f} | {r['stats']:.2f} |")


if __name__ == "__main__":
    main()
