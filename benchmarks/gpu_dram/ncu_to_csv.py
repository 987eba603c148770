"""Turn Nsight Compute's raw CSV (``ncu --csv --page raw --print-units base``) of one
profiled training step (``measure.py``) into neurosim's measured-CSV format, one row per
kernel, phases split at the marker kernels (``spin_kernel``) that ``measure.py`` launches.

Output (see docs/gpu-baseline.md, "Measured-CSV format")::

    # key: value            provenance lines
    index,phase,kernel,dram_read_bytes,dram_write_bytes,duration_ns

Usage: python ncu_to_csv.py NCU_RAW.csv OUT.csv [--meta key=value ...]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys

PHASES = ("FP", "BWD", "UPD")  # marker-separated: forward+loss | backward | optimizer
MARKER = "spin_kernel"


def _num(text: str) -> float:
    return float(text.replace(",", "")) if text not in ("", "n/a") else 0.0


def convert(raw_text: str) -> list[dict]:
    lines = raw_text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith('"ID"')), None)
    if start is None:
        raise SystemExit("no ncu CSV header (\"ID\",...) found")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[start:]))))
    out, marks = [], 0
    for r in rows:
        if not r.get("ID", "").strip().isdigit():
            continue  # the units row
        name = r.get("Kernel Name", "")
        if MARKER in name:
            marks += 1
            continue
        if not 1 <= marks <= len(PHASES):
            continue  # outside the step (should not happen with profiler start/stop)
        out.append({"index": len(out), "phase": PHASES[marks - 1], "kernel": name,
                    "dram_read_bytes": int(_num(r.get("dram__bytes_read.sum", ""))),
                    "dram_write_bytes": int(_num(r.get("dram__bytes_write.sum", ""))),
                    "duration_ns": int(_num(r.get("gpu__time_duration.sum", "")))})
    if marks < len(PHASES) + 1:
        raise SystemExit(f"expected {len(PHASES) + 1} marker kernels, found {marks}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("out")
    ap.add_argument("--meta", action="append", default=[], help="key=value provenance")
    a = ap.parse_args(argv)
    with open(a.raw, encoding="utf-8", errors="replace") as f:
        rows = convert(f.read())
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        for m in a.meta:
            k, _, v = m.partition("=")
            f.write(f"# {k.strip()}: {v.strip()}\n")
        w = csv.DictWriter(f, fieldnames=["index", "phase", "kernel", "dram_read_bytes",
                                          "dram_write_bytes", "duration_ns"])
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, a.out)
    tot = {p: [0, 0, 0] for p in PHASES}
    for r in rows:
        t = tot[r["phase"]]
        t[0] += r["dram_read_bytes"]; t[1] += r["dram_write_bytes"]; t[2] += 1
    for p, (rd, wr, n) in tot.items():
        print(f"{p:<4} kernels {n:>5}  read {rd:>14,}  write {wr:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
