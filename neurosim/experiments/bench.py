"""Simulator speed in one command (``neurosim bench``): the runs that issue 17's table names,
each as its own ``neurosim`` process, with wall time, simulated cycles and NoC packets per
second and peak memory (docs/performance.md).

A row is a command line; its numbers come from the process (wall clock around it, peak RSS
from ``wait4``) and from the ``summary.json`` it writes. Rows whose command is ``run`` get an
``--out`` directory in a temporary folder; ``cold`` rows run with an empty numba cache (a
fresh ``NUMBA_CACHE_DIR``) so their time includes compiling every kernel they use. A
``validate`` row's figure is the speed ratio it prints for its largest case (reference
seconds / event-model seconds), against ``target_ratio``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchRow:
    name: str
    argv: tuple            # neurosim arguments (without --out)
    target_s: float | None = None
    target_mib: float | None = None
    quick: bool = False    # in ``--quick``
    cold: bool = False     # empty numba cache: the first run after an install
    needs: str | None = None   # an optional package the row imports (skipped without it)
    target_ratio: float | None = None   # a validate row: the least speed ratio asked for


IDEAL = ("--set", "noc.model=ideal", "--set", "dram.model=ideal")

# The rows of issue 17's table keep the chip they were measured on, the first versions'
# 85 MiB one (paper-20core-85mib; single-core has its buffers); the edge-sized default's
# VGG-11 step, which streams about 1 GB from DRAM, is a row of its own.
BIG = "paper-20core-85mib"
ROWS = (
    BenchRow("vgg11 paper-20core-85mib", ("run", BIG, "vgg11-cifar10"), 1.0, quick=True),
    BenchRow("vgg11 paper-20core-85mib, ideal interconnect",
             ("run", BIG, "vgg11-cifar10") + IDEAL, quick=True),
    BenchRow("vgg11 single-core", ("run", "single-core", "vgg11-cifar10"), 10.0),
    BenchRow("resnet18-imagenet paper-20core-85mib", ("run", BIG, "resnet18-imagenet"),
             30.0, 1024.0),
    BenchRow("convnet-digits paper-20core-85mib", ("run", BIG, "convnet-digits"), 1.0,
             quick=True),
    BenchRow("mlp-digits paper-20core-85mib, cold numba cache", ("run", BIG, "mlp-digits"),
             cold=True),
    BenchRow("vgg11 paper-20core (edge-sized, spills)", ("run", "paper-20core",
                                                         "vgg11-cifar10")),
    BenchRow("validate: model vs reference, largest case", ("validate", "--cases", "2000"),
             target_ratio=100.0),
    BenchRow("reproduce --quick", ("reproduce", "--quick")),
    BenchRow("reproduce", ("reproduce",), 180.0),
)


@dataclass
class BenchResult:
    row: BenchRow
    wall_s: float
    peak_mib: float
    returncode: int
    cycles: int | None = None
    packets: int | None = None
    ratio: float | None = None   # a validate row's speed ratio on its largest case

    @property
    def met(self) -> str:
        if self.returncode != 0:
            return "failed"
        row = self.row
        if row.target_s is None and row.target_mib is None and row.target_ratio is None:
            return "-"
        ok = ((row.target_s is None or self.wall_s <= row.target_s)
              and (row.target_mib is None or self.peak_mib <= row.target_mib)
              and (row.target_ratio is None
                   or (self.ratio is not None and self.ratio >= row.target_ratio)))
        return "yes" if ok else "no"

    def as_dict(self) -> dict:
        return {"name": self.row.name, "command": "neurosim " + " ".join(self.row.argv),
                "wall_s": self.wall_s, "peak_mib": self.peak_mib, "cycles": self.cycles,
                "noc_packets": self.packets, "target_s": self.row.target_s,
                "target_mib": self.row.target_mib, "speed_ratio": self.ratio,
                "target_ratio": self.row.target_ratio, "met": self.met,
                "returncode": self.returncode}


def select_rows(quick: bool = False, names=None) -> list[BenchRow]:
    rows = [r for r in ROWS if r.quick or not quick]
    if names:
        rows = [r for r in rows if any(n in r.name for n in names)]
    return rows


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# the line `neurosim validate` prints for its largest case
RATIO = re.compile(r"speed ratio \(reference/model\) ([0-9.]+|inf)")


def run_row(row: BenchRow, workdir: Path) -> BenchResult:
    """One row as its own process; its stdout and stderr go to ``workdir/NAME.log``."""
    out = workdir / row.name.replace(" ", "_").replace(",", "")
    argv = list(row.argv)
    if argv[0] in ("run", "reproduce"):
        argv += ["--out", str(out)]
    env = dict(os.environ)
    if row.cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(dir=workdir, prefix="numba-cache-")
    with open(out.with_suffix(".log"), "w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "neurosim", *argv], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    res = BenchResult(row, wall, usage.ru_maxrss / 1024, proc.returncode)
    summary = out / "summary.json"
    if summary.is_file():
        s = json.loads(summary.read_text())
        res.cycles, res.packets = s.get("total_cycles"), s.get("noc_packets")
    if argv[0] == "validate":
        got = RATIO.search(out.with_suffix(".log").read_text())
        res.ratio = float(got.group(1)) if got else None
    return res


def run_bench(rows, progress=None) -> list[BenchResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="neurosim-bench-") as tmp:
        for row in rows:
            if row.needs and not _available(row.needs):
                continue
            if progress is not None:
                progress(row)
            results.append(run_row(row, Path(tmp)))
    return results


def format_table(results) -> str:
    head = (f"{'run':<44}{'wall s':>9}{'target':>8}{'Mcycle/s':>10}{'kpkt/s':>9}"
            f"{'peak MiB':>10}{'ratio':>8}{'met':>7}")
    lines = [head, "-" * len(head)]
    for r in results:
        rate = f"{r.cycles / r.wall_s / 1e6:.3g}" if r.cycles else "-"
        prate = f"{r.packets / r.wall_s / 1e3:.3g}" if r.packets else "-"
        target = f"{r.row.target_s:g}" if r.row.target_s is not None else "-"
        if r.row.target_ratio is not None:   # the figure asked for is the ratio
            target = f">={r.row.target_ratio:g}x"
        ratio = f"{r.ratio:g}" if r.ratio is not None else "-"
        lines.append(f"{r.row.name:<44}{r.wall_s:>9.1f}{target:>8}{rate:>10}"
                     f"{prate:>9}{r.peak_mib:>10.0f}{ratio:>8}{r.met:>7}")
    return "\n".join(lines)
