"""DRAM of the reference model (``docs/microarchitecture.md`` sections 5.2 and 7): address
decoding, and per channel either the ideal model (fixed latency) or a cycle-stepped command
model with banks, a request queue, FR-FCFS, open/closed page and refresh.

A :class:`Request` joins its channel at the cycle it is available at the controller
(:meth:`arrive`); when its completion cycle is known, ``req.complete`` is set and
``req.on_complete(req)`` is called.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from ..arch import dram_timing_cycles

NEVER = -(10 ** 12)  # "long ago": any timing constraint from it is met


def log2(n: int) -> int:
    return n.bit_length() - 1


class AddressMap:
    """Burst index ``addr div burst_bytes`` cut into fields, least significant first, in
    the order of ``dram.address_mapping`` read from its right end; the row takes the rest."""

    NAMES = {"Ro": "row", "Ba": "bank", "Ra": "rank", "Co": "column", "Ch": "channel"}

    def __init__(self, cfg):
        d = cfg.dram
        self.burst = d.burst_bytes
        m = d.address_mapping
        self.fields = [self.NAMES[m[i:i + 2]] for i in range(len(m) - 2, -1, -2)]
        self.width = {"channel": log2(d.channels), "rank": log2(d.ranks),
                      "bank": log2(d.banks), "column": log2(d.row_bytes // d.burst_bytes)}

    def decode(self, byte_addr: int) -> dict:
        a = byte_addr // self.burst
        out = {}
        for name in self.fields:
            if name == "row":
                out["row"] = a
                break
            w = self.width[name]
            out[name] = a & ((1 << w) - 1)
            a >>= w
        return out


@dataclass
class Request:
    channel: int
    rank: int
    bank: int
    row: int
    write: bool
    tensor: str              # DRAM traffic kind
    address: int
    arrive: int = -1
    complete: int | None = None
    outcome: str | None = None
    on_complete: object = None
    seq: int = 0             # arrival order at its channel

    def finish(self, cycle: int) -> None:
        self.complete = cycle
        if self.on_complete is not None:
            self.on_complete(self)


class IdealChannel:
    """``dram.model: ideal``: every request completes ``dram.ideal_latency`` cycles after
    it reaches the controller."""

    def __init__(self, cfg, index: int):
        self.index = index
        self.latency = cfg.dram.ideal_latency
        self.commands = []

    def arrive(self, cycle: int, req: Request) -> None:
        req.outcome = "ideal"
        req.finish(cycle + self.latency)

    def step(self, cycle: int) -> None:
        pass

    def busy(self) -> bool:
        return False


class Bank:
    def __init__(self):
        self.row = None          # open row, or None when closed
        self.act = NEVER         # cycle of the last ACT
        self.act_ok = NEVER      # earliest ACT after the last precharge (PRE + tRP)
        self.last_rd = NEVER
        self.last_wr = NEVER


class CycleChannel:
    """``dram.model: cycle``: one channel, at most one command per cycle (spec section 7)."""

    def __init__(self, cfg, index: int):
        self.index = index
        self.t = dram_timing_cycles(cfg)
        d = cfg.dram
        self.closed_page = d.page_policy == "closed"
        self.depth = d.queue_depth
        self.ranks = d.ranks
        self.n_banks = d.banks
        self.banks = {(r, b): Bank() for r in range(d.ranks) for b in range(d.banks)}
        self.rank_acts = {r: [] for r in range(d.ranks)}     # ACT cycles per rank
        self.rank_last_wr = {r: NEVER for r in range(d.ranks)}
        self.last_col = NEVER
        self.bus_free = 0               # end of the last data burst on the bus
        self.queue = []                 # requests in arrival order (oldest first)
        self.waiting = deque()          # arrived beyond queue_depth
        self.arrivals = []              # arrived this cycle, in order
        self.next_ref = self.t["tREFI"] if self.t["tREFI"] > 0 else float("inf")  # 0: off
        self.ref_block = NEVER          # ACT blocked until this cycle (refresh)
        self.commands = []              # (cycle, command) for the counters

    def arrive(self, cycle: int, req: Request) -> None:
        self.arrivals.append(req)

    def busy(self) -> bool:
        return bool(self.queue or self.waiting or self.arrivals)

    # ------------------------------------------------------------------ legality

    def _pre_ok_at(self, bank: Bank) -> int:
        t = self.t
        return max(bank.act + t["tRAS"], bank.last_rd + t["tRTP"],
                   bank.last_wr + t["tCWL"] + t["tBURST"] + t["tWR"])

    def _act_legal(self, c: int, rank: int, bank: Bank) -> bool:
        t = self.t
        acts = self.rank_acts[rank]
        return (bank.row is None and c >= bank.act_ok
                and c >= bank.act + t["tRAS"] + t["tRP"]
                and c >= (acts[-1] if acts else NEVER) + t["tRRD"]
                and sum(1 for a in acts if a > c - t["tFAW"]) < 4
                and c >= self.ref_block)

    def _pre_legal(self, c: int, bank: Bank) -> bool:
        return bank.row is not None and c >= self._pre_ok_at(bank)

    def _col_legal(self, c: int, req: Request, bank: Bank) -> bool:
        t = self.t
        if bank.row != req.row or c < bank.act + t["tRCD"] or c < self.last_col + t["tCCD"]:
            return False
        lat = t["tCWL"] if req.write else t["tCL"]
        if c + lat < self.bus_free:  # data bursts are in issue order on the bus
            return False
        if not req.write and c < self.rank_last_wr[req.rank] + t["tCWL"] + t["tBURST"] + t["tWTR"]:
            return False
        return True

    # ------------------------------------------------------------------ commands

    def _act(self, c: int, rank: int, bank: Bank, row: int) -> None:
        bank.row = row
        bank.act = c
        self.rank_acts[rank].append(c)
        self.commands.append((c, "act"))

    def _pre(self, c: int, bank: Bank) -> None:
        bank.row = None
        bank.act_ok = c + self.t["tRP"]
        self.commands.append((c, "pre"))

    def _column(self, c: int, req: Request, bank: Bank) -> None:
        t = self.t
        lat = t["tCWL"] if req.write else t["tCL"]
        self.bus_free = c + lat + t["tBURST"]
        self.last_col = c
        if req.write:
            bank.last_wr = c
            self.rank_last_wr[req.rank] = c
        else:
            bank.last_rd = c
        self.commands.append((c, "wr" if req.write else "rd"))
        self.queue.remove(req)
        if self.closed_page:  # auto-precharge at the earliest legal cycle
            bank.row = None
            bank.act_ok = self._pre_ok_at(bank) + t["tRP"]
            self.commands.append((c, "pre"))
        req.finish(c + lat + t["tBURST"])

    # ------------------------------------------------------------------ one cycle

    def step(self, c: int) -> None:
        # 1. Arrivals join the queue (in order) while it has room.
        self.waiting.extend(self.arrivals)
        self.arrivals = []
        while self.waiting and len(self.queue) < self.depth:
            self.queue.append(self.waiting.popleft())
        # 2. Refresh: precharge every open bank, then REF, blocking all banks for tRFC.
        if c >= self.next_ref:
            open_banks = [k for k in sorted(self.banks) if self.banks[k].row is not None]
            if open_banks:
                for k in open_banks:
                    if self._pre_legal(c, self.banks[k]):
                        self._pre(c, self.banks[k])
                        break
            elif c >= self.ref_block and all(c >= b.act_ok for b in self.banks.values()):
                # every bank ACT-ready: its tRP passed, and the previous REF's tRFC
                self.commands.append((c, "ref"))
                self.ref_block = c + self.t["tRFC"]
                self.next_ref += self.t["tREFI"]
            return
        # 3. FR-FCFS: the oldest legal row hit; else the oldest legal ACT or PRE.
        for req in self.queue:
            bank = self.banks[(req.rank, req.bank)]
            if bank.row == req.row:
                if self._col_legal(c, req, bank):
                    if req.outcome is None:
                        req.outcome = "hit"
                    self._column(c, req, bank)
                    return
        for req in self.queue:
            bank = self.banks[(req.rank, req.bank)]
            if bank.row is None:
                if self._act_legal(c, req.rank, bank):
                    if req.outcome is None:
                        req.outcome = "miss"
                    self._act(c, req.rank, bank, req.row)
                    return
            elif bank.row != req.row and not self._older_same_bank(req):
                if self._pre_legal(c, bank):
                    if req.outcome is None:
                        req.outcome = "conflict"
                    self._pre(c, bank)
                    return

    def _older_same_bank(self, req: Request) -> bool:
        """An older queued request targets req's bank: req may not close its row."""
        for older in self.queue:
            if older is req:
                return False
            if (older.rank, older.bank) == (req.rank, req.bank):
                return True
        return False

    def command_counts(self, before: int) -> Counter:
        return Counter(cmd for cyc, cmd in self.commands if cyc < before)


class Dram:
    """All channels, and which controller (mesh node) owns each."""

    def __init__(self, cfg):
        d = cfg.dram
        self.amap = AddressMap(cfg)
        kind = CycleChannel if d.model == "cycle" else IdealChannel
        self.channels = [kind(cfg, ch) for ch in range(d.channels)]
        nodes = cfg.get("chip.dram_nodes")
        cols = cfg.chip.mesh.cols
        self.controller_node = [nodes[ch % len(nodes)][1] * cols + nodes[ch % len(nodes)][0]
                                for ch in range(d.channels)]
        self.cycle_model = d.model == "cycle"

    def request(self, byte_addr: int, write: bool, tensor: str) -> Request:
        f = self.amap.decode(byte_addr)
        return Request(f["channel"], f["rank"], f["bank"], f["row"], write, tensor, byte_addr)

    def busy(self) -> bool:
        return any(ch.busy() for ch in self.channels)
