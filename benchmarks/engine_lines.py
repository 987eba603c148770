"""Where the memory system's engine (``cycle.engine_run``, numba) spends its time, by source
line (docs/performance.md, "Quiet deliveries").

    python benchmarks/engine_lines.py [--top 40] -- run paper-20core vgg11-cifar10 \\
        --set workload.batch=1 --set workload.time_steps=1 --out /tmp/v11

Runs the ``neurosim`` command after arguments ``--`` under ``perf record`` (cpu-clock
samples) with the engine compiled, into a temporary numba cache, with line tables but
otherwise as shipped (numba's debug info in its "directives only" form, which keeps the
inlining that full debug info turns off, and no bounds checks): the same machine code, with
addresses that map to lines. The engine's samples are then counted per line. Needs Linux
``perf`` and ``readelf``. (``benchmarks/perf_map.py`` names the kernels as whole functions;
this goes down to lines inside the one big engine function.)

The line table names one file for all lines (the engine's ``cycle.py``) since the router,
NI and DRAM bodies are inlined into it; each line is printed with its text in ``noc.py``,
``dram.py`` and ``cycle.py`` where that is code, so read it with the source at hand: lines
above 420 are the NoC's (``noc.py``), most below are the engine loop's or a small helper's.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from perf_map import _object_symbols   # (this directory: run as a script)

SRC = Path(__file__).resolve().parents[1] / "neurosim" / "memsys"


def child(args: list, out: str) -> None:
    """Compile the engine with line tables, then run the command (without them)."""
    from numba.core import config, cpu

    from neurosim.memsys import cycle, precompile

    finalize = cpu.CPUTargetOptions.finalize

    def directives_only(self, flags, options):
        finalize(self, flags, options)
        flags.dbg_directives_only = True     # line tables; numba's debug noinline is off

    precompile.start = lambda kernel, build: False   # compiled here
    cpu.CPUTargetOptions.finalize = directives_only
    config.DEBUGINFO_DEFAULT = True
    cycle._probe_engine().run(1)
    config.DEBUGINFO_DEFAULT = False
    cpu.CPUTargetOptions.finalize = finalize
    from neurosim.cli import main

    try:
        main(args)
    except SystemExit:
        pass
    cres = next(iter(cycle.engine_run.overloads.values()))
    name = cres.fndesc.llvm_func_name
    obj = Path(out).with_suffix(".o")
    obj.write_bytes(cres.library._get_compiled_object())   # compiled here, as perf_map.py's
    offset = next(off for off, _, n in _object_symbols(str(obj)) if n == name)
    addr = cres.library.get_pointer_to_function(name)
    Path(out).write_text(json.dumps({"base": addr - offset}))


def line_table(obj: Path) -> list:
    """(address, line) rows of the object's first sequence (engine_run's, the library's
    first function)."""
    dump = subprocess.run(["readelf", "--debug-dump=decodedline", str(obj)],
                          capture_output=True, text=True, check=True).stdout
    rows, prev = [], -1
    for line in dump.splitlines():
        m = re.match(r"^\S+\.py\s+(\d+)\s+(0x[0-9a-f]+|\d+)", line)
        if not m:
            continue
        a = int(m.group(2), 0)
        if a < prev:
            break
        prev = a
        rows.append((a, int(m.group(1))))
    return rows


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[3:], sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=40, help="lines to print")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- neurosim arguments")
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "cache"), NUMBA_BOUNDSCHECK="0")
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-o",
                        str(tmp / "perf.data"), "--", sys.executable, __file__, "--child",
                        str(tmp / "engine.json"), *cmd], env=env, check=True)
        base = json.loads((tmp / "engine.json").read_text())["base"]
        rows = line_table(tmp / "engine.o")
        ips = subprocess.run(["perf", "script", "-i", str(tmp / "perf.data"), "-F", "ip"],
                             capture_output=True, text=True, check=True).stdout.split()
    starts = [r[0] for r in rows]
    end = rows[-1][0]
    counts: collections.Counter = collections.Counter()
    for ip in ips:
        off = int(ip, 16) - base
        if rows[0][0] <= off <= end:
            k = bisect.bisect_right(starts, off) - 1
            while k > 0 and rows[k][1] == 0:      # line 0: the code of the line before
                k -= 1
            counts[rows[k][1]] += 1
    total = sum(counts.values())
    print(f"{len(ips)} samples in all (compilation included), {total} in engine_run")
    src = {f: (SRC / f"{f}.py").read_text().splitlines() for f in ("noc", "dram", "cycle")}
    for line, n in counts.most_common(a.top):
        texts = []
        for f, lines in src.items():
            t = lines[line - 1].strip() if line <= len(lines) else ""
            if t and not t.startswith(('"""', "#")):
                texts.append(f"{f}: {t[:60]}")
        print(f"{n / total:6.1%} {line:5d}  " + " | ".join(texts))


if __name__ == "__main__":
    main()
