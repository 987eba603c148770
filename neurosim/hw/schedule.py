"""The training step's static schedule: each engine's tile order
(``docs/microarchitecture.md`` section 3.1).

Engines issue their tiles strictly in these orders; *when* each tile may begin is decided by
its dependencies (section 3.2) in :mod:`neurosim.hw.core`.
"""
from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("fp", "bp", "wg")


@dataclass(frozen=True)
class Tile:
    kind: str      # FP, LOSS, BP, WG, UPD
    layer: str     # "" for LOSS
    part: int      # part index within the layer (in its replica); -1 for LOSS
    b: int         # sample; -1 for UPD
    t: int         # time step; -1 for LOSS and UPD

    @property
    def key(self) -> tuple:
        return (self.kind, self.layer, self.part, self.b, self.t)


def core_parts(network, placement, core: int) -> list:
    """The core's parts in (layer index, part index) order."""
    order = {l.name: l.index for l in network.layers}
    return sorted(placement.parts_on_core(core), key=lambda p: (order[p.layer], p.index))


def replica_of_core(placement, core: int):
    for r in placement.replicas:
        if core in r.cores():
            return r
    return None


def engine_programs(network, placement, schedule_cfg, time_steps: int) -> dict:
    """{core: {"fp": [Tile...], "bp": [...], "wg": [...]}} for every core holding a part.
    The network's mode (section 3.6) decides which exist: inference has FP tiles only,
    input_gradient no WG or UPD."""
    time_major = bool(schedule_cfg.layer_pipeline)
    out_name = network.output_layer.name
    programs = {}
    cores = sorted({c for r in placement.replicas for c in r.cores()})
    for core in cores:
        rep = replica_of_core(placement, core)
        parts = core_parts(network, placement, core)
        desc = list(reversed(parts))
        holds_output = any(p.layer == out_name for p in parts)
        fp, bp, wg = [], [], []
        steps = range(time_steps)
        rsteps = range(time_steps - 1, -1, -1)
        for b in rep.samples:
            if time_major:
                fp += [Tile("FP", p.layer, p.index, b, t) for t in steps for p in parts]
                back = [(p, t) for t in rsteps for p in desc]
            else:
                fp += [Tile("FP", p.layer, p.index, b, t) for p in parts for t in steps]
                back = [(p, t) for p in desc for t in rsteps]
            if not network.backward:
                continue
            if holds_output:
                bp.append(Tile("LOSS", "", -1, b, -1))
            bp += [Tile("BP", p.layer, p.index, b, t) for p, t in back]
            if network.trains:
                wg += [Tile("WG", p.layer, p.index, b, t) for p, t in back]
        if rep.index == 0 and network.trains:
            wg += [Tile("UPD", p.layer, p.index, -1, -1) for p in parts]
        programs[core] = {"fp": fp, "bp": bp, "wg": wg}
    return programs


__all__ = ["Tile", "ENGINES", "engine_programs", "core_parts", "replica_of_core"]
