"""The Python API. The CLI is a thin shell over these functions: it parses, calls, prints.

>>> from neurosim import api
>>> arch = api.load_arch("paper-20core", ["core.fp.lanes=64"])
>>> wl = api.load_workload("vgg11-cifar10")
>>> trace = api.get_traces(wl)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import arch as _arch_config
from .area import check_budgets
from .errors import InputError
from .workload import Trace, build_network, get_traces, load_trace, load_workload

__all__ = ["load_arch", "load_workload", "build_network", "get_traces", "load_trace",
           "trace_for", "trace_density_table", "InputError", "run", "RunResult",
           "split_overrides", "write_outputs", "write_text", "load_configs", "map_step",
           "simulate_step", "DatapathStepTimer"]


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
    placement: object      # neurosim.mapping.Placement
    arch: object           # neurosim.params.Config
    workload: object       # neurosim.params.Config
    network: object = None
    trace: object = None
    energy: object = None  # neurosim.energy.EnergyReport
    area: object = None    # neurosim.area.AreaReport
    critical_path: list = None  # its links (neurosim.critical_path), earliest first


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


def load_arch(path_or_dict, overrides: list[str] | None = None):
    """An arch config (``arch.load_arch``: extends, preset, ``--set``, checks) that also keeps
    to its area budgets (``chip.area_budget_mm2``, ``fpga.part``; docs/area.md). The budget
    check lives here, above both the config loader and the area model it needs."""
    cfg = _arch_config.load_arch(path_or_dict, overrides)
    check_budgets(cfg)
    return cfg


def load_configs(arch, workload, overrides=()) -> tuple:
    """(arch Config, workload Config) from paths, shipped names or loaded Configs, with
    ``overrides`` applied (``workload.``-prefixed ones to the workload)."""
    arch_o, wl_o = split_overrides(overrides)
    return _load_config(arch, load_arch, arch_o), _load_config(workload, load_workload, wl_o)


def _load_config(x, loader, overrides):
    from .params import Config

    if isinstance(x, Config):
        return loader(x.to_dict(), overrides) if overrides else x
    return loader(x, overrides)


def map_step(arch, network, workload=None, trace=None):
    """The mapper's placement of ``network`` on ``arch`` (a trace, if given, informs the
    cost model; without one the mapper uses the network's shapes only)."""
    from .mapping import map_network

    return map_network(arch, network, workload, trace)


def simulate_step(arch, workload, network, trace, placement=None,
                  progress=False) -> RunResult:
    """The one simulation pipeline every command uses (run, train, federated, scaling,
    reproduce, sweeps): map (unless ``placement`` is given) -> simulate one training step
    with the event-driven model -> stats -> energy -> area. ``arch`` and ``workload`` are loaded
    Configs, ``trace`` a Trace of ``network``. ``progress``: a bar on stderr for runs
    longer than a few seconds."""
    from .area import compute_area
    from .critical_path import critical_path
    from .energy import compute as compute_energy
    from .hw.chip import simulate
    from .hw.report import build_stats, publish_mode, summarize
    from .progress import TileProgress
    from .resources import young_collections_only

    with young_collections_only(collect_first=True):   # (docs/performance.md)
        if placement is None:
            placement = map_step(arch, network, workload, trace)
        momentum = workload.optimizer.type == "momentum"
        bar = TileProgress() if progress else None
        timing = simulate(arch, network, trace, placement, momentum, progress=bar)
        if bar is not None:
            bar.close()
        links = critical_path(timing)      # once: the stats and critical_path.json share it
        stats = build_stats(arch, network, placement, timing, trace.batch, trace.time_steps,
                            momentum, links)
        summary = summarize(arch, timing, stats)
        energy = compute_energy(arch, network, timing)
        energy.publish(stats["chip"])
        summary.update(energy.summary)
        area = compute_area(arch)          # area depends on the config alone (docs/area.md)
        area.publish(stats["chip"])
        summary.update(area.summary)
        publish_mode(stats["chip"], summary, network, trace, workload.get("repeats") or 1)
    return RunResult(summary, stats, timing, placement, arch, workload, network, trace, energy,
                     area, links)


def run(arch, workload, overrides=(), out_dir=None, progress=False, trace=None,
        placement=None, gantt: bool = False) -> RunResult:
    """Simulate one training step of ``workload`` on ``arch`` with the event-driven model.

    ``arch`` / ``workload``: a path, a shipped name, or a loaded Config. ``trace``: a Trace,
    a ``.npz`` path, or None (the workload's trace source). ``placement``: a Placement, or
    None (the mapper). ``out_dir``: if given, stats.json, stats.csv, summary.json,
    placement.json, critical_path.json (and gantt.svg with ``gantt``) are written there
    (atomically). ``progress``: a bar on stderr for runs
    longer than a few seconds."""
    if out_dir is not None:   # before any work: a bad place fails now, not after the run
        from .fileio import check_output_dir

        check_output_dir(out_dir, "out_dir", RUN_OUTPUT_REPLACEABLE)
    arch_cfg, wl = load_configs(arch, workload, overrides)
    prepare_kernels(arch_cfg)
    network = build_network(wl)
    if trace is None:
        trace = get_traces(wl, network)
    elif not isinstance(trace, Trace):
        trace = load_trace(trace, expect=network)
    elif not trace.network.same_shapes(network):
        raise InputError("<trace>", "network", f"a trace of workload network '{network.name}'",
                         "a trace of a different network")
    result = simulate_step(arch_cfg, wl, network, trace, placement, progress)
    if out_dir is not None:
        write_outputs(result, out_dir, gantt)
    return result


def prepare_kernels(arch_cfg=None) -> None:
    """The first run after an install (an empty numba cache): compile the memory system's
    engine in a second process (:mod:`neurosim.memsys.precompile`) and meanwhile the chip's
    kernels here, on a one-sample step of a small convolutional network with the ideal
    memory system (docs/performance.md, "The first run after an install"). Nothing if the
    engine is compiled already or a run on ``arch_cfg`` (any run, if None) does not use it."""
    from .memsys.cycle import compile_dram_kernels, compile_engine_elsewhere

    if compile_engine_elsewhere(arch_cfg):
        compile_dram_kernels()
        run("single-core", "convnet-digits", ("noc.model=ideal", "dram.model=ideal",
                                              "workload.traces.source=synthetic",
                                              "workload.batch=1", "workload.time_steps=1"))


class DatapathStepTimer:
    """Cycles and energy of the training steps the functional datapath takes (``neurosim
    train``, federated workers): the step's own trace (``make_trace``) through
    :func:`simulate_step`. Placements are mapped once per (arch, batch) without a trace."""

    def __init__(self, workload, network):
        self.workload, self.network = workload, network
        self.placements: dict = {}

    def __call__(self, arch, model, fw, g_u, labels, meta) -> RunResult:
        import dataclasses
        import json

        from .workload.trainer import make_trace

        # A step has traces.train_batch samples (fewer in an epoch's last step).
        net = dataclasses.replace(self.network, batch=len(labels))
        key = (json.dumps(arch.to_dict(), sort_keys=True, default=str), net.batch)
        if key not in self.placements:
            self.placements[key] = map_step(arch, net, self.workload)
        trace = make_trace(model, fw, g_u, meta, network=net)
        return simulate_step(arch, self.workload, net, trace, self.placements[key])


RUN_OUTPUT_FILES = ("stats.json", "stats.csv", "summary.json", "placement.json",
                    "critical_path.json", "gantt.svg", "noc_links.svg")
# what an output directory may hold to be replaced: these, and the PNG plots of earlier
# versions
RUN_OUTPUT_REPLACEABLE = RUN_OUTPUT_FILES + ("gantt.png", "noc_links.png")


def write_outputs(result: RunResult, out_dir, gantt: bool = False) -> list:
    """stats.json (nested {value, unit, desc}), stats.csv, summary.json, placement.json,
    critical_path.json (the links of docs/microarchitecture.md 10.2), with ``gantt``
    gantt.svg (the engines' cycles by class over the step) and, with the cycle-level NoC,
    noc_links.svg (the link utilisation heat map), written as one directory: it appears
    complete or not at all (``fileio.write_directory``)."""
    import json

    from .critical_path import links_json
    from .fileio import write_directory
    from .timeline import gantt_svg

    files = {
        "stats.json": result.stats.to_json(),
        "stats.csv": result.stats.to_csv(),
        "summary.json": json.dumps(result.summary, indent=1, sort_keys=True),
        "placement.json": json.dumps(result.placement.to_dict(), indent=1, sort_keys=True),
        "critical_path.json": json.dumps(links_json(result.critical_path), indent=1),
    }
    noc = result.timing.extra.get("memsys", {}).get("noc")
    if noc is not None:       # the cycle-level NoC's link statistics
        from .memsys.heatmap import link_heatmap_svg
        from .memsys.topology import Mesh

        files["noc_links.svg"] = link_heatmap_svg(
            noc, Mesh.of(result.arch),
            f"{result.arch.get('name')} / {result.workload.get('name')}: NoC link utilisation "
            f"over {noc['cycles']:,} cycles")
    if gantt:
        files["gantt.svg"] = gantt_svg(result.timing, f"{result.workload.name} on "
                                       f"{result.arch.name}: {result.timing.total_cycles:,} "
                                       "cycles")
    return write_directory(out_dir, files, replaceable=RUN_OUTPUT_REPLACEABLE)


def write_text(path, text: str) -> Path:
    """A text output file, written whole or not at all, ending with a newline."""
    from .fileio import atomic_write_text

    return atomic_write_text(Path(path), text if text.endswith("\n") else text + "\n")
