"""Side-by-side: neurosim's cycle-level DRAM and DRAMsim3 on the same request streams.

    DRAMSIM3=/path/to/DRAMsim3/build/dramsim3main python benchmarks/compare_dramsim3.py
        [--ini CONFIGS/DDR4_8Gb_x8_2400.ini] [--ini-set SECTION.KEY=VALUE ...]
        [--preset DDR4-2400] [--set KEY=VALUE ...] [--tck NS] [--cycles 40000]

``--ini-set`` changes keys of (a temporary copy of) the ini, e.g. to run one channel of a
multi-channel config, or the timings of a neurosim preset DRAMsim3 ships no ini for.

Both simulators see the same trace: one request of one burst per line, request ``k`` offered
at cycle ``k`` (DRAMsim3's trace-driven CPU, which offers at most one request a cycle and
holds the trace while the controller's queue is full; neurosim's arrival FIFO holds the
same order). neurosim runs the arch ``single-core`` with ``dram.preset`` set to the preset
that transcribes the ini, the chip clock at the DRAM command clock (``1000 / tCK`` MHz, so
one chip cycle is one tCK) and no NoC.

Bandwidth: requests finished inside the first ``--cycles`` cycles, per cycle (a saturating
stream: both stay busy the whole window). A DRAMsim3 write counts when the controller takes
it (writes are acknowledged on acceptance); a neurosim write when its burst ends -- in
steady state both are the drain rate. Unloaded latency: DRAMsim3's average read latency of
a trace with one read (closed row), or of two reads far apart (the second a row hit or a
row conflict: its latency is twice the average less the first's), against neurosim's
completion minus arrival of the same reads.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from neurosim.arch import load_arch
from neurosim.memsys.characterize import dram_replay

FAR = 10 ** 12   # a trace line offered after the run (DRAMsim3's trace reader repeats its
                 # last line at end of file: this one is never reached)


def ini_with(ini: str, changes: list[str], out: Path) -> str:
    """A copy of DRAMsim3 config ``ini`` at ``out`` with ``SECTION.KEY=VALUE`` changes (an
    absent key is added to its section)."""
    lines = Path(ini).read_text().splitlines()
    for change in changes:
        name, _, value = change.partition("=")
        section, _, key = name.strip().partition(".")
        if not (section and key and value):
            raise SystemExit(f"--ini-set {change}: expected SECTION.KEY=VALUE")
        start = lines.index(f"[{section}]")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        at = [i for i in range(start + 1, end) if lines[i].split("=")[0].strip() == key]
        if at:
            lines[at[0]] = f"{key} = {value.strip()}"
        else:
            lines.insert(start + 1, f"{key} = {value.strip()}")
    out.write_text("\n".join(lines) + "\n")
    return str(out)


def dramsim3_run(binary: str, ini: str, addrs, writes, offered, cycles: int) -> dict:
    """DRAMsim3's statistics of channel 0 after ``cycles`` cycles of the trace-driven CPU
    offering request k (byte address, write flag) at cycle ``offered[k]``."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "stream.trace"
        lines = [f"{a:#x} {'WRITE' if w else 'READ'} {t}"
                 for a, w, t in zip(addrs, writes, offered)]
        lines.append(f"0x0 READ {FAR}")
        trace.write_text("\n".join(lines) + "\n")
        subprocess.run([binary, ini, "-c", str(cycles), "-t", str(trace), "-o", tmp],
                       check=True, capture_output=True)
        return json.loads((Path(tmp) / "dramsim3.json").read_text())["0"]


def streams(n: int, seed: int = 1) -> dict:
    """Byte addresses and write flags of the four streams (64 B bursts, 16 GiB space)."""
    rng = np.random.default_rng(seed)
    seq = np.arange(n, dtype=np.int64) * 64
    rand = rng.integers(0, (16 << 30) // 64, n, dtype=np.int64) * 64
    zeros, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    mixed = (rng.integers(0, 3, n) == 0).astype(np.int64)   # one write in three, as DRAMsim3's
    return {"sequential read": (seq, zeros), "sequential write": (seq, ones),
            "random read": (rand, zeros), "random write": (rand, ones),
            "mixed (1/3 writes, random)": (rand, mixed)}


def ours_bandwidth(cfg, addrs, writes, cycles: int) -> float:
    comp, _ = dram_replay(cfg, addrs, writes, np.arange(len(addrs), dtype=np.int64), cycles)
    return float(((comp >= 0) & (comp < cycles)).sum()) / cycles


def latency_traces(cfg) -> dict:
    """Unloaded read latencies: the trace's reads (address, offered at) and which one."""
    d = cfg.dram
    # the next row of bank 0 of rank 0, channel 0: one past every field below the row
    row_stride = d.row_bytes * d.banks * d.ranks * d.channels
    return {"closed row": [(0, 0)],
            "row hit": [(0, 0), (64, 1000)],
            "row conflict": [(0, 0), (row_stride, 1000)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ini", help="DRAMsim3 config (default: configs/DDR4_8Gb_x8_2400.ini "
                    "beside the binary's build directory)")
    ap.add_argument("--ini-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="change a key of the ini (in a temporary copy)")
    ap.add_argument("--preset", default="DDR4-2400", help="neurosim dram.preset of the ini")
    ap.add_argument("--tck", type=float, default=1 / 1.2, help="ns per DRAM command cycle")
    ap.add_argument("--cycles", type=int, default=40_000, help="bandwidth window, cycles")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="further overrides of the neurosim config")
    args = ap.parse_args(argv)
    binary = os.environ.get("DRAMSIM3")
    if not binary or not Path(binary).is_file():
        print("set DRAMSIM3 to the dramsim3main binary (built from "
              "github.com/umd-memsys/DRAMsim3 with cmake)", file=sys.stderr)
        return 2
    ini = args.ini or str(Path(binary).resolve().parent.parent / "configs"
                          / "DDR4_8Gb_x8_2400.ini")
    tmp = tempfile.TemporaryDirectory()
    if args.ini_set:
        ini = ini_with(ini, args.ini_set, Path(tmp.name) / Path(ini).name)
    cfg = load_arch("single-core", [f"dram.preset={args.preset}", "dram.model=cycle",
                                    "noc.model=ideal", "noc.ideal_latency=0",
                                    f"chip.clock_mhz={1000 / args.tck:.6f}", *args.set])
    gbs = 64 / args.tck  # GB/s per burst per cycle
    print(f"neurosim dram.preset={args.preset} {' '.join(args.set)} vs DRAMsim3 "
          f"{Path(ini).name} {' '.join(args.ini_set)}; {args.cycles} cycles of tCK = "
          f"{args.tck:.4f} ns")
    print()
    print("| stream | DRAMsim3 GB/s | neurosim GB/s | neurosim / DRAMsim3 |")
    print("|---|---|---|---|")
    n = 2 * args.cycles
    for name, (addrs, writes) in streams(n).items():
        ds = dramsim3_run(binary, ini, addrs.tolist(), writes.tolist(), range(n), args.cycles)
        theirs = (ds["num_reads_done"] + ds["num_writes_done"]) / args.cycles * gbs
        ours = ours_bandwidth(cfg, addrs, writes, args.cycles) * gbs
        print(f"| {name} | {theirs:.2f} | {ours:.2f} | {ours / theirs:.3f} |")
    print()
    print("| unloaded read | DRAMsim3 cycles | neurosim cycles |")
    print("|---|---|---|")
    closed = None
    for name, reads in latency_traces(cfg).items():
        addrs = [a for a, _ in reads]
        at = [t for _, t in reads]
        ds = dramsim3_run(binary, ini, addrs, [0] * len(addrs), at, 3000)
        # DRAMsim3 offers line k at cycle t_k and counts latency from the next cycle
        avg = ds["average_read_latency"]
        theirs = avg if len(reads) == 1 else 2 * avg - closed
        if name == "closed row":
            closed = theirs
        comp, _ = dram_replay(cfg, addrs, [0] * len(addrs), [t + 1 for t in at])
        ours = int(comp[-1] - (at[-1] + 1))
        print(f"| {name} | {theirs:g} | {ours} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
