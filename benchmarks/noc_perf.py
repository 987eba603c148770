"""Where the NoC kernel's time goes, by machine-code address (docs/performance.md, "Where a
router evaluation's time goes, by machine-code address").

    python benchmarks/noc_perf.py [--row hotspot|uniform] [--annotate FILE]

numba's code has no symbols a profiler can see, so this samples it by address: a child
process compiles ``noc_small_driver.drive`` (the network's cycle -- ``noc.ni_cycle``,
``noc.router_cycle``, ``noc.router_wake`` -- inlined into one small function), writes the
function's address and its code bytes, and runs one of ``bench_kernels.py``'s NoC rows
(DRAM hotspot 0.90 or uniform 0.30) four times under ``perf record -e cpu-clock``. This
prints how the samples inside the function spread over its code: the hottest 512-byte
windows and how many windows hold half and nine tenths of the samples. ``--annotate``
writes the disassembly (``objdump``) with each instruction's share of the samples. Needs
``perf`` and ``objdump``; no hardware counters are used (a VM has none).
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from noc_small_driver import ROWS as DRIVER_ROWS  # noqa: E402  (rate, cycles, dram)
WINDOW = 512
CODE_BYTES = 1 << 17

CHILD = r"""
import ctypes, sys
sys.path.insert(0, %(here)r)
import noc_small_driver as d
from neurosim.arch import load_arch
cfg = load_arch("paper-20core", ["noc.model=cycle", "dram.model=ideal"])
d.run_once(cfg, *d.noc_traffic(cfg, 0.05, 1000, 1, False), True)   # compile (or load)
cres = d.drive.overloads[d.drive.signatures[0]]
addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
open(%(out)r + "/code.bin", "wb").write(ctypes.string_at(addr, %(size)d))
open(%(out)r + "/addr", "w").write(str(addr))
traffic = d.noc_traffic(cfg, %(rate)r, %(cycles)d, 1, %(dram)r)
for _ in range(4):
    d.run_once(cfg, *traffic, True)
"""

ROWS = {"uniform": DRIVER_ROWS[1], "hotspot": DRIVER_ROWS[2]}   # uniform 0.30, hotspot 0.90


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--row", choices=sorted(ROWS), default="hotspot")
    ap.add_argument("--annotate", type=Path, help="write the annotated disassembly here")
    args = ap.parse_args(argv)
    rate, cycles, dram = ROWS[args.row]
    with tempfile.TemporaryDirectory(prefix="noc-perf-") as tmp:
        child = CHILD % {"here": str(HERE), "out": tmp, "size": CODE_BYTES, "rate": rate,
                         "cycles": cycles, "dram": dram}
        data = f"{tmp}/perf.data"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", data,
                        sys.executable, "-c", child], check=True)
        base = int(Path(tmp, "addr").read_text())
        ips = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], check=True,
                             capture_output=True, text=True).stdout.split()
        dis = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64",
                              f"{tmp}/code.bin"], check=True, capture_output=True,
                             text=True).stdout
    hits = collections.Counter()
    for ip in ips:
        off = int(ip, 16) - base
        if 0 <= off < CODE_BYTES:
            hits[off] += 1
    inside = sum(hits.values())
    print(f"row {args.row}: {len(ips)} samples, {inside} in the driver's code "
          f"({100 * inside / max(len(ips), 1):.0f} %; the rest is Python and set-up)")
    windows = collections.Counter()
    for off, n in hits.items():
        windows[off // WINDOW] += n
    ranked = sorted(windows.items(), key=lambda kv: -kv[1])
    cum, marks = 0, {}
    for k, (_, n) in enumerate(ranked, 1):
        cum += n
        for q in (0.5, 0.9):
            if q not in marks and cum >= q * inside:
                marks[q] = k
    print(f"{len(ranked)} windows of {WINDOW} bytes hold samples; half of them in the "
          f"{marks[0.5]} hottest, nine tenths in the {marks[0.9]} hottest")
    cum = 0
    for w, n in ranked[:12]:
        cum += n
        print(f"  {w * WINDOW:#07x}-{(w + 1) * WINDOW:#07x}  {100 * n / inside:5.1f} %"
              f"  (cumulative {100 * cum / inside:5.1f} %)")
    if args.annotate:
        rows = []
        for line in dis.splitlines():
            m = re.match(r"\s+([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(.*)", line)
            if m and m.group(2):
                off = int(m.group(1), 16)
                rows.append(f"{100 * hits.get(off, 0) / inside:6.2f} {off:#07x}  {m.group(2)}")
        args.annotate.write_text("\n".join(rows) + "\n")
        print(f"annotated disassembly: {args.annotate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
