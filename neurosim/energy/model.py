"""Energy of a training step from counted events (docs/energy.md).

``energy = sum over counters (count x per-action energy) + leakage x simulated time``.
Counters are the ones of docs/microarchitecture.md section 8, keyed ``(component, action)``
and declared in :mod:`neurosim.counters` with the energy-table entry that prices each; a
counter the registry does not declare is an error (:class:`~neurosim.counters.UnknownCounter`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..arch import (PRECISION_BITS, SRAM_BUFFERS, grad_precision, sram_kib_per_core,
                    update_precision)
from ..counters import DRAM, ENGINE, NOC, SRAM, UnknownCounter, lookup
from ..params import Config
from .table import EnergyTable, dram_type, load_table

CLASSES = ("compute", "sram", "noc", "dram", "leakage")
PJ = 1e-12

# Phase of the work an engine's ops belong to (counters do not name the phase).
ENGINE_OP_PHASE = {("fp", "add_ops"): "FP", ("fp", "neuron_updates"): "FP",
                   ("fp", "scan_windows"): "FP", ("bp", "mac_ops"): "BP",
                   ("bp", "scan_windows"): "BP", ("wg", "add_ops"): "WG",
                   ("wg", "scan_windows"): "WG", ("wg", "mac_ops"): "UPD"}


@dataclass
class Priced:
    """One counter's energy and where it belongs."""

    pj: float
    cls: str
    core: int | None = None
    unit: str = ""       # engine (fp/bp/wg) or buffer (sram.weights) or noc/dram part
    phase: str | None = None


@dataclass
class EnergyReport:
    """Energy of one simulated training step. ``summary`` holds the headline numbers;
    the ``by_*`` dicts are breakdowns in joules."""

    summary: dict
    by_class: dict
    by_core: dict
    by_engine: dict       # "core3.fp" -> J (compute of that engine)
    by_component: dict    # "core3.sram.weights", "noc.router", "dram.ch0.act", ... -> J
    by_phase: dict        # FP/BP/WG/UPD (compute; plus every class when the timing model
                          # reports counters by phase) and "unattributed"
    by_layer: dict        # layer -> J, when the timing model reports counters by layer
    dram_by_kind: dict    # tensor kind -> J (read + write bytes of that kind)
    table: EnergyTable
    notes: list = field(default_factory=list)

    def publish(self, stat_group) -> None:
        """Add gem5-style stats (with units) under ``stat_group.energy``."""
        g = stat_group.group("energy", "energy of the simulated training step")
        s = self.summary
        g.scalar("total", "J", "total energy (dynamic + leakage + DRAM standby)", s["energy_j"])
        for c in CLASSES:
            g.scalar(c, "J", f"energy of class {c}", s[f"energy_{c}_j"])
        g.scalar("avg_power", "W", "average power over the simulated time", s["avg_power_w"])
        g.scalar("sim_seconds", "s", "simulated time the leakage is charged for", s["seconds"])
        g.scalar("dense_flops", "flop", "dense-equivalent FP16 FLOPs of the step "
                 "(2 per MAC of FP + BP + WG, every sample and time step)", s["dense_flops"])
        g.scalar("executed_flops", "flop", "FLOPs executed (add 1, multiply-add 2, LIF "
                 "update 2)", s["executed_flops"])
        g.scalar("tflops_per_w_dense", "TFLOPS/W", "dense-equivalent FLOPs per joule / 1e12",
                 s["tflops_per_w_dense"])
        g.scalar("tflops_per_w_executed", "TFLOPS/W", "executed FLOPs per joule / 1e12",
                 s["tflops_per_w_executed"])
        g.vector("by_core", "J", "energy per core (compute, SRAM, core and SRAM leakage)",
                 self.by_core)
        g.vector("by_engine", "J", "compute energy per engine", self.by_engine)
        g.vector("by_component", "J", "energy per component", self.by_component)
        g.vector("by_phase", "J", "energy per phase (see docs/energy.md)", self.by_phase)
        if self.by_layer:
            g.vector("by_layer", "J", "energy per weighted layer", self.by_layer)
        g.vector("dram_by_kind", "J", "DRAM access energy per tensor kind", self.dram_by_kind)


# --------------------------------------------------------------------------- pricing


class Pricer:
    """Maps a counter to joules under one arch config and table."""

    def __init__(self, arch: Config, table: EnergyTable):
        self.arch, self.t = arch, table
        self.prec = arch.core.precision
        # The WG engine adds into accumulators of core.wg.grad_precision; UPD multiply-adds
        # run in the update format (docs/energy.md, "Weight-gradient formats").
        self.wg_add = table[f"add.{grad_precision(arch)}"]
        self.upd_mac = table[f"mac.{update_precision(arch)}"]
        self.dram = dram_type(arch)
        bus = arch.dram.bus_bits
        self.devices_per_channel = bus / table[f"dram.{self.dram}.device_bits"]
        self.sram_rd, self.sram_wr, self.width = {}, {}, {}
        for b in SRAM_BUFFERS:
            buf = arch.core.sram[b]
            bank_kib = buf.size_kib / buf.banks
            self.sram_rd[b] = table.sram_read_bit(bank_kib)
            self.sram_wr[b] = table.sram_write_bit(bank_kib)
            self.width[b] = buf.width_bits
        self.scan = {e: arch.core[e].scan_width for e in ("fp", "bp", "wg")}
        flit = arch.noc.flit_bits
        self.router_flit = flit * table["noc.router_bit"]
        self.link_flit = flit * table["noc.link_bit_mm"] * table["noc.link_mm"]

    def price(self, component: str, action: str, count: float) -> Priced:
        """Energy of ``count`` events of counter ``(component, action)`` (0 for the actions
        the registry charges nowhere); :class:`~neurosim.counters.UnknownCounter` for a
        counter :mod:`neurosim.counters` does not declare."""
        t, p = self.t, self.prec
        c = lookup(component, action)
        a, kind = c.action, c.component
        if kind is ENGINE:
            core, eng = int(c.match.group(1)), c.match.group(2)
            if a.energy is None:
                return Priced(0.0, "compute", core, eng)
            per = {"add": self.wg_add if eng == "wg" else t[f"add.{p}"],
                   "mac": self.upd_mac if eng == "wg" else t[f"mac.{p}"],
                   "lif": t[f"lif.{p}"], "reg.bit": self.scan[eng] * t["reg.bit"]}[a.energy]
            return Priced(count * per, "compute", core, eng, ENGINE_OP_PHASE.get((eng, a.name)))
        if kind is SRAM:
            core, buf = int(c.match.group(1)), c.match.group(2)
            if buf not in self.sram_rd:
                raise UnknownCounter(component, action)
            per = self.sram_rd[buf] if a.energy == "sram.read" else self.sram_wr[buf]
            if a.unit == "access":
                per = per * self.width[buf]
            return Priced(count * per, "sram", core, f"sram.{buf}")
        if kind is NOC:
            if a.energy is None:
                return Priced(0.0, "noc", None, "noc")
            per = self.router_flit if a.energy == "noc.router_bit" else self.link_flit
            return Priced(count * per, "noc", None, "noc." + a.name.split("_")[0])
        assert kind is DRAM
        if a.energy is None or c.label is not None:   # per-kind copies: priced in the total
            return Priced(0.0, "dram", None, component)
        entry = f"dram.{self.dram}." + a.energy.split(".", 1)[1]
        if a.unit == "byte":
            direction = a.name.split("_")[0]
            return Priced(count * (t[entry] * 8), "dram", None, f"{component}.{direction}")
        return Priced(count * (t[entry] * self.devices_per_channel), "dram", None,
                      f"{component}.{a.name}")


# --------------------------------------------------------------------------- FLOPs


def dense_flops(network) -> int:
    """Dense-equivalent FLOPs of one training step: for every sample and time step, the
    dense MACs of FP (all weighted layers), BP (the transposed product of every layer that
    does not read only the network input, as the BP engine skips it) and WG (all layers),
    2 FLOPs per MAC. LIF updates, the loss and the weight update are not counted. Other
    modes count their own tiles (spec 3.6): inference FP only; input_gradient FP and BP
    with every layer's transposed product."""
    per_step = 0
    for hl in network.layers:
        macs = hl.dense_macs()
        transposed = network.mode == "input_gradient" or not all(
            e.src == "input" for e in hl.edges)
        bp = macs if transposed and network.backward else 0
        per_step += macs + bp + (macs if network.trains else 0)
    return 2 * per_step * network.batch * network.time_steps


def executed_flops(counters) -> int:
    """FLOPs the datapaths executed: an add 1, a multiply-add 2, a LIF update 2 (decay
    multiply and current add; the threshold compare is not a FLOP)."""
    total = 0
    for (comp, action), n in counters.items():
        if ENGINE.match(comp):
            total += {"add_ops": 1, "mac_ops": 2, "neuron_updates": 2}.get(action, 0) * n
    return int(total)


# --------------------------------------------------------------------------- compute


def leakage_energy(arch: Config, table: EnergyTable, seconds: float) -> tuple[dict, float]:
    """Per-core leakage (J) and DRAM standby energy (J) over ``seconds``."""
    kib = sram_kib_per_core(arch)
    per_core_w = (kib * table["leak.sram_mw_per_kib"] + table["leak.core_mw"]) * 1e-3
    cores = {c: per_core_w * seconds for c in range(arch.chip.cores)}
    dt = dram_type(arch)
    devices = arch.dram.channels * arch.dram.bus_bits / table[f"dram.{dt}.device_bits"]
    dram_standby = devices * table[f"dram.{dt}.background_mw"] * 1e-3 * seconds
    return cores, dram_standby


def compute(arch: Config, network, timing_result, seconds: float | None = None,
            table: EnergyTable | None = None) -> EnergyReport:
    """Energy of the training step ``timing_result`` simulated for ``arch`` and ``network``.

    ``seconds`` is the simulated time leakage is charged for (default: total_cycles at
    ``chip.clock_mhz``). ``table`` defaults to the one the config names.
    """
    table = table or load_table(arch)
    if seconds is None:
        seconds = timing_result.total_cycles / (arch.chip.clock_mhz * 1e6)
    pricer = Pricer(arch, table)
    by_class = dict.fromkeys(CLASSES, 0.0)
    by_core: dict = defaultdict(float)
    by_engine: dict = defaultdict(float)
    by_component: dict = defaultdict(float)
    by_phase: dict = defaultdict(float)
    dram_by_kind: dict = defaultdict(float)
    counters = timing_result.counters
    for (comp, action), n in sorted(counters.items()):
        pr = pricer.price(comp, action, n)
        c = lookup(comp, action)
        if c.component is DRAM and c.label is not None:     # bytes of one tensor kind
            direction = c.action.name.split("_")[0]
            per = table[f"dram.{pricer.dram}.{direction}_pj_per_bit"] * 8
            dram_by_kind[c.label] += n * per * PJ
        j = pr.pj * PJ
        if j == 0.0:
            continue
        by_class[pr.cls] += j
        if pr.core is not None:
            by_core[f"core{pr.core}"] += j
        if pr.cls == "compute":
            by_engine[f"core{pr.core}.{pr.unit}"] += j
            by_component[f"core{pr.core}.{pr.unit}"] += j
        elif pr.core is not None:
            by_component[f"core{pr.core}.{pr.unit}"] += j
        else:
            by_component[pr.unit] += j
        if pr.phase is not None:
            by_phase[pr.phase] += j
    # Phase attribution: exact when the timing model splits its counters by phase.
    split = (getattr(timing_result, "extra", None) or {}).get("counters_by", {})
    if "phase" in split:
        by_phase = defaultdict(float)
        for phase, sub in split["phase"].items():
            for (comp, action), n in sub.items():
                by_phase[phase] += pricer.price(comp, action, n).pj * PJ
    by_layer: dict = {}
    if "layer" in split:
        for layer, sub in split["layer"].items():
            by_layer[layer] = sum((pricer.price(c, a, n).pj for (c, a), n in sub.items()),
                                  0.0) * PJ
    core_leak, dram_standby = leakage_energy(arch, table, seconds)
    for c, j in core_leak.items():
        by_core[f"core{c}"] += j
        by_component[f"core{c}.leakage"] += j
    by_class["leakage"] += sum(core_leak.values())
    by_class["dram"] += dram_standby
    by_component["dram.standby"] += dram_standby
    dynamic = sum(by_class[c] for c in ("compute", "sram", "noc", "dram")) - dram_standby
    by_phase["unattributed"] = max(0.0, dynamic - sum(v for k, v in by_phase.items()
                                                      if k != "unattributed"))
    by_phase["leakage_and_standby"] = by_class["leakage"] + dram_standby
    total = sum(by_class.values())
    dflops, xflops = dense_flops(network), executed_flops(counters)
    notes = []
    dram_actions = {lookup(c, a).action.name for c, a in counters
                    if lookup(c, a).component is DRAM}
    if dram_actions and not dram_actions & {"act", "ref"}:
        notes.append("no DRAM ACT/REF counters (ideal DRAM model): row activation and refresh "
                     "energy are not included")
    if PRECISION_BITS[arch.core.precision] != 16:
        notes.append("dense FLOPs are counted as FP16-equivalent operations of the "
                     f"{arch.core.precision} datapath")
    summary = {
        "energy_j": total,
        **{f"energy_{c}_j": by_class[c] for c in CLASSES},
        "seconds": seconds,
        "avg_power_w": total / seconds if seconds > 0 else float("nan"),
        "dense_flops": dflops,
        "executed_flops": xflops,
        "tflops_per_w_dense": dflops / total / 1e12 if total > 0 else float("nan"),
        "tflops_per_w_executed": xflops / total / 1e12 if total > 0 else float("nan"),
        "dram_type": pricer.dram,
        "table": table.name,
    }
    return EnergyReport(summary=summary, by_class=by_class, by_core=dict(by_core),
                        by_engine=dict(by_engine), by_component=dict(by_component),
                        by_phase=dict(by_phase), by_layer=by_layer,
                        dram_by_kind=dict(dram_by_kind), table=table, notes=notes)
