"""Side-by-side comparison of the cycle-level NoC with BookSim2 (docs/noc.md).

    BOOKSIM=/path/to/booksim [BOOKSIM_ONOFF=/path/to/fixed/booksim] \
        python benchmarks/compare_booksim.py [--full] [--mesh COLSxROWS ...] [--measure N]

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
``eject - time``). The default set is 4x4; --full adds 8x8 and 5x4 (5 columns, 4 rows: the
paper-20core mesh); --mesh picks meshes.

BookSim2's ``mesh`` is k x k. A COLS x ROWS mesh runs as the corner of its K x K mesh
(K = max(COLS, ROWS), node id x + K*y, dimension 0 = x routed first by ``dor``, as our XY)
holding the nodes with x < COLS and y < ROWS: only they inject (``injection_process =
on_off({0,-1,R1,{1,0,...}})``: alpha 0 keeps every node in its initial state, so an "on"
node is Bernoulli at R1 packets/cycle and an "off" node never injects) and only they are
destinations (``traffic = hotspot({{ids}})``: uniform over the listed nodes, self
included). An XY route between two nodes of the corner never leaves it, so the other
routers carry nothing. Stock BookSim2 reads on_off's initial states from the wrong
argument (docs/noc.md); BOOKSIM_ONOFF (default: BOOKSIM) must be a build with that fixed,
which the script checks on a 2x2 mesh before using it. Every run on a corner is checked
from BookSim2's per-node ``stats_out``: the nodes outside it sent and accepted nothing.
Rates over nodes (accepted, injected) are BookSim2's per-node rates averaged over the
corner's nodes (its printed averages divide by all K x K nodes).

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


def parse_mesh(spec):
    """'COLSxROWS' -> (cols, rows); None for anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", spec)
    if not m or int(m.group(1)) * int(m.group(2)) < 2:
        return None
    return int(m.group(1)), int(m.group(2))


def corner_nodes(cols, rows):
    """BookSim2 ids (x + K*y on its K x K mesh, K = max(cols, rows)) of a cols x rows mesh's
    nodes, in our order (node = y * cols + x)."""
    k = max(cols, rows)
    return [x + k * y for y in range(rows) for x in range(cols)]


def booksim_traffic(cols, rows, flits, rate):
    """BookSim2's traffic and injection_process for the cols x rows mesh at ``rate``
    flits/node/cycle: uniform Bernoulli on a square mesh, the corner's nodes only (module
    docstring) on a rectangle. on_off's rate is per cycle in packets, as BookSim2's load
    after ``injection_rate_uses_flits`` divides it by the packet size."""
    if cols == rows:
        return "traffic = uniform; injection_process = bernoulli;"
    k = max(cols, rows)
    active = corner_nodes(cols, rows)
    states = ",".join("1" if n in active else "0" for n in range(k * k))
    return (f"traffic = hotspot({{{{{','.join(map(str, active))}}}}});\n"
            f"injection_process = on_off({{0,-1,{rate / flits!r},{{{states}}}}});")


def booksim_config(cols, rows, vcs, flits, rate, sim_type, extra=""):
    return (f"topology = mesh; k = {max(cols, rows)}; n = 2; routing_function = dor;\n"
            f"num_vcs = {vcs}; vc_buf_size = 4; wait_for_tail_credit = 0;\n"
            "vc_allocator = islip; sw_allocator = islip; alloc_iters = 1;\n"
            "routing_delay = 1; vc_alloc_delay = 1; sw_alloc_delay = 1;\n"
            "st_prepare_delay = 0; st_final_delay = 1; credit_delay = 0; speculative = 0;\n"
            f"{booksim_traffic(cols, rows, flits, rate)} packet_size = {flits};\n"
            f"injection_rate_uses_flits = 1; injection_rate = {rate};\n"
            f"sim_type = {sim_type}; seed = 1;\n{extra}")


ONOFF_PROBE = ("topology = mesh; k = 2; n = 2; routing_function = dor; num_vcs = 1;\n"
               "traffic = uniform; packet_size = 1; injection_rate = 0.5;\n"
               "injection_process = on_off({0,-1,0.5,{1,0,0,0}});\n"
               "sim_type = throughput; seed = 1; warmup_periods = 1; sample_period = 1000;\n"
               "max_samples = 2; stats_out = stats.m;\n")


def stats_vector(stats, name):
    """One per-node or per-pair vector of BookSim2's ``stats_out`` (class 1)."""
    m = re.search(name + r"\(1,:\) = \[ ([^\]]*)\]", stats)
    if not m:
        raise ValueError(f"BookSim2 stats_out has no {name}")
    return np.array(m.group(1).split(), float)


def onoff_fixed(binary):
    """Whether ``binary`` takes on_off's initial states from its fourth argument: on the
    probe's 2x2 mesh only node 0 starts on (stock BookSim2 reads the rate, 0.5, as the
    states, atoi gives 0, and nothing is injected)."""
    _, stats = run_booksim(binary, ONOFF_PROBE)
    if not stats:
        return False
    sent = stats_vector(stats, "sent_flits")
    return bool(sent[0] > 0 and not sent[1:].any())


def corner_rates(stats, cols, rows):
    """(injected, accepted) flits/node/cycle averaged over the corner's nodes, after
    checking from the per-node rates that the nodes outside it neither sent nor accepted."""
    active = corner_nodes(cols, rows)
    sent, accepted = stats_vector(stats, "sent_flits"), stats_vector(stats, "accepted_flits")
    idle = np.ones(sent.size, bool)
    idle[active] = False
    if sent[idle].any() or accepted[idle].any():
        raise RuntimeError(f"{cols}x{rows} corner of BookSim2's mesh: nodes outside it "
                           f"sent {sent[idle].sum()} and accepted {accepted[idle].sum()} "
                           "flits/cycle (expected none)")
    return float(sent[active].mean()), float(accepted[active].mean())


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


def booksim_zero_load(binary, cols, rows, vcs, flits):
    out, stats = run_booksim(binary, booksim_config(
        cols, rows, vcs, flits, 0.002 * flits, "latency",
        "pair_stats = 1; stats_out = stats.m; sample_period = 20000; max_samples = 3;"))
    if cols != rows:
        corner_rates(stats, cols, rows)
    sent = stats_vector(stats, "pair_sent")
    plat = stats_vector(stats, "pair_plat")
    k = max(cols, rows)
    n = k * k
    i, j = np.divmod(np.arange(n * n), n)
    h = np.abs(i % k - j % k) + np.abs(i // k - j // k)
    return {int(d): float(plat[(h == d) & (sent > 0)].mean()) for d in np.unique(h)
            if ((h == d) & (sent > 0)).any()}


def ours(cols, rows, vcs, flits, rate, measure, drain=True):
    """Our NoC on the paper-20core chip with its mesh set to cols x rows (5x4 is its own)."""
    cfg = load_arch("paper-20core", [f"chip.mesh.cols={cols}", f"chip.mesh.rows={rows}",
                                     f"chip.cores={cols * rows}", "chip.dram_nodes=[[0,0]]",
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


def booksim_rates(out, stats, cols, rows):
    """(injected, accepted) flits/node/cycle of a BookSim2 run: its printed averages on a
    square mesh, the corner's per-node rates on a rectangle."""
    if cols == rows:
        return overall(out, "Injected flit rate"), overall(out, "Accepted flit rate")
    return corner_rates(stats, cols, rows)


def compare(binary, cols, rows, vcs, flits, measure, sample_period=None):
    print(f"\n### {cols}x{rows} mesh, {vcs} VC, {flits}-flit packets\n")
    cfg, _ = ours(cols, rows, vcs, flits, 0.01, 200)
    zl = booksim_zero_load(binary, cols, rows, vcs, flits)
    print("| hops | ours zero-load | BookSim2 at 0.002 pkt/node/cycle |")
    print("|---|---|---|")
    for h, b in zl.items():
        print(f"| {h} | {zero_load_latency(cfg, h, flits)} | {b:.2f} |")
    stats_out = "stats_out = stats.m;" + (f" sample_period = {sample_period};"
                                          if sample_period else "")
    out, stats = run_booksim(binary, booksim_config(cols, rows, vcs, flits, 1.0, "throughput",
                                                    stats_out))
    sat_b = booksim_rates(out, stats, cols, rows)[1]
    _, row = ours(cols, rows, vcs, flits, 1.0, measure, drain=False)
    sat_o = row["accepted"]
    print(f"\nsaturation throughput (flits/node/cycle): ours {sat_o:.4f}, BookSim2 "
          f"{sat_b:.4f} ({pct(sat_o, sat_b):+.1f} %)\n")
    print("| load (of BookSim2 saturation) | offered | BookSim2 injected | ours avg latency "
          "| BookSim2 | diff |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for f in LOADS:
        rate = round(f * sat_b, 4)
        out, stats = run_booksim(binary, booksim_config(cols, rows, vcs, flits, rate,
                                                        "latency", stats_out))
        lb = overall(out, "Packet latency")
        injected = booksim_rates(out, stats, cols, rows)[0]
        _, row = ours(cols, rows, vcs, flits, rate, measure)
        lo = row["avg_latency"]
        d = pct(lo, lb) if lb else float("nan")
        worst = max(worst, abs(d))
        print(f"| {int(f * 100)} % | {rate:.4f} | {injected:.4f} | {lo:.2f} | "
              f"{lb if lb is None else f'{lb:.2f}'} | {d:+.1f} % |")
    return worst, pct(sat_o, sat_b)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="also the 8x8 and 5x4 meshes")
    p.add_argument("--mesh", metavar="COLSxROWS", action="append",
                   help="compare this mesh (repeatable; default 4x4, with --full also 8x8 "
                        "and 5x4)")
    p.add_argument("--anynet", metavar="COLSxROWS",
                   help="only count the pairs BookSim2's anynet routes other than XY")
    p.add_argument("--measure", type=int, default=20000,
                   help="our measurement window in cycles (default 20000)")
    p.add_argument("--booksim-sample-period", type=int, metavar="CYCLES",
                   help="BookSim2's sample_period for the load and saturation runs (default "
                        "its own, 1000: it warms up and measures for 3 of them or more)")
    args = p.parse_args(argv)
    if args.anynet:
        return anynet_report(args.anynet)
    specs = args.mesh or (["4x4", "8x8", "5x4"] if args.full else ["4x4"])
    meshes = [parse_mesh(spec) for spec in specs]
    for spec, mesh in zip(specs, meshes):
        if mesh is None:
            print(f"compare_booksim: --mesh {spec!r}: expected COLSxROWS, two positive "
                  "integers with at least 2 nodes, e.g. 5x4", file=sys.stderr)
            return 2
    binary = os.environ.get("BOOKSIM")
    if not binary or not Path(binary).is_file():
        print("compare_booksim: set BOOKSIM to the booksim binary (built from "
              "github.com/booksim/booksim2, src/)", file=sys.stderr)
        return 2
    onoff = os.environ.get("BOOKSIM_ONOFF", binary)
    if any(cols != rows for cols, rows in meshes) and not (Path(onoff).is_file()
                                                           and onoff_fixed(onoff)):
        print(f"compare_booksim: BOOKSIM_ONOFF={onoff}: expected a booksim whose on_off takes "
              "its initial states from the fourth argument (docs/noc.md: the fix to "
              "InjectionProcess::New), needed for a non-square mesh", file=sys.stderr)
        return 2
    t0 = time.time()
    summary = []
    for cols, rows in meshes:
        for vcs in (1, 2):
            for flits in (1, 4):
                lat, sat = compare(binary if cols == rows else onoff, cols, rows, vcs, flits,
                                   args.measure, args.booksim_sample_period)
                summary.append((cols, rows, vcs, flits, lat, sat))
    print("\n| mesh | VCs | flits | worst avg-latency diff (20-80 %) | saturation diff |")
    print("|---|---|---|---|---|")
    for cols, rows, vcs, flits, lat, sat in summary:
        print(f"| {cols}x{rows} | {vcs} | {flits} | {lat:.1f} % | {sat:+.1f} % |")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
