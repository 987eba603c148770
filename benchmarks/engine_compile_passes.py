"""Where the memory system's engine compilation goes, by numba pass (docs/performance.md,
"The engine compiles 9 s faster").

    python benchmarks/engine_compile_passes.py [--top 8]

With numba's cache pointed at a new empty directory: compiles the DRAM kernels the engine
calls (as ``api.prepare_kernels`` does first), then ``cycle.engine_run`` on an engine of
both cycle-level models (one cycle of it), and prints the seconds of each, then
``engine_run``'s compile passes (``get_metadata(sig)["pipeline_times"]``), slowest first.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=8, help="passes listed")
    args = ap.parse_args(argv)
    cache = tempfile.TemporaryDirectory(prefix="numba-cold-")
    os.environ["NUMBA_CACHE_DIR"] = cache.name   # read when numba is first imported

    from neurosim.memsys import cycle

    t0 = time.perf_counter()
    cycle.compile_dram_kernels()
    t1 = time.perf_counter()
    cycle._probe_engine().run(1)
    t2 = time.perf_counter()
    print(f"DRAM kernels {t1 - t0:.1f} s, engine_run {t2 - t1:.1f} s")
    sig = cycle.engine_run.signatures[0]
    for pipeline, passes in cycle.engine_run.get_metadata(sig)["pipeline_times"].items():
        rows = sorted(((t.init + t.run + t.finalize, name) for name, t in passes.items()),
                      reverse=True)
        print(f"{pipeline}: {sum(s for s, _ in rows):.1f} s")
        for s, name in rows[:args.top]:
            print(f"  {s:6.2f} s  {name}")


if __name__ == "__main__":
    main()
