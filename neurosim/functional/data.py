"""Data and initialisation shared by every trainer (float32 reference and chip datapath).

The small interface a trainer needs: :func:`load_dataset` (train/test split),
:func:`init_weights` (one ``(n_in, n_out)`` matrix per weighted layer), :func:`batches`
(which samples each step uses) and :func:`encode` (input of each time step). Both the
float32 reference and the functional chip model call these with the same seed, so they see
identical data, batches, input spikes and initial weights.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..params import Config


def load_dataset(name: str, seed: int, wl: Config | None = None):
    """(X_train, y_train, X_test, y_test), features scaled to [0, 1]; 80/20 split."""
    if name not in ("digits",):
        src = wl.origin if wl is not None else "<dataset>"
        raise InputError(src, "traces.dataset", "digits (the data set the functional trainer "
                         "has)", name)
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float64)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(seed).permutation(len(y))
    n_test = len(y) // 5
    te, tr = perm[:n_test], perm[n_test:]
    return X[tr], y[tr], X[te], y[te]


def init_weights(network, seed: int) -> list:
    """He-uniform ``U(-sqrt(6/n_in), sqrt(6/n_in))`` per layer, float64 (each trainer
    rounds to its own format)."""
    rng = np.random.RandomState(seed + 1)
    out = []
    for hl in network.layers:
        a = np.sqrt(6.0 / hl.n_in)
        out.append(rng.uniform(-a, a, size=(hl.n_in, hl.n_out)))
    return out


def batches(n_train: int, batch: int, steps: int, seed: int):
    """Sample indices of each step: epochs of a seeded permutation, cut into batches."""
    rng = np.random.RandomState(seed + 2)
    order = np.empty(0, dtype=np.int64)
    for _ in range(steps):
        while len(order) < batch:
            order = np.concatenate([order, rng.permutation(n_train)])
        yield order[:batch]
        order = order[batch:]


def encode(x: np.ndarray, coding: str, T: int, rng: np.random.RandomState) -> np.ndarray:
    """Inputs of each time step, shape (T, B, n): rate = Bernoulli(x) spikes, direct = x
    every step (multi-level), dvs = x thresholded at 0.5 every step (binary frames)."""
    if coding == "rate":
        return (rng.random_sample((T,) + x.shape) < x[None]).astype(np.float64)
    if coding == "direct":
        return np.broadcast_to(x, (T,) + x.shape).copy()
    return np.broadcast_to(x >= 0.5, (T,) + x.shape).astype(np.float64)
