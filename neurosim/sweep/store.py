"""The results store: one SQLite file per sweep (or shared by several).

Table ``points`` holds one row per design point, keyed by the hash of its resolved config
and workload: the point's keys (as JSON and one column per key, named by the key), status,
error text, wall time, the path of its full stats and one column per top-level number of its
summary. Columns are added as new keys and stats appear. Table ``spec_points`` lists, per
sweep name, the points of the spec as last run (index, hash, keys), so plots and exports
show the current spec's points even when the store also holds results of points since
removed from the spec.

Only the sweep driver writes (workers return results), one transaction per finished point,
in WAL mode with full sync: a killed driver leaves every finished point recorded and none
half-written.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path

from ..errors import InputError

SCHEMA_VERSION = 1

# Fixed columns of ``points``. Summary stats or keys with these names are stored under
# "summary.<name>" instead.
FIXED_COLUMNS = ("hash", "sweep", "keys", "status", "error", "traceback", "wall_s",
                 "stats_path", "runner", "worker", "finished_at", "config", "workload")
# Columns that describe the run rather than the result: they differ between two runs of the
# same point (and are left out when comparing results).
RUN_COLUMNS = ("wall_s", "worker", "finished_at", "stats_path")
STATUSES = ("ok", "error")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def db_value(v):
    """A value as stored: numbers as they are, lists and mappings as JSON."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float, str)) or v is None:
        return v
    return json.dumps(v, sort_keys=True)


class ResultStore:
    def __init__(self, path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(path, "", "an existing sweep results database", "no such file")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            if create:
                self._create()
            else:
                self._check()
        except sqlite3.DatabaseError as e:
            raise InputError(path, "", "a neurosim sweep results database (SQLite)",
                             str(e)) from None
        self._columns = self._read_columns()

    # ------------------------------------------------------------------ schema

    def _create(self) -> None:
        with self._tx():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                              (SCHEMA_VERSION,))
            cols = ", ".join(f"{_q(c)}{' TEXT PRIMARY KEY' if c == 'hash' else ''}"
                             for c in FIXED_COLUMNS)
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS points ({cols})")
            self.conn.execute("CREATE TABLE IF NOT EXISTS spec_points (sweep TEXT, "
                              "point_index INTEGER, hash TEXT, keys TEXT, "
                              "PRIMARY KEY (sweep, point_index))")
        self._check()

    def _check(self) -> None:
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"meta", "points", "spec_points"} <= tables:
            raise InputError(self.path, "", "a neurosim sweep results database",
                             "a database without its tables")
        (version,) = self.conn.execute(
            "SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if int(version) != SCHEMA_VERSION:
            raise InputError(self.path, "schema_version", f"{SCHEMA_VERSION}", version)

    def _read_columns(self) -> list[str]:
        return [r[1] for r in self.conn.execute("PRAGMA table_info(points)")]

    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self):
                store.conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, et, ev, tb):
                store.conn.execute("COMMIT" if et is None else "ROLLBACK")
                return False

        return _Tx()

    def _ensure_columns(self, names) -> None:
        for n in names:
            if n not in self._columns:
                # Untyped columns keep ints as ints and floats as floats.
                self.conn.execute(f"ALTER TABLE points ADD COLUMN {_q(n)}")
                self._columns.append(n)

    @staticmethod
    def _column_for(name: str) -> str:
        return f"summary.{name}" if name in FIXED_COLUMNS else name

    # ------------------------------------------------------------------ writing

    def set_spec_points(self, sweep: str, points) -> None:
        """Record the spec's current points (replacing the previous list for this sweep)."""
        with self._tx():
            self.conn.execute("DELETE FROM spec_points WHERE sweep=?", (sweep,))
            self.conn.executemany(
                "INSERT INTO spec_points VALUES (?, ?, ?, ?)",
                [(sweep, p.index, p.hash, json.dumps(p.keys, sort_keys=False)) for p in points])

    def record(self, sweep: str, point, result: dict) -> None:
        """Write one finished point (status, error, summary numbers...) in one transaction."""
        row = {
            "hash": point.hash, "sweep": sweep, "keys": json.dumps(point.keys),
            "status": result["status"], "error": result.get("error"),
            "traceback": result.get("traceback"), "wall_s": result.get("wall_s"),
            "stats_path": result.get("stats_path"), "runner": result.get("runner"),
            "worker": result.get("worker"),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": json.dumps(point.config, sort_keys=True),
            "workload": json.dumps(point.workload, sort_keys=True),
        }
        for k, v in point.keys.items():
            row[self._column_for(k)] = db_value(v)
        for k, v in (result.get("summary") or {}).items():
            row[self._column_for(k)] = v
        with self._tx():
            self._ensure_columns(row)
            names = list(row)
            self.conn.execute(
                f"INSERT OR REPLACE INTO points ({', '.join(map(_q, names))}) "
                f"VALUES ({', '.join('?' * len(names))})", [row[n] for n in names])

    # ------------------------------------------------------------------ reading

    def statuses(self) -> dict[str, str]:
        """hash -> status of every recorded point."""
        return dict(self.conn.execute("SELECT hash, status FROM points"))

    def sweeps(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT sweep FROM spec_points ORDER BY sweep")]

    def rows(self, scope: str = "current", sweep: str | None = None) -> list[dict]:
        """Recorded rows as dicts. scope "current": the points of each sweep's spec as last
        run, in spec order (with ``sweep``/``point_index`` of the spec); "all": every row."""
        if scope == "all":
            cur = self.conn.execute("SELECT * FROM points ORDER BY sweep, finished_at, hash")
            out = [dict(zip([d[0] for d in cur.description], r)) for r in cur]
            for r in out:
                r["point_index"] = None
        else:
            where = "WHERE sp.sweep=?" if sweep else ""
            cur = self.conn.execute(
                f"SELECT sp.sweep AS spec_sweep, sp.point_index AS point_index, "
                f"sp.keys AS spec_keys, p.* FROM spec_points sp JOIN points p "
                f"ON p.hash = sp.hash {where} ORDER BY sp.sweep, sp.point_index",
                (sweep,) if sweep else ())
            names = [d[0] for d in cur.description]
            out = []
            for r in cur:
                d = dict(zip(names, r))
                d["sweep"] = d.pop("spec_sweep")
                d["keys"] = d.pop("spec_keys")
                out.append(d)
        for r in out:
            r["keys"] = json.loads(r["keys"]) if r.get("keys") else {}
        return out

    def stat_columns(self) -> list[str]:
        """Columns holding summary numbers (not fixed, not point keys)."""
        key_cols = set()
        for (k,) in self.conn.execute("SELECT keys FROM points"):
            key_cols.update(self._column_for(x) for x in json.loads(k or "{}"))
        return [c for c in self._columns if c not in FIXED_COLUMNS and c not in key_cols]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and not (isinstance(v, float) and math.isnan(v)))
