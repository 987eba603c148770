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
  their placement and estimates of step time and energy (:mod:`neurosim.mapping.estimate`);
- explicit (workload ``mapping.layers: {layer: [cores]}``): output-split over the listed cores.

Work per layer and engine is estimated from the trace's nonzero counts (dense work without a
trace). Every part must fit the SRAM (its per-tile working set, see :func:`part_footprint`);
a part that does not is split into more parts on the same core until it does.
"""
from __future__ import annotations

import math

from ..arch import buffer_bytes, value_bits
from .estimate import ENG, CostModel, Estimator, WorkModel, gradient_passes
from .footprint import (ADDITIVE, TENSORS, TensorSizes, cdiv, input_frame_bytes, layer_outputs,
                        part_tensors, reads_input, split_even)
from .placement import Placement, build_placement, fit_parts


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
        self.sizes = TensorSizes(arch, network, momentum, state_full)   # shared by _price
        frame = input_frame_bytes(network, value_bits(arch))
        self.packers = {}

        def packer(samples):
            held = min(S, max(1, samples)) * self.T
            if held not in self.packers:
                self.packers[held] = Packer(arch, network, self.work, momentum,
                                            state_full, held, frame)
            return self.packers[held]

        self.packer = packer


def _price(ctx: SearchContext, layout: dict, samples: int):
    """The :class:`~neurosim.mapping.estimate.Estimate` of one replica's layout processing
    ``samples`` samples (placed as the final placement will be)."""
    pl = build_placement(ctx.arch, ctx.network, [layout], momentum=ctx.momentum,
                         state_full=ctx.state_full, batch=samples, time_steps=ctx.T,
                         sizes=ctx.sizes)
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
                k = max(cdiv(need[i], frac * pk.cap[i]) for i in idx)
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

    def __init__(self, arch, network, work: WorkModel, momentum: bool,
                 state_full: bool, held: int, frame_bytes: int):
        self.arch, self.network, self.work = arch, network, work
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
                t = part_tensors(self.arch, self.network, self.layers[name], n, self.momentum,
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
        n = max(first, cdiv(have + n, self.min_bite) * self.min_bite - have)
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
        groups = cdiv(N, g)
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
            k0 = max(k0, min(len(cores), cdiv(self.size[name], self.max_ch[name])))
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
    n = arch.chip.cores   # at most the mesh's nodes: arch.check_arch
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
        fit_parts(arch, network, {l.name: [(0, 0, layer_outputs(l))] for l in network.layers},
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
        first = fit_parts(arch, network, layouts[0], momentum, True, state_full, notes)
        remapped = [{name: [(c + r * per, lo, hi) for c, lo, hi in parts]
                     for name, parts in first.items()} for r in range(len(layouts))]
        return build_placement(arch, network, remapped, strategy=strategy, momentum=momentum,
                               state_full=state_full, batch=B, time_steps=T, notes=notes,
                               fit=False)
    return build_placement(arch, network, layouts, strategy=strategy, momentum=momentum,
                           state_full=state_full, batch=B, time_steps=T, notes=notes)



__all__ = ["map_network", "state_is_full", "SearchContext", "Packer"]
