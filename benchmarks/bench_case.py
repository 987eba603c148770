"""The event model on `neurosim validate`'s cases: its time on one case, and a digest of its
full results on many (docs/performance.md, "The validate cases' Python").

    python benchmarks/bench_case.py time 643 [--seed 0] [--runs 150] [--reference]
    python benchmarks/bench_case.py digest 700 [--seed 0]

``time``: the minimum and median wall milliseconds of ``neurosim.hw.chip.simulate`` on case
INDEX of the run seeded ``--seed`` (case 643 of seed 0 is the largest of ``neurosim validate
--cases 2000``, whose speed ratio issue 17 asks for), after three warm-up runs; with
``--reference``, also the reference model's time on it and the ratio, as ``validate``
prints it (one reference run and one model run after it, three times).

``digest``: a SHA-256 of every result of cases 0 .. N-1 (total cycles, tile, message and
DRAM records, counters, and the extra data but its wall time): equal before and after a
change that keeps the results byte-identical, down to the activity samples and statistics
that ``validate`` does not compare.
"""
from __future__ import annotations

import argparse
import hashlib
import time

from neurosim.hw.chip import simulate
from neurosim.validation.strategies import seeded_case


def _args(case):
    return (case.arch, case.network, case.trace, case.placement)


def time_case(index: int, seed: int, runs: int, reference: bool) -> None:
    case = seeded_case(seed, index)
    print(case.describe())
    for _ in range(3):
        simulate(*_args(case), momentum=case.momentum)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        simulate(*_args(case), momentum=case.momentum)
        ms.append(1e3 * (time.perf_counter() - t0))
    ms.sort()
    print(f"event model: min {ms[0]:.2f} ms, median {ms[len(ms) // 2]:.2f} ms "
          f"over {runs} runs")
    if reference:
        from neurosim.reference import simulate as reference_simulate
        for _ in range(3):
            t0 = time.perf_counter()
            reference_simulate(*_args(case), momentum=case.momentum)
            t1 = time.perf_counter()
            simulate(*_args(case), momentum=case.momentum)
            t2 = time.perf_counter()
            print(f"reference {t1 - t0:.3f} s, event model right after it "
                  f"{1e3 * (t2 - t1):.1f} ms: ratio {(t1 - t0) / (t2 - t1):.1f}")


def digest(n: int, seed: int) -> str:
    h = hashlib.sha256()
    for i in range(n):
        case = seeded_case(seed, i)
        r = simulate(*_args(case), momentum=case.momentum)
        extra = {k: v for k, v in r.extra.items() if k != "wall_s"}
        h.update(repr([r.total_cycles, list(r.tiles), list(r.messages), list(r.dram),
                       sorted(r.counters.items()), sorted(extra.items())]).encode())
    return h.hexdigest()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("time", help="time the event model on one case")
    t.add_argument("index", type=int)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--runs", type=int, default=150)
    t.add_argument("--reference", action="store_true",
                   help="also time the reference model and print the ratio")
    d = sub.add_parser("digest", help="digest of the event model's results on cases 0..N-1")
    d.add_argument("n", type=int)
    d.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.what == "time":
        time_case(args.index, args.seed, args.runs, args.reference)
    else:
        print(f"cases 0..{args.n - 1} of seed {args.seed}: {digest(args.n, args.seed)}")


if __name__ == "__main__":
    main()
