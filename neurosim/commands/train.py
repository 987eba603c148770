"""``neurosim train ARCH WORKLOAD``: train on the chip's functional datapath.

The chip model trains the network in ``core.precision`` with the engines' accumulation order
and, beside it, the float32 built-in trainer walks the same schedule (data, split,
calibrated initial weights, batches, input coding). Each step prints loss, batch accuracy,
the weight divergence between the two and the fraction of weight updates lost to rounding;
test accuracy every ``--eval-every`` steps and at the end; cycles and energy every
``--timing-every`` steps from the one simulation pipeline (:func:`neurosim.api.simulate_step`).
"""
from __future__ import annotations

from ..fileio import OutputDir

import csv
import dataclasses
import io
import json
from pathlib import Path

COLS = ["step", "epoch", "loss", "train_acc", "ref_loss", "ref_train_acc", "w_max_abs_diff",
        "w_rel_diff", "lost_updates", "test_acc", "ref_test_acc", "cycles", "energy_j",
        "tflops_per_w_dense"]
TIMING_COLS = ("cycles", "energy_j", "tflops_per_w_dense")


class TimingHook:
    """Cycles and energy of every ``every``-th step: the step's trace through the one
    simulation pipeline (:class:`neurosim.api.DatapathStepTimer`)."""

    def __init__(self, arch, wl, network, every: int):
        from ..api import DatapathStepTimer

        self.arch, self.every = arch, every
        self.timer = DatapathStepTimer(wl, network)

    def __call__(self, step: int, model, fw, g_u, labels) -> dict:
        if not self.every or step % self.every:
            return {}
        s = self.timer(self.arch, model, fw, g_u, labels,
                       {"source": "functional", "step": step}).summary
        return {"cycles": s["total_cycles"], "energy_j": s["energy_j"],
                "tflops_per_w_dense": s["tflops_per_w_dense"]}


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def cmd_train(args) -> int:
    from ..api import load_configs, split_overrides, write_text
    from ..arch import grad_precision
    from ..errors import InputError
    from ..functional.model import run
    from ..workload import build_network

    if args.steps is not None and args.steps < 1:
        raise InputError("--steps", "steps", "a positive integer", args.steps)
    for flag in ("eval_every", "print_every", "timing_every"):
        if getattr(args, flag) < 0:
            raise InputError(f"--{flag.replace('_', '-')}", flag.replace("_", "-"),
                             "a non-negative integer", getattr(args, flag))
    arch_o, wl_o = split_overrides(args.overrides)
    arch, wl = load_configs(args.arch, args.workload,
                            arch_o + [f"workload.{o}" for o in wl_o + args.workload_overrides])
    net = build_network(wl)
    if wl.traces.source != "trainer":
        raise wl.error("traces.source", "trainer (neurosim train uses the built-in trainer's "
                       "data set and schedule)", wl.traces.source)
    hook = TimingHook(arch, wl, net, args.timing_every) if args.timing_every else None
    wg = arch.core.wg
    numerics = (f"{arch.core.precision}, weight-gradient accumulators "
                f"{grad_precision(arch)}, master weights {wg.master_weights}, update "
                f"rounding {wg.update_rounding}")
    print(f"training {net.name} on {arch.name}'s datapath ({numerics}) beside the float32 "
          f"trainer: {wl.traces.dataset}, batch {wl.traces.train_batch}, T {net.time_steps}, "
          f"{wl.traces.epochs} epochs" + (f", first {args.steps} steps" if args.steps else ""))
    cols = [c for c in COLS if c not in TIMING_COLS or hook]
    print(" ".join(f"{c:>13}" for c in cols))
    rows = []
    for row in run(arch, wl, net, args.steps, args.eval_every, hook):
        rows.append(row)
        if (args.print_every and row["step"] % args.print_every == 0) or "test_acc" in row:
            print(" ".join(f"{_fmt(row.get(c, '')):>13}" for c in cols), flush=True)
    if not rows:
        raise InputError(args.workload, "traces", "a schedule with at least one step",
                         "no training data or 0 epochs")
    last = rows[-1]
    summary = {
        "workload": net.name, "arch": arch.name, "precision": arch.core.precision,
        "grad_precision": grad_precision(arch), "master_weights": wg.master_weights,
        "update_rounding": wg.update_rounding, "steps": len(rows),
        "test_acc": last["test_acc"], "ref_test_acc": last["ref_test_acc"],
        "test_acc_diff_points": 100 * (last["test_acc"] - last["ref_test_acc"]),
        "final_w_rel_diff": last["w_rel_diff"],
        "max_w_rel_diff": max(r["w_rel_diff"] for r in rows),
        "mean_lost_updates": sum(r["lost_updates"] for r in rows) / len(rows)}
    print(f"final test accuracy: chip {100 * last['test_acc']:.2f} %, float32 trainer "
          f"{100 * last['ref_test_acc']:.2f} % (difference "
          f"{summary['test_acc_diff_points']:+.2f} points); weight divergence ||dW||/||W|| "
          f"{last['w_rel_diff']:.4g} (max {summary['max_w_rel_diff']:.4g}); updates lost "
          f"to rounding {100 * summary['mean_lost_updates']:.2f} % (mean over steps)")
    if args.out:
        out = Path(args.out)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        write_text(out / "steps.csv", buf.getvalue())
        write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
        print(f"wrote {out / 'steps.csv'} and {out / 'summary.json'}")
    return 0


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("train", help="train a workload on the chip's functional datapath "
                       "(core.precision, the engines' accumulation order) beside the float32 "
                       "built-in trainer")
    p.add_argument("arch", help="arch config (name or path)")
    p.add_argument("workload", help="workload YAML with traces.source: trainer")
    p.add_argument("--steps", type=int, default=None,
                   help="stop after N steps (default: the trainer's whole schedule, "
                   "traces.epochs epochs of traces.train_batch)")
    p.add_argument("--eval-every", type=int, default=100,
                   help="test accuracy every N steps (0: only at the end; default 100)")
    p.add_argument("--print-every", type=int, default=10,
                   help="print every N-th step (and every evaluated one; 0: only those; "
                   "default 10); --out gets every step")
    p.add_argument("--timing-every", type=int, default=1,
                   help="run the timing model and energy every N steps (0: never; default 1)")
    p.add_argument("--out", type=OutputDir, help="directory for steps.csv and summary.json")
    p.add_argument("--wset", dest="workload_overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a workload key without the workload. "
                   "prefix (repeatable)")
    add_set(p)
    p.set_defaults(fn=cmd_train)
