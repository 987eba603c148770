"""Byte-for-byte check that a refactor or speed-up changed no result.

Run every shipped workload on the given arch configs before and after a change, writing each
run's ``--out`` files, then compare the two trees file by file::

    python benchmarks/compare_outputs.py run /tmp/before                 # on the old commit
    python benchmarks/compare_outputs.py run /tmp/after                  # on the new one
    python benchmarks/compare_outputs.py diff /tmp/before /tmp/after     # exit 1 on any difference

``run`` writes ``OUT/<arch>/<workload>/{stats.json,stats.csv,summary.json,placement.json}``
and ``OUT/times.tsv`` (wall seconds per run, for information only: never compared).
``--arch`` and ``--workloads`` narrow the set; ``--set KEY=VALUE`` applies overrides to every
run (e.g. the ideal interconnect). A run that fails is recorded in ``OUT/failures.tsv`` with
its one-line error, and ``diff`` compares failures too.
"""
from __future__ import annotations

import argparse
import filecmp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ("stats.json", "stats.csv", "summary.json", "placement.json")
# paper-20core-85mib: the first versions' default chip (VGG-11 fits); paper-20core's
# edge-sized VGG-11-scale runs stream about 1 GB each and take minutes
DEFAULT_ARCHS = ("paper-20core", "paper-20core-85mib", "single-core")


def shipped_workloads() -> list[str]:
    return sorted(p.stem for p in (ROOT / "workloads").glob("*.yaml"))


def run_all(out: Path, archs, workloads, overrides) -> int:
    from neurosim import api

    out.mkdir(parents=True, exist_ok=True)
    times, failures = [], []
    for arch in archs:
        for wl in workloads:
            target = out / arch / wl
            t0 = time.perf_counter()
            try:
                api.run(arch, str(ROOT / "workloads" / f"{wl}.yaml"), overrides, out_dir=target)
            except api.InputError as e:
                failures.append(f"{arch}\t{wl}\t{e}")
            dt = time.perf_counter() - t0
            times.append(f"{arch}\t{wl}\t{dt:.1f}")
            print(f"{arch:<14} {wl:<20} {dt:8.1f} s", flush=True)
    (out / "times.tsv").write_text("arch\tworkload\twall_s\n" + "\n".join(times) + "\n")
    (out / "failures.tsv").write_text("".join(f + "\n" for f in failures))
    return 0


def diff_trees(a: Path, b: Path) -> int:
    runs_a = {p.parent.relative_to(a) for p in a.glob("*/*/summary.json")}
    runs_b = {p.parent.relative_to(b) for p in b.glob("*/*/summary.json")}
    bad = 0
    for run in sorted(runs_a ^ runs_b):
        print(f"only in {'A' if run in runs_a else 'B'}: {run}")
        bad += 1
    for run in sorted(runs_a & runs_b):
        for name in COMPARED:
            fa, fb = a / run / name, b / run / name
            if not (fa.exists() and fb.exists() and filecmp.cmp(fa, fb, shallow=False)):
                print(f"DIFFERS: {run}/{name}")
                bad += 1
    fa, fb = a / "failures.tsv", b / "failures.tsv"
    if fa.exists() and fb.exists() and fa.read_text() != fb.read_text():
        print("DIFFERS: failures.tsv")
        bad += 1
    n = len(runs_a & runs_b)
    print(f"{n} runs compared ({n * len(COMPARED)} files): "
          + ("identical" if bad == 0 else f"{bad} difference(s)"))
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the workloads and write their outputs under OUT")
    r.add_argument("out", type=Path)
    r.add_argument("--arch", nargs="+", default=list(DEFAULT_ARCHS))
    r.add_argument("--workloads", nargs="+", default=None, help="default: every shipped one")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    d = sub.add_parser("diff", help="compare two trees written by 'run'")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return run_all(args.out, args.arch, args.workloads or shipped_workloads(), args.overrides)
    return diff_trees(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
