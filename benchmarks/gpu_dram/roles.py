"""DRAM bytes of the GPU model by tensor role, after and before the L2 filter, both
frameworks, as a Markdown table (docs/results-gpu.md).

    python benchmarks/gpu_dram/roles.py WORKLOAD [--gpu a100-40gb]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurosim.baselines.gpu import ROLE_KIND, gpu_dram_traffic  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("--gpu", default="a100-40gb")
    a = ap.parse_args(argv)
    print("| framework | role (chip kind) | read MB | write MB | without L2: read MB | write MB |")
    print("|---|---|---|---|---|---|")
    for fw in ("spikingjelly", "snntorch"):
        r = gpu_dram_traffic(a.workload, a.gpu, fw)
        ur, uw = {}, {}
        for (role, _), v in r.unfiltered_read.items():
            ur[role] = ur.get(role, 0) + v
        for (role, _), v in r.unfiltered_write.items():
            uw[role] = uw.get(role, 0) + v
        roles = [k for k in ROLE_KIND if k in ur or k in uw or k in r.by_role()]
        br = r.by_role()
        for role in roles:
            rd, wr = br.get(role, (0, 0))
            print(f"| {fw} | {role} ({ROLE_KIND[role]}) | {rd / 1e6:.2f} | {wr / 1e6:.2f} | "
                  f"{ur.get(role, 0) / 1e6:.2f} | {uw.get(role, 0) / 1e6:.2f} |")
        print(f"| {fw} | **total** | {r.read_bytes / 1e6:.2f} | {r.write_bytes / 1e6:.2f} | "
              f"{sum(ur.values()) / 1e6:.2f} | {sum(uw.values()) / 1e6:.2f} |")


if __name__ == "__main__":
    main()
