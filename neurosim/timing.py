"""What a timing model reports: plain records, shared by the event-driven model and the
cycle-stepped reference so the differential test can compare them field by field.

These are data only (no timing logic lives here). Cycle numbers follow
``docs/microarchitecture.md``: a tile occupies ``[start, end)``; a message is *available*
at the cycle after its last tail flit is ejected.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

TILE_KINDS = ("FP", "LOSS", "BP", "WG", "UPD")
ENGINE_OF = {"FP": "fp", "LOSS": "bp", "BP": "bp", "WG": "wg", "UPD": "wg"}
TENSOR_KINDS = ("weights", "input", "spikes", "state", "gradients", "wgrad", "optimizer")
# Where an engine's cycles went (docs/microarchitecture.md 10.1): every cycle of the step of
# every engine is in exactly one class; ``TileRecord.wait`` is one of the three waits.
CYCLE_CLASSES = ("busy", "bank_stall", "wait_noc", "wait_dram", "wait_dep", "idle")
# The order that breaks a tie between dependencies met in the same cycle (10.1).
WAIT_CLASSES = ("wait_dram", "wait_noc", "wait_dep")
# Then by how the dependency was met, then by the smallest producing tile key.
WAIT_HOW = ("store", "msg", "delta", "end")
MESSAGE_KINDS = ("spike", "grad", "wgrad", "weights", "dram_read_req", "dram_read_resp",
                 "dram_write")


@dataclass(frozen=True)
class TileRecord:
    kind: str            # FP, LOSS, BP, WG, UPD
    layer: str           # layer name ("" for LOSS)
    part: int            # part index within the layer (-1 for LOSS)
    b: int               # sample (-1 for UPD)
    t: int               # time step (-1 for LOSS and UPD)
    core: int
    ready: int           # dependencies met and engine free; DRAM loads issued here
    start: int           # compute starts (loads available)
    end: int             # compute ends (exclusive)
    delta_end: int = -1  # BP only: end of the delta phase
    bank_stalls: int = 0  # cycles lost to bank conflicts inside [start, end)
    # The dependency met last, when the tile waited for one after its engine was free
    # (ready > end of the engine's previous tile, spec 10.1): its class (one of
    # WAIT_CLASSES) and (how, producing tile key), how = "end" | "delta" | "msg" | "store"
    # (a tile end, a BP delta-phase end, a message the tile sent, a DRAM store it issued).
    wait: str = ""
    wait_on: tuple = ()

    @property
    def engine(self) -> str:
        return ENGINE_OF[self.kind]

    @property
    def key(self) -> tuple:
        return (self.kind, self.layer, self.part, self.b, self.t)


@dataclass(frozen=True)
class MessageRecord:
    kind: str             # one of MESSAGE_KINDS
    src: tuple            # (node, port): port 0 = core, 5 = DRAM controller
    dst: tuple
    send: int             # cycle enqueued at the source NI
    available: int        # cycle usable at the destination
    payload_bits: int
    packets: int
    flits: int
    tag: tuple = ()       # what it carries, e.g. ("spike", layer, part, b, t, dst_core)


@dataclass(frozen=True)
class DramRecord:
    channel: int
    tensor: str           # one of TENSOR_KINDS
    write: bool
    address: int          # byte address of the burst
    arrive: int           # cycle the request joined the controller
    complete: int         # cycle its data burst ended
    outcome: str          # "hit", "miss" or "conflict" ("ideal" in the ideal model)


@dataclass
class TimingResult:
    """Everything a timing model produced for one training step."""

    total_cycles: int
    tiles: list = field(default_factory=list)       # list[TileRecord]
    messages: list = field(default_factory=list)    # list[MessageRecord]
    dram: list = field(default_factory=list)        # list[DramRecord]
    # Event counts for energy and utilisation, keyed by component path and action, e.g.
    # ("core3.fp", "add_ops"), ("core3.sram.weights", "read_words"), ("noc", "link_flits"),
    # ("dram.ch0", "act"). See docs/microarchitecture.md section 8.
    counters: Counter = field(default_factory=Counter)
    # Free-form extra per-model data (e.g. NoC per-link counters, latency histograms).
    extra: dict = field(default_factory=dict)

    def tiles_by_key(self) -> dict:
        return {r.key: r for r in self.tiles}

    def tiles_by_engine(self) -> dict:
        """(core, engine) -> that engine's tiles in the order they started."""
        out: dict = {}
        for r in self.tiles:
            out.setdefault((r.core, r.engine), []).append(r)
        for rs in out.values():
            rs.sort(key=lambda r: r.start)
        return out
