"""A deterministic stand-in for the chip simulator's ``neurosim.api.run`` (same signature),
used to test sweeps before the simulator exists. Its summary numbers are simple functions of
the resolved config and workload, so every expected value can be worked by hand:

    total_cycles     = 1000 * time_steps * batch // cores + 10 * fp.lanes
    seconds          = total_cycles / (clock_mhz * 1e6)
    dram_read_bytes  = 4096 * cores,  dram_write_bytes = 1024 * time_steps
    util_fp = 1 / cores, util_bp = 0.5, util_wg = 0.25
    cycles_busy = (util_fp + util_bp + util_wg) / 3, cycles_idle = 1 - cycles_busy
    energy_compute_j = 1e-6 * time_steps, energy_dram_j = 1e-9 * (read + write bytes)
    energy_j         = energy_compute_j + energy_dram_j

It fails (raises RuntimeError) when chip.cores == 7. Environment knobs, read at call time:
NEUROSIM_FAKE_SLEEP (seconds to sleep), NEUROSIM_FAKE_WORK (iterations of a GIL-holding
pure-Python loop: CPU-bound work like a simulation's), NEUROSIM_FAKE_LOG (a file to which
each call appends one line: the sorted overrides as JSON), NEUROSIM_FAKE_DIE_ONCE (a file:
if it exists, the call deletes it and kills its own process, like a worker dying mid-point).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

from neurosim.arch import load_arch
from neurosim.sweep.spec import split_overrides
from neurosim.workload import load_workload


def summary_for(cfg, wl) -> dict:
    cores, lanes, T, batch = cfg.chip.cores, cfg.core.fp.lanes, wl.time_steps, wl.batch
    total = 1000 * T * batch // cores + 10 * lanes
    rd, wr = 4096 * cores, 1024 * T
    e_compute, e_dram = 1e-6 * T, 1e-9 * (rd + wr)
    busy = (1 / cores + 0.5 + 0.25) / 3
    return {"total_cycles": total, "seconds": total / (cfg.chip.clock_mhz * 1e6),
            "dram_read_bytes": rd, "dram_write_bytes": wr, "cores": cores,
            "util_fp": 1 / cores, "util_bp": 0.5, "util_wg": 0.25,
            "cycles_busy": busy, "cycles_idle": 1 - busy,
            "energy_compute_j": e_compute, "energy_dram_j": e_dram,
            "energy_j": e_compute + e_dram, "name": cfg.name, "converged": True}


def run(arch, workload, overrides=(), out_dir=None, progress=False):
    arch_o, wl_o = split_overrides(list(overrides))
    cfg, wl = load_arch(arch, arch_o), load_workload(workload, wl_o)
    if log := os.environ.get("NEUROSIM_FAKE_LOG"):
        with open(log, "a") as f:
            f.write(json.dumps(sorted(overrides)) + "\n")
    if cfg.chip.cores == 7:
        raise RuntimeError("fake failure at 7 cores")
    if (flag := os.environ.get("NEUROSIM_FAKE_DIE_ONCE")) and os.path.exists(flag):
        os.unlink(flag)
        os._exit(1)  # a worker killed mid-point (the flag makes it happen once)
    if sleep := float(os.environ.get("NEUROSIM_FAKE_SLEEP", 0)):
        time.sleep(sleep)
    acc = 0
    for i in range(int(os.environ.get("NEUROSIM_FAKE_WORK", 0))):
        acc = (acc * 31 + i) % 1000003
    summary = summary_for(cfg, wl)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary))
        (out / "stats.json").write_text(json.dumps({"chip": {"total_cycles": summary["total_cycles"]}}))
    return SimpleNamespace(summary=summary, out_dir=out_dir)


def setenv(values: dict) -> None:
    """Set (value str) or unset (value None) environment variables; run on workers with
    ``client.run(setenv, {...})`` to steer a cluster that is already up."""
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = str(v)
