"""``neurosim characterize noc|dram ARCH``: latency and throughput of the cycle-level NoC
and DRAM against offered load, as CSV and a PNG plot (see docs/noc.md, docs/dram.md)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import InputError
from ..fileio import OutputDir, atomic_write


def _floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--{what}", what, "comma-separated numbers, e.g. 0.1,0.2,0.3",
                         text) from None
    if not vals or any(v <= 0 for v in vals):
        raise InputError(f"--{what}", what, "positive numbers", text)
    return vals


def _write_atomic(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def _plot(path: Path, title: str, x, xlabel, series_left, left_label, series_right,
          right_label) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for ys, label, style in series_left:
        ax.plot(x, ys, style, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(left_label)
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    for ys, label, style in series_right:
        ax2.plot(x, ys, style, label=label, color="tab:red")
    ax2.set_ylabel(right_label)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    _write_atomic(path, buf.getvalue())


def _out_dir(text: str) -> Path:
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError("--out", "out", "a writable directory", f"{text} ({e.strerror})") from None
    return out


def cmd_noc(args) -> int:
    from ..arch import load_arch
    from ..hw.characterize import noc_sweep

    cfg = load_arch(args.arch, args.overrides)
    rates = _floats(args.rates, "rates") if args.rates else None
    if args.packets < 100:
        raise InputError("--packets", "packets", "at least 100 packets per point", args.packets)
    out = _out_dir(args.out)
    m = cfg.chip.mesh
    print(f"NoC {m.cols}x{m.rows} mesh, {args.traffic} traffic, {args.packet_flits}-flit "
          f"packets, router_delay {cfg.noc.router_delay}, link_delay {cfg.noc.link_delay}, "
          f"buffer {cfg.noc.buffer_flits} flits x {cfg.noc.vcs} VC")
    print(f"{'offered':>9}{'accepted':>10}{'avg lat':>10}{'p99 lat':>10}{'zero-load':>10}")

    def show(r):
        print(f"{r['offered']:>9.3f}{r['accepted']:>10.3f}{r['avg_latency']:>10.1f}"
              f"{r['p99_latency']:>10.0f}{r['zero_load_latency']:>10.1f}", flush=True)

    rows = noc_sweep(cfg, args.traffic, args.packet_flits, rates, args.packets, args.seed,
                     args.hotspot_frac, progress=show)
    stem = f"noc-{args.traffic}-{args.packet_flits}flit"
    _write_atomic(out / f"{stem}.csv", _csv_bytes(rows))
    x = [r["offered"] for r in rows]
    _plot(out / f"{stem}.png",
          f"{cfg.get('name')}: {m.cols}x{m.rows} mesh, {args.traffic}, {args.packet_flits}-flit "
          "packets", x, "offered load (flits/node/cycle)",
          [([r["avg_latency"] for r in rows], "avg latency", "o-"),
           ([r["p99_latency"] for r in rows], "p99 latency", "s--")], "latency (cycles)",
          [([r["accepted"] for r in rows], "accepted throughput", "^-")],
          "accepted (flits/node/cycle)")
    print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.png')}")
    return 0


def cmd_dram(args) -> int:
    from ..arch import load_arch
    from ..hw.characterize import dram_sweep, peak_bytes_per_cycle

    cfg = load_arch(args.arch, args.overrides)
    loads = _floats(args.loads, "loads") if args.loads else None
    if args.requests < 100:
        raise InputError("--requests", "requests", "at least 100 requests per point",
                         args.requests)
    out = _out_dir(args.out)
    d = cfg.dram
    peak = peak_bytes_per_cycle(cfg) * cfg.chip.clock_mhz / 1e3
    print(f"DRAM {d.preset or 'custom'}: {d.channels} ch x {d.bus_bits} bit at "
          f"{d.data_rate_mtps:g} MT/s (peak {peak:.2f} GB/s), {d.page_policy} page, "
          f"{args.pattern}")
    print(f"{'offered':>9}{'GB/s':>8}{'achieved':>10}{'GB/s':>8}{'avg lat':>10}"
          f"{'p99 lat':>10}{'hit rate':>10}")

    def show(r):
        print(f"{r['offered']:>9.2f}{r['offered_gbs']:>8.2f}{r['achieved']:>10.3f}"
              f"{r['achieved_gbs']:>8.2f}{r['avg_latency']:>10.1f}{r['p99_latency']:>10.0f}"
              f"{r['row_hit_rate']:>10.3f}", flush=True)

    rows = dram_sweep(cfg, args.pattern, loads, args.requests, args.seed, progress=show)
    stem = f"dram-{args.pattern}"
    _write_atomic(out / f"{stem}.csv", _csv_bytes(rows))
    x = [r["offered_gbs"] for r in rows]
    _plot(out / f"{stem}.png", f"{cfg.get('name')}: {d.preset or 'custom'} x{d.channels} ch, "
          f"{args.pattern}", x, "offered load (GB/s)",
          [([r["avg_latency"] for r in rows], "avg latency", "o-"),
           ([r["p99_latency"] for r in rows], "p99 latency", "s--")], "latency (cycles)",
          [([r["achieved_gbs"] for r in rows], "achieved bandwidth", "^-")],
          "achieved (GB/s)")
    print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.png')}")
    return 0


def register(sub) -> None:
    from ..hw.characterize import DRAM_PATTERNS, NOC_TRAFFIC

    p = sub.add_parser("characterize", help="latency/throughput curves of the cycle-level "
                       "NoC or DRAM on synthetic traffic")
    ps = p.add_subparsers(dest="char_cmd", metavar="SUBCOMMAND")
    ps.required = True

    def common(q, default_out):
        q.add_argument("arch", help="arch config (name or path)")
        q.add_argument("--out", default=default_out, type=OutputDir, help=f"output directory "
                       f"(default {default_out})")
        q.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        q.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a config key (repeatable)")

    n = ps.add_parser("noc", help="sweep injection rate to saturation: latency and accepted "
                      "throughput (CSV + PNG)")
    common(n, "results/characterize")
    n.add_argument("--traffic", choices=NOC_TRAFFIC, default="uniform",
                   help="destination pattern (default uniform)")
    n.add_argument("--packet-flits", type=int, default=5,
                   help="flits per packet, head included, 1..17 (default 5)")
    n.add_argument("--rates", help="injection rates in flits/node/cycle, comma-separated "
                   "(default 0.02, 0.04, ... until two points past saturation)")
    n.add_argument("--packets", type=int, default=100_000, help="packets per point "
                   "(default 100000)")
    n.add_argument("--hotspot-frac", type=float, default=0.25,
                   help="hotspot traffic: fraction of packets to the DRAM node (default 0.25)")
    n.set_defaults(fn=cmd_noc)

    d = ps.add_parser("dram", help="sweep offered load: achieved bandwidth and latency "
                      "(CSV + PNG)")
    common(d, "results/characterize")
    d.add_argument("--pattern", choices=DRAM_PATTERNS, default="seq-read",
                   help="access pattern (default seq-read); mixed = random, 2/3 reads")
    d.add_argument("--loads", help="offered loads as fractions of the peak bus bandwidth, "
                   "comma-separated (default 0.05, 0.10, ... 1.20)")
    d.add_argument("--requests", type=int, default=20_000, help="requests per point "
                   "(default 20000)")
    d.set_defaults(fn=cmd_dram)
