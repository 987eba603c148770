"""Workload modes (docs/microarchitecture.md 3.6): inference, input_gradient and repeats --
hand-worked schedules on both timing models, the mapper's tensors, trace sources, reports,
the GPU baseline and the shipped mode workloads."""
from pathlib import Path

import numpy as np
import pytest

from neurosim import api
from neurosim.errors import InputError
from neurosim.hw.chip import simulate as event_driven
from neurosim.mapping import part_tensors
from neurosim.reference import simulate as reference
from neurosim.workload.trace import input_gradient_density, popcount

from handcases import SMALL, arch, network, one_core_case, trace

ROOT = Path(__file__).resolve().parent.parent
MODE_WORKLOADS = sorted((ROOT / "workloads" / "modes").glob("*.yaml"))


@pytest.fixture(params=[event_driven, reference], ids=["hw", "reference"])
def model(request):
    return request.param


def spans(res):
    return {(t.kind, t.b, t.t): (t.ready, t.start, t.end) for t in res.tiles}


def test_inference_runs_fp_only_and_admits_without_waiting(model):
    """one_core_case in inference: FP tiles only (lengths as in train: 4, 3, 3, 9), no
    LOSS/BP/WG/UPD; with samples_in_flight 1 the FP of sample 1 still starts at 7 (train:
    19, after WG(0,0)), since no state is kept for a backward pass. Total 4+3+3+9 = 19."""
    for opt in ((), ("schedule.samples_in_flight=1",)):
        res = one_core_case(model, *opt, mode="inference")
        assert spans(res) == {("FP", 0, 0): (0, 0, 4), ("FP", 0, 1): (4, 4, 7),
                              ("FP", 1, 0): (7, 7, 10), ("FP", 1, 1): (10, 10, 19)}
        assert res.total_cycles == 19
        assert not any(a == "mac_ops" for (_, a) in res.counters)


def test_input_gradient_runs_the_first_layers_transposed_phase(model):
    """one_core_case in input_gradient with samples_in_flight 1 (no engine overlap, so no
    bank conflicts). o reads only the input, yet its transposed phase runs (spec 3.6): BP =
    fill 1 + delta 1 + one scan window of the 4 g(U) bits (scan width 8), each nonzero delta
    ceil(n_in 8 / lanes 4) = 2 chunks: (0,1) gu {0,3} -> 1+1+4 = 6, (1,0) gu {1} -> 1+1+2 =
    4, empty -> 1+1+1 = 3. FP 0-4, 4-7; LOSS(0) 7-10 (1 + 2*ceil(4/4)); BP(0,1) 10-16,
    BP(0,0) 16-19; FP(1,0) admitted when sample 0's BP ends: 19-22, FP(1,1) 22-31; LOSS(1)
    31-34, BP(1,1) 34-37, BP(1,0) 37-41. No WG, no UPD; total 41."""
    res = one_core_case(model, "schedule.samples_in_flight=1", mode="input_gradient")
    assert spans(res) == {
        ("FP", 0, 0): (0, 0, 4), ("FP", 0, 1): (4, 4, 7),
        ("FP", 1, 0): (19, 19, 22), ("FP", 1, 1): (22, 22, 31),
        ("LOSS", 0, -1): (7, 7, 10), ("BP", 0, 1): (10, 10, 16), ("BP", 0, 0): (16, 16, 19),
        ("LOSS", 1, -1): (31, 31, 34), ("BP", 1, 1): (34, 34, 37), ("BP", 1, 0): (37, 37, 41)}
    assert res.total_cycles == 41
    assert sum(t.bank_stalls for t in res.tiles) == 0
    # transposed MACs: 3 nonzero deltas x 2 chunks x 4 lanes = 24; LOSS 2*4 per sample = 16;
    # delta phase 4 neurons x 4 tiles = 16
    assert res.counters[("core0.bp", "mac_ops")] == 24 + 16 + 16
    assert not [m for m in res.messages if m.kind == "grad"]   # g(input) stays in GS


def test_modes_agree_between_models_with_two_cores():
    """A two-layer network on two cores in each mode: the models agree tile for tile and
    message for message (the differential test draws modes at random as well)."""
    cfg = arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1",
               "noc.ideal_latency=2")
    from handcases import part, placement
    for mode in ("inference", "input_gradient"):
        net = network([{"name": "h", "type": "linear", "out": 6},
                       {"name": "o", "type": "linear", "out": 4}], [8], T=2, batch=1,
                      mode=mode)
        tr = trace(net, {"h": {"in": {0, 5}, "out": {2}, "gu": {1, 4}},
                         "o": {"in": {2}, "gu": {1}}})
        pl = placement({"h": [part("h", 0, 0, 0, 6)], "o": [part("o", 0, 1, 0, 4)]})
        a, b = event_driven(cfg, net, tr, pl), reference(cfg, net, tr, pl)
        def records(res):
            return {t.key: (t.ready, t.start, t.end, t.delta_end) for t in res.tiles}

        assert records(a) == records(b) and a.total_cycles == b.total_cycles
        assert sorted((m.tag, m.send, m.available) for m in a.messages) == \
            sorted((m.tag, m.send, m.available) for m in b.messages)
        kinds = {t.kind for t in a.tiles}
        assert kinds == ({"FP"} if mode == "inference" else {"FP", "LOSS", "BP"})


def test_mapper_keeps_the_tensors_of_the_mode():
    cfg = arch()
    for mode, first, second in (
            ("train", {"W", "GW", "M", "U", "saved", "saved_in", "GU"},    # momentum, root
             {"W", "GW", "M", "U", "saved", "saved_in", "GU", "GS"}),
            ("inference", {"W", "U"}, {"W", "U"}),
            ("input_gradient", {"W", "U", "saved", "GU", "GS"},
             {"W", "U", "saved", "GU", "GS"})):
        net = network([{"name": "h", "type": "linear", "out": 6},
                       {"name": "o", "type": "linear", "out": 4}], [8], mode=mode)
        got = [set(part_tensors(cfg, net, l, 2, True, True, False)) for l in net.layers]
        assert got == [first, second], mode


def _wl(mode="train", **extra):
    d = {"name": "m", "time_steps": 3, "batch": 2, "mode": mode,
         "network": {"input": {"shape": [12], "coding": "rate"},
                     "layers": [{"name": "h", "type": "linear", "out": 8},
                                {"name": "o", "type": "linear", "out": 3}]},
         "traces": {"source": "synthetic", "seed": 3, "input_density": 0.5,
                    "firing": 0.3, "gradient": 0.4}}
    d.update(extra)
    return d


def test_mode_and_repeats_are_checked_at_load():
    with pytest.raises(InputError, match="mode"):
        api.load_workload(_wl("predict"))
    for bad in (_wl("train", repeats=4), _wl("input_gradient", repeats=2)):
        with pytest.raises(InputError, match="repeats"):
            api.load_workload(bad)
    direct = _wl("inference", repeats=2)
    direct["network"]["input"]["coding"] = "direct"
    with pytest.raises(InputError, match="repeats"):
        api.load_workload(direct)
    wl = api.load_workload(_wl("inference", repeats=4))
    net = api.build_network(wl)
    assert (net.batch, net.mode) == (8, "inference")      # batch x repeats samples


def test_synthetic_traces_by_mode():
    inf = api.get_traces(api.load_workload(_wl("inference", repeats=4)))
    assert inf.batch == 8
    for lt in inf.layers:
        assert popcount(lt.gu_mask).sum() == 0 and popcount(lt.sg_mask).sum() == 0
        assert popcount(lt.out_spikes).sum() > 0
    ig = api.get_traces(api.load_workload(_wl("input_gradient")))
    tr = api.get_traces(api.load_workload(_wl("train")))
    assert ig.equals(tr) and not inf.equals(tr)   # input_gradient draws as train does


def test_input_gradient_density_by_hand():
    """Linear first layer: all n_in entries are written at a (b, t) with any nonzero g(U):
    one of the 2 x 2 (b, t) has one -> 1/4. Conv 3x3 (padding 1) on 4x4, a delta at output
    (0, 0) reaches inputs (0..1, 0..1): 4 of 16 positions at one of 2 steps -> 4/32."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8], T=2, batch=2,
                  mode="input_gradient")
    assert input_gradient_density(trace(net, {("o", 1, 0): {"gu": {2}}})) == 0.25
    net = network([{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3},
                   {"type": "flatten"}, {"name": "o", "type": "linear", "out": 2}],
                  [3, 4, 4], T=2, mode="input_gradient")
    assert input_gradient_density(trace(net, {("c", 0, 1): {"gu": {0}}})) == 4 / 32


def test_reports_add_per_sample_figures_only_outside_train():
    train = api.run("single-core", api.load_workload(_wl("train")))
    assert "mode" not in train.summary and '"job"' not in train.stats.to_json()
    ig = api.run("single-core", api.load_workload(_wl("input_gradient")))
    s = ig.summary
    assert (s["mode"], s["samples"], s["repeats"]) == ("input_gradient", 2, 1)
    assert s["cycles_per_sample"] == s["total_cycles"] / 2
    assert s["energy_per_sample_j"] == pytest.approx(s["energy_j"] / 2)
    assert 0 < s["input_gradient_density"] <= 1
    chip = ig.stats["chip"]
    assert chip["wg.busy_cycles"].value == 0
    assert chip["core0.bp.busy_cycles_by_layer"].value["h"] > 0   # first layer's BP
    assert ig.timing.counters[("core0.wg", "tiles")] == 0
    inf = api.run("single-core", api.load_workload(_wl("inference", repeats=3)))
    assert (inf.summary["samples"], inf.summary["repeats"]) == (6, 3)
    assert inf.summary["util_bp"] == inf.summary["util_wg"] == 0
    assert inf.summary["dram_write_bytes_state"] == 0      # no saved state


def test_gpu_baseline_runs_the_matching_pytorch_job():
    from neurosim.baselines.gpu import build_step, load_gpu

    for fw in ("spikingjelly", "snntorch"):
        gpu = load_gpu("a100-40gb", fw)
        phases = {}
        for mode in ("train", "inference", "input_gradient"):
            wl = api.load_workload(_wl(mode))
            step = build_step(api.build_network(wl), wl, gpu)
            phases[mode] = {op.phase for op in step.ops}
            ops = {op.name for op in step.ops}
            if mode == "input_gradient":   # dgrad of the first layer: it writes g(input)
                assert any(w.name == "g(input_seq)" or w.name.startswith("g(input")
                           for op in step.ops for w in op.writes)
                assert not any(n.endswith("_wgrad") for n in ops)
        assert phases["train"] == {"FP", "LOSS", "BP", "WG", "UPD"}
        assert phases["inference"] == {"FP"}
        assert phases["input_gradient"] == {"FP", "LOSS", "BP"}


def test_trainer_records_inference_with_poisson_repeats(tmp_path, monkeypatch):
    """rsc-mlp-digits without training epochs (fast): 16 digits x 8 draws = 128 samples,
    no backward bits, the draws of one digit differ (fresh Poisson spikes)."""
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path))
    wl = api.load_workload(ROOT / "workloads" / "modes" / "rsc-mlp-digits.yaml",
                           ["traces.epochs=0"])
    tr = api.get_traces(wl)
    assert tr.batch == 128 and tr.meta["repeats"] == 8 and tr.meta["mode"] == "inference"
    assert all(popcount(lt.gu_mask).sum() == 0 for lt in tr.layers)
    x = tr["fc1"].in_mask
    assert not np.array_equal(x[0], x[16])      # draw 0 and draw 1 of digit 0
    assert 0.0 <= tr.meta["accuracy"] <= 1.0


@pytest.mark.parametrize("path", MODE_WORKLOADS, ids=[p.stem for p in MODE_WORKLOADS])
def test_shipped_mode_workloads_load(path):
    wl = api.load_workload(path)
    net = api.build_network(wl)
    assert wl.mode in ("inference", "input_gradient") and net.mode == wl.mode
