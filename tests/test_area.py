"""The area model (docs/area.md): a hand-worked small config, sources of every per-unit
figure, node scaling, budgets as one-line input errors, area in the run outputs, and the
`neurosim area` command."""
import json
import re
from pathlib import Path

import pytest
import yaml

from neurosim import api
from neurosim.arch import load_arch
from neurosim.area import compute_area, fpga_parts, load_area_table
from neurosim.area.table import bundled_raw

from test_bad_inputs_cli import assert_one_line_error
from test_run_cli import TINY, write

# One core on a 1x1 mesh whose five buffers are each one bank at a CACTI grid point (256-bit
# words, one port), so every SRAM figure is a table value read off, not an interpolation.
SMALL = {
    "extends": "paper-20core",
    "chip": {"cores": 1, "mesh": {"cols": 1, "rows": 1}, "dram_nodes": [[0, 0]]},
    "core": {
        "fp": {"lanes": 2, "pipeline_depth": 1, "scan_width": 4, "neuron_lanes": 1},
        "bp": {"lanes": 1, "pipeline_depth": 1, "scan_width": 4},
        "wg": {"lanes": 1, "pipeline_depth": 1, "scan_width": 4},
        "sram": {
            "weights": {"size_kib": 64, "banks": 1},
            "state": {"size_kib": 8, "banks": 1},
            "spikes": {"size_kib": 16, "banks": 1},
            "gradients": {"size_kib": 32, "banks": 1},
            "wgrad": {"size_kib": 128, "banks": 1},
        },
    },
    "dram": {"channels": 1},
}


def small_arch(tmp_path, **chip):
    data = json.loads(json.dumps(SMALL))
    data["chip"].update(chip)
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_hand_worked_area_of_a_small_config(tmp_path):
    rep = compute_area(load_arch(small_arch(tmp_path)))
    c = rep.components
    # SRAM, one bank each, CACTI 7 28 nm 256-bit 1-port points (mm2):
    # 64 KiB 0.0770453 + 8 KiB 0.0119315 + 16 KiB 0.0229616 + 32 KiB 0.0400426
    # + 128 KiB 0.183505 = 0.3354860
    assert c["core0.sram.weights"] == pytest.approx(0.0770453)
    assert c["core0.sram.wgrad"] == pytest.approx(0.183505)
    assert rep.by_class["sram"] == pytest.approx(0.3354860)
    # logic (um2): FP16 add 526.54, mul 634.94, DFF 1.7507, MUX2 0.72089
    #   FP lanes 2 x 526.54 = 1053.08
    #   BP lane 1 x (634.94 + 526.54) = 1161.48; WG lane the same (FP16 update) = 1161.48
    #   LIF unit 1 x (634.94 + 2 x 526.54) = 1688.02
    #   scan, 3 engines: 4 bits x (1.7507 + log2(4)=2 x 0.72089) = 12.76992 each = 38.30976
    #   pipelines: FP 2 lanes x 1 stage x 16 bits x 1.7507 = 56.0224, BP and WG 28.0112 each
    #   total 5214.41456 um2
    assert c["core0.fp.scan"] == pytest.approx(12.76992e-6)
    assert rep.by_class["logic"] == pytest.approx(5214.41456e-6)
    # NoC, one router of 5 ports, 1 VC, 4 flits of 128 bits:
    #   buffers 5 x 1 x 4 x 128 x 1.7507 = 4481.792; crossbar 5 x 4 x 128 x 0.72089 =
    #   1845.4784; allocators 5 outputs x (5 x 4 / 2 = 10 matrix-arbiter bits) x 1.7507 =
    #   87.535; total 6414.8054 um2
    assert rep.by_class["noc"] == pytest.approx(6414.8054e-6)
    # DRAM I/O, one LPDDR4-3200 x32 channel: pins 4 bytes x 11 + 2 x16 halves x 10 = 64;
    #   per pin (f = 1600 MHz, Ron 40): 0.01 + 0.5/40 + (8e-5*1600 + 3e-8*1600^2
    #   + 8e-12*1600^3)/40 = 0.0225 + 0.237568/40 = 0.0284392 mm2; x 64 = 1.8201088
    assert rep.by_class["dram_io"] == pytest.approx(1.8201088)
    # total 0.3354860 + 0.00521441456 + 0.0064148054 + 1.8201088 = 2.1672240
    assert rep.total_mm2 == pytest.approx(2.1672240, rel=1e-6)
    assert rep.by_core["core0"] == pytest.approx(0.3354860 + 0.00521441456)


def test_sram_between_grid_points_interpolates_log_log():
    t = load_area_table(load_arch("paper-20core"))
    lo, hi = t.sram_bank_mm2(64, 256, 1), t.sram_bank_mm2(128, 256, 1)
    mid = t.sram_bank_mm2(90.5, 256, 1)          # ~sqrt(64 * 128): the geometric middle
    assert lo < mid < hi
    assert mid == pytest.approx((lo * hi) ** 0.5, rel=1e-3)
    # halfway in width between the 256- and 512-bit points: the mean of the two
    assert t.sram_bank_mm2(64, 384, 1) == pytest.approx((0.0770453 + 0.0859879) / 2)
    # more ports than the grid: linear per port from two ports
    assert t.sram_bank_mm2(64, 256, 4) == pytest.approx(2 * 0.161622)


def test_every_per_unit_entry_has_a_source():
    raw = bundled_raw("28nm")
    sources = raw["sources"]
    for name, e in raw["entries"].items():
        assert e.get("source") in sources, name
        assert e.get("unit") and e.get("class") and e.get("derivation"), name
    assert raw["sram_banks"]["source"] in sources
    for key in sources:                                   # and every source is used
        used = [e["source"] for e in raw["entries"].values()] + [raw["sram_banks"]["source"]]
        assert key in used, key
    parts = fpga_parts()
    assert parts["source"] and parts["parts"]
    doc = (Path(__file__).resolve().parent.parent / "docs" / "area.md").read_text()
    for key in sources:                                   # docs/area.md cites each one
        assert key in doc, key


def test_node_scaling_quarter_at_14nm_io_unchanged():
    a28 = compute_area(load_arch("paper-20core"))
    a14 = compute_area(load_arch("paper-20core", ["chip.technology_nm=14"]))
    # (14/28)^2 = 0.25 for logic and SRAM; DRAM I/O is sized by the board, not the node
    assert a14.by_class["sram"] == pytest.approx(0.25 * a28.by_class["sram"])
    assert a14.by_class["logic"] == pytest.approx(0.25 * a28.by_class["logic"])
    assert a14.by_class["dram_io"] == pytest.approx(a28.by_class["dram_io"])


def test_timing_models_never_import_the_area_model():
    root = Path(__file__).resolve().parent.parent / "neurosim"
    for pkg in ("hw", "reference", "validation"):
        for f in (root / pkg).rglob("*.py"):
            assert not re.search(r"(from|import)\s+(\.\.|neurosim\.)area\b", f.read_text()), f


def test_area_budget_exceeded_is_one_line_input_error(cli, tmp_path):
    f = tmp_path / "over.yaml"
    f.write_text("extends: paper-20core\nchip: {area_budget_mm2: 20}\n")
    rc, _, se = cli("config", "show", f)
    assert_one_line_error(rc, se, "over.yaml", "chip.area_budget_mm2")
    total = compute_area(load_arch("paper-20core")).total_mm2   # 27.68 mm2
    assert "20 mm2" in se and f"{total:.2f} mm2" in se
    rc, _, se = cli("run", "paper-20core", "workloads/mlp-digits.yaml",
                    "--set", "chip.area_budget_mm2=20")
    assert_one_line_error(rc, se, "--set", "chip.area_budget_mm2")


def test_fpga_part_memory_exceeded_is_one_line_input_error(cli, tmp_path):
    f = tmp_path / "fpga.yaml"
    f.write_text("extends: paper-20core-85mib\nfpga: {part: xcvu13p}\n")
    rc, _, se = cli("config", "show", f)
    assert_one_line_error(rc, se, "fpga.yaml", "fpga.part")
    # 20 cores x 4352 KiB x 8 = 680 Mib > 2688 x 36 + 1280 x 288 Kib = 454.5 Mib
    assert "454.5 Mib" in se and "680 Mib" in se
    rc, _, se = cli("config", "show", f, "--set", "fpga.part=xc7z020")
    assert_one_line_error(rc, se, "--set", "fpga.part")


def test_configs_within_their_budgets_load():
    paper = load_arch("paper-20core")
    assert paper.chip.area_budget_mm2 == 40
    assert compute_area(paper).total_mm2 <= paper.chip.area_budget_mm2
    # 20 x 800 KiB x 8 = 125 Mib <= 2160 x 36 + 960 x 288 Kib = 345.9 Mib of an xcvu9p
    assert load_arch("fpga-20core").fpga.part == "xcvu9p"
    # the first versions' chip keeps no budget: 122 mm2
    assert load_arch("paper-20core-85mib").chip.area_budget_mm2 is None


def test_paper_20core_sram_within_the_comparable_chips_range():
    # docs/area.md section 5: the multi-core chips hold 3.4 MB (Tianjic) to 51 MiB
    # (TrueNorth) of SRAM; paper-20core 20 x 800 KiB = 15.6 MiB
    doc = (Path(__file__).resolve().parent.parent / "docs" / "area.md").read_text()
    assert "3.4 MB to 51 MiB" in doc
    total = 20 * sum(load_arch("paper-20core").core.sram[b].size_kib
                     for b in ("weights", "state", "spikes", "gradients", "wgrad")) * 1024
    assert 3.4e6 <= total <= 51 * 2 ** 20
    assert total == 800 * 1024 * 20


def test_run_outputs_carry_the_area(cli, tmp_path):
    wl = write(tmp_path, TINY)
    out = tmp_path / "out"
    rc, _, se = cli("run", "single-core", wl, "--out", out)
    assert rc == 0, se
    summary = json.loads((out / "summary.json").read_text())
    expected = compute_area(load_arch("single-core"))
    assert summary["area_mm2"] == pytest.approx(expected.total_mm2)
    assert summary["area_sram_mm2"] == pytest.approx(expected.by_class["sram"])
    stats = json.loads((out / "stats.json").read_text())["chip"]["area"]
    assert stats["total"]["unit"] == "mm2"
    assert stats["by_component"]["value"]["core0.sram.weights"] == pytest.approx(
        expected.components["core0.sram.weights"])
    assert api.run("single-core", str(wl)).area.total_mm2 == pytest.approx(expected.total_mm2)


def test_area_command_prints_components_and_sources(cli):
    rc, so, se = cli("area", "paper-20core", "--sources")
    assert rc == 0, se
    total = compute_area(load_arch("paper-20core")).total_mm2
    assert f"{total:.2f} mm2" in so
    for part in ("sram.weights", "fp.lanes", "fp.neuron_units", "bp.scan", "wg.pipeline"):
        assert part in so
    raw = bundled_raw("28nm")
    for name in raw["entries"]:
        assert name in so, name
    for key in raw["sources"]:
        assert f"  {key}: " in so, key
    assert "chip.area_budget_mm2: 40 mm2" in so
