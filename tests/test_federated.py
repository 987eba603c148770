"""Federated learning (neurosim/federated, docs/federated.md): FedAvg arithmetic, the link
model, partitions, one worker = plain training, determinism, accuracy, bad input."""
import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from neurosim.arch import load_arch
from neurosim.errors import InputError
from neurosim.federated import (chip_cost, dirichlet, fedavg_chip, fedavg_host, iid,
                                run_federated, schedule)
from neurosim.federated.config import load_federated
from neurosim.federated.run import worker_archs
from neurosim.functional.model import Numerics, Pair, run
from neurosim.workload import build_network, load_workload

MLP = "workloads/mlp-digits.yaml"
FAST = ["federated.simulate_every=0"]  # functional only: no timing model


# --------------------------------------------------------------------------- FedAvg


def test_fedavg_host_weights_by_shard_size():
    a = {"fc": np.array([[1.0, 2.0], [0.5, -4.0]])}
    b = {"fc": np.array([[3.0, -1.0], [0.5, 4.0]])}
    got = fedavg_host([a, b], [1, 3])["fc"]
    # (1*a + 3*b) / 4
    assert np.array_equal(got, np.array([[2.5, -0.25], [0.5, 2.0]]))
    assert np.array_equal(fedavg_host([a], [7])["fc"], a["fc"])  # one worker: itself


def _num(arch_overrides=()):
    arch = load_arch("paper-20core", list(arch_overrides))
    wl = load_workload(MLP)
    w0 = {"fc1": np.ones((64, 128)), "fc2": np.ones((128, 10))}
    return Numerics(arch, wl, w0)


def test_fedavg_chip_is_the_upd_arithmetic_in_fp16():
    num = _num()
    rng = np.random.RandomState(3)
    models = [{"fc2": np.asarray(rng.uniform(-1, 1, (128, 10)), np.float16)
               .astype(np.float64)} for _ in range(3)]
    sizes = [288, 287, 863]
    got = fedavg_chip(models, sizes, num)["fc2"]
    # The same chain in numpy float16, one rounding per operation, worker order.
    c = [np.float16(s / sum(sizes)) for s in sizes]
    acc = np.zeros((128, 10), np.float16)
    for m, ck in zip(models, c):
        term = (np.float16(ck) * m["fc2"].astype(np.float16)).astype(np.float16)
        acc = (acc + term).astype(np.float16)
    assert np.array_equal(got, acc.astype(np.float64))
    # FP16 rounding makes it differ from the exact average somewhere, but by little.
    exact = fedavg_host(models, sizes)["fc2"]
    assert not np.array_equal(got, exact)
    assert np.abs(got - exact).max() < 4 * 2.0 ** -11


def test_fedavg_chip_hand_case():
    num = _num()
    a = {"fc2": np.full((128, 10), 1.0)}
    b = {"fc2": np.full((128, 10), 3.0)}
    # c = 0.25, 0.75 exactly; 0.25*1 + 0.75*3 = 2.5 exactly
    assert np.all(fedavg_chip([a, b], [1, 3], num)["fc2"] == 2.5)


def test_chip_aggregation_cost_hand_computed():
    arch = load_arch("paper-20core")  # 20 cores, wg 16 lanes, depth 4
    t = chip_cost(arch, 9472, 5)
    # share = ceil(9472/20) = 474 weights per core; ceil(474/16) = 30 chunks; 5 passes
    assert t.total_cycles == 4 + 5 * 30
    assert sum(t.counters.values()) == 5 * 9472
    assert t.counters[("core0.wg", "mac_ops")] == 5 * 474    # 9472 = 20*473 + 12
    assert t.counters[("core19.wg", "mac_ops")] == 5 * 473


# --------------------------------------------------------------------------- link


def test_link_schedule_unicast_hand_computed():
    # 1 Gb/s: 1e6 bits take 1 ms; latency 10 us; worker 1 finishes its steps at 0.5 ms.
    lr = schedule([0.0, 0.5e-3], [1e6, 1e6], [1e6, 1e6], 0.1e-3, 1.0, 10.0, 900.0, "unicast")
    # upload 0: port 0..1 ms, arrives 1.01; upload 1 waits for the port: 1..2 ms, arrives
    # 2.01; aggregation 2.01..2.11; downloads 2.11..3.11 (+10 us), 3.11..4.11 (+10 us).
    assert lr.upload_arrive == pytest.approx([1.01e-3, 2.01e-3], rel=1e-12)
    assert lr.aggregation_start == pytest.approx(2.01e-3, rel=1e-12)
    assert lr.download_arrive == pytest.approx([3.12e-3, 4.12e-3], rel=1e-12)
    assert lr.round_s == pytest.approx(4.12e-3, rel=1e-12)
    assert lr.link_s == pytest.approx(4.12e-3 - 0.1e-3 - 0.5e-3, rel=1e-12)
    assert lr.bytes_up == 250000 and lr.bytes_down == 250000
    assert lr.energy_j == pytest.approx(4e6 * 900e-12, rel=1e-12)


def test_link_schedule_broadcast_and_upload_order():
    # worker 1 finishes first and uploads first; one broadcast reaches both.
    lr = schedule([2e-3, 0.0], [1e6, 2e6], [1e6, 1e6], 0.0, 1.0, 10.0, 900.0, "broadcast")
    assert lr.upload_arrive == pytest.approx([3.01e-3, 2.01e-3], rel=1e-12)
    assert lr.download_arrive == pytest.approx([4.02e-3, 4.02e-3], rel=1e-12)
    assert lr.bytes_down == 125000  # one copy through the aggregator's port
    assert lr.energy_j == pytest.approx((3e6 + 2 * 1e6) * 900e-12, rel=1e-12)


def test_run_link_traffic_and_energy_hand_computed():
    res = run_federated("paper-20core", MLP, FAST + [
        "federated.rounds=1", "federated.local_steps=1",
        "federated.link.energy_pj_per_bit=1000"])
    r = res.rounds[0]
    n_w = 64 * 128 + 128 * 10            # mlp-digits weights
    bits = n_w * 16                      # fp16
    assert res.summary["n_weights"] == n_w
    assert r["bytes_up"] == 5 * bits / 8 and r["bytes_down"] == 5 * bits / 8
    assert r["energy_link_j"] == pytest.approx(10 * bits * 1000e-12, rel=1e-12)
    assert r["energy_aggregation_j"] == 0 and r["aggregation_s"] == 0
    assert math.isnan(r["round_s"]) and math.isnan(r["energy_compute_j"])


# --------------------------------------------------------------------------- partitions


def _labels():
    from neurosim.workload.trainer import Schedule

    wl = load_workload(MLP)
    return Schedule(wl, build_network(wl)).data.y_train


def _cover(shards, n):
    allidx = np.concatenate(shards)
    return len(allidx) == n and np.array_equal(np.sort(allidx), np.arange(n))


def test_iid_partition():
    y = _labels()
    s = iid(len(y), 5, seed=0)
    assert _cover(s, len(y))
    assert max(map(len, s)) - min(map(len, s)) <= 1
    assert all(np.all(np.diff(x) > 0) for x in s)          # sorted, distinct
    assert all(np.array_equal(a, b) for a, b in zip(s, iid(len(y), 5, seed=0)))
    assert not np.array_equal(s[0], iid(len(y), 5, seed=1)[0])
    assert np.array_equal(iid(len(y), 1, seed=3)[0], np.arange(len(y)))  # one worker: all


def _max_class_share(shards, y):
    return np.mean([np.bincount(y[s], minlength=10).max() / len(s) for s in shards])


def test_dirichlet_partition_skew_follows_alpha():
    y = _labels()
    skewed = dirichlet(y, 5, 0.05, seed=0)
    assert _cover(skewed, len(y))
    assert all(len(x) > 0 for x in skewed)
    assert all(np.array_equal(a, b) for a, b in zip(skewed, dirichlet(y, 5, 0.05, seed=0)))
    # Few classes per worker at small alpha; close to the global mix at large alpha.
    assert _max_class_share(skewed, y) > 0.5
    flat = dirichlet(y, 5, 1e4, seed=0)
    global_share = np.bincount(y, minlength=10) / len(y)
    for s in flat:
        assert np.abs(np.bincount(y[s], minlength=10) / len(s) - global_share).max() < 0.03
    assert _max_class_share(iid(len(y), 5, 0), y) < 0.2


def test_dirichlet_partition_that_cannot_fill_every_worker_is_an_input_error():
    y = np.repeat([0, 1], 10)   # two classes: tiny alpha puts each on one worker
    with pytest.raises(InputError, match="dirichlet_alpha"):
        dirichlet(y, 6, 1e-3, seed=0)
    with pytest.raises(InputError, match="federated.workers"):
        iid(3, 4, seed=0)


# --------------------------------------------------------------------------- one worker


@pytest.mark.parametrize("extra", [
    [],
    ["federated.aggregator=chip"],
    ["workload.optimizer.type=momentum", "core.wg.master_weights=fp32",
     "core.wg.update_rounding=stochastic"],
])
def test_one_worker_with_all_data_is_plain_training_bit_for_bit(extra):
    sets = FAST + ["federated.workers=1", "federated.rounds=2", "federated.local_steps=3"] + extra
    res = run_federated("paper-20core", MLP, sets)
    assert res.summary["shard_sizes"] == [1438]
    arch = load_arch("paper-20core", [o for o in extra
                                      if not o.startswith(("workload.", "federated."))])
    assert "federated" not in arch   # the federated settings are not in the hardware schema
    wl = load_workload(MLP, [o[len("workload."):] for o in extra
                             if o.startswith("workload.")])
    net = build_network(wl)
    pair = Pair(arch, wl, net)
    rows = list(run(arch, wl, net, steps=6, pair=pair))
    assert len(rows) == 6
    for k, w in pair.chip.weights.items():
        stored = pair.chip_opt.master[k] if pair.num.master else w
        assert np.array_equal(res.weights[k], stored), k
    # the losses of the six steps are the plain run's
    assert [s["loss"] for s in res.steps] == [r["loss"] for r in rows]


# --------------------------------------------------------------------------- timing


@pytest.mark.long
def test_timed_run_is_deterministic_and_estimates_from_simulated_steps():
    sets = ["federated.workers=2", "federated.rounds=2", "federated.local_steps=2",
            "federated.simulate_every=3",
            "federated.worker_overrides=[{}, {chip.clock_mhz: 250}]"]
    a = run_federated("single-core", MLP, sets)
    b = run_federated("single-core", MLP, sets)
    assert a.rounds == b.rounds and a.steps == b.steps
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    # worker steps 0..3; every 3rd simulated: 0 and 3 (round 1 step 0, round 2 step 1)
    sim = [(s["worker"], s["step"]) for s in a.steps if s["simulated"]]
    assert sim == [(0, 0), (1, 0), (0, 3), (1, 3)]
    for s in a.steps:
        if s["simulated"]:   # seconds at the worker's own clock
            clock = 500e6 if s["worker"] == 0 else 250e6
            assert s["seconds"] == s["cycles"] / clock and s["cycles"] > 0
    by = {(s["worker"], s["step"]): s for s in a.steps}
    for w in (0, 1):
        # round 1: step 1 estimated from step 0; round 2: step 2 estimated from step 3
        assert by[(w, 1)]["seconds"] == by[(w, 0)]["seconds"]
        assert by[(w, 2)]["energy_j"] == by[(w, 3)]["energy_j"]
    r1 = a.rounds[0]
    assert r1["simulated_steps"] == 2 and r1["estimated_steps"] == 2
    assert r1["worker_compute_s"] == [2 * by[(w, 0)]["seconds"] for w in (0, 1)]
    assert r1["compute_s_max"] == max(r1["worker_compute_s"])
    assert r1["energy_compute_j"] == pytest.approx(
        2 * by[(0, 0)]["energy_j"] + 2 * by[(1, 0)]["energy_j"], rel=1e-12)
    assert r1["round_s"] > r1["compute_s_max"] and r1["energy_idle_j"] > 0
    assert r1["energy_j"] == pytest.approx(r1["energy_compute_j"] + r1["energy_link_j"]
                                           + r1["energy_idle_j"], rel=1e-12)


# --------------------------------------------------------------------------- accuracy


def test_averaged_model_accuracy_rises_over_rounds():
    res = run_federated("paper-20core", MLP, FAST + ["federated.rounds=3"])
    acc = [r["accuracy"] for r in res.rounds]
    assert res.summary["initial_accuracy"] < 0.3      # ten classes, untrained
    assert acc[-1] > acc[0] + 0.2 and acc[-1] > 0.75


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("sets, key", [
    (["federated.workers=0"], "federated.workers"),
    (["federated.link.download=multicast"], "federated.link.download"),
    (["federated.worker_overrides=[{}, {core.fp.lanez: 3}]"],
     "federated.worker_overrides[1].core.fp.lanez"),
    (["federated.worker_overrides=[{federated.rounds: 3}]"],
     "federated.worker_overrides[0].federated.rounds"),
    (["federated.worker_overrides=3"], "federated.worker_overrides"),
    (["federated.workers=2", "federated.worker_overrides=[{}, {}, {}]"],
     "federated.worker_overrides"),
])
def test_bad_federated_config_is_an_input_error(sets, key):
    with pytest.raises(InputError) as e:
        worker_archs(load_arch("paper-20core"), load_federated(sets))
    assert e.value.key == key and e.value.source == "--set"


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "neurosim", "federated", "paper-20core", MLP,
                        "--set", "federated.worker_overrides=[{chip.cores: 0}]",
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().count("\n") == 0
    assert "--set: federated.worker_overrides[0].chip.cores" in p.stderr
    assert not (tmp_path / "o").exists()


def test_cli_writes_rounds_summary_and_plot(tmp_path):
    out = tmp_path / "fl"
    p = subprocess.run([sys.executable, "-m", "neurosim", "federated", "paper-20core", MLP,
                        "--set", "federated.simulate_every=0", "--set", "federated.rounds=2",
                        "--set", "federated.workers=3", "--set", "federated.local_steps=2",
                        "--out", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader((out / "rounds.csv").open()))
    assert [r["round"] for r in rows] == ["1", "2"]
    assert {"accuracy", "energy_link_j", "compute_s_w2"} <= set(rows[0])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == 3 and summary["total_round_s"] is None  # nan -> null
    assert (out / "federated.png").stat().st_size > 1000
    assert sorted(f.name for f in out.iterdir()) == ["federated.png", "rounds.csv",
                                                      "summary.json"]
    assert "    1 " in p.stdout and "note: simulate_every = 0" in p.stdout


def test_cli_bad_partition_prints_nothing_but_the_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "neurosim", "federated", "paper-20core", MLP,
                        "--set", "federated.workers=2000"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("neurosim: error: --set: federated.workers: expected at most")
    assert p.stderr.strip().count("\n") == 0
