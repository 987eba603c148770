"""FedAvg (McMahan et al., AISTATS 2017): the average of the workers' weights, each weighted
by its shard size, computed by the host or by an aggregator chip, and what that costs.

- ``host``: ``sum_k(n_k * W_k) / n`` in float64 (each worker then rounds the average into
  its own stored format). Its time and energy are not modelled (0, and a note says so):
  the host is outside the chips.
- ``chip``: an aggregator chip of the base arch config runs the weighted sum on its WG
  engines' multiply-add lanes, in the arithmetic of its UPD tiles (docs/energy.md):
  ``c_k = round_u(n_k / n)``, ``acc = round_u(acc + round_u(c_k * W_k))`` for k = 0..N-1
  (worker order), then the result is rounded to its stored weight format. The ``n_w``
  weights are split over its cores as evenly as possible; a core does N passes over its
  share, ``ceil(share / wg.lanes)`` cycles each, after one ``wg.pipeline_depth`` fill:
  ``cycles = wg.pipeline_depth + N * ceil(ceil(n_w / cores) / wg.lanes)``, priced by the
  energy model as ``N * n_w`` WG multiply-adds (``core<i>.wg mac_ops``) plus leakage and
  DRAM standby for those cycles. The SRAM traffic of the received models is not priced
  (docs/federated.md gives its size against the link's).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..counters import engine_path
from ..counters import key as counter_key
from ..functional.numerics import INT_BITS, round_array
from ..timing import TimingResult


def fedavg_host(models: list, sizes: list) -> dict:
    """``{layer: sum_k(sizes[k] * models[k][layer]) / sum(sizes)}`` in float64."""
    n = float(sum(sizes))
    out = {}
    for layer in models[0]:
        acc = np.zeros_like(np.asarray(models[0][layer], dtype=np.float64))
        for w, s in zip(models, sizes):
            acc += float(s) * np.asarray(w[layer], dtype=np.float64)
        out[layer] = acc / n
    return out


def fedavg_chip(models: list, sizes: list, num) -> dict:
    """The aggregator chip's weighted sum (module docstring); ``num``: its
    :class:`~neurosim.functional.model.Numerics`."""
    n = float(sum(sizes))
    cu = num.update_code
    coef = [float(round_array(np.array([s / n]), cu, 1.0)[0]) if cu not in INT_BITS else s / n
            for s in sizes]
    out = {}
    for layer in models[0]:
        sw = num.sw[layer]
        acc = np.zeros_like(np.asarray(models[0][layer], dtype=np.float64))
        for w, c in zip(models, coef):
            term = round_array(np.ascontiguousarray(c * np.asarray(w[layer], np.float64)),
                               cu, sw)
            acc = round_array(np.ascontiguousarray(acc + term), cu, sw)
        out[layer] = round_array(acc, num.stored_code, sw)
    return out


def chip_cost(arch, n_weights: int, workers: int) -> TimingResult:
    """A TimingResult of the aggregation on a chip of ``arch`` (cycles and counters), for
    :func:`neurosim.energy.compute`."""
    cores = arch.chip.cores
    share = math.ceil(n_weights / cores)
    cycles = arch.core.wg.pipeline_depth + workers * math.ceil(share / arch.core.wg.lanes)
    counters: Counter = Counter()
    base, extra = divmod(n_weights, cores)
    for i in range(cores):
        mine = base + (1 if i < extra else 0)
        if mine:
            counters[counter_key(engine_path(i, "wg"), "mac_ops")] = workers * mine
    return TimingResult(cycles, counters=counters, extra={"model": "federated-aggregator"})


__all__ = ["fedavg_host", "fedavg_chip", "chip_cost"]
