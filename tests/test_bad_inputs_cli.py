"""Malformed arch configs, workloads and traces through the real CLI (`python -m neurosim`):
exit code 2 and exactly one line on stderr, `neurosim: error: <file>: <key>: expected ...`."""
import numpy as np
import pytest

from neurosim.workload import get_traces, load_workload

SMALL_WL = """
name: small
network:
  input: {shape: [2, 6, 6], coding: dvs}
  layers:
    - {name: c1, type: conv2d, out_channels: 4}
    - {type: maxpool, kernel: 2}
    - {type: flatten}
    - {name: fc, type: linear, out: 10}
time_steps: 3
batch: 2
traces: {source: synthetic, seed: 3}
"""


def assert_one_line_error(rc, stderr, file_name, key):
    assert rc == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("neurosim: error: "), stderr
    assert file_name in lines[0], stderr
    assert f": {key}: expected" in lines[0], stderr


ARCH_CASES = {
    "bad-yaml-syntax": ("chip: {cores: 4\n", "<top>"),
    "unknown-key": ("extends: paper-20core\nchip: {corez: 4}\n", "chip.corez"),
    "wrong-type": ("extends: paper-20core\ncore: {fp: {lanes: many}}\n", "core.fp.lanes"),
    "zero-lanes": ("extends: paper-20core\ncore: {fp: {lanes: 0}}\n", "core.fp.lanes"),
    "mesh-smaller-than-cores": ("extends: paper-20core\nchip: {cores: 20, mesh: {cols: 2, "
                                "rows: 2}}\n", "chip.cores"),
    "buffer-smaller-than-a-word": ("extends: paper-20core\ncore: {sram: {weights: "
                                   "{size_kib: 0.01}}}\n", "core.sram.weights.size_kib"),
    "bad-extends": ("extends: no-such-config\n", "extends"),
    "extends-not-a-string": ("extends: [1, 2]\n", "extends"),
    "bad-dram-preset": ("extends: paper-20core\ndram: {preset: DDR9}\n", "dram.preset"),
    "not-a-mapping": ("- just\n- a list\n", "<top>"),
}


@pytest.mark.parametrize("case", sorted(ARCH_CASES))
def test_bad_arch_configs(cli, tmp_path, case):
    text, key = ARCH_CASES[case]
    f = tmp_path / f"{case}.yaml"
    f.write_text(text)
    rc, _, se = cli("config", "show", f)
    assert_one_line_error(rc, se, f"{case}.yaml", key)


def test_extends_cycle(cli, tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    rc, _, se = cli("config", "show", tmp_path / "a.yaml")
    assert_one_line_error(rc, se, ".yaml", "extends")


WORKLOAD_CASES = {
    "missing-time-steps": (lambda t: t.replace("time_steps: 3\n", ""), "time_steps"),
    "unknown-layer-type": (lambda t: t.replace("type: conv2d", "type: conv3d"),
                           "network.layers[0].type"),
    "bad-input-shape": (lambda t: t.replace("shape: [2, 6, 6]", "shape: [2, 6]"),
                        "network.input.shape"),
    "linear-without-flatten": (lambda t: t.replace("    - {type: flatten}\n", ""),
                               "network.layers[2]"),
    "density-list-wrong-length": (lambda t: t.replace("seed: 3}", "seed: 3, firing: [0.1, "
                                                      "0.2, 0.3]}"), "traces.firing"),
    "bad-trace-source": (lambda t: t.replace("source: synthetic", "source: magic"),
                         "traces.source"),
    "unknown-top-key": (lambda t: t + "batchsize: 4\n", "batchsize"),
    "negative-batch": (lambda t: t.replace("batch: 2", "batch: -1"), "batch"),
    "density-out-of-range": (lambda t: t.replace("seed: 3}", "seed: 3, gradient: 1.5}"),
                             "traces.gradient"),
    "kernel-too-big": (lambda t: t.replace("out_channels: 4}", "out_channels: 4, kernel: 9, "
                                           "padding: 0}"), "network.layers[0].kernel"),
    "trainer-dataset-shape": (lambda t: t.replace("{source: synthetic, seed: 3}",
                                                  "{source: trainer, dataset: digits}"),
                              "network.input.shape"),
}


@pytest.mark.parametrize("case", sorted(WORKLOAD_CASES))
def test_bad_workloads(cli, tmp_path, case):
    mutate, key = WORKLOAD_CASES[case]
    f = tmp_path / f"{case}.yaml"
    f.write_text(mutate(SMALL_WL))
    rc, so, se = cli("trace", "info", f)
    assert_one_line_error(rc, se, f"{case}.yaml", key)
    assert so == ""


def test_bad_trace_path_in_workload(cli, tmp_path):
    f = tmp_path / "wl.yaml"
    f.write_text(SMALL_WL.replace("{source: synthetic, seed: 3}",
                                  "{source: file, path: missing-trace.npz}"))
    rc, _, se = cli("trace", "info", f)
    assert_one_line_error(rc, se, "missing-trace.npz", "<top>")


def test_bad_override_names_set(cli):
    rc, _, se = cli("trace", "info", "vgg11-cifar10", "--set", "traces.firing=[0.1]")
    assert_one_line_error(rc, se, "--set", "traces.firing")


# --------------------------------------------------------------------------- traces


@pytest.fixture
def good_trace(tmp_path):
    wl_file = tmp_path / "small.yaml"
    wl_file.write_text(SMALL_WL)
    path = get_traces(load_workload(wl_file)).save(tmp_path / "good.npz")
    return path


def _rewrite(src, dst, mutate):
    with np.load(src) as z:
        d = {k: z[k] for k in z.files}
    mutate(d)
    np.savez(dst, **d)
    return dst


TRACE_CASES = {
    "missing-array": (lambda d: d.pop("L0.gu_mask"), "L0.gu_mask"),
    "padding-bits-set": (lambda d: d.update({"L1.sg_mask": d["L1.sg_mask"] | np.uint64(1 << 63)}),
                         "L1.sg_mask"),
    "wrong-dtype": (lambda d: d.update({"L0.out_spikes": d["L0.out_spikes"].astype(np.int32)}),
                    "L0.out_spikes"),
    "wrong-version": (lambda d: d.update({"version": np.array(7)}), "version"),
    "time-steps-disagree": (lambda d: d.update({"L1.in_mask": d["L1.in_mask"][:, :2]}),
                            "L1.in_mask"),
    "bad-gu-values": (lambda d: d.update({"L1.gu_values": np.zeros((2, 3, 5), np.float16)}),
                      "L1.gu_values"),
}


@pytest.mark.parametrize("case", sorted(TRACE_CASES))
def test_malformed_trace_files(cli, tmp_path, good_trace, case):
    mutate, key = TRACE_CASES[case]
    bad = _rewrite(good_trace, tmp_path / f"{case}.npz", mutate)
    rc, _, se = cli("trace", "info", bad)
    assert_one_line_error(rc, se, f"{case}.npz", key)


def test_truncated_trace(cli, tmp_path, good_trace):
    data = good_trace.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    rc, _, se = cli("trace", "info", bad)
    assert_one_line_error(rc, se, "truncated.npz", "<top>")
    assert "truncated" in se


def test_foreign_npz_and_text(cli, tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.arange(4))
    rc, _, se = cli("trace", "info", foreign)
    assert_one_line_error(rc, se, "foreign.npz", "format")
    text = tmp_path / "notes.npz"
    text.write_text("not a zip")
    rc, _, se = cli("trace", "info", text)
    assert_one_line_error(rc, se, "notes.npz", "<top>")


def test_trace_shape_mismatch_vs_workload(cli, tmp_path, good_trace):
    other = tmp_path / "other.yaml"
    other.write_text(SMALL_WL.replace("out_channels: 4", "out_channels: 8").replace(
        "{source: synthetic, seed: 3}", f"{{source: file, path: {good_trace.name}}}"))
    rc, _, se = cli("trace", "info", other)
    assert_one_line_error(rc, se, "good.npz", "network")
    batch = tmp_path / "batch.yaml"
    batch.write_text(SMALL_WL.replace("batch: 2", "batch: 5").replace(
        "{source: synthetic, seed: 3}", f"{{source: file, path: {good_trace.name}}}"))
    rc, _, se = cli("trace", "info", batch)
    assert_one_line_error(rc, se, "good.npz", "batch")


def test_no_output_file_on_error(cli, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(SMALL_WL.replace("time_steps: 3\n", ""))
    out = tmp_path / "out.npz"
    rc, _, se = cli("trace", "generate", f, "--out", out)
    assert_one_line_error(rc, se, "bad.yaml", "time_steps")
    assert not out.exists() and list(tmp_path.glob(".tmp-*")) == []
