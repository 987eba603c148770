"""Federated-learning settings: their own section (``federated.*``), outside the hardware
schema. ``neurosim federated`` takes them from ``--set federated.KEY=VALUE``; every worker is a
chip of the arch config (with its ``federated.worker_overrides`` entry applied)."""
from __future__ import annotations

from ..params import Config, Group, Param, apply_overrides, overridden_keys

PREFIX = "federated."

FEDERATED_SCHEMA = Group("federated-learning settings", {
    "federated": Group("federated learning (`neurosim federated`, docs/federated.md): "
                       "workers, each a chip of the arch config, train locally on their own "
                       "shards and average their weights (FedAvg) over a link", {
        "workers": Param("int", 5, "workers (chip instances), each with its own shard of the "
                         "training split", "worker", min=1),
        "rounds": Param("int", 10, "communication rounds (local steps, upload, average, "
                        "download)", "round", min=1),
        "local_steps": Param("int", 10, "local training steps per worker per round, each a "
                             "minibatch of traces.train_batch samples of its shard", "step",
                             min=1),
        "partition": Param("choice", "iid", "split of the training split among workers: iid "
                           "(random, equal sizes) or dirichlet (per class, shares drawn from "
                           "Dir(dirichlet_alpha): label skew)", choices=("iid", "dirichlet")),
        "dirichlet_alpha": Param("float", 0.5, "concentration of the Dirichlet split: small "
                                 "gives each worker few classes, large tends to iid", "",
                                 min=0, min_exclusive=True),
        "seed": Param("int", 0, "seed of the partition (the training stream is "
                      "traces.seed's)", "", min=0),
        "simulate_every": Param("int", 20, "run the timing and energy models on every K-th "
                                "local step of each worker (counted over its run; the first "
                                "included), estimating the others from the simulated ones "
                                "(docs/federated.md); null = local_steps (one per worker per "
                                "round); 0 = none (no time or energy of local steps). The "
                                "default keeps the default mlp-digits run near a minute",
                                "step", min=0, nullable=True),
        "aggregator": Param("choice", "host", "who averages: host (float64, its cost not "
                            "modelled) or chip (a chip of the arch config, weighted sum on its WG "
                            "multiply-add lanes, in its UPD arithmetic)",
                            choices=("host", "chip")),
        "worker_overrides": Param("any", [], "per-worker changes to the arch config: a list, one "
                                  "entry per worker (shorter: the rest use the arch config), each "
                                  "a mapping {dotted arch key: value}, e.g. "
                                  "[{}, {chip.clock_mhz: 250}]",
                                  expect="a list of mappings {dotted arch key: value}"),
        "link": Group("worker-aggregator link: a star whose paths meet at the aggregator's "
                      "port (defaults: switched 1 Gb/s Ethernet, docs/federated.md)", {
            "bandwidth_gbps": Param("float", 1.0, "payload rate of the aggregator's port (one "
                                    "transfer at a time)", "Gb/s", min=0, min_exclusive=True),
            "latency_us": Param("float", 28.0, "one-way latency of a transfer after its last "
                                "bit is sent", "us", min=0),
            "energy_pj_per_bit": Param("float", 900.0, "energy per bit carried over one "
                                       "worker-aggregator path (both ends)", "pJ/bit", min=0),
            "download": Param("choice", "unicast", "averaged model sent back as one copy per "
                              "worker, serialised (unicast), or one transmission reaching all "
                              "(broadcast)", choices=("unicast", "broadcast")),
        }),
    }),
})


def split_federated(overrides) -> tuple[list, list]:
    """``KEY=VALUE`` strings: (``federated.``-prefixed ones, all others)."""
    fed, rest = [], []
    for o in overrides or ():
        (fed if o.startswith(PREFIX) else rest).append(o)
    return fed, rest


def load_federated(overrides=()) -> Config:
    """The federated settings (defaults, then ``federated.``-prefixed ``--set`` overrides),
    checked key by key; ``cfg.federated.workers`` etc."""
    raw = apply_overrides({}, list(overrides or ()), FEDERATED_SCHEMA)
    data = FEDERATED_SCHEMA.validate(raw, "<federated defaults>", "")
    return Config(data, "<federated defaults>", overridden=overridden_keys(overrides))


__all__ = ["FEDERATED_SCHEMA", "load_federated", "split_federated"]
