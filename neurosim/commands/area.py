"""``neurosim area ARCH``: the silicon area of a config, by class, core and component, and
(``--sources``) where every per-unit figure comes from (docs/area.md)."""
from __future__ import annotations

from collections import defaultdict


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("area", help="silicon area of a config: mm2 by class, core and "
                       "component; budgets (docs/area.md)")
    p.add_argument("arch", nargs="?", default="paper-20core",
                   help="arch config (default paper-20core)")
    p.add_argument("--sources", action="store_true",
                   help="also print every per-unit figure with its source and derivation")
    add_set(p, "override an arch config key, e.g. core.sram.weights.size_kib=256 (repeatable)")
    p.set_defaults(fn=cmd_area)


def cmd_area(args) -> int:
    from ..api import load_arch
    from ..arch import SRAM_BUFFERS
    from ..area import compute_area, part_memory_kib, sram_kib

    arch = load_arch(args.arch, args.overrides)   # an exceeded budget stops here (exit 2)
    rep = compute_area(arch)
    t = rep.table
    total = rep.total_mm2
    scaled = f", scaled from {t.scaled_from_nm:g} nm" if t.scaled_from_nm else ""
    print(f"area of {arch.name} at {t.technology_nm:g} nm (table {t.name}{scaled}): "
          f"{total:.2f} mm2")
    print(f"\n{'class':<10}{'mm2':>10}{'%':>7}")
    for cls, mm2 in rep.by_class.items():
        print(f"{cls:<10}{mm2:>10.3f}{100 * mm2 / total:>7.1f}")

    cores = arch.chip.cores
    core_total = rep.by_core.get("core0", 0.0)
    print(f"\none core ({cores} identical cores, {core_total:.3f} mm2 each, "
          f"{cores * core_total:.2f} mm2 together):")
    print(f"{'component':<22}{'mm2':>10}  what")
    for path, mm2 in rep.components.items():
        if not path.startswith("core0."):
            continue
        part = path[len("core0."):]
        what = ""
        if part.startswith("sram."):
            b = arch.core.sram[part.split(".")[1]]
            what = (f"{b.banks} banks x {b.size_kib / b.banks:g} KiB, {b.width_bits}-bit, "
                    f"{b.ports} port{'s' if b.ports > 1 else ''}")
        elif part.endswith(".lanes"):
            what = f"{arch.core[part.split('.')[0]].lanes} lanes"
        elif part == "fp.neuron_units":
            what = f"{arch.core.fp.neuron_lanes} LIF units"
        elif part.endswith(".pipeline"):
            e = arch.core[part.split(".")[0]]
            what = f"{e.lanes} lanes x {e.pipeline_depth} stages"
        elif part.endswith(".scan"):
            what = f"{arch.core[part.split('.')[0]].scan_width}-bit window"
        print(f"{part:<22}{mm2:>10.4f}  {what}")
    print("by core: " + ", ".join(f"{k} {v:.3f}" for k, v in rep.by_core.items()
                                  if k.startswith("core")))

    routers = defaultdict(float)
    for path, mm2 in rep.components.items():
        if path.startswith("noc."):
            routers[path.split(".")[2]] += mm2
    n = arch.chip.mesh.cols * arch.chip.mesh.rows
    noc_total = sum(routers.values())
    print(f"\nNoC: {n} routers x {noc_total / n:.4f} mm2 = {noc_total:.3f} mm2 (buffers "
          f"{routers['buffers']:.3f}, crossbar {routers['crossbar']:.3f}, allocators "
          f"{routers['allocators']:.4f}; {arch.noc.vcs} VC x {arch.noc.buffer_flits} flits "
          f"of {arch.noc.flit_bits} bits per port)")
    io = rep.by_class["dram_io"]
    print(f"DRAM: {arch.dram.channels} channel(s) of {arch.dram.bus_bits} bits, I/O "
          f"{io:.3f} mm2")

    kib = sram_kib(arch)
    print(f"\nSRAM: {kib / 1024:g} MiB on the chip ({kib / cores:g} KiB per core: "
          + ", ".join(f"{b} {arch.core.sram[b].size_kib:g}" for b in SRAM_BUFFERS) + ")")
    budget = arch.chip.area_budget_mm2
    print("chip.area_budget_mm2: " + ("none" if budget is None else
                                      f"{budget:g} mm2, {total:.2f} used "
                                      f"({100 * total / budget:.0f} %)"))
    if arch.fpga.part is not None:
        mem = part_memory_kib(arch.fpga.part)
        have = (mem["bram"] + mem["uram"]) / 1024
        print(f"fpga.part: {arch.fpga.part}, {have:g} Mib of block RAM + UltraRAM, "
              f"{kib * 8 / 1024:g} Mib used ({100 * kib * 8 / 1024 / have:.0f} %)")
    for note in rep.notes:
        print(f"note: {note}")

    if args.sources:
        print(f"\n{'entry':<36}{'value':>12}  {'unit':<14}{'source':<18}derivation")
        for name, v in t.values.items():
            info = t.info[name]
            print(f"{name:<36}{v:>12.6g}  {info.get('unit', ''):<14}"
                  f"{info.get('source', ''):<18}{info.get('derivation', '')}")
        s = t.sram_info
        points = sum(len(pts) for by_w in t.sram_grid.values() for pts in by_w.values())
        print(f"{'sram_banks (' + str(points) + ' points)':<36}{'':>12}  {s['unit']:<14}"
              f"{s['source']:<18}{s['derivation']}")
        print("\nsources:")
        for k, text in t.sources.items():
            print(f"  {k}: {text}")
        from ..area import fpga_parts

        print(f"  fpga parts: {fpga_parts()['source']}")
    return 0
