"""One simulation pipeline (api.simulate_step): ``neurosim train``'s per-step timing,
a federated worker's step cost and ``neurosim run`` on the same step's trace and placement
give the same cycles and energy."""
from __future__ import annotations

import dataclasses

import pytest

from neurosim import api
from neurosim.commands.train import TimingHook
from neurosim.federated.run import step_cost
from neurosim.functional.model import run as train_on_datapath
from neurosim.workload.trainer import make_trace


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_train_federated_and_run_agree_on_one_step(optimizer):
    arch, wl = api.load_configs("single-core", "mlp-digits", [
        "workload.time_steps=2", "workload.traces.epochs=1",
        f"workload.optimizer.type={optimizer}"])
    net = api.build_network(wl)
    train_hook = TimingHook(arch, wl, net, every=1)
    fed_timer = api.DatapathStepTimer(wl, net)
    got = {}

    def hook(step, model, fw, g_u, labels):
        meta = {"source": "functional", "step": step}
        row = train_hook(step, model, fw, g_u, labels)
        got["train"] = (row["cycles"], row["energy_j"])
        cycles, seconds, energy_j = step_cost(fed_timer, arch, model, fw, g_u, labels, meta)
        got["federated"] = (cycles, energy_j)
        step_net = dataclasses.replace(net, batch=len(labels))
        trace = make_trace(model, fw, g_u, meta, network=step_net)
        placement = api.map_step(arch, step_net, wl)
        s = api.run(arch, wl, trace=trace, placement=placement).summary
        got["run"] = (s["total_cycles"], s["energy_j"])
        assert seconds == s["total_cycles"] / (arch.chip.clock_mhz * 1e6)
        return row

    rows = list(train_on_datapath(arch, wl, net, steps=1, hook=hook))
    assert len(rows) == 1 and rows[0]["cycles"] > 0
    assert got["train"] == got["federated"] == got["run"]
