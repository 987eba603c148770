"""``neurosim energy table``: print the energy table an arch config uses, with sources."""
from __future__ import annotations


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def cmd_energy_table(args) -> int:
    from ..api import load_arch
    from ..energy import dram_type, load_table

    arch = load_arch(args.arch, args.overrides)
    t = load_table(arch)
    dt = dram_type(arch)
    scaled = (f", on-chip entries scaled from {t.scaled_from_nm:g} nm" if t.scaled_from_nm
              else "")
    print(f"energy table {t.name} at {t.technology_nm:g} nm, {t.vdd:g} V{scaled}; "
          f"DRAM family {dt}; precision {arch.core.precision}")
    print(f"{'entry':<30}{'value':>14}  {'unit':<10}{'source':<16}derivation")
    for name, v in t.values.items():
        info = t.info.get(name, {})
        mark = " (override)" if name in t.overridden else ""
        print(f"{name:<30}{_fmt(v):>14}  {info.get('unit', ''):<10}"
              f"{info.get('source', ''):<16}{info.get('derivation', '')}{mark}")
    print("\nper-bit SRAM energy of this config's buffers (bank = size / banks):")
    for b in ("weights", "state", "spikes", "gradients", "wgrad"):
        buf = arch.core.sram[b]
        kib = buf.size_kib / buf.banks
        print(f"  {b:<10} bank {kib:g} KiB, {buf.width_bits}-bit words: read "
              f"{_fmt(t.sram_read_bit(kib))} pJ/bit, write {_fmt(t.sram_write_bit(kib))} pJ/bit")
    if args.sources:
        print("\nsources:")
        for k, s in t.sources.items():
            print(f"  {k}: {s}")
    return 0


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("energy", help="energy tables")
    ps = p.add_subparsers(dest="energy_cmd", metavar="SUBCOMMAND")
    ps.required = True
    t = ps.add_parser("table", help="print the energy table a config uses (entries, values, "
                      "sources, derivations)")
    t.add_argument("arch", nargs="?", default="paper-20core", help="arch config (default "
                   "paper-20core)")
    t.add_argument("--sources", action="store_true", help="also print the full citations")
    add_set(t, "override an arch config key (repeatable)")
    t.set_defaults(fn=cmd_energy_table)
