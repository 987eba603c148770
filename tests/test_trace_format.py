"""Trace format: bit packing, save/load round trip, validation of bad files."""
import zipfile

import numpy as np
import pytest

from neurosim.errors import InputError
from neurosim.workload import (build_network, get_traces, load_trace, load_workload, pack_bits,
                               popcount, unpack_bits)
from neurosim.workload.synthetic import derive_gu


def small_workload(**traces):
    return load_workload({
        "name": "small", "time_steps": 3, "batch": 2,
        "network": {"input": {"shape": [2, 6, 6], "coding": "dvs"}, "layers": [
            {"name": "c1", "type": "conv2d", "out_channels": 4},
            {"type": "maxpool", "kernel": 2}, {"type": "flatten"},
            {"name": "fc", "type": "linear", "out": 70}]},
        "traces": {"source": "synthetic", "seed": 3, **traces}})


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
def test_pack_unpack_roundtrip(n):
    rng = np.random.default_rng(n)
    bits = rng.random((3, 2, n)) < 0.3
    words = pack_bits(bits)
    assert words.dtype == np.uint64 and words.shape == (3, 2, (n + 63) // 64)
    assert np.array_equal(unpack_bits(words, n), bits)
    assert np.array_equal(popcount(words), bits.sum(axis=-1))


def test_bit_order_is_little_endian_in_uint64():
    bits = np.zeros(130, bool)
    bits[[0, 3, 64, 129]] = True
    w = pack_bits(bits)
    assert int(w[0]) == (1 << 0) | (1 << 3)
    assert int(w[1]) == 1 and int(w[2]) == 1 << 1


def test_save_load_identical(tmp_path):
    wl = small_workload()
    tr = get_traces(wl)
    tr.layers[1].gu_values = np.random.default_rng(0).standard_normal(
        (2, 3, 70)).astype(np.float16)
    path = tr.save(tmp_path / "t.npz")
    back = load_trace(path, expect=build_network(wl))
    assert back.equals(tr)
    assert back.meta["source"] == "synthetic"


def test_synthetic_is_deterministic_and_consistent():
    wl = small_workload(firing=0.3, gradient=0.2)
    a, b = get_traces(wl), get_traces(wl)
    assert a.equals(b)
    net = a.network
    fc = a["fc"]
    # the fc input is exactly the 2x2 max-pool (OR) of c1's spikes, seen through flatten
    c1 = unpack_bits(a["c1"].out_spikes, net["c1"].n_out).reshape(2, 3, 6, 6, 4)
    pooled = c1.reshape(2, 3, 3, 2, 3, 2, 4).any(axis=(3, 5)).reshape(2, 3, -1)
    assert np.array_equal(unpack_bits(fc.in_mask, net["fc"].n_in), pooled)
    # gu follows the backward recurrence
    s = unpack_bits(fc.out_spikes, 70)
    sg = unpack_bits(fc.sg_mask, 70)
    assert np.array_equal(unpack_bits(fc.gu_mask, 70), derive_gu(sg, s, 0.9))


def test_density_targets_are_met():
    wl = small_workload(firing=0.25, gradient=0.1)
    tr = get_traces(wl)
    assert abs(tr["c1"].density("out_spikes").mean() - 0.25) < 0.05


def _saved(tmp_path, mutate):
    wl = small_workload()
    path = get_traces(wl).save(tmp_path / "t.npz")
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    mutate(d)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **d)
    return bad, build_network(wl)


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d.pop("L0.gu_mask"), "L0.gu_mask"),
    (lambda d: d.update({"L1.in_mask": d["L1.in_mask"][:, :2]}), "L1.in_mask"),
    (lambda d: d.update({"L0.out_spikes": d["L0.out_spikes"].astype(np.int32)}), "L0.out_spikes"),
    (lambda d: d.update({"format": np.array("something-else")}), "format"),
    (lambda d: d.update({"version": np.array(99)}), "version"),
    (lambda d: d.update({"L1.sg_mask": d["L1.sg_mask"] | np.uint64(1 << 63)}), "L1.sg_mask"),
    (lambda d: d.update({"network": np.array("{not json")}), "network"),
])
def test_malformed_traces(tmp_path, mutate, key):
    bad, net = _saved(tmp_path, mutate)
    with pytest.raises(InputError) as e:
        load_trace(bad, expect=net)
    assert e.value.key == key


def test_truncated_and_foreign_files(tmp_path):
    wl = small_workload()
    path = get_traces(wl).save(tmp_path / "t.npz")
    data = path.read_bytes()
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_trace(trunc)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(InputError) as e:
        load_trace(foreign)
    assert e.value.key == "format"
    txt = tmp_path / "x.npz"
    txt.write_text("hello")
    with pytest.raises(InputError):
        load_trace(txt)


def test_trace_of_other_network_rejected(tmp_path):
    path = get_traces(small_workload()).save(tmp_path / "t.npz")
    other = build_network(load_workload("vgg11-cifar10"))
    with pytest.raises(InputError, match="different network"):
        load_trace(path, expect=other)
