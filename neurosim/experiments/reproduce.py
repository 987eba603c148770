"""The paper's headline claims, reproduced by simulation on one arch config.

``neurosim reproduce [ARCH] --out DIR`` runs, on the given chip (default: the 20-core
paper config):

1. every shipped workload's training step (cycles, energy, TFLOPS/W both ways, DRAM bytes);
2. the GPU baseline model of the same steps (both framework presets), for the DRAM claim;
3. VGG-11 with engine-level parallelism off, and on a single core, for the parallelism claim;
4. federated learning on chips of the arch with the default federated settings;
5. the sensitivity study (:mod:`.sensitivity`): per workload, the claims' figures over per-core
   SRAM, the weights buffer and batch size, and the region where each claim holds.

It writes ``report.md`` (claims beside our figures, with how each is computed),
``results.json`` (every number) and the study's PNG plots. Nothing in the report is typed
by hand: every figure comes from the runs above.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, api
from ..arch import sram_kib_per_core
from ..errors import DoesNotFit, InputError
from ..fileio import atomic_write_text
from ..paths import WORKLOAD_DIR
from .sensitivity import (CLAIMS, DIMENSIONS, IDEAL_MEMORY, Point, claim_regions,
                          does_not_fit_summary, is_default, point_row,
                          run_point, study_points, value_ranges, with_default_copies)

FLAGSHIP = "vgg11-cifar10"
QUICK_WORKLOADS = ("mlp-digits", "convnet-digits")
FRAMEWORKS = ("spikingjelly", "snntorch")
NO_ENGINE_PARALLELISM = ["schedule.bp_wg_overlap=false", "schedule.fp_bp_overlap=false"]


@dataclass
class Reproduction:
    arch: str
    gpu: str
    workloads: dict = field(default_factory=dict)     # name -> summary of its chip run
    does_not_fit: dict = field(default_factory=dict)  # name -> the mapper's message
    gpu_rows: list = field(default_factory=list)      # per workload x framework
    parallelism: dict = field(default_factory=dict)
    federated: dict | None = None
    sensitivity: list = field(default_factory=list)    # one row per point of the study
    claim_regions: list = field(default_factory=list)
    sensitivity_quick: bool = False
    sensitivity_memory: str = "ideal"
    notes: list = field(default_factory=list)
    wall_seconds: float = 0.0


def shipped_workloads(quick: bool = False, names=None) -> list[Path]:
    """The shipped workloads (``quick``: the quick ones; ``names``: only those)."""
    files = sorted(WORKLOAD_DIR.glob("*.yaml"))
    if names:
        known = {f.stem for f in files}
        for n in names:
            if n not in known:
                raise InputError("--workloads", n, "a shipped workload ("
                                 + ", ".join(sorted(known)) + ")", n)
        return [f for f in files if f.stem in names]
    if quick:
        files = [f for f in files if f.stem in QUICK_WORKLOADS]
    return files


@dataclass(frozen=True)
class StepJob:
    """One independent simulation of the reproduction: a workload's step on the arch, with
    overrides (the flagship's variants), a point of the sensitivity study, or the federated
    study."""

    key: str
    workload: Path
    overrides: tuple = ()
    federated: bool = False
    point: Point | None = None


def step_jobs(arch, quick: bool, federated: bool, sensitivity: bool = False,
              workloads=None, sensitivity_memory: str = "ideal") -> list[StepJob]:
    """Every simulation the reproduction needs, the most dense FLOPs per core first (and of
    equal FLOPs, the least SRAM first: it spills most), so that parallel workers finish
    together rather than one starting a big run last."""
    from ..energy.model import dense_flops
    from ..workload import build_network

    files = shipped_workloads(quick, workloads)
    jobs = [StepJob(f.stem, f) for f in files]
    flagship = WORKLOAD_DIR / f"{FLAGSHIP}.yaml"
    if any(f.stem == FLAGSHIP for f in files):
        jobs += [StepJob("no_engine_parallelism", flagship, tuple(NO_ENGINE_PARALLELISM)),
                 StepJob("one_core", flagship, ("chip.cores=1",))]
    if sensitivity:
        jobs += [StepJob(p.key, WORKLOAD_DIR / f"{p.workload}.yaml", p.overrides, point=p)
                 for p in study_points(arch, files, quick, sensitivity_memory)]

    def cost(job):
        arch_cfg, wl = api.load_configs((job.point and job.point.arch) or arch,
                                        str(job.workload), list(job.overrides))
        return (dense_flops(build_network(wl)) / arch_cfg.chip.cores,
                -sram_kib_per_core(arch_cfg))

    jobs.sort(key=cost, reverse=True)
    if federated:
        jobs.append(StepJob("federated", WORKLOAD_DIR / "mlp-digits.yaml", federated=True))
    return jobs


def run_job(arch, job: StepJob) -> tuple:
    """``(key, summary, batch)`` of one job; the federated job's summary is its study's."""
    if job.federated:
        from ..federated import run_federated

        return job.key, run_federated(arch, str(job.workload)).summary, None
    if job.point is not None:
        return job.key, run_point(arch, job.point, job.workload), None
    try:
        res = api.run(arch, str(job.workload), list(job.overrides))
    except DoesNotFit as e:
        arch_cfg = api.load_configs(arch, str(job.workload), list(job.overrides))[0]
        return job.key, does_not_fit_summary(e, arch_cfg), None
    return job.key, dict(res.summary), res.trace.batch


def timed_job(arch, job: StepJob) -> tuple:
    """``run_job``'s result and the CPU seconds it took (for the progress lines: which
    simulations bound the reproduction)."""
    t0 = time.process_time()
    key, summary, batch = run_job(arch, job)
    return key, summary, batch, time.process_time() - t0


def default_jobs() -> int:
    """Worker processes: the CPUs this process may run on."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run_jobs(arch, jobs, workers: int, progress) -> dict:
    """Every job's result by key. With one worker the jobs run here, in order; with more, in
    that many processes (each simulation is independent and deterministic, so the results
    are the same either way)."""
    from ..api import prepare_kernels

    results = {}
    t0 = time.perf_counter()
    prepare_kernels()   # a fresh install: the kernels compiled once, before the workers start

    def finished(result) -> None:
        key, summary, batch, cpu_s = result
        results[key] = (summary, batch)
        progress(f"[reproduce] {len(results)}/{len(jobs)} done: {key} ({cpu_s:.0f} s CPU; "
                 f"{time.perf_counter() - t0:.0f} s in all)")

    if workers <= 1:
        for job in jobs:
            progress(f"[reproduce] {job.key} on {arch}")
            finished(timed_job(arch, job))
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker, never a fork of numba's or SimPy's state
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(timed_job, arch, job): job for job in jobs}
        progress(f"[reproduce] {len(jobs)} simulations on {arch} in {workers} processes")
        for fut in as_completed(pending):
            finished(fut.result())
    return results


def reproduce(arch="arch_configs/paper-20core.yaml", gpu="a100-40gb", quick=False,
              federated=True, progress=print, jobs: int = 1, sensitivity: bool = True,
              workloads=None, sensitivity_memory: str = "ideal") -> Reproduction:
    """The reproduction's numbers. ``jobs``: worker processes for its independent
    simulations (1: all in this process). ``sensitivity``: run the sensitivity study too
    (with ``quick``, its quick variant; ``sensitivity_memory``: its memory system, see
    :mod:`.sensitivity`). ``workloads``: shipped workload names to run (default: all, or
    the quick ones)."""
    t0 = time.perf_counter()
    rep = Reproduction(str(arch), gpu)
    step = step_jobs(arch, quick, federated, sensitivity, workloads, sensitivity_memory)
    results = run_jobs(arch, step, jobs, progress)
    if sensitivity:
        rep.sensitivity = sensitivity_rows(arch, gpu, step, results)
        rep.claim_regions = claim_regions(rep.sensitivity)
        rep.sensitivity_quick = quick
        rep.sensitivity_memory = sensitivity_memory
    for f in shipped_workloads(quick, workloads):
        summary, batch = results[f.stem]
        if "does_not_fit" in summary:
            rep.does_not_fit[f.stem] = summary["does_not_fit"]
            continue
        s = dict(summary)
        s["tflops_per_w_on_chip"] = on_chip_tflops_per_w(s)
        s["samples_per_s"] = batch / s["seconds"]
        rep.workloads[f.stem] = s
        rep.gpu_rows += gpu_rows(f, s, gpu)
    variants = ("no_engine_parallelism", "one_core")
    if FLAGSHIP in rep.workloads and not any("does_not_fit" in results[k][0] for k in variants):
        off = results["no_engine_parallelism"][0]
        one = results["one_core"][0]
        on = rep.workloads[FLAGSHIP]
        rep.parallelism = {
            "cores": on["cores"], "cycles": on["total_cycles"],
            "cycles_no_engine_parallelism": off["total_cycles"],
            "engine_parallelism_speedup": off["total_cycles"] / on["total_cycles"],
            "cycles_one_core": one["total_cycles"],
            "core_speedup": one["total_cycles"] / on["total_cycles"],
            "parallel_efficiency": one["total_cycles"] / on["total_cycles"] / on["cores"],
        }
    if federated:
        rep.federated = results["federated"][0]
    rep.wall_seconds = time.perf_counter() - t0
    return rep


def gpu_rows(workload: Path, summary: dict, gpu: str) -> list[dict]:
    """The DRAM comparison of one workload's chip run with the GPU model, per framework."""
    from ..baselines.chip import chip_dram_energy_j, dram_by_kind
    from ..baselines.compare import Comparison
    from ..baselines.gpu import gpu_dram_traffic

    rows = []
    for fw in FRAMEWORKS:
        g = gpu_dram_traffic(str(workload), gpu, fw)
        c = Comparison(g.workload, g, dram_by_kind(summary), chip_dram_energy_j(summary))
        by_kind = {r["kind"]: r for r in c.kind_rows()}
        tot = by_kind["total"]
        rows.append({"workload": workload.stem, "framework": fw,
                     "gpu_bytes": tot["gpu_total"], "chip_bytes": tot["chip_total"],
                     "reduction_pct": tot["reduction_pct"], "by_kind": by_kind})
    return rows


def sensitivity_rows(arch, gpu: str, jobs, results) -> list[dict]:
    """The study's rows, in job order of the points, each with the GPU model's bytes of the
    same workload and batch."""
    from ..baselines.gpu import gpu_dram_traffic

    arch_cfg = api.load_arch(arch)
    gpu_bytes, rows, batches = {}, [], {}
    for job in (j for j in jobs if j.point is not None):
        summary = results[job.key][0]
        wl = api.load_configs(arch, str(job.workload), list(job.overrides))[1]
        if job.point.workload not in batches:
            batches[job.point.workload] = api.load_configs(arch, str(job.workload))[1].batch
        default_batch = batches[job.point.workload]
        if (job.workload, wl.batch) not in gpu_bytes:
            gpu_bytes[job.workload, wl.batch] = {
                fw: gpu_dram_traffic(str(job.workload), gpu, fw,
                                     workload_overrides=[f"batch={wl.batch}"]).total_bytes
                for fw in FRAMEWORKS}
        rows.append(point_row(job.point, summary, gpu_bytes[job.workload, wl.batch],
                              is_default(job.point, arch_cfg, default_batch)))
    rows = with_default_copies(rows, arch_cfg.core.sram.weights.size_kib, batches)
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    rows.sort(key=lambda r: (r["workload"], order[r["dimension"]], r["arch"] is not None,
                             r["value"]))
    return rows


def on_chip_tflops_per_w(s: dict) -> float:
    """Dense-equivalent FLOPs per joule of the chip alone (DRAM energy left out): the
    figure comparable to a chip-level power measurement."""
    on_chip = s["energy_j"] - s.get("energy_dram_j", 0.0)
    return s["dense_flops"] / on_chip / 1e12 if on_chip > 0 else float("nan")


# --------------------------------------------------------------------------- report


def _fmt(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _percent(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def _range(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    return f"{min(vals):.1f} to {max(vals):.1f} %"


def report_markdown(rep: Reproduction, command: str) -> str:
    w = rep.workloads
    flag = w.get(FLAGSHIP)
    lines = [f"# Paper reproduction on `{rep.arch}`", "",
             f"Produced by `{command}` (neurosim {__version__}). Every number below is "
             "simulated by that command; the claims are quoted from the paper's abstract "
             "(arXiv 2412.05302).", "", "## Claims", "",
             "| claim (paper) | neurosim | how it is computed |", "|---|---|---|"]
    if flag:
        lines.append(
            f"| 1.05 TFLOPS/W at FP16, 28 nm | {FLAGSHIP}: {_fmt(flag['tflops_per_w_dense'])} "
            f"TFLOPS/W dense-equivalent, {_fmt(flag['tflops_per_w_on_chip'])} without DRAM "
            f"energy, {_fmt(flag['tflops_per_w_executed'])} executed | energy = counted "
            "events x 28 nm energy table + leakage (docs/energy.md); dense-equivalent = FP16 "
            "FLOPs of the dense FP+BP+WG computation; executed = FLOPs the engines did |")
    for fw in FRAMEWORKS:
        red = [r["reduction_pct"] for r in rep.gpu_rows if r["framework"] == fw]
        lines.append(f"| 55-85 % less DRAM access than an A100 | {_range(red)} over "
                     f"{len(red)} shipped workloads vs {rep.gpu} ({fw} model) | chip DRAM "
                     "bytes per step (simulated) vs the GPU model's (docs/gpu-baseline.md) |")
    if flag:
        lines.append(f"| 20-core deep SNN training | {FLAGSHIP}: {_fmt(flag['total_cycles'])} "
                     f"cycles = {_fmt(flag['seconds'] * 1e3)} ms per step of "
                     f"{_fmt(flag['samples_per_s'])} samples/s on {flag['cores']} cores | "
                     "event-driven model, ideal or cycle memory per the config |")
    p = rep.parallelism
    if p:
        lines.append(f"| parallel at engine and core level | engine parallelism "
                     f"x{_fmt(p['engine_parallelism_speedup'])}; {p['cores']} cores vs 1: "
                     f"x{_fmt(p['core_speedup'])} (efficiency "
                     f"{_fmt(100 * p['parallel_efficiency'])} %) | {FLAGSHIP} with "
                     "`schedule.*_overlap=false` and with `chip.cores=1` |")
    if flag:
        lines.append(f"| sparse computation | {FLAGSHIP}: "
                     f"{_fmt(100 * flag['executed_ops'] / flag['dense_ops'])} % of dense "
                     "operations executed | executed lane operations / dense-equivalent |")
    if rep.federated:
        f = rep.federated
        acc = f.get("final_accuracy")
        rounds = f.get("rounds") or 1
        lines.append(f"| 5-worker federated learning | {f.get('workers', '?')} workers on "
                     f"{f.get('workload', '?')}, {f.get('rounds', '?')} rounds: accuracy "
                     f"{_fmt(100 * f['initial_accuracy'])} -> {_fmt(100 * acc)} %; "
                     f"{_fmt(f['total_round_s'] / rounds * 1e3)} ms and "
                     f"{_fmt(f['total_energy_j'] / rounds * 1e3)} mJ per round | local steps "
                     "on each chip's datapath, timed and priced by the models; FedAvg over a "
                     "1 Gb/s link model (docs/federated.md) |")
    if flag and "area_mm2" in flag:
        lines += ["", "## The chip's area", "",
                  f"Modelled area of `{rep.arch}` (`neurosim area {rep.arch}`, per-unit "
                  f"figures and sources in docs/area.md): {_fmt(flag['area_mm2'])} mm2, of "
                  f"which SRAM {_fmt(flag['area_sram_mm2'])} mm2, engine logic "
                  f"{_fmt(flag['area_logic_mm2'])} mm2, NoC routers "
                  f"{_fmt(flag['area_noc_mm2'])} mm2, DRAM I/O {_fmt(flag['area_dram_io_mm2'])} "
                  "mm2. The SRAM sizes decide how much spills to DRAM and so the DRAM "
                  "comparison below; docs/area.md compares them with published chips."]
    lines += ["", "## Training steps on the chip", "",
              "| workload | cycles | ms/step | samples/s | energy mJ | W | TFLOPS/W dense | "
              "TFLOPS/W w/o DRAM | TFLOPS/W executed | DRAM MB | util FP/BP/WG % |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in w.items():
        lines.append(
            f"| {name} | {_fmt(s['total_cycles'])} | {_fmt(s['seconds'] * 1e3)} | "
            f"{_fmt(s['samples_per_s'])} | {_fmt(s['energy_j'] * 1e3)} | "
            f"{_fmt(s['avg_power_w'])} | {_fmt(s['tflops_per_w_dense'])} | "
            f"{_fmt(s['tflops_per_w_on_chip'])} | {_fmt(s['tflops_per_w_executed'])} | "
            f"{_fmt((s['dram_read_bytes'] + s['dram_write_bytes']) / 1e6)} | "
            f"{100 * s['util_fp']:.0f}/{100 * s['util_bp']:.0f}/{100 * s['util_wg']:.0f} |")
    for name, message in rep.does_not_fit.items():
        lines.append(f"| {name} | does not fit: {message} |" + " |" * 9)
    lines += ["", f"## DRAM traffic per step: chip vs {rep.gpu} model", "",
              "| workload | framework | GPU MB | chip MB | reduction % | chip's largest kinds |",
              "|---|---|---|---|---|---|"]
    for r in rep.gpu_rows:
        kinds = sorted(((k, v["chip_total"] or 0) for k, v in r["by_kind"].items()
                        if k != "total"), key=lambda kv: -kv[1])[:2]
        lines.append(f"| {r['workload']} | {r['framework']} | {r['gpu_bytes'] / 1e6:.1f} | "
                     f"{r['chip_bytes'] / 1e6:.1f} | {_fmt(r['reduction_pct'])} | "
                     + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in kinds) + " |")
    if rep.sensitivity:
        lines += sensitivity_markdown(rep)
    lines += flop_conventions_markdown()
    lines += ["", "## Where ours differ, and why", "",
              "- The abstract does not say how its FLOPs are counted nor whether DRAM energy "
              "is included, so three efficiency figures are given: dense-equivalent FLOPs per "
              "joule with and without DRAM energy, and executed FLOPs per joule. Sparse "
              "execution lowers the executed figure by design.",
              "- The GPU side is a model of framework kernels through an L2 cache "
              "(docs/gpu-baseline.md; checked against Nsight Compute on an H100 there), not a "
              "measurement of an A100.",
              "- Big workloads use synthetic traces at literature densities "
              "(docs/workloads.md); the digits workloads use traces of real training."]
    lines += [f"- {n}" for n in claim_notes(rep.claim_regions)]
    lines += [f"- {n}" for n in rep.notes]
    lines += ["", f"Wall time of the reproduction: {rep.wall_seconds:.0f} s.", ""]
    return "\n".join(lines)


DIMENSION_LABELS = {"sram": "SRAM per core (KiB), all buffers scaled together",
                    "weights": "weights buffer per core (KiB), the others unchanged",
                    "batch": "samples per step (batch)"}


def sensitivity_markdown(rep: Reproduction) -> list[str]:
    """The report's section on the sensitivity study: claim regions, every point, plots."""
    rows = rep.sensitivity
    marked = sorted({r["arch"] for r in rows if r["arch"]})
    if rep.sensitivity_memory == "ideal":
        memory = ("The mapper places each point for its config exactly as `neurosim run` "
                  "would (its cost model prices the cycle-level DRAM's bandwidth), so every "
                  "DRAM byte below is that run's; the step is then simulated on that "
                  f"placement with `{' '.join(IDEAL_MEMORY)}` (no bandwidth limit), so step "
                  "time is a lower bound and TFLOPS/W optimistic where the step spills "
                  "(less leakage over the shorter step; docs/results-sensitivity.md "
                  "measures both against the cycle-level models). ")
    else:
        memory = "Every point is simulated with the config's own NoC and DRAM models. "
    lines = ["", "## Where the claims hold: sensitivity study", "",
             "Each point is one training step of a workload on the reproduction's arch "
             "changed in one dimension at a time. " + memory + "Dimensions: "
             + "; ".join(f"**{d}**: {DIMENSION_LABELS[d]}" for d in DIMENSIONS)
             + ". Buffer sizes are rounded down to whole rows across their banks. The "
             "config's own point is marked *default*"
             + (", and " + ", ".join(f"`{m}`" for m in marked) + " (its own buffer sizes, "
                "same memory) is marked as a point of the sram dimension" if marked else "")
             + ". A point whose working set the mapper cannot place is listed as *does not "
             "fit* with the buffer it names."
             + (" This is the quick variant (`--quick`): two SRAM points per workload."
                if rep.sensitivity_quick else ""), "",
             "### Claim regions", "",
             "Where our model reproduces each claim: the values of each dimension (runs of "
             "consecutive study points) whose figure lies in the claim's band. A workload "
             "whose whole step stays in the GPU model's L2 has no DRAM reduction (\"-\").",
             "",
             "| claim | band | workload | dimension | holds at | points that fit | marked "
             "points |", "|---|---|---|---|---|---|---|"]
    for c in rep.claim_regions:
        holds = value_ranges(c["holds_at"]) or ("nowhere" if c["with_figure"] else
                                                "- (no figure at any point)")
        marks = "; ".join(f"{name} ({v:g}): {_fmt(x)}"
                          + ("" if ok is None else " yes" if ok else " no")
                          for name, v, x, ok in c["marked"]) or "-"
        lines.append(f"| {c['claim']} | {c['band']} | {c['workload']} | {c['dimension']} | "
                     f"{holds} | {c['fit']} of {c['points']} | {marks} |")
    lines += ["", "### Every point", "",
              "| workload | dimension | value | config | DRAM MB | reduction % SpikingJelly "
              "/ snnTorch | TFLOPS/W dense | TFLOPS/W executed | ms/step | area mm2 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        config = r["arch"] or ("default" if r["default"] else "")
        if r["status"] != "ok":
            buf = r["reason"].split(": ")[1] if ": " in r["reason"] else r["reason"]
            lines.append(f"| {r['workload']} | {r['dimension']} | {r['value']:g} | {config} | "
                         f"does not fit ({buf}) | - | - | - | - | {_fmt(r['area_mm2'])} |")
            continue
        lines.append(
            f"| {r['workload']} | {r['dimension']} | {r['value']:g} | {config} | "
            f"{_fmt(r['dram_bytes'] / 1e6)} | {_percent(r['reduction_pct_spikingjelly'])} / "
            f"{_percent(r['reduction_pct_snntorch'])} | {_fmt(r['tflops_per_w_dense'])} | "
            f"{_fmt(r['tflops_per_w_executed'])} | {_fmt(r['seconds'] * 1e3)} | "
            f"{_fmt(r['area_mm2'])} |")
    lines += [""] + [f"![{d}](sensitivity-{d}.png)" for d in DIMENSIONS
                     if any(r["dimension"] == d and r["status"] == "ok" for r in rows)]
    return lines


def claim_notes(regions) -> list[str]:
    """One sentence per claim from the study: for which workloads the config's own point
    reproduces it, for which some point of the study does, and for which none does."""
    notes = []
    for claim in CLAIMS:
        rs = [c for c in regions if c["claim"] == claim.name]
        if not rs:
            continue
        at_default = {c["workload"] for c in rs for name, _, _, ok in c["marked"]
                      if name == "default" and ok}
        somewhere = {c["workload"] for c in rs if c["holds_at"]}
        with_figure = {c["workload"] for c in rs if c["with_figure"]}
        nowhere = sorted(with_figure - somewhere)
        no_figure = sorted({c["workload"] for c in rs} - with_figure)
        notes.append(f"Sensitivity study, {claim.name} ({claim.band}): reproduced by the "
                     f"config itself for {', '.join(sorted(at_default)) or 'no workload'}; "
                     f"somewhere in the study for {', '.join(sorted(somewhere)) or 'none'}"
                     + (f"; nowhere for {', '.join(nowhere)}" if nowhere else "")
                     + (f"; no figure for {', '.join(no_figure)}" if no_figure else "") + ".")
    return notes


def flop_conventions_markdown() -> list[str]:
    """What the efficiency figures count as a FLOP, as the code counts it."""
    return ["", "## FLOP-counting conventions", "",
            "As counted by `neurosim/energy/model.py` (`dense_flops`, `executed_flops`); "
            "every FLOP is an FP16 operation.", "",
            "- **Dense-equivalent FLOPs** (`dense_flops`, TFLOPS/W dense): 2 FLOPs per MAC "
            "of the dense computation, per sample and time step: FP (every weighted layer's "
            "dense MACs, each input treated as a spike to accumulate), BP (the transposed "
            "product, for every layer not reading only the network input) and WG (every "
            "layer's dense MACs). A spike accumulate therefore counts as a MAC (2 FLOPs), "
            "whether or not the spike is there. The LIF updates, the surrogate "
            "multiplies, the loss and the weight update are not counted.",
            "- **Executed FLOPs** (`executed_flops`, TFLOPS/W executed): the engines' "
            "counters (docs/microarchitecture.md section 8) priced as an add 1 FLOP, a "
            "multiply-add 2, a LIF neuron update 2 (decay multiply and current add; the "
            "threshold compare is not a FLOP). So a spike accumulate (FP `add_ops`, one per "
            "active lane of a present spike's chunk) is 1 FLOP; a surrogate multiply (BP "
            "delta, `g(S) sg(U)` plus the carried `beta g(U)`: BP `mac_ops`, one per active "
            "lane) is 2, as is each product of the transposed BP pass and of the loss; the "
            "weight-gradient accumulate on a present input (WG `add_ops`) is 1; a weight "
            "update (WG `mac_ops` of the UPD phase, one per weight and replica, and one more "
            "per weight for the momentum) is 2.",
            "- Both efficiency figures divide by the step's whole energy (engines, SRAM, NoC, "
            "DRAM, leakage); the claims table gives the dense one without DRAM energy too."]


def write_outputs(rep: Reproduction, out_dir, command: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.md": report_markdown(rep, command),
        "results.json": json.dumps({
            "arch": rep.arch, "gpu": rep.gpu, "workloads": rep.workloads,
            "gpu_comparison": [{k: v for k, v in r.items() if k != "by_kind"}
                               for r in rep.gpu_rows],
            "does_not_fit": rep.does_not_fit,
            "parallelism": rep.parallelism, "federated": rep.federated,
            "sensitivity": rep.sensitivity, "claim_regions": rep.claim_regions,
            "notes": rep.notes}, indent=1, sort_keys=True, default=float),
    }
    written = []
    for name, text in files.items():
        path = out / name
        written.append(atomic_write_text(path, text))
    if rep.sensitivity:
        from ..plots import sensitivity_figure

        bands = {c.stat: (c.low, c.high) for c in CLAIMS}
        for d in DIMENSIONS:
            if any(r["dimension"] == d and r["status"] == "ok" for r in rep.sensitivity):
                written.append(sensitivity_figure(rep.sensitivity, d, DIMENSION_LABELS[d],
                                                  out / f"sensitivity-{d}.png", bands))
    return written
