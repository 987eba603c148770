"""Arch config loading: extends, presets, --set overrides, derived values."""
import pytest

from neurosim.arch import dram_timing_cycles, load_arch, ns_to_cycles, words_per_chunk
from neurosim.errors import InputError
from neurosim.memsys.topology import Mesh


def test_shipped_configs_load():
    paper = load_arch("arch_configs/paper-20core.yaml")
    assert paper.chip.cores == 20
    assert (paper.chip.mesh.cols, paper.chip.mesh.rows) == (5, 4)
    assert paper.core.fp.lanes == 32 and paper.core.bp.lanes == 16
    single = load_arch("single-core")
    assert single.chip.cores == 1 and single.core.fp.lanes == 32  # inherited
    fpga = load_arch("fpga-20core")
    assert fpga.chip.clock_mhz == 100.0 and fpga.dram.bus_bits == 64  # DDR4 preset


def test_extends_chain_and_override(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("extends: paper-20core\ncore: {fp: {lanes: 8}}\n")
    b = tmp_path / "b.yaml"
    b.write_text("extends: a.yaml\nchip: {cores: 4}\n")
    cfg = load_arch(b)
    assert cfg.core.fp.lanes == 8 and cfg.chip.cores == 4 and cfg.core.bp.lanes == 16


def test_extends_cycle_is_an_input_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(InputError, match="extends"):
        load_arch(tmp_path / "a.yaml")


def test_set_overrides_any_key():
    cfg = load_arch("paper-20core", ["core.fp.lanes=64", "noc.model=cycle",
                                     "chip.mesh.cols=8", "dram.timing_ns.tCL=20"])
    assert cfg.core.fp.lanes == 64 and cfg.noc.model == "cycle"
    assert cfg.chip.mesh.cols == 8 and cfg.dram.timing_ns.tCL == 20.0


def test_dram_preset_fills_keys_and_config_wins():
    cfg = load_arch("paper-20core", ["dram.preset=HBM2"])
    assert cfg.dram.bus_bits == 64 and cfg.dram.burst_bytes == 32
    assert cfg.dram.channels == 2  # paper-20core sets channels itself


def test_derived_values():
    cfg = load_arch("paper-20core")
    assert ns_to_cycles(cfg, 18.0) == 9  # 18 ns at 500 MHz
    assert ns_to_cycles(cfg, 17.5) == 9  # rounded up
    t = dram_timing_cycles(cfg)
    assert t["tBURST"] == 3  # 64 B / (4 B * 3200 MT/s) = 5 ns -> 2.5 -> 3 cycles
    assert words_per_chunk(cfg, "fp", "weights") == 2  # 32 lanes * 16 b / 256 b
    assert words_per_chunk(cfg, "bp", "weights") == 1
    mesh = Mesh.of(cfg)  # 5 columns: node 7 = (7 mod 5, 7 div 5)
    assert mesh.xy(7) == (2, 1) and mesh.node(2, 1) == 7


@pytest.mark.parametrize("override, key", [
    ("chip.cores=0", "chip.cores"),
    ("chip.cores=21", "chip.cores"),
    ("core.fp.lanes=0", "core.fp.lanes"),
    ("core.fp.lanes=-3", "core.fp.lanes"),
    ("core.fp.lanes=2.5", "core.fp.lanes"),
    ("core.fp.lanes=many", "core.fp.lanes"),
    ("core.fp.lanez=4", "core.fp.lanez"),
    ("core.sram.state.size_kib=0.01", "core.sram.state.size_kib"),
    ("core.sram.weights.width_bits=8", "core.sram.weights.width_bits"),
    ("core.fp.lanes=1024", "core.fp.lanes"),
    ("noc.model=wormhole", "noc.model"),
    ("dram.preset=DDR9", "dram.preset"),
    ("dram.channels=3", "dram.channels"),
    ("chip.dram_nodes=[[9, 9]]", "chip.dram_nodes[0]"),
    ("chip.clock_mhz=0", "chip.clock_mhz"),
    ("schedule.layer_pipeline=maybe", "schedule.layer_pipeline"),
])
def test_bad_overrides_name_the_key(override, key):
    with pytest.raises(InputError) as e:
        load_arch("paper-20core", [override])
    assert e.value.key == key
    assert "\n" not in str(e.value)


def test_cli_main_can_run_twice_in_one_process(capsys):
    from neurosim.cli import main

    assert main(["config", "show", "single-core"]) == 0
    assert main(["config", "show", "single-core"]) == 0
    assert capsys.readouterr().out.count("name: single-core") == 2


def test_set_switches_a_one_of_section():
    """``traces.source`` selects the traces section's variant: switching it from --set drops
    the old variant's keys (mlp-digits' trainer keys such as traces.dataset), keeps the ones
    the new variant declares (seed) and lets later overrides set the rest."""
    from neurosim.workload import load_workload

    wl = load_workload("mlp-digits", ["traces.source=synthetic", "traces.firing=0.2"])
    assert wl.traces.source == "synthetic" and wl.traces.firing == 0.2
    assert "dataset" not in wl.traces and wl.traces.seed == 0
    same = load_workload("mlp-digits", ["traces.source=trainer", "traces.epochs=3"])
    assert same.traces.dataset == "digits" and same.traces.epochs == 3
    with pytest.raises(InputError, match=r"^--set: traces.firing"):
        load_workload("mlp-digits", ["traces.firing=0.2"])   # not a trainer key


def test_a_derived_value_is_computed_once_per_config_and_a_failed_check_again():
    cfg = load_arch("paper-20core")
    calls = []
    assert cfg.derived(lambda c: calls.append(c) or 7) == 7
    fn = lambda c: calls.append(c) or 8  # noqa: E731
    assert cfg.derived(fn) == 8 and cfg.derived(fn) == 8 and len(calls) == 2
    t = dram_timing_cycles(cfg)
    t["tCL"] = -1                       # the caller's copy: the next call is unchanged
    assert dram_timing_cycles(cfg)["tCL"] > 0
    assert load_arch("paper-20core").derived(fn) == 8 and len(calls) == 3  # per config
    from neurosim.arch import check_arch
    from neurosim.params import Config
    d = cfg.to_dict()
    d["noc"]["st_final_delay"] = d["noc"]["st_prepare_delay"] = 0
    bad = Config(d)
    for _ in range(2):                  # a check that raised is not remembered as passed
        with pytest.raises(InputError, match="st_final_delay"):
            check_arch(bad)


def test_a_config_can_be_pickled_and_copied():
    """(Both used to recurse without end in __getattr__.)"""
    import copy
    import pickle
    cfg = load_arch("paper-20core", ["chip.cores=4"])
    dram_timing_cycles(cfg)
    for other in (pickle.loads(pickle.dumps(cfg)), copy.deepcopy(cfg), copy.copy(cfg)):
        assert other.to_dict() == cfg.to_dict() and other.chip.cores == 4
        assert other.source_of("chip.cores") == "--set" and other.origin == cfg.origin
        assert dram_timing_cycles(other) == dram_timing_cycles(cfg)
