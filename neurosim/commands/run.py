"""``neurosim run ARCH WORKLOAD``: simulate one training step with the event-driven model."""
from __future__ import annotations

from pathlib import Path

from ..api import RUN_OUTPUT_FILES, RUN_OUTPUT_REPLACEABLE
from ..fileio import OutputDir, OutputFile
from ..timeline import DEFAULT_MAX_EVENTS


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("run", help="simulate one training step of a workload on an arch")
    p.add_argument("arch", help="arch config (path or name in arch_configs/)")
    p.add_argument("workload", help="workload YAML (path or name in workloads/)")
    add_set(p)
    p.add_argument("--out", metavar="DIR", type=OutputDir.holding(RUN_OUTPUT_REPLACEABLE),
                   help="write stats.json, stats.csv, summary.json, placement.json, "
                   "critical_path.json and gantt.svg (the engines' cycles by class) here, "
                   "and noc_links.svg (link utilisation heat map) with the cycle-level NoC")
    p.add_argument("--timeline", metavar="FILE", type=OutputFile, help="write the step's "
                   "timeline here in the Chrome trace-event format (Perfetto UI, "
                   "chrome://tracing): a track per engine of each core, a utilisation "
                   "counter per NoC link, network-interface port and DRAM channel, and the "
                   "messages and DRAM requests where they are few enough")
    p.add_argument("--timeline-max-events", metavar="N", type=int, default=DEFAULT_MAX_EVENTS,
                   help="bound the timeline's size: beyond N events tiles of one layer and "
                   "sample merge into one slice, the utilisation counters get wider bins and "
                   "messages and requests merge into busy intervals or are left out "
                   f"(default {DEFAULT_MAX_EVENTS})")
    p.add_argument("--trace", metavar="FILE", help="use this .npz trace instead of the "
                   "workload's trace source")
    p.set_defaults(fn=cmd_run)


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.4g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.4g} ms"
    return f"{seconds * 1e6:.4g} us"


def format_summary(res) -> str:
    s = res.summary
    a = res.arch
    lines = [f"{res.workload.name} on {a.name}: {s['cores']} cores "
             f"({s['cores_used']} used), {a.chip.clock_mhz:g} MHz, "
             f"noc {a.noc.model}, dram {a.dram.model}",
             res.placement.describe(),
             f"cycles       {s['total_cycles']:,}  ({_time(s['seconds'])} at "
             f"{a.chip.clock_mhz:g} MHz)",
             f"utilisation  FP {100 * s['util_fp']:.1f} %   BP {100 * s['util_bp']:.1f} %   "
             f"WG {100 * s['util_wg']:.1f} %   (bank stalls {s['bank_stall_cycles']:,} cycles)",
             f"DRAM         read {_bytes(s['dram_read_bytes'])}   "
             f"write {_bytes(s['dram_write_bytes'])}",
             *([f"DRAM rows    {s['dram_row_hits']:,} hits   {s['dram_row_misses']:,} misses   "
                f"{s['dram_row_conflicts']:,} conflicts   read latency "
                f"{s['dram_avg_read_latency']:.1f} cycles   refresh "
                f"{s['dram_refresh_cycles']:,} cycles"]
               if s.get("dram_avg_read_latency") is not None else []),
             f"NoC          {s['noc_flits']:,} flits in {s['noc_packets']:,} packets"
             + (f"   packet latency {s['noc_avg_packet_latency']:.1f} cycles mean, "
                f"p99 up to {s['noc_max_p99_packet_latency']:.0f}"
                if s.get("noc_avg_packet_latency") is not None else "")
             + (f"   busiest link {100 * s['noc_max_link_utilization']:.1f} %"
                if s.get("noc_max_link_utilization") is not None else ""),
             f"ops          {s['executed_ops']:,} executed of {s['dense_ops']:,} dense-equivalent "
             f"({100 * s['executed_ops'] / max(1, s['dense_ops']):.1f} %)"]
    lines += cycle_table(s, res.stats["chip"]["critical_path"])
    if "energy_j" in s:
        parts = "  ".join(f"{c} {_energy(s[f'energy_{c}_j'])}"
                          for c in ("compute", "sram", "noc", "dram", "leakage")
                          if f"energy_{c}_j" in s)
        lines += [f"energy       {_energy(s['energy_j'])}  ({parts})",
                  f"power        {s['avg_power_w']:.4g} W average",
                  f"efficiency   {s['tflops_per_w_dense']:.4g} TFLOPS/W dense-equivalent FP16 "
                  f"FLOPs per joule; {s['tflops_per_w_executed']:.4g} TFLOPS/W executed"]
    if "mode" in s:      # inference or input_gradient (spec 3.6)
        what = "inference" if s["mode"] == "inference" else "input gradient"
        lines.append(f"mode         {s['mode']}: {s['samples']} samples"
                     + (f" ({s['repeats']} Poisson draws each)" if s["repeats"] > 1 else "")
                     + f"; per {what} {s['cycles_per_sample']:,.0f} cycles, "
                     f"{_time(s['seconds_per_sample'])}, {_energy(s['energy_per_sample_j'])}"
                     + (f"; g(input) density {s['input_gradient_density']:.3f}"
                        if "input_gradient_density" in s else ""))
    return "\n".join(lines)


CLASS_HEADS = (("busy", "busy"), ("bank_stall", "bank"), ("wait_noc", "noc"),
               ("wait_dram", "dram"), ("wait_dep", "dep"), ("idle", "idle"))


def cycle_table(s: dict, path) -> list:
    """Where the engines' cycles went (% of cores x cycles, docs/microarchitecture.md 10.1),
    the critical path by kind (10.2) and what bounds the DRAM traffic (``path``: the
    ``chip.critical_path`` stats group)."""
    lines = ["cycles %     " + "".join(f"{h:>7}" for _, h in CLASS_HEADS)
             + "   (of every core's engine cycles)"]
    for eng in ("fp", "bp", "wg"):
        lines.append(f"  {eng.upper():<11}" + "".join(
            f"{100 * s[f'cycles_{eng}_{cls}']:7.1f}" for cls, _ in CLASS_HEADS))
    lines.append("critical path " + "   ".join(
        f"{kind} {100 * s[f'critical_path_{kind}']:.1f} %"
        for kind in ("compute", "noc", "dram", "dependency")))
    noc = s["dram_request_noc_fraction"]
    (port, port_use), = path["busiest_port_utilization"].value.items()
    (bus, bus_use), = path["busiest_dram_bus_utilization"].value.items()
    bound = f"NoC port {port}" if port_use >= bus_use else f"DRAM bus {bus}"
    lines.append(f"DRAM path    {100 * s['critical_path_dram']:.1f} % of the step; requests "
                 f"{100 * noc:.0f} % of their time in the NoC; busiest NoC port {port} "
                 f"{100 * port_use:.1f} %, DRAM bus {bus} {100 * bus_use:.1f} % of the "
                 f"cycles (busier: {bound})")
    return lines


def _energy(j: float) -> str:
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9)):
        if abs(j) >= scale or unit == "nJ":
            return f"{j / scale:.4g} {unit}"
    return f"{j} J"


def cmd_run(args) -> int:
    from .. import api

    from ..errors import InputError
    from ..timeline import timeline_json

    max_events = args.timeline_max_events
    if max_events < 1:
        raise InputError("neurosim run", "--timeline-max-events", "a positive number of "
                         "events", max_events)
    res = api.run(args.arch, args.workload, args.overrides, out_dir=args.out, progress=True,
                  trace=args.trace, gantt=True)
    print(format_summary(res))
    if args.out:
        written = [n for n in RUN_OUTPUT_FILES if (Path(args.out) / n).is_file()]
        print(f"wrote {args.out}/" + ", ".join(written))
    if args.timeline:
        from ..fileio import atomic_write_text

        atomic_write_text(args.timeline, timeline_json(res.timing, max_events))
        print(f"wrote {args.timeline} (Chrome trace-event JSON)")
    return 0
