"""compare-gpu: the chip side (through a stub, and the real simulator on a small workload),
measured-CSV loading and its errors."""
import types
from pathlib import Path

import pytest

from neurosim.baselines import chip as chip_side
from neurosim.baselines.measured import load_measured
from neurosim.commands import compare_gpu
from neurosim.errors import InputError
from neurosim.timing import TENSOR_KINDS

ROOT = Path(__file__).resolve().parent.parent


def main(argv):
    """The command in-process (so monkeypatch reaches it), with the CLI's error handling."""
    import argparse
    import sys

    p = argparse.ArgumentParser()
    compare_gpu.register(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except InputError as e:
        print(f"neurosim: error: {e}", file=sys.stderr)
        return 2


def _stub_run(calls):
    def run(arch, workload, overrides=()):
        calls.append((arch, workload, tuple(overrides)))
        summary = {}
        for i, k in enumerate(TENSOR_KINDS):
            summary[f"dram_read_bytes_{k}"] = 1000 * (i + 1)
            summary[f"dram_write_bytes_{k}"] = 100 * (i + 1)
        summary["energy_dram_j"] = 1e-6
        return types.SimpleNamespace(summary=summary)
    return run


def test_compare_gpu_with_stub_chip(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(chip_side, "chip_run", _stub_run(calls))
    rc = main(["compare-gpu", "paper-20core", "vgg11-cifar10", "--gpu", "h100",
               "--set", "core.fp.lanes=64", "--out", str(tmp_path)])
    assert rc == 0
    assert calls == [("paper-20core", "vgg11-cifar10", ("core.fp.lanes=64",))]
    out = capsys.readouterr().out
    # weights: chip 1000 + 100 bytes -> 0.00 MB shown; reduction is computed from bytes
    assert "weights" in out and "reduction %" in out
    csv_text = (tmp_path / "vgg11-cifar10_h100_spikingjelly_dram.csv").read_text()
    row = [ln for ln in csv_text.splitlines() if ln.startswith("kind,weights,")][0]
    cr, cw, gr, gw, red = row.split(",")[2:]
    assert (int(cr), int(cw)) == (1000, 100)
    assert float(red) == pytest.approx(100 * (1 - 1100 / (int(gr) + int(gw))))
    assert (tmp_path / "vgg11-cifar10_h100_spikingjelly_dram.png").read_bytes()[:4] == \
        b"\x89PNG"
    assert "chip DRAM energy" in out


def test_chip_dram_traffic_adapter(monkeypatch):
    monkeypatch.setattr(chip_side, "chip_run", _stub_run([]))
    d = chip_side.chip_dram_traffic("a", "w", ())
    assert d["weights"] == (1000, 100) and d["optimizer"] == (7000, 700)


def test_chip_side_is_the_simulated_step():
    """The chip side of the comparison is the simulator's DRAM bytes of the same step, kind
    by kind (the simulator is always part of neurosim: no stub here)."""
    from neurosim import api
    from neurosim.baselines.compare import compare

    c = compare("paper-20core", "mlp-digits")
    s = api.run("paper-20core", "mlp-digits").summary
    assert c.chip == {k: (s[f"dram_read_bytes_{k}"], s[f"dram_write_bytes_{k}"])
                      for k in TENSOR_KINDS}
    assert c.chip_energy_j == s["energy_dram_j"]


def test_gpu_only_with_measured_csv(tmp_path, capsys):
    f = tmp_path / "m.csv"
    f.write_text("# gpu: test\nindex,phase,kernel,dram_read_bytes,dram_write_bytes\n"
                 "0,FP,k,1000,2000\n1,BWD,k,10,20\n2,BWD,k,5,5\n3,UPD,k,1,1\n")
    m = load_measured(f)
    assert m.phases == {"FP": [1000, 2000], "BWD": [15, 25], "UPD": [1, 1]}
    assert m.meta == {"gpu": "test"} and m.total_bytes == 3042
    rc = main(["compare-gpu", "paper-20core", "vgg11-cifar10", "--gpu-only",
               "--gpu-measured", str(f)])
    assert rc == 0
    assert "GPU model vs measured" in capsys.readouterr().out


@pytest.mark.parametrize("text, match", [
    ("", "no rows"),
    ("phase,dram_read_bytes\nFP,1\n", "header: expected columns .*got 'no dram_write_bytes'"),
    ("phase,dram_read_bytes,dram_write_bytes\n", "at least one data row"),
    ("phase,dram_read_bytes,dram_write_bytes\nFWD,1,2\n", "row 2: phase: expected one of"),
    ("phase,dram_read_bytes,dram_write_bytes\nFP,1,-2\n",
     "row 2: dram_write_bytes: expected a non-negative integer"),
    ("phase,dram_read_bytes,dram_write_bytes\nFP,1.5,2\n", "row 2: dram_read_bytes"),
    ("phase,dram_read_bytes,dram_write_bytes\nALL,1,2\nFP,1,2\n", "ALL alone"),
])
def test_measured_csv_errors(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(InputError, match=match) as e:
        load_measured(f)
    assert "\n" not in str(e.value)


def test_measured_csv_missing_file_via_cli(tmp_path, cli):
    rc, out, err = cli("compare-gpu", "paper-20core", "vgg11-cifar10", "--gpu-only",
                       "--gpu-measured", tmp_path / "nope.csv")
    assert rc == 2 and "no such file" in err and err.count("\n") == 1


def test_shipped_measurements_load_and_model_is_compared():
    from neurosim.baselines.compare import compare

    c = compare("paper-20core", "vgg11-cifar10", "h100", "spikingjelly",
                measured_path=str(ROOT / "docs/data/gpu_measured/"
                                  "vgg11-cifar10__spikingjelly.csv"),
                gpu_only=True)
    rows = {r["phase"]: r for r in c.measured_rows()}
    assert set(rows) == {"FP", "BWD", "UPD", "total"}
    assert rows["total"]["measured_read"] + rows["total"]["measured_write"] == \
        c.measured.total_bytes
    assert rows["total"]["model_read"] + rows["total"]["model_write"] == c.gpu.total_bytes


def test_all_gpu_only_table(capsys):
    rc = main(["compare-gpu", "paper-20core", "--all", "--gpu-only", "--framework",
               "spikingjelly"])
    out = capsys.readouterr().out
    assert rc == 0 and "| vgg11-cifar10 | spikingjelly |" in out


def test_all_workloads_table_lists_a_workload_the_chip_cannot_hold(tmp_path):
    """--all on a chip that cannot hold a workload (as paper-20core and resnet18-imagenet)
    gives its row with the GPU model's bytes and "does not fit", not an error. mlp-digits'
    output layer fc2 needs 0.289 KiB of gradients in one part; 8 banks x 32 B = 0.25 KiB."""
    import shutil

    from neurosim.baselines.compare import all_workloads_markdown
    from neurosim.baselines.gpu import gpu_dram_traffic

    arch = tmp_path / "tiny.yaml"
    arch.write_text("extends: paper-20core\ncore: {sram: {gradients: {size_kib: 0.25}}}\n")
    (tmp_path / "w").mkdir()
    shutil.copy(ROOT / "workloads" / "mlp-digits.yaml", tmp_path / "w")
    text = all_workloads_markdown(str(arch), "a100-40gb", ["snntorch"],
                                  workload_dir=tmp_path / "w")
    row = text.splitlines()[-1]
    gpu = gpu_dram_traffic(str(ROOT / "workloads" / "mlp-digits.yaml"), "a100-40gb",
                           "snntorch").total_bytes
    assert row.startswith("| mlp-digits | snntorch |")
    assert f"| {gpu / 1e6:.1f} | does not fit (core.sram.gradients.size_kib) | - |" in row
