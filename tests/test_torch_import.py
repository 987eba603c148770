"""Traces from PyTorch SNNs through hooks: a plain-torch twin of the trainer's network must give
the trainer's trace bit for bit; snnTorch and SpikingJelly neurons configured as documented
must give the same trace too."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurosim.errors import InputError  # noqa: E402
from neurosim.workload import build_network, load_trace, load_workload  # noqa: E402
from neurosim.workload import trainer as tr  # noqa: E402
from neurosim.workload.datasets import load_digits_images  # noqa: E402
from neurosim.workload.torch_import import build_torch_model, import_torch  # noqa: E402

pytestmark = pytest.mark.torch


def workload(loss="ce_count", reset="hard", beta=0.5):
    return load_workload({
        "name": "twin", "time_steps": 3, "batch": 4,
        "network": {"input": {"shape": [1, 8, 8], "coding": "direct"},
                    "neuron": {"beta": beta, "v_th": 1.0, "reset": reset},
                    "surrogate": {"shape": "rectangular", "width": 1.0},
                    "layers": [{"name": "c1", "type": "conv2d", "out_channels": 4},
                               {"name": "c2", "type": "conv2d", "out_channels": 4},
                               {"name": "s", "type": "add", "inputs": ["c1", "c2"]},
                               {"type": "maxpool", "kernel": 2},
                               {"name": "c3", "type": "conv2d", "out_channels": 6,
                                "stride": 2, "padding": 0},
                               {"type": "avgpool", "kernel": 1},
                               {"type": "flatten"},
                               {"name": "fc", "type": "linear", "out": 10}]},
        "loss": {"type": loss}})


def reference(wl):
    """The trainer's trace of one step (float64) and the matching torch inputs."""
    model = tr.SNN(wl, seed=5)
    images, labels = load_digits_images()
    x = np.broadcast_to(images[:4, :, :, None], (3, 4, 8, 8, 1)).copy()
    model.forward(x, calibrate=True)  # give every layer some activity
    y = labels[:4]
    ref = tr.record_step(model, x, y)
    xt = torch.from_numpy(x).permute(0, 1, 4, 2, 3).contiguous()  # (T, B, C, H, W)
    return model, ref, xt, torch.from_numpy(y)


def assert_same(trace, ref):
    for a, b in zip(trace.layers, ref.layers):
        for kind in ("in_mask", "out_spikes", "sg_mask", "gu_mask"):
            assert np.array_equal(a.mask(kind), b.mask(kind)), (a.name, kind)
        assert np.allclose(a.gu_values.astype(float), b.gu_values.astype(float),
                           rtol=2e-3, atol=1e-6), a.name
    assert trace.meta["spike_mismatch_bits"] == 0


@pytest.mark.parametrize("loss, reset", [("ce_count", "hard"), ("mse_count", "soft"),
                                         ("ce_membrane", "hard")])
def test_plain_torch_twin_gives_the_trainers_trace(loss, reset):
    wl = load_workload(workload(loss, reset).to_dict())
    net = build_network(wl)
    model, ref, xt, yt = reference(wl)
    assert ref["fc"].density("out_spikes").sum() > 0 and ref["c3"].density("gu_mask").sum() > 0
    twin = build_torch_model(wl, net, model.weights, torch.float64)
    trace = import_torch(wl, net, twin, xt, yt)
    assert_same(trace, ref)


def test_snntorch_leaky_maps_onto_the_workload_lif():
    snn = pytest.importorskip("snntorch")
    from torch import nn

    from neurosim.workload.torch_import import _Spike

    wl = workload()
    net = build_network(wl)
    model, ref, xt, yt = reference(wl)
    twin = build_torch_model(wl, net, model.weights, torch.float64)

    def spike_grad(x):  # the workload's Heaviside (U >= V_th) and rectangular surrogate
        return _Spike.apply(x, "rectangular", 1.0)

    def leaky():
        return snn.Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero", init_hidden=True,
                         spike_grad=spike_grad)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.c3 = (twin.layers[k] for k in ("c1", "c2", "c3"))
            self.fc = twin.layers["fc"]
            self.l1, self.l2, self.l3, self.l4 = leaky(), leaky(), leaky(), leaky()

        def forward(self, x):
            a = self.l1(self.c1(x))
            b = self.l2(self.c2(a))
            h = nn.functional.max_pool2d(a + b, 2)
            h = self.l3(self.c3(h))
            return self.l4(self.fc(torch.flatten(h, 1)))

    trace = import_torch(wl, net, Net().double(), xt, yt)
    assert_same(trace, ref)


def test_spikingjelly_lifnode_maps_onto_the_workload_lif():
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import neuron
    from torch import nn

    from neurosim.workload.torch_import import _Spike

    wl = workload(beta=0.5)  # tau = 2: 1 - 1/tau = 0.5 exactly
    net = build_network(wl)
    model, ref, xt, yt = reference(wl)
    twin = build_torch_model(wl, net, model.weights, torch.float64)

    class Rect(nn.Module):
        def forward(self, x):
            return _Spike.apply(x, "rectangular", 1.0)

    def lif():
        return neuron.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, v_threshold=1.0,
                              detach_reset=True, surrogate_function=Rect())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.c3 = (twin.layers[k] for k in ("c1", "c2", "c3"))
            self.fc = twin.layers["fc"]
            self.n1, self.n2, self.n3, self.n4 = lif(), lif(), lif(), lif()

        def forward(self, x):
            a = self.n1(self.c1(x))
            b = self.n2(self.c2(a))
            h = nn.functional.max_pool2d(a + b, 2)
            h = self.n3(self.c3(h))
            return self.n4(self.fc(torch.flatten(h, 1)))

    trace = import_torch(wl, net, Net().double(), xt, yt)
    assert_same(trace, ref)


def test_mismatched_neurons_and_shapes_are_input_errors():
    wl = workload()
    net = build_network(wl)
    model, ref, xt, yt = reference(wl)
    other = load_workload(workload(beta=0.9).to_dict())  # the model decays with 0.5
    twin = build_torch_model(other, net, model.weights, torch.float64)
    with pytest.raises(InputError, match="follow the workload's LIF"):
        import_torch(wl, net, twin, xt, yt)
    with pytest.raises(InputError) as e:
        import_torch(wl, net, twin, xt[:, :2], yt)
    assert e.value.key == "inputs"
    from torch import nn
    with pytest.raises(InputError) as e:
        import_torch(wl, net, nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).double(), xt, yt)
    assert e.value.key == "model"


ENTRY = '''
import numpy as np, torch
from neurosim.workload import trainer as tr
from neurosim.workload.torch_import import build_torch_model

def make(wl, network):
    snn = tr.SNN(wl, network, seed=2)
    rng = np.random.default_rng(0)
    x = (rng.random((wl.time_steps, wl.batch, 2, 8, 8)) < 0.3).astype(np.float32)
    snn.forward(x.transpose(0, 1, 3, 4, 2), calibrate=True)
    return {"model": build_torch_model(wl, network, snn.weights),
            "inputs": torch.from_numpy(x), "labels": torch.arange(wl.batch) % 10}
'''

WORKLOAD = '''
name: entry-test
network:
  input: {shape: [2, 8, 8], coding: dvs}
  layers:
    - {name: conv, type: conv2d, out_channels: 4}
    - {type: maxpool, kernel: 2}
    - {type: flatten}
    - {name: fc, type: linear, out: 10}
time_steps: 4
batch: 3
'''


def test_cli_import_torch(cli, tmp_path):
    (tmp_path / "entry.py").write_text(ENTRY)
    (tmp_path / "wl.yaml").write_text(WORKLOAD)
    out = tmp_path / "t.npz"
    rc, so, se = cli("trace", "import-torch", tmp_path / "wl.yaml", "--entry",
                     f"{tmp_path / 'entry.py'}:make", "--out", out)
    assert rc == 0, se
    assert "wrote" in so
    trace = load_trace(out, expect=build_network(load_workload(tmp_path / "wl.yaml")))
    assert trace.meta["source"] == "torch" and trace["conv"].density("out_spikes").sum() > 0
    rc, so, se = cli("trace", "info", out)
    assert rc == 0 and "source torch" in so
    rc, so, se = cli("trace", "import-torch", tmp_path / "wl.yaml", "--entry",
                     f"{tmp_path / 'entry.py'}:nope", "--out", tmp_path / "x.npz")
    assert rc == 2 and se.startswith("neurosim: error: --entry") and "nope" in se
    assert not (tmp_path / "x.npz").exists()


def with_mode(wl, mode):
    return load_workload(dict(wl.to_dict(), mode=mode))


def test_inference_records_the_forward_only():
    """mode inference (spec 3.6): the twin run under no_grad gives the trainer's forward bits;
    the surrogate and g(U) masks are all zero."""
    wl = with_mode(workload(), "inference")
    net = build_network(wl)
    model, _, xt, yt = reference(wl)
    images, labels = load_digits_images()
    x = np.broadcast_to(images[:4, :, :, None], (3, 4, 8, 8, 1)).copy()
    ref = tr.record_inference(model, x, labels[:4])
    twin = build_torch_model(wl, net, model.weights, torch.float64)
    trace = import_torch(wl, net, twin, xt, yt)
    assert trace.meta["mode"] == "inference" and trace.meta["loss"] is None
    for a, b in zip(trace.layers, ref.layers):
        for kind in ("in_mask", "out_spikes"):
            assert np.array_equal(a.mask(kind), b.mask(kind)), (a.name, kind)
        assert not a.mask("sg_mask").any() and not a.mask("gu_mask").any(), a.name
    assert trace.meta["spike_mismatch_bits"] == 0
    assert all(p.requires_grad for p in twin.parameters())


def test_input_gradient_records_the_backward_to_the_input_with_frozen_weights():
    """mode input_gradient: the same forward and g(U) bits as a training step (the weights
    are not updated inside a step either), no g(W) left on the parameters, g(input) density
    reported, and the parameters trainable again afterwards."""
    wl = with_mode(workload(), "input_gradient")
    net = build_network(wl)
    model, ref, xt, yt = reference(wl)
    twin = build_torch_model(wl, net, model.weights, torch.float64)
    trace = import_torch(wl, net, twin, xt, yt)
    assert_same(trace, ref)
    assert trace.meta["mode"] == "input_gradient"
    assert 0 < trace.meta["input_grad_density"] <= 1
    assert all(p.grad is None for p in twin.parameters())
    assert all(p.requires_grad for p in twin.parameters())
