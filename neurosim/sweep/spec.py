"""Sweep specs: what to run. A spec names a base arch config and workload and the points to
run over them, as a cartesian ``grid`` and/or an explicit list of ``points``::

    name: vgg11-cores
    arch: ../../arch_configs/paper-20core.yaml    # relative to this file, or a config name
    workload: ../vgg11-cifar10.yaml
    set: {noc.model: cycle}                       # applied to every point (optional)
    grid:                                         # cartesian product, first key slowest
      chip.cores: [1, 2, 4, 8, 16, 20]
    points:                                       # explicit points (optional); with a grid,
      - {core.fp.lanes: 16, core.bp.lanes: 8}     # every point is crossed with the grid
      - {core.fp.lanes: 32, core.bp.lanes: 16}

Keys are ``neurosim run --set`` keys: ``workload.``-prefixed keys go to the workload, the
others to the arch config. Every point is resolved and validated here, before anything runs;
a point is identified by the hash of its fully resolved config and workload, so the same
point is never run twice and a results store can tell which points are missing.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..api import load_arch
from ..arch import read_yaml, resolve_arch_path
from ..errors import MISSING, InputError
from ..params import parse_set_option
from ..workload.schema import load_workload, resolve_workload_path

WORKLOAD_PREFIX = "workload."
SPEC_KEYS = ("name", "description", "arch", "workload", "set", "grid", "points")


@dataclass(frozen=True)
class Point:
    """One fully resolved design point."""

    index: int                 # position in the spec's expansion (after de-duplication)
    keys: dict                 # the point's own swept keys -> values (grid and points entries)
    overrides: tuple           # every override as "KEY=VALUE" (set + keys), run --set syntax
    hash: str                  # sha256 of the canonical JSON of config + workload
    config: dict = field(repr=False, compare=False)    # resolved arch config
    workload: dict = field(repr=False, compare=False)  # resolved workload

    @property
    def label(self) -> str:
        return " ".join(f"{k}={_fmt(v)}" for k, v in self.keys.items()) or "(base)"


@dataclass
class SweepSpec:
    name: str
    arch: str                  # resolved path of the base arch config
    workload: str              # resolved path of the base workload
    fixed: dict                # ``set:``
    grid: dict
    points: list
    source: str = "<dict>"     # the spec file as the user named it
    path: Path | None = None
    description: str = "-"

    @property
    def swept_keys(self) -> list[str]:
        keys = list(self.grid)
        for p in self.points:
            keys += [k for k in p if k not in keys]
        return keys


# --------------------------------------------------------------------------- loading


def load_spec(spec, base_dir: Path | None = None) -> SweepSpec:
    """Read and check a spec (a YAML path or a dict). Paths inside a spec file are relative
    to it; inside a dict, relative to ``base_dir`` (default: the working directory)."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        raw, source, path = dict(spec), "<dict>", None
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(spec)
        raw, source = read_yaml(path, "sweep spec"), str(spec)
        base = path.parent
    for k in raw:
        if k not in SPEC_KEYS:
            raise InputError(source, str(k), "one of the known keys: " + ", ".join(SPEC_KEYS),
                             "unknown key")
    name = raw.get("name", path.stem if path is not None else "sweep")
    if not isinstance(name, str) or not name:
        raise InputError(source, "name", "a non-empty string", name)
    desc = raw.get("description", "-")
    if not isinstance(desc, str):
        raise InputError(source, "description", "a string", desc)

    arch = raw.get("arch")
    if not isinstance(arch, str) or not arch:
        raise InputError(source, "arch", "a base arch config (path relative to the spec, or "
                         "a name in arch_configs/)", arch)
    arch_path = resolve_arch_path(arch, base)
    if not arch_path.is_file():
        raise InputError(source, "arch", "an existing arch config (path relative to the "
                         "spec, or a name in arch_configs/)", arch)
    wl = raw.get("workload")
    if not isinstance(wl, str) or not wl:
        raise InputError(source, "workload", "a base workload (path relative to the spec, or "
                         "a name in workloads/)", wl)
    wl_path = base / wl if (base / wl).is_file() else resolve_workload_path(wl)
    if not Path(wl_path).is_file():
        raise InputError(source, "workload", "an existing workload file (path relative to the "
                         "spec, or a name in workloads/)", wl)

    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise InputError(source, "set", "a mapping of KEY: value applied to every point", fixed)
    _check_keys(fixed, source, "set")

    grid = raw.get("grid")
    points = raw.get("points")
    if grid is None and points is None:
        raise InputError(source, "grid", "a grid or a list of points to sweep", "neither")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            raise InputError(source, "grid", "a non-empty mapping of KEY: [values]", grid)
        _check_keys(grid, source, "grid")
        for k, vals in grid.items():
            if not isinstance(vals, list) or not vals:
                raise InputError(source, f"grid.{k}", "a non-empty list of values", vals)
    if points is not None:
        if not isinstance(points, list) or not points:
            raise InputError(source, "points", "a non-empty list of {KEY: value} mappings",
                             points)
        for i, p in enumerate(points):
            if not isinstance(p, dict):
                raise InputError(source, f"points[{i}]", "a mapping of KEY: value", p)
            _check_keys(p, source, f"points[{i}]")
    grid, points = dict(grid or {}), [dict(p) for p in points or []]
    n = point_count(grid, points)
    if n > MAX_POINTS:  # counted, never materialised
        sizes = " x ".join(str(len(v)) for v in grid.values())
        if points:
            sizes = f"{sizes} x {len(points)} points" if sizes else f"{len(points)} points"
        raise InputError(source, "grid" if grid else "points", f"at most {MAX_POINTS:,} "
                         "points (split the sweep into several specs)", f"{n:,} ({sizes})")
    for k in fixed:
        if k in grid or any(k in p for p in points):
            raise InputError(source, f"set.{k}", "a key that is not also swept in grid or "
                             "points", k)
    for i, p in enumerate(points):
        for k in p:
            if k in grid:
                raise InputError(source, f"points[{i}].{k}", "a key that is not also in grid",
                                 k)
    # Absolute paths: workers of an existing cluster need not share our working directory.
    return SweepSpec(name=name, arch=str(Path(arch_path).resolve()),
                     workload=str(Path(wl_path).resolve()), fixed=fixed,
                     grid=grid, points=points, source=source, path=path, description=desc)


# Every point is resolved and validated before the first runs (a few ms each), and each
# is a row of the results store: past this a sweep is a mistake, not a plan.
MAX_POINTS = 100_000


def point_count(grid: dict, points: list) -> int:
    """How many points a grid (cross product) times a list of points makes."""
    n = math.prod(len(v) for v in grid.values())
    return n * max(1, len(points))


def _check_keys(mapping: dict, source: str, where: str) -> None:
    for k in mapping:
        if (not isinstance(k, str) or not k or any(p == "" for p in k.split("."))
                or k == WORKLOAD_PREFIX.rstrip(".")):
            raise InputError(source, f"{where}.{k}", "a dotted config key such as "
                             "chip.cores or workload.time_steps", k)


# --------------------------------------------------------------------------- expansion


def encode_value(value, source: str = "<spec>", key: str = "") -> str:
    """A YAML value as ``--set`` text that reads back as the same value."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(source, key, "a finite number", value)
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if text.endswith("..."):  # a bare scalar ends the document
        text = text[:-3].rstrip()
    if "\n" in text or parse_set_option(f"x={text}")[1] != value:
        raise InputError(source, key, "a plain YAML scalar, list or mapping", value)
    return text


def split_overrides(overrides) -> tuple[list[str], list[str]]:
    """``run --set`` semantics: ``workload.``-prefixed keys to the workload, others to the arch."""
    arch, wl = [], []
    for text in overrides:
        if text.startswith(WORKLOAD_PREFIX):
            wl.append(text[len(WORKLOAD_PREFIX):])
        else:
            arch.append(text)
    return arch, wl


def config_hash(config: dict, workload: dict) -> str:
    """Stable identity of a point: sha256 of the canonical JSON of its resolved inputs."""
    text = json.dumps({"arch": config, "workload": workload}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _combinations(spec: SweepSpec):
    grid_keys = list(spec.grid)
    combos = [dict(zip(grid_keys, vals)) for vals in itertools.product(*spec.grid.values())]
    entries = spec.points or [{}]
    for j, entry in enumerate(entries):
        for combo in combos:
            yield {**combo, **entry}, (j if spec.points else None)


def expand_points(spec: SweepSpec) -> tuple[list[Point], list[tuple[str, str]]]:
    """Every point of the spec, resolved and validated (raises InputError naming the spec
    entry at fault). Returns (unique points, duplicates as (label, label of the kept one))."""
    load_arch(spec.arch)  # the bases alone first, so their own errors name only them
    load_workload(spec.workload)
    points: list[Point] = []
    by_hash: dict[str, Point] = {}
    dups: list[tuple[str, str]] = []
    fixed_text = [f"{k}={encode_value(v, spec.source, f'set.{k}')}" for k, v in spec.fixed.items()]
    traces_checked: set = set()
    for keys, entry in _combinations(spec):
        where = {k: f"set.{k}" for k in spec.fixed}
        where.update({k: (f"points[{entry}].{k}" if entry is not None and k in spec.points[entry]
                          else f"grid.{k}") for k in keys})
        texts = fixed_text + [f"{k}={encode_value(v, spec.source, where[k])}"
                              for k, v in keys.items()]
        arch_o, wl_o = split_overrides(texts)
        try:
            cfg = load_arch(spec.arch, arch_o)
            wl = load_workload(spec.workload, wl_o)
        except InputError as e:
            raise _spec_error(e, spec, where, keys) from None
        _check_trace_file(wl, traces_checked)
        h = config_hash(cfg.to_dict(), wl.to_dict())
        p = Point(index=len(points), keys=keys, overrides=tuple(texts), hash=h,
                  config=cfg.to_dict(), workload=wl.to_dict())
        if h in by_hash:
            dups.append((p.label, by_hash[h].label))
            continue
        by_hash[h] = p
        points.append(p)
    return points, dups


def _check_trace_file(wl, checked: set) -> None:
    """A point whose trace is a file: the file is loaded and checked against the point's
    network now (once per file and network), as ``neurosim run`` would before simulating,
    rather than failing as a point later."""
    if wl.traces.source != "file":
        return
    from ..workload import build_network, load_trace

    network = build_network(wl)
    key = (str(wl.traces.path), network.to_json())
    if key not in checked:
        load_trace(wl.traces.path, expect=network)
        checked.add(key)


def _spec_error(e: InputError, spec: SweepSpec, where: dict, keys: dict) -> InputError:
    """Re-point an override error at the spec entry it came from; an error that only this
    point's combination of keys provokes also names the point."""
    label = " ".join(f"{k}={_fmt(v)}" for k, v in keys.items()) or "(base)"
    got = () if e.got is MISSING else (e.got,)
    if e.source != "--set":  # a cross-key check naming a base-file key
        return InputError(e.source, e.key, f"{e.expected} (with point {label} of {spec.source})",
                          *got)
    origin = None
    for full, entry in where.items():
        if any(full == c or full.startswith(c + ".") for c in (e.key, WORKLOAD_PREFIX + e.key)):
            origin = entry
            break
    expected = e.expected
    if origin is None or len(keys) + len(spec.fixed) > 1:
        expected += f" (in point {label})"
    return InputError(spec.source, origin or e.key, expected, *got)


def _fmt(v) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)
