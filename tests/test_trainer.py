"""Built-in BPTT trainer: exact gradients, learning, trace recording, cache."""
import numpy as np
import pytest

from neurosim.errors import InputError
from neurosim.workload import build_network, get_traces, load_trace, load_workload, unpack_bits
from neurosim.workload.datasets import digits_to_events, load_digits_images, make_dataset
from neurosim.workload.trace import edge_bits
from neurosim.workload import trainer as tr


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))


def fd_workload(sg="sigmoid", reset="hard", loss="ce_count"):
    """A tiny network with every op kind: conv (stride 1 and 2, padding), max pooling, a
    residual add, average pooling, flatten, linear."""
    return load_workload({
        "name": "fd", "time_steps": 4, "batch": 3,
        "network": {
            "input": {"shape": [2, 6, 6], "coding": "dvs"},
            "neuron": {"beta": 0.8, "v_th": 1.0, "reset": reset},
            "surrogate": {"shape": sg, "width": 1.0},
            "layers": [
                {"name": "c1", "type": "conv2d", "out_channels": 4},
                {"type": "maxpool", "kernel": 2},
                {"name": "c2", "type": "conv2d", "out_channels": 4},
                {"name": "c3", "type": "conv2d", "out_channels": 4},
                {"name": "res", "type": "add", "inputs": ["c2", "c3"]},
                {"name": "c4", "type": "conv2d", "out_channels": 4, "stride": 2, "padding": 1},
                {"type": "avgpool", "kernel": 2},
                {"type": "flatten"},
                {"name": "fc", "type": "linear", "out": 3}]},
        "loss": {"type": loss}, "traces": {"source": "synthetic"}})


# Why this finite-difference check is sound: the real SNN's loss is piecewise constant in W
# (spikes are Heaviside steps), so its numerical derivative is zero almost everywhere and
# says nothing about a surrogate gradient. The surrogate gradient *is*, by construction, the
# exact gradient of a relaxed network whose forward spike is Phi(U - V_th) with Phi' = sg
# (the primitive of the surrogate), with the reset term treated as a constant (the chip's
# "reset path detached"). So we freeze the reset masks at their base-point values, take
# central differences of that smooth network's loss in float64, and compare them with the
# trainer's backward pass run on the same relaxed forward pass. The backward code is the
# one used for training; only the forward spike function differs, so this checks the LIF
# recurrence, the surrogate, conv/linear transposes, weight gradients, pooling routing,
# residual fan-out, flatten order and the loss gradient in one go.
@pytest.mark.parametrize("sg, reset, loss", [
    ("sigmoid", "hard", "ce_count"),
    ("atan", "soft", "ce_count"),
    ("triangle", "hard", "mse_count"),
    ("rectangular", "hard", "ce_membrane"),
    ("sigmoid", "soft", "ce_membrane"),
])
def test_gradients_match_finite_differences(sg, reset, loss):
    model = tr.SNN(fd_workload(sg, reset, loss), seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = (rng.random((4, 3, 6, 6, 2)) < 0.4).astype(np.float64)
    y = np.array([0, 1, 2])
    fw = model.forward(x, relaxed=True)
    frozen = {k: v.copy() for k, v in fw.spikes.items()}
    _, g_w, _ = model.backward(fw, y, relaxed=True)

    def loss_at():
        return model.loss(model.forward(x, relaxed=True, reset_masks=frozen), y)[0].sum()

    eps, checked, nonzero = 1e-6, 0, 0
    for name, w in model.weights.items():
        flat = w.reshape(-1)
        for i in rng.choice(flat.size, 8, replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = loss_at()
            flat[i] = old - eps
            down = loss_at()
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            analytic = g_w[name].reshape(-1)[i]
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-9), (name, i)
            checked += 1
            nonzero += abs(numeric) > 1e-7
    assert checked == 8 * len(model.weights)
    assert nonzero >= checked // 2  # the comparison is not between zeros


def test_hand_worked_bptt_with_detached_reset():
    """One input held at 1 for T = 3 into two LIF neurons (w = 1.2 and 0.3), beta 0.5, hard
    reset, rectangular surrogate (width 1), MSE on rates, label 1.
    Neuron 0: U = 1.2, 1.2, 1.2 (fires every step, reset each time): rate 1, target 0, so
    g(S[t]) = 2 (1 - 0) / (2 classes * 3 steps) = 1/3; sg = 1 everywhere; the carry is gated
    by (1 - S[t]) = 0, so g(U) = 1/3 at every step and g(w0) = 1.
    Neuron 1: U = 0.3, 0.45, 0.525, never fires: g(S) = -1/3; sg = 0, 0, 1 (only 0.525 is
    within 0.5 of V_th); g(U[2]) = -1/3, g(U[1]) = 0.5 * -1/3 = -1/6, g(U[0]) = -1/12;
    g(w1) = -7/12. Loss = mean((1 - 0)^2, (0 - 1)^2) = 1."""
    wl = load_workload({
        "name": "hand", "time_steps": 3, "batch": 1,
        "network": {"input": {"shape": [1], "coding": "direct"},
                    "neuron": {"beta": 0.5, "v_th": 1.0, "reset": "hard"},
                    "surrogate": {"shape": "rectangular", "width": 1.0},
                    "layers": [{"name": "fc", "type": "linear", "out": 2}]},
        "loss": {"type": "mse_count"}})
    model = tr.SNN(wl)
    model.weights["fc"] = np.array([[1.2, 0.3]])
    fw = model.forward(np.ones((3, 1, 1)))
    assert fw.spikes["fc"][:, 0].tolist() == [[1, 0], [1, 0], [1, 0]]
    assert fw.membrane["fc"][:, 0, 1] == pytest.approx([0.3, 0.45, 0.525])
    losses, g_w, g_u = model.backward(fw, np.array([1]))
    assert losses[0] == pytest.approx(1.0)
    assert g_u["fc"][:, 0, 0] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert g_u["fc"][:, 0, 1] == pytest.approx([-1 / 12, -1 / 6, -1 / 3])
    assert g_w["fc"][0] == pytest.approx([1.0, -7 / 12])


def test_mlp_digits_learns_and_is_cached(tmp_path):
    wl = load_workload("mlp-digits")
    net = build_network(wl)
    trace = get_traces(wl, net)
    assert trace.meta["source"] == "trainer"
    assert trace.meta["test_accuracy"] >= 0.90
    assert "cache" not in trace.meta  # trained now
    cached = tr.cache_path(wl)
    assert cached.is_file()
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temp files left
    again = get_traces(wl, net)
    assert again.meta["cache"] == str(cached)  # read back, not retrained
    assert again.equals(trace)
    # another seed is another cache entry
    other = load_workload("mlp-digits", ["traces.seed=1", "traces.epochs=0"])
    assert tr.cache_path(other) != cached


def small_conv_workload(**over):
    d = {"name": "small-conv", "time_steps": 3, "batch": 4,
         "network": {"input": {"shape": [1, 8, 8], "coding": "direct"},
                     "layers": [{"name": "c1", "type": "conv2d", "out_channels": 4},
                                {"name": "c2", "type": "conv2d", "out_channels": 4},
                                {"name": "s", "type": "add", "inputs": ["c1", "c2"]},
                                {"type": "maxpool", "kernel": 2},
                                {"name": "c3", "type": "conv2d", "out_channels": 6},
                                {"type": "avgpool", "kernel": 2},
                                {"type": "flatten"},
                                {"name": "fc", "type": "linear", "out": 10}]},
         "traces": {"source": "trainer", "dataset": "digits", "epochs": 1, "train_batch": 64}}
    d.update(over)
    return load_workload(d)


def test_recorded_trace_follows_the_graph_and_bptt(tmp_path):
    wl = small_conv_workload()
    net = build_network(wl)
    trace = get_traces(wl, net)
    b, t = 4, 3
    assert (trace.batch, trace.time_steps) == (b, t)
    bits = {"input": unpack_bits(trace.layers[0].in_mask, net.layers[0].n_in)}
    for hl, lt in zip(net.layers, trace.layers):
        s = unpack_bits(lt.out_spikes, hl.n_out)
        sg = unpack_bits(lt.sg_mask, hl.n_out)
        gu = unpack_bits(lt.gu_mask, hl.n_out)
        bits[hl.name] = s
        # in_mask is exactly what the edges deliver (pooling = OR, add = OR)
        expect = np.zeros((b, t, hl.n_in), bool)
        for e in hl.edges:
            expect |= edge_bits(e, bits[e.src])
        assert np.array_equal(unpack_bits(lt.in_mask, hl.n_in), expect), hl.name
        assert np.array_equal(gu, lt.gu_values != 0)
        # rectangular surrogate: g(U[t]) != 0 only where sg[t] != 0 or the carry from t+1
        # passes (hard reset: not through a spike)
        carry = np.zeros_like(gu)
        carry[:, :-1] = gu[:, 1:] & ~s[:, :-1]
        assert not np.any(gu & ~(sg | carry)), hl.name
    # direct coding: the analog frame is the same at every step
    assert np.array_equal(bits["input"][:, 0], bits["input"][:, 2])
    assert trace["fc"].density("gu_mask").mean() > 0
    # round trip through a file
    back = load_trace(trace.save(tmp_path / "t.npz"), expect=net)
    assert back.equals(trace) and back.meta["test_accuracy"] == trace.meta["test_accuracy"]


def test_trainer_is_deterministic(tmp_path, monkeypatch):
    wl = small_conv_workload(time_steps=2, traces={"source": "trainer", "dataset": "digits",
                                                   "epochs": 1, "train_batch": 128})
    a = get_traces(wl)
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "other"))
    b = get_traces(wl)
    assert "cache" not in b.meta and a.equals(b)


def test_rate_coding_and_digits_dvs():
    images, labels = load_digits_images()
    assert images.shape == (1797, 8, 8) and images.max() == 1.0 and labels.max() == 9
    ev = digits_to_events(images[:20], 12, 12, 5, seed=3)
    assert ev.shape == (20, 5, 12, 12, 2) and ev.dtype == bool
    assert ev[..., 0].any() and ev[..., 1].any()
    assert np.array_equal(ev, digits_to_events(images[:20], 12, 12, 5, seed=3))
    # the digit appears on a dark canvas: step 0 is mostly ON events
    assert ev[:, 0, :, :, 0].sum() > 5 * ev[:, 0, :, :, 1].sum()
    wl = load_workload({
        "name": "dvs", "time_steps": 5, "batch": 2,
        "network": {"input": {"shape": [2, 12, 12], "coding": "dvs"},
                    "layers": [{"type": "conv2d", "out_channels": 4, "stride": 2},
                               {"type": "flatten"}, {"type": "linear", "out": 10}]},
        "traces": {"source": "trainer", "dataset": "digits-dvs", "epochs": 0}})
    data = make_dataset(wl, build_network(wl))
    x = data.encode(data.x_train[:3], None)
    assert x.shape == (5, 3, 12, 12, 2) and set(np.unique(x)) <= {0.0, 1.0}
    trace = get_traces(wl)
    assert trace.network.layers[0].in_binary
    wl_rate = load_workload("mlp-digits", ["traces.epochs=0"])
    data = make_dataset(wl_rate, build_network(wl_rate))
    spikes = data.encode(data.x_train[:200], np.random.default_rng(0))
    assert set(np.unique(spikes)) == {0.0, 1.0}
    # Poisson coding: spike probability = pixel value
    assert spikes.mean() == pytest.approx(data.x_train[:200].mean(), abs=0.01)


@pytest.mark.parametrize("over, key", [
    ({"network.input.shape": [2, 8, 8]}, "network.input.shape"),
    ({"network.input.coding": "dvs"}, "network.input.coding"),
    ({"traces.dataset": "digits-dvs"}, "network.input.coding"),
    ({"network.layers[1].out": 7}, "network.layers[1]"),
    ({"batch": 5000}, "batch"),
])
def test_trainer_rejects_mismatched_workloads(over, key):
    d = {"name": "m", "time_steps": 2, "batch": 2,
         "network": {"input": {"shape": [64], "coding": "rate"},
                     "layers": [{"type": "linear", "out": 8}, {"type": "linear", "out": 10}]},
         "traces": {"source": "trainer", "dataset": "digits", "epochs": 0}}
    for k, v in over.items():
        if k == "network.input.shape":
            d["network"]["input"]["shape"] = v
            d["network"]["layers"].insert(0, {"type": "flatten"})
            key = "network.input.shape"
        elif k == "network.input.coding":
            d["network"]["input"]["coding"] = v
        elif k == "traces.dataset":
            d["traces"]["dataset"] = v
        elif k == "network.layers[1].out":
            d["network"]["layers"][1]["out"] = v
        else:
            d[k] = v
    with pytest.raises(InputError) as e:
        get_traces(load_workload(d))
    assert e.value.key == key
