"""Energy model: hand-worked totals, one-entry sensitivity, table provenance, bad input."""
from collections import Counter

import pytest
import yaml

from neurosim.arch import load_arch
from neurosim.energy import compute, dense_flops, executed_flops, load_table
from neurosim.energy.derive import render, table_path
from neurosim.energy.scaling import scale_energy
from neurosim.errors import InputError
from neurosim.stats import StatGroup
from neurosim.timing import TimingResult
from neurosim.workload import build_network, load_workload

# Round per-action energies so the hand sum below is exact to read.
ROUND = {
    "add.fp16": 0.5, "mac.fp16": 1.5, "lif.fp16": 2.0, "reg.bit": 0.01,
    "sram.read_8kib": 0.1, "sram.read_32kib": 0.1, "sram.read_1024kib": 0.1,
    "sram.write_over_read": 2.0, "noc.router_bit": 0.05, "noc.link_bit_mm": 0.02,
    "noc.link_mm": 1.5, "dram.LPDDR4.read_pj_per_bit": 4.0,
    "dram.LPDDR4.write_pj_per_bit": 5.0, "dram.LPDDR4.act_pj": 1000.0,
    "dram.LPDDR4.ref_pj": 20000.0, "dram.LPDDR4.background_mw": 30.0,
    "dram.LPDDR4.device_bits": 16.0, "leak.sram_mw_per_kib": 0.001, "leak.core_mw": 2.0,
}

COUNTS = Counter({
    ("core0.fp", "add_ops"): 100, ("core0.fp", "neuron_updates"): 10,
    ("core0.fp", "scan_windows"): 4, ("core0.fp", "tiles"): 3,
    ("core0.bp", "mac_ops"): 30, ("core0.wg", "add_ops"): 40, ("core0.wg", "mac_ops"): 8,
    ("core0.sram.weights", "read_words"): 5, ("core0.sram.state", "write_words"): 2,
    ("core0.sram.spikes", "write_bits"): 512,
    ("noc", "router_flits"): 6, ("noc", "link_flits"): 4, ("noc", "packets"): 2,
    ("noc", "flits"): 6,
    ("dram.ch0", "read_bytes"): 64, ("dram.ch0", "read_bytes.weights"): 64,
    ("dram.ch0", "write_bytes"): 128, ("dram.ch0", "act"): 2, ("dram.ch0", "ref"): 1,
})


def tiny_network():
    wl = load_workload({"name": "tiny", "time_steps": 3, "batch": 2,
                        "network": {"input": {"shape": [4], "coding": "rate"},
                                    "layers": [{"type": "linear", "out": 3}]}})
    return build_network(wl)


def single_core(overrides=None, extra=()):
    sets = [f"energy.overrides={dict(overrides or ROUND)!r}"] + list(extra)
    return load_arch("single-core", sets)


# The buffer sizes the hand-worked leakage below assumes (pinned, so that a change of the
# shipped config's defaults cannot change this test's arithmetic).
SIZES = [f"core.sram.{b}.size_kib={k}" for b, k in
         (("weights", 1024), ("state", 256), ("spikes", 128), ("gradients", 256),
          ("wgrad", 1024))]


def test_hand_worked_total_entry_by_entry():
    arch = single_core(extra=SIZES)
    rep = compute(arch, tiny_network(), TimingResult(total_cycles=1000, counters=COUNTS))
    pj = 1e-12
    compute_pj = 100 * 0.5 + 10 * 2.0 + 4 * 64 * 0.01 + 30 * 1.5 + 40 * 0.5 + 8 * 1.5
    sram_pj = 5 * 256 * 0.1 + 2 * 256 * 0.1 * 2.0 + 512 * 0.1 * 2.0
    noc_pj = 6 * 128 * 0.05 + 4 * 128 * 0.02 * 1.5
    # LPDDR4 x32 channel = two x16 devices for ACT/REF energy.
    dram_pj = 64 * 8 * 4.0 + 128 * 8 * 5.0 + 2 * 1000.0 * 2 + 1 * 20000.0 * 2
    seconds = 1000 / 500e6
    sram_kib = 1024 + 256 + 128 + 256 + 1024
    leak_j = (sram_kib * 0.001 + 2.0) * 1e-3 * seconds
    standby_j = 2 * 30.0 * 1e-3 * seconds
    s = rep.summary
    assert compute_pj == 149.56 and sram_pj == 332.8 and dram_pj == 51168.0
    assert s["energy_compute_j"] == pytest.approx(compute_pj * pj, rel=1e-12)
    assert s["energy_sram_j"] == pytest.approx(sram_pj * pj, rel=1e-12)
    assert s["energy_noc_j"] == pytest.approx(noc_pj * pj, rel=1e-12)
    assert s["energy_dram_j"] == pytest.approx(dram_pj * pj + standby_j, rel=1e-12)
    assert s["energy_leakage_j"] == pytest.approx(leak_j, rel=1e-12)
    total = (compute_pj + sram_pj + noc_pj + dram_pj) * pj + leak_j + standby_j
    assert s["energy_j"] == pytest.approx(total, rel=1e-12)
    assert s["energy_j"] == pytest.approx(181080.12e-12, rel=1e-12)
    assert s["seconds"] == seconds and s["avg_power_w"] == pytest.approx(total / seconds)
    # FLOPs: executed = adds + 2*MACs + 2*LIF; dense = 2*(FP + WG MACs; BP skipped for a
    # layer reading the input) * batch * T.
    assert s["executed_flops"] == 100 + 2 * 10 + 2 * 30 + 40 + 2 * 8 == 236
    assert s["dense_flops"] == 2 * (12 + 12) * 2 * 3 == 288
    assert s["tflops_per_w_dense"] == pytest.approx(288 / total / 1e12)
    assert s["tflops_per_w_executed"] == pytest.approx(236 / total / 1e12)
    assert rep.by_engine["core0.bp"] == pytest.approx(45e-12)
    assert rep.by_phase["UPD"] == pytest.approx(12e-12)
    assert rep.dram_by_kind == {"weights": pytest.approx(64 * 8 * 4.0 * pj)}
    assert any("ACT/REF" in n for n in rep.notes) is False


@pytest.mark.parametrize("entry, counter, count_of_entry", [
    ("add.fp16", ("core0.fp", "add_ops"), 140),            # FP and WG adds
    ("mac.fp16", ("core0.bp", "mac_ops"), 38),              # BP and UPD MACs
    ("dram.LPDDR4.act_pj", ("dram.ch0", "act"), 2 * 2),     # 2 ACTs x 2 devices
    ("noc.router_bit", ("noc", "router_flits"), 6 * 128),   # flits x flit bits
])
def test_one_entry_changes_total_by_count_times_delta(entry, counter, count_of_entry):
    net = tiny_network()
    tr = TimingResult(total_cycles=1000, counters=COUNTS)
    base = compute(single_core(), net, tr).summary["energy_j"]
    changed = dict(ROUND)
    changed[entry] = ROUND[entry] + 0.25
    after = compute(single_core(changed), net, tr).summary["energy_j"]
    assert after - base == pytest.approx(count_of_entry * 0.25e-12, rel=1e-9)


def test_bundled_tables_are_what_derive_produces():
    for name in ("28nm", "28nm-hp"):
        assert table_path(name).read_text() == render(name)


def test_low_power_leakage_default_and_hp_alternative():
    """28nm (default) scales the CACTI itrs-hp RAM leakage by the lstp/hp off-current ratio
    of CACTI's 32 nm device table; 28nm-hp keeps the itrs-hp figure."""
    lp = load_table(load_arch("paper-20core"))
    hp = load_table(load_arch("paper-20core", ["energy.table=28nm-hp"]))
    hp_mean = (5.75335 / 8 + 3.11199 / 4) / 2  # mW/KiB of the two CACTI 28 nm RAMs
    assert hp["leak.sram_mw_per_kib"] == pytest.approx(hp_mean, abs=1e-6)
    ratio = (2.4e-10 + 3.73e-11) / (5.32e-07 + 6.55e-08)
    assert lp["leak.sram_mw_per_kib"] == pytest.approx(hp_mean * ratio, rel=1e-5)
    assert lp["add.fp16"] == hp["add.fp16"] and lp["leak.core_mw"] == 0.0


def test_node_scaling_back_to_45nm_gives_horowitz_figures():
    t = load_table(load_arch("paper-20core", ["chip.technology_nm=45"]))
    assert t["add.fp16"] == pytest.approx(0.4, rel=1e-5)
    assert t["mul.fp32"] == pytest.approx(3.7, rel=1e-5)
    assert t["sram.read_8kib"] * 64 == pytest.approx(10.0, rel=1e-5)
    assert t["dram.LPDDR4.read_pj_per_bit"] == load_table(load_arch("paper-20core"))[
        "dram.LPDDR4.read_pj_per_bit"]  # off-chip entries do not scale
    assert scale_energy(45, 28, 0.9) == pytest.approx(0.5066, abs=1e-4)


def test_sram_energy_follows_bank_size():
    t = load_table(load_arch("paper-20core"))
    assert t.sram_read_bit(32) == t["sram.read_32kib"]
    assert t["sram.read_32kib"] < t.sram_read_bit(64) < t["sram.read_1024kib"]
    assert t.sram_write_bit(32) == pytest.approx(t["sram.read_32kib"] * t["sram.write_over_read"])


def test_precision_picks_the_per_op_energy():
    net = tiny_network()
    tr = TimingResult(total_cycles=0, counters=Counter({("core0.fp", "add_ops"): 10,
                                                        ("core0.bp", "mac_ops"): 10}))
    for prec in ("fp16", "fp32", "int8", "int4"):
        arch = load_arch("single-core", [f"core.precision={prec}"])
        t = load_table(arch)
        got = compute(arch, net, tr, seconds=0.0).summary["energy_compute_j"]
        assert got == pytest.approx(10 * (t[f"add.{prec}"] + t[f"mac.{prec}"]) * 1e-12)


def test_wg_formats_pick_the_wg_and_update_energies():
    """WG adds are priced in core.wg.grad_precision, UPD multiply-adds in the update format
    (fp32 with fp32 accumulators or an fp32 master copy), the other engines in core.precision."""
    net = tiny_network()
    tr = TimingResult(total_cycles=0, counters=Counter({
        ("core0.fp", "add_ops"): 3, ("core0.wg", "add_ops"): 5, ("core0.wg", "mac_ops"): 7}))
    vals = {"add.fp16": 1.0, "add.fp32": 10.0, "mac.fp16": 100.0, "mac.fp32": 1000.0}
    cases = {(): 3 * 1 + 5 * 1 + 7 * 100,
             ("core.wg.grad_precision=fp32",): 3 * 1 + 5 * 10 + 7 * 1000,
             ("core.wg.master_weights=fp32",): 3 * 1 + 5 * 1 + 7 * 1000,
             ("core.wg.update_rounding=stochastic",): 3 * 1 + 5 * 1 + 7 * 100}
    for sets, want_pj in cases.items():
        arch = load_arch("single-core", [f"energy.overrides={vals!r}", *sets])
        got = compute(arch, net, tr, seconds=0.0).summary["energy_compute_j"]
        assert got == pytest.approx(want_pj * 1e-12)


def test_wg_formats_size_the_wgrad_chunks():
    from neurosim.arch import grad_bits, master_bits, update_precision, words_per_chunk

    a = load_arch("paper-20core")
    assert (grad_bits(a), master_bits(a), update_precision(a)) == (16, 0, "fp16")
    assert words_per_chunk(a, "wg", "wgrad") == 1  # 16 lanes x 16 bits = one 256-bit word
    b = load_arch("paper-20core", ["core.wg.grad_precision=fp32", "core.wg.master_weights=fp32"])
    assert (grad_bits(b), master_bits(b), update_precision(b)) == (32, 32, "fp32")
    assert words_per_chunk(b, "wg", "wgrad") == 2 and words_per_chunk(b, "bp", "weights") == 1
    with pytest.raises(InputError, match="core.wg.lanes"):
        load_arch("paper-20core", ["core.wg.grad_precision=fp32", "core.wg.lanes=256"])


def test_publish_has_units():
    g = StatGroup("chip")
    arch = single_core()
    compute(arch, tiny_network(), TimingResult(total_cycles=1000, counters=COUNTS)).publish(g)
    assert g["energy.total"].unit == "J" and g["energy.avg_power"].unit == "W"
    assert g["energy.tflops_per_w_dense"].unit == "TFLOPS/W"
    assert g.value("energy.by_engine")["core0.fp"] > 0


@pytest.mark.parametrize("key", [("core0.xx", "zap"), ("core0.fp", "zap"),
                                 ("core0.sram.nope", "read_bits"), ("noc", "hops"),
                                 ("dram.ch0", "act.weights"), ("core0.fp", "add_ops.x")])
def test_unknown_counter_is_an_error_not_silently_unpriced(key):
    from neurosim.counters import UnknownCounter

    with pytest.raises(UnknownCounter, match="is not in neurosim.counters"):
        compute(single_core(), tiny_network(),
                TimingResult(total_cycles=0, counters=Counter({key: 5})))


def test_every_registered_counter_has_a_unit_a_description_and_a_price():
    """The registry is what stats and energy iterate: each action has a unit and a
    description, each charged one an entry the bundled table has (a missing one would be a
    KeyError), and an action the registry charges nowhere costs nothing."""
    from neurosim.counters import COMPONENTS
    from neurosim.energy import Pricer, load_table

    arch = single_core()
    pricer = Pricer(arch, load_table(arch))
    paths = {"engine": "core0.fp", "sram": "core0.sram.weights", "noc": "noc",
             "dram": "dram.ch0"}
    for kind in COMPONENTS:
        for a in kind.actions.values():
            assert a.unit and a.description
            pr = pricer.price(paths[kind.kind], a.name, 1)
            assert pr.cls == kind.energy_class
            # (a charged action may cost 0 in a table: LPDDR4's PRE is inside its ACT)
            assert pr.pj >= 0 and (pr.pj == 0 or a.energy is not None), (kind.kind, a.name)


def test_counters_by_phase_and_layer_when_reported():
    arch = single_core()
    sub = Counter({("core0.fp", "add_ops"): 100, ("core0.sram.weights", "read_words"): 5})
    tr = TimingResult(total_cycles=0, counters=sub,
                      extra={"counters_by": {"phase": {"FP": sub}, "layer": {"linear_0": sub}}})
    rep = compute(arch, tiny_network(), tr, seconds=0.0)
    assert rep.by_phase["FP"] == pytest.approx((50 + 128) * 1e-12)
    assert rep.by_layer == {"linear_0": pytest.approx((50 + 128) * 1e-12)}


@pytest.mark.parametrize("sets, match", [
    (["energy.overrides={nope: 1.0}"], "energy.overrides.nope: expected a known"),
    (["energy.overrides={add.fp16: -1}"], "energy.overrides.add.fp16: expected a non-negative"),
    (["energy.overrides={add.fp16: abc}"], "energy.overrides.add.fp16"),
    (["energy.table=no-such-table"], "energy.table: expected a bundled table name"),
    (["dram.preset=null", "dram.channels=1", "dram.ranks=1", "dram.banks=8",
      "dram.bus_bits=32", "dram.data_rate_mtps=3200", "dram.burst_bytes=64",
      "dram.row_bytes=4096", "dram.timing_ns.tREFI=7800"] + [f"dram.timing_ns.{k}=10" for k in
                               ("tRCD", "tCL", "tCWL", "tRP", "tRAS", "tWR", "tRTP", "tCCD",
                                "tRRD", "tFAW", "tWTR", "tRFC")],
     "energy.dram_type"),
])
def test_bad_energy_config_is_one_line_input_error(sets, match):
    arch = load_arch("single-core", sets)
    with pytest.raises(InputError, match=match) as e:
        compute(arch, tiny_network(), TimingResult(total_cycles=1, counters=COUNTS))
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("--set" if "dram_type" not in match else "arch_configs")


def test_user_table_with_base(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump({"base": "28nm", "entries": {"add.fp16": 0.3}}))
    t = load_table(load_arch("single-core", [f"energy.table={p}"]))
    assert t["add.fp16"] == 0.3 and t["mac.fp16"] == load_table(load_arch("single-core"))[
        "mac.fp16"]
    p.write_text(yaml.safe_dump({"base": "28nm", "entries": {"add.fp17": 0.3}}))
    with pytest.raises(InputError, match="entries.add.fp17"):
        load_table(load_arch("single-core", [f"energy.table={p}"]))
    p.write_text(yaml.safe_dump({"entries": {"add.fp16": 0.3}}))
    with pytest.raises(InputError, match="missing"):
        load_table(load_arch("single-core", [f"energy.table={p}"]))


def test_dense_flops_counts_bp_only_where_the_engine_runs_it():
    wl = load_workload({"name": "two", "time_steps": 2, "batch": 1,
                        "network": {"input": {"shape": [8], "coding": "rate"},
                                    "layers": [{"type": "linear", "out": 4},
                                               {"type": "linear", "out": 2}]}})
    net = build_network(wl)
    # layer 1: 32 MACs, FP + WG; layer 2: 8 MACs, FP + BP + WG.
    assert dense_flops(net) == 2 * (32 * 2 + 8 * 3) * 1 * 2
    assert executed_flops(Counter({("core0.fp", "add_ops"): 3, ("noc", "flits"): 9})) == 3


def test_energy_table_cli(cli):
    rc, out, err = cli("energy", "table", "single-core", "--sources")
    assert rc == 0 and "add.fp16" in out and "horowitz2014" in out and "weights" in out
    rc, out, err = cli("energy", "table", "--set", "energy.overrides={zz: 1}")
    assert rc == 2 and err.count("\n") == 1 and "energy.overrides.zz" in err
