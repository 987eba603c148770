"""Functional chip datapath: exact rounding, the engines' order, error bounds, the update
formats, and training beside the float32 trainer (docs/energy.md)."""
import json

import numpy as np
import pytest
import yaml

from neurosim.arch import load_arch
from neurosim.functional import bp_engine, fp_engine, wg_engine
from neurosim.functional.numerics import (FP16, FP32, INT8, NATIVE, rnd, rnd_stochastic,
                                          round_array, round_fp16)
from neurosim.workload import build_network, load_workload
from neurosim.workload.conv_kernels import conv_forward

U16 = 2.0 ** -11  # unit roundoff of binary16
F16 = (FP16, 1.0)


def gamma(k):
    return k * U16 / (1 - k * U16)


def f16(a):
    return np.asarray(a, dtype=np.float16).astype(np.float64)


# --------------------------------------------------------------------------- numerics


def test_round_fp16_matches_ieee_binary16():
    rng = np.random.RandomState(0)
    x = np.concatenate([
        rng.standard_normal(20000) * 10.0 ** rng.uniform(-9, 5, 20000),  # incl. subnormals
        np.array([65504.0, 65519.99, 65520.0, 1e6, -1e6, 2.0 ** -25, 2.0 ** -24 * 1.5,
                  2.0 ** -24 * 2.5, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 0.0, -0.0,
                  2047.5, 2049.0, -2051.0, 2.0 ** -14 * (1 - 2.0 ** -12), np.inf, -np.inf]),
    ])
    got = round_array(x, FP16, 1.0)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16).astype(np.float64)
    assert np.array_equal(got, want)
    assert round_fp16(1.0 + 2.0 ** -11) == 1.0  # tie to even
    assert round_fp16(65520.0) == np.inf


def test_round_fp32_int8_and_native():
    assert rnd(0.1, FP32, 1.0) == float(np.float32(0.1))
    assert rnd(0.3, INT8, 2.0 ** -6) == 19 * 2.0 ** -6           # nearest step
    assert rnd(5.0, INT8, 2.0 ** -6) == 127 * 2.0 ** -6          # saturates
    assert rnd(-5.0, INT8, 2.0 ** -6) == -128 * 2.0 ** -6
    assert rnd(0.1, NATIVE, 1.0) == 0.1


def test_stochastic_rounding_picks_a_neighbour_with_the_right_odds():
    x = 1.0 + 0.25 * 2.0 ** -10  # a quarter of an ulp above 1 (ulp = 2^-10 in [1, 2))
    u = np.linspace(0, 1, 1000, endpoint=False)
    got = np.array([rnd_stochastic(x, FP16, 1.0, v) for v in u])
    assert set(got) == {1.0, 1.0 + 2.0 ** -10}
    assert np.mean(got == 1.0 + 2.0 ** -10) == 0.25
    assert rnd_stochastic(-x, FP16, 1.0, 0.1) == -1.0  # the nearer one with odds 3/4
    assert rnd_stochastic(-x, FP16, 1.0, 0.9) == -(1.0 + 2.0 ** -10)
    assert rnd_stochastic(1.5, FP16, 1.0, 0.999) == 1.5  # representable: unchanged
    assert rnd_stochastic(2.0 ** -20, FP16, 1.0, 0.0) == 2.0 ** -24 * 16  # subnormal quantum
    assert rnd_stochastic(0.3 * 2.0 ** -6, INT8, 2.0 ** -6, 0.2) == 2.0 ** -6


# --------------------------------------------------------------------------- engines


def test_fp_accumulate_is_ascending_input_order_rounded_each_add():
    rng = np.random.RandomState(1)
    W = f16(rng.uniform(-1, 1, (200, 24)))
    x = (rng.random_sample((1, 3, 200)) < 0.3).astype(np.float64)  # (T, B, n_in)
    got = fp_engine.current(x, W, False, 1, 0, F16)[0]
    for b in range(3):  # the same chain in numpy float16, one add at a time
        acc = np.zeros(24, dtype=np.float16)
        for i in np.flatnonzero(x[0, b]):
            acc = (acc + W[i].astype(np.float16)).astype(np.float16)
        assert np.array_equal(got[b], acc.astype(np.float64))


def test_fp_accumulate_within_fp16_bound_of_float64():
    rng = np.random.RandomState(2)
    W = f16(rng.uniform(-1, 1, (512, 32)))
    x = (rng.random_sample((1, 4, 512)) < 0.5).astype(np.float64)
    got = fp_engine.current(x, W, False, 1, 0, F16)[0]
    exact = x[0] @ W  # float64: exact for these sums
    for b in range(4):
        k = int(x[0, b].sum())
        bound = gamma(k - 1) * (np.abs(W[x[0, b] != 0]).sum(axis=0))
        assert np.all(np.abs(got[b] - exact[b]) <= bound)
        assert np.any(got[b] != exact[b])  # rounding did happen


def test_conv_forward_is_the_engine_order_in_fp16_and_exact_natively():
    """Conv: per nonzero input (y, x, c) ascending, valid offsets row-major, rounded adds;
    with NATIVE the same kernel is the trainer's float64 convolution."""
    rng = np.random.RandomState(4)
    x = (rng.random_sample((2, 5, 5, 3)) < 0.4).astype(np.float64)  # (N, H, W, C)
    w = f16(rng.uniform(-1, 1, (3, 3, 3, 4)))
    got = conv_forward(x, w, 1, 1, F16)
    want = np.zeros((2, 5, 5, 4), dtype=np.float16)
    dense = np.zeros((2, 5, 5, 4))
    for n in range(2):
        for y in range(5):
            for xx in range(5):
                for c in range(3):
                    if not x[n, y, xx, c]:
                        continue
                    for ky in range(3):
                        for kx in range(3):
                            oy, ox = y + 1 - ky, xx + 1 - kx
                            if 0 <= oy < 5 and 0 <= ox < 5:
                                want[n, oy, ox] = (want[n, oy, ox] + w[ky, kx, c].astype(
                                    np.float16)).astype(np.float16)
                                dense[n, oy, ox] += w[ky, kx, c]
    assert np.array_equal(got, want.astype(np.float64))
    assert np.allclose(conv_forward(x, w, 1, 1), dense, rtol=0, atol=1e-12)


def test_bp_transposed_within_fp16_bound_and_skips_zero_deltas():
    rng = np.random.RandomState(3)
    W = f16(rng.uniform(-1, 1, (40, 300)))
    gU = f16(rng.standard_normal((1, 2, 300)) * (rng.random_sample((1, 2, 300)) < 0.2))
    got = bp_engine.transposed(W, gU, (1, 2, 40), False, 1, 0, F16)[0]
    exact = gU[0] @ W.T
    for b in range(2):
        nz = gU[0, b] != 0
        bound = gamma(int(nz.sum())) * np.abs(W[:, nz] * gU[0, b, nz]).sum(axis=1)
        assert np.all(np.abs(got[b] - exact[b]) <= bound)
    assert not bp_engine.transposed(W, np.zeros((1, 1, 300)), (1, 1, 40), False, 1, 0,
                                    F16).any()


def test_bp_delta_hard_soft_and_loss_at_u():
    gS, sg = f16([[0.5, 0.5]]), f16([[1.0, 1.0]])
    nxt, S, beta = f16([[0.25, 0.25]]), np.array([[1.0, 0.0]]), round_fp16(0.9)
    zero = np.zeros((1, 2))
    hard = bp_engine.delta(gS, sg, nxt, S, zero, beta, False, FP16, 1.0)
    soft = bp_engine.delta(gS, sg, nxt, S, zero, beta, True, FP16, 1.0)
    carry = round_fp16(beta * 0.25)
    assert np.array_equal(hard, [[0.5, round_fp16(0.5 + carry)]])  # no carry after a spike
    assert np.array_equal(soft, [[round_fp16(0.5 + carry)] * 2])    # soft: always carried
    ex = bp_engine.delta(gS, sg, nxt, S, np.array([[0.0, -1.0]]), beta, False, FP16, 1.0)
    assert ex[0, 1] == round_fp16(round_fp16(0.5 + carry) - 1.0)


def test_wg_accumulates_pairs_only_in_engine_order():
    """Tiles run samples ascending, time steps descending: with 2048 first the later 1s
    vanish in FP16 (2049 ties to 2048); in time-major order they would survive."""
    x = np.ones((2, 2, 1))       # (T, B, n_in)
    g = np.ones((2, 2, 1))       # g(U) (T, B, n_out)
    g[1, 0, 0] = 2048.0          # (t=1, b=0): the first tile of the WG engine
    gw = np.zeros((1, 1))
    wg_engine.accumulate(gw, x, g, False, 1, 0, F16)
    assert gw[0, 0] == 2048.0
    gw = np.zeros((1, 1))
    wg_engine.accumulate(gw, np.swapaxes(x, 0, 1), np.swapaxes(g, 0, 1), False, 1, 0, F16)
    assert gw[0, 0] == 2052.0    # the other order: 1 + 1 + 2048 -> 2050, + 1 -> 2051 -> 2052
    x = np.array([[[0.0, 1.0, 1.0]]])
    g = f16([[[0.5, 0.0]]])
    gw = np.zeros((3, 2))
    wg_engine.accumulate(gw, x, g, False, 1, 0, F16)
    assert np.array_equal(gw, [[0, 0], [0.5, 0], [0.5, 0]])


def _update(w, g, master=None, draws=(), code_w=FP16, stored=FP16, upd=FP16):
    W, G = np.array([w], dtype=float), np.array([g], dtype=float)
    WM = np.array([master], dtype=float) if master is not None else np.empty(0)
    wg_engine.update(W, G, np.zeros(1), WM, -0.001, -0.001, 1.0, 0.0, False,
                     master is not None, np.array(draws, dtype=float), code_w, 1.0, stored,
                     upd, FP16, 1.0)
    return W[0], (WM[0] if master is not None else None)


def test_update_loses_sub_half_ulp_steps_unless_master_or_stochastic():
    w, g = 1.0, 0.2                  # step -0.0002 < half an ulp of 1.0 in FP16 (2^-11)
    assert _update(w, g)[0] == 1.0   # round to nearest: the update vanishes
    W, WM = _update(w, g, master=1.0, stored=FP32, upd=FP32)
    assert WM == float(np.float32(1.0 + np.float32(-0.001 * 0.2))) and W == 1.0
    for _ in range(30):              # the FP32 master accumulates; the copy follows it
        W, WM = _update(W, g, master=WM, stored=FP32, upd=FP32)
    assert WM < 1.0 - 0.006 and W == round_fp16(WM)
    ups = [_update(w, g, draws=[u], stored=FP16)[0] for u in np.linspace(0, 1, 200, False)]
    down = 1.0 - 2.0 ** -11          # the FP16 neighbour below 1.0
    step = round_fp16(-0.001 * 0.2)  # the rounded product
    assert set(ups) == {1.0, down}
    assert np.mean(ups) == pytest.approx(1.0 + step, abs=2.0 ** -11 / 100)


def test_lif_hard_reset_and_threshold():
    U, S = fp_engine.lif(np.array([[0.5, 2.0]]), np.array([[0.0, 1.0]]),
                         np.array([[0.6, 0.3]]), 0.5, 1.0, False, FP16, 1.0)
    assert np.array_equal(U, [[0.85009765625, 0.300048828125]]) and np.array_equal(S, [[0, 0]])
    assert U[0, 0] == round_fp16(round_fp16(0.25) + round_fp16(0.6))


# --------------------------------------------------------------------------- training


def small_workload(**over):
    d = yaml.safe_load(open("workloads/mlp-digits.yaml"))
    d["network"]["layers"][0]["out"] = 32
    d.update(time_steps=4)
    d["traces"]["epochs"] = 1
    for k, v in over.items():
        d[k] = v
    return load_workload(d)


def test_reference_is_the_float32_trainer_bit_for_bit():
    """A whole schedule: the reference's weights and test accuracy are exactly those of
    train(wl, dtype=float32); the chip model saw the same inputs."""
    from neurosim.functional.model import Pair, run
    from neurosim.workload.trainer import train

    wl = small_workload()
    net = build_network(wl)
    pair = Pair(load_arch("single-core"), wl, net)
    rows = list(run(load_arch("single-core"), wl, net, pair=pair))
    want = train(wl, dtype=np.float32)
    assert len(rows) == 45 and rows[-1]["ref_test_acc"] == want.test_accuracy
    for k, w in want.model.weights.items():
        assert w.dtype == np.float32 and np.array_equal(pair.ref.weights[k], w)
    assert rows[-1]["test_acc"] > 0.3  # the FP16 chip learns too (chance is 0.1)


def test_first_step_differs_from_float32_by_rounding_only():
    """Same data and calibrated init: after one step FP16 weights differ from float32 by
    FP16 rounding (relative difference well under 1 %), FP32 ones by FP32 rounding (the
    engines' order against BLAS's)."""
    from neurosim.functional.model import run

    wl = small_workload()
    net = build_network(wl)
    fp16 = next(run(load_arch("single-core"), wl, net, steps=1))
    fp32 = next(run(load_arch("single-core", ["core.precision=fp32"]), wl, net, steps=1))
    assert 0 < fp16["w_rel_diff"] < 1e-2
    assert 0 < fp32["w_rel_diff"] < 1e-6
    assert fp16["ref_loss"] == fp32["ref_loss"]  # one reference, whatever the chip
    assert 0 <= fp32["lost_updates"] < fp16["lost_updates"] < 1  # FP16 swallows more


@pytest.mark.parametrize("loss", ["ce_count", "mse_count", "ce_membrane"])
def test_every_loss_and_int8_run(loss):
    from neurosim.functional.model import run

    wl = small_workload(loss={"type": loss})
    for arch in (load_arch("single-core"), load_arch("single-core", ["core.precision=int8"])):
        rows = list(run(arch, wl, build_network(wl), steps=3))
        assert all(np.isfinite(r["loss"]) and np.isfinite(r["w_rel_diff"]) for r in rows)
        assert 0 <= rows[-1]["test_acc"] <= 1


def test_conv_network_trains_on_the_datapath_and_records_a_trace():
    from neurosim.functional.model import run
    from neurosim.workload.trainer import make_trace

    d = yaml.safe_load(open("workloads/convnet-digits.yaml"))
    d.update(time_steps=2, batch=4)
    d["traces"].update(epochs=1, train_batch=4)
    wl = load_workload(d)
    net = build_network(wl)
    traces = []

    def hook(step, chip, fw, g_u, y):
        import dataclasses
        traces.append(make_trace(chip, fw, g_u, network=dataclasses.replace(net, batch=len(y))))
        return {}

    rows = list(run(load_arch("single-core"), wl, net, steps=2, hook=hook))
    assert len(rows) == 2 and 0 < rows[0]["w_rel_diff"] < 2e-2
    tr = traces[-1]
    tr.validate("<functional step>")
    assert tr.batch == 4 and tr.time_steps == 2 and tr.layers[-1].gu_values.dtype == np.float16
    assert tr.layers[-1].gu_mask.any()  # ce_membrane: the output layer's g(U) is there


def test_train_cli_small_run(cli, tmp_path):
    rc, out, err = cli("train", "single-core", "workloads/mlp-digits.yaml", "--steps", "3",
                       "--eval-every", "0", "--wset", "time_steps=2", "--wset",
                       "traces.epochs=1", "--set", "core.wg.master_weights=fp32",
                       "--out", tmp_path / "o")
    assert rc == 0, err
    assert "cycles" in out and "energy_j" in out
    assert "master weights fp32" in out
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["steps"] == 3 and 0 <= s["test_acc"] <= 1 and s["master_weights"] == "fp32"
    assert (tmp_path / "o" / "steps.csv").read_text().count("\n") == 4


@pytest.mark.parametrize("args,match", [
    (["vgg11-cifar10"], "traces.source"),
    (["workloads/mlp-digits.yaml", "--steps", "0"], "--steps"),
    (["workloads/mlp-digits.yaml", "--set", "core.wg.master_weights=fp64"], "master_weights"),
])
def test_train_cli_bad_input_is_one_line(cli, args, match):
    rc, out, err = cli("train", "single-core", *args)
    assert rc == 2 and match in err and err.count("\n") == 1


@pytest.mark.slow
def test_fp16_training_matches_float32_paper_chip():
    """Issue 6 acceptance, `neurosim train arch_configs/paper-20core.yaml
    workloads/mlp-digits.yaml` (the whole schedule, 900 steps): run with
    `pytest -m slow tests/test_functional.py`."""
    from neurosim.functional.model import run

    wl = load_workload("workloads/mlp-digits.yaml")
    rows = list(run(load_arch("arch_configs/paper-20core.yaml"), wl, build_network(wl)))
    last = rows[-1]
    assert last["ref_test_acc"] > 0.95
    assert abs(last["test_acc"] - last["ref_test_acc"]) <= 0.01
