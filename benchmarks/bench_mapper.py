"""Wall time of the mapper (``map_network``) per objective, for every shipped workload.

    taskset -c 0 python benchmarks/bench_mapper.py [--cores 1,2,4,8,20] [--repeat 3]

Traces are generated (or read from the cache) before timing. Workloads one of whose layers
does not fit paper-20core-85mib's buffers even one output channel at a time are mapped with bigger
gradients, spikes and wgrad buffers (the same as tests/test_mapping.py), marked ``*``.
Prints a Markdown table: the median wall time per (workload, cores, objective) in ms, and the
DRAM bytes per step of the chosen placement (exact, spec 5.2).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from neurosim import api
from neurosim.errors import InputError
from neurosim.mapping import map_network
from neurosim.mapping import placement_traffic

BIGGER = ["core.sram.gradients.size_kib=512", "core.sram.spikes.size_kib=512",
          "core.sram.wgrad.size_kib=2048"]
OBJECTIVES = ("time", "traffic", "balanced")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", default="1,2,4,8,20")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cores = [int(c) for c in args.cores.split(",")]
    root = Path(__file__).resolve().parent.parent
    names = sorted(p.stem for p in (root / "workloads").glob("*.yaml"))
    print("| workload | cores | " + " | ".join(f"{o} (ms)" for o in OBJECTIVES) + " | "
          + " | ".join(f"{o} DRAM MB" for o in OBJECTIVES) + " |")
    print("|---|---:|" + "---:|" * (2 * len(OBJECTIVES)))
    for name in names:
        wl = api.load_workload(name)
        net = api.build_network(wl)
        trace = api.get_traces(wl, net)
        extra = []
        try:
            map_network(api.load_arch("paper-20core-85mib", ["mapping.objective=time"]), net, wl, trace)
        except InputError:
            extra = BIGGER
        for n in cores:
            ms, mb = [], []
            for objective in OBJECTIVES:
                arch = api.load_arch("paper-20core-85mib", [f"chip.cores={n}",
                                                      f"mapping.objective={objective}"] + extra)
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    pl = map_network(arch, net, wl, trace)
                    times.append(time.perf_counter() - t)
                ms.append(statistics.median(times) * 1e3)
                traffic = placement_traffic(pl, net, trace.time_steps, arch.dram.burst_bytes)
                mb.append(sum(r + w for r, w in traffic.values()) / 1e6)
            label = name + (" *" if extra else "")
            print(f"| {label} | {n} | " + " | ".join(f"{v:,.0f}" for v in ms) + " | "
                  + " | ".join(f"{v:,.1f}" for v in mb) + " |", flush=True)


if __name__ == "__main__":
    main()
