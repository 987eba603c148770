"""The counter registry's key API: keys are made through it where the models emit them, so an
undeclared counter fails where it is made."""
import pytest

from neurosim.counters import (NOC_PATH, UnknownCounter, dram_path, engine_path, groups, key,
                               lookup, sram_path)


def test_keys_of_each_component_kind():
    assert key(engine_path(3, "fp"), "add_ops") == ("core3.fp", "add_ops")
    assert key(engine_path(0, "wg"), "cycles", "idle") == ("core0.wg", "cycles.idle")
    assert key(sram_path(2, "weights"), "read_words") == ("core2.sram.weights", "read_words")
    assert key(NOC_PATH, "link_flits") == ("noc", "link_flits")
    assert key(dram_path(1), "read_bytes") == ("dram.ch1", "read_bytes")
    assert key(dram_path(1), "read_bytes", "weights") == ("dram.ch1", "read_bytes.weights")


@pytest.mark.parametrize("component, action, label", [
    ("core0.xx", "tiles", None),           # no engine xx
    (engine_path(0, "fp"), "zap", None),   # no action zap
    (sram_path(0, "weights"), "tiles", None),  # an engine action on an SRAM buffer
    (NOC_PATH, "hops", None),
    (dram_path(0), "act", "weights"),      # ACT is not counted by label
    (dram_path(0), "read_bytes", ""),      # an empty label
    (dram_path(0), "read_bytes", "a.b"),   # a label that would not read back
    ("dram0", "read_bytes", None),         # not a component path
])
def test_an_undeclared_key_fails_where_it_is_made(component, action, label):
    with pytest.raises(UnknownCounter, match="is not in neurosim.counters"):
        key(component, action, label)


def test_made_keys_read_back():
    c = lookup(*key(dram_path(0), "write_bytes", "grads"))
    assert (c.action.name, c.label, c.match.group(1)) == ("write_bytes", "grads", "0")
    assert groups(sram_path(4, "spikes")) == ("core4", "sram", "spikes")
    with pytest.raises(UnknownCounter, match="component core4.dram"):
        groups("core4.dram")
