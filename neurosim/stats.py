"""Statistics in the manner of gem5: every stat has a unit and a one-line description and
lives at a component path (``chip.core3.bp.busy_cycles``). Vector stats carry labelled
entries (``chip.core3.bp.busy_cycles::conv1`` in flat form, like gem5's ``::``); formula
stats are derived from others when read, never stored twice.

Models count in plain integers and numpy arrays while they run (fast), then publish into a
:class:`StatGroup` tree at the end; this module only owns names, units, descriptions and
the output formats (nested JSON, flat CSV).
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Callable

# Units used across neurosim. A stat with a unit outside this set is a bug.
UNITS = {
    "cycle": "clock cycles of the chip clock",
    "s": "seconds",
    "byte": "bytes",
    "bit": "bits",
    "flit": "NoC flits",
    "packet": "NoC packets",
    "request": "DRAM requests (one burst each)",
    "command": "DRAM commands",
    "op": "operations (one lane's add or multiply-add)",
    "flop": "floating-point operations (a multiply-add counts 2)",
    "access": "SRAM accesses (one word on one port)",
    "count": "events",
    "ratio": "dimensionless ratio",
    "J": "joules",
    "W": "watts",
    "B/cycle": "bytes per cycle",
    "GB/s": "gigabytes per second",
    "TFLOPS/W": "tera floating-point operations per second per watt",
    "sample": "samples (training samples, inferences, input gradients)",
    "mm2": "square millimetres of silicon",
}


class Stat:
    __slots__ = ("name", "unit", "desc", "_value")

    def __init__(self, name: str, unit: str, desc: str, value=0):
        if unit not in UNITS:
            raise ValueError(f"stat {name}: unknown unit {unit!r}")
        self.name, self.unit, self.desc, self._value = name, unit, desc, value

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v

    def add(self, v) -> None:
        self._value += v


class VectorStat(Stat):
    """Labelled entries, e.g. per layer or per time step. ``total`` is their sum."""

    __slots__ = ()

    def __init__(self, name, unit, desc, values: dict | None = None):
        super().__init__(name, unit, desc, dict(values or {}))

    def add(self, label, v=1) -> None:  # type: ignore[override]
        self._value[label] = self._value.get(label, 0) + v

    @property
    def total(self):
        return sum(self._value.values())


class Formula(Stat):
    """A derived stat: computed from other stats each time it is read."""

    __slots__ = ("fn",)

    def __init__(self, name, unit, desc, fn: Callable[[], float]):
        super().__init__(name, unit, desc, None)
        self.fn = fn

    @property
    def value(self):
        try:
            v = self.fn()
        except ZeroDivisionError:
            return float("nan")
        return v


class StatGroup:
    """A component in the stat tree; children are groups or stats, in creation order."""

    def __init__(self, name: str = "", parent: "StatGroup | None" = None, desc: str = ""):
        self.name, self.parent, self.desc = name, parent, desc
        self._children: dict[str, object] = {}

    @property
    def path(self) -> str:
        if self.parent is None or not self.parent.path:
            return self.name
        return f"{self.parent.path}.{self.name}"

    def group(self, name: str, desc: str = "") -> "StatGroup":
        g = self._children.get(name)
        if g is None:
            g = StatGroup(name, self, desc)
            self._children[name] = g
        elif not isinstance(g, StatGroup):
            raise ValueError(f"{self.path}.{name} is a stat, not a group")
        return g

    def _add(self, stat: Stat) -> Stat:
        if stat.name in self._children:
            raise ValueError(f"duplicate stat {self.path}.{stat.name}")
        self._children[stat.name] = stat
        return stat

    def scalar(self, name, unit, desc, value=0) -> Stat:
        return self._add(Stat(name, unit, desc, value))

    def vector(self, name, unit, desc, values: dict | None = None) -> VectorStat:
        return self._add(VectorStat(name, unit, desc, values))

    def formula(self, name, unit, desc, fn: Callable[[], float]) -> Formula:
        return self._add(Formula(name, unit, desc, fn))

    def __getitem__(self, dotted: str):
        node = self
        for part in dotted.split("."):
            node = node._children[part]  # type: ignore[attr-defined]
        return node

    def get(self, dotted: str, default=None):
        try:
            return self[dotted]
        except (KeyError, AttributeError):
            return default

    def value(self, dotted: str):
        return self[dotted].value

    def items(self):
        return self._children.items()

    # ---------------------------------------------------------------- export

    def walk(self):
        """Yield (full path, stat) for every stat below, in creation order."""
        for name, child in self._children.items():
            if isinstance(child, StatGroup):
                yield from child.walk()
            else:
                yield (f"{self.path}.{name}" if self.path else name), child

    def to_nested(self) -> dict:
        out: dict = {}
        for name, child in self._children.items():
            if isinstance(child, StatGroup):
                out[name] = child.to_nested()
            else:
                out[name] = {"value": _jsonable(child.value), "unit": child.unit,
                             "desc": child.desc}
        return out

    def flat(self) -> list[tuple[str, object, str, str]]:
        rows = []
        for path, stat in self.walk():
            v = stat.value
            if isinstance(v, dict):
                for label, x in v.items():
                    rows.append((f"{path}::{label}", _jsonable(x), stat.unit, stat.desc))
                rows.append((f"{path}::total", _jsonable(sum(v.values())), stat.unit, stat.desc))
            else:
                rows.append((path, _jsonable(v), stat.unit, stat.desc))
        return rows

    def to_json(self) -> str:
        return json.dumps(self.to_nested(), indent=1, allow_nan=True)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["stat", "value", "unit", "description"])
        w.writerows(self.flat())
        return buf.getvalue()


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
