"""What runs on a Dask worker: one point, through a swappable point runner.

A point runner is named by an import string ``module:function`` (default
``neurosim.api:run``) and called as ``fn(arch, workload, overrides=[...], out_dir=DIR,
progress=False)``; it returns an object with a ``.summary`` mapping (or the mapping itself)
and writes its full stats into ``out_dir``. This module stays light: workers import it.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import numbers
import os
import socket
import time
import traceback
from pathlib import Path

from ..fileio import directory_built_beside

DEFAULT_RUNNER = "neurosim.api:run"

_cache: dict[str, object] = {}


class RunnerNotFound(Exception):
    """The point runner named by an import string does not exist."""


def resolve_runner(path: str):
    """``module:function`` -> the function (cached)."""
    if path in _cache:
        return _cache[path]
    mod_name, sep, attr = path.partition(":")
    if not sep or not mod_name or not attr:
        raise RunnerNotFound(f"{path!r} is not of the form module:function")
    try:
        obj = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        if e.name and (mod_name == e.name or mod_name.startswith(e.name + ".")):
            raise RunnerNotFound(f"no module named {e.name}") from None
        raise  # the module exists but fails to import: a bug, not a missing runner
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RunnerNotFound(f"{mod_name} has no {attr}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise RunnerNotFound(f"{path} is not callable")
    _cache[path] = obj
    return obj


def check_runner(path: str) -> str | None:
    """None if the runner resolves here, else why not (run on every worker up front)."""
    try:
        resolve_runner(path)
    except RunnerNotFound as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - reported to the driver as one line
        return f"{type(e).__name__}: {e}"
    return None


def summary_numbers(summary) -> dict:
    """Every top-level number of a summary (bools and nested values left out)."""
    out = {}
    for k, v in dict(summary).items():
        # numbers.Real covers numpy scalars too (np.int64 is no int); bools are no numbers here
        if not isinstance(v, numbers.Real) or type(v).__name__ in ("bool", "bool_"):
            continue
        v = v.item() if hasattr(v, "item") else v
        v = int(v) if isinstance(v, numbers.Integral) else float(v)
        out[str(k)] = None if isinstance(v, float) and math.isnan(v) else v
    return out


def run_point(runner: str, arch: str, workload: str, overrides: list[str],
              out_dir: str | None) -> dict:
    """Run one point; never raises for a failure of the point itself (that is a result:
    status "error" with its text). Output goes to a directory built beside ``out_dir`` and
    renamed into place only when the point succeeds (:func:`neurosim.fileio.
    directory_built_beside`; an earlier output of the point is replaced), so a killed point
    leaves no partial stats behind."""
    fn = resolve_runner(runner)  # outside the try: a worker without the runner is not a result
    t0 = time.perf_counter()
    final = Path(out_dir) if out_dir is not None else None
    result = {"runner": runner, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        with (directory_built_beside(final) if final is not None
              else contextlib.nullcontext()) as tmp:
            res = fn(arch, workload, overrides=list(overrides),
                     out_dir=str(tmp) if tmp is not None else None, progress=False)
            summary = res.summary if hasattr(res, "summary") else res
            if summary is None and tmp is not None and (tmp / "summary.json").is_file():
                import json

                summary = json.loads((tmp / "summary.json").read_text())
            if summary is None:
                raise TypeError(f"point runner {runner} returned neither a summary nor a "
                                "summary.json")
            result["summary"] = summary_numbers(summary)
        if final is not None:
            stats = final / "stats.json"
            result["stats_path"] = str(stats if stats.is_file() else final)
        result["status"] = "ok"
    except Exception as e:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        result.pop("summary", None)
        result["status"] = "error"
        result["error"] = " ".join(f"{type(e).__name__}: {e}".split())
        result["traceback"] = traceback.format_exc()
    result["wall_s"] = time.perf_counter() - t0
    return result
