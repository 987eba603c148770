"""The mapper: which cores compute which output channels of which layer, and where each
tensor lives (``docs/microarchitecture.md`` sections 1.1 and 5.1).

Strategies (``mapping.strategy`` in the arch config, the workload, or ``--set``):

- ``layer-pipelined``: contiguous groups of layers, one group per core (balanced by work);
- ``output-split``: every layer's output channels split over all cores (the output layer on
  one core);
- ``data-parallel``: ``R = min(cores, batch)`` replicas on disjoint core sets, replica 0
  mapped ``auto`` on its cores and the others identical; ``g(W)`` is reduced on replica 0;
- ``auto``: chosen by ``mapping.objective`` (docs/architecture.md, "Mapping"):

  - ``time``: cores given to layers in proportion to their work (several cores per heavy
    layer, output-split; several light layers per core when cores are scarce), minimising
    an estimate of compute plus spilled-weight DRAM time over contiguous layer segments;
  - ``traffic``: the fewest DRAM bytes per step, then the shortest estimated step;
  - ``balanced``: the smallest estimated energy x delay.

  ``traffic`` and ``balanced`` price candidate layouts (the ``time`` one, layers spread
  over many cores, slices of several layers packed per core so that everything stays
  resident, and parts cut small when something must spill) by the exact DRAM traffic of
  their placement and estimates of step time and energy (:mod:`neurosim.hw.packing`);
- explicit (workload ``mapping.layers: {layer: [cores]}``): output-split over the listed cores.

Work per layer and engine is estimated from the trace's nonzero counts (dense work without a
trace). Every part must fit the SRAM (its per-tile working set, see :func:`part_footprint`);
a part that does not is split into more parts on the same core until it does.
"""
from __future__ import annotations

import math

from ..arch import SRAM_BUFFERS, buffer_bytes, grad_bits, master_bits, value_bits
from ..workload.trace import popcount
from .packing import (ADDITIVE, Estimator, Packer, WorkModel, gradient_passes, layer_outputs,
                      reads_input, split_even)
from .placement import TENSORS, PartPlacement, Placement, Replica, TensorPlace

PERSISTENT = ("W", "GW", "M", "WM", "U")
PER_STEP = ("saved", "saved_in")


def _cdiv(a, b):
    return -(-int(a) // int(b))


def _round_up(a, b):
    return _cdiv(a, b) * b


def input_frame_bytes(network, bits: int) -> int:
    n = 1
    for s in network.input_shape:
        n *= int(s)
    return _cdiv(n, 8) if network.coding == "dvs" else _cdiv(n * bits, 8)


# --------------------------------------------------------------------------- footprints


def part_tensors(arch, network, layer, n_ch: int, momentum: bool, root: bool,
                 state_full: bool, bits: int | None = None) -> dict:
    """Bytes of one instance of each tensor of a part with ``n_ch`` output channels
    (``bits``: value bits of the arch, when the caller has them at hand)."""
    bits = value_bits(arch) if bits is None else bits
    if layer.kind == "conv":
        n_part = n_ch * layer.out_shape[1] * layer.out_shape[2]
        n_w = n_ch * layer.in_channels * layer.kernel ** 2
    else:
        n_part, n_w = n_ch, n_ch * layer.n_in
    gbits = grad_bits(arch)    # accumulators and momentum (spec 2.5a)
    t = {"W": _cdiv(n_w * bits, 8), "GW": _cdiv(n_w * gbits, 8)}
    if momentum and root:
        t["M"] = _cdiv(n_w * gbits, 8)
    if master_bits(arch) and root:
        t["WM"] = _cdiv(n_w * master_bits(arch), 8)
    t["U"] = _cdiv(n_part * bits, 8)
    t["saved"] = _cdiv(n_part * (bits + 1) if state_full else 2 * n_part, 8)
    t["saved_in"] = _cdiv(layer.n_in, 8)
    t["GU"] = _cdiv(2 * n_part * bits, 8)
    if any(e.src != "input" for e in layer.edges):
        t["GS"] = _cdiv(layer.n_in * bits, 8)
    return t


def part_footprint(arch, network, layer, n_ch: int, momentum: bool, root: bool,
                   state_full: bool, bits: int | None = None) -> dict:
    """Per-tile working set of a part, per buffer: every tensor a tile of the part touches
    must be in SRAM at once (resident or staged)."""
    bits = value_bits(arch) if bits is None else bits
    t = part_tensors(arch, network, layer, n_ch, momentum, root, state_full, bits)
    ws = {b: 0 for b in SRAM_BUFFERS}
    for name, nbytes in t.items():
        ws[TENSORS[name][0]] += nbytes
    if any(e.src == "input" for e in layer.edges):
        ws["spikes"] += input_frame_bytes(network, bits)
    return ws


def _too_big(caps: dict, ws: dict):
    for buf in SRAM_BUFFERS:
        if ws[buf] > caps[buf]:
            return buf
    return None


# --------------------------------------------------------------------------- work estimate


def layer_work(arch, network, trace=None) -> dict:
    """{layer: (fp, bp, wg)} estimated engine cycles of one sample and time step, from the
    trace's nonzero counts (dense work when there is no trace)."""
    c = arch.core
    out = {}
    for l in network.layers:
        d_in = d_gu = 1.0
        if trace is not None:
            lt = trace[l.name]
            d_in = float(popcount(lt.in_mask).mean()) / max(1, l.n_in)
            d_gu = float(popcount(lt.gu_mask).mean()) / max(1, l.n_out)
        macs = l.dense_macs()
        c_in = l.in_channels if l.kind == "conv" else l.n_in
        fp = macs * d_in / c.fp.lanes + l.n_out / c.fp.neuron_lanes
        transposed = any(e.src != "input" for e in l.edges)
        bp = (macs * d_gu / c.bp.lanes if transposed else 0.0) + l.n_out / c.bp.lanes
        wg = macs * d_gu * max(d_in, min(1.0, c.wg.lanes / max(1, c_in))) / c.wg.lanes
        out[l.name] = (fp, bp, wg)
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
        self.wbytes = {l.name: _cdiv(l.n_weights * bits, 8) for l in network.layers}
        self.cap = min(buffer_bytes(arch, "weights"), buffer_bytes(arch, "wgrad"))
        d = arch.dram
        self.bw = (d.channels * d.bus_bits / 8 * d.data_rate_mtps * 1e6
                   / (arch.chip.clock_mhz * 1e6))   # bytes per chip cycle

    def segment(self, names, cores: int = 1) -> tuple:
        comp = max(sum(self.work[n][i] for n in names) for i in range(3)) / cores
        w = sum(self.wbytes[n] for n in names)
        return comp, (4 * w / self.bw if w > cores * self.cap else 0.0)


def _segments(network, cost: CostModel, n: int, groups_only: bool = False) -> list:
    """Cut the layers (in order) into segments -- [(first, last, cores)] -- on at most ``n``
    cores, minimising max(slowest segment's compute, total DRAM time): a segment is one layer
    on ``k >= 1`` cores (output-split; the output layer takes one) or several layers on one
    core. Dynamic programming over (layers, cores) keeping the Pareto front of (compute,
    DRAM)."""
    names = [l.name for l in network.layers]
    L = len(names)
    out = L - 1
    # front[i][c]: list of (compute, dram, (j, k, index into front[j][c-k]))
    front = [[[] for _ in range(n + 1)] for _ in range(L + 1)]
    front[0][0] = [(0.0, 0.0, None)]

    def add(cell, item):
        for a in cell:
            if a[0] <= item[0] + 1e-9 and a[1] <= item[1] + 1e-9:
                return
        cell[:] = [a for a in cell if not (item[0] <= a[0] + 1e-9 and item[1] <= a[1] + 1e-9)]
        cell.append(item)

    for i in range(1, L + 1):
        for c in range(1, n + 1):
            cell = front[i][c]
            options = [(j, 1) for j in range(i - 1, -1, -1)]
            if not groups_only and i - 1 != out:
                options += [(i - 1, k) for k in range(2, min(c, layer_outputs(
                    network.layers[i - 1])) + 1)]
            for j, k in options:
                comp, dram = cost.segment(names[j:i], k)
                for idx, (pc, pd, _) in enumerate(front[j][c - k]):
                    add(cell, (max(pc, comp), pd + dram, (j, k, idx)))
    best = None
    for c in range(n, 0, -1):
        for idx, (pc, pd, _) in enumerate(front[L][c]):
            v = pc + pd
            if best is None or v < best[0] - 1e-9:
                best = (v, c, idx)
    _, c, idx = best
    segs, i = [], L
    while i > 0:
        j, k, nidx = front[i][c][idx][2]
        segs.append((j, i - 1, k))
        i, c, idx = j, c - k, nidx
    return list(reversed(segs))


def _auto_layout(network, cost: CostModel, cores: list, groups_only: bool = False) -> dict:
    """layer -> [(core, lo, hi)] over ``cores`` from the cheapest segmentation."""
    layout, nxt = {}, 0
    for first, last, k in _segments(network, cost, len(cores), groups_only):
        cs = cores[nxt:nxt + k]
        nxt += k
        for l in network.layers[first:last + 1]:
            layout[l.name] = [(c, lo, hi) for c, (lo, hi) in
                              zip(cs, split_even(layer_outputs(l), len(cs)))]
    return layout


class SearchContext:
    """What the ``traffic`` and ``balanced`` objectives need to price candidate layouts."""

    def __init__(self, arch, network, trace, cost: CostModel, momentum: bool,
                 state_full: bool, objective: str):
        self.arch, self.network, self.cost = arch, network, cost
        self.momentum, self.state_full, self.objective = momentum, state_full, objective
        self.T = network.time_steps if trace is None else trace.time_steps
        S = arch.schedule.samples_in_flight if arch.schedule.fp_bp_overlap else 1
        self.work = WorkModel(arch, network, trace)
        self.estimate = Estimator(arch, network, trace, self.work, momentum)
        frame = input_frame_bytes(network, value_bits(arch))
        self.packers = {}

        def packer(samples):
            held = min(S, max(1, samples)) * self.T
            if held not in self.packers:
                self.packers[held] = Packer(arch, network, self.work, part_tensors, momentum,
                                            state_full, held, frame)
            return self.packers[held]

        self.packer = packer


def _price(ctx: SearchContext, layout: dict, samples: int):
    """The :class:`~neurosim.hw.packing.Estimate` of one replica's layout processing
    ``samples`` samples (placed as the final placement will be)."""
    pl = build_placement(ctx.arch, ctx.network, [layout], momentum=ctx.momentum,
                         state_full=ctx.state_full, batch=samples, time_steps=ctx.T)
    return ctx.estimate(pl)


def _rank(ctx: SearchContext, est) -> tuple:
    """Sort key of an estimate under the objective (smaller is better)."""
    if ctx.objective == "traffic":
        return (est.dram_bytes, est.cycles, est.parts)
    return (est.edp, est.dram_bytes, est.parts)


def _packed_layouts(ctx: SearchContext, cores: list, samples: int) -> list:
    """Candidate layouts from the packer, mixed and contiguous, at the smallest compute
    target at which every tensor is resident and a looser one; none when the network
    cannot be all resident on these cores (the packer only packs what fits)."""
    pk = ctx.packer(samples)
    n = len(cores)
    full = [ctx.work.part(l.name, layer_outputs(l)) for l in ctx.network.layers]
    z_lo = max(sum(w[e] for w in full) for e in range(3)) / n
    z_hi = 2.0 * sum(max(w) for w in full) + 1.0
    out = []
    for contiguous in (False, True):
        def left(z):
            return pk.pack(cores, z, contiguous=contiguous)[1]

        if left(z_hi):
            continue
        lo, hi = z_lo, z_hi
        if not left(lo):
            hi = lo
        else:
            while hi / lo > 1.01:
                mid = math.sqrt(lo * hi)
                if left(mid):
                    lo = mid
                else:
                    hi = mid
        for f in (1.0, 1.25):
            layout, rest = pk.pack(cores, hi * f, contiguous=contiguous)
            if rest:
                continue
            out.append(layout)
            # again with each part's real number of gradient passes (BP delta phase)
            again, rest = pk.pack(cores, hi * f, passes=gradient_passes(ctx.network, layout),
                                  contiguous=contiguous)
            if not rest:
                out.append(again)
    return out


def _subdivided(ctx: SearchContext, layout: dict, samples: int, frac: float) -> dict:
    """``layout`` with every part cut, on its core, into parts needing at most ``frac`` of
    a weights, wgrad or state buffer each: when not everything can be resident, small parts
    keep the staging region (one part's spilled tensors) small, so more stays resident."""
    pk = ctx.packer(samples)
    idx = [ADDITIVE.index(b) for b in ("weights", "wgrad", "state")]
    out = {}
    for l in ctx.network.layers:
        parts = []
        for core, lo, hi in layout[l.name]:
            need = pk.need(l.name, hi - lo)
            k = 1
            if l.name != ctx.network.output_layer.name:
                k = max(_cdiv(need[i], frac * pk.cap[i]) for i in idx)
                k = max(1, min(hi - lo, k))
            parts += [(core, lo + a, lo + b) for a, b in split_even(hi - lo, k)]
        out[l.name] = parts
    return out


def _spread_layouts(ctx: SearchContext, cores: list, samples: int) -> list:
    """Candidate layouts with every layer spread over cores: as many parts as cores (or
    output channels), or per layer the fewest parts that come near its shortest tile;
    layers reading the network input (which every part loads per tile) also whole."""
    pk = ctx.packer(samples)
    n = len(cores)
    families = [{name: n for name in pk.size}]
    families += [pk.latency_parts(n, slack) for slack in (0.0, 0.25)]
    out = []
    for ks in families:
        whole = {name: (1 if reads_input(ctx.network[name]) else k) for name, k in ks.items()}
        for parts in (ks, whole):
            for heavy_first in (True, False):
                layout = pk.spread(cores, parts, heavy_first)
                if layout not in out:
                    out.append(layout)
    return out


def _search_layout(ctx: SearchContext, cores: list, samples: int) -> tuple:
    """(layout, its estimate, candidates priced): the best layout under the objective among
    the ``time`` objective's, the spread ones and the packer's; when the best still spills,
    also the two best cut into smaller parts (:func:`_subdivided`)."""
    cands = []
    for layout in ([_auto_layout(ctx.network, ctx.cost, cores)]
                   + _spread_layouts(ctx, cores, samples) + _packed_layouts(ctx, cores, samples)):
        if layout not in cands:
            cands.append(layout)
    priced = [(_price(ctx, layout, samples), layout) for layout in cands]
    ranked = sorted(range(len(priced)), key=lambda i: _rank(ctx, priced[i][0]) + (i,))
    best = priced[ranked[0]]
    if best[0].spilled_bytes:
        for i in ranked[:2]:
            for frac in (0.25, 0.125, 0.0625):
                layout = _subdivided(ctx, priced[i][1], samples, frac)
                if layout not in cands:
                    cands.append(layout)
                    est = _price(ctx, layout, samples)
                    if _rank(ctx, est) < _rank(ctx, best[0]):
                        best = (est, layout)
    return best[1], best[0], len(cands)


def _explicit_layout(arch, network, wl) -> dict:
    spec = wl.get("mapping.layers")
    names = {l.name for l in network.layers}
    for name in spec:
        if name not in names:
            raise wl.error(f"mapping.layers.{name}", "the name of a conv2d or linear layer "
                           "of the network", name)
    n = arch.chip.cores
    layout, prev = {}, [0]
    for l in network.layers:
        key = f"mapping.layers.{l.name}"
        cores = spec.get(l.name)
        if cores is None:
            cores = [prev[-1]]
        ok = (isinstance(cores, list) and cores
              and all(isinstance(c, int) and not isinstance(c, bool) for c in cores))
        if not ok:
            raise wl.error(key, "a non-empty list of core ids", cores)
        bad = [c for c in cores if not 0 <= c < n]
        if bad:
            raise wl.error(key, f"core ids in [0, {n - 1}] (chip.cores = {n})", bad[0])
        if len(set(cores)) != len(cores):
            raise wl.error(key, "distinct core ids", cores)
        if l.name == network.output_layer.name and len(cores) > 1:
            raise wl.error(key, "one core for the output layer (the loss needs all classes "
                           "on one core)", cores)
        if len(cores) > layer_outputs(l):
            raise wl.error(key, f"at most {layer_outputs(l)} cores (one output channel "
                           "each)", len(cores))
        layout[l.name] = [(c, lo, hi) for c, (lo, hi) in
                          zip(cores, split_even(layer_outputs(l), len(cores)))]
        prev = cores
    return layout


# --------------------------------------------------------------------------- placement


def _fit_parts(arch, network, layout: dict, momentum: bool, root: bool, state_full: bool,
               notes: list) -> dict:
    """Split parts on their core until each part's working set fits the SRAM."""
    out = {}
    bits = value_bits(arch)
    caps = {b: buffer_bytes(arch, b) for b in SRAM_BUFFERS}
    for l in network.layers:
        parts = []
        for core, lo, hi in layout[l.name]:
            n = hi - lo
            k = 1
            while True:
                widest = _cdiv(n, k)
                ws = part_footprint(arch, network, l, widest, momentum, root, state_full,
                                    bits)
                buf = _too_big(caps, ws)
                if buf is None:
                    break
                if l.name == network.output_layer.name:
                    raise arch.error(f"core.sram.{buf}.size_kib",
                                     f"at least {ws[buf] / 1024:g} KiB to hold output layer "
                                     f"{l.name} in one part (the loss needs all classes on "
                                     "one core)", arch.core.sram[buf].size_kib)
                if widest == 1:
                    raise arch.error(f"core.sram.{buf}.size_kib",
                                     f"at least {ws[buf] / 1024:g} KiB to hold one output "
                                     f"channel of layer {l.name} (its per-tile working set)",
                                     arch.core.sram[buf].size_kib)
                k = min(n, max(k + 1, _cdiv(k * ws[buf], caps[buf])))
            if k > 1:
                notes.append(f"{l.name}[{lo}:{hi}] split into {k} parts on core{core} to fit "
                             "its working set in SRAM")
            for a, b in split_even(n, k):
                parts.append((core, lo + a, lo + b))
        out[l.name] = sorted(parts, key=lambda p: p[1])
    return out


def build_placement(arch, network, layouts: list, *, strategy: str = "explicit",
                    momentum: bool = False, state_full: bool = False, batch: int | None = None,
                    time_steps: int | None = None, samples_in_flight: int | None = None,
                    notes: list | None = None, fit: bool = True) -> Placement:
    """A :class:`Placement` from per-replica layouts ``[{layer: [(core, lo, hi)]}]``: parts
    split to fit (``fit``), tensors resident or spilled per buffer, SRAM and DRAM addresses.

    Per core and buffer (spec 5.1, this model's rule): the *working region* at word 0 holds
    what every tile needs afresh (gradients: ``GU`` then ``GS`` of the current part, shared by
    the core's parts in turn; spikes: the staged input frame); then a *staging region* large
    enough for the largest set of one part's spilled tensors; then resident tensors, filled
    greedily in part order -- ``W``, ``GW``, ``M``, ``U`` first, then the per-step ``saved``
    and ``saved_in`` (resident means all ``min(S, samples) * T`` instances fit)."""
    notes = list(notes or [])
    B = batch if batch is not None else network.batch
    T = time_steps if time_steps is not None else network.time_steps
    S = samples_in_flight
    if S is None:
        S = arch.schedule.samples_in_flight if arch.schedule.fp_bp_overlap else 1
    R = len(layouts)
    bits = value_bits(arch)
    burst = arch.dram.burst_bytes
    replicas = []
    for r, layout in enumerate(layouts):
        if fit:
            layout = _fit_parts(arch, network, layout, momentum, r == 0, state_full, notes)
        layers = {}
        for l in network.layers:
            ends = [0] + [hi for _, _, hi in layout[l.name]]
            if ([lo for _, lo, _ in layout[l.name]] != ends[:-1] or ends[-1] != layer_outputs(l)
                    or any(lo >= hi for _, lo, hi in layout[l.name])):
                # every producer of layouts must respect this (spec 1.1): a mapper bug
                raise ValueError(f"layout of {l.name}: parts must be consecutive non-empty "
                                 f"channel ranges covering [0, {layer_outputs(l)}), got "
                                 f"{layout[l.name]}")
            layers[l.name] = [PartPlacement(l.name, i, core, lo, hi)
                              for i, (core, lo, hi) in enumerate(layout[l.name])]
        samples = [b for b in range(B) if b % R == r]
        replicas.append(Replica(r, samples, layers))
    frame = input_frame_bytes(network, bits)
    stride_in = _round_up(frame, burst)
    placement = Placement(strategy, replicas, 0, frame, stride_in, notes)
    dram_next = [stride_in * B * T]
    spilled_count = {}
    for rep in replicas:
        s_eff = min(S, max(1, len(rep.samples)))
        for core in rep.cores():
            parts = [p for l in network.layers for p in rep.layers[l.name] if p.core == core]
            _place_core(arch, network, parts, rep.index == 0, momentum, state_full, s_eff * T,
                        B * T, dram_next, burst, spilled_count)
    for name, n in sorted(spilled_count.items()):
        notes.append(f"{n} {name} tensor(s) spilled to DRAM")
    placement.notes = notes
    return placement


def _place_core(arch, network, parts, root, momentum, state_full, held, instances, dram_next,
                burst, spilled_count) -> None:
    """Residency and addresses of one core's tensors."""
    bits = value_bits(arch)
    sizes = {id(p): part_tensors(arch, network, network[p.layer], p.out_hi - p.out_lo, momentum,
                                 root, state_full, bits) for p in parts}
    frame = input_frame_bytes(network, bits)
    for p in parts:
        p.tensors = {}
    for buf in SRAM_BUFFERS:
        width = arch.core.sram[buf].width_bits
        cap = buffer_bytes(arch, buf)

        def words(nbytes):
            return _cdiv(nbytes * 8, width)

        if buf == "gradients":
            for p in parts:
                t = sizes[id(p)]
                p.tensors["GU"] = TensorPlace(True, 0, t["GU"])
                if "GS" in t:
                    p.tensors["GS"] = TensorPlace(True, words(t["GU"]), t["GS"])
            continue
        work = 0
        if buf == "spikes" and any(e.src == "input" for p in parts
                                   for e in network[p.layer].edges):
            work = frame
        cands = []   # (part, tensor, instance bytes, instances held)
        for group in (PERSISTENT, PER_STEP):
            for p in parts:
                for name in group:
                    if name in sizes[id(p)] and TENSORS[name][0] == buf:
                        n = held if name in PER_STEP else 1
                        cands.append((p, name, sizes[id(p)][name], n))
        spilled = {(id(p), name) for p, name, _, _ in cands}
        # the staging region: the largest sum of one part's spilled instances
        spill_sum = {id(p): 0 for p in parts}
        for p, _, nb, _ in cands:
            spill_sum[id(p)] += nb

        def top_two():
            """(largest spilled sum and its part, largest of the other parts)."""
            best, arg, second = 0, None, 0
            for q, v in spill_sum.items():
                if arg is None or v > best:
                    best, arg, second = v, q, best
                elif v > second:
                    second = v
            return best, arg, second

        # counted in words, as the addresses are: every region and tensor starts on a word
        free_words = cap * 8 // width - words(work)
        used = 0
        resident = []
        best, arg, second = top_two()
        for p, name, nb, n in cands:
            pid = id(p)
            staging = max(spill_sum[pid] - nb, second) if pid == arg else best
            size = words(nb * n)
            if words(staging) + used + size <= free_words:
                spilled.discard((pid, name))
                old = spill_sum[pid]
                spill_sum[pid] = old - nb
                used += size
                resident.append((p, name, nb, n))
                if pid == arg or old >= second:     # else the two largest are unchanged
                    best, arg, second = top_two()
        stage_base = words(work)
        addr = stage_base + words(max(spill_sum.values(), default=0))
        for p, name, nb, n in resident:
            p.tensors[name] = TensorPlace(True, addr, nb)
            addr += words(nb * n)
        for p, name, nb, n in cands:
            if (id(p), name) in spilled:
                per_step = name in PER_STEP
                stride = _round_up(nb, burst) if per_step else 0
                base = dram_next[0]
                dram_next[0] += stride * instances if per_step else _round_up(nb, burst)
                p.tensors[name] = TensorPlace(False, stage_base, nb, base, stride)
                spilled_count[name] = spilled_count.get(name, 0) + 1
    for p in parts:   # canonical order of the tensor table
        p.tensors = {k: p.tensors[k] for k in TENSORS if k in p.tensors}


# --------------------------------------------------------------------------- the mapper


def _strategy(arch, workload):
    """Explicit workload layout, else the workload's strategy, else the arch's; a
    ``--set mapping.strategy`` on the arch wins over the workload."""
    from_cli = arch.is_overridden("mapping.strategy")
    if workload is not None and not from_cli:
        if workload.get("mapping.layers") is not None:
            return "explicit"
        if workload.get("mapping.strategy") is not None:
            return workload.get("mapping.strategy")
    return arch.mapping.strategy


def state_is_full(arch, workload=None) -> bool:
    """Whether FP saves full FP values of U for BP (``core.state_format``; ``auto``: only
    the 1-bit surrogate mask when the surrogate is rectangular)."""
    fmt = arch.core.state_format
    if fmt == "auto":
        shape = workload.get("network.surrogate.shape") if workload is not None else None
        return shape not in (None, "rectangular")
    return fmt == "full"


def map_network(arch, network, workload=None, trace=None) -> Placement:
    """Map ``network`` onto ``arch``'s cores; see the module docstring."""
    strategy = _strategy(arch, workload)
    n = arch.chip.cores
    nodes = arch.chip.mesh.cols * arch.chip.mesh.rows
    if n > nodes:
        raise arch.error("chip.cores", f"at most mesh.cols*mesh.rows = {nodes} cores", n)
    momentum = workload is not None and workload.get("optimizer.type") == "momentum"
    state_full = state_is_full(arch, workload)
    B = network.batch if trace is None else trace.batch
    T = network.time_steps if trace is None else trace.time_steps
    cost = CostModel(arch, network, trace)
    cores = list(range(n))
    notes: list = []
    objective = arch.mapping.objective
    ctx = None
    if objective != "time" and strategy in ("auto", "data-parallel"):
        # the capacity errors (a one-channel part or the output layer fitting nowhere) do
        # not depend on the layout: raise them before searching
        _fit_parts(arch, network, {l.name: [(0, 0, layer_outputs(l))] for l in network.layers},
                   momentum, True, state_full, [])
        ctx = SearchContext(arch, network, trace, cost, momentum, state_full, objective)

    def auto(cs, samples, of=""):
        if ctx is None:
            return _auto_layout(network, cost, cs)
        layout, est, n_cands = _search_layout(ctx, cs, samples)
        notes.append(f"objective {objective}: best of {n_cands} candidate layouts, estimated "
                     f"{est.cycles:,.0f} cycles, {est.dram_bytes:,} DRAM bytes, "
                     f"{est.energy_j * 1e3:.3g} mJ per step{of}")
        return layout

    if strategy == "explicit":
        layouts = [_explicit_layout(arch, network, workload)]
    elif strategy == "layer-pipelined":
        layouts = [_auto_layout(network, cost, cores, groups_only=True)]
    elif strategy == "output-split":
        layout = {}
        for l in network.layers:
            if l.name == network.output_layer.name:
                layout[l.name] = [(n - 1, 0, layer_outputs(l))]
            else:
                k = min(n, layer_outputs(l))
                layout[l.name] = [(c, lo, hi) for c, (lo, hi) in
                                  zip(cores[:k], split_even(layer_outputs(l), k))]
        layouts = [layout]
    elif strategy == "data-parallel":
        R = max(1, min(n, B))
        per = n // R
        # replica 0 (the most samples) is mapped on cores 0..per-1; replica r is the same
        # layout shifted to cores r*per.. (replicas must split identically)
        layouts = [auto(cores[:per], len(range(0, B, R)), " of replica 0")] * R
        if R > 1:
            notes.append(f"{R} replicas of {per} core(s); g(W) reduced on replica 0")
    else:
        layouts = [auto(cores, B)]
    if len(layouts) > 1:   # replicas must split identically: fit replica 0, then copy
        first = _fit_parts(arch, network, layouts[0], momentum, True, state_full, notes)
        remapped = [{name: [(c + r * per, lo, hi) for c, lo, hi in parts]
                     for name, parts in first.items()} for r in range(len(layouts))]
        return build_placement(arch, network, remapped, strategy=strategy, momentum=momentum,
                               state_full=state_full, batch=B, time_steps=T, notes=notes,
                               fit=False)
    return build_placement(arch, network, layouts, strategy=strategy, momentum=momentum,
                           state_full=state_full, batch=B, time_steps=T, notes=notes)


__all__ = ["map_network", "build_placement", "state_is_full", "part_footprint", "part_tensors", "layer_work",
           "layer_outputs", "input_frame_bytes", "CostModel"]
