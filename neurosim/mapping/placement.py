"""Placement: which core computes which slice of which layer, and where each tensor lives
(SRAM resident or spilled to DRAM, with its addresses); ``docs/microarchitecture.md``
sections 1.1 and 5.1.

The data classes (:class:`Placement`, :class:`Replica`, :class:`PartPlacement`,
:class:`TensorPlace`) are an input of the timing models (event-driven and reference), like
the trace; :func:`build_placement` makes one from per-replica layouts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..arch import SRAM_BUFFERS, buffer_bytes, value_bits
from ..errors import DoesNotFit
from .footprint import (ALWAYS_RESIDENT, PER_STEP_TENSORS, PERSISTENT_TENSORS, TENSORS,
                        TensorSizes, cdiv, input_frame_bytes, layer_outputs, overfull_buffer,
                        round_up, split_even)


@dataclass
class TensorPlace:
    resident: bool
    sram_base: int          # word address in its buffer (the staging base if spilled)
    nbytes: int             # bytes of one instance
    dram_addr: int = -1     # byte address of instance 0 in DRAM (spilled tensors)
    stride: int = 0         # bytes between consecutive (b, t) instances: b*T + t

    def dram_instance(self, b: int = 0, t: int = 0, time_steps: int = 1) -> int:
        return self.dram_addr + (b * time_steps + t) * self.stride


@dataclass
class PartPlacement:
    layer: str
    index: int              # part index within the layer (in its replica)
    core: int
    out_lo: int             # output channels (conv) or neurons (linear): [out_lo, out_hi)
    out_hi: int
    tensors: dict = field(default_factory=dict)  # name -> TensorPlace

    @property
    def n_ch(self) -> int:
        return self.out_hi - self.out_lo


@dataclass
class Replica:
    index: int
    samples: list           # batch samples processed by this replica, increasing
    layers: dict            # layer name -> list[PartPlacement] in part-index order

    def cores(self) -> list[int]:
        return sorted({p.core for parts in self.layers.values() for p in parts})


@dataclass
class Placement:
    strategy: str
    replicas: list          # list[Replica]; replica 0 is the root (runs UPD)
    input_dram_addr: int = 0
    input_frame_bytes: int = 0
    input_frame_stride: int = 0   # bytes between frames (b*T + t)
    notes: list = field(default_factory=list)  # human-readable mapper decisions

    def parts_on_core(self, core: int) -> list[PartPlacement]:
        out = []
        for r in self.replicas:
            for parts in r.layers.values():
                out.extend(p for p in parts if p.core == core)
        return out

    def replica_of_sample(self, b: int) -> Replica:
        return self.replicas[b % len(self.replicas)]

    def to_dict(self) -> dict:
        """``dataclasses.asdict(self)`` (what :meth:`from_dict` reads), built field by field:
        asdict's generic deep copy took 0.19 s of a spilling VGG-11 step's output."""
        def tensor(t):
            return {"resident": t.resident, "sram_base": t.sram_base, "nbytes": t.nbytes,
                    "dram_addr": t.dram_addr, "stride": t.stride}

        def part(p):
            return {"layer": p.layer, "index": p.index, "core": p.core, "out_lo": p.out_lo,
                    "out_hi": p.out_hi,
                    "tensors": {k: tensor(t) for k, t in p.tensors.items()}}

        return {"strategy": self.strategy,
                "replicas": [{"index": r.index, "samples": list(r.samples),
                              "layers": {name: [part(p) for p in parts]
                                         for name, parts in r.layers.items()}}
                             for r in self.replicas],
                "input_dram_addr": self.input_dram_addr,
                "input_frame_bytes": self.input_frame_bytes,
                "input_frame_stride": self.input_frame_stride,
                "notes": list(self.notes)}

    @staticmethod
    def from_dict(d: dict) -> "Placement":
        reps = []
        for r in d["replicas"]:
            layers = {}
            for name, parts in r["layers"].items():
                layers[name] = [PartPlacement(
                    p["layer"], p["index"], p["core"], p["out_lo"], p["out_hi"],
                    {k: TensorPlace(**v) for k, v in p["tensors"].items()}) for p in parts]
            reps.append(Replica(r["index"], list(r["samples"]), layers))
        return Placement(d["strategy"], reps, d["input_dram_addr"], d["input_frame_bytes"],
                         d["input_frame_stride"], list(d.get("notes", [])))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self) -> str:
        """A table a user can read: layer, parts, cores, residency."""
        lines = [f"mapping: {self.strategy}, {len(self.replicas)} replica(s)"]
        for r in self.replicas:
            if len(self.replicas) > 1:
                lines.append(f" replica {r.index}: samples {r.samples}")
            for name, parts in r.layers.items():
                desc = ", ".join(
                    f"core{p.core}[{p.out_lo}:{p.out_hi}]"
                    + ("" if all(tp.resident for tp in p.tensors.values()) else
                       " spills " + "+".join(k for k, tp in p.tensors.items() if not tp.resident))
                    for p in parts)
                lines.append(f"  {name:<12} {desc}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def fit_parts(arch, network, layout: dict, momentum: bool, root: bool, state_full: bool,
              notes: list, sizes: TensorSizes | None = None) -> dict:
    """Split parts on their core until each part's working set fits the SRAM (``sizes``: a
    memo of the parts' tensors for these options, if the caller keeps one)."""
    out = {}
    sizes = TensorSizes.of(arch, network, momentum, state_full, sizes)
    caps = {b: buffer_bytes(arch, b) for b in SRAM_BUFFERS}
    for l in network.layers:
        parts = []
        for core, lo, hi in layout[l.name]:
            n = hi - lo
            k = 1
            while True:
                widest = cdiv(n, k)
                ws = sizes.footprint(l, widest, root)
                buf = overfull_buffer(caps, ws)
                if buf is None:
                    break
                if l.name == network.output_layer.name:
                    raise DoesNotFit.of(arch.error(
                        f"core.sram.{buf}.size_kib", f"at least {ws[buf] / 1024:g} KiB to "
                        f"hold output layer {l.name} in one part (the loss needs all "
                        "classes on one core)", arch.core.sram[buf].size_kib))
                if widest == 1:
                    raise DoesNotFit.of(arch.error(
                        f"core.sram.{buf}.size_kib", f"at least {ws[buf] / 1024:g} KiB to "
                        f"hold one output channel of layer {l.name} (its per-tile working "
                        "set)", arch.core.sram[buf].size_kib))
                k = min(n, max(k + 1, cdiv(k * ws[buf], caps[buf])))
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
                    notes: list | None = None, fit: bool = True,
                    sizes: TensorSizes | None = None) -> Placement:
    """A :class:`Placement` from per-replica layouts ``[{layer: [(core, lo, hi)]}]``: parts
    split to fit (``fit``), tensors resident or spilled per buffer, SRAM and DRAM addresses.

    Per core and buffer (spec 5.1, this model's rule): the *working region* at word 0 holds
    what every tile needs afresh (gradients: ``GU`` then ``GS`` of the current part, shared by
    the core's parts in turn; spikes: the staged input frame); then a *staging region* large
    enough for the largest set of one part's spilled tensors; then resident tensors, filled
    greedily in part order -- ``W``, ``GW``, ``M``, ``U`` first, then the per-step ``saved``
    and ``saved_in`` (resident means all ``min(S, samples) * T`` instances fit).
    ``sizes``: a memo of the parts' tensors for these options, if the caller keeps one."""
    notes = list(notes or [])
    sizes = TensorSizes.of(arch, network, momentum, state_full, sizes)
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
            layout = fit_parts(arch, network, layout, momentum, r == 0, state_full, notes,
                               sizes)
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
    stride_in = round_up(frame, burst)
    placement = Placement(strategy, replicas, 0, frame, stride_in, notes)
    dram_next = [stride_in * B * T]
    spilled_count = {}
    for rep in replicas:
        s_eff = min(S, max(1, len(rep.samples)))
        for core in rep.cores():
            parts = [p for l in network.layers for p in rep.layers[l.name] if p.core == core]
            _place_core(arch, network, parts, rep.index == 0, sizes, s_eff * T, B * T,
                        dram_next, burst, spilled_count)
    for name, n in sorted(spilled_count.items()):
        notes.append(f"{n} {name} tensor(s) spilled to DRAM")
    placement.notes = notes
    return placement


def _place_core(arch, network, parts, root, tensor_sizes, held, instances, dram_next, burst,
                spilled_count) -> None:
    """Residency and addresses of one core's tensors."""
    bits = value_bits(arch)
    sizes = {id(p): tensor_sizes(network[p.layer], p.out_hi - p.out_lo, root) for p in parts}
    frame = input_frame_bytes(network, bits)
    for p in parts:
        p.tensors = {}
    for buf in SRAM_BUFFERS:
        width = arch.core.sram[buf].width_bits
        cap = buffer_bytes(arch, buf)

        def words(nbytes):      # (cdiv of ints, inlined: called ~160 k times per search)
            return -(-nbytes * 8 // width)

        if buf == "gradients":
            for p in parts:
                t = sizes[id(p)]
                if "GU" not in t:      # inference: no gradients (spec 3.6)
                    continue
                p.tensors["GU"] = TensorPlace(True, 0, t["GU"])
                if "GS" in t:
                    p.tensors["GS"] = TensorPlace(True, words(t["GU"]), t["GS"])
            continue
        work = 0
        if buf == "spikes" and any(e.src == "input" for p in parts
                                   for e in network[p.layer].edges):
            work = frame
        cands = []   # (part, tensor, instance bytes, instances held)
        for group in (PERSISTENT_TENSORS, PER_STEP_TENSORS):
            here = [name for name in group if TENSORS[name][0] == buf]
            for p in parts:
                sz = sizes[id(p)]
                for name in here:
                    if name in sz:
                        n = held if name in PER_STEP_TENSORS else 1
                        cands.append((p, name, sz[name], n))
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
                per_step = name in PER_STEP_TENSORS
                stride = round_up(nb, burst) if per_step else 0
                base = dram_next[0]
                dram_next[0] += stride * instances if per_step else round_up(nb, burst)
                p.tensors[name] = TensorPlace(False, stage_base, nb, base, stride)
                spilled_count[name] = spilled_count.get(name, 0) + 1
    for p in parts:   # canonical order of the tensor table
        p.tensors = {k: p.tensors[k] for k in TENSORS if k in p.tensors}



__all__ = ["TensorPlace", "PartPlacement", "Replica", "Placement", "fit_parts",
           "build_placement", "TENSORS", "PER_STEP_TENSORS", "ALWAYS_RESIDENT"]
