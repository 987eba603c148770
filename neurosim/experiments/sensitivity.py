"""Where the paper's claims hold: the sensitivity study of ``neurosim reproduce``.

For every workload of the reproduction it varies one thing of the chip or the step at a
time and records, per point, what the claims are about: DRAM bytes per step and their
reduction against the GPU model, dense-equivalent and executed TFLOPS/W, step time and area.
The dimensions (docs/results-sensitivity.md):

- ``sram``: every SRAM buffer of the arch scaled by the same power of two (1/4 .. 8), so the
  buffers keep the arch's proportions; per-core totals of 200 KiB .. 6.25 MiB on paper-20core
  (800 KiB), with paper-20core-85mib's 4352 KiB marked;
- ``weights``: the weights buffer alone, 128 KiB .. 4 MiB per core, the others unchanged;
- ``batch``: samples per step, half and twice the workload's own.

Each point is one :class:`~neurosim.experiments.reproduce.StepJob` run by the reproduction's
``run_jobs`` (one code path, ``--jobs`` workers). A point whose working set the mapper cannot
place is a row with status ``does not fit`` and the mapper's message, not an error.

Memory (``memory="ideal"``, the default): the mapper places the point for its config as
``neurosim run`` would (its cost model prices the cycle-level DRAM's bandwidth, so the
placement, and with it every DRAM byte, is that run's), then the step is simulated on that
placement with the ideal NoC and DRAM (``IDEAL_MEMORY``): DRAM bytes exactly the run's, step
time a lower bound and TFLOPS/W an upper bound. ``memory="config"`` simulates with the
config's own memory system (exact, minutes per spilling VGG-11 point). The claim regions are
read off the rows by :func:`claim_regions`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..arch import SRAM_BUFFERS, sram_kib_per_core
from ..baselines.compare import reduction_pct
from ..errors import DoesNotFit, InputError

DIMENSIONS = ("sram", "weights", "batch")
SRAM_SCALES = (1 / 4, 1 / 2, 1, 2, 4, 8)
WEIGHTS_KIB = (128, 256, 512, 1024, 2048, 4096)
BATCH_FACTORS = (0.5, 2)
QUICK_SRAM_SCALES = (1 / 4, 1)
QUICK_WEIGHTS_KIB = ()
QUICK_BATCH_FACTORS = ()
# the study's memory systems: "ideal" simulates each point on the placement of its own config
# with these overrides (docs/results-sensitivity.md measures what that changes and costs);
# "config" with the config's own
IDEAL_MEMORY = ("noc.model=ideal", "dram.model=ideal")
MEMORIES = ("ideal", "config")
# the configs marked in the study besides the reproduction's own (same memory, no sweep)
MARKED_ARCHS = ("paper-20core-85mib",)
JOB_PREFIX = "sensitivity"


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and the band of one statistic that reproduces it (None: open)."""

    name: str
    stat: str
    low: float | None
    high: float | None
    unit: str

    def holds(self, value) -> bool | None:
        if value is None or value != value:
            return None
        return (self.low is None or value >= self.low) and (self.high is None
                                                            or value <= self.high)

    @property
    def band(self) -> str:
        if self.high is None:
            return f">= {self.low:g} {self.unit}"
        return f"{self.low:g}-{self.high:g} {self.unit}"


# the abstract's figures (arXiv 2412.05302): 55-85 % less DRAM access than an A100, and
# 1.05 TFLOPS/W at FP16 (read as "at least", the chip's achieved efficiency)
CLAIMS = (
    Claim("55-85 % less DRAM access than an A100 (SpikingJelly model)",
          "reduction_pct_spikingjelly", 55.0, 85.0, "%"),
    Claim("55-85 % less DRAM access than an A100 (snnTorch model)",
          "reduction_pct_snntorch", 55.0, 85.0, "%"),
    Claim("1.05 TFLOPS/W at FP16 (dense-equivalent)", "tflops_per_w_dense", 1.05, None,
          "TFLOPS/W"),
)


@dataclass(frozen=True)
class Point:
    """One point of the study: the arch config (None: the reproduction's), the overrides
    that make it, and where it sits (dimension and value)."""

    workload: str
    dimension: str
    value: float
    overrides: tuple
    arch: str | None = None
    memory: str = "ideal"

    @property
    def key(self) -> str:
        where = self.arch or f"{self.dimension}={self.value:g}"
        return f"{JOB_PREFIX}/{self.workload}/{where}"


def bank_aligned_kib(size_kib: float, banks: int, width_bits: int) -> float:
    """The largest size <= ``size_kib`` that is a whole number of rows across the banks
    (``banks`` words of ``width_bits``): every bank holds the same number of whole words."""
    row_bytes = banks * width_bits // 8
    rows = int(size_kib * 1024 // row_bytes)
    if rows < 1:
        raise InputError("sensitivity study", "core.sram size_kib",
                         f"at least one word per bank ({row_bytes / 1024:g} KiB)", size_kib)
    return rows * row_bytes / 1024


def aligned_sizes(arch_cfg, sizes_kib: dict) -> dict:
    """Each named buffer's size rounded down to whole rows across its banks."""
    return {buf: bank_aligned_kib(kib, arch_cfg.core.sram[buf].banks,
                                  arch_cfg.core.sram[buf].width_bits)
            for buf, kib in sizes_kib.items()}


# the study prices buffer sizes beyond the config's area budget too (each point's area is
# in its row), so its buffer points lift the budget
NO_AREA_BUDGET = "chip.area_budget_mm2=null"


def buffer_overrides(sizes_kib: dict) -> tuple:
    """``--set`` overrides giving each named buffer its size, the area budget lifted."""
    return (NO_AREA_BUDGET,) + tuple(f"core.sram.{buf}.size_kib={kib:g}"
                                     for buf, kib in sizes_kib.items())


def study_points(arch, workloads, quick: bool = False, memory: str = "ideal") -> list[Point]:
    """Every point of the study for the workloads (paths), in dimension order."""
    if memory not in MEMORIES:
        raise InputError("--sensitivity-memory", "memory", " or ".join(MEMORIES), memory)
    from .. import api

    arch_cfg = api.load_arch(arch)
    scales = QUICK_SRAM_SCALES if quick else SRAM_SCALES
    weights = QUICK_WEIGHTS_KIB if quick else WEIGHTS_KIB
    factors = QUICK_BATCH_FACTORS if quick else BATCH_FACTORS
    points = []
    for wl in workloads:
        name = Path(wl).stem
        for s in scales:
            sizes = aligned_sizes(arch_cfg, {b: arch_cfg.core.sram[b].size_kib * s
                                             for b in SRAM_BUFFERS})
            points.append(Point(name, "sram", sum(sizes.values()), buffer_overrides(sizes),
                                memory=memory))
        for kib in weights:
            sizes = aligned_sizes(arch_cfg, {"weights": kib})
            if sizes["weights"] != arch_cfg.core.sram.weights.size_kib:   # the sram x 1 one
                points.append(Point(name, "weights", sizes["weights"],
                                    buffer_overrides(sizes), memory=memory))
        batch = api.load_configs(arch, str(wl))[1].batch
        for f in factors:
            b = max(1, round(batch * f))
            if b != batch:
                points.append(Point(name, "batch", b, (f"workload.batch={b}",),
                                    memory=memory))
        if not quick:
            for marked in MARKED_ARCHS:
                m = api.load_arch(marked)
                if m.name == arch_cfg.name:   # the reproduction's own arch: its default
                    continue
                points.append(Point(name, "sram", sram_kib_per_core(m), (), arch=marked,
                                    memory=memory))
    return points


def does_not_fit_summary(error: DoesNotFit, arch_cfg) -> dict:
    """What a run that the mapper cannot place reports instead of a summary: the mapper's
    message and the config's area."""
    from ..area import compute_area

    return {"does_not_fit": str(error), "area_mm2": compute_area(arch_cfg).total_mm2}


# The trace of the last workload a point ran in this process. The points of one workload
# that keep its batch (sram, weights, the marked archs) differ only in the chip, and the
# reproduction runs them one after another (``step_jobs`` orders the jobs by FLOPs per
# core): they share one trace instead of drawing it once each (0.1-1.6 s a point).
_last_trace: dict = {}


def step_trace(wl, network):
    """``api.get_traces(wl, network)``, drawn once for consecutive calls with the same
    workload config (traces are a function of it: the same seed, the same trace)."""
    key = json.dumps(wl.to_dict(), sort_keys=True, default=str)
    if key not in _last_trace:
        from .. import api

        _last_trace.clear()
        _last_trace[key] = api.get_traces(wl, network)
    return _last_trace[key]


def run_point(arch, point: Point, workload_path) -> dict:
    """The summary of the point's step, or ``{"does_not_fit": message, "area_mm2": ...}``
    when the mapper cannot place the workload (a config error is still an error). The
    placement is the mapper's for the point's config; the simulation's memory system is
    the point's ``memory``."""
    from .. import api

    arch_cfg, wl = api.load_configs(point.arch or arch, str(workload_path),
                                    list(point.overrides))
    network = api.build_network(wl)
    trace = step_trace(wl, network)
    try:
        placement = api.map_step(arch_cfg, network, wl, trace)
    except DoesNotFit as e:
        return does_not_fit_summary(e, arch_cfg)
    simulated = (api.load_arch(arch_cfg.to_dict(), list(IDEAL_MEMORY))
                 if point.memory == "ideal" else arch_cfg)
    return dict(api.run(simulated, wl, trace=trace, placement=placement).summary)


def point_row(point: Point, summary: dict, gpu_bytes: dict, default: bool) -> dict:
    """The study's row of one point: the claims' statistics (None where it does not fit).
    ``gpu_bytes``: the GPU model's DRAM bytes of the step by framework."""
    row = {"workload": point.workload, "dimension": point.dimension, "value": point.value,
           "arch": point.arch, "default": default, "area_mm2": summary.get("area_mm2")}
    if "does_not_fit" in summary:
        row.update(status="does not fit", reason=summary["does_not_fit"])
        return row
    chip = summary["dram_read_bytes"] + summary["dram_write_bytes"]
    row.update(status="ok", dram_bytes=chip, seconds=summary["seconds"],
               total_cycles=summary["total_cycles"],
               tflops_per_w_dense=summary["tflops_per_w_dense"],
               tflops_per_w_executed=summary["tflops_per_w_executed"])
    for fw, g in gpu_bytes.items():
        row[f"gpu_bytes_{fw}"] = g
        # (a step whose tensors all stay in the GPU's L2 has no reduction to speak of: None)
        row[f"reduction_pct_{fw}"] = reduction_pct(chip, g)
    return row


def with_default_copies(rows, weights_kib: float, batches: dict) -> list[dict]:
    """``rows`` with each workload's default point (the sram dimension's x 1, run once) also
    placed in the weights and batch dimensions, at the config's weights size and the
    workload's batch (``batches``: workload -> batch), where those dimensions have points
    and no default of their own."""
    out = list(rows)
    for r in rows:
        if r["dimension"] != "sram" or not r["default"]:
            continue
        for dim, value in (("weights", weights_kib), ("batch", batches[r["workload"]])):
            same = [q for q in rows if q["workload"] == r["workload"] and q["dimension"] == dim]
            if same and not any(q["default"] for q in same):
                out.append(dict(r, dimension=dim, value=value))
    return out


def is_default(point: Point, arch_cfg, batch: int) -> bool:
    """The point that is the reproduction's arch and workload unchanged."""
    if point.arch is not None:
        return False
    if point.dimension == "sram":
        return point.value == sram_kib_per_core(arch_cfg)
    if point.dimension == "weights":
        return point.value == arch_cfg.core.sram.weights.size_kib
    return point.value == batch


# --------------------------------------------------------------------------- claim regions


def value_ranges(values) -> str:
    """Sorted values as runs of consecutive study points: ``136-544``, ``2 and 8``."""
    return ", ".join(f"{a:g}" if a == b else f"{a:g}-{b:g}" for a, b in values)


def claim_regions(rows, claims=CLAIMS) -> list[dict]:
    """For each claim, workload and dimension: the values where the claim holds, as runs of
    consecutive points of the dimension (a point that does not fit breaks a run), and the
    marked points' values and verdicts."""
    out = []
    for claim in claims:
        for wl in dict.fromkeys(r["workload"] for r in rows):
            for dim in DIMENSIONS:
                rs = sorted((r for r in rows if r["workload"] == wl and r["dimension"] == dim
                             and r["arch"] is None), key=lambda r: r["value"])
                if not rs:
                    continue
                runs, start, prev = [], None, None
                for r in rs:
                    ok = r["status"] == "ok" and claim.holds(r.get(claim.stat))
                    if ok and start is None:
                        start = r["value"]
                    if not ok and start is not None:
                        runs.append((start, prev))
                        start = None
                    prev = r["value"]
                if start is not None:
                    runs.append((start, prev))
                marked = [r for r in rows if r["workload"] == wl and r["dimension"] == dim
                          and (r["default"] or r["arch"] is not None)]
                out.append({"claim": claim.name, "band": claim.band, "workload": wl,
                            "dimension": dim, "holds_at": runs,
                            "points": len(rs),
                            "with_figure": sum(claim.holds(r.get(claim.stat)) is not None
                                               for r in rs),
                            "fit": sum(r["status"] == "ok" for r in rs),
                            "marked": [(r["arch"] or "default", r["value"],
                                        r.get(claim.stat),
                                        claim.holds(r.get(claim.stat))) for r in marked]})
    return out
