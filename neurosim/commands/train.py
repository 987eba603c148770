"""``neurosim train ARCH WORKLOAD --steps N``: train on the chip's functional datapath.

Each step trains the network in ``core.precision`` with the engines' accumulation order and,
beside it, the float32 reference from the same data and initial weights; it prints loss,
batch accuracy and the weight divergence between the two, test accuracy every
``--eval-every`` steps, and cycles and energy per step when the chip timing model is
installed (``neurosim.hw.chip.simulate``; without it, a note and functional results only).
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path


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
        self.placement = None

    def __call__(self, step: int, result) -> dict:
        if self.simulate is None or not self.every or step % self.every:
            return {}
        from .. import energy
        from ..functional.trace import step_trace

        if self.placement is None:
            self.placement = self.map_network(self.arch, self.net, self.wl)
        trace = step_trace(self.net, result)
        timing = self.simulate(self.arch, self.net, trace, self.placement)
        rep = energy.compute(self.arch, self.net, timing)
        return {"cycles": timing.total_cycles, "energy_j": rep.summary["energy_j"],
                "tflops_per_w_dense": rep.summary["tflops_per_w_dense"]}


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def cmd_train(args) -> int:
    from ..arch import load_arch
    from ..errors import InputError
    from ..functional.model import run
    from ..workload import build_network, load_workload

    if args.steps < 1:
        raise InputError("--steps", "steps", "a positive integer", args.steps)
    if args.eval_every < 0:
        raise InputError("--eval-every", "eval-every", "a non-negative integer", args.eval_every)
    arch = load_arch(args.arch, args.overrides)
    wl = load_workload(args.workload, args.workload_overrides)
    net = build_network(wl)
    hook = TimingHook(arch, wl, net, args.timing_every) if args.timing_every else None
    if hook is not None and hook.note:
        print(f"note: {hook.note}")
        hook = None
    print(f"training {net.name} on {arch.name} datapath ({arch.core.precision}) beside a "
          f"float32 reference: batch {net.batch}, T {net.time_steps}, {args.steps} steps")
    cols = ["step", "loss", "train_acc", "ref_loss", "ref_train_acc", "w_max_abs_diff",
            "w_rel_diff", "test_acc", "ref_test_acc", "cycles", "energy_j",
            "tflops_per_w_dense"]
    rows = []
    print(" ".join(f"{c:>13}" for c in cols if c not in ("cycles", "energy_j",
                                                           "tflops_per_w_dense") or hook))
    for row in run(arch, wl, net, args.steps, args.eval_every, hook):
        rows.append(row)
        print(" ".join(f"{_fmt(row.get(c, '')):>13}" for c in cols
                       if c not in ("cycles", "energy_j", "tflops_per_w_dense") or hook))
    last = rows[-1]
    summary = {"workload": net.name, "arch": arch.name, "precision": arch.core.precision,
               "steps": args.steps, "test_acc": last["test_acc"],
               "ref_test_acc": last["ref_test_acc"],
               "test_acc_diff_points": 100 * (last["test_acc"] - last["ref_test_acc"]),
               "final_w_rel_diff": last["w_rel_diff"]}
    print(f"final test accuracy: chip {100 * last['test_acc']:.2f} %, float32 reference "
          f"{100 * last['ref_test_acc']:.2f} % (difference "
          f"{summary['test_acc_diff_points']:+.2f} points)")
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
                       "(core.precision, hardware accumulation order) beside a float32 "
                       "reference")
    p.add_argument("arch", help="arch config (name or path)")
    p.add_argument("workload", help="workload YAML (linear layers, digits data)")
    p.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    p.add_argument("--eval-every", type=int, default=25,
                   help="test accuracy every N steps (0: only at the end; default 25)")
    p.add_argument("--timing-every", type=int, default=1,
                   help="run the timing model and energy every N steps when it is installed "
                   "(0: never; default 1)")
    p.add_argument("--out", help="directory for steps.csv and summary.json")
    p.add_argument("--wset", dest="workload_overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a workload key (repeatable)")
    _add_set(p)
    p.set_defaults(fn=cmd_train)
