"""The scaling study: one training step on several core counts, with engine-level
parallelism on (BP || WG, FP of the next sample || BP/WG) and off, through the one simulation
pipeline (:func:`neurosim.api.run`). ``neurosim scaling`` prints and writes it."""
from __future__ import annotations

import csv
import io
import time

from .. import api
from ..errors import InputError

MODES = {
    "on": ["schedule.bp_wg_overlap=true", "schedule.fp_bp_overlap=true"],
    "off": ["schedule.bp_wg_overlap=false", "schedule.fp_bp_overlap=false"],
}
COLUMNS = ("cores", "engine_parallelism", "total_cycles", "seconds", "speedup",
           "parallelism_gain", "util_fp", "util_bp", "util_wg", "bank_stall_cycles",
           "dram_read_bytes", "dram_write_bytes", "noc_flits", "parts", "wall_s")


def parse_cores(text: str) -> list[int]:
    try:
        cores = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError("--cores", "--cores", "a comma-separated list of core counts",
                         text) from None
    if not cores or any(c < 1 for c in cores):
        raise InputError("--cores", "--cores", "positive core counts, e.g. 1,2,4", text)
    return cores


def scaling_study(arch, workload, cores: list[int], overrides=(), progress=None) -> list[dict]:
    """One row per (core count, engine parallelism on/off)."""
    arch_o, wl_o = api.split_overrides(overrides)
    wl = api.load_workload(workload, wl_o)
    trace = api.get_traces(wl)
    rows = []
    for n in cores:
        got = {}
        for mode, sets in MODES.items():
            t0 = time.perf_counter()
            res = api.run(arch, wl, list(arch_o) + [f"chip.cores={n}"] + sets, trace=trace)
            s = res.summary
            got[mode] = s["total_cycles"]
            rows.append({
                "cores": n, "engine_parallelism": mode, "total_cycles": s["total_cycles"],
                "seconds": s["seconds"], "util_fp": s["util_fp"], "util_bp": s["util_bp"],
                "util_wg": s["util_wg"], "bank_stall_cycles": s["bank_stall_cycles"],
                "dram_read_bytes": s["dram_read_bytes"],
                "dram_write_bytes": s["dram_write_bytes"], "noc_flits": s["noc_flits"],
                "parts": sum(len(p) for r in res.placement.replicas for p in r.layers.values()),
                "wall_s": time.perf_counter() - t0})
            if progress:
                progress(f"{n} cores, engine parallelism {mode}: {s['total_cycles']:,} cycles")
        for r in rows[-2:]:
            r["parallelism_gain"] = got["off"] / got["on"]
    first = {r["engine_parallelism"]: r["total_cycles"] for r in rows if r["cores"] == cores[0]}
    for r in rows:
        r["speedup"] = first[r["engine_parallelism"]] / r["total_cycles"]
    return rows


def to_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in COLUMNS})
    return buf.getvalue()


def to_markdown(rows, first_cores: int) -> str:
    lines = ["| cores | engine parallelism | cycles | time (ms) | speed-up vs "
             f"{first_cores} core(s) | off/on | util FP | util BP | util WG | bank stalls | "
             "DRAM read (MB) | DRAM write (MB) | NoC flits |",
             "|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['cores']} | {r['engine_parallelism']} | {r['total_cycles']:,} | "
            f"{r['seconds'] * 1e3:.3f} | {r['speedup']:.2f} | {r['parallelism_gain']:.2f} | "
            f"{100 * r['util_fp']:.1f} % | {100 * r['util_bp']:.1f} % | "
            f"{100 * r['util_wg']:.1f} % | {r['bank_stall_cycles']:,} | "
            f"{r['dram_read_bytes'] / 1e6:.1f} | {r['dram_write_bytes'] / 1e6:.1f} | "
            f"{r['noc_flits']:,} |")
    return "\n".join(lines) + "\n"


__all__ = ["MODES", "COLUMNS", "parse_cores", "scaling_study", "to_csv", "to_markdown"]
