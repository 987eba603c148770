"""``neurosim scaling ARCH WORKLOAD --cores 1,2,4 --out DIR``: the scaling study
(:mod:`neurosim.experiments.scaling`). Writes DIR/scaling.csv, DIR/scaling.md and
DIR/scaling.png.
"""
from __future__ import annotations

from ..fileio import OutputDir

from pathlib import Path

from ..errors import InputError


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("scaling", help="one training step on several core counts, engine "
                       "parallelism on and off (CSV, Markdown table, PNG plot)")
    p.add_argument("arch")
    p.add_argument("workload")
    p.add_argument("--cores", default="1,2,4,8,16,20", help="core counts (default %(default)s)")
    add_set(p)
    p.add_argument("--out", required=True, metavar="DIR", type=OutputDir)
    p.set_defaults(fn=cmd_scaling)


def cmd_scaling(args) -> int:
    import sys

    from .. import api
    from ..experiments.scaling import (as_sweep_rows, bounds_markdown, cycles_markdown,
                                       parse_cores, scaling_study, to_csv, to_markdown)
    from ..plots import figure, scaling_figure
    from ..timing import CYCLE_CLASSES

    cores = parse_cores(args.cores)
    arch = api.load_arch(args.arch, api.split_overrides(args.overrides)[0])
    nodes = arch.chip.mesh.cols * arch.chip.mesh.rows
    if max(cores) > nodes:
        raise InputError("--cores", "--cores", f"core counts of at most the {nodes} mesh nodes",
                         max(cores))
    rows = scaling_study(args.arch, args.workload, cores, args.overrides,
                         progress=lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wl = api.load_workload(args.workload, api.split_overrides(args.overrides)[1])
    md = (to_markdown(rows, cores[0]) + "\nWhere the cycles went (% of cores x step cycles; "
          "critical path: % of the step):\n\n" + cycles_markdown(rows)
          + "\nWhat bounds the DRAM path (port and bus: % of the step's cycles busy; request "
          "cycles in NoC: the DRAM packets' NoC latency over that plus the controller's "
          "arrival-to-data time):\n\n" + bounds_markdown(rows))
    for name, text in (("scaling.csv", to_csv(rows)), ("scaling.md", md)):
        api.write_text(out / name, text)
    title = f"{wl.name} on {arch.name}: one training step"
    scaling_figure(rows, out / "scaling.png", title)
    # the three engines' cycles by class, summed: each bar is 1 (cores x step cycles x 3)
    figure(as_sweep_rows(rows), "cores", [f"cycles_{c}" for c in CYCLE_CLASSES], "stacked",
           out / "cycles.png", ["engine_parallelism"], title=title,
           ylabel="fraction of the engines' cycles")
    print(md, end="")
    print(f"wrote {out}/scaling.csv, scaling.md, scaling.png, cycles.png")
    return 0
