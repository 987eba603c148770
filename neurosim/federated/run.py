"""Federated learning on N chip instances (chip spec section 7; docs/federated.md).

A round: every worker trains ``local_steps`` steps on its own shard on the chip's
functional datapath (:class:`~neurosim.functional.model.ChipSNN`, its arch's number formats),
uploads its weights over the link, the aggregator averages them (FedAvg, weighted by shard
size) and sends the average back; the averaged model is then evaluated on the trainer's
test split. Time and energy of the local steps come from the timing model
(:func:`neurosim.hw.chip.simulate`) and the energy model (:func:`neurosim.energy.compute`)
run on the traces of the actual steps (every ``simulate_every``-th step of a worker; the
others are estimated, see :func:`_estimate`).

What is shared with the single-chip datapath (``neurosim train``): the trainer's data set and
split, its calibrated initial weights, and one random stream that draws, in this order,
the calibration batch and then, worker after worker and step after step, each local
epoch's shuffle of the worker's shard and the input coding of each batch. One worker holding
the whole training split therefore sees the trainer's batches, and its weights after R
rounds of E steps are those of ``neurosim train`` after R*E steps, bit for bit (a test
checks it).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..arch import PRECISION_BITS, load_arch, master_bits
from ..errors import InputError
from ..params import Config, deep_merge
from . import aggregate, link
from .config import load_federated, split_federated
from ..workload.datasets import N_CLASSES
from .partition import partition

# Named streams (numpy SeedSequence entropy) of the run, besides the trainer's own.
TEST_CODING_STREAM = 0xFED7E57   # the fixed coding of the test split used every round
STOCHASTIC_STREAM = 0x5B0        # as ChipUpdate: worker k > 0 appends k


# --------------------------------------------------------------------------- workers


def shard_batches(data, shard: np.ndarray, batch: int, rng: np.random.Generator):
    """Yield (indices, coded input, labels) forever: local epochs over ``shard`` in the
    trainer's draw order (each epoch a permutation of the shard, then each batch's coding;
    an epoch's last batch holds the remainder), from the shared stream ``rng``."""
    n = len(shard)
    while True:
        order = shard[rng.permutation(n)]
        for i in range(0, n, batch):
            idx = order[i: i + batch]
            yield idx, data.encode(data.x_train[idx], rng), data.y_train[idx]


@dataclass
class Worker:
    index: int
    arch: object           # Config
    shard: np.ndarray      # indices into the training split
    num: object            # Numerics
    chip: object           # ChipSNN
    opt: object            # ChipUpdate
    batches: object        # shard_batches generator
    steps_done: int = 0
    last_estimate: tuple | None = None   # (seconds, energy_j) per step, latest round's mean

    @property
    def upload_bits_per_weight(self) -> int:
        """The worker sends what it trains: the master copy if it has one, else its
        datapath weights."""
        return master_bits(self.arch) or PRECISION_BITS[self.arch.core.precision]

    def upload(self) -> dict:
        src = self.opt.master if self.num.master else self.chip.weights
        return {k: v.copy() for k, v in src.items()}

    def download(self, avg: dict) -> None:
        """Store the average in the worker's formats (master copy first, if any; the datapath
        copy is rounded from it, as the UPD tile does)."""
        from ..functional.numerics import round_array

        for k, a in avg.items():
            a = np.ascontiguousarray(a, dtype=np.float64)
            if self.num.master:
                self.opt.master[k][...] = round_array(a, self.num.stored_code, self.num.sw[k])
                a = self.opt.master[k]
            self.chip.weights[k][...] = self.num.fmt(a, "w", k)


def worker_archs(base, settings) -> list:
    """The arch of each worker: the base arch config with its ``federated.worker_overrides``
    entry of ``settings`` (:func:`~neurosim.federated.config.load_federated`; a mapping of
    dotted arch keys to values) applied; workers past the list use the base. A worker's
    config names its origin as ``<base file>, federated.worker_overrides[k]``."""
    fed = settings.federated
    overrides = fed.worker_overrides
    key = "federated.worker_overrides"
    source = settings.source_of(key)
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise InputError(source, key, "a list of mappings {dotted arch key: value}", overrides)
    if len(overrides) > fed.workers:
        raise InputError(source, key, f"at most federated.workers = {fed.workers} entries",
                         len(overrides))
    raw = base.to_dict()
    archs = []
    for k in range(fed.workers):
        over = overrides[k] if k < len(overrides) else {}
        if not over:
            archs.append(base)
            continue
        tree: dict = {}
        for dotted, value in over.items():
            parts = str(dotted).split(".")
            if parts[0] == "federated" or any(p == "" for p in parts):
                raise InputError(source, f"{key}[{k}].{dotted}",
                                 "a dotted arch key outside federated", dotted)
            node = tree
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = value
        try:
            cfg = load_arch(deep_merge(raw, tree))
            archs.append(Config(cfg.to_dict(), f"{source}, {key}[{k}]"))
        except InputError as e:
            raise InputError(source, f"{key}[{k}].{e.key}", e.expected,
                             e.got) from None
    return archs


# --------------------------------------------------------------------------- timing


def step_cost(timer, arch, model, fw, g_u, labels, meta) -> tuple:
    """(cycles, seconds, energy_j) of the local step a worker just took, from the one
    simulation pipeline (:class:`neurosim.api.DatapathStepTimer`)."""
    s = timer(arch, model, fw, g_u, labels, meta).summary
    cycles = s["total_cycles"]
    return cycles, cycles / (arch.chip.clock_mhz * 1e6), s["energy_j"]


def idle_power_w(arch, network) -> float:
    """Leakage + DRAM standby power of an idle chip of ``arch`` (the energy model with no
    events, for one second)."""
    from .. import energy
    from ..timing import TimingResult

    return energy.compute(arch, network, TimingResult(0), seconds=1.0).summary["energy_j"]


def _estimate(simulated: list, previous: tuple | None) -> tuple:
    """(seconds, energy_j) of a local step that was not simulated: the mean of the worker's
    simulated steps of this round, else of its latest round that had any."""
    if simulated:
        return (sum(s for _, s, _ in simulated) / len(simulated),
                sum(e for _, _, e in simulated) / len(simulated))
    return previous


# --------------------------------------------------------------------------- result


@dataclass
class FederatedResult:
    """``rounds``: one flat dict per round (the columns of rounds.csv); ``summary``: run-level
    numbers, parameters and notes; ``shards``: per worker, its size and label histogram;
    ``steps``: one dict per local step (round, worker, its step index, samples, loss,
    simulated or estimated, cycles if simulated, seconds, energy_j); ``weights``: the
    averaged model after the last round, as the aggregator sent it."""

    rounds: list
    summary: dict
    shards: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    weights: dict = field(default_factory=dict)


ROUND_COLUMNS = ("round", "accuracy", "train_loss", "round_s", "compute_s_max",
                 "compute_s_min", "link_s", "aggregation_s", "energy_j", "energy_compute_j",
                 "energy_link_j", "energy_aggregation_j", "energy_idle_j", "bytes_up",
                 "bytes_down", "simulated_steps", "estimated_steps")


# --------------------------------------------------------------------------- the run


def run_federated(arch, workload, overrides=(), progress=None) -> FederatedResult:
    """Federated learning of ``workload`` on chips of ``arch`` per the federated settings.

    ``arch`` / ``workload``: a path, a shipped name, or a loaded Config; ``overrides``:
    ``KEY=VALUE`` strings (``federated.``-prefixed ones are the federated settings,
    ``workload.``-prefixed ones go to the workload, the others to the arch). ``progress``, if
    given, is called as ``progress("start", setup)`` once every input is checked and the
    shards are drawn (``setup``: shard sizes, weights, bits per upload), then as
    ``progress("round", record)`` after each round."""
    from threadpoolctl import threadpool_limits

    from ..api import DatapathStepTimer, load_configs
    from ..functional.model import ChipSNN, ChipUpdate, Numerics, calibrated_reference
    from ..workload import build_network
    from ..workload.trainer import Schedule, accuracy, train_step

    t_start = time.perf_counter()
    fed_o, rest = split_federated(overrides)
    settings = load_federated(fed_o)
    base, wl = load_configs(arch, workload, rest)
    fed = settings.federated
    net = build_network(wl)
    if wl.traces.source != "trainer":
        raise wl.error("traces.source", "trainer (federated learning trains on the built-in "
                       "trainer's data set)", wl.traces.source)
    archs = worker_archs(base, settings)
    N, R, E = fed.workers, fed.rounds, fed.local_steps
    K = E if fed.simulate_every is None else fed.simulate_every

    sched = Schedule(wl, net)
    data = sched.data
    if not len(data.y_train):
        raise InputError(wl.origin, "traces.dataset", "a data set with training samples",
                         wl.traces.dataset)
    ref = calibrated_reference(wl, net, sched)  # draws the calibration batch
    w0 = {k: v.astype(np.float64) for k, v in ref.weights.items()}
    shards = partition(fed.partition, data.y_train, N, fed.dirichlet_alpha, fed.seed,
                       settings.source_of("federated.workers"))
    batch = int(wl.traces.train_batch)
    workers = []
    for k in range(N):
        num = Numerics(archs[k], wl, w0)
        opt = ChipUpdate(wl, num, w0, sched.seed)
        if k:  # worker 0 draws as the single-chip datapath does
            opt.rng = np.random.default_rng([sched.seed, STOCHASTIC_STREAM, k])
        workers.append(Worker(k, archs[k], shards[k], num, ChipSNN(wl, net, num, w0), opt,
                              shard_batches(data, shards[k], batch, sched.rng)))
    sizes = [len(s) for s in shards]
    n_weights = sum(int(v.size) for v in w0.values())

    # The averaged model as a chip of the base arch holds it; test split coded once.
    eval_num = Numerics(base, wl, w0)
    eval_model = ChipSNN(wl, net, eval_num, w0)
    test = list(sched.test_inputs(np.random.default_rng([sched.seed, TEST_CODING_STREAM])))
    timer = DatapathStepTimer(wl, net) if K else None
    idle_w = [idle_power_w(a, net) for a in archs]
    agg_chip = fed.aggregator == "chip"
    agg_idle_w = idle_power_w(base, net) if agg_chip else 0.0
    if agg_chip:
        from .. import energy

        agg_timing = aggregate.chip_cost(base, n_weights, N)
        agg_s = agg_timing.total_cycles / (base.chip.clock_mhz * 1e6)
        agg_energy = energy.compute(base, net, agg_timing).summary["energy_j"]
        down_bits_each = n_weights * PRECISION_BITS[base.core.precision]
        down_bits = [down_bits_each] * N
    else:
        agg_s = agg_energy = 0.0
        down_bits = [n_weights * w.upload_bits_per_weight for w in workers]
    up_bits = [n_weights * w.upload_bits_per_weight for w in workers]
    lk = fed.link

    def evaluate(weights: dict) -> float:
        eval_model.weights = {k: eval_num.fmt(v, "w", k) for k, v in weights.items()}
        return accuracy([eval_model], test)[0]

    if progress is not None:
        progress("start", {"shard_sizes": sizes, "n_weights": n_weights, "upload_bits": up_bits,
                           "download_bits": down_bits, "simulate_every": K})
    with threadpool_limits(limits=1, user_api="blas"):
        initial_acc = evaluate(w0)
        rounds, steps = [], []
        nan = float("nan")
        for r in range(R):
            compute_s, compute_j = [], []
            loss_sum = seen = n_sim = n_est = 0
            for w in workers:
                simulated, mine = [], []
                for _ in range(E):
                    _, x, y = next(w.batches)
                    fw, losses, g_u = train_step(w.chip, w.opt, x, y)
                    loss_sum += float(losses.sum())
                    seen += len(y)
                    step = {"round": r + 1, "worker": w.index, "step": w.steps_done,
                            "samples": len(y), "loss": float(losses.mean()),
                            "simulated": bool(K) and w.steps_done % K == 0,
                            "cycles": None, "seconds": nan, "energy_j": nan}
                    if step["simulated"]:
                        got = step_cost(timer, w.arch, w.chip, fw, g_u, y, {
                            "source": "federated", "worker": w.index, "round": r + 1,
                            "step": w.steps_done})
                        simulated.append(got)
                        step["cycles"], step["seconds"], step["energy_j"] = got
                    mine.append(step)
                    w.steps_done += 1
                if K:
                    est = _estimate(simulated, w.last_estimate)
                    if simulated:
                        w.last_estimate = est
                    for step in mine:
                        if not step["simulated"]:
                            step["seconds"], step["energy_j"] = est
                    n_est += E - len(simulated)
                n_sim += len(simulated)
                compute_s.append(sum(st["seconds"] for st in mine))
                compute_j.append(sum(st["energy_j"] for st in mine))
                steps.extend(mine)
            models = [w.upload() for w in workers]
            avg = (aggregate.fedavg_chip(models, sizes, eval_num) if agg_chip
                   else aggregate.fedavg_host(models, sizes))
            for w in workers:
                w.download(avg)
            acc = evaluate(avg)
            sched_s = [0.0 if math.isnan(c) else c for c in compute_s]
            lr = link.schedule(sched_s, up_bits, down_bits, agg_s, lk.bandwidth_gbps,
                               lk.latency_us, lk.energy_pj_per_bit, lk.download)
            round_s = lr.round_s if K else float("nan")
            idle_j = (sum(p * (lr.round_s - c) for p, c in zip(idle_w, compute_s))
                      + agg_idle_w * (lr.round_s - agg_s))
            rec = {
                "round": r + 1, "accuracy": acc, "train_loss": loss_sum / max(1, seen),
                "round_s": round_s, "compute_s_max": max(compute_s),
                "compute_s_min": min(compute_s), "link_s": lr.link_s if K else float("nan"),
                "aggregation_s": agg_s, "energy_compute_j": sum(compute_j),
                "energy_link_j": lr.energy_j, "energy_aggregation_j": agg_energy,
                "energy_idle_j": idle_j, "bytes_up": lr.bytes_up, "bytes_down": lr.bytes_down,
                "simulated_steps": n_sim, "estimated_steps": n_est,
                "worker_compute_s": compute_s}
            rec["energy_j"] = (rec["energy_compute_j"] + rec["energy_link_j"]
                               + rec["energy_aggregation_j"] + rec["energy_idle_j"])
            rounds.append(rec)
            if progress is not None:
                progress("round", rec)

    notes = []
    if K:
        notes.append(f"local steps: every {K}-th step of each worker (counted over its run, "
                     "the first included) is simulated by the timing and energy models on "
                     "its own trace; each other step is estimated as the mean time and "
                     "energy of that worker's simulated steps in the same round (or, in a "
                     "round without one, of its latest round that had one)")
    else:
        notes.append("simulate_every = 0: no timing model run, local compute time and energy "
                     "(and so round time and energy) are not available (nan)")
    if not agg_chip:
        notes.append("aggregator host: the averaging's own time and energy are not modelled "
                     "(0); it runs outside the chips")
    notes.append(f"link: a star, uploads serialised on the aggregator's port, downloads "
                 f"{lk.download}; payload only (no framing or protocol overhead)")
    notes.append("idle energy: leakage and DRAM standby of every chip (workers, and the "
                 "aggregator chip if any) while it does not compute in the round")
    totals = {c: sum(r[c] for r in rounds) for c in (
        "round_s", "energy_j", "energy_compute_j", "energy_link_j", "energy_aggregation_j",
        "energy_idle_j", "bytes_up", "bytes_down", "simulated_steps", "estimated_steps")}
    summary = {
        "workload": net.name, "arch": base.name,
        "worker_archs": [a.name if a is base else f"{a.name} (override {k})"
                         for k, a in enumerate(archs)],
        "workers": N, "rounds": R, "local_steps": E, "train_batch": batch,
        "partition": fed.partition, "dirichlet_alpha": fed.dirichlet_alpha,
        "partition_seed": fed.seed, "trainer_seed": sched.seed, "simulate_every": K,
        "aggregator": fed.aggregator, "link": lk.to_dict(), "shard_sizes": sizes,
        "n_weights": n_weights, "upload_bits": up_bits, "download_bits": down_bits,
        "initial_accuracy": initial_acc, "final_accuracy": rounds[-1]["accuracy"],
        "best_accuracy": max(r["accuracy"] for r in rounds),
        **{f"total_{k}": v for k, v in totals.items()},
        "notes": notes, "wall_s": time.perf_counter() - t_start,
    }
    shard_info = [{"worker": k, "size": sizes[k],
                   "labels": np.bincount(data.y_train[s], minlength=N_CLASSES).tolist()}
                  for k, s in enumerate(shards)]
    return FederatedResult(rounds, summary, shard_info, steps, avg)


__all__ = ["run_federated", "FederatedResult", "Worker", "shard_batches", "worker_archs",
           "step_cost", "ROUND_COLUMNS"]
