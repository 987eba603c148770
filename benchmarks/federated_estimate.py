"""How good is the estimate of the local steps that federated learning does not simulate?

Runs `neurosim federated` on mlp-digits / paper-20core-85mib (5 workers, iid) for a few rounds
twice: every local step simulated (simulate_every=1) and the default (simulate_every=20,
so round 1 simulates each worker's first step and round 2 reuses it). Training does not
depend on the timing model, so both runs train identically and the difference is the
estimate's error. Usage: python benchmarks/federated_estimate.py [ROUNDS]
"""
import sys
import time

from neurosim.federated import run_federated

ARCH, WL = "arch_configs/paper-20core-85mib.yaml", "workloads/mlp-digits.yaml"


def main(rounds: int = 2) -> None:
    runs = {}
    for k in (1, 10, 20):
        t0 = time.perf_counter()
        res = run_federated(ARCH, WL, [f"federated.rounds={rounds}",
                                       f"federated.simulate_every={k}"])
        runs[k] = res
        print(f"simulate_every={k}: {res.summary['total_simulated_steps']} simulated steps, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    full = runs[1]
    print(f"{'round':>5} {'K':>3} {'compute ms':>11} {'err %':>7} {'E comp mJ':>10} {'err %':>7}")
    for k in (1, 10, 20):
        for r, ref in zip(runs[k].rounds, full.rounds):
            ct, et = r["compute_s_max"], r["energy_compute_j"]
            print(f"{r['round']:>5} {k:>3} {1e3 * ct:>11.5f} "
                  f"{100 * (ct / ref['compute_s_max'] - 1):>+7.2f} {1e3 * et:>10.5f} "
                  f"{100 * (et / ref['energy_compute_j'] - 1):>+7.2f}")
    steps = [s for s in full.steps]
    cyc = [s["cycles"] for s in steps]
    print(f"per-step cycles over all {len(cyc)} simulated steps: min {min(cyc)}, max "
          f"{max(cyc)}, mean {sum(cyc) / len(cyc):.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
