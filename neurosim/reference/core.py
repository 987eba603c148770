"""A core of the reference model: three engines stepping through tile programs, one entry
per cycle, and the SRAM whose bank ports they compete for (``docs/microarchitecture.md``
sections 2 and 3.4).

Each cycle the chip (``chip.py``) tells the core which tiles start; :meth:`Core.step` then
arbitrates the SRAM cycle requests of the running engines and advances every engine that
was granted (or is in a free cycle) by one program entry.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

ENGINES = ("fp", "bp", "wg")  # index = arbitration index


@dataclass
class Running:
    """The tile an engine is executing."""

    tile: object               # the chip's tile object (key, ready, start, ...)
    program: object            # engines.Program
    pc: int = 0                # next program entry
    stalls: int = 0


class Core:
    def __init__(self, cfg, index: int):
        self.index = index
        self.ports = {buf: cfg.core.sram[buf].ports for buf in cfg.core.sram.keys()}
        self.ptr = 0                       # round-robin priority pointer
        self.running: list = [None, None, None]
        self.stall_counts = Counter()      # (component, "bank_conflict.<buffer>") -> cycles
        self.busy_cycles = [0, 0, 0]       # per engine: cycles it advanced (spec 10.1)
        self.stalled_cycles = [0, 0, 0]    # per engine: cycles a bank conflict held it

    def start(self, engine: int, tile, program, cycle: int) -> None:
        assert self.running[engine] is None
        r = Running(tile, program)
        self.running[engine] = r
        self._mark_delta(r, cycle)

    @staticmethod
    def _mark_delta(r: Running, cycle: int) -> None:
        if r.pc == r.program.delta_end_index:
            r.tile.delta_end = cycle

    def step(self, cycle: int) -> list:
        """One cycle: arbitrate, advance. Returns the engines whose tile finished its last
        program entry in this cycle (their tiles end at ``cycle + 1``)."""
        # Which engines need SRAM this cycle.
        requests = {}
        for e, r in enumerate(self.running):
            if r is not None and r.program.cycles[r.pc] is not None:
                requests[e] = r.program.cycles[r.pc]
        granted = set()
        denied = False
        highest_granted = None
        if requests:
            used = Counter()
            for e in [(self.ptr + i) % 3 for i in range(3)]:
                if e not in requests:
                    continue
                slots = requests[e]
                need = Counter(slots)
                full = [s for s in slots if used[s] + need[s] > self.ports[s[0]]]
                if full:
                    denied = True
                    r = self.running[e]
                    r.stalls += 1
                    self.stall_counts[(f"core{self.index}.{ENGINES[e]}",
                                       f"bank_conflict.{full[0][0]}")] += 1
                else:
                    used.update(need)
                    granted.add(e)
                    if highest_granted is None:
                        highest_granted = e
            if denied:
                if highest_granted is None:
                    raise RuntimeError("an SRAM cycle needs more ports of one bank than exist")
                self.ptr = (highest_granted + 1) % 3
        finished = []
        for e, r in enumerate(self.running):
            if r is None:
                continue
            if e in requests and e not in granted:
                self.stalled_cycles[e] += 1
                continue  # stalled: repeats the same SRAM cycle
            self.busy_cycles[e] += 1
            r.pc += 1
            self._mark_delta(r, cycle + 1)
            if r.pc == len(r.program.cycles):
                finished.append(e)
        return finished

    def finish(self, engine: int) -> Running:
        r = self.running[engine]
        self.running[engine] = None
        return r
