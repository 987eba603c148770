"""``neurosim reproduce [ARCH] --out DIR``: the paper's headline claims, simulated."""
from __future__ import annotations

from ..fileio import OutputDir

import sys


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce the paper's headline figures by simulation "
                       "(report.md, results.json)")
    p.add_argument("arch", nargs="?", default="arch_configs/paper-20core.yaml",
                   help="arch config (default: arch_configs/paper-20core.yaml)")
    p.add_argument("--out", default="results/paper-20core", metavar="DIR", type=OutputDir,
                   help="output directory (default: results/paper-20core)")
    p.add_argument("--gpu", default="a100-40gb", help="GPU preset of the DRAM comparison")
    p.add_argument("--quick", action="store_true",
                   help="only mlp-digits and vgg11-cifar10, no federated learning, the "
                   "sensitivity study's quick variant (two SRAM points per workload)")
    p.add_argument("--workloads", default=None, metavar="W,...",
                   help="only these shipped workloads (comma-separated names), for the "
                   "training steps and the sensitivity study")
    p.add_argument("--no-sensitivity", action="store_true",
                   help="leave out the sensitivity study (where the claims hold)")
    p.add_argument("--sensitivity-memory", choices=("ideal", "config"), default="ideal",
                   help="the study's memory system: ideal (default: each point placed for "
                   "its config, simulated with the ideal NoC and DRAM; DRAM bytes exact, step "
                   "time a lower bound) or config (the config's own models; minutes per "
                   "spilling point)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes for the independent simulations (default: one per "
                   "CPU this process may use; 1 runs them all in this process)")
    p.set_defaults(fn=cmd_reproduce)


def cmd_reproduce(args) -> int:
    from ..api import InputError, load_arch
    from ..baselines.gpu import load_gpu
    from ..experiments.reproduce import (default_jobs, report_markdown, reproduce,
                                         shipped_workloads, write_outputs)

    load_arch(args.arch)  # a bad config or GPU name fails here, before minutes of work
    load_gpu(args.gpu)
    if args.jobs is not None and args.jobs < 1:
        raise InputError("--jobs", "jobs", "a number of processes >= 1", args.jobs)

    def progress(msg):
        print(msg, file=sys.stderr, flush=True)

    workloads = None
    if args.workloads is not None:
        workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
        if not workloads:
            raise InputError("--workloads", "workloads", "comma-separated shipped workload "
                             "names", args.workloads)
        shipped_workloads(names=workloads)   # an unknown name fails here
    rep = reproduce(args.arch, args.gpu, quick=args.quick, federated=not args.quick,
                    progress=progress, jobs=args.jobs or default_jobs(),
                    sensitivity=not args.no_sensitivity, workloads=workloads,
                    sensitivity_memory=args.sensitivity_memory)
    command = "neurosim reproduce " + " ".join(
        [args.arch, "--out", args.out] + (["--gpu", args.gpu] if args.gpu != "a100-40gb" else [])
        + (["--quick"] if args.quick else [])
        + (["--workloads", ",".join(workloads)] if workloads else [])
        + (["--no-sensitivity"] if args.no_sensitivity else [])
        + (["--sensitivity-memory", args.sensitivity_memory]
           if args.sensitivity_memory != "ideal" else []))
    paths = write_outputs(rep, args.out, command)
    print(report_markdown(rep, command))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
