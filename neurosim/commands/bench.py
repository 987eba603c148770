"""``neurosim bench``: the simulator's own speed on the runs of docs/performance.md, each in
its own process: wall time, simulated cycles and NoC packets per second, peak memory."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("bench", help="time the simulator on a fixed set of runs (wall time, "
                       "cycles/s, packets/s, peak memory) against its speed targets")
    p.add_argument("--quick", action="store_true", help="only the rows that take seconds")
    p.add_argument("--rows", nargs="+", metavar="TEXT",
                   help="only the rows whose name contains one of these")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(fn=cmd_bench)


def cmd_bench(args) -> int:
    import json
    import sys

    from ..errors import InputError
    from ..experiments.bench import format_table, run_bench, select_rows
    from ..fileio import atomic_write_text

    rows = select_rows(args.quick, args.rows)
    if not rows:
        raise InputError("--rows", " ".join(args.rows or []), "a part of a row's name",
                         "no row matches")

    def progress(row):
        print(f"bench: {row.name} ...", file=sys.stderr, flush=True)

    results = run_bench(rows, progress)
    print(format_table(results))
    if args.json:
        atomic_write_text(args.json, json.dumps([r.as_dict() for r in results], indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0 if all(r.returncode == 0 for r in results) else 1
