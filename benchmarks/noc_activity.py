"""How much work the cycle-level NoC does in one run: busy cycles, router and NI evaluations,
DRAM channel steps (docs/performance.md, "What bounds the reproduction: the cycle-level NoC
against BookSim2").

    python benchmarks/noc_activity.py run paper-20core vgg-cifar10dvs --set workload.batch=1

The kernel keeps no such counters (any change to the code compiled into ``engine_run`` moves
its speed, docs/performance.md): this script copies the ``neurosim`` package to a temporary
directory, adds the counters to that copy's ``noc.py`` and ``cycle.py`` (in ``NocState.sc``),
runs the command's ``neurosim.api.run`` there with an empty numba cache (so it compiles,
about 30 s) and prints the counts with the run's CPU seconds. Arguments after ``run``: arch,
workload and ``--set KEY=VALUE`` overrides.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (file, exact text, replacement): each must match once
EDITS = [
    ("memsys/noc.py", "        sc=z(3),", "        sc=z(12),"),
    ("memsys/noc.py",
     "        if ep_wake[e] > c:\n            continue\n        r = e >> 1",
     "        if ep_wake[e] > c:\n            continue\n        sc[11] += 1\n        r = e >> 1"),
    ("memsys/noc.py",
     "    if sc[1] > 0 or sc[2] > 0:\n        _ni_cycle(P, N, c, pb)\n"
     "    for r in range(rs.shape[0]):\n"
     "        if rs[r, RS_NLOAD] > 0 and rs[r, RS_WAKE] <= c:\n"
     "            _router_cycle(P, N, r, c, pb)",
     "    sc[4] += 1\n    if sc[1] > 0 or sc[2] > 0:\n        sc[5] += 1\n"
     "        _ni_cycle(P, N, c, pb)\n    any_r = 0\n    for r in range(rs.shape[0]):\n"
     "        if rs[r, RS_NLOAD] > 0:\n            sc[8] += 1\n"
     "        if rs[r, RS_NLOAD] > 0 and rs[r, RS_WAKE] <= c:\n            sc[6] += 1\n"
     "            any_r = 1\n            _router_cycle(P, N, r, c, pb)\n    sc[7] += any_r"),
    ("memsys/cycle.py",
     "                if dm.dram_channel_due(D, ch, c):\n                    n0 = cf_cnt[ch]",
     "                if dm.dram_channel_due(D, ch, c):\n                    noc_sc[9] += 1\n"
     "                    n0 = cf_cnt[ch]"),
]
COUNTERS = {4: "busy NoC cycles (noc_cycle calls)", 5: "cycles with NIs evaluated",
            11: "NI evaluations", 6: "router evaluations", 7: "cycles with a router evaluated",
            8: "router-cycles holding flits", 9: "DRAM channel steps"}

CHILD = r"""
import sys, time
from neurosim import api
from neurosim.memsys import cycle
engines = []
run = cycle.Engine.run
def counted(self, *a, **k):
    if not engines or engines[-1] is not self:
        engines.append(self)
    return run(self, *a, **k)
cycle.Engine.run = counted
t = time.process_time()
res = api.run(sys.argv[1], sys.argv[2], sys.argv[3:])
cpu = time.process_time() - t
e = engines[-1]
print("cycles", int(e.G), "cpu_s", round(cpu, 1))
for k in %s:
    print(k, int(e.N.sc[k]))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("verb", choices=["run"])
    ap.add_argument("arch")
    ap.add_argument("workload")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="noc-activity-") as tmp:
        pkg = Path(tmp) / "neurosim"
        shutil.copytree(ROOT / "neurosim", pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
        for rel, old, new in EDITS:
            f = pkg / rel
            text = f.read_text()
            if text.count(old) != 1:
                sys.exit(f"noc_activity.py: {rel} no longer has the code this script "
                         f"instruments (update EDITS): {old.splitlines()[0]!r}")
            f.write_text(text.replace(old, new))
        env = dict(os.environ, PYTHONPATH=tmp, NUMBA_CACHE_DIR=str(Path(tmp) / "numba"))
        out = subprocess.run([sys.executable, "-c", CHILD % (list(COUNTERS),), args.arch,
                              args.workload, *args.set], env=env, cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.split("\n")
    head = out[0].split()
    what = " ".join([args.arch, args.workload] + [f"--set {kv}" for kv in args.set])
    print(f"{what}: {int(head[1]):,} cycles, "
          f"{head[3]} s CPU (instrumented, compiled in the run)")
    for line in out[1:]:
        if line.strip():
            k, v = line.split()
            print(f"  {COUNTERS[int(k)]:34s} {int(v):>15,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
