"""FP16 chip datapath against the float32 trainer over seeds and weight-update formats.

Runs `neurosim.functional.model.run` (the whole schedule of the workload) for each seed and
each `core.wg` configuration on arch_configs/paper-20core.yaml and prints final test
accuracies, their difference and the fraction of weight updates that rounding left without
effect, and the float64 trainer's accuracy on the same seed (how far a change of
arithmetic alone moves the result). Usage:

    python benchmarks/functional_seeds.py [WORKLOAD] [--seeds 0,1,2,3,4] [--configs ...]

Results are in docs/energy.md ("FP16 against float32").
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CONFIGS = {
    "fp16": [],
    "fp32-acc": ["core.wg.grad_precision=fp32"],
    "fp32-master": ["core.wg.grad_precision=fp32", "core.wg.master_weights=fp32"],
    "stochastic": ["core.wg.update_rounding=stochastic"],
}


def main() -> None:
    from neurosim.arch import load_arch
    from neurosim.functional.model import run
    from neurosim.workload import build_network, load_workload
    from neurosim.workload.trainer import train

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", nargs="?", default="workloads/mlp-digits.yaml")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.configs.split(",")
    print(f"{'seed':>4} {'config':>12} {'chip %':>7} {'fp32 %':>7} {'diff':>6} "
          f"{'lost':>6} {'lost@end':>8} {'s':>4}")
    diffs = {n: [] for n in names}
    diffs["float64"] = []
    for seed in seeds:
        wl = load_workload(args.workload, [f"traces.seed={seed}"])
        ref32, ref64 = (train(wl, dtype=d).test_accuracy for d in (np.float32, np.float64))
        diffs["float64"].append(100 * (ref64 - ref32))
        print(f"{seed:>4} {'float64':>12} {100 * ref64:>7.2f} {100 * ref32:>7.2f} "
              f"{100 * (ref64 - ref32):>+6.2f}", flush=True)
        for name in names:
            arch = load_arch("arch_configs/paper-20core.yaml", CONFIGS[name])
            wl = load_workload(args.workload, [f"traces.seed={seed}"])
            t = time.perf_counter()
            rows = list(run(arch, wl, build_network(wl)))
            last = rows[-1]
            d = 100 * (last["test_acc"] - last["ref_test_acc"])
            diffs[name].append(d)
            lost = np.mean([r["lost_updates"] for r in rows])
            lost_end = np.mean([r["lost_updates"] for r in rows[-100:]])
            print(f"{seed:>4} {name:>12} {100 * last['test_acc']:>7.2f} "
                  f"{100 * last['ref_test_acc']:>7.2f} {d:>+6.2f} {lost:>6.3f} {lost_end:>8.3f} "
                  f"{time.perf_counter() - t:>4.0f}", flush=True)
    print("\nchip (or float64 trainer) - float32 trainer, test accuracy points, over seeds:")
    for name in names + ["float64"]:
        v = diffs[name]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        print(f"  {name:>12}: mean {statistics.mean(v):+.2f}, sd {sd:.2f}, "
              f"max |diff| {max(abs(x) for x in v):.2f}")


if __name__ == "__main__":
    main()
