"""Weighted-layer graph derived from workloads: shapes, edges, pooling, residual adds."""
import pytest

from neurosim.errors import InputError
from neurosim.workload import build_network, load_workload


def wl(layers, shape=(2, 8, 8), coding="dvs", **kw):
    d = {"name": "t", "network": {"input": {"shape": list(shape), "coding": coding},
                                  "layers": layers},
         "time_steps": 2, "batch": 1}
    d.update(kw)
    return load_workload(d)


def test_vgg11_shapes():
    net = build_network(load_workload("vgg11-cifar10"))
    assert [l.name for l in net.layers][:2] == ["conv1", "conv2"]
    assert net["conv1"].out_shape == (64, 32, 32)
    assert net["conv2"].in_shape == (64, 16, 16)
    assert net["conv2"].edges[0].src == "conv1" and net["conv2"].edges[0].pools[0].kind == "max"
    assert net["fc"].in_shape == (512,)
    assert not net["conv1"].in_binary  # direct coding: analog input
    assert net["conv2"].in_binary
    assert sum(l.n_weights for l in net.layers) == 9_222_848


def test_residual_add_and_avgpool():
    net = build_network(wl([
        {"name": "a", "type": "conv2d", "out_channels": 4},
        {"name": "b", "type": "conv2d", "out_channels": 4},
        {"name": "s", "type": "add", "inputs": ["a", "b"]},
        {"type": "avgpool", "kernel": 2},
        {"type": "flatten"},
        {"name": "fc", "type": "linear", "out": 3},
    ]))
    fc = net["fc"]
    assert fc.in_shape == (4 * 4 * 4,)
    assert sorted(e.src for e in fc.edges) == ["a", "b"]
    assert all(e.pools[0].kind == "avg" for e in fc.edges)
    assert not fc.in_binary
    assert net.consumers("a") == ["b", "fc"]


def test_conv_output_size_with_stride():
    net = build_network(wl([{"type": "conv2d", "out_channels": 3, "kernel": 3, "stride": 2},
                            {"type": "flatten"}, {"type": "linear", "out": 2}]))
    assert net.layers[0].out_shape == (3, 4, 4)
    assert net.layers[0].dense_macs() == 3 * 4 * 4 * 2 * 9


@pytest.mark.parametrize("layers, key", [
    ([{"type": "linear", "out": 3}], "network.layers[0]"),                       # no flatten
    ([{"type": "flatten"}, {"type": "conv2d", "out_channels": 2}], "network.layers[1]"),
    ([{"type": "conv2d", "out_channels": 2, "kernel": 20, "padding": 0}],
     "network.layers[0].kernel"),
    ([{"type": "conv2d", "out_channels": 2}, {"type": "maxpool", "kernel": 2}],
     "network.layers"),                                                         # ends in pool
    ([{"type": "conv2d", "out_channels": 2, "input": "nope"}], "network.layers[0].input"),
    ([{"type": "add", "inputs": ["input", "x"]}], "network.layers[0].inputs[1]"),
    ([{"type": "conv3d", "out_channels": 2}], "network.layers[0].type"),
    ([{"name": "a", "type": "conv2d", "out_channels": 2},
      {"name": "a", "type": "conv2d", "out_channels": 2}], "network.layers[1].name"),
])
def test_bad_networks(layers, key):
    with pytest.raises(InputError) as e:
        wl(layers)
    assert e.value.key == key
