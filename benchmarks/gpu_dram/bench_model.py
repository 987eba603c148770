"""Wall time of the GPU baseline model (trace + allocator + L2 filter, 3 simulated steps).

    python benchmarks/gpu_dram/bench_model.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurosim.baselines.gpu import gpu_dram_traffic  # noqa: E402

gpu_dram_traffic("vgg11-cifar10", "a100-40gb", "spikingjelly")  # imports, presets
print("| workload | framework | kernels per step | model wall time |")
print("|---|---|---|---|")
for ov in ([], ["batch=32"]):
    for fw in ("spikingjelly", "snntorch"):
        t = time.perf_counter()
        r = gpu_dram_traffic("vgg11-cifar10", "a100-40gb", fw, workload_overrides=ov)
        dt = time.perf_counter() - t
        print(f"| vgg11-cifar10 {' '.join(ov) or '(batch 4)'} | {fw} | {r.kernels} | "
              f"{dt * 1e3:.0f} ms |")
