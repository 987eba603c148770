"""A digest of what the mapper decides, for refactors of the mapper that must change no
result (docs/performance.md, "Run plots as SVG, and the NoC route table"): every
``ScheduleEstimate`` call's result (the float's repr) in call order and the final placement
(``Placement.to_dict``) of ``api.map_step`` for the shipped workloads on several archs and
schedule variants, including a data-parallel strategy (several replicas).

    python benchmarks/mapper_digest.py            # one line per case, then the digest
    python benchmarks/mapper_digest.py --json F   # also every call's result and placement

Run it on the tree before and after a change (a ``git worktree`` on ``PYTHONPATH``): the
digests must be equal. About a minute.
"""
from __future__ import annotations

import argparse
import hashlib
import json

from neurosim import api
from neurosim.api import load_configs, build_network
from neurosim.errors import InputError
from neurosim.mapping import estimate

WORKLOADS = ("mlp-digits", "convnet-digits", "gesture-dvs128", "vgg11-cifar10",
             "vgg-cifar10dvs", "resnet19-cifar10")
VARIANTS = (("paper-20core", ()), ("paper-20core-85mib", ()), ("single-core", ()),
            ("paper-20core", ("schedule.layer_pipeline=false",)),
            ("paper-20core", ("schedule.bp_wg_overlap=false", "schedule.fp_bp_overlap=false")),
            ("paper-20core", ("noc.model=ideal", "dram.model=ideal")),
            ("paper-20core-85mib", ("mapping.strategy=data-parallel",)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write every case's estimates and placement here")
    args = ap.parse_args(argv)
    calls: list = []
    schedule = estimate.ScheduleEstimate.__call__

    def logged(self, placement, time_steps):
        cycles = schedule(self, placement, time_steps)
        calls.append(repr(cycles))
        return cycles

    estimate.ScheduleEstimate.__call__ = logged
    out = {}
    for arch, sets in VARIANTS:
        for wl in WORKLOADS:
            key = " ".join([arch, wl, *sets])
            calls.clear()
            try:
                a, w = load_configs(arch, wl, list(sets))
                placement = api.map_step(a, build_network(w), w).to_dict()
                out[key] = {"calls": list(calls), "placement": placement}
            except InputError as e:        # a workload that does not fit: its error
                out[key] = {"calls": list(calls), "error": str(e)}
            print(f"{key}: {len(calls)} estimates", flush=True)
    text = json.dumps(out, sort_keys=True)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    print("digest", hashlib.sha256(text.encode()).hexdigest())


if __name__ == "__main__":
    main()
