"""Federated learning on several chip instances (chip spec section 7; docs/federated.md).

>>> from neurosim.federated import run_federated
>>> res = run_federated("paper-20core", "workloads/mlp-digits.yaml", ["federated.rounds=3"])
>>> [r["accuracy"] for r in res.rounds]
"""
from .aggregate import chip_cost, fedavg_chip, fedavg_host
from .link import LinkRound, schedule
from .partition import dirichlet, iid, partition
from .run import ROUND_COLUMNS, FederatedResult, run_federated

__all__ = ["run_federated", "FederatedResult", "ROUND_COLUMNS", "fedavg_host", "fedavg_chip",
           "chip_cost", "schedule", "LinkRound", "partition", "iid", "dirichlet"]
