"""The Python cost of posting one message to the cycle-level memory system
(docs/performance.md, "Posting a message").

    python benchmarks/bench_post.py [--arch paper-20core-85mib] [--messages 20000]

Unicast messages between random cores of the arch (payloads of 64 to 8,192 bits, ten posts
per cycle in order-key order), without running the engine: the per-message bookkeeping a
chip step pays (about 39 k messages in a VGG-11 step on paper-20core-85mib). Posted one per
``CycleMemorySystem.send``, and in batches from one source core per ``send_many``, as the
chip model posts a tile's messages (13 per batch: the mean of that VGG-11 step). Prints the
minimum and median microseconds per message over five fresh memory systems.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim import api
from neurosim.memsys.cycle import make_memory_system


def us_per_message(arch, messages: int, batch: int) -> float:
    """Microseconds per message, posted ``batch`` at a time (1: one ``send`` each)."""
    ms = make_memory_system(arch)
    rng = np.random.default_rng(0)
    src = rng.integers(0, arch.chip.cores, messages).tolist()
    dst = rng.integers(0, arch.chip.cores, messages).tolist()
    bits = rng.choice([64, 512, 2048, 8192], messages).tolist()
    sent = 0
    t0 = time.perf_counter()
    for post, i in enumerate(range(0, messages, batch)):
        s = src[i]
        js = [j for j in range(i, min(i + batch, messages)) if dst[j] != s]
        if not js:
            continue
        ms.post_order(post % 10)
        if batch == 1:
            ms.send(post // 10, (s, 0), (dst[i], 0), bits[i], "spikes")
        else:
            ms.send_many(post // 10, (s, 0), [(dst[j], 0) for j in js], [bits[j] for j in js],
                         "spikes", [()] * len(js))
        sent += len(js)
    return 1e6 * (time.perf_counter() - t0) / sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="paper-20core-85mib")
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    arch = api.load_arch(a.arch)
    for batch, what in ((1, "send, one message each"), (13, "send_many, 13 per batch")):
        us = sorted(us_per_message(arch, a.messages, batch) for _ in range(5))
        print(f"{what}: min {us[0]:.1f} us, median {us[2]:.1f} us per message")


if __name__ == "__main__":
    main()
