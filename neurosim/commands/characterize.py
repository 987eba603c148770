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


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise InputError("--seed", "seed", "a seed >= 0", seed)


def _out_dir(text: str) -> Path:
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError("--out", "out", "a writable directory", f"{text} ({e.strerror})") from None
    return out


def cmd_noc(args) -> int:
    from ..api import load_arch
    from ..memsys.characterize import noc_sweep

    cfg = load_arch(args.arch, args.overrides)
    _check_seed(args.seed)
    rates = _floats(args.rates, "rates") if args.rates else None
    if not 0 <= args.hotspot_frac <= 1:
        raise InputError("--hotspot-frac", "hotspot_frac", "a fraction in [0, 1]",
                         args.hotspot_frac)
    if args.warmup < 0:
        raise InputError("--warmup", "warmup", "a number of cycles >= 0", args.warmup)
    if args.measure < 100:
        raise InputError("--measure", "measure", "at least 100 cycles", args.measure)
    on_off = None
    if args.injection == "on_off":
        on_off = tuple(_floats(args.on_off, "on-off"))
        if len(on_off) != 2 or not all(0 < v <= 1 for v in on_off):
            raise InputError("--on-off", "on_off", "ALPHA,BETA, two probabilities in (0, 1]",
                             args.on_off)
    m = cfg.chip.mesh
    n = cfg.noc
    print(f"NoC {m.cols}x{m.rows} mesh, {args.traffic} traffic, {args.injection} injection, "
          f"{args.packet_flits}-flit packets, router stages RT {n.routing_delay} VA "
          f"{n.vc_alloc_delay} SA {n.sw_alloc_delay} ST "
          f"{n.st_prepare_delay + n.st_final_delay}, link_delay {n.link_delay}, "
          f"buffer {n.buffer_flits} flits x {n.vcs} VC; warm-up {args.warmup}, measurement "
          f"{args.measure} cycles")
    print(f"{'offered':>9}{'accepted':>10}{'avg lat':>10}{'p99 lat':>10}{'zero-load':>10}")

    def show(r):
        print(f"{r['offered']:>9.3f}{r['accepted']:>10.3f}{r['avg_latency']:>10.1f}"
              f"{r['p99_latency']:>10.0f}{r['zero_load_latency']:>10.1f}", flush=True)

    rows = noc_sweep(cfg, args.traffic, args.packet_flits, rates, args.warmup, args.measure,
                     args.seed, args.hotspot_frac, on_off, progress=show)
    stem = f"noc-{args.traffic}-{args.packet_flits}flit"
    out = _out_dir(args.out)
    _write_atomic(out / f"{stem}.csv", _csv_bytes(rows))
    x = [r["offered"] for r in rows]
    from ..plots import characterization_figure

    characterization_figure(out / f"{stem}.png",
          f"{cfg.get('name')}: {m.cols}x{m.rows} mesh, {args.traffic}, {args.packet_flits}-flit "
          "packets", x, "offered load (flits/node/cycle)",
          [([r["avg_latency"] for r in rows], "avg latency", "o-"),
           ([r["p99_latency"] for r in rows], "p99 latency", "s--")], "latency (cycles)",
          [([r["accepted"] for r in rows], "accepted throughput", "^-")],
          "accepted (flits/node/cycle)")
    print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.png')}")
    return 0


def _bytes_arg(text: str, what: str) -> int:
    """A byte count with an optional K, M or G suffix (powers of 1024): 4096, 64K, 1G."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    try:
        n = int(float(t[:-1]) * scale[t[-1]]) if t and t[-1] in scale else int(t)
    except ValueError:
        n = -1
    if n <= 0:
        raise InputError(f"--{what}", what, "a positive byte count, e.g. 4096, 64K, 1G", text)
    return n


def cmd_dram(args) -> int:
    from ..api import load_arch
    from ..memsys.characterize import dram_sweep, dram_trace_replay, peak_bytes_per_cycle

    cfg = load_arch(args.arch, args.overrides)
    _check_seed(args.seed)
    d = cfg.dram
    peak = peak_bytes_per_cycle(cfg) * cfg.chip.clock_mhz / 1e3
    print(f"DRAM {d.preset or 'custom'}: {d.channels} ch x {d.bus_bits} bit at "
          f"{d.data_rate_mtps:g} MT/s (peak {peak:.2f} GB/s), {d.page_policy} page, "
          f"{'trace ' + args.trace if args.trace else args.pattern}")
    if args.trace:
        summary, per_request = dram_trace_replay(cfg, args.trace)
        for k, v in summary.items():
            print(f"  {k:<18} {v if v is None or isinstance(v, int) else round(v, 3)}")
        stem = "dram-trace-" + Path(args.trace).stem
        out = _out_dir(args.out)
        _write_atomic(out / f"{stem}.csv", _csv_bytes(per_request))
        print(f"wrote {out / (stem + '.csv')}")
        return 0
    loads = _floats(args.loads, "loads") if args.loads else None
    if args.requests < 100:
        raise InputError("--requests", "requests", "at least 100 requests per point",
                         args.requests)
    traffic = {"write_fraction": args.write_fraction, "arrivals": args.arrivals,
               "span": _bytes_arg(args.span, "span"),
               "stride": _bytes_arg(args.stride, "stride") if args.stride else None}
    print(f"{'offered':>9}{'GB/s':>8}{'achieved':>10}{'GB/s':>8}{'avg lat':>10}"
          f"{'p99 lat':>10}{'hit rate':>10}")

    def show(r):
        print(f"{r['offered']:>9.2f}{r['offered_gbs']:>8.2f}{r['achieved']:>10.3f}"
              f"{r['achieved_gbs']:>8.2f}{r['avg_latency']:>10.1f}{r['p99_latency']:>10.0f}"
              f"{r['row_hit_rate']:>10.3f}", flush=True)

    rows = dram_sweep(cfg, args.pattern, loads, args.requests, args.seed, progress=show,
                      **traffic)
    stem = f"dram-{args.pattern}"
    out = _out_dir(args.out)
    _write_atomic(out / f"{stem}.csv", _csv_bytes(rows))
    x = [r["offered_gbs"] for r in rows]
    from ..plots import characterization_figure

    characterization_figure(out / f"{stem}.png", f"{cfg.get('name')}: {d.preset or 'custom'} x{d.channels} ch, "
          f"{args.pattern}", x, "offered load (GB/s)",
          [([r["avg_latency"] for r in rows], "avg latency", "o-"),
           ([r["p99_latency"] for r in rows], "p99 latency", "s--")], "latency (cycles)",
          [([r["achieved_gbs"] for r in rows], "achieved bandwidth", "^-")],
          "achieved (GB/s)")
    print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.png')}")
    return 0


def register(sub) -> None:
    from .common import add_set

    from ..memsys.characterize import ARRIVALS, DRAM_PATTERNS, NOC_TRAFFIC

    p = sub.add_parser("characterize", help="latency/throughput curves of the cycle-level "
                       "NoC or DRAM on synthetic traffic")
    ps = p.add_subparsers(dest="char_cmd", metavar="SUBCOMMAND")
    ps.required = True

    def common(q, default_out):
        q.add_argument("arch", help="arch config (name or path)")
        q.add_argument("--out", default=default_out, type=OutputDir, help=f"output directory "
                       f"(default {default_out})")
        q.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        add_set(q, "override an arch config key (repeatable)")

    n = ps.add_parser("noc", help="sweep injection rate to saturation: latency and accepted "
                      "throughput (CSV + PNG)")
    common(n, "results/characterize")
    n.add_argument("--traffic", choices=NOC_TRAFFIC, default="uniform",
                   help="destination pattern (default uniform)")
    n.add_argument("--packet-flits", type=int, default=5,
                   help="flits per packet, head included, 1..17 (default 5)")
    n.add_argument("--rates", help="injection rates in flits/node/cycle, comma-separated "
                   "(default 0.02, 0.04, ... until two points past saturation)")
    n.add_argument("--warmup", type=int, default=3000, help="warm-up cycles before the "
                   "measurement window (default 3000, BookSim2's 3 x sample_period)")
    n.add_argument("--measure", type=int, default=10000, help="measurement window in cycles "
                   "(default 10000); the packets created in it are drained to the end")
    n.add_argument("--injection", choices=("bernoulli", "on_off"), default="bernoulli",
                   help="injection process (default bernoulli)")
    n.add_argument("--on-off", default="0.1,0.1", metavar="ALPHA,BETA",
                   help="on_off injection: off->on and on->off probabilities per cycle "
                   "(default 0.1,0.1); the rate applies to the on cycles")
    n.add_argument("--hotspot-frac", type=float, default=0.25,
                   help="hotspot traffic: fraction of packets to the first DRAM node "
                   "(default 0.25)")
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
    d.add_argument("--write-fraction", type=float, help="fraction of writes (default: the "
                   "pattern's: 0 reads, 1 writes, 1/3 mixed)")
    d.add_argument("--span", default="1G", help="address span of the traffic in bytes, "
                   "K/M/G suffixes allowed (default 1G)")
    d.add_argument("--stride", help="seq patterns: bytes between consecutive requests "
                   "(default one burst), wrapping at --span")
    d.add_argument("--arrivals", choices=ARRIVALS, default="poisson",
                   help="Poisson arrivals or one every 1/rate cycles (default poisson)")
    d.add_argument("--trace", metavar="FILE", help="replay this address trace instead "
                   "(lines 'CYCLE R|W ADDRESS', docs/dram.md); writes a per-request CSV")
    d.set_defaults(fn=cmd_dram)
