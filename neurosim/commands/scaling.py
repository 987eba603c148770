"""``neurosim scaling ARCH WORKLOAD --cores 1,2,4 --out DIR``: one training step on several
core counts, with engine-level parallelism on (BP || WG, FP of the next sample || BP/WG) and
off, with the event-driven model. Writes DIR/scaling.csv, DIR/scaling.md and DIR/scaling.png.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from ..fileio import OutputDir, atomic_write

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
    from .. import api

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


def plot(rows, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, style in (("on", "o-"), ("off", "s--")):
        rs = [r for r in rows if r["engine_parallelism"] == mode]
        x = [r["cores"] for r in rs]
        a.plot(x, [r["seconds"] * 1e3 for r in rs], style, label=f"engine parallelism {mode}")
        b.plot(x, [r["speedup"] for r in rs], style, label=f"engine parallelism {mode}")
    xs = sorted({r["cores"] for r in rows})
    b.plot(xs, [x / xs[0] for x in xs], ":", color="grey", label="linear")
    a.set_xlabel("cores")
    a.set_ylabel("training step (ms)")
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    b.set_xlabel("cores")
    b.set_ylabel(f"speed-up vs {xs[0]} core(s)")
    b.set_xscale("log", base=2)
    b.set_yscale("log", base=2)
    for ax in (a, b):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))
    finally:
        plt.close(fig)


def register(sub) -> None:
    p = sub.add_parser("scaling", help="one training step on several core counts, engine "
                       "parallelism on and off (CSV, Markdown table, PNG plot)")
    p.add_argument("arch")
    p.add_argument("workload")
    p.add_argument("--cores", default="1,2,4,8,16,20", help="core counts (default %(default)s)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key (workload keys prefixed with workload.); repeatable")
    p.add_argument("--out", required=True, metavar="DIR", type=OutputDir)
    p.set_defaults(fn=cmd_scaling)


def cmd_scaling(args) -> int:
    import sys

    from .. import api

    cores = parse_cores(args.cores)
    arch = api.load_arch(args.arch, api.split_overrides(args.overrides)[0])
    nodes = arch.chip.mesh.cols * arch.chip.mesh.rows
    if max(cores) > nodes:
        raise InputError("--cores", "--cores", f"core counts of at most the {nodes} mesh nodes",
                         max(cores))
    rows = scaling_study(args.arch, args.workload, cores, args.overrides,
                         progress=lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wl = api.load_workload(args.workload, api.split_overrides(args.overrides)[1])
    md = to_markdown(rows, cores[0])
    for name, text in (("scaling.csv", to_csv(rows)), ("scaling.md", md)):
        api._atomic_write(out / name, text)
    plot(rows, out / "scaling.png", f"{wl.name} on {arch.name}: one training step")
    print(md, end="")
    print(f"wrote {out}/scaling.csv, scaling.md, scaling.png")
    return 0
