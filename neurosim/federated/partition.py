"""Splitting the training split among the workers: iid or a Dirichlet label skew.

A shard is a sorted array of indices into the training split (a set of samples has no
order; each worker shuffles its own shard every local epoch), so one worker given every
sample holds ``arange(n)``, exactly the trainer's view of the data.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

# Redraws of a Dirichlet split that left a worker with no sample, before giving up.
MAX_DIRICHLET_DRAWS = 100


def iid(n: int, workers: int, seed: int, source: str = "federated") -> list[np.ndarray]:
    """A uniformly random split into ``workers`` shards whose sizes differ by at most 1."""
    _check(n, workers, source)
    order = np.random.default_rng([seed, 0x11D]).permutation(n)
    return [np.sort(s) for s in np.array_split(order, workers)]


def dirichlet(labels: np.ndarray, workers: int, alpha: float, seed: int,
              source: str = "federated") -> list[np.ndarray]:
    """Per class (ascending), shares ``p ~ Dir(alpha, ..., alpha)`` over the workers; the
    class's samples, shuffled, are cut at ``floor(cumsum(p) * n_class)``. Small ``alpha``
    gives each worker few classes, large ``alpha`` tends to iid proportions (Hsu et al.
    2019, "Measuring the effects of non-identical data distribution for federated visual
    classification"). A draw that leaves a worker without samples is redrawn from the same
    stream (at most MAX_DIRICHLET_DRAWS times)."""
    labels = np.asarray(labels)
    _check(len(labels), workers, source)
    rng = np.random.default_rng([seed, 0xD1F])
    for _ in range(MAX_DIRICHLET_DRAWS):
        parts: list[list] = [[] for _ in range(workers)]
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            rng.shuffle(idx)
            p = rng.dirichlet(np.full(workers, float(alpha)))
            cuts = np.floor(np.cumsum(p)[:-1] * len(idx)).astype(np.int64)
            for k, piece in enumerate(np.split(idx, cuts)):
                parts[k].append(piece)
        shards = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(s) for s in shards) > 0:
            return shards
    raise InputError(source, "federated.dirichlet_alpha",
                     f"a concentration that gives each of the {workers} workers at least one "
                     f"sample within {MAX_DIRICHLET_DRAWS} draws (raise it, or use fewer "
                     "workers)", alpha)


def partition(kind: str, labels: np.ndarray, workers: int, alpha: float, seed: int,
              source: str = "federated") -> list[np.ndarray]:
    if kind == "iid":
        return iid(len(labels), workers, seed, source)
    return dirichlet(labels, workers, alpha, seed, source)


def _check(n: int, workers: int, source: str) -> None:
    if workers > n:
        raise InputError(source, "federated.workers",
                         f"at most the {n} samples of the training split", workers)


__all__ = ["iid", "dirichlet", "partition", "MAX_DIRICHLET_DRAWS"]
