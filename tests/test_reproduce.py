"""The paper-reproduction job: its report carries the simulated numbers, not typed ones."""
import json

import pytest

from neurosim import api
from neurosim.experiments import reproduce as reproduce_module
from neurosim.experiments import sensitivity


@pytest.mark.long
def test_reproduce_report_carries_the_simulated_numbers(monkeypatch, tmp_path):
    """The fast variant of the test below: the same job on mlp-digits alone (as the flagship,
    so the parallelism runs happen too), without the federated part, with the sensitivity
    study's quick variant, its five simulations in two worker processes: each gives what the
    same run gives in this process."""
    monkeypatch.setattr(reproduce_module, "FLAGSHIP", "mlp-digits")
    monkeypatch.setattr(reproduce_module, "QUICK_WORKLOADS", ("mlp-digits",))
    rep = reproduce_module.reproduce("paper-20core", quick=True, federated=False,
                                     progress=lambda m: None, jobs=2)
    direct = api.run("paper-20core", "mlp-digits").summary
    got = rep.workloads["mlp-digits"]
    assert list(rep.workloads) == ["mlp-digits"]
    assert (got["total_cycles"], got["energy_j"]) == (direct["total_cycles"], direct["energy_j"])
    want = direct["dense_flops"] / (direct["energy_j"] - direct["energy_dram_j"]) / 1e12
    assert abs(got["tflops_per_w_on_chip"] - want) < 1e-12 * want
    par = rep.parallelism
    assert par["cycles"] == direct["total_cycles"]
    assert par["engine_parallelism_speedup"] == (par["cycles_no_engine_parallelism"]
                                                 / par["cycles"])
    assert {r["framework"] for r in rep.gpu_rows} == {"spikingjelly", "snntorch"}
    for r in rep.gpu_rows:
        assert r["chip_bytes"] == direct["dram_read_bytes"] + direct["dram_write_bytes"]
    written = reproduce_module.write_outputs(rep, tmp_path, "neurosim reproduce")
    report = (tmp_path / "report.md").read_text()
    assert f"{direct['total_cycles']:,} cycles" in report
    area = report[report.index("## The chip's area"):report.index("## Training steps")]
    assert "`neurosim area paper-20core`" in area and "of which SRAM" in area
    assert f"{direct['area_mm2']:.3g} mm2" in area   # 27.7 mm2 for paper-20core
    assert {p.name for p in written} >= {"report.md", "results.json", "sensitivity-sram.png"}
    # the study: 1/4 of paper-20core's buffers (200 KiB per core) and the config's own
    rows = rep.sensitivity
    assert [(r["dimension"], r["value"], r["default"]) for r in rows] == [
        ("sram", 200, False), ("sram", 800, True)]
    # it fits, so the placement is the same with either memory model
    small = api.run("paper-20core", "mlp-digits",
                    ["chip.area_budget_mm2=null", "core.sram.weights.size_kib=32", "core.sram.state.size_kib=8",
                     "core.sram.spikes.size_kib=16", "core.sram.gradients.size_kib=80",
                     "core.sram.wgrad.size_kib=64", "noc.model=ideal",
                     "dram.model=ideal"]).summary
    assert rows[0]["dram_bytes"] == small["dram_read_bytes"] + small["dram_write_bytes"]
    assert (rows[0]["total_cycles"], rows[0]["tflops_per_w_dense"], rows[0]["area_mm2"]) == (
        small["total_cycles"], small["tflops_per_w_dense"], small["area_mm2"])
    # the mapper, not the memory model, decides what spills: the default point's DRAM bytes
    # with the ideal memory are the cycle-level run's
    assert rows[1]["dram_bytes"] == direct["dram_read_bytes"] + direct["dram_write_bytes"]
    assert rows[1]["area_mm2"] == direct["area_mm2"]
    # mlp-digits stays in the A100's L2 in the GPU model: no reduction to compare
    assert rows[0]["gpu_bytes_spikingjelly"] == 0 and rows[0]["reduction_pct_spikingjelly"] is None
    assert {c["claim"] for c in rep.claim_regions} == {c.name for c in sensitivity.CLAIMS}
    study = report[report.index("## Where the claims hold"):report.index("## FLOP-counting")]
    assert "| 1.05 TFLOPS/W at FP16 (dense-equivalent) | >= 1.05 TFLOPS/W | mlp-digits | sram |" \
        in study
    assert f"| mlp-digits | sram | 200 |  | {small['dram_read_bytes'] / 1e6:.3g} |" in study
    assert "![sram](sensitivity-sram.png)" in study
    flops = report[report.index("## FLOP-counting"):report.index("## Where ours differ")]
    assert "`dense_flops`" in flops and "`executed_flops`" in flops


def test_a_workload_the_chip_cannot_hold_is_a_row_not_an_error(monkeypatch, tmp_path):
    # mlp-digits' output layer fc2 needs 0.289 KiB of gradients in one part; 8 banks x 32 B
    # = 0.25 KiB cannot hold it (as resnet18-imagenet's spikes on paper-20core)
    arch = tmp_path / "tiny.yaml"
    arch.write_text("extends: paper-20core\ncore: {sram: {gradients: {size_kib: 0.25}}}\n")
    monkeypatch.setattr(reproduce_module, "QUICK_WORKLOADS", ("mlp-digits",))
    rep = reproduce_module.reproduce(str(arch), quick=True, federated=False,
                                     sensitivity=False, progress=lambda m: None)
    assert rep.workloads == {} and rep.gpu_rows == []
    assert "core.sram.gradients.size_kib" in rep.does_not_fit["mlp-digits"]
    reproduce_module.write_outputs(rep, tmp_path / "o", "neurosim reproduce")
    report = (tmp_path / "o" / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| mlp-digits |"))
    assert "does not fit" in row and row.count("|") == 12   # the table's 11 columns
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    assert res["does_not_fit"] == rep.does_not_fit


@pytest.mark.slow
def test_reproduce_quick_matches_direct_runs(cli, tmp_path):
    # on paper-20core-85mib, where VGG-11 fits (minutes, not the edge chip's half hour)
    rc, out, err = cli("reproduce", "paper-20core-85mib", "--quick", "--workloads",
                       "vgg11-cifar10", "--out", tmp_path)
    assert rc == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "report.md").read_text()
    direct = api.run("paper-20core-85mib", "workloads/vgg11-cifar10.yaml").summary
    got = res["workloads"]["vgg11-cifar10"]
    assert got["total_cycles"] == direct["total_cycles"]
    assert got["energy_j"] == direct["energy_j"]
    assert f"{direct['total_cycles']:,} cycles" in report
    # on-chip efficiency = dense FLOPs / (energy - DRAM energy)
    want = direct["dense_flops"] / (direct["energy_j"] - direct["energy_dram_j"]) / 1e12
    assert abs(got["tflops_per_w_on_chip"] - want) < 1e-12 * want
    # the parallelism row comes from the two extra runs
    par = res["parallelism"]
    assert par["engine_parallelism_speedup"] == (par["cycles_no_engine_parallelism"]
                                                 / par["cycles"])
    assert par["cycles"] == direct["total_cycles"]
    rows = [r for r in res["gpu_comparison"] if r["workload"] == "vgg11-cifar10"]
    assert {r["framework"] for r in rows} == {"spikingjelly", "snntorch"}
    for r in rows:
        assert r["chip_bytes"] == direct["dram_read_bytes"] + direct["dram_write_bytes"]
        assert abs(r["reduction_pct"] - 100 * (1 - r["chip_bytes"] / r["gpu_bytes"])) < 1e-9


def test_reproduce_bad_arch_is_one_line(cli, tmp_path):
    rc, out, err = cli("reproduce", tmp_path / "nope.yaml", "--out", tmp_path / "o")
    assert rc == 2 and err.count("\n") == 1 and "nope.yaml" in err
    assert not (tmp_path / "o").exists()


def test_reproduce_jobs_below_one_is_one_line(cli, tmp_path):
    rc, out, err = cli("reproduce", "--jobs", "0", "--out", tmp_path / "o")
    assert rc == 2 and err.count("\n") == 1 and "--jobs" in err
    assert not (tmp_path / "o").exists()


def test_reproduce_unknown_workload_is_one_line(cli, tmp_path):
    rc, out, err = cli("reproduce", "--workloads", "mlp-digits,nope", "--out", tmp_path / "o")
    assert rc == 2 and err.count("\n") == 1 and "--workloads" in err and "nope" in err
    assert not (tmp_path / "o").exists()
