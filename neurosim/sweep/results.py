"""Reading a results store for plots and exports: rows, values by key, filters, CSV."""
from __future__ import annotations

import csv
from pathlib import Path

from ..errors import InputError
from ..fileio import atomic_write
from ..params import parse_set_option
from .spec import WORKLOAD_PREFIX
from .store import FIXED_COLUMNS, ResultStore, db_value

# Export column order: identity, keys, outcome, then every summary number.
_LEAD = ("sweep", "point_index", "hash")
_OUTCOME = ("status", "error", "wall_s", "stats_path", "runner", "worker", "finished_at")
_HIDDEN = ("keys", "config", "workload", "traceback")


def load_rows(db, scope: str = "current", where=()) -> tuple[list[dict], list[str], list[str]]:
    """(rows, swept keys in first-appearance order, stat columns) of a store."""
    with ResultStore(db, create=False) as store:
        rows = store.rows(scope)
        stats = store.stat_columns()
    for text in where or ():
        rows = _filter(rows, text)
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r["keys"] if k not in keys]
    return rows, keys, stats


def _filter(rows, text: str) -> list[dict]:
    try:
        path, want = parse_set_option(text)
    except InputError as e:
        raise InputError("--where", e.key, "KEY=VALUE (e.g. chip.cores=4)", text) from None
    key = ".".join(path)
    if rows and all(_lookup(r, key) is _ABSENT for r in rows):
        raise InputError("--where", key, "a swept key, a result column or a key of the "
                         "points' config or workload", "unknown key")
    return [r for r in rows if value_of(r, key) == want]


def value_of(row: dict, key: str):
    """A column of the row, or any key of its resolved config (``chip.mesh.cols``) or
    workload (``workload.batch``); None when absent."""
    got = _lookup(row, key)
    return None if got is _ABSENT else got


_ABSENT = object()


def _lookup(row: dict, key: str):
    if key in row["keys"]:
        return row["keys"][key]
    if key in row and key not in _HIDDEN:
        return row[key]
    import json

    if key.startswith(WORKLOAD_PREFIX):
        node, parts = row.get("workload"), key[len(WORKLOAD_PREFIX):].split(".")
    else:
        node, parts = row.get("config"), key.split(".")
    if isinstance(node, str):
        node = json.loads(node)
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return _ABSENT
        node = node[p]
    return node


def export_csv(db, out, scope: str = "current", where=()) -> tuple[Path, int]:
    """Write the store's rows as CSV, whole or not at all."""
    rows, keys, stats = load_rows(db, scope, where)
    cols = list(_LEAD) + keys + list(_OUTCOME) + [s for s in stats if s not in keys]
    out = Path(out)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in rows:
                w.writerow(["" if (v := (db_value(r["keys"].get(c)) if c in keys
                                         else r.get(c))) is None else v for c in cols])

    try:
        atomic_write(out, write)
    except OSError as e:
        raise InputError("--csv", str(out), "a writable file path", e.strerror) from None
    return out, len(rows)


assert not set(_OUTCOME + _HIDDEN + ("hash", "sweep")) - set(FIXED_COLUMNS)
