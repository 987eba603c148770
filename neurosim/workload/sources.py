"""Where a workload's traces come from: one entry point, :func:`get_traces`."""
from __future__ import annotations

from ..params import Config
from ..resources import require_memory
from .network import Network, build_network
from .schema import density_for
from .trace import Trace, load_trace, n_words


def get_traces(wl: Config, network: Network | None = None) -> Trace:
    """The trace of one training step of workload ``wl``, from its ``traces.source``."""
    network = network or build_network(wl)
    src = wl.traces.source
    if src != "file":
        _require_trace_memory(wl, network)
    if src == "file":
        return load_trace(wl.traces.path, expect=network)
    if src == "synthetic":
        from .synthetic import generate

        n = len(network.layers)
        density_for(wl.traces.firing, n, wl, "traces.firing")  # one-line error on bad length
        density_for(wl.traces.gradient, n, wl, "traces.gradient")
        return generate(network, wl.traces, beta=wl.network.neuron.beta,
                        reset=wl.network.neuron.reset, repeats=wl.repeats)
    if src == "trainer":
        from .trainer import record_trace  # built-in BPTT trainer

        return record_trace(wl, network)
    raise wl.error("traces.source", "trainer, synthetic or file", src)  # pragma: no cover


def trace_bytes(network: Network, batch: int, time_steps: int) -> int:
    """Bytes of a trace's bit-packed masks (input, spikes, surrogate, g(U) of every layer)
    plus the unpacked boolean arrays of the largest layer that a generator holds at once."""
    words = sum(n_words(hl.n_in) + 3 * n_words(hl.n_out) for hl in network.layers)
    widest = max(max(hl.n_in, hl.n_out) for hl in network.layers)
    return batch * time_steps * (8 * words + 6 * widest)


def _require_trace_memory(wl: Config, network: Network) -> None:
    b, t = network.batch, wl.time_steps      # batch x repeats samples
    key, value = ("batch", wl.batch) if b >= t else ("time_steps", t)
    require_memory(trace_bytes(network, b, t), lambda expected, got: wl.error(
        key, f"batch x time_steps ({b} x {t}) of {expected}", f"{value} ({got})"))
