"""How much SRAM co-simulation a sensitivity point runs, adopts and throws away
(docs/performance.md, "Predictions no further than a tile's loads").

    python benchmarks/bench_cosim.py sensitivity/resnet19-cifar10/weights=512

A ``CoreArbiter`` prediction co-simulates its core's tiles up to their next milestone (or
a horizon); a sync at exactly that cycle adopts the run, a sync before it (a tile started)
throws the rest away and re-runs up to the sync. Counts cycles of each, by wrapping the
arbiter's methods (the simulation itself is unchanged).
"""
from __future__ import annotations

import sys
import time
from collections import Counter

from neurosim.hw.sram import CoreArbiter

COUNTS: Counter = Counter()


def _wrap() -> None:
    run, sync_to = CoreArbiter._run, CoreArbiter.sync_to

    def counted_run(self, until, commit):
        s0 = self.sync
        stop = run(self, until, commit)
        COUNTS["cycles co-simulated by predictions" if not commit
               else "cycles re-run up to a sync"] += stop - s0
        COUNTS["predictions co-simulated" if not commit else "re-runs"] += 1
        return stop

    def counted_sync(self, c):
        spec = self._spec
        if c > self.sync and spec is not None:   # (a prediction that co-simulated)
            if spec[0] == c:
                COUNTS["cycles adopted"] += c - self.sync
            else:
                COUNTS["cycles thrown away"] += spec[0] - c
        return sync_to(self, c)

    CoreArbiter._run, CoreArbiter.sync_to = counted_run, counted_sync


def main(argv) -> int:
    from bench_point import ARCH, points
    from neurosim.experiments.sensitivity import run_point
    from neurosim.paths import WORKLOAD_DIR

    by_key = points()
    if len(argv) != 1 or argv[0] not in by_key:
        print("usage: bench_cosim.py KEY (keys: python benchmarks/bench_point.py)",
              file=sys.stderr)
        return 2
    p = by_key[argv[0]]
    _wrap()
    t0 = time.process_time()
    run_point(ARCH, p, WORKLOAD_DIR / f"{p.workload}.yaml")
    print(f"{p.key}: {time.process_time() - t0:.1f} s CPU (wrapped)")
    for k, v in sorted(COUNTS.items()):
        print(f"  {k:40} {v:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
