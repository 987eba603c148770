"""One simulation of the reproduction's sensitivity study, as ``neurosim reproduce`` runs it
(docs/performance.md, "Where the reproduction's CPU goes"): its CPU seconds and cycles.

    python benchmarks/bench_point.py                 # list the points' keys
    python benchmarks/bench_point.py sensitivity/vgg-cifar10dvs/weights=256
"""
from __future__ import annotations

import sys
import time

from neurosim.experiments.reproduce import shipped_workloads
from neurosim.experiments.sensitivity import run_point, study_points
from neurosim.paths import WORKLOAD_DIR

ARCH = "arch_configs/paper-20core.yaml"


def points() -> dict:
    """The study's points by key."""
    return {p.key: p for p in study_points(ARCH, shipped_workloads(), False, "ideal")}


def main(argv) -> int:
    by_key = points()
    if not argv:
        print("\n".join(by_key))
        return 0
    if argv[0] not in by_key:
        print(f"bench_point.py: {argv[0]}: not a point of the study (run without arguments "
              "for the list)", file=sys.stderr)
        return 2
    p = by_key[argv[0]]
    t0 = time.process_time()
    summary = run_point(ARCH, p, WORKLOAD_DIR / f"{p.workload}.yaml")
    print(f"{p.key}: {time.process_time() - t0:.1f} s CPU, "
          f"{summary.get('total_cycles')} cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
