"""The Python API. The CLI is a thin shell over these functions: it parses, calls, prints.

>>> from neurosim import api
>>> arch = api.load_arch("paper-20core", ["core.fp.lanes=64"])
>>> wl = api.load_workload("vgg11-cifar10")
>>> trace = api.get_traces(wl)
"""
from __future__ import annotations

from pathlib import Path

from .arch import load_arch
from .errors import InputError
from .workload import Trace, build_network, get_traces, load_trace, load_workload

__all__ = ["load_arch", "load_workload", "build_network", "get_traces", "load_trace",
           "trace_for", "trace_density_table", "InputError"]


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
