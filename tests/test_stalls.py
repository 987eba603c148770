"""Where every cycle went (docs/microarchitecture.md 10): cycle classes by hand in both timing
models, their sum, the critical path, the timeline (Chrome trace-event JSON) and the outputs
of ``neurosim run``."""
import json
from collections import defaultdict
from xml.etree import ElementTree

import pytest
import yaml

from neurosim import api
from neurosim.critical_path import critical_path, path_totals
from neurosim.hw.chip import simulate as event_driven
from neurosim.hw.report import build_stats, cycle_classes
from neurosim.reference import simulate as reference
from neurosim.timeline import trace_events
from neurosim.timing import CYCLE_CLASSES
from neurosim.validation.strategies import case_from_seed

from handcases import one_core_case, two_core_case
from test_run_cli import TINY


@pytest.fixture(params=[event_driven, reference], ids=["hw", "reference"])
def model(request):
    return request.param


def classes(res, comp):
    got = cycle_classes(res.counters, comp)
    return {k: v for k, v in got.items() if v}


def test_one_core_classes_by_hand(model):
    """The schedule of test_handworked's one-core case (39 cycles, no bank stalls):
    FP: tiles [0,4) [4,7) [7,10) [10,19) back to back: busy 4+3+3+9 = 19, idle 39-19 = 20.
    BP: LOSS(0) ready 7 (the end of FP(0,1) on this core): wait_dep 7; busy 3+2+2; LOSS(1)
    ready 19 after BP(0,0) ended at 14 (FP(1,1) ends at 19): wait_dep 5; busy 3+2+2;
    idle 39-26 = 13.  WG: WG(0,1) ready 12 at BP(0,1)'s delta end: wait_dep 12; busy 4+3;
    WG(1,1) ready 24 after WG(0,0) ended at 19: wait_dep 5; busy 3+3, UPD 9: busy 22."""
    res = one_core_case(model)
    assert res.total_cycles == 39
    assert classes(res, "core0.fp") == {"busy": 19, "idle": 20}
    assert classes(res, "core0.bp") == {"busy": 14, "wait_dep": 12, "idle": 13}
    assert classes(res, "core0.wg") == {"busy": 22, "wait_dep": 17}
    tiles = res.tiles_by_key()
    loss1 = tiles[("LOSS", "", -1, 1, -1)]
    assert (loss1.wait, loss1.wait_on) == ("wait_dep", ("end", ("FP", "o", 0, 1, 1)))
    wg = tiles[("WG", "o", 0, 1, 1)]
    assert (wg.wait, wg.wait_on) == ("wait_dep", ("delta", ("BP", "o", 0, 1, 1)))
    assert tiles[("WG", "o", 0, 1, 0)].wait == ""   # ready when WG(1,1) ended


def test_two_cores_classes_by_hand(model):
    """test_handworked's two-core case (NoC latency 2, 37 cycles).
    core0 FP: FP(h) [0,5): busy 5, idle 32.  core0 BP: BP(h) ready 18 when the gradient
    message of BP(o) (core 1, sent 16) arrives: wait_noc 18, busy 3, idle 37-21 = 16.
    core0 WG: WG(h) ready 21 at BP(h)'s end (no transposed phase: delta end = end):
    wait_dep 21, busy 3 + UPD 13.  core1 FP: FP(o) ready 7 on the spike message: wait_noc 7,
    busy 3, idle 27.  core1 BP: LOSS ready 10 at FP(o)'s end: wait_dep 10, busy 2 + 4,
    idle 21.  core1 WG: WG(o) ready 14 at BP(o)'s delta end: wait_dep 14, busy 3 + 7,
    idle 13."""
    res = two_core_case(model)
    assert res.total_cycles == 37
    assert classes(res, "core0.fp") == {"busy": 5, "idle": 32}
    assert classes(res, "core0.bp") == {"wait_noc": 18, "busy": 3, "idle": 16}
    assert classes(res, "core0.wg") == {"wait_dep": 21, "busy": 16}
    assert classes(res, "core1.fp") == {"wait_noc": 7, "busy": 3, "idle": 27}
    assert classes(res, "core1.bp") == {"wait_dep": 10, "busy": 6, "idle": 21}
    assert classes(res, "core1.wg") == {"wait_dep": 14, "busy": 10, "idle": 13}
    bp = res.tiles_by_key()[("BP", "h", 0, 0, 0)]
    assert bp.wait_on == ("msg", ("BP", "o", 0, 0, 0))


def test_two_cores_critical_path_by_hand(model):
    """Backwards from UPD(h)'s end at 37: UPD(h) [24,37) after WG(h) [21,24) on its engine;
    WG(h) waited for BP(h)'s delta end (a 0-cycle dependency link at 21); BP(h) [18,21); the
    gradient message [16,18); BP(o) [12,16) after LOSS [10,12) on its engine; LOSS waited for
    FP(o)'s end (0 cycles at 10); FP(o) [7,10); the spike message [5,7); FP(h) [0,5).
    compute 13+3+3+4+2+3+5 = 33, noc 2+2 = 4: 37 cycles."""
    res = two_core_case(model)
    links = critical_path(res)
    assert path_totals(links) == {"compute": 33, "noc": 4, "dram": 0, "dependency": 0}
    assert [(x.kind, x.begin, x.end) for x in links] == [
        ("compute", 0, 5), ("noc", 5, 7), ("compute", 7, 10), ("dependency", 10, 10),
        ("compute", 10, 12), ("compute", 12, 16), ("noc", 16, 18), ("compute", 18, 21),
        ("dependency", 21, 21), ("compute", 21, 24), ("compute", 24, 37)]


@pytest.mark.parametrize("seed", [3, 11, 29, 41])
def test_classes_sum_to_the_step_and_models_agree(seed):
    """Random cases of the differential harness: per engine of every core the classes sum to
    total_cycles, both models report the same classes and the same critical path."""
    case = case_from_seed(seed)
    args = (case.arch, case.network, case.trace, case.placement)
    a = event_driven(*args, momentum=case.momentum)
    b = reference(*args, momentum=case.momentum)
    for core in range(case.arch.chip.cores):
        for eng in ("fp", "bp", "wg"):
            comp = f"core{core}.{eng}"
            got = cycle_classes(a.counters, comp)
            assert sum(got.values()) == a.total_cycles, comp
            assert got == cycle_classes(b.counters, comp), comp
    links = critical_path(a)
    assert sum(x.cycles for x in links) == a.total_cycles
    assert all(x.cycles >= 0 for x in links)
    assert path_totals(links) == path_totals(critical_path(b))


def _timeline_busy(events) -> dict:
    busy = defaultdict(int)
    for ev in events:
        if ev.get("ph") == "X" and ev["cat"] == "busy":
            busy[(ev["pid"], ev["tid"])] += ev["dur"]
    return busy


@pytest.mark.parametrize("max_events", [400_000, 40])
def test_timeline_busy_slices_add_up_to_the_busy_stat(tmp_path, max_events):
    """The trace-event JSON loads as such (every event has a phase, process, thread-or-id,
    time stamp; slices a duration), and each engine's busy slices add up to its busy_cycles
    stat -- also when the size bound merges tiles (40 events)."""
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    res = api.run("paper-20core", str(wl), ["chip.cores=3"])
    doc = json.loads(json.dumps(trace_events(res.timing, max_events)))
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    for ev in events:
        assert ev["ph"] in ("X", "M", "b", "e", "C")
        assert isinstance(ev["pid"], int)
        if ev["ph"] != "M":
            assert isinstance(ev["ts"], int) and 0 <= ev["ts"] <= res.timing.total_cycles
        if ev["ph"] == "X":
            assert ev["dur"] >= 0 and ev["ts"] + ev["dur"] <= res.timing.total_cycles
    assert doc["otherData"]["tiles_merged"] == (max_events == 40)
    busy = _timeline_busy(events)
    tid = {"fp": 0, "bp": 1, "wg": 2}
    stats = res.stats["chip"]
    for core in range(3):
        for eng in ("fp", "bp", "wg"):
            assert busy.get((core, tid[eng]), 0) == stats[f"core{core}.{eng}.busy_cycles"].value
    if max_events > 40:   # every message crossing the NoC is an async slice pair
        noc = [ev for ev in events if ev.get("cat") == "noc"]
        assert len(noc) == 2 * sum(1 for m in res.timing.messages if m.flits)


@pytest.mark.parametrize("max_events", [400_000, 400])
def test_timeline_link_and_bus_counters_add_up_to_the_stats(tmp_path, max_events):
    """A counter track per directed NoC link, network-interface port and DRAM channel
    (issue 16): the flits of a link's bins add up to its link_flits stat, the ports' to the
    flits injected and ejected, a channel's busy cycles to its RD + WR bursts x tBURST,
    each bin's utilisation is its count over its cycles -- also when the bound (400
    events) merges the bins."""
    from neurosim.arch import dram_timing_cycles
    from neurosim.timeline import BUSES_PID, LINKS_PID, PORTS_PID

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    res = api.run("paper-20core", str(wl), ["chip.cores=3"])
    doc = json.loads(json.dumps(trace_events(res.timing, max_events)))
    events = doc["traceEvents"]
    assert len(events) <= max_events + 200   # (+ metadata)
    total = res.timing.total_cycles
    tracks, ports = defaultdict(list), defaultdict(int)
    for ev in events:
        if ev["ph"] == "C":
            assert ev["pid"] in (LINKS_PID, PORTS_PID, BUSES_PID) and 0 <= ev["ts"] <= total
            tracks[(ev["pid"], ev["name"])].append(ev)
    link_flits = {f"({a[0]},{a[1]})->({b[0]},{b[1]})": link["flits"] for link in
                  res.timing.extra["memsys"]["noc"]["links"]
                  for a, b in [(link["from"], link["to"])]}
    assert {name for pid, name in tracks if pid == LINKS_PID} == \
        {k for k, v in link_flits.items() if v}
    for (pid, name), evs in tracks.items():
        ts = [ev["ts"] for ev in evs]
        assert ts == sorted(set(ts))
        ends = ts[1:] + [total]
        for ev, end in zip(evs, ends):
            count = ev["args"]["busy_cycles" if pid == BUSES_PID else "flits"]
            if end == ev["ts"]:      # the step's end: back to 0
                assert count == 0 == ev["args"]["utilisation"]
                continue
            assert ev["args"]["utilisation"] == pytest.approx(count / (end - ev["ts"]))
        got = sum(ev["args"]["busy_cycles" if pid == BUSES_PID else "flits"] for ev in evs)
        if pid == LINKS_PID:
            assert got == link_flits[name]
        elif pid == PORTS_PID:
            ports[name.rsplit(" ", 1)[1]] += got
        else:
            c = res.timing.counters
            want = (c[(f"dram.{name}", "rd")] + c[(f"dram.{name}", "wr")]) \
                * dram_timing_cycles(api.load_arch("paper-20core", ["chip.cores=3"]))["tBURST"]
            assert got == want > 0
    assert any(pid == BUSES_PID for pid, _ in tracks)
    noc = res.timing.extra["memsys"]["noc"]
    assert ports == {"injection": noc["injected_flits"], "ejection": noc["ejected_flits"]}


def test_stats_summary_and_printout(tmp_path, cli):
    """stats.json: per engine the classes (sum = total cycles), by layer and by phase; the
    critical path by kind (sum = total cycles); summary fractions; the printed table; the
    outputs critical_path.json, gantt.svg and the timeline file."""
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out, tl = tmp_path / "out", tmp_path / "timeline.json"
    rc, stdout, stderr = cli("run", "paper-20core", wl, "--set", "chip.cores=3", "--out", out,
                             "--timeline", tl)
    assert rc == 0, stderr
    assert "cycles %" in stdout and "critical path" in stdout and "DRAM path" in stdout
    stats = json.loads((out / "stats.json").read_text())["chip"]
    summary = json.loads((out / "summary.json").read_text())
    total = summary["total_cycles"]
    for core in range(3):
        for eng in ("fp", "bp", "wg"):
            g = stats[f"core{core}"][eng]
            by_class = g["cycles_by_class"]["value"]
            assert list(by_class) == list(CYCLE_CLASSES) and sum(by_class.values()) == total
            assert by_class["busy"] == g["busy_cycles"]["value"]
            assert by_class["bank_stall"] == sum(
                v for k, v in g["stall_cycles"]["value"].items() if k.startswith("bank"))
            non_idle = total - by_class["idle"]
            assert sum(g["cycles_by_layer_class"]["value"].values()) == non_idle
            assert sum(g["cycles_by_phase_class"]["value"].values()) == non_idle
    assert sum(stats["critical_path"]["cycles_by_kind"]["value"].values()) == total
    assert sum(summary[f"cycles_fp_{c}"] for c in CYCLE_CLASSES) == pytest.approx(1.0)
    assert summary["cycles_fp_busy"] == pytest.approx(summary["util_fp"])
    links = json.loads((out / "critical_path.json").read_text())
    assert sum(x["cycles"] for x in links) == total
    assert ElementTree.parse(out / "gantt.svg").getroot().tag.endswith("svg")
    assert json.loads(tl.read_text())["traceEvents"]


def test_bad_timeline_bound_is_one_line(tmp_path, cli):
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    rc, _, err = cli("run", "single-core", wl, "--timeline", tmp_path / "t.json",
                     "--timeline-max-events", "0")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "--timeline-max-events" in err and "positive" in err


def test_timeline_leaves_out_transfers_far_beyond_the_bound(tmp_path):
    """With many more NoC and DRAM records than the bound allows, the timeline does not read
    them (no record-log expansion): its tiles are there, the transfer tracks empty."""
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    res = api.run("single-core", str(wl))
    n = len(res.timing.messages) + len(res.timing.dram)
    doc = trace_events(res.timing, max_events=max(1, n // 20))
    assert doc["otherData"]["transfers_truncated"]
    assert not [ev for ev in doc["traceEvents"] if ev.get("cat") in ("noc", "dram")]
    assert any(ev.get("cat") == "busy" for ev in doc["traceEvents"])
