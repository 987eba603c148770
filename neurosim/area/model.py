"""Silicon area of an arch config from per-unit areas (docs/area.md).

The chip is a tree of components, each priced from the area table the way the energy model
prices counted events: per core the five SRAM buffers (banks x one CACTI bank), the engines'
lanes (FP16 adders, multipliers), the LIF units, the zero-skipping scan front ends and the
pipeline registers; one NoC router per mesh node (input buffers, crossbar, allocators); the
I/O of every DRAM channel. Area depends on the config alone, never on a run, and no timing
model imports this package.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from ..arch import PRECISION_BITS, SRAM_BUFFERS, grad_precision, update_precision, value_bits
from ..energy import dram_type
from ..params import Config
from .table import AreaTable, load_area_table

CLASSES = ("sram", "logic", "noc", "dram_io")
UM2_PER_MM2 = 1e6
ROUTER_PORTS = 5            # four mesh neighbours and the local port


@dataclass
class AreaReport:
    """Area of one chip config: ``components`` maps a component path (``core3.sram.weights``,
    ``noc.router7.buffers``, ``dram.ch0.io``) to mm2; ``classes`` gives each one's class."""

    components: dict
    classes: dict
    table: AreaTable
    notes: list = field(default_factory=list)

    @property
    def total_mm2(self) -> float:
        return sum(self.components.values())

    @property
    def by_class(self) -> dict:
        out = dict.fromkeys(CLASSES, 0.0)
        for path, mm2 in self.components.items():
            out[self.classes[path]] += mm2
        return out

    @property
    def by_core(self) -> dict:
        """mm2 per core (SRAM and logic), plus ``noc`` and ``dram`` for the rest."""
        out = defaultdict(float)
        for path, mm2 in self.components.items():
            out[path.split(".")[0]] += mm2
        return dict(out)

    @property
    def summary(self) -> dict:
        s = {"area_mm2": self.total_mm2}
        for c, mm2 in self.by_class.items():
            s[f"area_{c}_mm2"] = mm2
        return s

    def publish(self, stat_group) -> None:
        """gem5-style stats under ``stat_group.area``."""
        g = stat_group.group("area", "silicon area of the chip config (docs/area.md)")
        g.scalar("total", "mm2", "chip area: SRAM, engine logic, NoC routers, DRAM I/O",
                 self.total_mm2)
        g.vector("by_class", "mm2", "area by class (sram, logic, noc, dram_io)", self.by_class)
        g.vector("by_core", "mm2", "area per core (SRAM and engines); noc and dram: the rest",
                 self.by_core)
        g.vector("by_component", "mm2", "area per component path", self.components)


def _arith(table: AreaTable, op: str, precision: str) -> float:
    """um2 of one adder (``add``) or multiplier (``mul``) of ``precision``."""
    return table[f"{op}.{precision}"]


def core_components(arch: Config, table: AreaTable) -> list[tuple[str, float, str]]:
    """(path below the core, mm2, class) of one core."""
    out = []
    for buf in SRAM_BUFFERS:
        b = arch.core.sram[buf]
        bank = table.sram_bank_mm2(b.size_kib / b.banks, b.width_bits, b.ports)
        out.append((f"sram.{buf}", b.banks * bank, "sram"))
    prec = arch.core.precision
    bits = value_bits(arch)
    upd = update_precision(arch)
    reg, mux = table["reg.bit"], table["mux2.bit"]
    lane_um2 = {
        "fp": _arith(table, "add", prec),                                    # accumulate-only
        "bp": _arith(table, "mul", prec) + _arith(table, "add", prec),       # multiply-add
        "wg": _arith(table, "mul", upd) + _arith(table, "add", upd),         # adds + UPD MACs
    }
    for eng in ("fp", "bp", "wg"):
        e = arch.core[eng]
        out.append((f"{eng}.lanes", e.lanes * lane_um2[eng] / UM2_PER_MM2, "logic"))
        # the front end: a scan_width-bit window register and a leading-one tree of
        # log2(scan_width) levels of 2:1 muxes per bit
        scan = e.scan_width * (reg + math.ceil(math.log2(max(e.scan_width, 2))) * mux)
        out.append((f"{eng}.scan", scan / UM2_PER_MM2, "logic"))
        lane_bits = PRECISION_BITS[grad_precision(arch)] if eng == "wg" else bits
        out.append((f"{eng}.pipeline", e.lanes * e.pipeline_depth * lane_bits * reg
                    / UM2_PER_MM2, "logic"))
    lif = _arith(table, "mul", prec) + 2 * _arith(table, "add", prec)        # decay, add, compare
    out.append(("fp.neuron_units", arch.core.fp.neuron_lanes * lif / UM2_PER_MM2, "logic"))
    return out


def router_components(arch: Config, table: AreaTable) -> list[tuple[str, float, str]]:
    """(part, mm2, class) of one mesh router: input buffers of every port and VC, a
    crossbar of 2:1-mux trees, and one matrix arbiter per output over all input VCs."""
    noc = arch.noc
    p, v, f = ROUTER_PORTS, noc.vcs, noc.flit_bits
    reg, mux = table["reg.bit"], table["mux2.bit"]
    requesters = p * v
    return [
        ("buffers", p * v * noc.buffer_flits * f * reg / UM2_PER_MM2, "noc"),
        ("crossbar", p * (p - 1) * f * mux / UM2_PER_MM2, "noc"),
        ("allocators", p * requesters * (requesters - 1) / 2 * reg / UM2_PER_MM2, "noc"),
    ]


def dram_channel_io_mm2(arch: Config, table: AreaTable) -> float:
    """I/O area of one DRAM channel: CACTI-IO's area per pin x the channel's pins."""
    family = dram_type(arch)
    d = arch.dram
    pins = (d.bus_bits / 8 * table[f"dram.{family}.pins_per_byte"]
            + d.bus_bits / 16 * table[f"dram.{family}.command_pins_per_16_bits"])
    f_mhz = d.data_rate_mtps / 2
    ron = table[f"dram.{family}.ron_ohm"]
    per_pin = (table["dram.io.c"] + table["dram.io.k0"] / ron
               + (table["dram.io.k1"] * f_mhz + table["dram.io.k2"] * f_mhz ** 2
                  + table["dram.io.k3"] * f_mhz ** 3) / ron)
    return pins * per_pin


def compute_area(arch: Config, table: AreaTable | None = None) -> AreaReport:
    """Area of the chip ``arch`` describes (every core, router and DRAM channel)."""
    table = table or load_area_table(arch)
    components, classes = {}, {}

    def add(path, mm2, cls):
        components[path] = mm2
        classes[path] = cls

    per_core = core_components(arch, table)
    for c in range(arch.chip.cores):
        for part, mm2, cls in per_core:
            add(f"core{c}.{part}", mm2, cls)
    router = router_components(arch, table)
    for n in range(arch.chip.mesh.cols * arch.chip.mesh.rows):
        for part, mm2, cls in router:
            add(f"noc.router{n}.{part}", mm2, cls)
    io = dram_channel_io_mm2(arch, table)
    for ch in range(arch.dram.channels):
        add(f"dram.ch{ch}.io", io, "dram_io")
    notes = ["not modelled: control logic, clocking, wiring and placement overhead of the "
             "logic, DRAM controller and PHY logic, pads other than the DRAM I/O"]
    if table.scaled_from_nm:
        notes.append(f"logic and SRAM areas scaled from {table.scaled_from_nm:g} nm by "
                     f"(node ratio)^2; DRAM I/O not scaled")
    return AreaReport(components, classes, table, notes)
