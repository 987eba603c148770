"""The chip: a SimPy discrete-event model of all cores, their dependencies and the memory
system (``docs/microarchitecture.md`` sections 3-5).

Time is the chip cycle. SimPy events are coarse: a tile's dependencies becoming true, its
start, the milestones the cores' SRAM arbiters predict (BP delta-phase end, tile end), and
messages / DRAM transfers becoming available. Within a cycle the model keeps the spec's order:

1. availability first -- every message, DRAM transfer and tile end due at cycle ``c`` is
   delivered at ``c`` (normal SimPy priority), so a tile whose last dependency is met at ``c``
   is ready at ``c``;
2. then, once nothing else can happen at ``c`` (a *late* SimPy event, priority 2), the
   packets the cores enqueued at ``c`` are handed to the memory system in NI order (core;
   engine FP, BP, WG; a tile's stores and messages before the next tile's loads) and each
   core's arbiter predicts its next milestone.

The memory system (:mod:`neurosim.memsys`) is co-simulated lazily: after posting, the model
asks ``next_event()`` and wakes there to ``advance()`` it; a cycle-level one is given the
model's next event as a final horizon (nothing can be posted before it), so it never
simulates ahead speculatively.
"""
from __future__ import annotations

import time as _time
from collections import Counter
from operator import itemgetter

import simpy
from simpy.events import Event

from ..arch import SRAM_BUFFERS, check_arch
from ..counters import engine_path, sram_path
from ..counters import key as counter_key
from ..mapping.footprint import MODE_TENSORS
from ..timing import WAIT_CLASSES, WAIT_HOW, TimingResult
from . import engines as E
from .core import Core, PartInfo, TileCoster, tensor_transfer
from ..memsys.cycle import make_memory_system
from ..memsys.topology import PORT_CORE
from ..resources import young_collections_only
from .schedule import ENGINES, engine_programs, replica_of_core
from .sram import CoreArbiter, OpBuffers

LATE = 2  # SimPy priority after URGENT (0) and NORMAL (1): end-of-cycle work
# First horizon (cycles) of an SRAM arbiter's prediction while an engine of its core waits
# for loads (ChipModel._predict): about one load through the ideal memory system (NoC and
# DRAM ideal latencies, 10 + 50 cycles by default, and the transfer). A speed setting only:
# results do not depend on it (tests/test_chip.py).
PREDICT_SPAN = 128
_ORDER = itemgetter(0)   # a post's NI order key (ChipModel._post)


class _Late(Event):
    """An event processed after every normal event of the current cycle."""

    def __init__(self, env, callback):
        super().__init__(env)
        self._ok = True
        self._value = None
        self.callbacks.append(callback)
        env.schedule(self, LATE)


def check_placement(arch, network, placement, batch: int) -> None:
    """The placement must cover every layer in every replica, on existing cores."""
    R = len(placement.replicas)
    if R < 1:
        raise ValueError("placement has no replica")
    if placement.input_dram_addr % arch.dram.burst_bytes or \
            placement.input_frame_stride % arch.dram.burst_bytes:
        raise ValueError("input frames must start at multiples of dram.burst_bytes")
    seen: dict = {}
    ref = None
    for r in placement.replicas:
        want = [b for b in range(batch) if b % R == r.index]
        if not want:
            raise ValueError(f"replica {r.index} has no sample (more replicas than batch)")
        if list(r.samples) != want:
            raise ValueError(f"replica {r.index} samples {r.samples}, expected {want}")
        for c in r.cores():
            if c in seen and seen[c] != r.index:
                raise ValueError(f"core {c} used by replicas {seen[c]} and {r.index}")
            seen[c] = r.index
            if not 0 <= c < arch.chip.cores:
                raise ValueError(f"core {c} outside the chip's {arch.chip.cores} cores")
        shape = {}
        for l in network.layers:
            parts = r.layers.get(l.name)
            if not parts:
                raise ValueError(f"layer {l.name} has no part in replica {r.index}")
            total = l.out_channels if l.kind == "conv" else l.n_out
            lo = 0
            for i, p in enumerate(parts):
                if p.index != i or p.out_lo != lo or p.out_hi <= p.out_lo:
                    raise ValueError(f"parts of {l.name} must tile its outputs in order")
                lo = p.out_hi
            if lo != total:
                raise ValueError(f"parts of {l.name} cover {lo} of {total} outputs")
            shape[l.name] = [(p.out_lo, p.out_hi) for p in parts]
        if len(r.layers[network.output_layer.name]) != 1:
            raise ValueError("the output layer must have one part per replica")
        burst = arch.dram.burst_bytes
        for parts in r.layers.values():
            for p in parts:
                for name, tp in p.tensors.items():
                    if not tp.resident and (tp.dram_addr % burst or tp.stride % burst):
                        raise ValueError(f"{p.layer}[{p.index}].{name}: DRAM address and "
                                         f"stride must be multiples of {burst} bytes")
        if ref is None:
            ref = shape
        elif shape != ref:
            raise ValueError("data-parallel replicas must split layers identically")


class ChipModel:
    def __init__(self, arch, network, trace, placement, momentum: bool = False, progress=None):
        self.arch = arch
        self.net = network
        self.trace = trace
        self.placement = placement
        self.T = trace.time_steps
        self.B = trace.batch
        self.R = len(placement.replicas)
        self.momentum = momentum
        self.sched = arch.schedule
        check_placement(arch, network, placement, self.B)
        check_arch(arch)   # every chunk fits its buffer's banks (else never granted), ...
        self.ep = E.EngineParams(arch)
        self.env = simpy.Environment()
        self.memsys = make_memory_system(arch)
        self.coster = TileCoster(arch, network, trace, self.ep, self.R, momentum)
        # parts: (replica, layer, part index) -> PartInfo
        self.parts: dict = {}
        self.layer_parts: list = []   # per replica: layer -> [PartInfo]
        for r in placement.replicas:
            per = {name: [] for name in r.layers}
            for name, pls in r.layers.items():
                for pl in pls:
                    pi = PartInfo(network, pl, r.index, r.layers)
                    self.parts[(r.index, name, pl.index)] = pi
                    per[name].append(pi)
            self.layer_parts.append(per)
        self.programs = engine_programs(network, placement, self.sched, self.T)
        self.S = self.sched.samples_in_flight if self.sched.fp_bp_overlap else 1
        # bookkeeping. A dependency (a tile's end, a message, a store, ...; by key) is met
        # once fired: ``_met`` holds its cycle. Only a tile that waits on one not met yet
        # gets a SimPy event for it, triggered when it is fired (most messages and stores
        # complete before anyone asks: an event for each held 30 % of a spilling step's
        # heap, docs/performance.md "Op codes in reused buffers, a leaner message path,
        # dependencies met without events").
        self._met: dict = {}
        self._waited: dict = {}     # key -> event of the tiles waiting on it
        self._core_ep = [(c, PORT_CORE) for c in range(self.arch.chip.cores)]
        self._posts: list = []
        self._post_seq = 0
        self._late_pending = False
        self._dirty: set = set()
        self._waiters: dict = {}    # handle id -> callback at its delivery
        self._meets: dict = {}      # handle id -> dependency key its delivery meets
        self._quiet: dict = {}      # key -> in-flight handles meeting it that the memory
        #                             system need not wake the chip for (no tile waits yet)
        self._ms_wake = None
        self._arb_wake: dict = {}
        self._arb_token: dict = {}
        self._loading: Counter = Counter()   # core -> its engines waiting for their loads
        self._predict_span: dict = {}        # core -> horizon of its next prediction
        self.records: list = []
        self.counters: Counter = Counter()
        self._sram_keys: dict = {}
        self.tile_counters: dict = {}
        self.tile_stalls: dict = {}
        self.last_event = 0
        self._pending_bpwg: Counter = Counter()
        self._bpwg_last: dict = {}   # (core, b) -> (end, key) of its last BP/WG tile to end
        self._engine_end: dict = {}  # (core, engine) -> end of its last tile so far
        self._first_fp: set = set()
        self._last_wg: set = set()
        for core, progs in self.programs.items():
            seen_b = set()
            for tile in progs["fp"]:
                if tile.b not in seen_b:
                    seen_b.add(tile.b)
                    self._first_fp.add((core, tile.key))
            for tile in progs["bp"] + progs["wg"]:
                if tile.kind != "UPD":
                    self._pending_bpwg[(core, tile.b)] += 1
            last = {}
            for tile in progs["wg"]:
                if tile.kind == "WG":
                    last[(tile.layer, tile.part)] = tile.key
            self._last_wg.update(last.values())
        self.total_tiles = sum(len(p) for progs in self.programs.values() for p in progs.values())
        self.done_tiles = 0
        self.progress = progress
        op_buffers = OpBuffers()   # shared by the cores' arbiters
        self.cores = {c: Core(self, c, progs, CoreArbiter(self.ep, op_buffers))
                      for c, progs in self.programs.items()}

    def _sram_key(self, core: int, buf: str, action: str) -> tuple:
        """The counter key of an SRAM buffer's action (looked up once)."""
        got = self._sram_keys.get((core, buf, action))
        if got is None:
            got = self._sram_keys[(core, buf, action)] = counter_key(sram_path(core, buf),
                                                                      action)
        return got

    # ---------------------------------------------------------------- events

    def pending(self, key) -> Event | None:
        """The event to wait on for dependency ``key``, or None when it is met (fired, and
        its event, if a tile waits on it, processed)."""
        e = self._waited.get(key)
        if e is None:
            if key in self._met:
                return None
            e = self._waited[key] = self.env.event()
            for h in self._quiet.pop(key, ()):   # now someone waits on their delivery
                self.memsys.set_wakes(h, True)
        return None if e.processed else e

    def unmet(self, deps: list) -> list:
        """The keys of ``deps`` a tile may still wait on, in order: ``pending`` is None for
        the others now and later (a key met with no event made for it never gets one)."""
        met, waited = self._met, self._waited
        return [k for k in deps if k not in met or k in waited]

    def fire(self, key, at: int | None = None) -> None:
        """Dependency ``key`` is met at cycle ``at`` (now if None; the first time only)."""
        if at is None:
            at = self.env.now
        if key not in self._met:
            self._met[key] = at
            self._quiet.pop(key, None)         # (no tile waits on it from now on)
            e = self._waited.get(key)
            if e is not None:
                e.succeed(at)
        if at > self.last_event:     # (not max(): called for every message)
            self.last_event = at

    def _meets_on_delivery(self, h, key) -> None:
        """Delivering ``h`` meets dependency ``key``. Unless a tile waits on it already, the
        memory system need not wake the chip for it (most messages and stores complete
        before anyone asks): it passes such deliveries on its way to the chip's next event
        and hands them over (``_settle``)."""
        self._meets[h.id] = key
        if key in self._waited:
            return
        if self.memsys.set_wakes(h, False) and key not in self._met:
            self._quiet.setdefault(key, []).append(h)

    def part_of(self, tile) -> PartInfo | None:
        if tile.kind == "LOSS":
            return None
        r = 0 if tile.kind == "UPD" else tile.b % self.R
        return self.parts[(r, tile.layer, tile.part)]

    # ---------------------------------------------------------------- dependencies (3.2)

    def dependencies(self, core: int, tile) -> list:
        """Keys of the dependencies of ``tile`` on ``core`` (spec 3.2), in waiting order."""
        T = self.T
        kind = tile.kind
        b, t = tile.b, tile.t
        if kind == "LOSS":
            out = self.layer_parts[b % self.R][self.net.output_layer.name][0]
            return [("FP", out.name, out.index, b, T - 1)]
        pi = self.part_of(tile)
        lp = self.layer_parts[pi.replica]
        deps = []
        if kind == "FP":
            if (core, tile.key) in self._first_fp and b - self.S * self.R >= 0 \
                    and self.net.backward:   # inference keeps no state: no admission (3.6)
                deps.append(("BPWG_END", core, b - self.S * self.R))
            if not self.sched.layer_pipeline and t == 0:
                deps += [("FP", m, q.index, b, tt) for m in pi.producers for q in lp[m]
                         for tt in range(T)]
            deps += [("spike", m, q.index, b, t, pi.name, pi.core) for m in pi.producers
                     for q in lp[m]]
        elif kind == "BP":
            if pi.is_output:
                deps.append(("LOSS", "", -1, b, -1))
            else:
                deps += [("grad", m, q.index, b, t, pi.name, pi.index) for m in pi.consumers
                         for q in lp[m]]
            if pi.spilled("saved"):
                deps.append(("store", "saved", pi.name, pi.index, b, t))
            if not self.sched.layer_pipeline and t == T - 1:
                deps += [("BP", m, q.index, b, tt) for m in pi.consumers for q in lp[m]
                         for tt in range(T)]
        elif kind == "WG":
            k = "BPD" if self.sched.bp_wg_overlap else "BP"
            deps.append((k, pi.name, pi.index, b, t))
            if pi.spilled("saved_in"):
                deps.append(("store", "saved_in", pi.name, pi.index, b, t))
        elif kind == "UPD":
            deps += [("wgrad", pi.name, pi.index, r) for r in range(1, self.R)]
        return deps

    def last_dependency(self, core: int, deps: list, ready: int) -> tuple:
        """(class, (how, producing tile key)) of the dependency met last, at ``ready``
        (spec 10.1; ties: WAIT_CLASSES order, WAIT_HOW order, the smallest key)."""
        best = None
        for key in deps:
            if self._met[key] == ready:
                cls, on = self._dependency_source(core, key)
                cand = (WAIT_CLASSES.index(cls), WAIT_HOW.index(on[0]), on[1])
                if best is None or cand < best:
                    best = cand
        return WAIT_CLASSES[best[0]], (WAIT_HOW[best[1]], best[2])

    def _dependency_source(self, core: int, key: tuple) -> tuple:
        kind = key[0]
        if kind == "store":                       # ("store", tensor, layer, part, b, t)
            return "wait_dram", ("store", ("FP",) + key[2:])
        if kind == "BPWG_END":                    # the admission: the sample's last tile
            return "wait_dep", ("end", self._bpwg_last[key[1:]][1])
        if kind == "BPD":
            how, on, r = "delta", ("BP",) + key[1:], None
        elif kind in ("spike", "grad"):           # (kind, layer, part, b, t, ...)
            how, on = "msg", ("FP" if kind == "spike" else "BP",) + key[1:5]
        elif kind == "wgrad":                     # the replica's last WG tile of the part
            r = key[3]
            b_last = max(b for b in range(self.B) if b % self.R == r)
            return "wait_noc", ("msg", ("WG", key[1], key[2], b_last, 0))
        else:                                     # a tile end: FP, BP, LOSS
            how, on = "end", key
        if on[0] == "LOSS":
            return "wait_dep", (how, on)
        src = self.parts[(on[3] % self.R, on[1], on[2])].core
        return ("wait_dep" if src == core else "wait_noc"), (how, on)

    # ---------------------------------------------------------------- DRAM transfers (5.2)

    def _moved(self, pi, name: str) -> bool:
        """A spilled tensor that exists (in the network's mode, spec 3.6; ``M`` only with the
        momentum optimizer, ``WM`` only with master weights)."""
        if name not in MODE_TENSORS[self.net.mode]:
            return False
        if name == "M" and not self.momentum:
            return False
        if name == "WM" and self.arch.core.wg.master_weights == "none":
            return False
        return pi.spilled(name)

    def loads(self, tile) -> list:
        if tile.kind == "LOSS":
            return []
        pi = self.part_of(tile)
        b, t = tile.b, tile.t
        names = {"FP": ("W",) + (("U",) if t > 0 else ()),
                 "BP": ("saved", "W"), "WG": ("saved_in", "GW"),
                 "UPD": ("W", "GW", "M", "WM")}[tile.kind]
        out = [(n,) + tensor_transfer(pi, n, b, t, self.T) for n in names if self._moved(pi, n)]
        if tile.kind == "FP" and pi.reads_input:
            pl = self.placement
            addr = pl.input_dram_addr + (b * self.T + t) * pl.input_frame_stride
            out.append(("input", "spikes", "input", addr, pl.input_frame_bytes))
        return out

    def stores(self, tile, pi) -> list:
        b, t = tile.b, tile.t
        names = {"FP": (("U",) if t < self.T - 1 else ()) + ("saved", "saved_in"),
                 "WG": ("GW",), "UPD": ("W", "M", "WM")}.get(tile.kind, ())
        return [(n,) + tensor_transfer(pi, n, b, t, self.T) for n in names if self._moved(pi, n)]

    def post_loads(self, core: int, engine: int, tile, loads: list) -> Event:
        done = self.env.event()
        left = [len(loads)]
        self._loading[core] += 1

        def arrived(_h):
            left[0] -= 1
            if left[0] == 0:
                self._loading[core] -= 1
                done.succeed(self.env.now)

        for name, buf, kind, addr, nbytes in loads:
            self.counters[self._sram_key(core, buf, "write_bits")] += nbytes * 8
            tag = ("load", name) + tile.key

            def post(c, addr=addr, nbytes=nbytes, kind=kind, tag=tag):
                h = self.memsys.dram_read(c, core, addr, nbytes, kind, tag)
                self._waiters[h.id] = arrived

            self._post(core, engine, post)
        return done

    # ---------------------------------------------------------------- NI and memory system

    def _post(self, core: int, engine: int, fn) -> None:
        """``fn(cycle)`` posts to the memory system at this cycle's end, in NI order: by
        core, engine, then posting order (one int: ``_late`` sorts by it, and the memory
        system orders same-cycle posts by it)."""
        self._post_seq += 1
        self._posts.append(((core << 44) | (engine << 40) | self._post_seq, fn))
        self._want_late()

    def _want_late(self) -> None:
        if not self._late_pending:
            self._late_pending = True
            _Late(self.env, self._late)

    def _late(self, _ev) -> None:
        self._late_pending = False
        now = self.env.now
        posts, self._posts = self._posts, []
        ms = self.memsys
        for order, fn in sorted(posts, key=_ORDER):
            # a zero-latency chain may post again in this cycle: the key keeps NI order
            ms.post_order(order)
            fn(now)
        for core in sorted(self._dirty):
            self._predict(core)
        self._dirty.clear()
        self._memsys_kick()

    def _memsys_kick(self) -> None:
        now = self.env.now
        lookahead = self.memsys.speculates
        while True:
            # Conservative lookahead: the chip posts only in its events, so nothing can be
            # posted before its next one; a memory system that speculates then runs no
            # further than that, as committed work (no checkpoints, no roll-back), and is
            # asked again from there if it had nothing by then. While events of this cycle
            # are still to come (they may post), the cycle's end-of-cycle work asks instead.
            peek = self.env.peek() if lookahead else float("inf")
            if peek <= now:
                self._want_late()
                return
            horizon = int(peek) if peek < float("inf") else None
            ne = self.memsys.next_event(horizon, final=True)
            self._settle(self.memsys.settled())
            if ne is None:
                if horizon is None:
                    return
                ne = horizon
            if ne > now:
                break
            got = self.memsys.advance(now)            # zero-latency transfers
            if not got:
                raise AssertionError(f"memory system reports an event at {ne} <= {now} "
                                     "but delivers nothing")
            self._deliver(got)
        if self._ms_wake is not None and self._ms_wake <= ne:
            return
        self._ms_wake = ne
        self.env.timeout(ne - now).callbacks.append(self._memsys_wake)

    def _memsys_wake(self, _ev) -> None:
        now = self.env.now
        if self._ms_wake == now:
            self._ms_wake = None
        self._deliver(self.memsys.advance(now))
        self._memsys_kick()

    def _deliver(self, handles) -> None:
        now = self.env.now
        for h in handles:
            if h.available != now:
                raise AssertionError(f"transfer {h.kind} available at {h.available}, "
                                     f"delivered at {now}")
            self._delivered(h)

    def _settle(self, handles) -> None:
        """Deliveries the memory system passed without waking the chip (nothing waited on
        them: ``_meets_on_delivery``), each at its own cycle, before the chip's next event."""
        for h in handles:
            self._delivered(h)

    def _delivered(self, h) -> None:
        key = self._meets.pop(h.id, None)
        if key is not None:
            self.fire(key, h.available)           # (the step's last event so far, too)
            return
        if h.available > self.last_event:
            self.last_event = h.available
        cb = self._waiters.pop(h.id, None)
        if cb is not None:
            cb(h)

    def _send(self, core: int, engine: int, kind: str, buf: str, sends: list) -> None:
        """Unicast messages of one kind from ``core``: ``sends`` is a list of (destination
        core, payload bits, dependency key), posted together (a tile's messages follow each
        other in NI order). A message to the own core is available at once, uses no NoC and
        moves no data (it is still recorded, with 0 packets)."""
        counters = self.counters
        read = self._sram_key(core, buf, "read_bits")
        for dst, bits, key in sends:
            if dst == core:
                self.fire(key)
            else:
                counters[read] += bits
                counters[self._sram_key(dst, buf, "write_bits")] += bits

        def post(c):
            eps = self._core_ep
            hs = self.memsys.send_many(c, eps[core], [eps[d] for d, _, _ in sends],
                                       [bits for _, bits, _ in sends], kind,
                                       [key for _, _, key in sends])
            for (d, _, key), h in zip(sends, hs):
                if d != core:
                    self._meets_on_delivery(h, key)

        self._post(core, engine, post)

    def _multicast(self, core: int, engine: int, dsts: list, bits: int, kind: str,
                   keys: list, buf: str) -> None:
        """One message to several cores (spec 4.5): the source reads the payload once, each
        destination writes it; the memory system chains it."""
        remote = [d for d in dsts if d != core]
        if remote:
            self.counters[self._sram_key(core, buf, "read_bits")] += bits
        for d in remote:
            self.counters[self._sram_key(d, buf, "write_bits")] += bits
        for d, key in zip(dsts, keys):
            if d == core:
                self.fire(key)

        def post(c):
            hs = self.memsys.send(c, self._core_ep[core], [self._core_ep[d] for d in dsts],
                                  bits, kind, keys[0])
            for d, h, key in zip(dsts, hs, keys):
                if d != core:
                    self._meets_on_delivery(h, key)

        self._post(core, engine, post)

    # ---------------------------------------------------------------- arbiters

    def arbiter_changed(self, core: int) -> None:
        self._dirty.add(core)
        self._want_late()

    def _predict(self, core: int) -> None:
        arb = self.cores[core].arbiter
        if self._loading[core]:
            # An engine of the core starts a tile when its loads arrive, which voids a
            # prediction past that cycle: predict no further than a horizon (doubled each
            # time it is reached while the loads are out). Where the horizon falls changes
            # no result, only how much co-simulation is thrown away
            # (docs/performance.md, "Predictions no further than a tile's loads").
            span = self._predict_span.get(core, PREDICT_SPAN)
            self._predict_span[core] = 2 * span
            when = arb.predict(self.env.now + span)
        else:
            self._predict_span.pop(core, None)
            when = arb.predict()
        cur = self._arb_wake.get(core)
        if when is None:
            self._arb_wake[core] = None
            self._arb_token[core] = self._arb_token.get(core, 0) + 1
            return
        if cur is not None and cur[0] == when:
            return
        token = self._arb_token.get(core, 0) + 1
        self._arb_token[core] = token
        self._arb_wake[core] = (when, token)
        self.env.timeout(when - self.env.now).callbacks.append(
            lambda _e, core=core, token=token: self._arbiter_wake(core, token))

    def _arbiter_wake(self, core: int, token: int) -> None:
        if self._arb_token.get(core) != token:
            return
        self._arb_wake[core] = None
        self.cores[core].arbiter.sync_to(self.env.now)
        self.arbiter_changed(core)

    # ---------------------------------------------------------------- tile end (3.3, 4)

    def tile_done(self, core: int, e: int, tile, pi, rec, cnt, stalls, prev_end: int) -> None:
        now = self.env.now
        self.records.append(rec)
        self.tile_counters[tile.key] = cnt
        self.tile_stalls[tile.key] = stalls.copy()
        self.last_event = max(self.last_event, now)
        eng = ENGINES[e]
        comp = engine_path(core, eng)
        self.counters[counter_key(comp, "tiles")] += 1
        for i, action in enumerate(E.ENGINE_COUNTERS):
            if cnt[i]:
                self.counters[counter_key(comp, action)] += int(cnt[i])
        for bi, buf in enumerate(SRAM_BUFFERS):
            for j, action in enumerate(("read_words", "write_words")):
                v = int(cnt[E.CNT_SRAM + 2 * bi + j])
                if v:
                    self.counters[self._sram_key(core, buf, action)] += v
            if stalls[bi]:  # stall cycles are event counters too (spec 8)
                self.counters[counter_key(comp, "bank_conflict", buf)] += int(stalls[bi])
        if pi is not None:
            self._stores_and_messages(core, e, tile, pi)
        self.fire(tile.key)
        cycles = self.counters
        cycles[counter_key(comp, "cycles", "busy")] += rec.end - rec.start - rec.bank_stalls
        if rec.bank_stalls:
            cycles[counter_key(comp, "cycles", "bank_stall")] += rec.bank_stalls
        if rec.start > rec.ready:
            cycles[counter_key(comp, "cycles", "wait_dram")] += rec.start - rec.ready
        if rec.ready > prev_end:
            cycles[counter_key(comp, "cycles", rec.wait)] += rec.ready - prev_end
        self._engine_end[(core, e)] = now
        if tile.kind in ("LOSS", "BP", "WG"):
            k = (core, tile.b)
            last = self._bpwg_last.get(k)
            if last is None or now > last[0] or tile.key < last[1]:  # ties: smallest key
                self._bpwg_last[k] = (now, tile.key)
            self._pending_bpwg[k] -= 1
            if self._pending_bpwg[k] == 0:
                self.fire(("BPWG_END", core, tile.b))
        self.done_tiles += 1
        if self.progress is not None:
            self.progress(self.done_tiles, self.total_tiles)

    def _stores_and_messages(self, core: int, e: int, tile, pi) -> None:
        b, t = tile.b, tile.t
        for name, buf, kind, addr, nbytes in self.stores(tile, pi):
            self.counters[self._sram_key(core, buf, "read_bits")] += nbytes * 8
            key = ("store", name, pi.name, pi.index, b, t)

            def post(c, addr=addr, nbytes=nbytes, kind=kind, key=key):
                h = self.memsys.dram_write(c, core, addr, nbytes, kind, key)
                self._meets_on_delivery(h, key)

            self._post(core, e, post)
        lp = self.layer_parts[pi.replica]
        kind = tile.kind
        if kind == "FP":
            sends = []
            for m in pi.consumers:
                dsts = sorted({q.core for q in lp[m]})
                payload = self.coster.spike_payload(pi, m, b, t)
                keys = [("spike", pi.name, pi.index, b, t, m, dst) for dst in dsts]
                if self.arch.noc.multicast:
                    self._multicast(core, e, dsts, payload, "spike", keys, "spikes")
                else:
                    sends += [(dst, payload, key) for dst, key in zip(dsts, keys)]
            if sends:
                self._send(core, e, "spike", "spikes", sends)
        elif kind == "BP" and pi.transposed:
            ps = [p for l in pi.producers for p in lp[l]]
            self._send(core, e, "grad", "gradients",
                       [(p.core, bits, ("grad", pi.name, pi.index, b, t, p.name, p.index))
                        for p, bits in zip(ps, self.coster.grad_payloads(pi, ps, b, t))])
        elif kind == "WG" and pi.replica > 0 and tile.key in self._last_wg:
            root = self.parts[(0, pi.name, pi.index)]
            self._send(core, e, "wgrad", "wgrad", [(root.core, pi.n_w * self.ep.grad_bits,
                                                    ("wgrad", pi.name, pi.index, pi.replica))])
        elif kind == "UPD" and self.R > 1:
            self._send(core, e, "weights", "weights",
                       [(self.parts[(r, pi.name, pi.index)].core, pi.n_w * self.ep.bits,
                         ("weights", pi.name, pi.index, r)) for r in range(1, self.R)])

    # ---------------------------------------------------------------- run

    def run(self) -> TimingResult:
        t0 = _time.perf_counter()
        self.env.run()
        stuck = [(c, ENGINES[e], tile.key) for c, core in self.cores.items()
                 for e, tile in enumerate(core.current) if tile is not None]
        if stuck:
            raise RuntimeError(f"deadlock at cycle {self.env.now}: engines waiting on "
                               f"{stuck[:6]}")
        # The memory system runs to the end of the step: DRAM refresh goes on while idle
        # and its commands in [0, total_cycles) are counted (spec 8).
        self.memsys.advance(self.last_event)
        for core in range(self.arch.chip.cores):   # after each engine's last tile (10.1)
            for e, eng in enumerate(ENGINES):
                idle = self.last_event - self._engine_end.get((core, e), 0)
                if idle:
                    self.counters[counter_key(engine_path(core, eng), "cycles", "idle")] += idle
        counters = Counter(self.counters)
        counters.update(self.memsys.counters)
        stall_names = {key: {SRAM_BUFFERS[i]: int(v) for i, v in enumerate(s) if v}
                       for key, s in self.tile_stalls.items()}
        extra = {
            "bank_stalls": stall_names,
            "tile_counters": self.tile_counters,
            "cosim_cycles": sum(c.arbiter.cosim_cycles for c in self.cores.values()),
            "wall_s": _time.perf_counter() - t0,
            "model": "event",
        }
        memsys_extra = getattr(self.memsys, "extra", None)
        if memsys_extra is not None:  # the cycle-level memory system (docs/dram.md)
            extra["memsys"] = memsys_extra
            # link and DRAM-bus activity over time, for the timeline (not a statistic)
            extra["memsys_activity"] = self.memsys.activity()
        # The memory system's record sequences are passed on as they are: the ideal model
        # keeps DRAM transfers compactly and expands them only when iterated.
        return TimingResult(self.last_event, self.records, self.memsys.messages,
                            self.memsys.dram, counters, extra)


def simulate(arch, network, trace, placement, momentum: bool = False, progress=None):
    """Simulate one training step; returns a :class:`~neurosim.timing.TimingResult`.

    ``progress``, if given, is called as ``progress(tiles_done, tiles_total)``."""
    with young_collections_only():
        return ChipModel(arch, network, trace, placement, momentum, progress).run()


__all__ = ["simulate", "ChipModel", "check_placement", "replica_of_core"]
