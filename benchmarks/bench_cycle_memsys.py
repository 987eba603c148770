"""Cycle-level memory system on a DRAM-heavy chip run (docs/performance.md, "Cycle-level
memory system on DRAM-heavy runs").

    python benchmarks/bench_cycle_memsys.py [--arch single-core] [--batch 1] [--time-steps 1]
                                            [--workload vgg11-cifar10] [--profile]

Simulates one training step of a shipped workload (default workloads/vgg11-cifar10.yaml;
batch and time steps reduced as given) with ``noc.model=cycle`` and ``dram.model=cycle``, after a warm-up run of a tiny
workload (numba kernels compiled and cached). Reports wall time, peak RSS, and how the
engine was driven: calls of the numba kernel, the cycles those calls covered (more than the
run's cycles when speculated cycles are thrown away and simulated again), roll-backs, the
chip model's end-of-cycle events and the handles (messages, DRAM transfers) delivered to it.
``--profile``: the top of a cProfile of the run.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import time
from pathlib import Path

import yaml

from neurosim import api
from neurosim.hw.chip import ChipModel
from neurosim.memsys import cycle as cm

ROOT = Path(__file__).resolve().parents[1]
CYCLE = ["noc.model=cycle", "dram.model=cycle"]


def instrument(counts: dict) -> None:
    """Count engine calls, the cycles they cover, roll-backs, the chip's end-of-cycle events
    and the handles it is delivered."""
    run, rollback = cm.Engine.run, cm.Engine.rollback
    late, deliver = ChipModel._late, ChipModel._deliver

    def counted_late(self, ev):
        counts["end-of-cycle events"] += 1
        return late(self, ev)

    def counted_deliver(self, handles):
        counts["handles delivered"] += len(handles)
        return deliver(self, handles)

    ChipModel._late, ChipModel._deliver = counted_late, counted_deliver

    def counted_run(self, until, *a, **k):
        g0 = self.G
        out = run(self, until, *a, **k)
        counts["engine calls"] += 1
        counts["cycles covered"] += self.G - g0
        return out

    def counted_rollback(self, *a, **k):
        counts["roll-backs"] += 1
        return rollback(self, *a, **k)

    cm.Engine.run, cm.Engine.rollback = counted_run, counted_rollback


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="single-core")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--time-steps", type=int, default=1)
    ap.add_argument("--workload", default="vgg11-cifar10", help="a shipped workload's name")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()

    api.run("single-core", str(ROOT / "workloads/mlp-digits.yaml"), CYCLE)  # warm-up
    counts = {"engine calls": 0, "cycles covered": 0, "roll-backs": 0,
              "end-of-cycle events": 0, "handles delivered": 0}
    instrument(counts)
    wl = yaml.safe_load((ROOT / "workloads" / f"{a.workload}.yaml").read_text())
    wl["batch"], wl["time_steps"] = a.batch, a.time_steps
    prof = cProfile.Profile() if a.profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    res = api.run(a.arch, wl, CYCLE)
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    s = res.summary
    print(f"{a.workload} batch {a.batch} T {a.time_steps} on {a.arch}, noc cycle, dram cycle")
    print(f"simulated cycles   {s['total_cycles']:,}")
    print(f"NoC packets        {s['noc_packets']:,}")
    print(f"DRAM bytes         {s['dram_read_bytes'] + s['dram_write_bytes']:,}")
    print(f"message records    {len(res.timing.messages):,}  DRAM records {len(res.timing.dram):,}")
    for k, v in counts.items():
        print(f"{k:<18} {v:,}")
    print(f"covered / simulated cycles  {counts['cycles covered'] / s['total_cycles']:.2f}")
    print(f"wall               {wall:.1f} s  (CPU {cpu:.1f} s)")
    print(f"peak RSS           {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


if __name__ == "__main__":
    main()
