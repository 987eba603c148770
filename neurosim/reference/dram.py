"""DRAM of the reference model (``docs/microarchitecture.md`` sections 5.2 and 7): address
decoding, and per channel either the ideal model (fixed latency) or a cycle-stepped command
model with bank groups, read and write queues, FR-FCFS, open/closed page and per-rank
refresh.

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
    the order of ``dram.address_mapping`` read from its right end; the row takes the rest.
    The bank reported is the bank within its rank (group * banks per group + bank when the
    mapping has a ``Bg`` field)."""

    NAMES = {"ro": "row", "ba": "bank", "ra": "rank", "co": "column", "ch": "channel",
             "bg": "group"}

    def __init__(self, cfg):
        d = cfg.dram
        self.burst = d.burst_bytes
        m = d.address_mapping.lower()
        self.fields = [self.NAMES[m[i:i + 2]] for i in range(len(m) - 2, -1, -2)]
        has_group = "group" in self.fields
        self.per_group = d.banks // d.bank_groups if has_group else d.banks
        self.width = {"channel": log2(d.channels), "rank": log2(d.ranks),
                      "bank": log2(self.per_group), "group": log2(d.bank_groups),
                      "column": log2(d.row_bytes // d.burst_bytes)}

    def decode(self, byte_addr: int) -> dict:
        a = byte_addr // self.burst
        out = {"group": 0}
        for name in self.fields:
            if name == "row":
                out["row"] = a
                break
            w = self.width[name]
            out[name] = a % (1 << w)
            a //= 1 << w
        out["bank"] += out.pop("group") * self.per_group
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
    def __init__(self, rank: int, index: int, group: int):
        self.rank, self.index, self.group = rank, index, group
        self.row = None          # open row, or None when closed
        self.hits = 0            # RD/WR to the open row since its ACT
        self.last = {}           # command kind -> cycle it last issued on this bank


class CycleChannel:
    """``dram.model: cycle``: one channel, at most one command per cycle (spec section 7).

    Legality is checked by looking back: for each command kind that constrains the one
    wanted, the last time it issued on each bank in each relation to the wanted bank,
    plus the delay of the spec's table (7.4)."""

    RELATIONS = ("same bank", "same group", "other group", "other rank")

    def __init__(self, cfg, index: int):
        self.index = index
        t = dram_timing_cycles(cfg)
        self.t = t
        d = cfg.dram
        self.closed_page = d.page_policy == "closed"
        self.read_depth, self.write_depth = d.queue_depth, d.write_queue_depth
        self.cap = d.row_hit_cap
        self.ranks = d.ranks
        per_group = d.banks // d.bank_groups
        self.banks = {(r, b): Bank(r, b, b // per_group)
                      for r in range(d.ranks) for b in range(d.banks)}
        self.rank_acts = {r: [] for r in range(d.ranks)}     # ACT cycles per rank
        step = t["tREFI"] // d.ranks
        self.ref_period = step * d.ranks
        self.next_ref = {r: (r + 1) * step if step > 0 else None for r in range(d.ranks)}
        self.read_q, self.write_q = [], []   # oldest first
        self.fifo = deque()                  # arrived, waiting to join a queue
        self.arrivals = []                   # arrived this cycle, in order
        self.drain_left = 0
        self.commands = []                   # (cycle, command) for the counters
        self.needs = self._rules()

    def _rules(self) -> dict:
        """The table of 7.4 turned around: for each wanted command, the (earlier command,
        relation, delay) entries that constrain it."""
        t = self.t
        BL, RL, WL, RTRS = t["tBURST"], t["tCL"], t["tCWL"], t["tRTRS"]
        ccd_l, ccd_s = max(BL, t["tCCD_L"]), max(BL, t["tCCD"])
        rows = [
            ("act", "act", {"same bank": t["tRAS"] + t["tRP"], "same group": t["tRRD_L"],
                            "other group": t["tRRD"]}),
            ("act", "rd rda wr wra", {"same bank": t["tRCD"]}),
            ("act", "pre", {"same bank": t["tRAS"]}),
            ("pre", "act ref", {"same bank": t["tRP"]}),
            ("rd rda", "rd rda", {"same bank": ccd_l, "same group": ccd_l,
                                  "other group": ccd_s, "other rank": BL + RTRS}),
            ("rd rda", "wr wra", {rel: RL + BL - WL + RTRS for rel in self.RELATIONS}),
            ("rd", "pre", {"same bank": t["tRTP"]}),
            ("rda", "act", {"same bank": BL + t["tRTP"] + t["tRP"]}),
            ("rda", "ref", {"same bank": t["tRTP"] + t["tRP"]}),
            ("wr wra", "rd rda", {"same bank": WL + BL + t["tWTR_L"],
                                  "same group": WL + BL + t["tWTR_L"],
                                  "other group": WL + BL + t["tWTR"],
                                  "other rank": WL + BL + RTRS - RL}),
            ("wr wra", "wr wra", {"same bank": ccd_l, "same group": ccd_l,
                                  "other group": ccd_s, "other rank": BL}),
            ("wr", "pre", {"same bank": WL + BL + t["tWR"]}),
            ("wra", "act ref", {"same bank": WL + BL + t["tWR"] + t["tRP"]}),
            ("ref", "act ref", {"same bank": t["tRFC"], "same group": t["tRFC"],
                                "other group": t["tRFC"]}),
        ]
        needs = {}
        for earlier, later, delays in rows:
            for y in later.split():
                for x in earlier.split():
                    for rel, delay in delays.items():
                        needs.setdefault(y, []).append((x, rel, delay))
        return needs

    def _relation(self, a: Bank, b: Bank) -> str:
        if a.rank != b.rank:
            return "other rank"
        if a is b:
            return "same bank"
        return "same group" if a.group == b.group else "other group"

    def arrive(self, cycle: int, req: Request) -> None:
        self.arrivals.append(req)

    def busy(self) -> bool:
        return bool(self.read_q or self.write_q or self.fifo or self.arrivals)

    # ------------------------------------------------------------------ legality

    def _timing_ok(self, c: int, kind: str, bank: Bank) -> bool:
        for x, rel, delay in self.needs.get(kind, ()):
            for other in self.banks.values():
                if x in other.last and self._relation(other, bank) == rel \
                        and c < other.last[x] + delay:
                    return False
        return True

    def _legal(self, c: int, kind: str, bank: Bank) -> bool:
        if kind == "act":
            recent = [a for a in self.rank_acts[bank.rank] if a > c - self.t["tFAW"]]
            if len(recent) >= 4:
                return False
        return self._timing_ok(c, kind, bank)

    # ------------------------------------------------------------------ commands

    def _record(self, c: int, kind: str, bank: Bank) -> None:
        bank.last[kind] = c
        counted = {"rda": ("rd", "pre"), "wra": ("wr", "pre")}.get(kind, (kind,))
        for name in counted:
            self.commands.append((c, name))

    def _refresh(self, c: int, rank: int) -> bool:
        """Step 1 for the refreshing rank; True if a command issued."""
        mine = [self.banks[(rank, b)] for b in range(len(self.banks) // self.ranks)]
        open_banks = [b for b in mine if b.row is not None]
        for bank in open_banks:
            if self._legal(c, "pre", bank):
                bank.row, bank.hits = None, 0
                self._record(c, "pre", bank)
                return True
        if open_banks or not all(self._legal(c, "ref", b) for b in mine):
            return False
        for bank in mine:   # REF is a rank command: it counts as issued on every bank
            bank.last["ref"] = c
        self.commands.append((c, "ref"))
        self.next_ref[rank] += self.ref_period
        return True

    def _older_blocks_precharge(self, queue: list, req: Request, bank: Bank) -> bool:
        pos = queue.index(req)
        if any((o.rank, o.bank) == (req.rank, req.bank) for o in queue[:pos]):
            return True
        if bank.hits >= self.cap:
            return False
        return any((o.rank, o.bank, o.row) == (req.rank, req.bank, bank.row)
                   for o in queue[pos + 1:])

    # ------------------------------------------------------------------ one cycle

    def step(self, c: int) -> None:
        self._decide(c)
        # 5. Arrivals of this cycle, then the FIFO's head while its queue has room.
        self.fifo.extend(self.arrivals)
        self.arrivals = []
        while self.fifo:
            head = self.fifo[0]
            queue, depth = ((self.write_q, self.write_depth) if head.write
                            else (self.read_q, self.read_depth))
            if len(queue) >= depth:
                break
            queue.append(self.fifo.popleft())

    def _decide(self, c: int) -> None:
        # 1. Refresh of the rank whose refresh is due earliest.
        due = [(when, r) for r, when in self.next_ref.items() if when is not None and when <= c]
        refreshing = min(due)[1] if due else None
        if refreshing is not None and self._refresh(c, refreshing):
            return
        # 2. Write draining.
        if self.drain_left == 0 and self.write_q and (
                len(self.write_q) >= self.write_depth or not self.read_q):
            self.drain_left = len(self.write_q)
        # 3. FR-FCFS on the served queue; while draining, on the read queue if no write
        # can go.
        if self.drain_left and self._serve(c, self.write_q, refreshing, set()):
            return
        # (the drain's banks are not taken away by the reads' ACT or PRE)
        kept = {(w.rank, w.bank) for w in self.write_q} if self.drain_left else set()
        self._serve(c, self.read_q, refreshing, kept)

    def _serve(self, c: int, queue: list, refreshing, kept: set) -> bool:
        candidates = [r for r in queue if r.rank != refreshing]
        # the oldest legal column command ...
        for req in candidates:
            bank = self.banks[(req.rank, req.bank)]
            kind = ("wr" if req.write else "rd") + ("a" if self.closed_page else "")
            if bank.row == req.row and self._legal(c, kind, bank):
                self._column(c, req, bank, kind, queue)
                return True
        # ... else the oldest legal ACT or PRE.
        for req in candidates:
            if (req.rank, req.bank) in kept:
                continue
            bank = self.banks[(req.rank, req.bank)]
            if bank.row is None:
                if self._legal(c, "act", bank):
                    req.outcome = req.outcome or "miss"
                    bank.row, bank.hits = req.row, 0
                    self.rank_acts[req.rank].append(c)
                    self._record(c, "act", bank)
                    return True
            elif bank.row != req.row:
                if self._legal(c, "pre", bank) \
                        and not self._older_blocks_precharge(queue, req, bank):
                    req.outcome = req.outcome or "conflict"
                    bank.row, bank.hits = None, 0
                    self._record(c, "pre", bank)
                    return True
        return False

    def _column(self, c: int, req: Request, bank: Bank, kind: str, queue: list) -> None:
        t = self.t
        req.outcome = req.outcome or "hit"
        self._record(c, kind, bank)
        queue.remove(req)
        if req.write:
            self.drain_left -= 1
        if self.closed_page:
            bank.row, bank.hits = None, 0
        else:
            bank.hits += 1
        req.finish(c + (t["tCWL"] if req.write else t["tCL"]) + t["tBURST"])

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
