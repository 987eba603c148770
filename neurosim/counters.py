"""The registry of event counters (``docs/microarchitecture.md`` section 8): every component
kind a timing model counts events of, and every action it may count, with its unit, a
description and the energy-table entry that prices it.

A counter is keyed ``(component, action)``: ``("core3.fp", "add_ops")``,
``("core3.sram.weights", "read_words")``, ``("noc", "link_flits")``,
``("dram.ch0", "read_bytes.weights")`` (an action with a ``.label`` is a per-label copy of
the action, e.g. per tensor kind). The event model and the memory system make their keys
with :func:`key` (component paths from :func:`engine_path`, :func:`sram_path`,
:func:`dram_path`, :data:`NOC_PATH`), so an undeclared counter fails where it is made; the
statistics (:mod:`neurosim.hw.report`) and the energy model (:mod:`neurosim.energy`) read keys
back with :func:`lookup`, and a key the registry does not know is an error
(:class:`UnknownCounter`), never silently "unpriced". Keys are built and taken apart here
only. (The cycle-stepped reference, :mod:`neurosim.reference`, spells its keys itself: it
shares nothing with the event model but input types and result records, and the
differential check compares its keys with the event model's.)
"""
from __future__ import annotations

import functools
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
        if not self.args[1]:
            return f"counter component {self.args[0]} is not in neurosim.counters"
        return f"counter {self.args[0]}:{self.args[1]} is not in neurosim.counters"


def engine_path(core: int, engine: str) -> str:
    """The component path of engine ``engine`` (fp, bp, wg) of core ``core``."""
    return f"core{core}.{engine}"


def sram_path(core: int, buffer: str) -> str:
    """The component path of SRAM buffer ``buffer`` of core ``core``."""
    return f"core{core}.sram.{buffer}"


def dram_path(channel: int) -> str:
    """The component path of DRAM channel ``channel``."""
    return f"dram.ch{channel}"


NOC_PATH = "noc"


def kind_of(component: str) -> Component:
    """The component kind whose paths include ``component``; :class:`UnknownCounter` if
    none does."""
    for kind in COMPONENTS:
        if kind.match(component) is not None:
            return kind
    raise UnknownCounter(component, "")


@functools.lru_cache(maxsize=None)
def key(component: str, action: str, label: str | None = None) -> tuple:
    """The counter key ``(component, action)``, or ``(component, "action.label")`` for the
    per-label copy of an action counted by label; :class:`UnknownCounter` if the component
    path is of no declared kind, the action is not one of its kind's, or a label is given to
    an action not counted by label (or is empty or dotted)."""
    kind = kind_of(component)
    a = kind.actions.get(action)
    if a is None:
        raise UnknownCounter(component, action)
    if label is None:
        return (component, action)
    if a.labels is None or not label or "." in label:
        raise UnknownCounter(component, f"{action}.{label}")
    return (component, f"{action}.{label}")


def groups(component: str) -> tuple:
    """The statistics groups of a component path, outermost first (``core3.sram.weights``
    -> ``("core3", "sram", "weights")``)."""
    kind_of(component)
    return tuple(component.split("."))


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
           "UnknownCounter", "lookup", "key", "kind_of", "groups", "engine_path", "sram_path",
           "dram_path", "NOC_PATH"]
