"""The search behind ``mapping.objective: traffic`` and ``balanced`` (docs/architecture.md,
"Mapping"): per-part work estimates, the exact DRAM traffic of a placement (spec 5.2), an
estimate of a mapping's step time and energy, and a capacity-aware *packer* that spreads
slices of layers over the cores so that weights, weight gradients and state stay resident
while the compute stays balanced. Several layers' parts may share a core.

Everything here only *chooses* a mapping; the timing and the energy of a run come from the
simulation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..arch import buffer_bytes, mesh_xy, value_bits
from ..workload.trace import popcount
from .placement import TENSORS

# Buffers whose tensors add up per core (the gradients buffer only holds one part's working
# set at a time, so it limits a part, not a core).
ADDITIVE = ("weights", "wgrad", "state", "spikes")
ENG = 3   # FP, BP, WG


def _cdiv(a, b):
    return -(-int(a) // int(b))


def layer_outputs(layer) -> int:
    """Output channels (conv) or neurons (linear): what parts split."""
    return layer.out_channels if layer.kind == "conv" else layer.n_out


def reads_input(layer) -> bool:
    return any(e.src == "input" for e in layer.edges)


# --------------------------------------------------------------------------- DRAM traffic


def spilled_transfers(name: str, samples: int, T: int, root: bool) -> tuple:
    """(loads, stores) of one part's spilled tensor ``name`` in one training step, by the
    table of spec 5.2, for a replica processing ``samples`` samples (``root``: it runs UPD)."""
    n, u = samples * T, int(root)
    return {"W": (2 * n + u, u),                       # FP, BP, UPD / UPD
            "GW": (n + u, n),                          # WG, UPD / WG
            "M": (u, u),                               # UPD / UPD
            "U": (samples * (T - 1), samples * (T - 1)),  # FP t>0 / FP t<T-1
            "saved": (n, n),                           # BP / FP
            "saved_in": (n, n)}.get(name, (0, 0))      # WG / FP


def transfer_bytes(nbytes: int, burst: int) -> int:
    """DRAM bytes one transfer moves: whole bursts from a burst-aligned address."""
    return _cdiv(nbytes, burst) * burst if nbytes > 0 else 0


def placement_traffic(placement, network, time_steps: int, burst: int) -> dict:
    """DRAM bytes of one training step that spec 5.2 moves for ``placement``:
    ``{kind: [read, write]}`` with kinds as in the statistics (``weights``, ``wgrad``,
    ``optimizer``, ``state``, ``spikes``, ``input``)."""
    out: dict = {}
    frame = transfer_bytes(placement.input_frame_bytes, burst)
    for rep in placement.replicas:
        n = len(rep.samples)
        for layer in network.layers:
            for p in rep.layers[layer.name]:
                for name, tp in p.tensors.items():
                    if tp.resident:
                        continue
                    ld, st = spilled_transfers(name, n, time_steps, rep.index == 0)
                    b = transfer_bytes(tp.nbytes, burst)
                    rw = out.setdefault(TENSORS[name][1], [0, 0])
                    rw[0] += ld * b
                    rw[1] += st * b
                if reads_input(layer):
                    out.setdefault("input", [0, 0])[0] += n * time_steps * frame
    return out


# --------------------------------------------------------------------------- work


@dataclass
class LayerWork:
    """Estimated engine cycles of one tile of a part of the layer, per sample and time
    step, as a function of the part's channels ``n`` (see :meth:`WorkModel.part`)."""

    n_out: int
    pos: int            # neurons per output channel
    fp_group: float     # FP accumulate cycles per lane group of channels
    fp_fixed: float     # FP fill + empty scan windows
    bp_ch: float        # BP transposed-product cycles per channel
    bp_fixed: float
    wg_ch: float        # WG accumulate cycles per channel
    wg_fixed: float     # WG fill + index phase
    gu_empty: float     # probability that a BP/WG scan window over g(U) is empty


class WorkModel:
    """Per-part engine cycles of one sample and time step (spec section 2, in expectation),
    from the trace's nonzero densities (dense without a trace). Unlike the layer totals of
    :func:`neurosim.hw.mapping.layer_work` it charges what a *part* costs on its own: the FP
    lanes a narrow part leaves idle, fills and empty scan windows per tile, and the BP delta
    phase's one pass per partial gradient received."""

    def __init__(self, arch, network, trace=None):
        c = arch.core
        self.fp_lanes, self.nl = c.fp.lanes, c.fp.neuron_lanes
        self.bp_lanes, self.bp_sw, self.wg_sw = c.bp.lanes, c.bp.scan_width, c.wg.scan_width
        self.layers = {}
        self._cache: dict = {}
        self.n_weights = {l.name: l.n_weights for l in network.layers}
        for l in network.layers:
            d_in = d_gu = 1.0
            if trace is not None:
                lt = trace[l.name]
                d_in = float(popcount(lt.in_mask).mean()) / max(1, l.n_in)
                d_gu = float(popcount(lt.gu_mask).mean()) / max(1, l.n_out)
            n_out = layer_outputs(l)
            if l.kind == "conv":
                c_in = l.in_channels
                pairs = _valid_pairs(l)     # (output position, kernel offset) pairs
                # WG chunks per (delta, valid offset): ceil(nonzero input channels / lanes)
                per_offset = (1.0 - (1.0 - d_in) ** c_in) * max(
                    1.0, c_in * d_in / c.wg.lanes + 0.5)
                wg_ch = d_gu * pairs * per_offset
            else:
                c_in, pairs = l.n_in, 1
                wg_ch = d_gu * _cdiv(max(1, round(l.n_in * d_in)), c.wg.lanes)
            fp_group = d_in * c_in * pairs
            fp_fixed = c.fp.pipeline_depth + _cdiv(l.n_in, c.fp.scan_width) * (
                (1.0 - d_in) ** c.fp.scan_width)
            bp_ch = 0.0
            if not all(e.src == "input" for e in l.edges):
                bp_ch = d_gu * pairs * _cdiv(c_in, c.bp.lanes)
            self.layers[l.name] = LayerWork(
                n_out, l.n_out // n_out, fp_group, fp_fixed, bp_ch, float(c.bp.pipeline_depth),
                wg_ch, c.wg.pipeline_depth + _cdiv(l.n_in, c.wg.scan_width),
                (1.0 - d_gu) ** min(c.bp.scan_width, c.wg.scan_width))

    def part(self, name: str, n: int, passes: int = 1) -> tuple:
        """(FP, BP, WG) cycles of one tile of an ``n``-channel part receiving ``passes``
        partial gradients (the BP delta phase)."""
        key = (name, n, passes)
        got = self._cache.get(key)
        if got is not None:
            return got
        w = self.layers[name]
        if n <= 0:
            got = (0.0, 0.0, 0.0)
        else:
            neurons = n * w.pos
            fp = w.fp_fixed + w.fp_group * _cdiv(n, self.fp_lanes) + _cdiv(neurons, self.nl)
            bp = (w.bp_fixed + passes * _cdiv(neurons, self.bp_lanes) + w.bp_ch * n
                  + _cdiv(neurons, self.bp_sw) * w.gu_empty)
            wg = w.wg_fixed + w.wg_ch * n + _cdiv(neurons, self.wg_sw) * w.gu_empty
            got = (fp, bp, wg)
        self._cache[key] = got
        return got


def _valid_pairs(layer) -> int:
    """(output position, kernel offset) pairs whose input lies inside the input map: the
    multiply-adds of one output channel per input channel (zero padding costs nothing)."""
    _, h_in, w_in = layer.in_shape
    _, h_out, w_out = layer.out_shape
    k, s, p = layer.kernel, layer.stride, layer.padding

    def per_dim(n_out, n_in):
        return sum(1 for o in range(n_out) for j in range(k) if 0 <= o * s + j - p < n_in)

    return per_dim(h_out, h_in) * per_dim(w_out, w_in)


def gradient_passes(network, layout: dict) -> dict:
    """layer -> partial gradients each of its parts receives (spec 3.2: one per part of
    every consumer layer; 1 for the output layer and for a layer nobody consumes)."""
    parts = {name: len(v) for name, v in layout.items()}
    p = {l.name: 0 for l in network.layers}
    for l in network.layers:
        for e in l.edges:
            if e.src != "input" and e.src in p:
                p[e.src] += parts[l.name]
    return {k: max(1, v) for k, v in p.items()}


# --------------------------------------------------------------------------- schedule


class ScheduleEstimate:
    """Estimated step cycles of a placement: the static tile orders of spec 3.1 under the
    readiness rules of 3.2, each tile lasting its estimated length (:class:`WorkModel`),
    every message a fixed NoC latency, spilled loads and stores their latency plus (with
    ``dram.model: cycle``; the ideal DRAM has no bandwidth limit) their bytes at the DRAM's
    peak bandwidth. No bank conflicts and no contention: the longest path through the
    step's dependency graph. It sees what a sum of work cannot: an engine issues in order,
    so a core holding an early and a late layer makes the early layer's next time step wait
    for the late one, and a layer on few cores lengthens every sample's critical path."""

    def __init__(self, arch, network, work: WorkModel, momentum: bool):
        self.arch, self.network, self.work = arch, network, work
        self.sched = arch.schedule
        self.momentum = momentum
        noc, d = arch.noc, arch.dram
        mesh = arch.chip.mesh
        if noc.model == "ideal":
            self.msg = float(noc.ideal_latency)
            self.noc_dram = float(noc.ideal_latency)
        else:   # a mean-distance packet: hops + 1 routers, plus a few flits
            hops = (mesh.cols + mesh.rows) / 3.0
            self.msg = (hops + 1) * (noc.routing_delay + noc.vc_alloc_delay + noc.sw_alloc_delay
                                     + noc.st_prepare_delay + noc.st_final_delay
                                     + noc.link_delay) + 4
            self.noc_dram = self.msg
        self.dram_lat = d.ideal_latency if d.model == "ideal" else _dram_access_cycles(arch)
        # bytes per cycle a transfer streams at: the ideal DRAM has no bandwidth limit
        self.bw = (math.inf if d.model == "ideal" else
                   d.channels * d.bus_bits / 8 * d.data_rate_mtps / arch.chip.clock_mhz)
        self.burst = d.burst_bytes
        c = arch.core
        self.bp_depth, self.bp_lanes = c.bp.pipeline_depth, c.bp.lanes
        self.wg_depth, self.wg_lanes = c.wg.pipeline_depth, c.wg.lanes
        self.producers = {l.name: [e.src for e in l.edges if e.src != "input"]
                          for l in network.layers}
        self.consumers = {l.name: [] for l in network.layers}
        for l in network.layers:
            for m in self.producers[l.name]:
                self.consumers[m].append(l.name)
        self.input_layers = {l.name for l in network.layers if reads_input(l)}
        self.out = network.output_layer

    def _dram(self, nbytes: int) -> float:
        """Cycles from issuing a transfer of ``nbytes`` to its availability."""
        if nbytes <= 0:
            return 0.0
        return 2 * self.noc_dram + self.dram_lat + nbytes / self.bw

    def __call__(self, placement, time_steps: int) -> float:
        """Estimated cycles of the step. Tiles are visited once, in an order that is
        topological for the dependencies of 3.2 and, per engine, the program order of 3.1
        (sample by sample: FP by step then (layer, part), or by (layer, part) then step
        without the layer pipeline; LOSS; BP and WG the reverse; UPD last), so each tile's
        start is known when it is visited."""
        T, net, sched = time_steps, self.network, self.sched
        R = len(placement.replicas)
        S = sched.samples_in_flight if sched.fp_bp_overlap else 1
        pipe = bool(sched.layer_pipeline)
        overlap = bool(sched.bp_wg_overlap)
        frame = self._dram(transfer_bytes(placement.input_frame_bytes, self.burst))
        out_name = self.out.name
        names = [l.name for l in net.layers]
        msg = self.msg
        reps = []
        for rep in placement.replicas:
            layout = {name: [(p.core, p.out_lo, p.out_hi) for p in ps]
                      for name, ps in rep.layers.items()}
            passes = gradient_passes(net, layout)
            parts = {}
            for name in names:
                lw = self.work.layers[name]
                rows = []
                for p in rep.layers[name]:
                    fp, bp, wg = self.work.part(name, p.n_ch, passes[name])
                    delta = self.bp_depth + passes[name] * _cdiv(p.n_ch * lw.pos,
                                                                 self.bp_lanes)
                    sp = {k: transfer_bytes(tp.nbytes, self.burst)
                          for k, tp in p.tensors.items() if not tp.resident}
                    n_w = self.work.n_weights[name] * p.n_ch // lw.n_out
                    upd = self.wg_depth + (R + int(self.momentum)) * _cdiv(n_w, self.wg_lanes)
                    ld_fp = self._dram(sp.get("W", 0))
                    ld_fp_u = self._dram(sp.get("W", 0) + sp.get("U", 0))
                    if name in self.input_layers:
                        ld_fp, ld_fp_u = max(ld_fp, frame), max(ld_fp_u, frame)
                    rows.append((p.core, fp, bp, min(delta, bp), wg, upd, ld_fp, ld_fp_u,
                                 self._dram(sp.get("W", 0) + sp.get("saved", 0)),
                                 self._dram(sp.get("GW", 0) + sp.get("saved_in", 0)),
                                 self._dram(n_w and sp.get("W", 0))
                                 + self._dram(sp.get("GW", 0) + sp.get("M", 0)),
                                 self._dram(sp.get("saved", 0)),
                                 self._dram(sp.get("saved_in", 0))))
                parts[name] = rows
            reps.append((rep, parts))
        loss_len = self.bp_depth + T * _cdiv(self.out.n_out, self.bp_lanes)
        n_nodes = 1 + max(row[0] for _, parts in reps for rows in parts.values()
                          for row in rows)
        free = [[0.0] * n_nodes for _ in range(ENG)]   # engine -> core -> free at
        bpwg_end = {}       # sample -> per core: end of its last BP or WG tile
        wg_last = {}        # (layer, part index) -> its last WG end (+ message if not root)
        fwd = ([(t, name) for t in range(T) for name in names] if pipe else
               [(t, name) for name in names for t in range(T)])
        back = ([(t, name) for t in range(T - 1, -1, -1) for name in reversed(names)] if pipe
                else [(t, name) for name in reversed(names) for t in range(T - 1, -1, -1)])
        fpf, bpf, wgf = free
        for rep, parts in reps:
            for b in rep.samples:
                done_bw = [0.0] * n_nodes
                bpwg_end[b] = done_bw
                admit = bpwg_end.get(b - S * R) if b - S * R >= 0 else None
                seen = set()
                # ---------------------------------------------------------- FP
                fp_end = {}     # (layer, t) -> end of the layer's last part
                fp_tile = {}    # (layer, t) -> [end of each part]
                for t, name in fwd:
                    dep = 0.0
                    for m in self.producers[name]:
                        v = fp_end[(m, t if pipe else T - 1)] + msg
                        if v > dep:
                            dep = v
                    last = 0.0
                    ends = []
                    for row in parts[name]:
                        c = row[0]
                        st = dep + (row[7] if t > 0 else row[6])
                        if fpf[c] > st:
                            st = fpf[c]
                        if admit is not None and c not in seen:     # admission (3.2)
                            seen.add(c)
                            if admit[c] > st:
                                st = admit[c]
                        end = fpf[c] = st + row[1]
                        ends.append(end)
                        if end > last:
                            last = end
                    fp_end[(name, t)] = last
                    fp_tile[(name, t)] = ends
                # ---------------------------------------------------------- LOSS, BP
                oc = parts[out_name][0][0]
                st = max(fp_end[(out_name, T - 1)], bpf[oc])
                loss = bpf[oc] = st + loss_len
                done_bw[oc] = loss
                bp_end, bpd = {}, {}
                for t, name in back:
                    if name == out_name:
                        dep = loss
                    else:
                        dep = 0.0
                        for m in self.consumers[name]:
                            v = bp_end[(m, t if pipe else 0)] + msg
                            if v > dep:
                                dep = v
                    last = 0.0
                    deltas = []
                    ends = fp_tile[(name, t)]
                    for i, row in enumerate(parts[name]):
                        c = row[0]
                        ready = dep
                        if row[11] and ends[i] + row[11] > ready:
                            ready = ends[i] + row[11]
                        st = ready + row[8]
                        if bpf[c] > st:
                            st = bpf[c]
                        end = bpf[c] = st + row[2]
                        deltas.append(st + row[3] if overlap else end)
                        if end > last:
                            last = end
                        if end > done_bw[c]:
                            done_bw[c] = end
                    bp_end[(name, t)] = last
                    bpd[(name, t)] = deltas
                # ---------------------------------------------------------- WG
                extra = msg if rep.index else 0.0
                for t, name in back:
                    deltas = bpd[(name, t)]
                    ends = fp_tile[(name, t)]
                    for i, row in enumerate(parts[name]):
                        c = row[0]
                        ready = deltas[i]
                        if row[12] and ends[i] + row[12] > ready:
                            ready = ends[i] + row[12]
                        st = ready + row[9]
                        if wgf[c] > st:
                            st = wgf[c]
                        end = wgf[c] = st + row[4]
                        if end > done_bw[c]:
                            done_bw[c] = end
                        key = (name, i)
                        if end + extra > wg_last.get(key, 0.0):
                            wg_last[key] = end + extra
        # ---------------------------------------------------------- UPD (root replica)
        rep, parts = reps[0]
        for name in names:
            for i, row in enumerate(parts[name]):
                c = row[0]
                st = max(wg_last.get((name, i), 0.0) + row[10], wgf[c])
                wgf[c] = st + row[5]
        makespan = max(max(f) for f in free)
        return makespan


def _dram_access_cycles(arch) -> float:
    """A DRAM read's latency with the row closed (tRCD + tCL), in chip cycles."""
    from ..arch import dram_timing_cycles
    tm = dram_timing_cycles(arch)
    return tm["tRCD"] + tm["tCL"]


# --------------------------------------------------------------------------- estimate


@dataclass
class Estimate:
    """What the search compares: DRAM bytes of the step (exact, spec 5.2), estimated cycles
    (:class:`ScheduleEstimate`, and with a cycle-level DRAM at least all bytes at peak
    bandwidth) and estimated energy."""

    dram_bytes: int
    cycles: float
    energy_j: float
    parts: int
    spilled_bytes: int = 0    # of dram_bytes: spilled tensors (the rest: network input)

    @property
    def edp(self) -> float:
        return self.energy_j * self.cycles


class Estimator:
    """Prices a placement: exact DRAM bytes; cycles and energy estimated with the energy
    model's own prices (:class:`neurosim.energy.model.Pricer`) for DRAM bytes, the NoC flits
    that carry them, and the engines' work, plus leakage over the estimated time. The NoC
    traffic of spikes and gradients is not estimated."""

    def __init__(self, arch, network, trace=None, work: WorkModel | None = None,
                 momentum: bool = False):
        from ..energy.model import Pricer, _leakage
        from ..energy.table import load_table

        self.arch, self.network = arch, network
        self.work = work or WorkModel(arch, network, trace)
        self.T = network.time_steps if trace is None else trace.time_steps
        self.burst = arch.dram.burst_bytes
        self.clock = arch.chip.clock_mhz * 1e6
        table = load_table(arch)
        pr = Pricer(arch, table)
        self.pj_read = pr.price("dram.ch0", "read_bytes", 1).pj
        self.pj_write = pr.price("dram.ch0", "write_bytes", 1).pj
        flit = arch.noc.flit_bits
        self.pj_flit_router = pr.price("noc", "router_flits", 1).pj
        self.pj_flit_link = pr.price("noc", "link_flits", 1).pj
        self.flit_bits = flit
        cores, standby = _leakage(arch, table, 1.0)
        self.leak_w = sum(cores.values()) + standby
        # Dynamic energy per busy engine cycle: a chunk of `lanes` operations and the SRAM
        # words it moves (FP: reads weights; BP: reads weights, reads and writes gradients;
        # WG: reads and writes wgrad). Cycles that move less (fills, empty windows, LIF)
        # are priced the same: an estimate, to compare mappings.
        def words(eng, buf):
            return _cdiv(arch.core[eng].lanes * value_bits(arch), arch.core.sram[buf].width_bits)

        def rw(buf, n_read, n_write):
            return (pr.price(f"core0.sram.{buf}", "read_words", n_read).pj
                    + pr.price(f"core0.sram.{buf}", "write_words", n_write).pj)

        self.pj_cycle = [
            pr.price("core0.fp", "add_ops", arch.core.fp.lanes).pj
            + rw("weights", words("fp", "weights"), 0),
            pr.price("core0.bp", "mac_ops", arch.core.bp.lanes).pj
            + rw("weights", words("bp", "weights"), 0)
            + rw("gradients", words("bp", "gradients"), words("bp", "gradients")),
            pr.price("core0.wg", "add_ops", arch.core.wg.lanes).pj
            + rw("wgrad", words("wg", "wgrad"), words("wg", "wgrad"))]
        nodes = arch.get("chip.dram_nodes")
        self.dram_xy = [tuple(n) for n in nodes]
        self.schedule = ScheduleEstimate(arch, network, self.work, momentum)

    def _hops(self, core: int) -> int:
        x, y = mesh_xy(self.arch, core)
        return min(abs(x - a) + abs(y - b) for a, b in self.dram_xy)

    def __call__(self, placement) -> Estimate:
        net, T = self.network, self.T
        traffic = placement_traffic(placement, net, T, self.burst)
        rd = sum(v[0] for v in traffic.values())
        wr = sum(v[1] for v in traffic.values())
        dyn = 0.0
        noc_pj = 0.0
        parts = 0
        for rep in placement.replicas:
            layout = {name: [(p.core, p.out_lo, p.out_hi) for p in ps]
                      for name, ps in rep.layers.items()}
            passes = gradient_passes(net, layout)
            n = len(rep.samples) * T
            for name, ps in rep.layers.items():
                for p in ps:
                    parts += 1
                    w = self.work.part(name, p.out_hi - p.out_lo, passes[name])
                    for e in range(ENG):
                        dyn += n * w[e] * self.pj_cycle[e]
        # DRAM bytes cross the mesh between the core and the nearest controller.
        moved = {}
        for rep in placement.replicas:
            for name, ps in rep.layers.items():
                for p in ps:
                    for tname, tp in p.tensors.items():
                        if not tp.resident:
                            ld, st = spilled_transfers(tname, len(rep.samples), T,
                                                       rep.index == 0)
                            moved[p.core] = moved.get(p.core, 0) + (ld + st) * transfer_bytes(
                                tp.nbytes, self.burst)
        for core, nbytes in moved.items():
            flits = nbytes * 8 / self.flit_bits
            h = self._hops(core)
            noc_pj += flits * ((h + 1) * self.pj_flit_router + h * self.pj_flit_link)
        cycles = max(self.schedule(placement, T), (rd + wr) / self.schedule.bw)
        energy = (dyn + noc_pj + rd * self.pj_read + wr * self.pj_write) * 1e-12 \
            + self.leak_w * cycles / self.clock
        inputs = sum(traffic.get("input", (0, 0)))
        return Estimate(rd + wr, cycles, energy, parts, rd + wr - inputs)


# --------------------------------------------------------------------------- the packer


class _CoreFill:
    """What the packer has put on one core so far."""

    __slots__ = ("used", "load", "parts", "input")

    def __init__(self):
        self.used = [0] * len(ADDITIVE)    # bytes per additive buffer
        self.load = [0.0] * ENG            # cycles per engine per sample and time step
        self.parts = {}                    # layer -> channels, in the order taken
        self.input = False                 # holds a part reading the network input


class Packer:
    """Places slices of layers (output-channel ranges) on cores, several layers per core,
    counting the bytes each core's buffers must hold to keep every tensor resident (the
    same sizes as the placement, per-step tensors with all their instances).

    :meth:`pack` fills the cores so that everything stays resident and no core's estimated
    compute exceeds a target ``Z`` (cycles of its busiest engine per sample and time step).
    Layers are sorted by *memory intensity*: the largest fraction of a buffer one channel
    needs, over the fraction of ``Z`` it costs. Cores are filled one after another, each
    taking slices from both ends of that order -- memory-heavy layers (late convolutions:
    weights; early ones with big maps: state) and compute-heavy ones -- in the proportion
    that the remaining pool has, so that a core's memory and compute run out together. A
    layer's channels are consumed in order, so a core holds at most one part per layer.
    The output layer (one part) goes first, whole, onto the last core.

    :meth:`spread` output-splits every layer into a given number of parts on distinct
    cores, each where there is room and the least work."""

    def __init__(self, arch, network, work: WorkModel, part_tensors, momentum: bool,
                 state_full: bool, held: int, frame_bytes: int):
        self.arch, self.network, self.work = arch, network, work
        self._pt = part_tensors
        self.momentum, self.state_full, self.held = momentum, state_full, held
        self.frame = frame_bytes
        self.cap = [buffer_bytes(arch, b) for b in ADDITIVE]
        self.min_bite = arch.core.fp.lanes
        self.layers = {l.name: l for l in network.layers}
        self.input_names = {l.name for l in network.layers if reads_input(l)}
        self.out_name = network.output_layer.name
        self.size = {l.name: layer_outputs(l) for l in network.layers}
        self._need: dict = {}
        grad_cap = buffer_bytes(arch, "gradients")
        self.max_ch, self.unit = {}, {}
        for l in network.layers:
            n = self.size[l.name]
            lo, hi = 1, n       # the widest part whose GU + GS fit the gradients buffer
            while lo < hi:
                mid = (lo + hi + 1) // 2
                t = part_tensors(arch, network, l, mid, momentum, True, state_full)
                if t.get("GU", 0) + t.get("GS", 0) <= grad_cap:
                    lo = mid
                else:
                    hi = mid - 1
            self.max_ch[l.name] = lo
            need = self.need(l.name, n)
            mem = max(need[i] / self.cap[i] for i in range(len(ADDITIVE))) / n
            comp = max(work.part(l.name, n)) / n
            self.unit[l.name] = (mem, comp)
        self.order = sorted((n for n in self.size if n != self.out_name),
                            key=lambda n: (-self.unit[n][0] / max(self.unit[n][1], 1e-12),
                                           self.layers[n].index))

    def need(self, name: str, n: int) -> tuple:
        """Bytes an ``n``-channel part of ``name`` holds per additive buffer when resident
        (per-step tensors: every instance a core holds)."""
        got = self._need.get((name, n))
        if got is None:
            acc = dict.fromkeys(ADDITIVE, 0)
            if n > 0:
                t = self._pt(self.arch, self.network, self.layers[name], n, self.momentum,
                             True, self.state_full)
                for tn, nb in t.items():
                    buf = TENSORS[tn][0]
                    if buf in acc:
                        acc[buf] += nb * (self.held if tn in ("saved", "saved_in") else 1)
            got = self._need[(name, n)] = tuple(acc[b] for b in ADDITIVE)
        return got

    # ---------------------------------------------------------------- one core

    def _delta(self, st: _CoreFill, name: str, n_new: int):
        """(bytes per buffer, cycles per engine) that growing the core's part of ``name``
        to ``n_new`` channels adds."""
        old = st.parts.get(name, 0)
        a, b = self.need(name, old), self.need(name, n_new)
        mem = [b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3]]
        if self.frame and not st.input and name in self.input_names:
            mem[3] += self.frame
        p = self._passes.get(name, 1)
        wa, wb = self.work.part(name, old, p), self.work.part(name, n_new, p)
        return mem, [wb[0] - wa[0], wb[1] - wa[1], wb[2] - wa[2]]

    def _fits(self, st: _CoreFill, name: str, n_new: int) -> bool:
        if n_new > self.max_ch[name]:
            return False
        mem, comp = self._delta(st, name, n_new)
        used, caps, load, Z = st.used, self._caps, st.load, self._Z
        for i in range(4):
            if mem[i] > 0 and used[i] + mem[i] > caps[i]:
                return False
        return load[0] + comp[0] <= Z and load[1] + comp[1] <= Z and load[2] + comp[2] <= Z

    def _fracs(self, st: _CoreFill, name: str | None = None, n_new: int = 0) -> tuple:
        """(memory, compute) fill of the core as fractions, optionally after a change."""
        used, load = st.used, st.load
        if name is not None:
            mem, comp = self._delta(st, name, n_new)
            used = [used[i] + mem[i] for i in range(len(ADDITIVE))]
            load = [load[e] + comp[e] for e in range(ENG)]
        return (max(used[i] / self._caps[i] for i in range(len(ADDITIVE))),
                max(load) / self._Z)

    def _add(self, st: _CoreFill, name: str, n_new: int) -> None:
        mem, comp = self._delta(st, name, n_new)
        for i in range(len(ADDITIVE)):
            st.used[i] += mem[i]
        for e in range(ENG):
            st.load[e] += comp[e]
        if name in self.input_names:
            st.input = True
        st.parts[name] = n_new

    def _largest(self, lo: int, hi: int, ok) -> int:
        """Largest n in [lo, hi] with ok(n), assuming ok is monotone and ok(lo)."""
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _bite(self, st: _CoreFill, name: str, left: int, ratio: float,
              memory_side: bool) -> int:
        """Channels of ``name`` the core takes now: as many as fit, but only up to where the
        core reaches the pool's memory : compute line (rounded up to a multiple of the FP
        lanes). A new part takes at least ``fp.lanes`` channels unless that ends the
        layer (narrow parts waste FP lanes and cost a tile's fixed cycles)."""
        have = st.parts.get(name, 0)
        first = 1 if have else min(self.min_bite, left)
        if not self._fits(st, name, have + first):
            return 0
        most = self._largest(first, left, lambda n: self._fits(st, name, have + n))
        if math.isinf(ratio):
            return most

        def lagging(n):
            mf, cf = self._fracs(st, name, have + n)
            return mf <= ratio * cf if memory_side else mf >= ratio * cf

        n = self._largest(first, most, lagging) if lagging(first) else first
        n = max(first, _cdiv(have + n, self.min_bite) * self.min_bite - have)
        return min(most, n)

    # ---------------------------------------------------------------- a packing

    def pack(self, cores: list, Z: float, passes: dict | None = None,
             contiguous: bool = False):
        """``(layout, left)``: ``{layer: [(core, lo, hi)]}`` and the channels that found no
        room (0 when the packing is feasible). ``contiguous``: take the layers in network
        order instead, each core filled as far as it goes (every core then holds a run of
        consecutive layers: a pipeline whose engines never wait on a later stage)."""
        self._Z, self._caps = Z, list(self.cap)
        self._passes = passes or {}
        fills = {c: _CoreFill() for c in cores}
        order = self.order
        if contiguous:
            order = [l.name for l in self.network.layers if l.name != self.out_name]
        nxt = dict.fromkeys(order, 0)
        self._add(fills[cores[-1]], self.out_name, self.size[self.out_name])
        live = [n for n in order if self.size[n] > 0]
        for c in cores:
            st = fills[c]
            if not live:
                break
            # the pool's memory : compute proportion (in fractions of one core)
            mem = sum((self.size[n] - nxt[n]) * self.unit[n][0] for n in live)
            comp = sum((self.size[n] - nxt[n]) * self.unit[n][1] for n in live) / Z
            ratio = math.inf if contiguous or comp <= 0 else mem / comp
            for _ in range(8 * len(order) + 32):
                if not live:
                    break
                mf, cf = self._fracs(st)
                sides = (0,) if contiguous else (0, -1) if mf <= ratio * cf else (-1, 0)
                took = False
                for side in sides:
                    name = live[side]
                    left = self.size[name] - nxt[name]
                    n = self._bite(st, name, left, ratio, side == 0)
                    if n > 0:
                        self._add(st, name, st.parts.get(name, 0) + n)
                        nxt[name] += n
                        if nxt[name] == self.size[name]:
                            live.remove(name)
                        took = True
                        break
                if not took:
                    break
        layout = {n: [] for n in self.size}
        layout[self.out_name] = [(cores[-1], 0, self.size[self.out_name])]
        lo = dict.fromkeys(order, 0)
        for c in cores:         # a layer's cursor only moves forward, core after core
            for name, n in fills[c].parts.items():
                if name != self.out_name:
                    layout[name].append((c, lo[name], lo[name] + n))
                    lo[name] += n
        left = sum(self.size[n] - nxt[n] for n in order)
        return layout, left

    # ---------------------------------------------------------------- spreading

    def split_sizes(self, name: str, k: int) -> list:
        """Channels of ``k`` parts of ``name``: whole FP lane groups per part when there are
        at least ``k`` groups (a narrower part wastes lanes), else near-equal; never more
        parts than channels."""
        N, g = self.size[name], self.min_bite
        k = min(k, N)
        groups = _cdiv(N, g)
        if 1 < k <= groups:
            sizes = [(hi - lo) * g for lo, hi in split_even(groups, k)]
            sizes[-1] -= groups * g - N
            if sizes[-1] > 0:
                return sizes
        return [hi - lo for lo, hi in split_even(N, k)]

    def spread(self, cores: list, ks: dict, heavy_first: bool = True) -> dict:
        """Every layer output-split into ``ks[layer]`` parts (:meth:`split_sizes`; fewer
        when fewer cores have room), each on a different core: the least-loaded one that
        still has room for it (the least-loaded one when none has). Short critical paths:
        a layer's tiles run side by side on many cores. Layers are placed in network
        order, or with ``heavy_first`` the ones needing the most memory first (the last
        ones placed take whatever room is left); the output layer always first."""
        self._Z, self._caps, self._passes = math.inf, list(self.cap), {}
        fills = {c: _CoreFill() for c in cores}
        rank = {c: i for i, c in enumerate(cores)}
        layout = {}
        heavy = sorted(self.size, key=lambda n: (n != self.out_name,
                                                 -self.unit[n][0] * self.size[n]
                                                 if heavy_first else 0,
                                                 self.layers[n].index))
        for name in heavy:
            k0 = 1 if name == self.out_name else max(1, min(len(cores), ks.get(name, 1)))
            k0 = max(k0, min(len(cores), _cdiv(self.size[name], self.max_ch[name])))
            kmax = min(len(cores), self.size[name])   # a part holds at least one channel
            k0 = min(k0, kmax)
            choice = None
            whole = self.need(name, self.size[name])
            room = [sum(self._caps[i] - fills[c].used[i] for c in cores)
                    for i in range(len(ADDITIVE))]
            fits_somehow = all(whole[i] <= room[i] for i in range(len(ADDITIVE)))
            tries = list(range(k0, kmax + 1)) + list(range(k0 - 1, 0, -1))
            if not fits_somehow:        # no split keeps it all: skip the search
                tries = []
            for k in tries:       # k0 parts, else more (smaller) ones, else fewer
                if name == self.out_name and k > 1:
                    continue
                sizes = sorted(self.split_sizes(name, k), reverse=True)
                if max(sizes) > self.max_ch[name]:
                    continue
                order = sorted(cores, key=lambda c: (max(fills[c].load), rank[c]))
                pick, used = [], set()
                for n in sizes:
                    c = next((c for c in order if c not in used
                              and self._fits(fills[c], name, n)), None)
                    if c is None:
                        break
                    pick.append((c, n))
                    used.add(c)
                if len(pick) == k:
                    choice = pick
                    break
            if choice is None:              # nowhere to keep it all: the roomiest cores
                sizes = sorted(self.split_sizes(name, k0), reverse=True)
                order = sorted(cores, key=lambda c: (max(fills[c].used[i] / self.cap[i]
                                                         for i in range(len(ADDITIVE))),
                                                     rank[c]))
                choice = list(zip(order, sizes))
            for c, n in choice:
                self._add(fills[c], name, n)
            choice.sort(key=lambda cn: rank[cn[0]])
            lo, layout[name] = 0, []
            for c, n in choice:
                layout[name].append((c, lo, lo + n))
                lo += n
        return {l.name: layout[l.name] for l in self.network.layers}

    def latency_parts(self, cores: int, slack: float) -> dict:
        """Per layer, the fewest parts whose longest engine tile is within ``1 + slack`` of
        the shortest any split over at most ``cores`` cores achieves."""
        out = {}
        for name, N in self.size.items():
            best, tiles = math.inf, []
            for k in range(1, min(cores, N) + 1):
                t = max(max(self.work.part(name, n)) for n in self.split_sizes(name, k))
                tiles.append(t)
                best = min(best, t)
            out[name] = next(k for k, t in enumerate(tiles, 1) if t <= (1 + slack) * best)
        return out


def split_even(total: int, k: int) -> list:
    """[lo, hi) ranges of ``k`` near-equal contiguous pieces of ``total``."""
    base, extra = divmod(total, k)
    out, lo = [], 0
    for i in range(k):
        hi = lo + base + (1 if i < extra else 0)
        out.append((lo, hi))
        lo = hi
    return out
