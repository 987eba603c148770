"""How much work the cycle-level NoC does in one run: busy cycles, router and NI evaluations,
the allocations they start (one request, or iSLIP over several), DRAM channel steps, and the
router evaluations by which of their phases did something (docs/performance.md, "What
bounds the reproduction: the cycle-level NoC against BookSim2"; "Where a router evaluation's
time goes, by machine-code address").

    python benchmarks/noc_activity.py run paper-20core vgg-cifar10dvs --set workload.batch=1
    python benchmarks/noc_activity.py case 643 [--seed 0]

The kernel keeps no such counters (any change to the code compiled into ``engine_run`` moves
its speed, docs/performance.md): this script copies the ``neurosim`` package to a temporary
directory, adds the counters to that copy's ``noc.py`` and ``cycle.py`` (in ``NocState.sc``),
runs the command's ``neurosim.api.run`` (``run``: arch, workload and ``--set KEY=VALUE``
overrides) or the event model on a ``neurosim validate`` case (``case``) there with an empty
numba cache (so it compiles, 30-50 s) and prints the counts with the run's CPU seconds.
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
    # the allocations a router evaluation starts: one request (no iSLIP), or iSLIP
    ("memsys/noc.py",
     '    c)`` (a call of its own, not one inlined here: cycle.engine_run)."""\n',
     '    c)`` (a call of its own, not one inlined here: cycle.engine_run)."""\n'
     "    act = N.sc\n    mk = 0\n"),
    ("memsys/noc.py",
     "    if not single and rs[r, RS_SQ_STARTED + STAGE_VA] == 0 and n_va > 0:\n",
     "    if not single and rs[r, RS_SQ_STARTED + STAGE_VA] == 0 and n_va > 0:\n"
     "        act[14] += 1\n"),
    ("memsys/noc.py",
     "        if nfree <= 1:\n            single = True\n",
     "        if nfree <= 1:\n            single = True\n            act[10] += 1\n"),
    ("memsys/noc.py",
     "    if rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa == 1:\n",
     "    if rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa == 1:\n        act[12] += 1\n"),
    ("memsys/noc.py",
     "    elif rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa > 0:\n",
     "    elif rs[r, RS_SQ_STARTED + STAGE_SA] == 0 and n_sa > 0:\n        act[13] += 1\n"),
    ("memsys/noc.py",
     "        if ep_wake[e] > c:\n            continue\n        r = e >> 1",
     "        if ep_wake[e] > c:\n            continue\n        sc[11] += 1\n        r = e >> 1"),
    ("memsys/noc.py",
     "    sc[0] = 0\n    if sc[1] == 0 and sc[2] == 0:",
     "    sc[0] = 0\n    sc[4] += 1\n    if sc[1] == 0 and sc[2] == 0:"),
    ("memsys/noc.py",
     "        return\n    par = N.par\n    rs = N.rs\n    ep_head = N.ep_head\n",
     "        return\n    sc[5] += 1\n    par = N.par\n    rs = N.rs\n    ep_head = N.ep_head\n"),
    ("memsys/cycle.py",
     "            nm.ni_cycle(P, N, c, pb)\n"
     "            noc_rs = N.rs   # (bound here: one more array live across the loop "
     "costs spills)\n"
     "            for rt in range(noc_rs.shape[0]):\n"
     "                if noc_rs[rt, nm.RS_WAKE] <= c:\n"
     "                    nm.router_cycle(P, N, rt, c, pb)\n"
     "                    noc_rs[rt, nm.RS_WAKE] = nm.router_wake(N, rt, c)\n",
     "            nm.ni_cycle(P, N, c, pb)\n"
     "            noc_rs = N.rs\n"
     "            any_r = 0\n"
     "            for rt in range(noc_rs.shape[0]):\n"
     "                if noc_rs[rt, nm.RS_NLOAD] > 0:\n"
     "                    noc_sc[8] += 1\n"
     "                if noc_rs[rt, nm.RS_WAKE] <= c:\n"
     "                    noc_sc[6] += 1\n"
     "                    any_r = 1\n"
     # an evaluation that changed none of the router's control scalars but its wake (every
     # event -- a flit or credit taken, a stage started or completed, a flit sent -- moves a
     # FIFO head, count or stage field) did nothing: a wake earlier than needed
     "                    h0 = 0\n"
     "                    for x in range(nm.RS_WAKE):\n"
     "                        h0 = h0 * 1000003 + noc_rs[rt, x]\n"
     "                    nm.router_cycle(P, N, rt, c, pb)\n"
     "                    noc_rs[rt, nm.RS_WAKE] = nm.router_wake(N, rt, c)\n"
     "                    h1 = 0\n"
     "                    for x in range(nm.RS_WAKE):\n"
     "                        h1 = h1 * 1000003 + noc_rs[rt, x]\n"
     "                    if h0 == h1:\n"
     "                        noc_sc[15] += 1\n"
     "            noc_sc[7] += any_r\n"),
    ("memsys/cycle.py",
     "                if dm.dram_channel_due(D, ch, c):\n                    n0 = cf_cnt[ch]",
     "                if dm.dram_channel_due(D, ch, c):\n                    noc_sc[9] += 1\n"
     "                    n0 = cf_cnt[ch]"),
]
# Evaluation classes: which phases of router_cycle did something in an evaluation (a bit
# each, in this order); sc[CLASS_AT + bits] counts the evaluations of each combination
PHASES = ("receive", "credit", "start RT", "start VA", "start SA", "start ST",
          "end RT", "end VA", "end SA", "end ST", "send")
CLASS_AT = 16
EDITS += [
    ("memsys/noc.py", "        sc=z(3),", f"        sc=z({CLASS_AT + (1 << len(PHASES))}),"),
    ("memsys/noc.py",
     "                _sq_push(sq, rs, r, STAGE_SA, i * V + v)\n    for o in range(NPORTS):\n",
     "                _sq_push(sq, rs, r, STAGE_SA, i * V + v)\n            mk |= 1\n"
     "    for o in range(NPORTS):\n"),
    ("memsys/noc.py",
     "            vs[r, o, cr_vc[r, o, h], VS_CREDITS] += 1\n",
     "            vs[r, o, cr_vc[r, o, h], VS_CREDITS] += 1\n            mk |= 2\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_RT] = rs[r, RS_SQ_CNT + STAGE_RT]\n",
     "        rs[r, RS_SQ_STARTED + STAGE_RT] = rs[r, RS_SQ_CNT + STAGE_RT]\n        mk |= 4\n"),
    ("memsys/noc.py",
     "            rs[r, RS_SQ_STARTED + STAGE_VA] = 1\n",
     "            rs[r, RS_SQ_STARTED + STAGE_VA] = 1\n            mk |= 8\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_VA] = n_va\n",
     "        rs[r, RS_SQ_STARTED + STAGE_VA] = n_va\n        mk |= 8\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = 1\n",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = 1\n        mk |= 16\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = n_sa\n",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = n_sa\n        mk |= 16\n"),
    ("memsys/noc.py",
     "        rs[r, RS_XQ_STARTED] = rs[r, RS_XQ_CNT]\n",
     "        rs[r, RS_XQ_STARTED] = rs[r, RS_XQ_CNT]\n        mk |= 32\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_RT] = 0\n",
     "        rs[r, RS_SQ_STARTED + STAGE_RT] = 0\n        mk |= 64\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_VA] = 0\n",
     "        rs[r, RS_SQ_STARTED + STAGE_VA] = 0\n        mk |= 128\n"),
    ("memsys/noc.py",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = 0\n",
     "        rs[r, RS_SQ_STARTED + STAGE_SA] = 0\n        mk |= 256\n"),
    ("memsys/noc.py",
     "        rs[r, RS_XQ_STARTED] = 0\n",
     "        rs[r, RS_XQ_STARTED] = 0\n        mk |= 512\n"),
    ("memsys/noc.py",
     "        rs[r, RS_NLOAD] -= 1\n",
     "        rs[r, RS_NLOAD] -= 1\n        mk |= 1024\n"),
    ("memsys/noc.py",
     "                     OPPOSITE[o], c + 1 + par[PAR_LINK], f, w)\n\n\n",
     "                     OPPOSITE[o], c + 1 + par[PAR_LINK], f, w)\n    act[CLASS_AT + mk] += 1\n"
     "\n\n"),
    ("memsys/noc.py", "INF_CYCLE = 1 << 62\n", f"INF_CYCLE = 1 << 62\nCLASS_AT = {CLASS_AT}\n"),
]
COUNTERS = {4: "busy NoC cycles (ni_cycle calls)", 5: "cycles with NIs evaluated",
            11: "NI evaluations", 6: "router evaluations", 7: "cycles with a router evaluated",
            8: "router-cycles holding flits", 9: "DRAM channel steps",
            10: "VC allocations, one request", 14: "VC allocations by iSLIP",
            12: "switch allocations, one request", 13: "switch allocations by iSLIP",
            15: "router evaluations changing nothing"}

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
if sys.argv[1] == "case":
    from neurosim.hw.chip import simulate
    from neurosim.validation.strategies import seeded_case
    case = seeded_case(int(sys.argv[3]), int(sys.argv[2]))
    simulate(case.arch, case.network, case.trace, case.placement, momentum=case.momentum)
else:
    api.run(sys.argv[2], sys.argv[3], sys.argv[4:])
cpu = time.process_time() - t
e = engines[-1]
print("cycles", int(e.G), "cpu_s", round(cpu, 1))
for k in %s:
    print(k, int(e.N.sc[k]))
for m, n in enumerate(e.N.sc[%d:].tolist()):
    if n:
        print("class", m, n)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="a neurosim run")
    r.add_argument("arch")
    r.add_argument("workload")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    c = sub.add_parser("case", help="the event model on a neurosim validate case")
    c.add_argument("index", type=int)
    c.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.verb == "case":
        child_args = ["case", str(args.index), str(args.seed)]
        what = f"validate case {args.index} of seed {args.seed}"
    else:
        child_args = ["run", args.arch, args.workload, *args.set]
        what = " ".join([args.arch, args.workload] + [f"--set {kv}" for kv in args.set])
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
        proc = subprocess.run([sys.executable, "-c", CHILD % (list(COUNTERS), CLASS_AT),
                               *child_args], env=env, cwd=tmp, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"noc_activity.py: the instrumented run failed:\n{proc.stderr[-3000:]}")
        out = proc.stdout.split("\n")
    head = out[0].split()
    print(f"{what}: {int(head[1]):,} cycles, "
          f"{head[3]} s CPU (instrumented, compiled in the run)")
    classes = {}
    for line in out[1:]:
        if line.startswith("class"):
            _, m, n = line.split()
            classes[int(m)] = int(n)
        elif line.strip():
            k, v = line.split()
            print(f"  {COUNTERS[int(k)]:34s} {int(v):>15,d}")
    total = sum(classes.values())
    print(f"router evaluations by the phases that did something ({len(classes)} "
          "combinations; the most frequent):")
    for m, n in sorted(classes.items(), key=lambda kv: -kv[1])[:12]:
        names = ", ".join(p for b, p in enumerate(PHASES) if m >> b & 1) or "nothing"
        print(f"  {100 * n / total:5.1f} %  {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
