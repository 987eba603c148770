"""What a step's Python heap holds when the simulation ends (docs/performance.md, "Op codes in
reused buffers, a leaner message path, dependencies met without events").

    python benchmarks/heap_at_end.py sensitivity/resnet19-cifar10/weights=512 [--top 25]

Runs one point of the reproduction's sensitivity study (``benchmarks/bench_point.py`` keys)
under ``tracemalloc`` (about 5x slower) and, at the end of ``ChipModel.run``, prints the
traced total and the source lines holding the most memory (size, number of blocks).
"""
from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("key", help="a point of the study (bench_point.py lists them)")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    tracemalloc.start(1)
    from bench_point import main as bench_point
    from neurosim.hw import chip

    run = chip.ChipModel.run

    def run_and_report(model):
        result = run(model)
        stats = tracemalloc.take_snapshot().statistics("lineno")
        print(f"traced at the end of ChipModel.run: {sum(s.size for s in stats) / 1e6:.1f} MB")
        for s in stats[:args.top]:
            frame = s.traceback[0]
            print(f"{s.size / 1e6:8.1f} MB {s.count:9d}  {frame.filename}:{frame.lineno}")
        return result

    chip.ChipModel.run = run_and_report
    return bench_point([args.key])


if __name__ == "__main__":
    sys.exit(main())
