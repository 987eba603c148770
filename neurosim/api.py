"""The Python API. The CLI is a thin shell over these functions: it parses, calls, prints.

>>> from neurosim import api
>>> arch = api.load_arch("paper-20core", ["core.fp.lanes=64"])
>>> wl = api.load_workload("vgg11-cifar10")
>>> trace = api.get_traces(wl)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .arch import load_arch
from .errors import InputError
from .workload import Trace, build_network, get_traces, load_trace, load_workload

__all__ = ["load_arch", "load_workload", "build_network", "get_traces", "load_trace",
           "trace_for", "trace_density_table", "InputError", "run", "RunResult",
           "split_overrides", "write_outputs"]


def trace_for(file_or_workload: str, overrides: list[str] | None = None) -> Trace:
    """A trace from a ``.npz`` file, or generated from a workload YAML's trace source."""
    p = Path(file_or_workload)
    if p.suffix == ".npz":
        if overrides:
            raise InputError("--set", overrides[0].split("=")[0], "no overrides for a trace file")
        return load_trace(p)
    wl = load_workload(file_or_workload, overrides)
    return get_traces(wl)


def trace_density_table(trace: Trace) -> list[dict]:
    """One row per (layer, time step): input, firing, surrogate and g(U) densities."""
    rows = []
    for hl, lt in zip(trace.network.layers, trace.layers):
        dens = {k: lt.density(k) for k in ("in_mask", "out_spikes", "sg_mask", "gu_mask")}
        for t in range(trace.time_steps):
            rows.append({"layer": hl.name, "kind": hl.kind, "t": t,
                         "n_in": hl.n_in, "n_out": hl.n_out,
                         "input_density": float(dens["in_mask"][t]),
                         "firing_density": float(dens["out_spikes"][t]),
                         "surrogate_density": float(dens["sg_mask"][t]),
                         "gradient_density": float(dens["gu_mask"][t])})
    return rows


# --------------------------------------------------------------------------- simulation


@dataclass
class RunResult:
    """One simulated training step: flat ``summary`` numbers, the gem5-style ``stats`` tree,
    the raw ``timing`` records, and what produced them."""

    summary: dict
    stats: object          # neurosim.stats.StatGroup
    timing: object         # neurosim.timing.TimingResult
    placement: object      # neurosim.hw.placement.Placement
    arch: object           # neurosim.params.Config
    workload: object       # neurosim.params.Config
    network: object = None
    trace: object = None
    energy: object = None  # neurosim.energy.EnergyReport
    area: object = None    # neurosim.area.AreaReport


def split_overrides(overrides) -> tuple[list, list]:
    """``KEY=VALUE`` strings: ``workload.``-prefixed ones (prefix stripped) go to the workload,
    all others to the arch config."""
    arch_o, wl_o = [], []
    for o in overrides or ():
        if o.startswith("workload."):
            wl_o.append(o[len("workload."):])
        else:
            arch_o.append(o)
    return arch_o, wl_o


def _config(x, loader, overrides):
    from .params import Config

    if isinstance(x, Config):
        return loader(x.to_dict(), overrides) if overrides else x
    return loader(x, overrides)


def run(arch, workload, overrides=(), out_dir=None, progress=False, trace=None,
        placement=None) -> RunResult:
    """Simulate one training step of ``workload`` on ``arch`` with the event-driven model.

    ``arch`` / ``workload``: a path, a shipped name, or a loaded Config. ``trace``: a Trace,
    a ``.npz`` path, or None (the workload's trace source). ``placement``: a Placement, or
    None (the mapper). ``out_dir``: if given, stats.json, stats.csv, summary.json and
    placement.json are written there (atomically). ``progress``: a bar on stderr for runs
    longer than a few seconds."""
    from .area import compute_area
    from .energy import compute as compute_energy
    from .hw.chip import simulate
    from .hw.mapping import map_network
    from .hw.report import build_stats, summarize

    arch_o, wl_o = split_overrides(overrides)
    arch_cfg = _config(arch, load_arch, arch_o)
    wl = _config(workload, load_workload, wl_o)
    network = build_network(wl)
    if trace is None:
        trace = get_traces(wl, network)
    elif not isinstance(trace, Trace):
        trace = load_trace(trace, expect=network)
    elif not trace.network.same_shapes(network):
        raise InputError("<trace>", "network", f"a trace of workload network '{network.name}'",
                         "a trace of a different network")
    if placement is None:
        placement = map_network(arch_cfg, network, wl, trace)
    momentum = wl.optimizer.type == "momentum"
    bar = _ProgressBar() if progress else None
    timing = simulate(arch_cfg, network, trace, placement, momentum, progress=bar)
    if bar is not None:
        bar.close()
    stats = build_stats(arch_cfg, network, placement, timing, trace.batch, trace.time_steps,
                        momentum)
    summary = summarize(arch_cfg, timing, stats)
    energy = compute_energy(arch_cfg, network, timing)
    energy.publish(stats["chip"])
    summary.update(energy.summary)
    area = compute_area(arch_cfg)          # area depends on the config alone (docs/area.md)
    area.publish(stats["chip"])
    summary.update(area.summary)
    result = RunResult(summary, stats, timing, placement, arch_cfg, wl, network, trace, energy,
                       area)
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


def write_outputs(result: RunResult, out_dir) -> list:
    """stats.json (nested {value, unit, desc}), stats.csv, summary.json, placement.json;
    each written to a temporary name and renamed, so no half-written file appears."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "stats.json": result.stats.to_json(),
        "stats.csv": result.stats.to_csv(),
        "summary.json": json.dumps(result.summary, indent=1, sort_keys=True),
        "placement.json": json.dumps(result.placement.to_dict(), indent=1, sort_keys=True),
    }
    written = []
    for name, text in files.items():
        written.append(_atomic_write(out / name, text))
    return written


def _atomic_write(path: Path, text: str) -> Path:
    """A text output file, written whole or not at all, ending with a newline."""
    from .fileio import atomic_write_text

    return atomic_write_text(path, text if text.endswith("\n") else text + "\n")


class _ProgressBar:
    """A percentage bar on stderr, shown only once a run has taken a few seconds."""

    DELAY_S = 2.0

    def __init__(self):
        import time

        self._time = time.perf_counter
        self.t0 = self._time()
        self.shown = False
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        import sys

        if self._time() - self.t0 < self.DELAY_S:
            return
        pct = int(100 * done / max(1, total))
        if pct == self.last:
            return
        self.last = pct
        self.shown = True
        bar = "#" * (pct // 4)
        sys.stderr.write(f"\rsimulating [{bar:<25}] {pct:3d}% ({done}/{total} tiles)")
        sys.stderr.flush()

    def close(self) -> None:
        import sys

        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
