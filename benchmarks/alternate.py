"""Time one command on two trees, alternately (docs/performance.md: "A measurement note").

    git worktree add --detach ../base main
    python benchmarks/alternate.py --base ../base --rounds 3 -- \\
        python benchmarks/bench_point.py sensitivity/resnet19-cifar10/weights=512
    python benchmarks/alternate.py --base ../base -- \\
        python -m neurosim run paper-20core vgg11-cifar10 --set workload.batch=1 --out OUT

Runs the command in the base tree (A) and in this one (B), one at a time, ``--rounds``
times each, with the tree as the working directory and on ``PYTHONPATH``; prints each run's
CPU seconds (user + system of the command and its children) and the last line of its
output, then the minimum per tree. Two runs at the same time on a 2-core machine differ by
up to 12 % with the same code, and one after the other by up to 10 %: compare minima of
alternated runs. ``OUT`` in the command becomes a new directory per tree (printed); with
``--out-files``, the named files of the two are compared byte for byte.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run_once(tree: Path, cmd: list, tag: str, out: Path) -> tuple[float, str]:
    cmd = [str(out) if a == "OUT" else a for a in cmd]
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        sys.exit(f"alternate.py: {tag}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    lines = proc.stdout.strip().splitlines()
    return cpu, lines[-1] if lines else ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="the other tree (A)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out-files", nargs="*", default=[],
                    help="files of the two OUT directories to compare byte for byte")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command (give it after --)")
    trees = {"A": a.base.resolve(), "B": HERE}
    root = Path(tempfile.mkdtemp(prefix="alternate-"))
    outs = {tag: root / tag for tag in trees}
    if "OUT" in cmd:
        print(f"OUT: {outs['A']} (A), {outs['B']} (B)")
    best = {"A": float("inf"), "B": float("inf")}
    for i in range(1, a.rounds + 1):
        for tag, tree in trees.items():
            cpu, last = run_once(tree, cmd, tag, outs[tag])
            best[tag] = min(best[tag], cpu)
            print(f"{tag} round {i}: {cpu:7.1f} s CPU  {last}", flush=True)
    print(f"min A {best['A']:.1f} s, B {best['B']:.1f} s: "
          f"{100 * (best['B'] / best['A'] - 1):+.1f} %")
    for f in a.out_files:
        same = filecmp.cmp(outs["A"] / f, outs["B"] / f, shallow=False)
        print(f"{f}: {'identical' if same else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
