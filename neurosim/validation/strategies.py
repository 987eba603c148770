"""Random small cases for the differential test: a network, an arch config, a mapping and
placement, and a trace.

One drawing routine, :func:`draw_case`, takes its random choices from a :class:`Draw`:
either :class:`SeededDraw` (a seeded ``random.Random``, for ``neurosim validate``) or, in the
tests, hypothesis (:func:`cases`, which shrinks failures to small examples). Cases are kept
small (1-4 cores, a few small layers, T <= 4, batch <= 3) so the cycle-stepped reference
runs in a fraction of a second.

Placements come from the mapper (:func:`neurosim.mapping.map_network`, a third of the
cases, often with SRAM small enough to spill) or are drawn directly (random parts, cores,
residency, SRAM and DRAM addresses, replicas for data parallelism), so mappings the mapper
would never choose are tested too.
"""
from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..arch import PRECISION_BITS, dram_presets, load_arch
from ..mapping.placement import PartPlacement, Placement, Replica, TensorPlace
from ..workload import build_network, load_workload
from ..workload.synthetic import generate
from ..workload.trace import LayerTrace, Trace, pack_bits


class Draw:
    """The random choices a case is made of."""

    def int(self, lo: int, hi: int) -> int:  # inclusive
        raise NotImplementedError

    def choice(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def bool(self, p_true: float = 0.5) -> bool:
        return self.int(0, 999) < int(p_true * 1000)

    def float(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.int(0, 1000) / 1000

    def aside(self) -> "Draw":
        """Choices added after a case seed's meaning was fixed: drawn from here, they leave
        the main stream (and so every older seed's case) unchanged."""
        return self


class SeededDraw(Draw):
    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self._aside = None

    def int(self, lo, hi):
        return self.rng.randint(lo, hi)

    def aside(self):
        if self._aside is None:
            self._aside = SeededDraw(f"{self.seed}:aside")
        return self._aside


class HypothesisDraw(Draw):
    def __init__(self, draw):
        from hypothesis import strategies as st

        self._draw, self._st = draw, st

    def int(self, lo, hi):
        return self._draw(self._st.integers(lo, hi))


@dataclass
class Case:
    arch: object             # Config
    network: object          # Network
    trace: object            # Trace
    placement: Placement
    momentum: bool
    seed: int | None = None
    notes: dict = field(default_factory=dict)  # what was drawn, for messages

    def describe(self) -> str:
        n = self.notes
        return (f"{n.get('layers')}, T={self.network.time_steps}, batch={self.network.batch}, "
                f"{self.arch.chip.cores} cores on {self.arch.chip.mesh.cols}x"
                f"{self.arch.chip.mesh.rows}, noc {self.arch.noc.model}, dram "
                f"{self.arch.dram.model}, {len(self.placement.replicas)} replica(s)"
                f"{' (mapper, ' + self.arch.mapping.strategy + ')' if n.get('mapper') else ''}"
                f", trace {n.get('trace')}")


# --------------------------------------------------------------------------- network


def draw_network(d: Draw, mode: str | None = None):
    """A small network: convs (with pooling and an optional residual block) or not, then
    linear layers; the last layer is linear (the loss reads it). ``mode`` (spec 3.6) is
    drawn unless given (it is drawn either way, so the rest of the case does not change)."""
    layers = []
    image = d.bool(0.65)
    if image:
        shape = [d.int(1, 3), d.int(3, 6), d.int(3, 6)]
        _, h, w = shape
        for i in range(d.int(1, 2)):
            k = d.choice([1, 2, 3])
            s = d.choice([1, 1, 2])
            p = d.int(0, k // 2)
            if (h + 2 * p - k) // s + 1 < 1 or (w + 2 * p - k) // s + 1 < 1:
                k, s, p = 1, 1, 0
            oc = d.int(1, 4)
            layers.append({"name": f"conv{i}", "type": "conv2d", "out_channels": oc,
                           "kernel": k, "stride": s, "padding": p})
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            if h >= 2 and w >= 2 and d.bool(0.35):
                layers.append({"name": f"pool{i}", "type": d.choice(["maxpool", "avgpool"]),
                               "kernel": 2})
                h, w = (h - 2) // 2 + 1, (w - 2) // 2 + 1
        if d.bool(0.35):  # residual block: a -> b, add(a, b)
            oc = d.int(1, 3)
            layers.append({"name": "res_a", "type": "conv2d", "out_channels": oc,
                           "kernel": 3, "padding": 1})
            layers.append({"name": "res_b", "type": "conv2d", "out_channels": oc,
                           "kernel": d.choice([1, 3]), "padding": None})
            layers.append({"name": "res_add", "type": "add", "inputs": ["res_a", "res_b"]})
            if h >= 2 and w >= 2 and d.bool(0.3):
                layers.append({"name": "res_pool", "type": "maxpool", "kernel": 2})
        layers.append({"name": "flat", "type": "flatten"})
    else:
        shape = [d.int(4, 40)]
    for i in range(d.int(0 if image else 1, 1)):
        layers.append({"name": f"fc{i}", "type": "linear", "out": d.int(2, 12)})
    layers.append({"name": "out", "type": "linear", "out": d.int(2, 8)})
    drawn = d.aside().choice(["train", "train", "inference", "input_gradient"])  # spec 3.6
    mode = mode or drawn
    wl = load_workload({
        "name": "random", "time_steps": d.int(1, 4), "batch": d.int(1, 3), "mode": mode,
        "network": {"input": {"shape": shape, "coding": d.choice(["direct", "rate", "dvs"])},
                    "neuron": {"reset": d.choice(["hard", "soft"])},
                    "surrogate": {"shape": d.choice(["rectangular", "rectangular", "sigmoid"])},
                    "layers": layers},
        "optimizer": {"type": "momentum" if d.bool(0.3) else "sgd"}})
    return build_network(wl), wl


# --------------------------------------------------------------------------- config


def _pow2(d: Draw, lo: int, hi: int) -> int:
    return 2 ** d.int(lo, hi)


def draw_arch(d: Draw, cores: int, small_sram: bool = False):
    """A random config; ``small_sram``: buffers of 32 bytes to 1 KiB, so the
    mapper spills (the timing models take capacities from the placement, not the config)."""
    a = d.aside()  # the noc.* router stages added with BookSim2 semantics (spec 6)
    precision = d.choice(["fp16", "fp16", "fp16", "int8", "fp32"])
    bits = PRECISION_BITS[precision]
    # weight-gradient formats (spec 2.5a): accumulator width, FP32 master copy, rounding
    grad_precision = d.choice(["auto", "auto", "fp16", "fp32"])
    gbits = bits if grad_precision == "auto" else PRECISION_BITS[grad_precision]
    master = d.choice(["none", "none", "fp32"])
    mbits = 32 if master == "fp32" else 0
    engines = {}
    for eng, lanes in (("fp", [2, 4, 8, 16, 32]), ("bp", [2, 4, 8, 16]),
                       ("wg", [2, 4, 8, 16])):
        engines[eng] = {"lanes": d.choice(lanes), "pipeline_depth": d.int(0, 4),
                        "scan_width": d.choice([4, 8, 16, 64])}
    engines["fp"]["neuron_lanes"] = d.choice([2, 4, 8, 16])
    engines["wg"].update(grad_precision=grad_precision, master_weights=master,
                         update_rounding=d.choice(["nearest", "stochastic"]))
    sram = {}
    for buf in ("weights", "state", "spikes", "gradients", "wgrad"):
        need_bits = max(gbits, mbits) if buf == "wgrad" else bits
        widths = [w for w in (16, 32, 64, 128, 256) if w >= need_bits]
        sram[buf] = {"banks": d.choice([1, 2, 4, 8]), "ports": d.choice([1, 1, 2]),
                     "width_bits": d.choice(widths)}
    # FP and BP meet on the weights buffer (the only one two engines share before UPD):
    # few banks and one port make bank conflicts common
    sram["weights"].update(banks=d.choice([1, 1, 2, 4]), ports=d.choice([1, 1, 1, 2]))
    # a lane-wide chunk must fit the banks of each buffer it touches in one cycle
    need = {"weights": max(engines["fp"]["lanes"], engines["bp"]["lanes"], engines["wg"]["lanes"])
            * bits, "gradients": engines["bp"]["lanes"] * bits,
            "wgrad": engines["wg"]["lanes"] * max(gbits, mbits),
            "state": engines["fp"]["neuron_lanes"] * bits}
    for buf, chunk_bits in need.items():
        k = math.ceil(chunk_bits / sram[buf]["width_bits"])
        sram[buf]["banks"] = max(sram[buf]["banks"], k)
    for buf in sram:
        sram[buf]["size_kib"] = d.choice([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1]) if small_sram else 64
        # at least one word per bank
        sram[buf]["size_kib"] = max(sram[buf]["size_kib"],
                                    sram[buf]["width_bits"] * sram[buf]["banks"] / 8192)
    cols = d.int(1, 4)
    rows = d.int(max(1, math.ceil(cores / cols)), max(3, math.ceil(cores / cols)))
    nodes = cols * rows
    dram_nodes = sorted({d.int(0, nodes - 1) for _ in range(d.int(1, 2))})
    # (the presets of the first draws; _draw_dram_controller may pick a newer one)
    preset = d.choice(["DDR4-2400", "HBM2", "LPDDR4-3200"])
    p = dram_presets()[preset]
    burst = d.choice([32, 64]) if d.bool(0.3) else p["burst_bytes"]
    row = max(burst, d.choice([256, 512, 1024, p["row_bytes"]]))
    timing = {}
    if d.bool(0.5):  # refresh often enough to happen inside a small case
        timing["tREFI"] = p["timing_ns"]["tRFC"] + float(d.choice([300, 1000, 3000]))
    elif d.bool(0.1):
        timing["tREFI"] = 0.0   # refresh off
    raw = {
        "name": "random",
        "chip": {"cores": cores, "mesh": {"cols": cols, "rows": rows},
                 "clock_mhz": d.choice([250.0, 500.0, 1000.0]),
                 "dram_nodes": [[n % cols, n // cols] for n in dram_nodes]},
        "core": {"precision": precision, **engines, "sram": sram,
                 "state_format": d.choice(["auto", "mask", "full"])},
        "noc": {"model": d.choice(["ideal", "cycle"]), "flit_bits": d.choice([16, 32, 64, 128]),
                # routing_delay takes the draw of the former router_delay (3 values)
                "routing_delay": d.int(0, 2), "link_delay": d.int(1, 2),
                "buffer_flits": d.int(1, 6), "vcs": d.int(1, 3),
                "spike_encoding": d.choice(["auto", "aer", "bitmap"]),
                "multicast": d.bool(0.4),
                "gradient_encoding": d.choice(["auto", "dense", "sparse"]),
                "ideal_latency": d.int(0, 12),
                "vc_alloc_delay": a.int(1, 2), "sw_alloc_delay": a.int(1, 2),
                "st_prepare_delay": a.int(0, 1), "st_final_delay": a.int(1, 2),
                "credit_delay": a.int(0, 2), "injection_delay": a.int(1, 2),
                "ejection_delay": a.int(1, 2), "alloc_iters": a.int(1, 2)},
        "dram": {"model": d.choice(["ideal", "cycle"]), "preset": preset,
                 "channels": _pow2(d, 0, 2), "ranks": _pow2(d, 0, 1), "banks": _pow2(d, 1, 3),
                 "burst_bytes": burst, "row_bytes": row,
                 "page_policy": d.choice(["open", "closed"]),
                 "queue_depth": d.choice([1, 2, 4, 32]),
                 "address_mapping": d.choice(["RoBaRaCoCh", "RoRaBaCoCh", "RoCoBaRaCh",
                                              "RoBaRaChCo", "RoChBaRaCo"]),
                 "ideal_latency": d.int(0, 40),
                 # the preset fills the other timings (merged key by key)
                 **({"timing_ns": timing} if timing else {})},
        "schedule": {"bp_wg_overlap": d.bool(0.7), "fp_bp_overlap": d.bool(0.7),
                     "layer_pipeline": d.bool(0.7), "samples_in_flight": d.int(1, 3)},
        "mapping": {"strategy": d.choice(["auto", "layer-pipelined", "output-split",
                                          "data-parallel"])},
    }
    _draw_dram_controller(raw["dram"])
    return load_arch(raw)


def _draw_dram_controller(dram: dict) -> None:
    """Bank groups, their timings, rank switching, queues and the row-hit cap (spec 7),
    drawn from a stream seeded by the DRAM keys already drawn, so that adding them changed
    no earlier case of a seed (the regression tests replay cases by seed)."""
    sub = SeededDraw(zlib.crc32(repr(sorted(dram.items())).encode()))
    banks = dram["banks"]
    if sub.bool(0.3):
        presets = dram_presets()
        old_rfc = presets[dram["preset"]]["timing_ns"]["tRFC"]
        dram["preset"] = sub.choice(sorted(presets))
        refi = dram.get("timing_ns", {}).get("tREFI")
        if refi:  # the same margin over the new preset's tRFC
            new_rfc = presets[dram["preset"]]["timing_ns"]["tRFC"]
            dram["timing_ns"] = {**dram["timing_ns"], "tREFI": refi - old_rfc + new_rfc}
    dram["bank_groups"] = min(banks, _pow2(sub, 0, 2)) if sub.bool(0.6) else 1
    dram["write_queue_depth"] = sub.choice([1, 2, 4, 32])
    dram["row_hit_cap"] = sub.choice([1, 2, 4, 16])
    if sub.bool(0.4):
        dram["address_mapping"] = sub.choice(["RoChRaBaBgCo", "RoRaBgBaChCo", "robgbarachco",
                                              "RoCoBaBgRaCh"])
    timing = dict(dram.get("timing_ns", {}))
    if sub.bool(0.5):  # same-group timings from one cycle to more than the presets'
        for key in ("tCCD_L", "tRRD_L", "tWTR_L"):
            timing[key] = float(sub.choice([1, 5, 10, 15]))
    if sub.bool(0.4):
        timing["tRTRS"] = float(sub.choice([0, 1, 2, 5]))
    if timing:
        dram["timing_ns"] = timing


# --------------------------------------------------------------------------- placement


def tensor_bytes(cfg, net, layer, n_ch: int, wl) -> dict:
    """Bytes of one instance of each tensor of a part (spec 5.1), as the mapper sizes them
    for the network's mode (3.6), with a ``GS`` in every layer (unused where no transposed
    phase runs)."""
    from ..mapping import part_tensors, state_is_full

    t = part_tensors(cfg, net, layer, n_ch, True, True, state_is_full(cfg, wl))
    t.setdefault("GS", math.ceil(layer.n_in * PRECISION_BITS[cfg.core.precision] / 8))
    return t


def draw_placement(d: Draw, cfg, net, wl) -> Placement:
    cores = list(range(cfg.chip.cores))
    order = cores[:]
    for i in range(len(order) - 1, 0, -1):  # shuffle with the draw's choices
        j = d.int(0, i)
        order[i], order[j] = order[j], order[i]
    R = 1
    if net.batch > 1 and len(cores) > 1 and d.bool(0.45):
        R = d.int(2, min(net.batch, len(cores)))
    groups = [order[r::R] for r in range(R)]
    dm = cfg.dram
    burst = dm.burst_bytes
    region = 4 * dm.row_bytes * dm.banks * dm.ranks * dm.channels  # a few rows per bank
    p_spill = d.choice([0.0, 0.3, 0.6])
    B = net.batch

    def dram_addr(nbytes):
        return burst * d.int(0, max(0, region // burst - 1))

    splits = {}
    for layer in net.layers:
        n = 1 if layer is net.output_layer else d.int(1, min(3, layer.out_channels))
        cuts = sorted({d.int(1, layer.out_channels - 1) for _ in range(n - 1)}) \
            if layer.out_channels > 1 else []
        bounds = [0, *cuts, layer.out_channels]
        splits[layer.name] = list(zip(bounds[:-1], bounds[1:]))
    replicas = []
    for r in range(R):
        layers = {}
        for layer in net.layers:
            parts = []
            for i, (lo, hi) in enumerate(splits[layer.name]):
                sizes = tensor_bytes(cfg, net, layer, hi - lo, wl)
                tensors = {}
                for name, nbytes in sizes.items():
                    resident = name in ("GU", "GS") or not d.bool(p_spill)
                    per_step = name in ("saved", "saved_in")
                    stride = (math.ceil(nbytes / burst) + d.int(0, 2)) * burst if per_step else 0
                    tensors[name] = TensorPlace(resident, d.int(0, 40), nbytes,
                                                dram_addr(nbytes), stride)
                parts.append(PartPlacement(layer.name, i, d.choice(groups[r]), lo, hi, tensors))
            layers[layer.name] = parts
        replicas.append(Replica(r, list(range(r, B, R)), layers))
    n0 = int(np.prod(net.input_shape))
    bits = PRECISION_BITS[cfg.core.precision]
    frame = math.ceil(n0 / 8) if net.coding == "dvs" else math.ceil(n0 * bits / 8)
    stride = math.ceil(frame / burst) * burst
    return Placement("random", replicas, dram_addr(frame), frame, stride,
                     [f"drawn: {R} replica(s), spill probability {p_spill}"])


# --------------------------------------------------------------------------- trace


def constant_trace(net, value: bool) -> Trace:
    B, T = net.batch, net.time_steps
    layers = []
    for hl in net.layers:
        def full(n):
            return pack_bits(np.full((B, T, n), value, bool))
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, full(hl.n_in), full(hl.n_out),
                                 full(hl.n_out), full(hl.n_out)))
    return Trace(net, layers, {"source": "all ones" if value else "all zeros"})


def draw_trace(d: Draw, net, wl):
    kind = d.choice(["synthetic"] * 8 + ["zeros", "ones"])
    if kind != "synthetic":
        return constant_trace(net, kind == "ones"), kind
    n = len(net.layers)
    dens = [0.0, 0.05, 0.2, 0.5, 0.9, 1.0]
    params = {"seed": d.int(0, 2 ** 31 - 1), "input_density": d.choice(dens),
              "firing": [d.choice(dens) for _ in range(n)],
              "gradient": [d.choice(dens) for _ in range(n)],
              "temporal_correlation": d.choice([0.0, 0.5, 0.9])}
    return generate(net, params, beta=d.choice([0.0, 0.9]),
                    reset=wl.get("network.neuron.reset")), "synthetic"


# --------------------------------------------------------------------------- a case


def mapped_placement(cfg, net, wl, trace):
    """The mapper's placement (``mapping.strategy`` of the config); a buffer too small for
    the mapper is doubled until the network fits."""
    from ..errors import DoesNotFit
    from ..mapping import map_network

    for _ in range(64):   # at most a few doublings of each of the five buffers
        try:
            return cfg, map_network(cfg, net, wl, trace)
        except DoesNotFit as e:
            buf = e.key.split(".")[2]     # core.sram.B.size_kib
            raw = cfg.to_dict()
            raw["core"]["sram"][buf]["size_kib"] *= 2
            cfg = load_arch(raw)
    raise AssertionError("the mapper found no fit after 64 doublings of the drawn SRAM")


def draw_case(d: Draw, seed: int | None = None, mode: str | None = None) -> Case:
    net, wl = draw_network(d, mode)
    mapper = d.bool(0.35)   # a third of the cases take the mapper's placement
    cfg = draw_arch(d, d.int(1, 4), small_sram=mapper and d.bool(0.6))
    trace, tkind = draw_trace(d, net, wl)
    if mapper:
        cfg, placement = mapped_placement(cfg, net, wl, trace)
    else:
        placement = draw_placement(d, cfg, net, wl)
    momentum = wl.get("optimizer.type") == "momentum"
    notes = {"layers": "-".join(f"{l.kind}{l.out_channels}" for l in net.layers),
             "trace": tkind, "mapper": mapper, "reset": wl.get("network.neuron.reset")}
    return Case(cfg, net, trace, placement, momentum, seed, notes)


def seeded_case(seed: int, index: int) -> Case:
    """Case ``index`` of the run seeded ``seed`` (the CLI's generator)."""
    case_seed = (seed * 1_000_003 + index) % (2 ** 63)
    return draw_case(SeededDraw(case_seed), case_seed)


def case_from_seed(case_seed: int, mode: str | None = None) -> Case:
    """Rebuild a case from the seed a failure report prints; ``mode`` forces the workload
    mode (a seed recorded before modes were drawn is a train case: ``mode="train"``)."""
    return draw_case(SeededDraw(case_seed), case_seed, mode)


def cases():
    """A hypothesis strategy of cases (tests only: needs hypothesis installed)."""
    from hypothesis import strategies as st

    @st.composite
    def _cases(draw):
        return draw_case(HypothesisDraw(draw))

    return _cases()
