"""Chip vs GPU: DRAM bytes per tensor kind and phase for one workload, with the reduction,
an energy estimate, and (optionally) measured GPU figures beside the GPU model."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DoesNotFit
from ..fileio import atomic_write
from ..timing import TENSOR_KINDS
from . import chip as chip_side
from .gpu import PHASES, gpu_dram_traffic
from .measured import load_measured

MB = 1e6


def reduction_pct(chip_bytes, gpu_bytes):
    """How much less DRAM traffic the chip moves than the GPU, in % of the GPU's; None when
    the chip side is unknown or the GPU moves nothing (a step that stays in its L2)."""
    if chip_bytes is None or not gpu_bytes:
        return None
    return 100.0 * (1 - chip_bytes / gpu_bytes)


@dataclass
class Comparison:
    workload: str
    gpu: object                      # GpuResult
    chip: dict | None = None         # kind -> (read, write)
    chip_energy_j: float | None = None
    measured: object | None = None   # Measured
    notes: list = field(default_factory=list)
    mode: str = "train"              # the workload's job (spec 3.6), on both sides

    def kind_rows(self) -> list[dict]:
        g = self.gpu.by_kind()
        rows = []
        for k in TENSOR_KINDS + ("total",):
            if k == "total":
                gr, gw = self.gpu.read_bytes, self.gpu.write_bytes
                cr = cw = None
                if self.chip is not None:
                    cr = sum(v[0] for v in self.chip.values())
                    cw = sum(v[1] for v in self.chip.values())
            else:
                gr, gw = g[k]
                cr, cw = self.chip[k] if self.chip is not None else (None, None)
            row = {"kind": k, "gpu_read": gr, "gpu_write": gw, "gpu_total": gr + gw,
                   "chip_read": cr, "chip_write": cw,
                   "chip_total": None if cr is None else cr + cw}
            row["reduction_pct"] = reduction_pct(row["chip_total"], gr + gw)
            rows.append(row)
        return rows

    def phase_rows(self) -> list[dict]:
        ph = self.gpu.by_phase()
        return [{"phase": p, "gpu_read": r, "gpu_write": w} for p, (r, w) in ph.items()]

    def measured_rows(self) -> list[dict]:
        if self.measured is None:
            return []
        model = self.measured.group_model(self.gpu.by_phase(when=True))
        rows = []
        for p, mrw in list(self.measured.phases.items()) + [("total", None)]:
            if p == "total":
                mr = sum(v[0] for v in self.measured.phases.values())
                mw = sum(v[1] for v in self.measured.phases.values())
                gr = sum(v[0] for v in model.values())
                gw = sum(v[1] for v in model.values())
            else:
                mr, mw = mrw
                gr, gw = model.get(p, (0, 0))
            err = None if mr + mw == 0 else 100.0 * ((gr + gw) - (mr + mw)) / (mr + mw)
            rows.append({"phase": p, "measured_read": mr, "measured_write": mw,
                         "model_read": gr, "model_write": gw, "error_pct": err})
        return rows

    def energy_rows(self) -> list[dict]:
        g = self.gpu
        rows = [{"what": "GPU DRAM access energy (estimate: bytes x "
                         f"{g.dram_pj_per_bit} pJ/bit)", "joules": g.dram_energy_j()},
                {"what": f"GPU board energy lower bound (estimate: {g.board_power_w:.0f} W "
                         "x DRAM-bound step time)", "joules": g.board_energy_j()}]
        if self.chip_energy_j is not None:
            rows.append({"what": "chip DRAM energy (chip simulator)",
                         "joules": self.chip_energy_j})
            rows.append({"what": "DRAM energy reduction vs GPU DRAM estimate (%)",
                         "joules": 100.0 * (1 - self.chip_energy_j / g.dram_energy_j())
                         if g.dram_energy_j() else None})
        return rows


def compare(arch, workload, gpu="a100-40gb", framework="spikingjelly", gpu_overrides=(),
            chip_overrides=(), measured_path=None, gpu_only=False) -> Comparison:
    from ..api import split_overrides

    # workload.-prefixed overrides (e.g. workload.mode) set the job on both sides
    workload_overrides = split_overrides(chip_overrides)[1]
    res = gpu_dram_traffic(workload, gpu, framework, list(gpu_overrides), workload_overrides)
    c = Comparison(res.workload, res, mode=res.mode)
    if measured_path:
        c.measured = load_measured(measured_path)
    if not gpu_only:
        run = chip_side.chip_run(arch, workload, chip_overrides)
        c.chip = chip_side.dram_by_kind(run.summary)
        c.chip_energy_j = chip_side.chip_dram_energy_j(run.summary)
    return c


def _mb(v):
    return "-" if v is None else f"{v / MB:.2f}"


def _pct(v):
    return "-" if v is None else f"{v:.1f}"


def render(c: Comparison) -> str:
    g = c.gpu
    job = "training" if c.mode == "train" else c.mode.replace("_", "-")
    out = [f"DRAM bytes of one {job} step: {c.workload}, chip vs {g.gpu} "
           f"({g.framework}; L2 model {g.l2_effective_bytes / 2**20:.0f} MiB effective, "
           f"{g.kernels} kernels)",
           f"{'kind':<10}{'chip R MB':>11}{'chip W MB':>11}{'GPU R MB':>11}{'GPU W MB':>11}"
           f"{'reduction %':>13}"]
    for r in c.kind_rows():
        out.append(f"{r['kind']:<10}{_mb(r['chip_read']):>11}{_mb(r['chip_write']):>11}"
                   f"{_mb(r['gpu_read']):>11}{_mb(r['gpu_write']):>11}"
                   f"{_pct(r['reduction_pct']):>13}")
    out.append("GPU model by phase (writes by producing phase)")
    for r in c.phase_rows():
        out.append(f"  {r['phase']:<6}{_mb(r['gpu_read']):>11}{_mb(r['gpu_write']):>11}")
    if c.measured is not None:
        src = c.measured.meta.get("gpu", "?")
        out.append(f"GPU model vs measured ({c.measured.path}; {src}); writes by the phase "
                   "they happen in")
        out.append(f"  {'phase':<6}{'meas R MB':>11}{'meas W MB':>11}{'model R MB':>12}"
                   f"{'model W MB':>12}{'error %':>9}")
        for r in c.measured_rows():
            out.append(f"  {r['phase']:<6}{_mb(r['measured_read']):>11}"
                       f"{_mb(r['measured_write']):>11}{_mb(r['model_read']):>12}"
                       f"{_mb(r['model_write']):>12}{_pct(r['error_pct']):>9}")
    out.append("energy (estimates on the GPU side)")
    for r in c.energy_rows():
        v = r["joules"]
        val = "-" if v is None else (f"{v:.1f}" if "%" in r["what"] else f"{v * 1e3:.4f} mJ")
        out.append(f"  {r['what']}: {val}")
    if c.chip is None:
        out.append("chip side not run (--gpu-only): reductions need the chip simulator")
    return "\n".join(out)


def write_outputs(c: Comparison, out_dir) -> list[Path]:
    """``<workload>_gpu_compare.csv`` (per kind, per phase, measured) and a bar chart PNG."""
    out = Path(out_dir)
    stem = f"{c.workload}_{c.gpu.gpu}_{c.gpu.framework}"
    csv_path, png_path = out / f"{stem}_dram.csv", out / f"{stem}_dram.png"

    def wcsv(tmp):
        import csv

        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["table", "key", "chip_read", "chip_write", "gpu_read", "gpu_write",
                        "reduction_pct"])
            for r in c.kind_rows():
                w.writerow(["kind", r["kind"], r["chip_read"], r["chip_write"], r["gpu_read"],
                            r["gpu_write"], r["reduction_pct"]])
            for r in c.phase_rows():
                w.writerow(["gpu_phase", r["phase"], "", "", r["gpu_read"], r["gpu_write"], ""])
            for r in c.measured_rows():
                w.writerow(["measured_phase", r["phase"], r["measured_read"],
                            r["measured_write"], r["model_read"], r["model_write"],
                            r["error_pct"]])

    from ..plots import gpu_traffic_figure

    atomic_write(csv_path, wcsv)
    gpu_traffic_figure(c, png_path)
    return [csv_path, png_path]


def all_workloads_markdown(arch, gpu, frameworks, gpu_overrides=(), gpu_only=False,
                           workload_dir=None) -> str:
    """One Markdown table: every workloads/*.yaml x framework, GPU bytes per kind, chip
    bytes and the reduction (when the chip side runs)."""
    from ..paths import WORKLOAD_DIR

    wdir = Path(workload_dir) if workload_dir else WORKLOAD_DIR
    files = sorted(wdir.glob("*.yaml"))
    head = ("| workload | framework | " + " | ".join(f"GPU {k} MB" for k in TENSOR_KINDS)
            + " | GPU total MB | chip total MB | reduction % |")
    lines = [head, "|" + "---|" * (len(TENSOR_KINDS) + 5)]
    for f in files:
        for fw in frameworks:
            try:
                c = compare(arch, str(f), gpu, fw, gpu_overrides, gpu_only=gpu_only)
                chip = None
            except DoesNotFit as e:   # the GPU side still has its figures
                c = compare(arch, str(f), gpu, fw, gpu_overrides, gpu_only=True)
                chip = f"does not fit ({e.key})"
            rows = {r["kind"]: r for r in c.kind_rows()}
            cells = [f"{rows[k]['gpu_total'] / MB:.1f}" for k in TENSOR_KINDS]
            tot = rows["total"]
            chip = chip or _mb(tot["chip_total"])
            lines.append(f"| {c.workload} | {fw} | " + " | ".join(cells)
                         + f" | {tot['gpu_total'] / MB:.1f} | {chip} | "
                         f"{_pct(tot['reduction_pct'])} |")
    return "\n".join(lines)


__all__ = ["Comparison", "compare", "render", "write_outputs", "all_workloads_markdown",
           "PHASES"]
