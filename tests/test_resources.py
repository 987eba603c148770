"""The garbage-collection policy of a simulated step (neurosim.resources)."""
import gc

import pytest

from neurosim import resources
from neurosim.hw import chip


def test_a_step_runs_young_collections_only_and_restores_the_thresholds():
    before = gc.get_threshold()
    with resources.young_collections_only():
        inside = gc.get_threshold()
        assert inside[:2] == before[:2]          # young collections as before
        assert inside[2] == resources._NEVER     # no full collection during the step
    assert gc.get_threshold() == before


def test_the_thresholds_are_restored_when_the_step_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with resources.young_collections_only():
            raise RuntimeError("a failing step")
    assert gc.get_threshold() == before


def test_the_event_model_simulates_under_the_policy(monkeypatch):
    seen = []

    def run(self):
        seen.append(gc.get_threshold()[2])
        raise RuntimeError("stop")

    monkeypatch.setattr(chip.ChipModel, "__init__", lambda self, *a, **k: None)
    monkeypatch.setattr(chip.ChipModel, "run", run)
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        chip.simulate(None, None, None, None)
    assert seen == [resources._NEVER] and gc.get_threshold() == before


def test_a_step_of_the_api_first_frees_the_cyclic_garbage_of_the_step_before():
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a           # a cycle: only the cyclic collector frees it
    gone = weakref.ref(a)
    del a, b
    gc.disable()                      # no automatic collection in between
    try:
        with resources.young_collections_only(collect_first=True):
            assert gone() is None
    finally:
        gc.enable()


def test_api_steps_collect_first(monkeypatch):
    from neurosim import api

    calls = []

    def policy(collect_first=False):
        calls.append(collect_first)
        raise RuntimeError("stop")

    monkeypatch.setattr(resources, "young_collections_only", policy)
    with pytest.raises(RuntimeError):
        api.simulate_step(None, None, None, None, placement=object())
    assert calls == [True]
