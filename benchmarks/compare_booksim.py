"""Side-by-side comparison of the cycle-level NoC with BookSim2 (docs/noc.md).

    BOOKSIM=/path/to/booksim python benchmarks/compare_booksim.py [--full] [--measure N]

Same router on both sides: BookSim2's input-queued VC router with its default pipeline
(routing, VC allocation, switch allocation, switch traversal: 1 cycle each, iSLIP
allocators with 1 iteration, credit delay 0), 4-flit VC buffers, 1-cycle channels, XY
routing, uniform random traffic (self-sends included), Bernoulli injection. For each mesh x
VCs (1, 2) x packet size (1, 4 flits) it prints:

- zero-load latency per hop count: ours from spec 6.6 (the tests check it pair by pair),
  BookSim2's as the mean over the node pairs at that distance of its per-pair average
  packet latency (``pair_stats``) at 0.002 packets/node/cycle;
- average packet latency at 20, 40, 60 and 80 % of BookSim2's saturation throughput
  (BookSim2: ``sim_type = latency``, its warm-up and convergence; ours: 3000 warm-up
  cycles, a measurement window, then drain, latency over the packets created in it);
- saturation throughput: accepted flits/node/cycle at an offered load of 1 flit/node/cycle
  (BookSim2: ``sim_type = throughput``; ours: accepted in the measurement window).

Latency is BookSim2's ``plat``: creation to the tail's arrival at the destination NI (ours:
``eject - time``). BookSim2's ``mesh`` is k x k, so the default set is 4x4 and --full adds
8x8 (a 4x5 mesh has no BookSim2 ``mesh`` counterpart; ``anynet`` routes differently).

``--anynet COLSxROWS`` shows why BookSim2's ``anynet`` topology cannot stand in for a
rectangular mesh: its only routing function (``min_anynet``) follows a table built per source
router by Dijkstra's algorithm over the network file's links, taking routers in order of
(distance, id) and keeping the first predecessor found (``AnyNet::route`` in
``src/networks/anynet.cpp``). A destination's predecessor is therefore its lowest-numbered
neighbour one hop closer to the source; the script restates that rule for a mesh numbered as
ours (node = y * cols + x) and counts the (source, destination) pairs whose route is not XY.
No numbering helps: in any 2x2 block a->d must go via b and d->a via c (XY: x first), which
needs b < c and c < b.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.arch import load_arch  # noqa: E402
from neurosim.memsys.characterize import noc_point  # noqa: E402
from neurosim.memsys.noc import zero_load_latency  # noqa: E402
from neurosim.memsys.topology import PORT_E, PORT_N, PORT_S, PORT_W, Mesh  # noqa: E402

LOADS = (0.2, 0.4, 0.6, 0.8)


def booksim_config(k, vcs, flits, rate, sim_type, extra=""):
    return (f"topology = mesh; k = {k}; n = 2; routing_function = dor;\n"
            f"num_vcs = {vcs}; vc_buf_size = 4; wait_for_tail_credit = 0;\n"
            "vc_allocator = islip; sw_allocator = islip; alloc_iters = 1;\n"
            "routing_delay = 1; vc_alloc_delay = 1; sw_alloc_delay = 1;\n"
            "st_prepare_delay = 0; st_final_delay = 1; credit_delay = 0; speculative = 0;\n"
            f"traffic = uniform; injection_process = bernoulli; packet_size = {flits};\n"
            f"injection_rate_uses_flits = 1; injection_rate = {rate};\n"
            f"sim_type = {sim_type}; seed = 1;\n{extra}")


def run_booksim(binary, text):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "cfg"
        cfg.write_text(text)
        out = subprocess.run([binary, str(cfg)], capture_output=True, text=True, cwd=d,
                             timeout=3600).stdout
        stats = (Path(d) / "stats.m").read_text() if (Path(d) / "stats.m").exists() else ""
    return out, stats


def overall(out, what):
    part = out.split("====== Overall Traffic Statistics ======")
    if len(part) < 2:
        return None
    m = re.search(what + r" average = ([0-9.]+)", part[1])
    return float(m.group(1)) if m else None


def booksim_zero_load(binary, k, vcs, flits):
    out, stats = run_booksim(binary, booksim_config(
        k, vcs, flits, 0.002 * flits, "latency",
        "pair_stats = 1; stats_out = stats.m; sample_period = 20000; max_samples = 3;"))
    sent = np.array(re.search(r"pair_sent\(1,:\) = \[ ([^\]]*)\]", stats).group(1).split(),
                    float)
    plat = np.array(re.search(r"pair_plat\(1,:\) = \[ ([^\]]*)\]", stats).group(1).split(),
                    float)
    n = k * k
    i, j = np.divmod(np.arange(n * n), n)
    h = np.abs(i % k - j % k) + np.abs(i // k - j // k)
    return {int(d): float(plat[(h == d) & (sent > 0)].mean()) for d in np.unique(h)
            if ((h == d) & (sent > 0)).any()}


def ours(k, vcs, flits, rate, measure, drain=True):
    cfg = load_arch("paper-20core", [f"chip.mesh.cols={k}", f"chip.mesh.rows={k}",
                                     f"chip.cores={k * k}", "chip.dram_nodes=[[0,0]]",
                                     f"noc.vcs={vcs}", "noc.buffer_flits=4"])
    return cfg, noc_point(cfg, "uniform", rate, flits, 3000, measure, drain=drain)


def anynet_routes(cols, rows):
    """The route BookSim2's anynet would take between every pair of a cols x rows mesh numbered
    as ours (its tie rule, restated: see the module docstring): {(src, dst): [nodes]}."""
    mesh = Mesh(cols, rows)
    neighbours = {n: sorted(mesh.neighbour(n, p) for p in (PORT_N, PORT_E, PORT_S, PORT_W)
                            if mesh.neighbour(n, p) >= 0) for n in range(mesh.nodes)}
    routes = {}
    for s in range(mesh.nodes):
        dist, prev = {s: 0}, {}
        frontier = [s]
        while frontier:              # unit link weights: Dijkstra is BFS taken in id order
            nxt = []
            for r in sorted(frontier):
                for n in neighbours[r]:
                    if n not in dist:
                        dist[n], prev[n] = dist[r] + 1, r
                        nxt.append(n)
            frontier = nxt
        for d in range(mesh.nodes):
            path = [d]
            while path[-1] != s:
                path.append(prev[path[-1]])
            routes[(s, d)] = path[::-1]
    return routes


def anynet_report(spec):
    cols, rows = (int(v) for v in spec.lower().split("x"))
    mesh = Mesh(cols, rows)
    routes = anynet_routes(cols, rows)
    xy = {k: [r for r, _ in mesh.route(*k)] for k in routes}
    differ = [k for k in routes if routes[k] != xy[k]]
    print(f"{cols}x{rows} mesh: {len(differ)} of {len(routes)} (source, destination) pairs "
          "route differently under BookSim2's anynet (min_anynet) than XY")
    if differ:
        k = differ[0]
        print(f"e.g. {k[0]} -> {k[1]}: anynet {routes[k]}, XY {xy[k]}")
    return 0


def pct(a, b):
    return 100.0 * (a - b) / b


def compare(binary, k, vcs, flits, measure):
    print(f"\n### {k}x{k} mesh, {vcs} VC, {flits}-flit packets\n")
    cfg, _ = ours(k, vcs, flits, 0.01, 200)
    zl = booksim_zero_load(binary, k, vcs, flits)
    print("| hops | ours zero-load | BookSim2 at 0.002 pkt/node/cycle |")
    print("|---|---|---|")
    for h, b in zl.items():
        print(f"| {h} | {zero_load_latency(cfg, h, flits)} | {b:.2f} |")
    out, _ = run_booksim(binary, booksim_config(k, vcs, flits, 1.0, "throughput"))
    sat_b = overall(out, "Accepted flit rate")
    _, row = ours(k, vcs, flits, 1.0, measure, drain=False)
    sat_o = row["accepted"]
    print(f"\nsaturation throughput (flits/node/cycle): ours {sat_o:.4f}, BookSim2 "
          f"{sat_b:.4f} ({pct(sat_o, sat_b):+.1f} %)\n")
    print("| load (of BookSim2 saturation) | offered | ours avg latency | BookSim2 | diff |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for f in LOADS:
        rate = round(f * sat_b, 4)
        out, _ = run_booksim(binary, booksim_config(k, vcs, flits, rate, "latency"))
        lb = overall(out, "Packet latency")
        _, row = ours(k, vcs, flits, rate, measure)
        lo = row["avg_latency"]
        d = pct(lo, lb) if lb else float("nan")
        worst = max(worst, abs(d))
        print(f"| {int(f * 100)} % | {rate:.4f} | {lo:.2f} | "
              f"{lb if lb is None else f'{lb:.2f}'} | {d:+.1f} % |")
    return worst, pct(sat_o, sat_b)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="also the 8x8 mesh")
    p.add_argument("--anynet", metavar="COLSxROWS",
                   help="only count the pairs BookSim2's anynet routes other than XY")
    p.add_argument("--measure", type=int, default=20000,
                   help="our measurement window in cycles (default 20000)")
    args = p.parse_args(argv)
    if args.anynet:
        return anynet_report(args.anynet)
    binary = os.environ.get("BOOKSIM")
    if not binary or not Path(binary).is_file():
        print("compare_booksim: set BOOKSIM to the booksim binary (built from "
              "github.com/booksim/booksim2, src/)", file=sys.stderr)
        return 2
    t0 = time.time()
    summary = []
    for k in ((4, 8) if args.full else (4,)):
        for vcs in (1, 2):
            for flits in (1, 4):
                lat, sat = compare(binary, k, vcs, flits, args.measure)
                summary.append((k, vcs, flits, lat, sat))
    print("\n| mesh | VCs | flits | worst avg-latency diff (20-80 %) | saturation diff |")
    print("|---|---|---|---|---|")
    for k, vcs, flits, lat, sat in summary:
        print(f"| {k}x{k} | {vcs} | {flits} | {lat:.1f} % | {sat:+.1f} % |")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
