"""``neurosim sweep``, ``neurosim plot`` and ``neurosim export``: design-space sweeps on Dask,
their figures and their results as CSV (see docs/sweeps.md)."""
from __future__ import annotations

from ..fileio import OutputDir, OutputFile, check_output_dir, check_output_file

import argparse
import errno
import sqlite3
import sys


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a design-space sweep (grid or list of points) on Dask",
                       description="Run every point of a sweep spec that the results database "
                       "lacks: on a local Dask cluster sized to this machine, or on an existing "
                       "cluster (--scheduler). Run the same command again to resume.")
    p.add_argument("spec", help="sweep spec YAML (see docs/sweeps.md)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local Dask workers (default: one per CPU, at most one per point)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="send the points to an existing Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--db", default=None, metavar="FILE", type=OutputFile,
                   help="SQLite results database (default: SPEC_STEM.sweep.db beside the spec)")
    p.add_argument("--runs-dir", default=None, metavar="DIR", type=OutputDir,
                   help="where each point's full stats go (default: DB_STEM-runs/ beside the "
                   "database; must be visible to every worker)")
    p.add_argument("--processes", action=argparse.BooleanOptionalAction, default=True,
                   help="local workers as separate processes (default; simulations hold the "
                   "GIL) or as threads of this process")
    p.add_argument("--threads-per-worker", type=int, default=1, metavar="K",
                   help="threads per local worker (default 1)")
    p.add_argument("--retry-failed", action="store_true",
                   help="also rerun points recorded with status error")
    p.add_argument("--runner", default=None, metavar="MODULE:FUNCTION",
                   help="point runner (default neurosim.api:run; tests plug in a fake)")
    p.add_argument("--dry-run", action="store_true",
                   help="validate the spec and list its points and their status; run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(fn=cmd_sweep)

    pl = sub.add_parser("plot", help="figures of a sweep's results database",
                        description="Without --y: the default figures (speed-up and parallel "
                        "efficiency vs cores, DRAM traffic, energy breakdown, engine "
                        "utilisation) into a directory. With --y: one figure.")
    pl.add_argument("db", help="sweep results database")
    pl.add_argument("--x", default=None, metavar="KEY",
                    help="x axis: a swept key, a stat, or any resolved config key "
                    "(default: chip.cores if swept, else the first swept key)")
    pl.add_argument("--y", default=None, metavar="STAT",
                    help="stat(s) to plot: comma-separated names or globs (energy_*_j)")
    pl.add_argument("--kind", default="line", choices=("line", "bar", "stacked"))
    pl.add_argument("--out", default=None, metavar="FILE_OR_DIR",
                    help="figure file (with --y; .png/.pdf/.svg) or directory (default set; "
                    "default DB_STEM-plots/)")
    _add_scope(pl)
    pl.set_defaults(fn=cmd_plot)

    ex = sub.add_parser("export", help="write a sweep's results database as CSV")
    ex.add_argument("db", help="sweep results database")
    ex.add_argument("--csv", required=True, metavar="FILE", type=OutputFile, help="output CSV file")
    _add_scope(ex)
    ex.set_defaults(fn=cmd_export)


def _add_scope(p) -> None:
    p.add_argument("--all", action="store_true",
                   help="every row of the database, not only the points of each sweep's spec "
                   "as last run")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="only points with this key value (repeatable)")


def cmd_sweep(args) -> int:
    from ..sweep import DEFAULT_RUNNER, plan, run_sweep

    if args.dry_run:
        spec, points, dups, statuses, db = plan(args.spec, args.db)
        print(f"sweep {spec.name}: {len(points)} points; results database {db}")
        for p in points:
            print(f"  {p.index:>4}  {statuses.get(p.hash, 'todo'):<5}  {p.hash[:12]}  {p.label}")
        for label, kept in dups:
            print(f"  note: {label} is the same point as {kept}")
        return 0
    try:
        report = run_sweep(args.spec, db=args.db, workers=args.workers,
                           scheduler=args.scheduler,
                           point_runner=args.runner or DEFAULT_RUNNER,
                           processes=args.processes,
                           threads_per_worker=args.threads_per_worker,
                           retry_failed=args.retry_failed, runs_dir=args.runs_dir,
                           progress=not args.quiet)
    except sqlite3.OperationalError as e:
        if getattr(e, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
            raise
        # the command's one line for a full disk (cli.main); the database keeps the points
        # recorded so far, and running again resumes
        raise OSError(errno.ENOSPC, "No space left on device",
                      str(args.db or "the sweep's database")) from None
    if args.quiet and report.lost:
        label, why = report.lost[0]
        print(f"neurosim: {len(report.lost)} points did not finish, e.g. {label}: {why}",
              file=sys.stderr)
    print(report.line())
    return 0 if report.complete else 1


def cmd_plot(args) -> int:
    from ..plots import default_figures, plot_one

    scope = "all" if args.all else "current"
    if args.out is not None:   # a directory for the default set, a file for one figure
        (check_output_dir if args.y is None else check_output_file)(args.out, "--out")
    if args.y is None:
        written, notes = default_figures(args.db, args.out, args.x, scope, args.where)
        for n in notes:
            print(f"skipped {n}")
        for f in written:
            print(f"wrote {f}")
        return 0
    print(f"wrote {plot_one(args.db, args.y, args.x, args.kind, args.out, scope, args.where)}")
    return 0


def cmd_export(args) -> int:
    from ..sweep.results import export_csv

    out, n = export_csv(args.db, args.csv, "all" if args.all else "current", args.where)
    print(f"wrote {out} ({n} rows)")
    return 0
