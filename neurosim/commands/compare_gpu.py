"""``neurosim compare-gpu``: DRAM bytes of one training step, chip vs a GPU baseline model
(docs/gpu-baseline.md), with measured GPU figures beside the model when given."""
from __future__ import annotations

from ..fileio import OutputDir


def cmd_compare_gpu(args) -> int:
    from ..baselines.compare import (all_workloads_markdown, compare, render,
                                     write_outputs)
    from ..errors import InputError

    if args.all:
        if args.workload or args.gpu_measured:
            raise InputError("compare-gpu", "--all", "no WORKLOAD and no --gpu-measured "
                             "with --all", args.workload or args.gpu_measured)
        fws = [args.framework] if args.framework else ["spikingjelly", "snntorch"]
        text = all_workloads_markdown(args.arch, args.gpu, fws, args.gpu_set,
                                      gpu_only=args.gpu_only)
        print(text)
        if args.out:
            from pathlib import Path

            from ..fileio import atomic_write_text

            p = Path(args.out) / f"all_{args.gpu}.md"
            atomic_write_text(p, text + "\n")
            print(f"wrote {p}")
        return 0
    if not args.workload:
        raise InputError("compare-gpu", "WORKLOAD", "a workload name or YAML (or --all)",
                         None)
    c = compare(args.arch, args.workload, args.gpu, args.framework or "spikingjelly",
                args.gpu_set, args.overrides, args.gpu_measured, gpu_only=args.gpu_only)
    print(render(c))
    if args.out:
        for p in write_outputs(c, args.out):
            print(f"wrote {p}")
    return 0


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("compare-gpu", help="DRAM traffic per tensor kind and phase: chip vs "
                       "a GPU baseline model (and measured GPU figures)")
    p.add_argument("arch", help="chip arch config (name or YAML)")
    p.add_argument("workload", nargs="?", help="workload name or YAML")
    p.add_argument("--gpu", default="a100-40gb",
                   help="GPU preset: a100-40gb (default), a100-80gb, h100")
    p.add_argument("--framework", choices=("spikingjelly", "snntorch"), default=None,
                   help="how the GPU runs the step (default spikingjelly; --all: both)")
    p.add_argument("--gpu-measured", metavar="FILE",
                   help="measured-CSV of the same step (docs/gpu-baseline.md)")
    p.add_argument("--gpu-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a GPU model key, e.g. l2_mode=unified (repeatable)")
    add_set(p, "override a chip arch config key (repeatable)")
    p.add_argument("--gpu-only", action="store_true",
                   help="GPU side only (no chip simulation)")
    p.add_argument("--all", action="store_true",
                   help="every workloads/*.yaml, a Markdown table (docs/results-gpu.md)")
    p.add_argument("--out", metavar="DIR", type=OutputDir, help="write the table (CSV) and bar chart (PNG)")
    p.set_defaults(fn=cmd_compare_gpu)
