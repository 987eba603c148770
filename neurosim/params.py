"""Declarative parameters, in the manner of gem5's ``Param``: every knob is declared once,
with its type, default, unit and a one-line doc string. The same declarations validate user
YAML, fill defaults, accept ``--set key=value`` overrides and generate
``docs/config-reference.md``.

A schema is a tree of :class:`Group` (fixed keys), :class:`Param` (a leaf value) and
:class:`ListOf` (a list of groups, chosen by a ``type`` key). Validation returns a plain
nested dict; :class:`Config` wraps it for attribute access.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import InputError

REQUIRED = object()  # marker default: the key must be given


@dataclass
class Param:
    """A leaf value.

    kind: "int", "float", "bool", "str", "choice", "int_list", "float_or_list", "any".
    check: optional extra predicate ``value -> bool`` with ``expect`` describing success.
    """

    kind: str
    default: Any
    doc: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple | None = None
    length: int | None = None  # for int_list
    nullable: bool = False
    check: Callable[[Any], bool] | None = None
    expect: str = ""

    def expected(self) -> str:
        if self.expect:
            return self.expect
        base = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
            "any": "a value",
            "int_list": "a list of integers",
            "float_or_list": "a number or a list of numbers",
        }.get(self.kind, "a value")
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind == "int_list" and self.length:
            base = f"a list of {self.length} integers"
        if self.min is not None and self.max is not None:
            base += f" in [{self.min}, {self.max}]"
        elif self.min is not None:
            if self.min == 0 and self.min_exclusive:
                base = base.replace("an integer", "a positive integer").replace(
                    "a number", "a positive number")
            elif self.min == 1 and self.kind == "int":
                base = "a positive integer"
            elif self.min == 0:
                base = base.replace("an integer", "a non-negative integer").replace(
                    "a number", "a non-negative number")
            else:
                base += f" >= {self.min}"
        if self.nullable:
            base += " or null"
        return base

    def _num_ok(self, v) -> bool:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.min is not None:
            if v < self.min or (self.min_exclusive and v == self.min):
                return False
        if self.max is not None and v > self.max:
            return False
        return True

    def validate(self, value, source: str, key: str):
        if value is None:
            if self.nullable:
                return None
            raise InputError(source, key, self.expected(), value)
        k = self.kind
        ok = True
        if k == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and self._num_ok(value)
        elif k == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok:
                value = float(value)
                ok = self._num_ok(value)
        elif k == "bool":
            ok = isinstance(value, bool)
        elif k == "str":
            ok = isinstance(value, str) and value != ""
        elif k == "choice":
            ok = value in self.choices
        elif k == "int_list":
            ok = (isinstance(value, (list, tuple))
                  and all(isinstance(x, int) and not isinstance(x, bool) and self._num_ok(x)
                          for x in value)
                  and (self.length is None or len(value) == self.length)
                  and len(value) > 0)
            if ok:
                value = list(value)
        elif k == "float_or_list":
            def num(x):
                return isinstance(x, (int, float)) and not isinstance(x, bool) and self._num_ok(x)
            if isinstance(value, (list, tuple)):
                ok = len(value) > 0 and all(num(x) for x in value)
                value = [float(x) for x in value] if ok else value
            else:
                ok = num(value)
                value = float(value) if ok else value
        elif k == "any":
            ok = True
        else:  # pragma: no cover - schema bug
            raise ValueError(f"unknown param kind {k}")
        if ok and self.check is not None:
            ok = bool(self.check(value))
        if not ok:
            raise InputError(source, key, self.expected(), value)
        return value


@dataclass
class Group:
    """A mapping with a fixed set of keys."""

    doc: str
    fields: dict[str, Any]
    optional: bool = False  # the whole group may be absent (then it is None)

    def validate(self, value, source: str, key: str):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InputError(source, key, "a mapping of keys", value)
        out = {}
        for k in value:
            if k not in self.fields:
                raise InputError(source, _join(key, k),
                                 "one of the known keys: " + ", ".join(self.fields), "unknown key")
        for name, spec in self.fields.items():
            sub = _join(key, name)
            if name in value:
                out[name] = spec.validate(value[name], source, sub)
            else:
                out[name] = spec.default_value(source, sub)
        return out

    def default_value(self, source: str, key: str):
        return self.validate({}, source, key)


@dataclass
class ListOf:
    """A list of groups, each chosen by its ``type`` key from ``variants``."""

    doc: str
    variants: dict[str, Group]
    min_len: int = 1
    default: Any = REQUIRED
    type_key: str = "type"

    def validate(self, value, source: str, key: str):
        if not isinstance(value, list) or len(value) < self.min_len:
            raise InputError(source, key, f"a list of at least {self.min_len} entries", value)
        out = []
        for i, item in enumerate(value):
            sub = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise InputError(source, sub, "a mapping", item)
            kind = item.get(self.type_key)
            if not isinstance(kind, str) or kind not in self.variants:
                raise InputError(source, f"{sub}.{self.type_key}",
                                 "one of " + ", ".join(self.variants), kind)
            group = self.variants[kind]
            rest = {k: v for k, v in item.items() if k != self.type_key}
            checked = group.validate(rest, source, sub)
            out.append({self.type_key: kind, **checked})
        return out

    def default_value(self, source: str, key: str):
        if self.default is REQUIRED:
            raise InputError(source, key, "a list (this key is required)", None)
        return copy.deepcopy(self.default)


@dataclass
class OneOf:
    """A mapping whose keys depend on a selector key (e.g. ``source: synthetic``)."""

    doc: str
    variants: dict[str, Group]
    default_variant: str
    selector: str = "source"

    def validate(self, value, source: str, key: str):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InputError(source, key, "a mapping of keys", value)
        kind = value.get(self.selector, self.default_variant)
        if not isinstance(kind, str) or kind not in self.variants:
            raise InputError(source, _join(key, self.selector),
                             "one of " + ", ".join(self.variants), kind)
        rest = {k: v for k, v in value.items() if k != self.selector}
        return {self.selector: kind, **self.variants[kind].validate(rest, source, key)}

    def default_value(self, source: str, key: str):
        return self.validate({}, source, key)


def _param_default(self: Param, source: str, key: str):
    if self.default is REQUIRED:
        raise InputError(source, key, self.expected() + " (this key is required)", None)
    return copy.deepcopy(self.default)


Param.default_value = _param_default


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --------------------------------------------------------------------------- merging


def deep_merge(base: dict, over: dict) -> dict:
    """Return ``base`` updated by ``over``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_set_option(text: str):
    """Parse ``a.b.c=value`` into (["a","b","c"], value); value is read as YAML."""
    import yaml

    if "=" not in text:
        raise InputError("--set", text, "KEY=VALUE (e.g. core.fp.lanes=64)", text)
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(p == "" for p in key.split(".")):
        raise InputError("--set", key or text, "a dotted key path such as core.fp.lanes", text)
    try:
        value = yaml.safe_load(raw) if raw.strip() != "" else ""
    except yaml.YAMLError:
        value = raw
    except RecursionError:
        raise InputError("--set", key, "a value nested less deeply",
                         "nesting deeper than the parser can follow") from None
    return key.split("."), value


def overridden_keys(overrides: list[str] | None) -> frozenset:
    return frozenset(".".join(parse_set_option(t)[0]) for t in overrides or [])


def apply_overrides(tree: dict, overrides: list[str] | None, schema: Group) -> dict:
    """Apply ``--set`` overrides; the key must exist in the schema (checked here so the
    error names ``--set``, not the file). Setting the selector of a one-of section to another
    variant (``traces.source=synthetic``) switches the section: the keys the new variant does
    not declare are dropped, the ones it does are kept, and later overrides may set the rest."""
    tree = copy.deepcopy(tree)
    for text in overrides or []:
        path, value = parse_set_option(text)
        if path == ["extends"]:  # merged when the file is read, before any override
            raise InputError("--set", "extends", "extends only inside a config file (give the "
                             "config to start from as the ARCH argument)", value)
        spec: Any = schema
        node_in_tree: Any = tree
        switched = None     # (one-of spec, its node) when this override sets a selector
        for i, part in enumerate(path):
            if isinstance(spec, OneOf):  # e.g. traces.epochs: the variant in force decides
                kind = (node_in_tree.get(spec.selector, spec.default_variant)
                        if isinstance(node_in_tree, dict) else spec.default_variant)
                if part == spec.selector:
                    switched = spec
                    spec = Param("choice", None, spec.doc, choices=tuple(spec.variants))
                    continue
                spec = spec.variants.get(kind if isinstance(kind, str) else "", Group("", {}))
            if isinstance(spec, Group) and part in spec.fields:
                spec = spec.fields[part]
                node_in_tree = node_in_tree.get(part) if isinstance(node_in_tree, dict) else None
            else:
                known = (" (one of: " + ", ".join(spec.fields) + ")"
                         if isinstance(spec, Group) and spec.fields else "")
                raise InputError("--set", ".".join(path[: i + 1]), "a known key" + known,
                                 "unknown key")
        node = tree
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        # Validate the overridden leaf on its own so the error points at --set.
        if isinstance(spec, (Param, ListOf)):
            spec.validate(value, "--set", ".".join(path))
        elif isinstance(spec, Group) and not isinstance(value, dict):
            raise InputError("--set", ".".join(path), "a mapping of keys (or one key inside "
                             "it, e.g. KEY.sub=VALUE)", value)
        if switched is not None and value != node.get(path[-1], switched.default_variant):
            keep = switched.variants[value].fields
            for k in [k for k in node if k != switched.selector and k not in keep]:
                del node[k]
        node[path[-1]] = value
    return tree


# --------------------------------------------------------------------------- config object


class Config:
    """Read-only nested view over a validated dict: ``cfg.core.fp.lanes``.

    ``source`` is the file the config came from, so later semantic checks (mapper,
    capacities) can still raise one-line errors that name it.
    """

    __slots__ = ("_data", "_source", "_path", "_overridden", "_sections", "_derived")

    def __init__(self, data: dict, source: str = "<config>", path: str = "",
                 overridden: frozenset = frozenset()):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_overridden", overridden)
        # views of sub-sections, made once (the simulator reads ``cfg.a.b.c`` in hot loops)
        object.__setattr__(self, "_sections", {})
        object.__setattr__(self, "_derived", {})   # see derived()

    @property
    def origin(self) -> str:
        """The file this config was loaded from (``<dict>`` when built in code)."""
        return self._source

    def __getattr__(self, name):
        sub = self._sections.get(name)
        if sub is not None:
            return sub
        try:
            v = self._data[name]
        except KeyError:
            raise AttributeError(f"{self._path or 'config'} has no key {name!r}") from None
        if isinstance(v, dict):
            sub = self._sections[name] = Config(v, self._source, _join(self._path, name),
                                                self._overridden)
            return sub
        return v

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __contains__(self, name):
        return name in self._data

    def __setattr__(self, name, value):
        raise AttributeError("configs are read-only; use --set or with_overrides()")

    def __reduce__(self):
        # pickle and copy.deepcopy rebuild the view from its data (by default they would set
        # the slots through __setattr__, and read them through __getattr__ before that)
        return (Config, (self._data, self._source, self._path, self._overridden))

    def get(self, dotted: str, default=None):
        node: Any = self._data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def keys(self):
        return self._data.keys()

    def derived(self, fn):
        """``fn(self)``, computed on the first call only (the config is read-only): for
        values derived from it that a simulation asks for many times."""
        got = self._derived.get(fn)
        if got is None:
            got = self._derived[fn] = fn(self)
        return got

    def to_dict(self) -> dict:
        return copy.deepcopy(self._data)

    def is_overridden(self, key: str) -> bool:
        """Whether ``key`` (relative to this node) was set by a command-line override, itself
        or with the section or list that holds it (``chip.mesh={cols: 5}`` sets
        ``chip.mesh.cols``, ``chip.dram_nodes=[[9, 9]]`` sets ``chip.dram_nodes[0]``)."""
        parts = re.sub(r"\[\d+\]", "", _join(self._path, key)).split(".")
        return any(".".join(parts[:i]) in self._overridden for i in range(1, len(parts) + 1))

    def blamed(self, *keys: str) -> str:
        """Which of the keys a cross-key check that failed on them names: the first one a
        command-line override set (the value the user just changed), else the first."""
        return next((k for k in keys if self.is_overridden(k)), keys[0])

    def overrides(self) -> list:
        """The keys set by command-line overrides (``--set``), sorted."""
        return sorted(self._overridden)

    def source_of(self, key: str) -> str:
        """Where ``key`` (relative to this node) got its value: ``--set`` for a command-line
        override, else the config's file."""
        return "--set" if self.is_overridden(key) else self._source

    def error(self, key: str, expected: str, got=None) -> InputError:
        """An InputError about ``key`` (relative to this node) in this config's file, or
        naming ``--set`` when the key came from a command-line override."""
        full = _join(self._path, key)
        source = self.source_of(key)
        if got is None:
            return InputError(source, full, expected)
        return InputError(source, full, expected, got)

    def __repr__(self):
        return f"Config({self._path or 'root'} from {self._source})"


# --------------------------------------------------------------------------- docs


def reference_markdown(schema: Group, title: str, intro: str = "") -> str:
    """Markdown table of every key: path, type, default, unit, meaning."""
    lines = [f"## {title}", ""]
    if intro:
        lines += [intro, ""]
    lines += ["| key | type | default | unit | meaning |", "|---|---|---|---|---|"]

    def fmt_default(p: Param):
        if p.default is REQUIRED:
            return "*required*"
        if isinstance(p.default, str):
            return f"`{p.default}`"
        if p.default is None:
            return "`null`"
        if isinstance(p.default, bool):
            return "`true`" if p.default else "`false`"
        return f"`{p.default}`"

    def walk(spec, path):
        if isinstance(spec, Param):
            lines.append(f"| `{path}` | {spec.expected()} | {fmt_default(spec)} | "
                         f"{spec.unit or '-'} | {spec.doc} |")
        elif isinstance(spec, Group):
            if path:
                lines.append(f"| `{path}` | group | | | {spec.doc} |")
            for k, sub in spec.fields.items():
                walk(sub, _join(path, k))
        elif isinstance(spec, OneOf):
            lines.append(f"| `{path}` | group | | | {spec.doc} |")
            for kind, group in spec.variants.items():
                lines.append(f"| `{path}.{spec.selector} = {kind}` | variant | | | {group.doc} |")
                for k, sub in group.fields.items():
                    walk(sub, f"{path}[{kind}].{k}")
        elif isinstance(spec, ListOf):
            lines.append(f"| `{path}` | list | | | {spec.doc} |")
            for kind, group in spec.variants.items():
                lines.append(f"| `{path}[].type = {kind}` | variant | | | {group.doc} |")
                for k, sub in group.fields.items():
                    walk(sub, f"{path}[{kind}].{k}")

    walk(schema, "")
    return "\n".join(lines) + "\n"
