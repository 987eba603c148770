"""Helpers for hand-worked timing cases: a tiny network, a trace whose bits the test
chooses, and a placement written out in full."""
import numpy as np

from neurosim.arch import load_arch
from neurosim.mapping import map_network
from neurosim.mapping.placement import PartPlacement, Placement, Replica, TensorPlace
from neurosim.workload import build_network, load_workload
from neurosim.workload.trace import LayerTrace, Trace, pack_bits

TENSOR_NAMES = ("W", "GW", "M", "U", "saved", "saved_in", "GU", "GS")


def arch(*overrides, base="single-core"):
    return load_arch(base, list(overrides))


def network(layers, shape, T=1, batch=1, coding="rate", mode="train"):
    wl = load_workload({"name": "hand", "time_steps": T, "batch": batch, "mode": mode,
                        "network": {"input": {"shape": list(shape), "coding": coding},
                                    "layers": layers}})
    return build_network(wl)


def trace(net, bits=None):
    """``bits``: {layer: {"in": set or bool array, "out": ..., "sg": ..., "gu": ...}} for
    (b, t) = all; or {(layer, b, t): {...}}. Unlisted vectors are all zero."""
    bits = bits or {}
    layers = []
    B, T = net.batch, net.time_steps
    for hl in net.layers:
        arrs = {}
        for kind, n in (("in", hl.n_in), ("out", hl.n_out), ("sg", hl.n_out),
                        ("gu", hl.n_out)):
            a = np.zeros((B, T, n), bool)
            for b in range(B):
                for t in range(T):
                    spec = bits.get((hl.name, b, t), bits.get(hl.name, {})).get(kind)
                    if spec is not None:
                        if isinstance(spec, (set, list, tuple)):
                            a[b, t, list(spec)] = True
                        else:
                            a[b, t] = np.asarray(spec, bool)
            arrs[kind] = pack_bits(a)
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, arrs["in"], arrs["out"],
                                 arrs["sg"], arrs["gu"]))
    tr = Trace(net, layers, {"source": "hand"})
    tr.validate()
    return tr


def part(layer, index, core, lo, hi, bases=None, spill=(), dram=None, nbytes=64, stride=64):
    """A part with every tensor resident at SRAM word 0 unless ``bases``/``spill`` say."""
    bases = bases or {}
    dram = dram or {}
    tensors = {}
    for k, name in enumerate(TENSOR_NAMES):
        tensors[name] = TensorPlace(name not in spill, bases.get(name, 0), nbytes,
                                    dram.get(name, 0x10000 * (k + 1)),
                                    stride if name in ("saved", "saved_in") else 0)
    return PartPlacement(layer, index, core, lo, hi, tensors)


def placement(layers_parts, batch=1, replicas=None, frame_bytes=0, frame_addr=0,
              frame_stride=64):
    """``layers_parts``: {layer: [PartPlacement, ...]} for one replica, or a list of those."""
    reps = layers_parts if isinstance(layers_parts, list) else [layers_parts]
    R = len(reps)
    return Placement("hand", [Replica(r, list(range(r, batch, R)), lp)
                              for r, lp in enumerate(reps)],
                     frame_addr, frame_bytes, frame_stride)


# --------------------------------------------------------------------------- cases

SMALL = ["core.fp.lanes=4", "core.fp.pipeline_depth=1", "core.fp.scan_width=8",
         "core.fp.neuron_lanes=4", "core.bp.lanes=4", "core.bp.pipeline_depth=1",
         "core.bp.scan_width=8", "core.wg.lanes=4", "core.wg.pipeline_depth=1",
         "core.wg.scan_width=8", "noc.model=ideal", "noc.ideal_latency=0",
         "dram.model=ideal", "dram.ideal_latency=0"]


def one_core_case(simulate, *overrides, frame_bytes=0, mode="train"):
    """input [8] -> linear o (4), T = 2, batch 2, one core. Tile lengths (depth 1 each):
    FP = 1 + max(1, nnz) + 1: (0,0) nnz 2 -> 4, (0,1) 1 -> 3, (1,0) 0 -> 3, (1,1) 7 -> 9.
    LOSS = 1 + 2*1 = 3. BP = 1 + 1 delta cycle (no transposed phase: o reads the input).
    WG = 1 + 1 index + max(1, deltas x ceil(nnz_in/4)): (0,1) 2 deltas, nnz_in 1 -> 4,
    others 3. UPD = 1 + 32/4 = 9."""
    net = network([{"name": "o", "type": "linear", "out": 4}], [8], T=2, batch=2, mode=mode)
    tr = trace(net, {("o", 0, 0): {"in": {0, 1}}, ("o", 0, 1): {"in": {2}, "gu": {0, 3}},
                     ("o", 1, 0): {"in": set(), "gu": {1}},
                     ("o", 1, 1): {"in": set(range(1, 8))}})
    pl = placement({"o": [part("o", 0, 0, 0, 4)]}, batch=2, frame_bytes=frame_bytes)
    return simulate(arch(*SMALL, *overrides), net, tr, pl)


def two_core_case(simulate, *overrides):
    net = network([{"name": "h", "type": "linear", "out": 6},
                   {"name": "o", "type": "linear", "out": 4}], [8], T=1, batch=1)
    tr = trace(net, {"h": {"in": {0}, "out": {2}}, "o": {"in": {2}, "gu": {1}}})
    pl = placement({"h": [part("h", 0, 0, 0, 6)], "o": [part("o", 0, 1, 0, 4)]})
    cfg = arch(*SMALL, "chip.cores=2", "chip.mesh.cols=2", "chip.mesh.rows=1",
               "noc.ideal_latency=2", *overrides)
    return simulate(cfg, net, tr, pl)


def dvs_linear_step_case(simulate):
    """The FP tile of spec 2.6 inside a whole step on one core (single-core, dvs input of 128
    -> linear fc 64, T 1, batch 1; ideal NoC 10, DRAM 50 cycles), placed by the mapper (its
    placement is an input: the same for both models). Returns (result, arch, network,
    placement)."""
    wl = load_workload({"name": "one", "time_steps": 1, "batch": 1,
                        "network": {"input": {"shape": [128], "coding": "dvs"},
                                    "layers": [{"name": "fc", "type": "linear", "out": 64}]}})
    net = build_network(wl)
    tr = trace(net, {"fc": {"in": {3, 70, 71}, "gu": {5}, "sg": {5}}})
    cfg = arch("noc.model=ideal", "dram.model=ideal", "noc.ideal_latency=10",
               "dram.ideal_latency=50")
    pl = map_network(cfg, net, wl, tr)
    return simulate(cfg, net, tr, pl), cfg, net, pl


def two_layer_dvs_case(simulate, *overrides, bits=None):
    """input [16] (dvs) -> h (8) on core 0 -> o (4) on core 1, T 2, batch 1, on paper-20core
    with 2 cores, placed by the mapper (mapping.layers pins h and o)."""
    wl = load_workload({"name": "two", "time_steps": 2, "batch": 1,
                        "network": {"input": {"shape": [16], "coding": "dvs"},
                                    "layers": [{"name": "h", "type": "linear", "out": 8},
                                               {"name": "o", "type": "linear", "out": 4}]},
                        "mapping": {"layers": {"h": [0], "o": [1]}}})
    net = build_network(wl)
    tr = trace(net, bits)
    cfg = arch("chip.cores=2", *overrides, base="paper-20core")
    return simulate(cfg, net, tr, map_network(cfg, net, wl, tr))
