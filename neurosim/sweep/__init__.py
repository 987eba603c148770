"""Design-space sweeps: a spec of points over any config or workload key, run on Dask (a
local cluster by default, or an existing one), results in a resumable SQLite store, plots.

>>> from neurosim.sweep import run_sweep
>>> report = run_sweep("workloads/sweeps/vgg11-cores.yaml", workers=2)   # doctest: +SKIP
>>> print(report.line())                                                 # doctest: +SKIP

See docs/sweeps.md.
"""
from .driver import SweepReport, default_db, plan, run_sweep, runs_dir_for
from .spec import Point, SweepSpec, config_hash, expand_points, load_spec
from .store import RUN_COLUMNS, ResultStore
from .worker import DEFAULT_RUNNER

__all__ = ["run_sweep", "plan", "SweepReport", "default_db", "runs_dir_for", "Point",
           "SweepSpec", "config_hash", "expand_points", "load_spec", "ResultStore",
           "RUN_COLUMNS", "DEFAULT_RUNNER"]
