"""Estimates that only *choose* a mapping (the timing and energy of a run come from the
simulation): per-layer work for the ``time`` objective (:class:`CostModel`), per-part work
(:class:`WorkModel`), a placement's step cycles (:class:`ScheduleEstimate`) and its DRAM
bytes, cycles and energy (:class:`Estimator`, priced through :mod:`neurosim.energy`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from ..arch import buffer_bytes, value_bits
from ..memsys.topology import Mesh
from ..workload.trace import popcount
from .footprint import cdiv, layer_outputs, reads_input
from .traffic import placement_traffic, spilled_transfers, transfer_bytes


ENG = 3   # FP, BP, WG


def densities(layer, trace=None) -> tuple:
    """(input, g(U)) densities of ``layer``: the mean fraction of nonzero inputs and of
    nonzero membrane gradients over the trace's samples and steps (1.0 without a trace)."""
    if trace is None:
        return 1.0, 1.0
    lt = trace[layer.name]
    return (float(popcount(lt.in_mask).mean()) / max(1, layer.n_in),
            float(popcount(lt.gu_mask).mean()) / max(1, layer.n_out))


def layer_work(arch, network, trace=None) -> dict:
    """{layer: (fp, bp, wg)} estimated engine cycles of one sample and time step, from the
    trace's nonzero counts (dense work when there is no trace)."""
    c = arch.core
    out = {}
    for l in network.layers:
        d_in, d_gu = densities(l, trace)
        macs = l.dense_macs()
        c_in = l.in_channels if l.kind == "conv" else l.n_in
        fp = macs * d_in / c.fp.lanes + l.n_out / c.fp.neuron_lanes
        transposed = any(e.src != "input" for e in l.edges) or network.mode == "input_gradient"
        bp = (macs * d_gu / c.bp.lanes if transposed else 0.0) + l.n_out / c.bp.lanes
        wg = macs * d_gu * max(d_in, min(1.0, c.wg.lanes / max(1, c_in))) / c.wg.lanes
        out[l.name] = (fp, bp if network.backward else 0.0, wg if network.trains else 0.0)
    return out


class CostModel:
    """Estimated cycles per sample and time step of a *segment* -- one layer on ``k`` cores,
    or several consecutive layers sharing one core: (compute, DRAM). Compute is the busiest
    engine's work; DRAM is the transfer time of the segment's weights and weight gradients
    when they cannot stay resident (spilled W is loaded by every FP and BP tile, spilled g(W)
    loaded and stored by every WG tile). Cores compute in parallel, so a mapping costs its
    slowest segment; DRAM is shared, so spills add up. Used only to choose a mapping; the
    timing comes from the simulation."""

    def __init__(self, arch, network, trace=None):
        self.work = layer_work(arch, network, trace)
        bits = value_bits(arch)
        self.wbytes = {l.name: cdiv(l.n_weights * bits, 8) for l in network.layers}
        self.cap = min(buffer_bytes(arch, "weights"), buffer_bytes(arch, "wgrad"))
        d = arch.dram
        self.bw = (d.channels * d.bus_bits / 8 * d.data_rate_mtps * 1e6
                   / (arch.chip.clock_mhz * 1e6))   # bytes per chip cycle

    def segment(self, names, cores: int = 1) -> tuple:
        comp = max(sum(self.work[n][i] for n in names) for i in range(3)) / cores
        w = sum(self.wbytes[n] for n in names)
        return comp, (4 * w / self.bw if w > cores * self.cap else 0.0)


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
    :func:`layer_work` it charges what a *part* costs on its own: the FP
    lanes a narrow part leaves idle, fills and empty scan windows per tile, and the BP delta
    phase's one pass per partial gradient received."""

    def __init__(self, arch, network, trace=None):
        c = arch.core
        self.fp_lanes, self.nl = c.fp.lanes, c.fp.neuron_lanes
        self.bp_lanes, self.bp_sw, self.wg_sw = c.bp.lanes, c.bp.scan_width, c.wg.scan_width
        self.layers = {}
        self._cache: dict = {}
        self.n_weights = {l.name: l.n_weights for l in network.layers}
        self.backward, self.trains = network.backward, network.trains   # the mode's engines
        for l in network.layers:
            d_in, d_gu = densities(l, trace)
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
                wg_ch = d_gu * cdiv(max(1, round(l.n_in * d_in)), c.wg.lanes)
            fp_group = d_in * c_in * pairs
            fp_fixed = c.fp.pipeline_depth + cdiv(l.n_in, c.fp.scan_width) * (
                (1.0 - d_in) ** c.fp.scan_width)
            bp_ch = 0.0
            if network.mode == "input_gradient" or not all(e.src == "input" for e in l.edges):
                bp_ch = d_gu * pairs * cdiv(c_in, c.bp.lanes)
            self.layers[l.name] = LayerWork(
                n_out, l.n_out // n_out, fp_group, fp_fixed, bp_ch, float(c.bp.pipeline_depth),
                wg_ch, c.wg.pipeline_depth + cdiv(l.n_in, c.wg.scan_width),
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
            fp = w.fp_fixed + w.fp_group * cdiv(n, self.fp_lanes) + cdiv(neurons, self.nl)
            bp = (w.bp_fixed + passes * cdiv(neurons, self.bp_lanes) + w.bp_ch * n
                  + cdiv(neurons, self.bp_sw) * w.gu_empty)
            wg = w.wg_fixed + w.wg_ch * n + cdiv(neurons, self.wg_sw) * w.gu_empty
            got = (fp, bp if self.backward else 0.0, wg if self.trains else 0.0)
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


class PartSchedule(NamedTuple):
    """What the schedule estimate needs of one part: its core, tile cycles per engine, and
    the DRAM waits of its spilled tensors (cycles from issue to availability)."""

    core: int
    fp: float              # FP tile
    bp: float              # BP tile
    delta: float           # BP delta phase (the part of the BP tile before WG may start)
    wg: float              # WG tile
    upd: float             # UPD tile (root replica)
    load_fp_first: float   # before FP at t = 0: spilled W (and the input frame)
    load_fp: float         # before FP at t > 0: spilled W + U (and the input frame)
    load_bp: float         # before BP: spilled W + saved
    load_wg: float         # before WG: spilled GW + saved_in
    load_upd: float        # before UPD: spilled W, then GW + M
    saved_store: float     # FP's store of a spilled ``saved``, before BP may load it
    saved_in_store: float  # FP's store of a spilled ``saved_in``, before WG may load it


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
                    delta = self.bp_depth + passes[name] * cdiv(p.n_ch * lw.pos,
                                                                 self.bp_lanes)
                    sp = {k: transfer_bytes(tp.nbytes, self.burst)
                          for k, tp in p.tensors.items() if not tp.resident}
                    n_w = self.work.n_weights[name] * p.n_ch // lw.n_out
                    upd = (self.wg_depth + (R + int(self.momentum)) * cdiv(n_w, self.wg_lanes)
                           if net.trains else 0.0)
                    ld_fp = self._dram(sp.get("W", 0))
                    ld_fp_u = self._dram(sp.get("W", 0) + sp.get("U", 0))
                    if name in self.input_layers:
                        ld_fp, ld_fp_u = max(ld_fp, frame), max(ld_fp_u, frame)
                    rows.append(PartSchedule(p.core, fp, bp, min(delta, bp), wg, upd, ld_fp, ld_fp_u,
                                 self._dram(sp.get("W", 0) + sp.get("saved", 0)),
                                 self._dram(sp.get("GW", 0) + sp.get("saved_in", 0)),
                                 self._dram(n_w and sp.get("W", 0))
                                 + self._dram(sp.get("GW", 0) + sp.get("M", 0)),
                                 self._dram(sp.get("saved", 0)),
                                 self._dram(sp.get("saved_in", 0))))
                parts[name] = rows
            reps.append((rep, parts))
        loss_len = self.bp_depth + T * cdiv(self.out.n_out, self.bp_lanes)
        n_nodes = 1 + max(row.core for _, parts in reps for rows in parts.values()
                          for row in rows)
        free = [[0.0] * n_nodes for _ in range(ENG)]   # engine -> core -> free at
        bpwg_end = {}       # sample -> per core: end of its last BP or WG tile
        # Layers by index (lists, not dicts keyed by (layer, t): the loops below run per
        # sample, step, layer and part). Producers / consumers as layer indices.
        L = len(names)
        at = {name: li for li, name in enumerate(names)}
        prod = [[at[m] for m in self.producers[name]] for name in names]
        cons = [[at[m] for m in self.consumers[name]] for name in names]
        lo = at[out_name]
        # per layer and part index: its last WG end (+ message if not root), over replicas
        wg_last = [[0.0] * max(len(parts[name]) for _, parts in reps) for name in names]
        fwd = ([(t, li) for t in range(T) for li in range(L)] if pipe else
               [(t, li) for li in range(L) for t in range(T)])
        back = ([(t, li) for t in range(T - 1, -1, -1) for li in range(L - 1, -1, -1)] if pipe
                else [(t, li) for li in range(L - 1, -1, -1) for t in range(T - 1, -1, -1)])
        fpf, bpf, wgf = free
        for rep, parts in reps:
            # each phase's fields of every part, as plain tuples
            rows = [parts[name] for name in names]
            fp_rows = [[(r.core, r.load_fp_first, r.load_fp, r.fp) for r in rs] for rs in rows]
            bp_rows = [[(r.core, r.saved_store, r.load_bp, r.bp, r.delta) for r in rs]
                       for rs in rows]
            wg_rows = [[(r.core, r.saved_in_store, r.load_wg, r.wg) for r in rs] for rs in rows]
            oc = rows[lo][0].core
            extra = msg if rep.index else 0.0
            for b in rep.samples:
                done_bw = [0.0] * n_nodes
                bpwg_end[b] = done_bw
                admit = bpwg_end.get(b - S * R) if b - S * R >= 0 else None
                seen = set()
                # ---------------------------------------------------------- FP
                fp_end = [[0.0] * T for _ in range(L)]   # layer, t -> end of its last part
                fp_tile = [[None] * T for _ in range(L)]  # layer, t -> end of each part
                for t, li in fwd:
                    dep = 0.0
                    tp = t if pipe else T - 1
                    for m in prod[li]:
                        v = fp_end[m][tp] + msg
                        if v > dep:
                            dep = v
                    last = 0.0
                    ends = []
                    for c, ld_first, ld, length in fp_rows[li]:
                        st = dep + (ld if t > 0 else ld_first)
                        if fpf[c] > st:
                            st = fpf[c]
                        if admit is not None and c not in seen:     # admission (3.2)
                            seen.add(c)
                            if admit[c] > st:
                                st = admit[c]
                        end = fpf[c] = st + length
                        ends.append(end)
                        if end > last:
                            last = end
                    fp_end[li][t] = last
                    fp_tile[li][t] = ends
                # ---------------------------------------------------------- LOSS, BP
                st = max(fp_end[lo][T - 1], bpf[oc])
                loss = bpf[oc] = st + loss_len
                done_bw[oc] = loss
                bp_end = [[0.0] * T for _ in range(L)]
                bpd = [[None] * T for _ in range(L)]
                for t, li in back:
                    if li == lo:
                        dep = loss
                    else:
                        dep = 0.0
                        tc = t if pipe else 0
                        for m in cons[li]:
                            v = bp_end[m][tc] + msg
                            if v > dep:
                                dep = v
                    last = 0.0
                    deltas = []
                    ends = fp_tile[li][t]
                    for i, (c, saved_store, ld, length, delta) in enumerate(bp_rows[li]):
                        ready = dep
                        if saved_store and ends[i] + saved_store > ready:
                            ready = ends[i] + saved_store
                        st = ready + ld
                        if bpf[c] > st:
                            st = bpf[c]
                        end = bpf[c] = st + length
                        deltas.append(st + delta if overlap else end)
                        if end > last:
                            last = end
                        if end > done_bw[c]:
                            done_bw[c] = end
                    bp_end[li][t] = last
                    bpd[li][t] = deltas
                # ---------------------------------------------------------- WG
                for t, li in back:
                    deltas = bpd[li][t]
                    ends = fp_tile[li][t]
                    wl = wg_last[li]
                    for i, (c, saved_in_store, ld, length) in enumerate(wg_rows[li]):
                        ready = deltas[i]
                        if saved_in_store and ends[i] + saved_in_store > ready:
                            ready = ends[i] + saved_in_store
                        st = ready + ld
                        if wgf[c] > st:
                            st = wgf[c]
                        end = wgf[c] = st + length
                        if end > done_bw[c]:
                            done_bw[c] = end
                        if end + extra > wl[i]:
                            wl[i] = end + extra
        # ---------------------------------------------------------- UPD (root replica)
        rep, parts = reps[0]
        for li, name in enumerate(names):
            for i, row in enumerate(parts[name]):
                c = row.core
                st = max(wg_last[li][i] + row.load_upd, wgf[c])
                wgf[c] = st + row.upd
        makespan = max(max(f) for f in free)
        return makespan


def _dram_access_cycles(arch) -> float:
    """A DRAM read's latency with the row closed (tRCD + tCL), in chip cycles."""
    from ..arch import dram_timing_cycles
    tm = dram_timing_cycles(arch)
    return tm["tRCD"] + tm["tCL"]


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
        from ..energy import Pricer, leakage_energy, load_table

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
        cores, standby = leakage_energy(arch, table, 1.0)
        self.leak_w = sum(cores.values()) + standby
        # Dynamic energy per busy engine cycle: a chunk of `lanes` operations and the SRAM
        # words it moves (FP: reads weights; BP: reads weights, reads and writes gradients;
        # WG: reads and writes wgrad). Cycles that move less (fills, empty windows, LIF)
        # are priced the same: an estimate, to compare mappings.
        def words(eng, buf):
            return cdiv(arch.core[eng].lanes * value_bits(arch), arch.core.sram[buf].width_bits)

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
        self.mesh = Mesh.of(arch)
        self.schedule = ScheduleEstimate(arch, network, self.work, momentum)

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
            h = self.mesh.nearest_dram_hops(core)
            noc_pj += flits * ((h + 1) * self.pj_flit_router + h * self.pj_flit_link)
        cycles = max(self.schedule(placement, T), (rd + wr) / self.schedule.bw)
        energy = (dyn + noc_pj + rd * self.pj_read + wr * self.pj_write) * 1e-12 \
            + self.leak_w * cycles / self.clock
        inputs = sum(traffic.get("input", (0, 0)))
        return Estimate(rd + wr, cycles, energy, parts, rd + wr - inputs)



__all__ = ["ENG", "densities", "layer_work", "CostModel", "LayerWork", "WorkModel", "gradient_passes",
           "PartSchedule", "ScheduleEstimate", "Estimate", "Estimator"]
