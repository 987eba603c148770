"""The registry of event counters (``docs/microarchitecture.md`` section 8): every component
kind a timing model counts events of, and every action it may count, with its unit, a
description and the energy-table entry that prices it.

A counter is keyed ``(component, action)``: ``("core3.fp", "add_ops")``,
``("core3.sram.weights", "read_words")``, ``("noc", "link_flits")``,
``("dram.ch0", "read_bytes.weights")`` (an action with a ``.label`` is a per-label copy of
the action, e.g. per tensor kind). The timing models emit against this registry; the
statistics (:mod:`neurosim.hw.report`) and the energy model (:mod:`neurosim.energy`) iterate
it, and a key it does not know is an error (:class:`UnknownCounter`), never silently
"unpriced".
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One countable event of a component kind."""

    name: str
    unit: str
    description: str
    # The energy-table entry that prices one event (its family: the config picks the
    # precision, DRAM type or buffer), or None: counted, not charged -- its energy is inside
    # another entry (flits are priced per router and link traversal, DRAM commands per byte
    # or per ACT/PRE/REF), or it is not a datapath event (tiles, stalls).
    energy: str | None
    # What a ``.label`` suffix means, when the action is also counted per label.
    labels: str | None = None


@dataclass(frozen=True)
class Component:
    """A kind of component: the paths it matches and the actions counted at them."""

    kind: str
    pattern: re.Pattern
    energy_class: str          # the energy class its charged actions belong to
    actions: dict

    def match(self, path: str):
        return self.pattern.match(path)


def _actions(*actions: Action) -> dict:
    return {a.name: a for a in actions}


ENGINE = Component("engine", re.compile(r"^core(\d+)\.(fp|bp|wg)$"), "compute", _actions(
    Action("add_ops", "op", "lane additions executed (accumulate-only work)", "add"),
    Action("mac_ops", "op", "lane multiply-adds executed", "mac"),
    Action("neuron_updates", "op", "LIF neuron updates", "lif"),
    Action("scan_windows", "count", "bit-vector windows examined by the zero-skipping front "
           "end (and WG index cycles)", "reg.bit"),
    Action("tiles", "count", "tiles executed", None),
    # (the description is the one stats.json has always carried for this vector)
    Action("bank_conflict", "count", "bank_conflict", None, labels="buffer"),
    # Every cycle of the step of the engine, by class (docs/microarchitecture.md 10.1).
    Action("cycles", "cycle", "cycles of the step by class: busy, bank_stall, wait_noc "
           "(another core's message or tile), wait_dram (loads, stores of saved state), "
           "wait_dep (this core's tiles), idle (after the last tile); they sum to the step's "
           "cycles", None, labels="class"),
))
SRAM = Component("sram", re.compile(r"^core(\d+)\.sram\.(\w+)$"), "sram", _actions(
    Action("read_words", "access", "SRAM words read", "sram.read"),
    Action("write_words", "access", "SRAM words written", "sram.write"),
    Action("read_bits", "bit", "bits read for DRAM stores and outgoing messages", "sram.read"),
    Action("write_bits", "bit", "bits written by DRAM loads and incoming messages",
           "sram.write"),
))
NOC = Component("noc", re.compile(r"^noc$"), "noc", _actions(
    Action("packets", "packet", "NoC packets", None),
    Action("flits", "flit", "NoC flits injected", None),
    Action("router_flits", "flit", "flit traversals of routers", "noc.router_bit"),
    Action("link_flits", "flit", "flit traversals of links", "noc.link_bit_mm"),
))
DRAM = Component("dram", re.compile(r"^dram\.ch(\d+)$"), "dram", _actions(
    Action("read_bytes", "byte", "bytes read from DRAM (whole bursts)", "dram.read_pj_per_bit",
           labels="tensor kind"),
    Action("write_bytes", "byte", "bytes written to DRAM (whole bursts)",
           "dram.write_pj_per_bit", labels="tensor kind"),
    Action("act", "command", "DRAM ACT commands", "dram.act_pj"),
    Action("pre", "command", "DRAM PRE commands", "dram.pre_pj"),
    Action("ref", "command", "DRAM REF commands", "dram.ref_pj"),
    Action("rd", "command", "DRAM RD commands", None),
    Action("wr", "command", "DRAM WR commands", None),
))
COMPONENTS = (ENGINE, SRAM, NOC, DRAM)


class UnknownCounter(KeyError):
    """A counter key the registry does not declare: a timing model emitted something no
    statistic or energy entry knows about."""

    def __str__(self):
        return f"counter {self.args[0]}:{self.args[1]} is not in neurosim.counters"


@dataclass(frozen=True)
class Counter:
    """A counter key resolved against the registry."""

    component: Component
    match: re.Match
    action: Action
    label: str | None     # the ``.label`` suffix, when the key is a per-label copy


def lookup(component: str, action: str) -> Counter:
    """The registry entry of counter ``(component, action)``; :class:`UnknownCounter` if
    there is none."""
    base, dot, label = action.partition(".")
    for kind in COMPONENTS:
        m = kind.match(component)
        if m is None:
            continue
        a = kind.actions.get(base)
        if a is None or (dot and (a.labels is None or not label)):
            break
        return Counter(kind, m, a, label if dot else None)
    raise UnknownCounter(component, action)


__all__ = ["Action", "Component", "COMPONENTS", "ENGINE", "SRAM", "NOC", "DRAM", "Counter",
           "UnknownCounter", "lookup"]
