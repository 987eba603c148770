"""``neurosim train ARCH WORKLOAD``: train on the chip's functional datapath.

The chip model trains the network in ``core.precision`` with the engines' accumulation order
and, beside it, the float32 built-in trainer walks the same schedule (data, split,
calibrated initial weights, batches, input coding). Each step prints loss, batch accuracy,
the weight divergence between the two and the fraction of weight updates lost to rounding;
test accuracy every ``--eval-every`` steps and at the end; cycles and energy per step when the
chip timing model is installed (``neurosim.hw.chip.simulate``; without it, a note and
functional results only).
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
    """Per-step cycles and energy from the timing model, if it is there (called lazily)."""

    def __init__(self, arch, wl, network, every: int):
        self.arch, self.wl, self.net, self.every = arch, wl, network, every
        self.note = None
        try:
            from ..hw import chip, mapping  # noqa: F401  (merged later by the timing branch)
        except ImportError as e:
            self.note = (f"timing model not available ({e.name or e}): functional results "
                         "only, no cycles or energy per step")
            self.simulate = None
            return
        self.simulate, self.map_network = chip.simulate, mapping.map_network
        self.placements = {}

    def __call__(self, step: int, model, fw, g_u, labels) -> dict:
        if self.simulate is None or not self.every or step % self.every:
            return {}
        from .. import energy
        from ..workload.trainer import make_trace

        # A step has traces.train_batch samples (fewer in an epoch's last step).
        net = dataclasses.replace(self.net, batch=len(labels))
        if net.batch not in self.placements:
            self.placements[net.batch] = self.map_network(self.arch, net, self.wl)
        trace = make_trace(model, fw, g_u, {"source": "functional", "step": step}, network=net)
        timing = self.simulate(self.arch, net, trace, self.placements[net.batch])
        rep = energy.compute(self.arch, net, timing)
        return {"cycles": timing.total_cycles, "energy_j": rep.summary["energy_j"],
                "tflops_per_w_dense": rep.summary["tflops_per_w_dense"]}


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _write_atomic(path: Path, text: str) -> None:
    from ..fileio import atomic_write_text

    atomic_write_text(path, text)


def cmd_train(args) -> int:
    from ..arch import grad_precision, load_arch
    from ..errors import InputError
    from ..functional.model import run
    from ..workload import build_network, load_workload

    if args.steps is not None and args.steps < 1:
        raise InputError("--steps", "steps", "a positive integer", args.steps)
    for flag in ("eval_every", "print_every", "timing_every"):
        if getattr(args, flag) < 0:
            raise InputError(f"--{flag.replace('_', '-')}", flag.replace("_", "-"),
                             "a non-negative integer", getattr(args, flag))
    arch = load_arch(args.arch, args.overrides)
    wl = load_workload(args.workload, args.workload_overrides)
    net = build_network(wl)
    if wl.traces.source != "trainer":
        raise wl.error("traces.source", "trainer (neurosim train uses the built-in trainer's "
                       "data set and schedule)", wl.traces.source)
    hook = TimingHook(arch, wl, net, args.timing_every) if args.timing_every else None
    if hook is not None and hook.note:
        print(f"note: {hook.note}")
        hook = None
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
        _write_atomic(out / "steps.csv", buf.getvalue())
        _write_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
        print(f"wrote {out / 'steps.csv'} and {out / 'summary.json'}")
    return 0


def register(sub) -> None:
    from ..cli import _add_set

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
                   help="run the timing model and energy every N steps when it is installed "
                   "(0: never; default 1)")
    p.add_argument("--out", type=OutputDir, help="directory for steps.csv and summary.json")
    p.add_argument("--wset", dest="workload_overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a workload key (repeatable)")
    _add_set(p)
    p.set_defaults(fn=cmd_train)
