"""Architecture configs: the schema (every knob, declared once) and the loader.

An arch config is YAML. It may ``extends:`` another config (a path relative to the file, or
the bare name of a config in ``arch_configs/``) and override any of its keys; any key can
also be overridden from the command line with ``--set core.fp.lanes=64``. The loaded result
is a :class:`~neurosim.params.Config`; derived quantities (DRAM timings in chip cycles,
words per chunk...) come from the helper functions at the bottom, never from constants.
"""
from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import InputError
from .params import (REQUIRED, Config, Group, Param, apply_overrides, deep_merge,
                     overridden_keys)

ARCH_DIR = Path(__file__).resolve().parent.parent / "arch_configs"

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
_TIMING_DOCS = {
    "tRCD": "ACT to RD/WR, same bank", "tCL": "RD command to first data (CAS latency)",
    "tCWL": "WR command to first data (CAS write latency)", "tRP": "PRE to ACT, same bank",
    "tRAS": "ACT to PRE, same bank", "tWR": "end of write data to PRE (write recovery)",
    "tRTP": "RD to PRE, same bank", "tCCD": "column command to column command, same channel",
    "tRRD": "ACT to ACT, different banks of a rank", "tFAW": "window holding at most 4 ACTs per rank",
    "tWTR": "end of write data to RD, same rank", "tREFI": "refresh interval",
    "tRFC": "refresh cycle time (rank blocked)",
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
            "cols": Param("int", 5, "mesh columns (x)", "node", min=1),
            "rows": Param("int", 4, "mesh rows (y)", "node", min=1),
        }),
        "clock_mhz": Param("float", 500.0, "core, NoC and memory-controller clock", "MHz",
                           min=0, min_exclusive=True),
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
        "router_delay": Param("int", 2, "router pipeline stages a flit spends in a router",
                              "cycle", min=1),
        "link_delay": Param("int", 1, "link traversal (also credit return)", "cycle", min=1),
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
                        "unless set", choices=("DDR4-2400", "LPDDR4-3200", "HBM2"),
                        nullable=True),
        "channels": Param("int", REQUIRED, "independent channels", "channel", min=1),
        "ranks": Param("int", REQUIRED, "ranks per channel", "rank", min=1),
        "banks": Param("int", REQUIRED, "banks per rank", "bank", min=1),
        "bus_bits": Param("int", REQUIRED, "data bus width per channel", "bit", min=1),
        "data_rate_mtps": Param("float", REQUIRED, "transfers per second per pin", "MT/s",
                                min=0, min_exclusive=True),
        "burst_bytes": Param("int", REQUIRED, "bytes per request (one burst)", "B", min=1),
        "row_bytes": Param("int", REQUIRED, "row (page) size per bank", "B", min=1),
        "page_policy": Param("choice", "open", "keep rows open after access, or auto-precharge",
                             choices=("open", "closed")),
        "queue_depth": Param("int", 32, "request queue entries per channel", "request", min=1),
        "address_mapping": Param("choice", "RoBaRaCoCh", "burst-address fields from MSB to "
                                 "LSB (Ro=row Ba=bank Ra=rank Co=column Ch=channel); the row "
                                 "takes all remaining high bits",
                                 choices=("RoBaRaCoCh", "RoRaBaCoCh", "RoCoBaRaCh",
                                          "RoBaRaChCo", "RoChBaRaCo")),
        "timing_ns": Group("DRAM timing parameters (converted to chip cycles, rounded up)", {
            k: Param("float", REQUIRED, _TIMING_DOCS[k], "ns", min=0) for k in _TIMING_KEYS
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
    "federated": Group("federated learning (`neurosim federated`, docs/federated.md): "
                       "workers, each a chip of this config, train locally on their own "
                       "shards and average their weights (FedAvg) over a link", {
        "workers": Param("int", 5, "workers (chip instances), each with its own shard of the "
                         "training split", "worker", min=1),
        "rounds": Param("int", 10, "communication rounds (local steps, upload, average, "
                        "download)", "round", min=1),
        "local_steps": Param("int", 10, "local training steps per worker per round, each a "
                             "minibatch of traces.train_batch samples of its shard", "step",
                             min=1),
        "partition": Param("choice", "iid", "split of the training split among workers: iid "
                           "(random, equal sizes) or dirichlet (per class, shares drawn from "
                           "Dir(dirichlet_alpha): label skew)", choices=("iid", "dirichlet")),
        "dirichlet_alpha": Param("float", 0.5, "concentration of the Dirichlet split: small "
                                 "gives each worker few classes, large tends to iid", "",
                                 min=0, min_exclusive=True),
        "seed": Param("int", 0, "seed of the partition (the training stream is "
                      "traces.seed's)", "", min=0),
        "simulate_every": Param("int", 20, "run the timing and energy models on every K-th "
                                "local step of each worker (counted over its run; the first "
                                "included), estimating the others from the simulated ones "
                                "(docs/federated.md); null = local_steps (one per worker per "
                                "round); 0 = none (no time or energy of local steps). The "
                                "default keeps the default mlp-digits run near a minute",
                                "step", min=0, nullable=True),
        "aggregator": Param("choice", "host", "who averages: host (float64, its cost not "
                            "modelled) or chip (a chip of this config, weighted sum on its WG "
                            "multiply-add lanes, in its UPD arithmetic)",
                            choices=("host", "chip")),
        "worker_overrides": Param("any", [], "per-worker changes to this config: a list, one "
                                  "entry per worker (shorter: the rest use this config), each "
                                  "a mapping {dotted arch key: value}, e.g. "
                                  "[{}, {chip.clock_mhz: 250}]",
                                  expect="a list of mappings {dotted arch key: value}"),
        "link": Group("worker-aggregator link: a star whose paths meet at the aggregator's "
                      "port (defaults: switched 1 Gb/s Ethernet, docs/federated.md)", {
            "bandwidth_gbps": Param("float", 1.0, "payload rate of the aggregator's port (one "
                                    "transfer at a time)", "Gb/s", min=0, min_exclusive=True),
            "latency_us": Param("float", 28.0, "one-way latency of a transfer after its last "
                                "bit is sent", "us", min=0),
            "energy_pj_per_bit": Param("float", 900.0, "energy per bit carried over one "
                                       "worker-aggregator path (both ends)", "pJ/bit", min=0),
            "download": Param("choice", "unicast", "averaged model sent back as one copy per "
                              "worker, serialised (unicast), or one transmission reaching all "
                              "(broadcast)", choices=("unicast", "broadcast")),
        }),
    }),
})


# --------------------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def dram_presets() -> dict:
    text = resources.files("neurosim").joinpath("data/dram_presets.yaml").read_text()
    return yaml.safe_load(text)


def read_yaml(path: Path, what: str) -> dict:
    """Read a YAML mapping; any failure is an InputError naming the file."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(path, "", f"an existing {what} file", "no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(path, "", f"a readable {what} YAML file", type(e).__name__) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise InputError(path, "", f"valid YAML ({where})", "a syntax error") from None
    if data is None:
        data = {}
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


def _display_path(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when possible."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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
    if preset not in presets:
        return raw  # the schema reports the bad name
    merged = deep_merge(presets[preset], dram)
    return {**raw, "dram": merged}


def load_arch(path_or_dict, overrides: list[str] | None = None) -> Config:
    """Load, merge ``extends``, apply a DRAM preset and ``--set`` overrides, validate."""
    if isinstance(path_or_dict, dict):
        raw, source = dict(path_or_dict), "<dict>"
    else:
        path = resolve_arch_path(path_or_dict)
        raw, source = _load_raw(path), _display_path(path)
    raw = apply_overrides(raw, overrides, ARCH_SCHEMA)
    raw = _apply_dram_preset(raw, source)
    data = ARCH_SCHEMA.validate(raw, source, "")
    cfg = Config(data, source, overridden=overridden_keys(overrides))
    check_arch(cfg)
    return cfg


def check_arch(cfg: Config) -> None:
    """Cross-key checks that the per-key schema cannot express."""
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
    bits = value_bits(cfg)
    for buf in SRAM_BUFFERS:
        b = cfg.core.sram[buf]
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
    k = math.ceil(cfg.core.fp.neuron_lanes * bits / cfg.core.sram.state.width_bits)
    if k > cfg.core.sram.state.banks:
        raise cfg.error("core.fp.neuron_lanes", "a neuron chunk that fits the state buffer's "
                        "banks in one cycle", cfg.core.fp.neuron_lanes)
    d = cfg.dram
    if d.burst_bytes > d.row_bytes:
        raise cfg.error("dram.burst_bytes", f"at most row_bytes ({d.row_bytes})", d.burst_bytes)
    for key in ("channels", "ranks", "banks"):
        if d[key] & (d[key] - 1):
            raise cfg.error(f"dram.{key}", "a power of two (address bits are sliced)", d[key])
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
    if chip.area_budget_mm2 is not None or cfg.fpga.part is not None:
        from .area import check_budgets   # the area model, only when a budget is declared

        check_budgets(cfg)


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


def buffer_bytes(cfg: Config, buffer: str) -> int:
    return int(cfg.core.sram[buffer].size_kib * 1024)


def ns_to_cycles(cfg: Config, ns: float) -> int:
    """Round a duration up to whole chip cycles."""
    return int(math.ceil(ns * cfg.chip.clock_mhz / 1000.0 - 1e-9))


def dram_timing_cycles(cfg: Config) -> dict[str, int]:
    """DRAM timing parameters in chip cycles, plus tBURST (data-bus time of one burst)."""
    t = {k: ns_to_cycles(cfg, v) for k, v in cfg.dram.timing_ns.to_dict().items()}
    d = cfg.dram
    burst_ns = d.burst_bytes / (d.bus_bits / 8) / (d.data_rate_mtps * 1e6) * 1e9
    t["tBURST"] = max(1, ns_to_cycles(cfg, burst_ns))
    return t


def refresh_headroom(cfg: Config) -> int:
    """Cycles ``tREFI`` must exceed under ``dram.model: cycle``
    (``docs/microarchitecture.md`` 7), so that between two refreshes at least one request
    always gets its column command: the refresh (tRFC), closing every bank (one PRE per
    cycle, each after tRAS / tRTP / write recovery, then tRP), and the longest wait of one
    request after it (tFAW/tRRD for its ACT, tRCD, tCCD/tWTR and the data bus)."""
    t = dram_timing_cycles(cfg)
    d = cfg.dram
    close = d.ranks * d.banks + max(t["tRAS"], t["tRTP"], t["tCWL"] + t["tBURST"] + t["tWR"]) \
        + t["tRP"]
    act = max(t["tFAW"], t["tRRD"])
    col = t["tRCD"] + max(t["tCCD"], t["tWTR"]) + t["tCL"] + t["tCWL"] + 2 * t["tBURST"]
    return t["tRFC"] + close + act + col


def mesh_xy(cfg: Config, node: int) -> tuple[int, int]:
    return node % cfg.chip.mesh.cols, node // cfg.chip.mesh.cols


def mesh_node(cfg: Config, x: int, y: int) -> int:
    return y * cfg.chip.mesh.cols + x
