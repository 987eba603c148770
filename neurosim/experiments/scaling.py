"""The scaling study: one training step on several core counts, with engine-level
parallelism on (BP || WG, FP of the next sample || BP/WG) and off, through the one simulation
pipeline (:func:`neurosim.api.run`). ``neurosim scaling`` prints and writes it."""
from __future__ import annotations

import csv
import io
import time

from .. import api
from ..arch import ENGINES
from ..critical_path import PATH_KINDS
from ..errors import InputError
from ..timing import CYCLE_CLASSES

MODES = {
    "on": ["schedule.bp_wg_overlap=true", "schedule.fp_bp_overlap=true"],
    "off": ["schedule.bp_wg_overlap=false", "schedule.fp_bp_overlap=false"],
}
COLUMNS = ("cores", "engine_parallelism", "total_cycles", "seconds", "speedup",
           "parallelism_gain", "util_fp", "util_bp", "util_wg", "bank_stall_cycles",
           "dram_read_bytes", "dram_write_bytes", "noc_flits", "parts", "wall_s")
# Where the cycles went (docs/microarchitecture.md 10): each engine's cycles by class, as a
# fraction of cores x step cycles (a row's classes of one engine sum to 1), the three engines
# together (cycles_<class>), and the critical path by kind, as a fraction of the step.
CYCLE_COLUMNS = (tuple(f"cycles_{e}_{c}" for e in ENGINES for c in CYCLE_CLASSES)
                 + tuple(f"cycles_{c}" for c in CYCLE_CLASSES))
PATH_COLUMNS = tuple(f"critical_path_{k}" for k in PATH_KINDS)
# What bounds the DRAM path (docs/microarchitecture.md 10, "what if" hints): the busiest
# core NoC port's payload flits per cycle, the busiest DRAM channel's data-bus occupancy, and
# the share of the DRAM requests' cycles spent in the NoC rather than in the controller.
BOUND_COLUMNS = ("busiest_port_utilization", "busiest_dram_bus_utilization",
                 "dram_request_noc_fraction")


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
                "wall_s": time.perf_counter() - t0,
                **{k: s[k] for k in CYCLE_COLUMNS + PATH_COLUMNS + BOUND_COLUMNS}})
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
    columns = COLUMNS + CYCLE_COLUMNS + PATH_COLUMNS + BOUND_COLUMNS
    w = csv.DictWriter(buf, columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in columns})
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


def cycles_markdown(rows) -> str:
    """Where the cycles went per core count: each engine's cycle classes (% of cores x step
    cycles, summed over the cores) and the critical path by kind (% of the step)."""
    classes = " | ".join(c.replace("_", " ") for c in CYCLE_CLASSES)
    kinds = " | ".join(f"path {k}" for k in PATH_KINDS)
    lines = [f"| cores | engine parallelism | engine | {classes} | {kinds} |",
             "|---:|:---:|:---:|" + "---:|" * (len(CYCLE_CLASSES) + len(PATH_KINDS))]
    for r in rows:
        for e in ENGINES:
            cls = " | ".join(f"{100 * r[f'cycles_{e}_{c}']:.1f} %" for c in CYCLE_CLASSES)
            path = " | ".join(f"{100 * r[f'critical_path_{k}']:.1f} %" for k in PATH_KINDS)
            lines.append(f"| {r['cores']} | {r['engine_parallelism']} | {e.upper()} | {cls} | "
                         f"{path} |")
    return "\n".join(lines) + "\n"


def bounds_markdown(rows) -> str:
    """What bounds the DRAM path per core count: DRAM bytes per cycle, the busiest core NoC
    port and DRAM data bus (% of the step's cycles busy), and where the DRAM requests spent
    their cycles (% in the NoC, the rest in the controller)."""
    lines = ["| cores | engine parallelism | path DRAM | DRAM bytes / cycle | busiest port "
             "| busiest DRAM bus | request cycles in NoC |",
             "|---:|:---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        per_cycle = (r["dram_read_bytes"] + r["dram_write_bytes"]) / r["total_cycles"]
        lines.append(
            f"| {r['cores']} | {r['engine_parallelism']} | "
            f"{100 * r['critical_path_dram']:.1f} % | {per_cycle:.2f} | "
            f"{100 * r['busiest_port_utilization']:.1f} % | "
            f"{100 * r['busiest_dram_bus_utilization']:.1f} % | "
            f"{100 * r['dram_request_noc_fraction']:.1f} % |")
    return "\n".join(lines) + "\n"


def as_sweep_rows(rows) -> list[dict]:
    """The study's rows in the sweep store's shape (keys apart from stats), for the sweep's
    figures (:func:`neurosim.plots.figure`)."""
    return [{"status": "ok", "keys": {"cores": r["cores"],
                                      "engine_parallelism": r["engine_parallelism"]},
             **{k: v for k, v in r.items() if k not in ("cores", "engine_parallelism")}}
            for r in rows]


__all__ = ["MODES", "COLUMNS", "CYCLE_COLUMNS", "PATH_COLUMNS", "BOUND_COLUMNS", "parse_cores",
           "scaling_study", "to_csv", "to_markdown", "cycles_markdown", "bounds_markdown",
           "as_sweep_rows"]
