"""Fixed costs of a run that do not depend on the timing models (docs/performance.md,
"Posting a tile's messages in one batch, and fixed costs of the mapper and the outputs").

    python benchmarks/bench_fixed.py [--arch paper-20core] [--workload vgg11-cifar10]
        [--set workload.batch=1 --set workload.time_steps=1] [--repeat 3]

Prints the minimum and median seconds, in one process, of: the mapper's placement
(``api.map_step``), the placement's ``to_dict`` (placement.json), and parsing every bundled
YAML file with the loader neurosim uses (``neurosim.yamlio``) and with PyYAML's pure-Python
``SafeLoader``. Run it with another tree on ``PYTHONPATH`` to compare two trees.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

import neurosim
from neurosim import api


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="paper-20core")
    ap.add_argument("--workload", default="vgg11-cifar10")
    ap.add_argument("--set", action="append", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sets = a.set if a.set is not None else ["workload.batch=1", "workload.time_steps=1"]
    arch, wl = api.load_configs(a.arch, a.workload, sets)
    net = api.build_network(wl)
    trace = api.get_traces(wl, net)
    placement = api.map_step(arch, net, wl, trace)
    texts = [p.read_text() for p in
             sorted((Path(neurosim.__file__).parent / "data").rglob("*.yaml"))]
    try:
        from neurosim.yamlio import SafeLoader as loader
    except ImportError:      # a tree from before neurosim.yamlio
        loader = yaml.SafeLoader
    rows = [
        ("api.map_step", lambda: api.map_step(arch, net, wl, trace)),
        ("Placement.to_dict", placement.to_dict),
        (f"{len(texts)} bundled YAML files, {loader.__name__}",
         lambda: [yaml.load(t, Loader=loader) for t in texts]),
        (f"{len(texts)} bundled YAML files, SafeLoader",
         lambda: [yaml.load(t, Loader=yaml.SafeLoader) for t in texts]),
    ]
    print(f"{a.arch} {a.workload} {' '.join(sets)}")
    for name, fn in rows:
        lo, med = timed(fn, a.repeat)
        print(f"  {name:<44} min {lo:.3f} s  median {med:.3f} s")


if __name__ == "__main__":
    main()
