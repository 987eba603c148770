"""A core's SRAM banks and the arbitration between its engines
(``docs/microarchitecture.md`` section 3.4).

Each cycle every engine in an SRAM cycle requests its slots (buffer, bank); engines are
considered in the order ``rotate([FP, BP, WG], ptr)``; an engine is granted when each of its
slots still has a free port; a denied engine repeats the cycle and the stall is charged to the
first buffer whose bank was full; after a cycle with a denial, ``ptr`` moves past the
highest-priority granted engine.

:func:`cosim` replays the op streams of the tiles active on one core (from
:mod:`neurosim.hw.engines`) cycle by cycle, in numba, until one of them reaches a *milestone*
(its end, or the end of a BP tile's delta phase) or a given cycle. :class:`CoreArbiter` keeps
the committed state of a core's active tiles at a sync cycle and co-simulates lazily: with one
active tile nothing can conflict and the tile simply advances; likewise with several whose
ops touch no common buffer up to their next milestones (FP and WG, BP's delta passes and
FP: no port is ever denied then, so no pointer moves and each tile advances one op per
cycle, and their op streams are not even built); otherwise it predicts the earliest
milestone speculatively and re-syncs from the committed state when a new tile arrives
before it.
"""
from __future__ import annotations

import numpy as np

from ..jit import njit
from .engines import N_BUF

NO_LIMIT = np.int64(1) << np.int64(62)
_B24 = np.int64(0xFFFFFF)


@njit(cache=True)
def cosim(ops, pos, active, milestone, stalls, ptr, t0, t_until, kb0, kk0, kb1, kk1, banks,
          ports, used, stamp, km0, km1):
    """Co-simulate the active engines of one core from cycle ``t0``.

    ops: tuple of three int64 op-code arrays (FP, BP, WG; empty when idle); pos: next op of
    each; active: bool per engine; milestone: op index at which each engine's next milestone
    is reached; stalls: int64[3, N_BUF] stall cycles by buffer (updated); ptr: int64[1]
    priority pointer (updated); used/stamp: scratch [N_BUF, max banks] port counters;
    km0/km1: the op kinds' bank masks (:func:`~neurosim.hw.engines.kind_bank_masks`).
    Runs until the end of the first cycle in which an engine reaches its milestone, or until
    ``t_until``; returns that cycle (exclusive end).

    A cycle in which no two active engines' ops share a bank (most cycles: FP's weights
    and state, BP's gradients and WG's wgrad are different buffers) denies nothing and
    moves no pointer, so every active engine simply advances; only the other cycles go
    through the port counting."""
    t = t0
    while t < t_until:
        occupied = np.int64(0)
        shared = False
        for e in range(3):
            if active[e]:
                code = ops[e][pos[e]]
                if code >= 0:
                    kind = code >> 48
                    mask = km0[kind, code & _B24] | km1[kind, (code >> 24) & _B24]
                    if occupied & mask:
                        shared = True
                    occupied |= mask
        if not shared:
            t += 1
            reached = False
            for e in range(3):
                if active[e]:
                    pos[e] += 1
                    if pos[e] == milestone[e]:
                        reached = True
            if reached:
                return t
            continue
        p = ptr[0]
        denied = False
        first = -1
        for r in range(3):
            e = (p + r) % 3
            if not active[e]:
                continue
            code = ops[e][pos[e]]
            if code < 0:          # free cycle: never stalls
                pos[e] += 1
                continue
            kind = code >> 48
            bk = (code & _B24, (code >> 24) & _B24)
            bufs = (kb0[kind], kb1[kind])
            ks = (kk0[kind], kk1[kind])
            reason = -1
            for s in range(2):
                b = bufs[s]
                if b < 0 or reason >= 0:
                    continue
                nb = banks[b]
                bank = bk[s]
                for q in range(ks[s]):   # consecutive banks, wrapping (no division)
                    if stamp[b, bank] == t and used[b, bank] >= ports[b]:
                        reason = b
                        break
                    bank = bank + 1 if bank + 1 < nb else 0
            if reason >= 0:
                stalls[e, reason] += 1
                denied = True
                continue
            for s in range(2):
                b = bufs[s]
                if b < 0:
                    continue
                nb = banks[b]
                bank = bk[s]
                for q in range(ks[s]):
                    if stamp[b, bank] != t:
                        stamp[b, bank] = t
                        used[b, bank] = 0
                    used[b, bank] += 1
                    bank = bank + 1 if bank + 1 < nb else 0
            pos[e] += 1
            if first < 0:
                first = e
        if denied:
            ptr[0] = (first + 1) % 3
        t += 1
        for e in range(3):
            if active[e] and pos[e] == milestone[e]:
                return t
    return t


def _independent(active: list) -> bool:
    """No two of the active tiles touch a common buffer up to their next milestones: then
    no engine is ever denied a port (a denial needs another engine's use of the same bank
    in the same cycle), the priority pointer never moves and each tile advances one op per
    cycle -- what :func:`cosim` would find, without building or replaying the op streams."""
    seen = 0
    for t in active:
        b = t.buffers_until_milestone()
        if seen & b:
            return False
        seen |= b
    return True


class OpBuffers:
    """Arrays that running tiles' op codes are written into, returned when the tile ends and
    lent again (the smallest that fits): a fresh array per tile cost a page fault per 512
    ops (docs/performance.md, "Op codes in reused buffers, a leaner message path,
    dependencies met without events"). At most ``KEEP`` returned arrays of at most
    ``KEEP_BYTES`` in all are kept: that bounds the memory this adds and the search;
    neither changes a result."""

    KEEP = 64
    KEEP_BYTES = 64 << 20

    def __init__(self):
        self.free: list = []
        self.free_bytes = 0

    def take(self, n: int) -> np.ndarray:
        """An int64 array of at least ``n`` elements."""
        best = -1
        for i, buf in enumerate(self.free):
            if buf.shape[0] >= n and (best < 0 or buf.shape[0] < self.free[best].shape[0]):
                best = i
        if best < 0:
            return np.empty(n, np.int64)
        buf = self.free.pop(best)
        self.free_bytes -= buf.nbytes
        return buf

    def give(self, buf: np.ndarray) -> None:
        """Return an array from :meth:`take` (the oldest kept ones go beyond the bound)."""
        self.free.append(buf)
        self.free_bytes += buf.nbytes
        while self.free_bytes > self.KEEP_BYTES or len(self.free) > self.KEEP:
            self.free_bytes -= self.free.pop(0).nbytes


class TileExec:
    """A tile while it runs on an engine: its op stream position and stall counts."""

    __slots__ = ("engine", "length", "delta_len", "buffers", "pos", "ops", "stalls",
                 "milestone", "materialize", "on_delta", "on_end", "delta_end", "end", "start")

    def __init__(self, engine: int, length: int, delta_len: int, buffers: tuple, materialize,
                 on_delta, on_end):
        self.engine = engine
        self.length = length
        self.delta_len = delta_len   # == length unless a BP tile with a transposed phase
        self.buffers = buffers       # buffers its ops may touch before / from delta_len (masks)
        self.pos = 0
        self.ops = None
        self.stalls = np.zeros(N_BUF, np.int64)
        self.milestone = delta_len if delta_len < length else length
        self.materialize = materialize   # (buffer) -> int64 op codes of the whole tile,
                                         # written into the buffer
        self.on_delta = on_delta         # callbacks(cycle), may be None
        self.on_end = on_end
        self.delta_end = -1
        self.end = -1
        self.start = -1

    @property
    def bank_stalls(self) -> int:
        return int(self.stalls.sum())

    def buffers_until_milestone(self) -> int:
        """The buffers its ops may touch from ``pos`` to its next milestone (a milestone
        falls on ``delta_len``, so the phase cannot change in between)."""
        return self.buffers[0] if self.pos < self.delta_len else self.buffers[1]


class CoreArbiter:
    """Committed state of one core's active tiles at cycle ``sync``, advanced lazily.

    ``start(tile, now)`` adds a tile beginning at ``now``; ``sync_to(c)`` commits every cycle
    before ``c`` and fires the milestones reached at ``c``; ``predict()`` returns the cycle of
    the next milestone if nothing else starts (the DES schedules a wake-up there)."""

    def __init__(self, ep, op_buffers: OpBuffers | None = None):
        self.kind_tables = ep.kind_tables
        self.kind_masks = ep.kind_masks
        self.banks = ep.banks
        self.ports = ep.ports
        mb = int(ep.banks.max())
        self.used = np.zeros((N_BUF, mb), np.int64)
        self.stamp = np.full((N_BUF, mb), -1, np.int64)
        self.sync = 0
        self.active: list = [None, None, None]
        self.ptr = np.zeros(1, np.int64)
        self._spec = None          # (cycle, pos, stalls, ptr) of the last prediction
        self._empty = np.zeros(1, np.int64)
        self.cosim_cycles = 0      # cycles replayed by cosim (profiling)
        self.op_buffers = op_buffers if op_buffers is not None else OpBuffers()
        self._lent = [None, None, None]   # the op buffer of each engine's tile

    # ---------------------------------------------------------------- driving

    def start(self, tile: TileExec, now: int) -> None:
        self.sync_to(now)
        assert self.active[tile.engine] is None, "engine busy"
        tile.start = now
        self.active[tile.engine] = tile
        self._spec = None   # a prediction made without this tile is void

    def sync_to(self, c: int) -> None:
        if c < self.sync:
            raise AssertionError(f"arbiter sync back in time {c} < {self.sync}")
        if c == self.sync:
            return
        act = [t for t in self.active if t is not None]
        spec = self._spec
        if spec is not None and spec[0] == c:
            for t in act:
                t.pos = int(spec[1][t.engine])
                t.stalls[:] = spec[2][t.engine]
            self.ptr[:] = spec[3]
        elif _independent(act):
            for t in act:
                t.pos += c - self.sync
                assert t.pos <= t.milestone, "a milestone was skipped"
        else:
            stop = self._run(c, commit=True)
            assert stop == c, "a milestone was skipped"
        self._spec = None
        self.sync = c
        self._fire(c)

    def predict(self, horizon: int = int(NO_LIMIT)) -> int | None:
        """The cycle of the active tiles' next milestone, or ``horizon`` if none comes
        before it (co-simulated up to there only; a sync there resumes from that state).
        None: no tile active."""
        act = [t for t in self.active if t is not None]
        if not act:
            return None
        if _independent(act):
            return self.sync + min(t.milestone - t.pos for t in act)
        return self._run(min(max(horizon, self.sync + 1), int(NO_LIMIT)), commit=False)

    # ---------------------------------------------------------------- internals

    def _run(self, until: int, commit: bool) -> int:
        ops = []
        pos = np.zeros(3, np.int64)
        active = np.zeros(3, np.bool_)
        milestone = np.zeros(3, np.int64)
        stalls = np.zeros((3, N_BUF), np.int64)
        for e, t in enumerate(self.active):
            if t is None:
                ops.append(self._empty)
                continue
            if t.ops is None:
                self._lent[e] = self.op_buffers.take(t.length)
                t.ops = t.materialize(self._lent[e])
                assert len(t.ops) == t.length
            ops.append(t.ops)
            pos[e], active[e], milestone[e] = t.pos, True, t.milestone
            stalls[e] = t.stalls
        ptr = self.ptr.copy()
        self.stamp.fill(-1)   # port counters are per cycle; a re-run must start clean
        kb0, kk0, kb1, kk1 = self.kind_tables
        km0, km1 = self.kind_masks
        stop = cosim((ops[0], ops[1], ops[2]), pos, active, milestone, stalls, ptr, self.sync,
                     until, kb0, kk0, kb1, kk1, self.banks, self.ports, self.used, self.stamp,
                     km0, km1)
        self.cosim_cycles += stop - self.sync
        if commit:
            for e, t in enumerate(self.active):
                if t is not None:
                    t.pos = int(pos[e])
                    t.stalls[:] = stalls[e]
            self.ptr[:] = ptr
        else:
            self._spec = (stop, pos, stalls, ptr)
        return stop

    def _fire(self, c: int) -> None:
        for e in range(3):
            t = self.active[e]
            if t is None or t.pos != t.milestone:
                continue
            if t.delta_end < 0 and t.milestone == t.delta_len:
                t.delta_end = c
                if t.on_delta is not None:
                    t.on_delta(c)
                if t.delta_len < t.length:
                    t.milestone = t.length
                    continue
            t.end = c
            if t.ops is not None:
                t.ops = None
                self.op_buffers.give(self._lent[e])
                self._lent[e] = None
            self.active[e] = None
            t.on_end(c)
