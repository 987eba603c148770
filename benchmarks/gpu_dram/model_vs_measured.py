"""GPU model vs Nsight Compute measurements: one Markdown table row per measured CSV in
docs/data/gpu_measured/ (H100 preset), for the preset and for each model option switched.

    python benchmarks/gpu_dram/model_vs_measured.py [--gpu h100]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from neurosim.baselines.gpu import gpu_dram_traffic  # noqa: E402
from neurosim.baselines.measured import load_measured  # noqa: E402

VARIANTS = [("preset", []), ("unified L2", ["l2_mode=unified"]),
            ("no NHWC transposes", ["conv_nhwc_transposes=false"]),
            ("neither", ["l2_mode=unified", "conv_nhwc_transposes=false"])]


def workload_path(name: str) -> str:
    for p in (ROOT / "workloads" / f"{name}.yaml",
              ROOT / "benchmarks/gpu_dram/workloads" / f"{name}.yaml"):
        if p.is_file():
            return str(p)
    raise SystemExit(f"no workload {name}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--gpu", default="h100")
    a = ap.parse_args(argv)
    files = sorted((ROOT / "docs/data/gpu_measured").glob("*.csv"))
    print("| measured step | framework | measured MB (R / W) | model MB (R / W) | error % "
          + "".join(f"| {v} error % " for v, _ in VARIANTS[1:]) + "|")
    print("|---" * (5 + len(VARIANTS) - 1) + "|")
    errs = {v: [] for v, _ in VARIANTS}
    for f in files:
        m = load_measured(f)
        wl, fw, ov = m.meta["workload"], m.meta["framework"], m.meta.get("overrides", "-")
        wov = [] if ov == "-" else [ov]
        cells = []
        for v, gov in VARIANTS:
            r = gpu_dram_traffic(workload_path(wl), a.gpu, fw, gov, wov)
            mt = m.total_bytes
            e = None if mt < 1e6 else 100.0 * (r.total_bytes - mt) / mt
            if e is not None:
                errs[v].append(abs(e))
            if v == "preset":
                mr = sum(x[0] for x in m.phases.values())
                mw = sum(x[1] for x in m.phases.values())
                cells.append(f"{mr / 1e6:.2f} / {mw / 1e6:.2f} | "
                             f"{r.read_bytes / 1e6:.2f} / {r.write_bytes / 1e6:.2f}")
            cells.append("n/a (< 1 MB)" if e is None else f"{e:+.1f}")
        name = wl + ("" if ov == "-" else f" ({ov})")
        print(f"| {name} | {fw} | " + " | ".join(cells) + " |")
    print("| mean abs error (steps > 1 MB) | | | | "
          + " | ".join(f"{sum(x) / len(x):.1f}" for x in errs.values()) + " |")


if __name__ == "__main__":
    main()
