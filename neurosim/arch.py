"""Architecture configs: the schema (every knob, declared once) and the loader.

An arch config is YAML. It may ``extends:`` another config (a path relative to the file, or
the bare name of a config in ``arch_configs/``) and override any of its keys; any key can
also be overridden from the command line with ``--set core.fp.lanes=64``. The loaded result
is a :class:`~neurosim.params.Config`; derived quantities (DRAM timings in chip cycles,
words per chunk...) come from the helper functions at the bottom, never from constants.
"""
from __future__ import annotations

import copy
import math
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from . import yamlio
from .errors import InputError
from .paths import ARCH_DIR, display_path
from .params import (REQUIRED, Config, Group, Param, apply_overrides, deep_merge,
                     overridden_keys)


SRAM_BUFFERS = ("weights", "state", "spikes", "gradients", "wgrad")
ENGINES = ("fp", "bp", "wg")
PRECISION_BITS = {"fp16": 16, "fp32": 32, "int8": 8, "int4": 4}


def _engine(doc, lanes, depth, extra=None):
    fields = {
        "lanes": Param("int", lanes, "parallel datapath lanes: one lane-wide chunk of work "
                       "issues per cycle", "lane", min=1),
        "pipeline_depth": Param("int", depth, "pipeline fill latency, paid once per tile",
                                "cycle", min=0),
        "scan_width": Param("int", 64, "bits of a bit-packed vector the zero-skipping front "
                            "end examines per cycle", "bit", min=1),
    }
    fields.update(extra or {})
    return Group(doc, fields)


def _buffer(doc, size_kib, banks, width_bits=256):
    return Group(doc, {
        "size_kib": Param("float", size_kib, "capacity", "KiB", min=0, min_exclusive=True),
        "banks": Param("int", banks, "independent banks; a word at word address a lives in "
                       "bank a mod banks", "bank", min=1),
        "ports": Param("int", 1, "accesses per bank per cycle (read or write)", "port", min=1),
        "width_bits": Param("int", width_bits, "word width: bits one port moves per cycle",
                            "bit", min=1),
    })


_TIMING_KEYS = ("tRCD", "tCL", "tCWL", "tRP", "tRAS", "tWR", "tRTP", "tCCD", "tRRD",
                "tFAW", "tWTR", "tREFI", "tRFC")
# same-bank-group values (docs/microarchitecture.md 7.4); null: equal to the _S value
_TIMING_L_KEYS = ("tCCD_L", "tRRD_L", "tWTR_L")
_TIMING_DOCS = {
    "tRCD": "ACT to RD/WR, same bank", "tCL": "RD command to first data (CAS latency)",
    "tCWL": "WR command to first data (CAS write latency)", "tRP": "PRE to ACT, same bank",
    "tRAS": "ACT to PRE, same bank", "tWR": "end of write data to PRE (write recovery)",
    "tRTP": "RD to PRE, same bank",
    "tCCD": "column command to column command of the same kind, other bank group of the rank "
            "(tCCD_S)",
    "tRRD": "ACT to ACT, other bank group of the rank (tRRD_S)",
    "tFAW": "window holding at most 4 ACTs per rank",
    "tWTR": "end of write data to RD, other bank group of the rank (tWTR_S)",
    "tREFI": "refresh interval (per rank; ranks staggered)",
    "tRFC": "refresh cycle time (rank blocked)",
    "tCCD_L": "column to column command of the same kind, same bank group (null: tCCD)",
    "tRRD_L": "ACT to ACT, same bank group (null: tRRD)",
    "tWTR_L": "end of write data to RD, same bank group (null: tWTR)",
    "tRTRS": "rank-to-rank switch: extra gap between data bursts of different ranks",
}

ARCH_SCHEMA = Group("an architecture config", {
    "name": Param("str", "unnamed", "config name, shown in reports"),
    "description": Param("str", "-", "free text"),
    "extends": Param("str", None, "config this one starts from (path relative to this file, "
                     "or a name in arch_configs/)", nullable=True),
    "chip": Group("the chip", {
        "cores": Param("int", 20, "active cores (placed on mesh nodes 0..cores-1, row-major)",
                       "core", min=1),
        "mesh": Group("the 2-D mesh the cores sit on", {
            # 64 x 64 is TrueNorth's 4,096 cores; the memory system's state grows per node
            "cols": Param("int", 5, "mesh columns (x)", "node", min=1, max=64),
            "rows": Param("int", 4, "mesh rows (y)", "node", min=1, max=64),
        }),
        "clock_mhz": Param("float", 500.0, "core, NoC and memory-controller clock", "MHz",
                           min=0, min_exclusive=True, max=10_000.0),
        "technology_nm": Param("int", 28, "process node (selects energy-table scaling)", "nm",
                               min=1),
        "dram_nodes": Param("any", [[0, 0]], "mesh nodes [x, y] with a DRAM controller port "
                            "(one controller per entry; DRAM channels are interleaved across "
                            "them)", expect="a list of [x, y] mesh coordinates"),
        "area_budget_mm2": Param("float", None, "die-area budget: a config whose area "
                                 "(`neurosim area`, docs/area.md) exceeds it is an input "
                                 "error; null = no budget", "mm2", min=0, min_exclusive=True,
                                 nullable=True),
    }),
    "core": Group("one core (all cores are identical)", {
        "precision": Param("choice", "fp16", "datapath number format: sets value bits for "
                           "weights, potentials and gradients", choices=tuple(PRECISION_BITS)),
        "state_format": Param("choice", "auto", "what FP saves of U for BP: the 1-bit surrogate "
                              "mask, full values, or mask when the surrogate is rectangular",
                              choices=("auto", "mask", "full")),
        "fp": _engine("feedforward engine: accumulate-only lanes plus LIF neuron units", 32, 4, {
            "neuron_lanes": Param("int", 16, "LIF neuron update units, one neuron each per "
                                  "cycle", "unit", min=1),
        }),
        "bp": _engine("back-propagation engine: multiply-add lanes", 16, 6),
        "wg": _engine("weight-gradient engine: accumulate-only lanes; also runs the weight "
                      "update", 16, 4, {
                          "grad_precision": Param(
                              "choice", "auto", "format of the weight-gradient accumulators "
                              "(and momentum) in wgrad and of the WG adds; auto = "
                              "core.precision. fp32 keeps small contributions that an FP16 "
                              "accumulator swamps (docs/energy.md)",
                              choices=("auto",) + tuple(PRECISION_BITS)),
                          "master_weights": Param(
                              "choice", "none", "fp32: an FP32 master copy of the weights in "
                              "wgrad takes the update, and the datapath copy is rounded from "
                              "it (mixed-precision training); none: the update goes straight "
                              "into the core.precision weights", choices=("none", "fp32")),
                          "update_rounding": Param(
                              "choice", "nearest", "rounding of the updated weight into its "
                              "stored format (the master copy if any, else the weights): "
                              "nearest-even, or stochastic (an update below half an ulp then "
                              "survives in expectation)", choices=("nearest", "stochastic")),
                      }),
        "sram": Group("the core's SRAM buffers", {
            "weights": _buffer("weights (value bits each)", 1024, 16),
            "state": _buffer("membrane potentials and saved surrogate masks/spikes", 256, 8),
            "spikes": _buffer("bit-packed input spikes saved for WG", 512, 4),
            "gradients": _buffer("g(S), g(U) and partial g(S_in) vectors", 512, 8),
            "wgrad": _buffer("weight-gradient accumulators (and optimizer state)", 2048, 16),
        }),
    }),
    "noc": Group("2-D mesh network-on-chip", {
        "model": Param("choice", "cycle", "cycle-level flit model, or ideal (fixed latency, "
                       "unlimited bandwidth)", choices=("cycle", "ideal")),
        "flit_bits": Param("int", 128, "link width and flit size", "bit", min=8),
        "routing_delay": Param("int", 1, "route computation of a head flit (BookSim2 "
                               "routing_delay; 0 = lookahead routing, the route is known on "
                               "arrival; spec 6.3)", "cycle", min=0),
        "vc_alloc_delay": Param("int", 1, "VC allocation, once per packet at its head flit "
                                "(BookSim2 vc_alloc_delay; spec 6.3)", "cycle", min=1),
        "sw_alloc_delay": Param("int", 1, "switch allocation, every flit (BookSim2 "
                                "sw_alloc_delay; spec 6.3)", "cycle", min=1),
        "st_prepare_delay": Param("int", 0, "switch traversal, first part (BookSim2 "
                                  "st_prepare_delay; the crossbar takes st_prepare_delay + "
                                  "st_final_delay >= 1 cycles; spec 6.3)", "cycle", min=0),
        "st_final_delay": Param("int", 1, "switch traversal, last part (BookSim2 "
                                "st_final_delay; spec 6.3)", "cycle", min=0),
        "link_delay": Param("int", 1, "router-to-router channel latency, flits and credits "
                            "(BookSim2 mesh channel latency; a flit sent in cycle t is "
                            "received in t + 1 + link_delay; spec 6.2)", "cycle", min=1),
        "credit_delay": Param("int", 0, "cycles a router holds a received credit before "
                              "using it (BookSim2 credit_delay; spec 6.2)", "cycle", min=0),
        "injection_delay": Param("int", 1, "NI-to-router injection channel latency, flits and "
                                 "credits (BookSim2: 1; spec 6.2)", "cycle", min=1),
        "ejection_delay": Param("int", 1, "router-to-NI ejection channel latency, flits and "
                                "credits (BookSim2: 1; spec 6.2)", "cycle", min=1),
        "alloc_iters": Param("int", 1, "iSLIP iterations of the VC and switch allocators "
                             "(BookSim2 alloc_iters; spec 6.4)", "iteration", min=1),
        "buffer_flits": Param("int", 4, "input buffer depth per port per virtual channel",
                              "flit", min=1),
        "vcs": Param("int", 1, "virtual channels per input port", "vc", min=1),
        "spike_encoding": Param("choice", "auto", "spike packets as address events (one index "
                                "per spike), bitmaps, or whichever is smaller",
                                choices=("auto", "aer", "bitmap")),
        "gradient_encoding": Param("choice", "auto", "gradient packets dense (value bits each) "
                                   "or sparse (index, value), or whichever is smaller",
                                   choices=("auto", "dense", "sparse")),
        "multicast": Param("bool", False, "send one spike packet to several destination cores "
                           "(else one unicast each)"),
        "ideal_latency": Param("int", 10, "packet latency in the ideal model", "cycle", min=0),
    }),
    "dram": Group("off-chip DRAM", {
        "model": Param("choice", "cycle", "cycle-level command model, or ideal (fixed latency, "
                       "unlimited bandwidth)", choices=("cycle", "ideal")),
        "preset": Param("choice", "LPDDR4-3200", "standard whose values fill the keys below "
                        "unless set", choices=("DDR4-2400", "DDR4-2400R", "DDR4-3200",
                                                     "LPDDR4-3200", "HBM2"),
                        nullable=True),
        "channels": Param("int", REQUIRED, "independent channels", "channel", min=1),
        "ranks": Param("int", REQUIRED, "ranks per channel", "rank", min=1),
        "banks": Param("int", REQUIRED, "banks per rank", "bank", min=1),
        "bank_groups": Param("int", 1, "bank groups per rank (banks divided evenly among them)",
                             "group", min=1),
        "bus_bits": Param("int", REQUIRED, "data bus width per channel", "bit", min=1),
        "data_rate_mtps": Param("float", REQUIRED, "transfers per second per pin", "MT/s",
                                min=0, min_exclusive=True),
        "burst_bytes": Param("int", REQUIRED, "bytes per request (one burst)", "B", min=1),
        "row_bytes": Param("int", REQUIRED, "row (page) size per bank", "B", min=1),
        "page_policy": Param("choice", "open", "keep rows open after access, or auto-precharge",
                             choices=("open", "closed")),
        "queue_depth": Param("int", 32, "read queue entries per channel", "request", min=1),
        "write_queue_depth": Param("int", 32, "write queue entries per channel (a full write "
                                   "queue starts write draining)", "request", min=1),
        "row_hit_cap": Param("int", 4, "row hits after which a conflicting request may close "
                             "the row despite pending hits", "request", min=1),
        "address_mapping": Param("str", "RoBaRaCoCh", "burst-address fields from MSB to LSB, "
                                 "two letters each (Ro row, Ch channel, Ra rank, Bg bank group, "
                                 "Ba bank, Co column; case ignored): Ro first, each of the others "
                                 "once, Bg optional; the row takes all remaining high bits",
                                 check=lambda v: address_mapping_fields(v) is not None,
                                 expect="a field string like RoRaBaBgCo: Ro first, then Ch, "
                                        "Ra, Ba, Co and optionally Bg, each once"),
        "timing_ns": Group("DRAM timing parameters (converted to chip cycles, rounded up)", {
            **{k: Param("float", REQUIRED, _TIMING_DOCS[k], "ns", min=0) for k in _TIMING_KEYS},
            **{k: Param("float", None, _TIMING_DOCS[k], "ns", min=0, nullable=True)
               for k in _TIMING_L_KEYS},
            "tRTRS": Param("float", 0.0, _TIMING_DOCS["tRTRS"], "ns", min=0),
        }),
        "ideal_latency": Param("int", 50, "transfer latency in the ideal model", "cycle", min=0),
    }),
    "schedule": Group("the training step's schedule", {
        "bp_wg_overlap": Param("bool", True, "BP and WG of the same layer and time step run "
                               "concurrently (else WG waits for BP to finish)"),
        "fp_bp_overlap": Param("bool", True, "FP of the next sample runs while BP/WG of the "
                               "current one run (else a core's FP waits for its BP/WG)"),
        "layer_pipeline": Param("bool", True, "layers on different cores work on different time "
                                "steps at once (else each layer finishes all T before the next)"),
        "samples_in_flight": Param("int", 2, "samples whose saved state may be held at once "
                                   "(FP may run this many samples ahead of BP)", "sample", min=1),
    }),
    "mapping": Group("default layer-to-core mapping (a workload or --set may override)", {
        "strategy": Param("choice", "auto", "auto balances work and SRAM; or force one scheme",
                          choices=("auto", "layer-pipelined", "output-split", "data-parallel")),
        "objective": Param("choice", "balanced", "what the auto mapper minimises (auto and "
                           "data-parallel strategies): time = the original estimate, compute "
                           "plus spilled-weight DRAM time over contiguous layer segments; "
                           "traffic = DRAM bytes per step (exact), then estimated step time; "
                           "balanced = estimated energy x step time, DRAM priced at its energy "
                           "(traffic and balanced compare layouts that spread or pack slices of "
                           "several layers per core; docs/architecture.md, Mapping)",
                           choices=("time", "traffic", "balanced")),
    }),
    "energy": Group("energy model", {
        "table": Param("str", "28nm", "energy table: bundled 28nm (low-power 28 nm process) "
                       "or 28nm-hp (high-performance devices: ~2000x the SRAM leakage), or a "
                       "YAML path (docs/energy.md)"),
        "overrides": Param("any", {}, "per-entry overrides of the table: {entry: value in "
                           "the entry's unit} (list entries with `neurosim energy table`)",
                           expect="a mapping of entry name to energy"),
        "dram_type": Param("choice", "auto", "DRAM family whose energies price DRAM traffic "
                           "(auto: from dram.preset)",
                           choices=("auto", "LPDDR4", "DDR4", "HBM2")),
    }),
    "fpga": Group("FPGA prototype target (docs/area.md)", {
        "part": Param("str", None, "FPGA part the chip is prototyped on (a name in "
                      "neurosim/data/fpga_parts.yaml, e.g. xcvu13p): the SRAM of all cores "
                      "must fit its block RAM + UltraRAM, else an input error; null = no "
                      "FPGA target", nullable=True),
    }),
})


# --------------------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def dram_presets() -> dict:
    text = resources.files("neurosim").joinpath("data/dram_presets.yaml").read_text()
    return yamlio.safe_load(text)


class _DuplicateKey(Exception):
    def __init__(self, key, line: int):
        self.key, self.line = str(key), line


class _UniqueKeyLoader(yamlio.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a config that says ``chip:``
    twice is a mistake worth one line."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str) -> dict:
    """Read a YAML mapping; any failure is an InputError naming the file. A file read
    before and unchanged since is parsed once (a sweep resolves its bases per point)."""
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, what)
    except OSError:
        key = None
    if key is not None and key in _PARSED:
        return copy.deepcopy(_PARSED[key])
    data = _parse_yaml(path, what)
    if key is not None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = copy.deepcopy(data)
    return data


_PARSED: dict = {}


def _parse_yaml(path: Path, what: str) -> dict:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(path, "", f"an existing {what} file", "no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(path, "", f"a readable {what} YAML file", type(e).__name__) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as e:
        raise InputError(path, e.key, "each key once in a mapping",
                         f"a second {e.key!r} at line {e.line}") from None
    except RecursionError:
        raise InputError(path, "", "YAML nested less deeply",
                         "nesting deeper than the parser can follow") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise InputError(path, "", f"valid YAML ({where})", "a syntax error") from None
    if data is None:
        raise InputError(path, "", f"a non-empty {what} (a YAML mapping)", "an empty document")
    if not isinstance(data, dict):
        raise InputError(path, "", f"a YAML mapping for a {what}", type(data).__name__)
    return data


def resolve_arch_path(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    p = Path(name_or_path)
    candidates = []
    if relative_to is not None and not p.is_absolute():
        candidates.append(relative_to / p)
    candidates.append(p)
    if p.suffix == "":
        candidates.append(ARCH_DIR / (p.name + ".yaml"))
    candidates.append(ARCH_DIR / p.name)
    for c in candidates:
        if c.is_file():
            return c
    return candidates[0]


def _load_raw(path: Path, chain: tuple = ()) -> dict:
    path = Path(path)
    if path.resolve() in chain:
        raise InputError(path, "extends", "no cycle of extends", " -> ".join(str(c) for c in chain))
    data = read_yaml(path, "arch config")
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise InputError(path, "extends", "a config path or name", parent)
        ppath = resolve_arch_path(parent, path.parent)
        if not ppath.is_file():
            raise InputError(path, "extends", "an existing arch config", parent)
        base = _load_raw(ppath, chain + (path.resolve(),))
        base.pop("extends", None)
        data = deep_merge(base, {k: v for k, v in data.items() if k != "extends"})
    return data


def _apply_dram_preset(raw: dict, source: str) -> dict:
    dram = raw.get("dram") or {}
    if not isinstance(dram, dict):
        return raw
    preset = dram.get("preset", ARCH_SCHEMA.fields["dram"].fields["preset"].default)
    if preset is None:
        return raw
    presets = dram_presets()
    if not isinstance(preset, str) or preset not in presets:
        return raw  # the schema reports the bad name
    merged = deep_merge(presets[preset], dram)
    return {**raw, "dram": merged}


def load_arch(path_or_dict, overrides: list[str] | None = None) -> Config:
    """Load, merge ``extends``, apply a DRAM preset and ``--set`` overrides, validate."""
    if isinstance(path_or_dict, dict):
        raw, source = dict(path_or_dict), "<dict>"
    else:
        path = resolve_arch_path(path_or_dict)
        raw, source = _load_raw(path), display_path(path)
    raw = apply_overrides(raw, overrides, ARCH_SCHEMA)
    raw = _apply_dram_preset(raw, source)
    data = ARCH_SCHEMA.validate(raw, source, "")
    cfg = Config(data, source, overridden=overridden_keys(overrides))
    check_arch(cfg)
    return cfg


def check_arch(cfg: Config) -> None:
    """Cross-key checks that the per-key schema cannot express (once per config: a check
    that raised is made again)."""
    cfg.derived(_check_arch)


def _check_arch(cfg: Config) -> bool:
    chip = cfg.chip
    nodes = chip.mesh.cols * chip.mesh.rows
    if chip.cores > nodes:
        raise cfg.error("chip.cores", f"at most mesh.cols*mesh.rows = {nodes} cores", chip.cores)
    dn = cfg.get("chip.dram_nodes")
    if not isinstance(dn, list) or not dn:
        raise cfg.error("chip.dram_nodes", "a non-empty list of [x, y] mesh coordinates", dn)
    for i, xy in enumerate(dn):
        if (not isinstance(xy, (list, tuple)) or len(xy) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in xy)
                or not (0 <= xy[0] < chip.mesh.cols and 0 <= xy[1] < chip.mesh.rows)):
            raise cfg.error(f"chip.dram_nodes[{i}]",
                            f"[x, y] inside the {chip.mesh.cols}x{chip.mesh.rows} mesh", xy)
    if len({tuple(xy) for xy in dn}) != len(dn):
        raise cfg.error("chip.dram_nodes", "distinct mesh nodes", dn)
    if cfg.noc.st_prepare_delay + cfg.noc.st_final_delay < 1:
        raise cfg.error("noc.st_final_delay", "st_prepare_delay + st_final_delay >= 1 (the "
                        "crossbar takes at least a cycle, spec 6.3)", cfg.noc.st_final_delay)
    bits = value_bits(cfg)
    for buf in SRAM_BUFFERS:
        b = cfg.core.sram[buf]
        if b.banks >= 1 << 24:   # the event model's SRAM op codes hold a bank in 24 bits
            raise cfg.error(f"core.sram.{buf}.banks", "fewer than 2^24 banks", b.banks)
        if b.size_kib * 1024 * 8 < b.width_bits * b.banks:
            raise cfg.error(f"core.sram.{buf}.size_kib",
                            f"at least one word per bank ({b.width_bits * b.banks / 8192:g} KiB)",
                            b.size_kib)
        need, fmt = (grad_bits(cfg), grad_precision(cfg)) if buf == "wgrad" \
            else (bits, cfg.core.precision)
        if b.width_bits < need:
            raise cfg.error(f"core.sram.{buf}.width_bits",
                            f"at least one {fmt} value ({need} bits)", b.width_bits)
    mb = master_bits(cfg)
    if mb > cfg.core.sram.wgrad.width_bits:
        raise cfg.error("core.sram.wgrad.width_bits", f"at least one master weight ({mb} "
                        "bits)", cfg.core.sram.wgrad.width_bits)
    # A lane-wide chunk is spread over consecutive banks accessed in the same cycle.
    for eng, buf in (("fp", "weights"), ("bp", "weights"), ("bp", "gradients"),
                     ("wg", "wgrad"), ("wg", "weights")):   # wg/weights: UPD writes W
        k = words_per_chunk(cfg, eng, buf)
        banks = cfg.core.sram[buf].banks
        if k > banks:
            raise cfg.error(f"core.{eng}.lanes",
                            f"a chunk that fits the {buf} buffer's {banks} banks in one cycle "
                            f"(lanes*{grad_bits(cfg) if buf == 'wgrad' else bits} <= "
                            "banks*width_bits)", cfg.core[eng].lanes)
    if mb:
        k = master_words_per_chunk(cfg)
        if k > cfg.core.sram.wgrad.banks:
            raise cfg.error("core.wg.lanes", f"a chunk of master weights that fits the wgrad "
                            f"buffer's {cfg.core.sram.wgrad.banks} banks in one cycle "
                            f"(lanes*{mb} <= banks*width_bits)", cfg.core.wg.lanes)
    if neuron_words_per_chunk(cfg) > cfg.core.sram.state.banks:
        raise cfg.error("core.fp.neuron_lanes", "a neuron chunk that fits the state buffer's "
                        "banks in one cycle", cfg.core.fp.neuron_lanes)
    d = cfg.dram
    if d.burst_bytes > d.row_bytes:
        key = cfg.blamed("dram.burst_bytes", "dram.row_bytes")
        raise cfg.error(key, "burst_bytes <= row_bytes",
                        f"burst_bytes {d.burst_bytes}, row_bytes {d.row_bytes}")
    for key in ("channels", "ranks", "banks", "bank_groups"):
        if d[key] & (d[key] - 1):
            raise cfg.error(f"dram.{key}", "a power of two (address bits are sliced)", d[key])
    if d.bank_groups > d.banks:
        raise cfg.error("dram.bank_groups", f"at most dram.banks ({d.banks})", d.bank_groups)
    if d.row_bytes % d.burst_bytes or (d.row_bytes // d.burst_bytes) & (d.row_bytes // d.burst_bytes - 1):
        raise cfg.error("dram.row_bytes", "a power-of-two multiple of burst_bytes", d.row_bytes)
    if d.model == "cycle":
        t = dram_timing_cycles(cfg)
        need = refresh_headroom(cfg)
        if 0 < t["tREFI"] <= need:
            raise cfg.error("dram.timing_ns.tREFI", f"a refresh interval longer than tRFC "
                            f"plus one row cycle and one PRE per bank ({need} cycles at "
                            f"{chip.clock_mhz:g} MHz; 0 disables refresh), else refresh can "
                            "starve every request", d.timing_ns.tREFI)
    if not isinstance(cfg.get("energy.overrides"), dict):
        raise cfg.error("energy.overrides", "a mapping of entry name to energy",
                        cfg.get("energy.overrides"))
    return True


# --------------------------------------------------------------------------- derived values


def value_bits(cfg: Config) -> int:
    """Bits of one weight / potential / gradient value in the datapath."""
    return PRECISION_BITS[cfg.core.precision]


def grad_precision(cfg: Config) -> str:
    """Format of the weight-gradient accumulators and the momentum (``core.wg.grad_precision``)."""
    p = cfg.core.wg.grad_precision
    return cfg.core.precision if p == "auto" else p


def grad_bits(cfg: Config) -> int:
    """Bits of one weight-gradient accumulator (and momentum value) in wgrad."""
    return PRECISION_BITS[grad_precision(cfg)]


def master_bits(cfg: Config) -> int:
    """Bits per weight of the master copy in wgrad (0 without one)."""
    m = cfg.core.wg.master_weights
    return 0 if m == "none" else PRECISION_BITS[m]


def update_precision(cfg: Config) -> str:
    """Format of the UPD multiply-adds: the widest of the accumulators and the weights'
    stored format (the master copy if any, else core.precision)."""
    stored = cfg.core.precision if cfg.core.wg.master_weights == "none" \
        else cfg.core.wg.master_weights
    return max((grad_precision(cfg), stored), key=lambda p: PRECISION_BITS[p])


def words_per_chunk(cfg: Config, engine: str, buffer: str) -> int:
    """SRAM words (= consecutive banks) one lane-wide chunk of ``engine`` touches in ``buffer``
    (the WG engine's accumulators in wgrad are ``grad_bits`` wide)."""
    lanes = cfg.core[engine].lanes
    bits = grad_bits(cfg) if buffer == "wgrad" else value_bits(cfg)
    return math.ceil(lanes * bits / cfg.core.sram[buffer].width_bits)


def master_words_per_chunk(cfg: Config) -> int:
    """SRAM words one lane-wide chunk of master weights (``core.wg.master_weights``) touches
    in wgrad (0 without a master copy)."""
    return math.ceil(cfg.core.wg.lanes * master_bits(cfg) / cfg.core.sram.wgrad.width_bits)


def neuron_words_per_chunk(cfg: Config) -> int:
    """SRAM words of the state buffer one chunk of ``core.fp.neuron_lanes`` LIF updates
    touches."""
    return math.ceil(cfg.core.fp.neuron_lanes * value_bits(cfg) / cfg.core.sram.state.width_bits)


def sram_kib_per_core(cfg: Config) -> float:
    """KiB of SRAM of one core (every buffer)."""
    return sum(cfg.core.sram[b].size_kib for b in SRAM_BUFFERS)


def buffer_bytes(cfg: Config, buffer: str) -> int:
    return int(cfg.core.sram[buffer].size_kib * 1024)


def ns_to_cycles(cfg: Config, ns: float) -> int:
    """Round a duration up to whole chip cycles."""
    return int(math.ceil(ns * cfg.chip.clock_mhz / 1000.0 - 1e-9))


ADDRESS_FIELDS = ("Ro", "Ch", "Ra", "Bg", "Ba", "Co")


def address_mapping_fields(mapping) -> list[str] | None:
    """``dram.address_mapping`` as its fields, most significant first, spelled as in
    ``ADDRESS_FIELDS`` (``docs/microarchitecture.md`` 7.1); None if it is not a valid
    mapping."""
    if not isinstance(mapping, str) or len(mapping) % 2:
        return None
    canon = {f.lower(): f for f in ADDRESS_FIELDS}
    fields = [canon.get(mapping[i:i + 2].lower()) for i in range(0, len(mapping), 2)]
    if None in fields or len(set(fields)) != len(fields) or not fields or fields[0] != "Ro":
        return None
    if set(ADDRESS_FIELDS) - {"Bg"} - set(fields):
        return None
    return fields


def dram_timing_cycles(cfg: Config) -> dict[str, int]:
    """DRAM timing parameters in chip cycles, plus tBURST (data-bus time of one burst).
    The same-bank-group values ``tCCD_L``, ``tRRD_L``, ``tWTR_L`` default to ``tCCD``,
    ``tRRD``, ``tWTR`` and are those values when there is one bank group (7.4)."""
    return dict(cfg.derived(_dram_timing_cycles))   # (a copy: the caller may change it)


def _dram_timing_cycles(cfg: Config) -> dict[str, int]:
    d = cfg.dram
    t = {k: ns_to_cycles(cfg, v) for k, v in d.timing_ns.to_dict().items() if v is not None}
    for long_key in ("tCCD_L", "tRRD_L", "tWTR_L"):
        short = long_key[:-2]
        if long_key not in t or d.bank_groups == 1:
            t[long_key] = t[short]
    burst_ns = d.burst_bytes / (d.bus_bits / 8) / (d.data_rate_mtps * 1e6) * 1e9
    t["tBURST"] = max(1, ns_to_cycles(cfg, burst_ns))
    return t


def refresh_headroom(cfg: Config) -> int:
    """Cycles ``tREFI`` must exceed under ``dram.model: cycle``
    (``docs/microarchitecture.md`` 7), so that between two refreshes of a rank at least one
    request always gets its column command: the refresh (tRFC), closing every bank of the
    rank (one PRE per cycle, each after tRAS / tRTP / write recovery, then tRP), and the
    longest wait of one request after it (tFAW/tRRD for its ACT, tRCD, the longest
    column-to-column gap and the data)."""
    t = dram_timing_cycles(cfg)
    d = cfg.dram
    bl, rl, wl = t["tBURST"], t["tCL"], t["tCWL"]
    close = d.banks + max(t["tRAS"], bl + t["tRTP"], wl + bl + t["tWR"]) + t["tRP"]
    act = max(t["tFAW"], t["tRRD_L"])
    col = t["tRCD"] + max(t["tCCD_L"], t["tWTR_L"], t["tRTRS"]) + rl + wl + 2 * bl
    return t["tRFC"] + close + act + col
