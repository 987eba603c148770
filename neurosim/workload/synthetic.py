"""Synthetic traces at given per-layer densities, for networks too big to train here.

Each binary tensor is a temporally correlated Bernoulli process: at t = 0 every neuron draws
``Bernoulli(p)``; at each later step it keeps its previous state with probability
``temporal_correlation`` and draws afresh otherwise, so the marginal density stays ``p`` at
every step while spike trains have the persistence real SNNs show.

What is drawn and what is derived, so that the trace obeys the BPTT equations:

- ``out_spikes`` of each layer: drawn at the layer's ``firing`` density;
- ``sg_mask`` (sg(U[t]) != 0): drawn at the layer's ``gradient`` density;
- ``gu_mask`` (g(U[t]) != 0): derived backwards in time from the backward recurrence
  ``g(U[t]) = g(S[t]) sg(U[t]) + beta g(U[t+1]) (1 - S[t])`` with g(S) dense:
  ``gu[t] = sg[t] | (gu[t+1] & ~S[t])`` (and ``gu[t] = sg[t]`` when beta = 0);
- ``in_mask``: the network input (drawn at ``input_density``; identical at every step for
  direct coding, where the same analog frame is presented each step), or the OR of the
  producing layers' spikes after pooling, exactly as the edges deliver them.
"""
from __future__ import annotations

import numpy as np

from .network import Network
from .schema import density_for
from .trace import LayerTrace, Trace, edge_bits, pack_bits


def correlated_bernoulli(rng: np.random.Generator, shape_bt_n: tuple, p: float,
                         rho: float) -> np.ndarray:
    """bool (B, T, N): per-step marginal p, persistence rho between steps."""
    b, t, n = shape_bt_n
    out = np.empty((b, t, n), dtype=bool)
    out[:, 0] = rng.random((b, n)) < p
    for s in range(1, t):
        keep = rng.random((b, n)) < rho
        fresh = rng.random((b, n)) < p
        out[:, s] = np.where(keep, out[:, s - 1], fresh)
    return out


def derive_gu(sg: np.ndarray, spikes: np.ndarray, beta: float) -> np.ndarray:
    """gu[t] = sg[t] | (gu[t+1] & ~S[t]) backwards in time (bool arrays (B, T, N))."""
    gu = sg.copy()
    if beta == 0:
        return gu
    for t in range(sg.shape[1] - 2, -1, -1):
        gu[:, t] |= gu[:, t + 1] & ~spikes[:, t]
    return gu


def generate(network: Network, params, beta: float, seed: int | None = None) -> Trace:
    """Draw a trace for ``network``. ``params`` is the workload's ``traces`` section
    (a Config or dict with input_density, firing, gradient, temporal_correlation, seed)."""
    get = params.get if hasattr(params, "get") else params.__getitem__
    seed = int(get("seed") if seed is None else seed)
    rng = np.random.default_rng(seed)
    n_layers = len(network.layers)
    firing = _expand(get("firing"), n_layers)
    grad = _expand(get("gradient"), n_layers)
    rho = float(get("temporal_correlation"))
    b, t = network.batch, network.time_steps
    n0 = int(np.prod(network.input_shape))
    if network.coding == "direct":
        frame = rng.random((b, 1, n0)) < float(get("input_density"))
        input_bits = np.repeat(frame, t, axis=1)
    else:
        input_bits = correlated_bernoulli(rng, (b, t, n0), float(get("input_density")), rho)
    out_bits: dict[str, np.ndarray] = {"input": input_bits}
    layers = []
    for i, hl in enumerate(network.layers):
        in_bits = np.zeros((b, t, hl.n_in), dtype=bool)
        for e in hl.edges:
            in_bits |= edge_bits(e, out_bits[e.src])
        spikes = correlated_bernoulli(rng, (b, t, hl.n_out), firing[i], rho)
        sg = correlated_bernoulli(rng, (b, t, hl.n_out), grad[i], rho)
        gu = derive_gu(sg, spikes, beta)
        out_bits[hl.name] = spikes
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, pack_bits(in_bits),
                                 pack_bits(spikes), pack_bits(sg), pack_bits(gu)))
    meta = {"source": "synthetic", "seed": seed, "firing": firing, "gradient": grad,
            "input_density": float(get("input_density")), "temporal_correlation": rho}
    return Trace(network, layers, meta)


def _expand(value, n: int) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} densities, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * n


__all__ = ["generate", "correlated_bernoulli", "derive_gu", "density_for"]
