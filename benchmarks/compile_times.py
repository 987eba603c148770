"""Cold-cache numba compilation time of one run, per compiled function
(docs/performance.md, "Compile time").

    python benchmarks/compile_times.py [--arch paper-20core-85mib] [--workload mlp-digits] [--top 30]

Runs ``neurosim.api.run(arch, workload)`` in this process with numba's cache pointed at a new
empty directory (so every kernel is compiled, as on the first run after an install) and
prints the run's wall and CPU seconds, then the slowest compilations: wall seconds from
numba's ``numba:compile`` event (a function's time includes that of the callees it
compiles), the function, and its argument types when short. A function listed more than
once was compiled for more than one signature.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="paper-20core-85mib")
    ap.add_argument("--workload", default="mlp-digits")
    ap.add_argument("--top", type=int, default=30, help="compilations listed")
    args = ap.parse_args(argv)
    cache = tempfile.TemporaryDirectory(prefix="numba-cold-")
    os.environ["NUMBA_CACHE_DIR"] = cache.name   # read when numba is first imported

    from numba.core import event

    class CompileTimes(event.Listener):
        def __init__(self):
            self.started: dict = {}
            self.rows: list = []

        def on_start(self, ev):
            self.started[id(ev.data["dispatcher"])] = time.perf_counter()

        def on_end(self, ev):
            dispatcher = ev.data["dispatcher"]
            seconds = time.perf_counter() - self.started.pop(id(dispatcher))
            name = f"{dispatcher.py_func.__module__}.{dispatcher.py_func.__qualname__}"
            types = [str(t) for t in ev.data["args"]]
            self.rows.append((seconds, name, ", ".join(t if len(t) < 40 else "..." for t in types)))

    listener = CompileTimes()
    event.register("numba:compile", listener)
    from neurosim import api
    from neurosim.memsys import precompile

    precompile.start = lambda kernel, build: False   # every kernel compiled here, listed

    wall, cpu = time.perf_counter(), time.process_time()
    api.run(args.arch, args.workload)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{args.arch} {args.workload}, empty numba cache: {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{len(listener.rows)} compilations")
    for seconds, name, types in sorted(listener.rows, reverse=True)[:args.top]:
        print(f"{seconds:7.2f}  {name}({types})")
    cache.cleanup()


if __name__ == "__main__":
    main()
