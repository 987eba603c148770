"""The Python cost of posting one message to the cycle-level memory system
(docs/performance.md, "Posting a message").

    python benchmarks/bench_post.py [--arch paper-20core-85mib] [--messages 20000]

``CycleMemorySystem.send`` of unicast messages between random cores of the arch (payloads of
64 to 8,192 bits, ten posts per cycle in order-key order, as the chip model posts them),
without running the engine: the per-message bookkeeping a chip step pays once per message
(about 39 k messages in a VGG-11 step on paper-20core-85mib). Prints the minimum and median
microseconds per message over five fresh memory systems.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim import api
from neurosim.memsys.cycle import make_memory_system


def us_per_send(arch, messages: int) -> float:
    ms = make_memory_system(arch)
    rng = np.random.default_rng(0)
    src = rng.integers(0, arch.chip.cores, messages).tolist()
    dst = rng.integers(0, arch.chip.cores, messages).tolist()
    bits = rng.choice([64, 512, 2048, 8192], messages).tolist()
    sent = 0
    t0 = time.perf_counter()
    for i in range(messages):
        if src[i] == dst[i]:
            continue
        ms.post_order(i % 10)
        ms.send(i // 10, (src[i], 0), (dst[i], 0), bits[i], "spikes")
        sent += 1
    return 1e6 * (time.perf_counter() - t0) / sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="paper-20core-85mib")
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    arch = api.load_arch(a.arch)
    us = sorted(us_per_send(arch, a.messages) for _ in range(5))
    print(f"send: min {us[0]:.1f} us, median {us[2]:.1f} us per message")


if __name__ == "__main__":
    main()
