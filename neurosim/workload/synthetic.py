"""Synthetic traces at given per-layer densities, for networks too big to train here.

Each binary tensor is a temporally correlated Bernoulli process: at t = 0 every neuron draws
``Bernoulli(p)``; at each later step it keeps its previous state with probability
``temporal_correlation`` and draws afresh otherwise, so the marginal density stays ``p`` at
every step while spike trains have the persistence real SNNs show.

With ``spatial_correlation`` s > 0, the fresh draws of a C x H x W map (conv layer outputs,
image inputs) are not independent per neuron: a Gaussian field per channel, mixing white noise
with its 3x3 local mean (weight s), is thresholded at its (1 - p) quantile. Every neuron still
fires with probability exactly p, but neighbours fire together, as in real feature maps, so a
max-pooling (OR) window is less often non-empty than 1 - (1 - p)^k^2 would say. s = 0 is the
independent process above, draw for draw.

What is drawn and what is derived, so that the trace obeys the BPTT equations:

- ``out_spikes`` of each layer: drawn at the layer's ``firing`` density;
- ``sg_mask`` (sg(U[t]) != 0): drawn at the layer's ``gradient`` density;
- ``gu_mask`` (g(U[t]) != 0): derived backwards in time from the backward recurrence
  ``g(U[t]) = g(S[t]) sg(U[t]) + beta g(U[t+1]) (1 - S[t])`` with g(S) dense:
  ``gu[t] = sg[t] | (gu[t+1] & ~S[t])`` (soft reset, where the carry has no (1 - S) factor:
  ``gu[t] = sg[t] | gu[t+1]``; and ``gu[t] = sg[t]`` when beta = 0);
- ``in_mask``: the network input (drawn at ``input_density``; identical at every step for
  direct coding, where the same analog frame is presented each step), or the OR of the
  producing layers' spikes after pooling, exactly as the edges deliver them.

Modes (``docs/microarchitecture.md`` 3.6): ``inference`` has no backward pass, so
``sg_mask`` and ``gu_mask`` are all zero and not drawn; ``input_gradient`` draws them as
``train`` does. With ``repeats`` R the network's batch is ``batch x R`` samples and every
sample (each Poisson re-draw included) is a fresh draw at the same densities: with no image
behind a synthetic input, a re-draw of the same input is statistically a new sample.
"""
from __future__ import annotations

import numpy as np

from statistics import NormalDist

from .network import Network
from .schema import density_for
from .trace import LayerTrace, Trace, edge_bits, n_words, pack_bits


def correlated_bernoulli(rng: np.random.Generator, shape_bt_n: tuple, p: float,
                         rho: float, spatial: float = 0.0,
                         map_shape: tuple | None = None) -> np.ndarray:
    """bool (B, T, N): per-step marginal p, persistence rho between steps; with ``spatial``
    > 0 and ``map_shape`` (C, H, W), fresh draws are spatially correlated (HWC order)."""
    b, t, n = shape_bt_n
    if spatial > 0 and map_shape is not None and len(map_shape) == 3:
        def draw():
            return _spatial_draw(rng, b, map_shape, p, spatial)
    else:
        def draw():
            return rng.random((b, n)) < p
    out = np.empty((b, t, n), dtype=bool)
    out[:, 0] = draw()
    for s in range(1, t):
        keep = rng.random((b, n)) < rho
        fresh = draw()
        out[:, s] = np.where(keep, out[:, s - 1], fresh)
    return out


def _spatial_draw(rng, b: int, map_shape: tuple, p: float, s: float) -> np.ndarray:
    """bool (B, H*W*C): threshold of a unit-variance field ``sqrt(1-s) w + sqrt(s) m`` where
    ``m`` is the 3x3 sum of the white noise ``w`` over the valid neighbours divided by the
    square root of their count; each position is normalised by its exact standard deviation
    so the marginal is exactly p everywhere, borders included."""
    c, h, w = map_shape
    if p <= 0 or p >= 1 or 1 - p == 1:   # 1 - p == 1: p below float resolution, no spike
        return np.full((b, h * w * c), p >= 1)
    white = rng.standard_normal((b, h, w, c), dtype=np.float32)
    # 3x3 box sum, separable: rows then columns (zero outside the map)
    rows = white.copy()
    rows[:, 1:] += white[:, :-1]
    rows[:, :-1] += white[:, 1:]
    box = rows.copy()
    box[:, :, 1:] += rows[:, :, :-1]
    box[:, :, :-1] += rows[:, :, 1:]
    ny = np.full(h, 3.0)
    ny[[0, -1]] = 2.0 if h > 1 else 1.0
    nx = np.full(w, 3.0)
    nx[[0, -1]] = 2.0 if w > 1 else 1.0
    count = (ny[:, None] * nx[None, :])[None, :, :, None].astype(np.float32)
    a, m = np.float32(np.sqrt(1 - s)), np.float32(np.sqrt(s))
    # var(a w + m box / sqrt(count)) = a^2 + m^2 + 2 a m / sqrt(count) = 1 + 2 a m / sqrt(count)
    root = np.sqrt(count)
    field = (a * white + (m / root) * box) / np.sqrt(1 + 2 * a * m / root)
    return (field > NormalDist().inv_cdf(1 - p)).reshape(b, h * w * c)


def derive_gu(sg: np.ndarray, spikes: np.ndarray, beta: float,
              reset: str = "hard") -> np.ndarray:
    """gu[t] = sg[t] | (gu[t+1] & ~S[t]) backwards in time (bool arrays (B, T, N)); with a
    soft reset the carry is not gated by the spike: gu[t] = sg[t] | gu[t+1]."""
    gu = sg.copy()
    if beta == 0:
        return gu
    for t in range(sg.shape[1] - 2, -1, -1):
        carry = gu[:, t + 1] if reset == "soft" else gu[:, t + 1] & ~spikes[:, t]
        gu[:, t] |= carry
    return gu


def generate(network: Network, params, beta: float, seed: int | None = None,
             reset: str = "hard", repeats: int = 1) -> Trace:
    """Draw a trace for ``network``. ``params`` is the workload's ``traces`` section
    (a Config or dict with input_density, firing, gradient, temporal_correlation, seed and
    optionally spatial_correlation)."""
    get = params.get if hasattr(params, "get") else params.__getitem__
    seed = int(get("seed") if seed is None else seed)
    rng = np.random.default_rng(seed)
    n_layers = len(network.layers)
    firing = _expand(get("firing"), n_layers)
    grad = _expand(get("gradient"), n_layers)
    rho = float(get("temporal_correlation"))
    spatial = float(get("spatial_correlation") or 0.0)
    b, t = network.batch, network.time_steps
    n0 = int(np.prod(network.input_shape))
    in_shape = tuple(network.input_shape)
    if network.coding == "direct":
        frame = correlated_bernoulli(rng, (b, 1, n0), float(get("input_density")), 0.0,
                                     spatial, in_shape)
        input_bits = np.repeat(frame, t, axis=1)
    else:
        input_bits = correlated_bernoulli(rng, (b, t, n0), float(get("input_density")), rho,
                                          spatial, in_shape)
    out_bits: dict[str, np.ndarray] = {"input": input_bits}
    layers = []
    for i, hl in enumerate(network.layers):
        in_bits = np.zeros((b, t, hl.n_in), dtype=bool)
        for e in hl.edges:
            in_bits |= edge_bits(e, out_bits[e.src])
        spikes = correlated_bernoulli(rng, (b, t, hl.n_out), firing[i], rho, spatial,
                                      hl.out_shape)
        if network.backward:
            sg = correlated_bernoulli(rng, (b, t, hl.n_out), grad[i], rho, spatial,
                                      hl.out_shape)
            sg_words, gu_words = pack_bits(sg), pack_bits(derive_gu(sg, spikes, beta, reset))
        else:       # inference: no backward pass, no surrogate or g(U) bits
            sg_words = np.zeros((b, t, n_words(hl.n_out)), np.uint64)
            gu_words = sg_words.copy()
        out_bits[hl.name] = spikes
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, pack_bits(in_bits),
                                 pack_bits(spikes), sg_words, gu_words))
    meta = {"source": "synthetic", "seed": seed, "firing": firing, "gradient": grad,
            "input_density": float(get("input_density")), "temporal_correlation": rho,
            "spatial_correlation": spatial, "reset": reset}
    if network.mode != "train":
        meta.update(mode=network.mode, repeats=int(repeats))
    return Trace(network, layers, meta)


def _expand(value, n: int) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} densities, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * n


__all__ = ["generate", "correlated_bernoulli", "derive_gu", "density_for"]
