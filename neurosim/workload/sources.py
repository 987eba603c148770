"""Where a workload's traces come from: one entry point, :func:`get_traces`."""
from __future__ import annotations

from ..params import Config
from .network import Network, build_network
from .schema import density_for
from .trace import Trace, load_trace


def get_traces(wl: Config, network: Network | None = None) -> Trace:
    """The trace of one training step of workload ``wl``, from its ``traces.source``."""
    network = network or build_network(wl)
    src = wl.traces.source
    if src == "file":
        return load_trace(wl.traces.path, expect=network)
    if src == "synthetic":
        from .synthetic import generate

        n = len(network.layers)
        density_for(wl.traces.firing, n, wl, "traces.firing")  # one-line error on bad length
        density_for(wl.traces.gradient, n, wl, "traces.gradient")
        return generate(network, wl.traces, beta=wl.network.neuron.beta,
                        reset=wl.network.neuron.reset)
    if src == "trainer":
        from .trainer import record_trace  # built-in BPTT trainer

        return record_trace(wl, network)
    raise wl.error("traces.source", "trainer, synthetic or file", src)  # pragma: no cover
