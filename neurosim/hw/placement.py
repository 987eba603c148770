"""Mapping and placement: which core computes which slice of which layer, and where each
tensor lives (SRAM resident or spilled to DRAM, with its addresses).

This is data only. The mapper (:mod:`neurosim.hw.mapping`) produces it; the timing models
(event-driven and reference) consume it as an input, like the trace. See
``docs/microarchitecture.md`` sections 1.1 and 5.1.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# tensor name -> (SRAM buffer, DRAM traffic kind)
TENSORS = {
    "W": ("weights", "weights"),
    "GW": ("wgrad", "wgrad"),
    "M": ("wgrad", "optimizer"),
    "WM": ("wgrad", "weights"),      # FP32 master weights (core.wg.master_weights)
    "U": ("state", "state"),
    "saved": ("state", "state"),
    "saved_in": ("spikes", "spikes"),
    "GU": ("gradients", "gradients"),
    "GS": ("gradients", "gradients"),
}
PER_STEP_TENSORS = ("saved", "saved_in")  # one instance per (b, t)
ALWAYS_RESIDENT = ("GU", "GS")


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
        return asdict(self)

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
