"""Wall-clock of trace production: the built-in trainer on the shipped digits workloads (fresh
cache, so they really train; then a cached read) and the synthetic generator on the big
workloads. Usage: python benchmarks/bench_traces.py [WORKLOAD ...]"""
from __future__ import annotations

import os
import sys
import tempfile
import time

from neurosim.workload import build_network, get_traces, load_workload

DEFAULT = ["mlp-digits", "convnet-digits", "vgg11-cifar10", "resnet19-cifar10",
           "vgg-cifar10dvs", "gesture-dvs128", "resnet18-imagenet"]


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NEUROSIM_CACHE"] = cache
        print(f"{'workload':<20}{'source':<11}{'first (s)':>10}{'again (s)':>10}  notes")
        for name in names:
            wl = load_workload(name)
            net = build_network(wl)
            t0 = time.perf_counter()
            tr = get_traces(wl, net)
            t1 = time.perf_counter()
            get_traces(wl, net)
            t2 = time.perf_counter()
            note = ""
            if wl.traces.source == "trainer":
                note = f"test accuracy {tr.meta['test_accuracy']:.4f}, second run from cache"
            print(f"{name:<20}{wl.traces.source:<11}{t1 - t0:>10.2f}{t2 - t1:>10.2f}  {note}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
