"""Does the NoC kernel pay for being compiled into the memory system's one big function?
(docs/performance.md, "The test suite's commands forked, the NoC kernel in a small
function, evaluations that do nothing".)

    python benchmarks/noc_small_driver.py [--arch paper-20core] [--repeat 3]

Runs ``bench_kernels.py``'s NoC rows (uniform 0.05 and 0.30, DRAM hotspot 0.90) two ways
and prints the minimum CPU time per simulated cycle of each: through ``Engine.run``
(``cycle.engine_run``, which inlines the network's cycle -- ``noc.ni_cycle``,
``noc.router_cycle`` and ``noc.router_wake`` -- with the DRAM model, the posting, the
checkpoints and the activity samples beside it) and through a small driver compiled here
that only posts each packet at its time and runs the network's cycle (every ejected
packet's handle is -1, so ``engine_run`` does nothing else with it). The digest of every
packet's injection and ejection cycles and the routers' counters must be the same both ways.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from bench_kernels import PACKET_FLITS, _digest, noc_traffic
from numba import njit

from neurosim.arch import load_arch
from neurosim.memsys import noc as nm
from neurosim.memsys.cycle import INF, RUN_DRAIN, Engine

ROWS = ((0.05, 100_000, False), (0.30, 20_000, False), (0.90, 100_000, True))


@njit(cache=True, _nrt=False)
def drive(P, N, post_pkt, post_time, pb):
    """Post ``post_pkt[k]`` at ``post_time[k]`` (sorted) and step the NoC until it drains."""
    next_packet = P.next
    src_ep = P.src_ep
    ep_head = N.ep_head
    ep_tail = N.ep_tail
    ep_wake = N.ep_wake
    sc = N.sc
    rs = N.rs
    n = post_pkt.shape[0]
    k = 0
    c = 0
    while True:
        if not nm.noc_busy(sc):
            if k >= n:
                return c
            c = max(c, post_time[k])
        while k < n and post_time[k] <= c:
            q = post_pkt[k]
            k += 1
            nm.noc_enqueue(next_packet, ep_head, ep_tail, ep_wake, sc, src_ep[q - pb], q, pb)
        nm.ni_cycle(P, N, c, pb)
        for r in range(rs.shape[0]):
            if rs[r, nm.RS_WAKE] <= c:
                nm.router_cycle(P, N, r, c, pb)
                rs[r, nm.RS_WAKE] = nm.router_wake(N, r, c)
        c += 1


def run_once(cfg, times, src_ep, dst_ep, small: bool) -> tuple:
    """(CPU seconds, last ejection cycle + 1, digest) of one run."""
    eng = Engine(cfg, True, False)
    ids = eng.add_packets(times.size, src_ep=src_ep, dst_ep=dst_ep, flits=PACKET_FLITS,
                          time=times)
    t0 = time.process_time()
    if small:
        drive(eng.P, eng.N, ids.astype(np.int64), times.astype(np.int64), eng.pb)
    else:
        eng.schedule_posts(ids, times)
        eng.run(INF, RUN_DRAIN)
    cpu = time.process_time() - t0
    n = times.size
    return (cpu, int(eng.P.eject[:n].max()) + 1,
            _digest(eng.P.inject[:n], eng.P.eject[:n], eng.N.st_port, eng.N.st_router))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="paper-20core")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cfg = load_arch(args.arch, ["noc.model=cycle", "dram.model=ideal"])
    print(f"{'row':34s} {'engine_run us/cycle':>20s} {'small driver':>13s}  digest")
    for rate, cycles, dram in ROWS:
        traffic = noc_traffic(cfg, rate, cycles, 1, dram)
        best = {False: INF, True: INF}
        digests = set()
        for _ in range(args.repeat):
            for small in (False, True):      # alternated: the machine's drift hits both
                cpu, end, digest = run_once(cfg, *traffic, small)
                best[small] = min(best[small], cpu / end * 1e6)
                digests.add(digest)
        name = (f"noc dram hotspot {rate:.2f} flits/cycle" if dram
                else f"noc uniform {rate:.2f} flits/node/cycle")
        same = digests.pop() if len(digests) == 1 else "DIFFERENT"
        print(f"{name:34s} {best[False]:20.3f} {best[True]:13.3f}  {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
