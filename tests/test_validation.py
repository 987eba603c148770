"""The differential harness: it must catch a one-cycle change injected into either model,
compare every record type, and run its CI quota of cases.

The model under test is the event-driven model ``neurosim.hw.chip:simulate`` when this
checkout has it; before it is merged, the CI run compares the reference with itself and
the closed-form checks (``neurosim.validation.checks``) are what can fail."""
import dataclasses
import importlib.util

import pytest
from hypothesis import HealthCheck, given, settings

import neurosim.reference.dram as ref_dram
import neurosim.reference.engines as ref_engines
from neurosim.reference import simulate as reference
from neurosim.reference.noc import Message
from neurosim.validation import strategies
from neurosim.validation.compare import compare
from neurosim.validation.harness import DEFAULT_MODEL, REFERENCE, load_model, run_case, validate

HAS_EVENT_MODEL = importlib.util.find_spec("neurosim.hw") is not None and \
    importlib.util.find_spec("neurosim.hw.chip") is not None
MODEL = DEFAULT_MODEL if HAS_EVENT_MODEL else REFERENCE


class Mutant:
    """The reference with some of its functions replaced, only while it runs: a second
    model that differs from the reference in one deliberate way."""

    def __init__(self, *patches):
        self.patches = patches  # (object, attribute, replacement(original))

    def __call__(self, *args, **kw):
        saved = [(obj, name, getattr(obj, name)) for obj, name, _ in self.patches]
        try:
            for (obj, name, make), (_, _, orig) in zip(self.patches, saved):
                setattr(obj, name, make(orig))
            return reference(*args, **kw)
        finally:
            for obj, name, orig in saved:
                setattr(obj, name, orig)


def loss_one_cycle_longer(orig):
    def f(*a, **k):
        prog = orig(*a, **k)
        prog.cycles.append(None)
        return prog
    return f


def cas_latency_one_more(orig):
    def f(cfg):
        t = orig(cfg)
        return {**t, "tCL": t["tCL"] + 1}
    return f


def noc_message_one_cycle_later(orig):
    def f(self, cycle):
        return orig(self, cycle + 1 if self.flits else cycle)
    return f


MUTANTS = {
    "LOSS tile one cycle longer": (Mutant((ref_engines, "loss_program", loss_one_cycle_longer)),
                                   "LOSS"),
    "DRAM tCL one cycle longer": (Mutant((ref_dram, "dram_timing_cycles", cas_latency_one_more)),
                                  "dram"),
    "NoC messages one cycle later": (
        Mutant((Message, "set_available", noc_message_one_cycle_later)), "available"),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
@pytest.mark.parametrize("side", ["model", "reference"])
def test_injected_one_cycle_change_is_caught(name, side):
    """A one-cycle change in one model only is reported as a mismatch, on either side,
    with the first diverging event naming what changed."""
    mutant, expect = MUTANTS[name]
    for i in range(40):
        case = strategies.seeded_case(7, i)
        if side == "model":
            res = run_case(case, reference, mutant, i)
        else:
            res = run_case(case, mutant, reference, i)
        if not res.ok:
            assert "first diverging event" in res.report, res.report
            assert expect in res.report.split("first diverging event")[1], res.report
            assert f"seed {case.seed}" in res.report
            return
    pytest.fail(f"mutation '{name}' on the {side} side was not caught in 40 cases")


@pytest.mark.long
def test_identical_models_agree_and_checks_pass():
    for i in range(5):
        res = run_case(strategies.seeded_case(3, i), reference, Mutant(), i)
        assert res.ok, res.report


def test_compare_finds_each_kind_of_difference():
    case = strategies.seeded_case(11, 0)
    a = reference(case.arch, case.network, case.trace, case.placement, momentum=case.momentum)
    assert compare(a, a) == []
    tile = a.tiles[5]
    b = dataclasses.replace(a, tiles=[dataclasses.replace(t, end=t.end + 1) if t is tile else t
                                      for t in a.tiles])
    (d, *_) = compare(a, b)
    assert d.what == f"tile {tile.key} end" and (d.reference, d.model) == (tile.end, tile.end + 1)
    assert d.time == tile.end
    msg = a.messages[0]
    b = dataclasses.replace(a, messages=[dataclasses.replace(m, available=m.available + 2)
                                         if m is msg else m for m in a.messages])
    diffs = compare(a, b)
    assert len(diffs) == 1 and "available" in diffs[0].what and diffs[0].time == msg.available
    b = dataclasses.replace(a, messages=a.messages[1:])
    assert any("count" in d.what for d in compare(a, b))
    c = a.counters.copy()
    key = next(iter(c))
    c[key] += 1
    b = dataclasses.replace(a, counters=c)
    assert [(d.component, d.what) for d in compare(a, b)] == [(key[0], f"counter {key[1]}")]
    b = dataclasses.replace(a, total_cycles=a.total_cycles + 1)
    assert [d.what for d in compare(a, b)] == ["total_cycles"]


def test_compare_dram_records():
    for i in range(40):
        case = strategies.seeded_case(5, i)
        a = reference(case.arch, case.network, case.trace, case.placement,
                      momentum=case.momentum)
        if a.dram:
            break
    r = a.dram[0]
    b = dataclasses.replace(a, dram=[dataclasses.replace(x, complete=x.complete + 1,
                                                         outcome="other")
                                     if x is r else x for x in a.dram])
    (d,) = compare(a, b)
    assert d.component == f"dram.ch{r.channel}" and d.what.endswith("complete")


def test_load_model_errors():
    from neurosim.errors import InputError

    with pytest.raises(InputError, match="no such module"):
        load_model("neurosim.hw.nonexistent_model:simulate")
    with pytest.raises(InputError, match="MODULE:FUNCTION"):
        load_model("neurosim.reference")
    with pytest.raises(InputError, match="no such function"):
        load_model("neurosim.reference:nope")
    assert load_model(REFERENCE) is reference


def test_validate_cli_missing_model_is_one_line(cli):
    rc, out, err = cli("validate", "--cases", "1", "--model", "neurosim.hw.no_such:simulate")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "there is no module neurosim.hw.no_such" in err
    rc, _, err = cli("validate", "--cases", "0")
    assert rc == 2 and "--cases" in err and len(err.strip().splitlines()) == 1


def test_validate_cli_output(cli):
    rc, out, err = cli("validate", "--cases", "3", "--seed", "4", "--model", REFERENCE)
    assert rc == 0, err
    assert "cases passed: 3/3" in out
    assert "bank_conflicts" in out and "largest case" in out
    assert "only the closed-form checks can fail" in out
    # a model named differently from the reference gets the speed ratio line
    text = validate(2, seed=4, model="neurosim.reference.chip:simulate").text()
    assert "speed ratio (reference/model)" in text and "cases passed: 2/2" in text


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(strategies.cases())
def test_hypothesis_cases(case):
    """Random cases drawn by hypothesis (shrinks a failure to a small one)."""
    res = run_case(case, reference, load_model(MODEL))
    assert res.ok, res.report


@pytest.mark.long
def test_ci_run_200_cases():
    """The CI quota: 200 seeded cases, every one passing, and each feature exercised."""
    s = validate(200, seed=0, model=MODEL)
    assert s.passed == 200, s.first_failure
    for f in ("bank_conflicts", "noc_contention", "dram_row_conflicts", "engine_overlap",
              "spills", "data_parallel", "mapper_placement", "multicast", "wg_formats",
              "momentum", "soft_reset", "state_full", "schedule_variants",
              "compressed_encodings", "refresh"):
        assert s.features[f] > 0, f
    assert all(s.modes[m] > 0 for m in s.modes)


@pytest.mark.slow
def test_slow_2000_cases():
    """The documented slow check: `pytest -m slow` (or `neurosim validate --cases 2000`)."""
    s = validate(2000, seed=0, model=MODEL)
    assert s.passed == 2000, s.first_failure
