"""Wall-clock of the two plots of ``neurosim run --out``: ``gantt.svg``
(``timeline.gantt_svg``) and ``noc_links.svg`` (``memsys.heatmap.link_heatmap_svg``), drawn
from one run's result in one process (the run itself is not timed), min and median of
``--repeat`` calls each. With ``--base TREE`` (e.g. a ``git worktree`` of an earlier commit)
that tree's two plotting modules are loaded alongside and timed alternately with this
tree's, on the same result, so both see the same machine load (a tree from before
2026-12-05 draws PNGs with matplotlib: ``gantt_png``, ``link_heatmap_png``). The first
call of each (imports: matplotlib's about 0.75 s) is not timed; ``first (ms)`` shows it.

    python benchmarks/bench_plots.py [ARCH WORKLOAD] [--set KEY=VALUE ...] [--repeat N]
        [--base TREE] [--save DIR]

Defaults: paper-20core-85mib convnet-digits, 10 repetitions. ``--save DIR`` writes the
plots (``gantt.*``, ``noc_links.*``, and ``base_*`` with ``--base``) to look at.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

from neurosim import api, timeline
from neurosim.memsys import heatmap
from neurosim.memsys.topology import Mesh


def _load(name: str, path: Path):
    """``path`` as module ``name``: a name inside this package, so its relative imports
    resolve to this tree's modules and only the plotting code differs."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plots(tl, hm, result) -> dict:
    """The two plot calls as ``api.write_outputs`` makes them."""
    timing = result.timing
    noc = timing.extra.get("memsys", {}).get("noc")
    gantt = getattr(tl, "gantt_svg", None) or tl.gantt_png
    heat = getattr(hm, "link_heatmap_svg", None) or hm.link_heatmap_png
    calls = {"gantt": lambda: gantt(
        timing, f"{result.workload.name} on {result.arch.name}: "
        f"{timing.total_cycles:,} cycles")}
    if noc is not None:
        mesh = Mesh.of(result.arch)
        calls["heat map"] = lambda: heat(
            noc, mesh, f"{result.arch.get('name')} / {result.workload.get('name')}: NoC link "
            f"utilisation over {noc['cycles']:,} cycles")
    return calls


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arch", nargs="?", default="paper-20core-85mib")
    ap.add_argument("workload", nargs="?", default="convnet-digits")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--base", type=Path, help="a tree whose plotting code to time alongside")
    ap.add_argument("--save", type=Path, help="write the plots here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    result = api.run(args.arch, args.workload, args.set)
    print(f"{args.arch} {args.workload}: run {time.perf_counter() - t0:.1f} s", flush=True)
    trees = {"this": _plots(timeline, heatmap, result)}
    if args.base:
        trees["base"] = _plots(
            _load("neurosim._base_timeline", args.base / "neurosim/timeline.py"),
            _load("neurosim.memsys._base_heatmap", args.base / "neurosim/memsys/heatmap.py"),
            result)
    times = {(tree, plot): [] for tree, calls in trees.items() for plot in calls}
    files, first = {}, {}
    for tree, calls in trees.items():          # a warm-up call each (imports, font cache)
        for plot, call in calls.items():
            t = time.perf_counter()
            files[tree, plot] = call()
            first[tree, plot] = time.perf_counter() - t
    for i in range(args.repeat):
        for plot in trees["this"]:
            for tree in sorted(trees, reverse=i % 2 == 1):   # alternately first
                t = time.perf_counter()
                trees[tree][plot]()
                times[tree, plot].append(time.perf_counter() - t)
    print(f"{'plot':<10}{'tree':<6}{'first (ms)':>12}{'min (ms)':>10}{'median (ms)':>13}"
          f"{'file (KiB)':>12}")
    for (tree, plot), ts in sorted(times.items(), key=lambda kv: kv[0][::-1]):
        print(f"{plot:<10}{tree:<6}{1e3 * first[tree, plot]:>12.0f}{1e3 * min(ts):>10.0f}"
              f"{1e3 * statistics.median(ts):>13.0f}{len(files[tree, plot]) / 1024:>12.0f}")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for (tree, plot), data in files.items():
            ext = "svg" if data.lstrip().startswith(b"<svg") else "png"
            name = {"gantt": "gantt", "heat map": "noc_links"}[plot]
            (args.save / f"{'' if tree == 'this' else 'base_'}{name}.{ext}").write_bytes(data)


if __name__ == "__main__":
    main(sys.argv[1:])
