"""Steps back to back in one process, as a reproduce worker or a sweep runs them: CPU time,
peak memory and the garbage collector's time per step (docs/performance.md, "Garbage
collection, tile emission, co-simulation and run outputs").

    python benchmarks/bench_gc.py ARCH WORKLOAD [--set KEY=VALUE ...] [--steps 3]

Each step is ``neurosim.api.run(ARCH, WORKLOAD, overrides)`` with its result dropped before
the next. Per step it prints the process's CPU seconds so far, its peak resident memory so
far, and the seconds spent in collections of each generation during that step (timed with
``gc.callbacks``: a sampling profiler attributes a collection to whatever line allocated).
Memory that grows step after step is records of finished steps kept alive.
"""
from __future__ import annotations

import argparse
import gc
import resource
import time
from collections import defaultdict

from neurosim import api


class CollectionTimer:
    """CPU seconds and count of the collections of each generation (gc.callbacks)."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.count = defaultdict(int)
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase, info):
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._start
            self.count[info["generation"]] += 1

    def take(self) -> str:
        """The collections since the last call, as text; resets."""
        out = ", ".join(f"gen{g} {self.count[g]} x {self.seconds[g]:.2f} s"
                        for g in sorted(self.count)) or "none"
        self.seconds.clear()
        self.count.clear()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arch")
    ap.add_argument("workload")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE")
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    timer = CollectionTimer()
    cpu0 = time.process_time()
    for i in range(a.steps):
        res = api.run(a.arch, a.workload, a.overrides)
        cycles = res.summary["total_cycles"]
        del res
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"step {i + 1}: {cycles:,} cycles; CPU so far {time.process_time() - cpu0:.1f} s, "
              f"peak {peak:.0f} MiB; collections {timer.take()}", flush=True)


if __name__ == "__main__":
    main()
