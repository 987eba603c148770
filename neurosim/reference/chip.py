"""The chip of the reference model: tiles in program order, their dependencies, the
messages and DRAM transfers they cause, and one loop over cycles that steps every engine,
SRAM port, router, link and DRAM channel once per cycle (``docs/microarchitecture.md``).

Within cycle ``c``, in this order:

A. engines, per core:
   1. tiles whose last program cycle was ``c-1`` end at ``c``: their DRAM stores and
      messages are issued (enqueued at ``c``);
   2. a free engine's next tile becomes *ready* at ``c`` if all its dependencies are met
      (it issues its DRAM loads); a ready tile *starts* once its loads are available;
   3. the running engines' SRAM requests are arbitrated and every engine that is granted
      (or is in a free cycle) advances one program entry.
B. memory system:
   1. the packets enqueued in this cycle join their NI queues (in spec 4.4 order);
   2. each DRAM channel: requests available at ``c`` join the queue, one command;
   3. the NoC: arrivals, injection, switch allocation and traversal.

Availability cycles are set as soon as they are known (fixed latencies are added at once),
and every check compares them with the current cycle, so "available at ``c`` satisfies a
dependency at ``c``" holds even with zero latencies.
"""
from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..arch import grad_bits, value_bits
from ..errors import InputError
from ..mapping.footprint import TENSORS
from ..timing import (WAIT_CLASSES, WAIT_HOW, DramRecord, MessageRecord, TileRecord,
                      TimingResult)
from ..workload.trace import pool_bits, unpack_bits
from . import engines
from .core import ENGINES, Core
from .dram import Dram, IdealChannel, Request
from .noc import (PORT_CORE, PORT_DRAM, CycleNoc, IdealNoc, Message, multicast_chain,
                  packet_flits)
from .noc import hops as noc_hops

ENGINE_INDEX = {"FP": 0, "LOSS": 1, "BP": 1, "WG": 2, "UPD": 2}
MESSAGE_BUFFER = {"spike": "spikes", "grad": "gradients", "wgrad": "wgrad",
                  "weights": "weights"}
NO_PROGRESS_LIMIT = 200_000  # cycles without any tile event: a deadlock
# Spec 3.6: the tiles and the tensors of a part that each mode has (M and WM besides, on the
# root, in train with momentum / master weights; GS, outside input_gradient, only in layers
# with a transposed phase).
MODE_TILES = {"train": ("FP", "LOSS", "BP", "WG", "UPD"), "inference": ("FP",),
              "input_gradient": ("FP", "LOSS", "BP")}
MODE_TENSORS = {"train": ("W", "GW", "U", "saved", "saved_in", "GU", "GS"),
                "inference": ("W", "U"),
                "input_gradient": ("W", "U", "saved", "GU", "GS")}


@dataclass(eq=False)
class Tile:
    kind: str
    layer: str
    part: int
    b: int
    t: int
    core: int
    replica: int
    deps: list = field(default_factory=list)   # ("end"|"delta", Tile) | ("msg"|"store", key)
    deps_met: int = 0                          # deps[:deps_met] are known to hold
    ready: int | None = None
    start: int | None = None
    end: int | None = None
    delta_end: int = -1
    bank_stalls: int = 0
    wait: str = ""                             # class of the dependency met last (10.1)
    wait_on: tuple = ()                        # (how, producing tile key) of it
    loads: list = field(default_factory=list)  # Transfers that must arrive before start

    @property
    def engine(self) -> int:
        return ENGINE_INDEX[self.kind]

    @property
    def key(self) -> tuple:
        return (self.kind, self.layer, self.part, self.b, self.t)


class Transfer:
    """A DRAM load or store of one tensor: available when all its bursts are."""

    def __init__(self, n_requests: int, issued: int):
        self.pending = n_requests
        self.latest = issued
        self.available = issued if n_requests == 0 else None

    def part_done(self, cycle: int) -> None:
        self.latest = max(self.latest, cycle)
        self.pending -= 1
        if self.pending == 0:
            self.available = self.latest


def ceil_log2(n: int) -> int:
    return max(1, (n - 1).bit_length())


class Chip:
    def __init__(self, cfg, network, trace, placement, momentum: bool = False):
        self.cfg = cfg
        self.net = network
        self.placement = placement
        self.momentum = bool(momentum)
        self.mode = network.mode
        self.T = network.time_steps
        self.B = network.batch
        self.bits = value_bits(cfg)
        self.R = len(placement.replicas)
        self._check_inputs(trace)
        self.index = {l.name: l.index for l in network.layers}
        self.masks = {}
        for hl, lt in zip(network.layers, trace.layers):
            self.masks[hl.name] = {
                "in": unpack_bits(lt.in_mask, hl.n_in),
                "out": unpack_bits(lt.out_spikes, hl.n_out),
                "gu": unpack_bits(lt.gu_mask, hl.n_out)}
        self.noc = CycleNoc(cfg) if cfg.noc.model == "cycle" else IdealNoc(cfg)
        self.dram = Dram(cfg)
        self.cores = [Core(cfg, i) for i in range(cfg.chip.cores)]
        self.counters = Counter()
        self.messages = {}             # tag -> Message (core-to-core messages)
        self.all_messages = []         # every Message, in creation order
        self.requests = []             # every DRAM Request
        self.stores = {}               # (tile key, tensor) -> Transfer
        self.posts = defaultdict(list)         # cycle -> Messages to enqueue at NIs
        self.arrivals = defaultdict(list)      # cycle -> (order, Request) at controllers
        self.ending = defaultdict(list)        # cycle -> Tiles ending then
        self.arrival_seq = itertools.count()   # order requests reach their controllers
        self._build_tiles()

    # ================================================================ inputs

    def _check_inputs(self, trace) -> None:
        net, pl, cfg = self.net, self.placement, self.cfg
        if trace.batch != self.B or trace.time_steps != self.T:
            raise InputError("trace", "shape", f"batch {self.B} and T {self.T} as in the network",
                             (trace.batch, trace.time_steps))
        if [lt.name for lt in trace.layers] != [l.name for l in net.layers]:
            raise InputError("trace", "layers", "one trace per weighted layer of the network",
                             [lt.name for lt in trace.layers])
        burst = cfg.dram.burst_bytes
        if pl.input_dram_addr % burst or pl.input_frame_stride % burst:
            raise InputError("placement", "input_dram_addr", f"input frames in whole bursts "
                             f"({burst} B)", (pl.input_dram_addr, pl.input_frame_stride))
        if self.R < 1 or self.R > self.B:
            raise InputError("placement", "replicas", f"1 to batch ({self.B}) replicas", self.R)
        seen_cores = {}
        for r, rep in enumerate(pl.replicas):
            if list(rep.samples) != list(range(r, self.B, self.R)):
                raise InputError("placement", f"replicas[{r}].samples",
                                 f"samples b with b mod {self.R} = {r}", rep.samples)
            for l in net.layers:
                parts = rep.layers.get(l.name)
                if not parts:
                    raise InputError("placement", f"replicas[{r}].layers.{l.name}",
                                     "at least one part", parts)
                if l is net.output_layer and len(parts) != 1:
                    raise InputError("placement", f"replicas[{r}].layers.{l.name}",
                                     "exactly one part for the output layer", len(parts))
                ref = pl.replicas[0].layers.get(l.name, [])
                if [(p.out_lo, p.out_hi) for p in parts] != [(p.out_lo, p.out_hi) for p in ref]:
                    raise InputError("placement", f"replicas[{r}].layers.{l.name}",
                                     "the same parts as replica 0", "different splits")
                lo = 0
                for i, p in enumerate(parts):
                    where = f"replicas[{r}].layers.{l.name}[{i}]"
                    if p.index != i or p.out_lo != lo or p.out_hi <= p.out_lo:
                        raise InputError("placement", where, "consecutive non-empty channel "
                                         "ranges in part-index order", (p.out_lo, p.out_hi))
                    lo = p.out_hi
                    if not 0 <= p.core < cfg.chip.cores:
                        raise InputError("placement", f"{where}.core",
                                         f"a core id below chip.cores ({cfg.chip.cores})", p.core)
                    if seen_cores.setdefault(p.core, r) != r:
                        raise InputError("placement", f"{where}.core",
                                         "cores not shared between replicas", p.core)
                    need = [x for x in MODE_TENSORS[self.mode]
                            if x != "GS" or self.transposed(l.name)]
                    if r == 0 and self.momentum and self.mode == "train":
                        need.append("M")       # optimizer state lives with the root
                    if r == 0 and cfg.core.wg.master_weights != "none" and self.mode == "train":
                        need.append("WM")
                    for name in need:
                        tp = p.tensors.get(name)
                        if tp is None:
                            raise InputError("placement", f"{where}.tensors.{name}",
                                             "a placed tensor", "missing")
                        if name in ("GU", "GS") and not tp.resident:
                            raise InputError("placement", f"{where}.tensors.{name}",
                                             "resident (GU and GS never spill)", "spilled")
                        burst = cfg.dram.burst_bytes
                        if not tp.resident and (tp.dram_addr % burst or tp.stride % burst):
                            raise InputError("placement", f"{where}.tensors.{name}",
                                             f"a DRAM address and stride in whole bursts "
                                             f"({burst} B)", (tp.dram_addr, tp.stride))
                if lo != l.out_channels:
                    raise InputError("placement", f"replicas[{r}].layers.{l.name}",
                                     f"parts covering all {l.out_channels} output channels", lo)

    # ================================================================ schedule

    def layer(self, name):
        return self.net[name]

    def producers(self, name: str) -> list:
        srcs = {e.src for e in self.net[name].edges if e.src != "input"}
        return sorted(srcs, key=self.index.get)

    def consumers(self, name: str) -> list:
        return sorted(self.net.consumers(name), key=self.index.get)

    def reads_input(self, name: str) -> bool:
        return any(e.src == "input" for e in self.net[name].edges)

    def reads_only_input(self, name: str) -> bool:
        return all(e.src == "input" for e in self.net[name].edges)

    def transposed(self, name: str) -> bool:
        """Does BP of this layer run the transposed product? (2.3; in input_gradient every
        layer does, spec 3.6: the first one's gives g(input))"""
        return self.mode == "input_gradient" or not self.reads_only_input(name)

    def _build_tiles(self) -> None:
        net, T, sched = self.net, self.T, self.cfg.schedule
        self.tiles = {}
        self.program = {c: ([], [], []) for c in range(self.cfg.chip.cores)}
        out_name = net.output_layer.name

        kinds = MODE_TILES[self.mode]

        def add(kind, layer, part, b, t, core, r):
            if kind not in kinds:
                return None
            tile = Tile(kind, layer, part, b, t, core, r)
            self.tiles[tile.key] = tile
            self.program[core][tile.engine].append(tile)
            return tile

        for r, rep in enumerate(self.placement.replicas):
            by_core = defaultdict(list)
            for name, parts in rep.layers.items():
                for p in parts:
                    by_core[p.core].append((self.index[name], p.index, name))
            for core, parts in sorted(by_core.items()):
                up = sorted(parts)
                down = up[::-1]
                for b in rep.samples:
                    if sched.layer_pipeline:
                        fp = [(t, x) for t in range(T) for x in up]
                        bwd = [(t, x) for t in reversed(range(T)) for x in down]
                    else:
                        fp = [(t, x) for x in up for t in range(T)]
                        bwd = [(t, x) for x in down for t in reversed(range(T))]
                    for t, (_, pi, name) in fp:
                        add("FP", name, pi, b, t, core, r)
                    if any(name == out_name for _, _, name in up):
                        add("LOSS", "", -1, b, -1, core, r)
                    for t, (_, pi, name) in bwd:
                        add("BP", name, pi, b, t, core, r)
                    for t, (_, pi, name) in bwd:
                        add("WG", name, pi, b, t, core, r)
                if r == 0:
                    for _, pi, name in up:
                        add("UPD", name, pi, -1, -1, core, r)
        for tile in self.tiles.values():
            tile.deps = self._deps(tile)

    def parts(self, r: int, name: str) -> list:
        return self.placement.replicas[r].layers[name]

    def part(self, tile: Tile):
        return self.parts(tile.replica, tile.layer)[tile.part]

    def _deps(self, tile: Tile) -> list:
        """Spec 3.2, as a list of conditions that must all hold at the ready cycle."""
        k, name, b, t, r = tile.kind, tile.layer, tile.b, tile.t, tile.replica
        T, sched, tiles = self.T, self.cfg.schedule, self.tiles
        deps = []
        if k == "FP":
            for m in self.producers(name):
                for q in self.parts(r, m):
                    deps.append(("msg", ("spike", m, q.index, b, t, name, tile.core)))
            fps = [x for x in self.program[tile.core][0] if x.b == b]
            if fps[0] is tile:  # admission: at most S samples in flight on this core
                S = sched.samples_in_flight if sched.fp_bp_overlap else 1
                b_old = b - S * self.R
                if b_old >= 0:
                    deps += [("end", x) for x in self.program[tile.core][1] + self.program[tile.core][2]
                             if x.b == b_old]
            if not sched.layer_pipeline and t == 0:
                for m in self.producers(name):
                    for q in self.parts(r, m):
                        deps += [("end", tiles[("FP", m, q.index, b, u)]) for u in range(T)]
        elif k == "LOSS":
            out = self.net.output_layer.name
            deps.append(("end", tiles[("FP", out, 0, b, T - 1)]))
        elif k == "BP":
            if name == self.net.output_layer.name:
                deps.append(("end", tiles[("LOSS", "", -1, b, -1)]))
            else:
                for m in self.consumers(name):
                    for q in self.parts(r, m):
                        deps.append(("msg", ("grad", m, q.index, b, t, name, tile.part)))
            fp = tiles[("FP", name, tile.part, b, t)]
            deps.append(("end", fp))
            if not self.part(tile).tensors["saved"].resident:
                deps.append(("store", (fp.key, "saved")))
            if not sched.layer_pipeline and t == T - 1:
                for m in self.consumers(name):
                    for q in self.parts(r, m):
                        deps += [("end", tiles[("BP", m, q.index, b, u)]) for u in range(T)]
        elif k == "WG":
            bp = tiles[("BP", name, tile.part, b, t)]
            deps.append(("delta" if sched.bp_wg_overlap else "end", bp))
            if not self.part(tile).tensors["saved_in"].resident:
                deps.append(("store", (("FP", name, tile.part, b, t), "saved_in")))
        elif k == "UPD":
            for rr, rep in enumerate(self.placement.replicas):
                for bb in rep.samples:
                    deps += [("end", tiles[("WG", name, tile.part, bb, u)]) for u in range(T)]
                if rr > 0:
                    deps.append(("msg", ("wgrad", name, tile.part, rr)))
        return deps

    def _ready(self, tile: Tile, c: int) -> bool:
        """All dependencies met at ``c``? (A met dependency stays met, so the check resumes
        at the first one that was not.)"""
        while tile.deps_met < len(tile.deps):
            if not self._met(tile.deps[tile.deps_met], c):
                return False
            tile.deps_met += 1
        return True

    def _met(self, dep, c: int) -> bool:
        what, x = dep
        if what == "end":
            return x.end is not None and x.end <= c
        if what == "delta":
            return x.delta_end >= 0 and x.start is not None and x.delta_end <= c
        if what == "msg":
            m = self.messages.get(x)
            return m is not None and m.available is not None and m.available <= c
        tr = self.stores.get(x)
        return tr is not None and tr.available is not None and tr.available <= c

    def _last_met(self, tile: Tile, c: int) -> None:
        """Spec 10.1: the dependency met last (at ``c``), its class and producer; ties by
        class, then how it was met, then the producer's key."""
        best = None
        for what, x in tile.deps:
            if what in ("end", "delta"):
                met = x.end if what == "end" else x.delta_end
                cls = "wait_dep" if x.core == tile.core else "wait_noc"
                on = (what, x.key)
            elif what == "msg":
                m = self.messages[x]
                met = m.available
                cls = "wait_dep" if m.src[0] == tile.core else "wait_noc"
                on = ("msg", self._sender(x))
            else:
                met, cls, on = self.stores[x].available, "wait_dram", ("store", x[0])
            if met != c:
                continue
            cand = (WAIT_CLASSES.index(cls), WAIT_HOW.index(on[0]), on[1])
            if best is None or cand < best:
                best = cand
        tile.wait, tile.wait_on = WAIT_CLASSES[best[0]], (WAIT_HOW[best[1]], best[2])

    def _sender(self, tag: tuple) -> tuple:
        """The key of the tile that sent the core-to-core message ``tag``."""
        if tag[0] == "spike":
            return ("FP",) + tag[1:5]
        if tag[0] == "grad":
            return ("BP",) + tag[1:5]
        name, part, r = tag[1:]                   # g(W): the replica's last WG tile
        return ("WG", name, part, self.placement.replicas[r].samples[-1], 0)

    # ================================================================ messages

    def send(self, c: int, kind: str, src: tuple, dst: tuple, payload_bits: int, tag: tuple,
             order: tuple, on_available=None, via: tuple | None = None) -> Message:
        """Enqueue a message at cycle ``c`` (spec 4.4). ``via``: a multicast leg, forwarded
        by that endpoint (the chip does not enqueue it; the NoC does, spec 4.5)."""
        msg = Message(kind, src, dst, c, payload_bits, tag, order, on_available=on_available,
                      via=via)
        self.all_messages.append(msg)
        if src[0] == dst[0] and src[1] == PORT_CORE and dst[1] == PORT_CORE:
            msg.set_available(c)  # core-local: no NoC
            return msg
        msg.flits = packet_flits(payload_bits, self.cfg.noc.flit_bits)
        hops = noc_hops(self.cfg.chip.mesh.cols, (via or src)[0], dst[0])
        f = sum(msg.flits)
        self.counters[("noc", "packets")] += len(msg.flits)
        self.counters[("noc", "flits")] += f
        self.counters[("noc", "router_flits")] += f * (hops + 1)
        self.counters[("noc", "link_flits")] += f * hops
        if isinstance(self.noc, IdealNoc):
            self.noc.post(msg)
        if via is None:
            self.posts[c].append(msg)
        return msg

    def core_message(self, c: int, kind: str, src_core: int, dst_core: int, bits: int,
                     tag: tuple, order: tuple) -> None:
        if src_core != dst_core:  # a core-local message moves no data (spec 4.1)
            buf = MESSAGE_BUFFER[kind]
            self.counters[(f"core{src_core}.sram.{buf}", "read_bits")] += bits
            self.counters[(f"core{dst_core}.sram.{buf}", "write_bits")] += bits
        self.messages[tag] = self.send(c, kind, (src_core, PORT_CORE), (dst_core, PORT_CORE),
                                       bits, tag, order)

    def multicast(self, c: int, kind: str, src_core: int, dst_cores: list, bits: int,
                  tags: dict, order: tuple) -> None:
        """Spec 4.5: one message to several cores as a chain of legs; the source reads the
        payload once, every destination writes it."""
        src = (src_core, PORT_CORE)
        if src_core in dst_cores:
            self.core_message(c, kind, src_core, src_core, bits, tags[src_core], order)
        chain = multicast_chain(self.cfg.chip.mesh.cols, src,
                                [(d, PORT_CORE) for d in dst_cores])
        if not chain:
            return
        buf = MESSAGE_BUFFER[kind]
        self.counters[(f"core{src_core}.sram.{buf}", "read_bits")] += bits
        prev, at = None, src
        for dst in chain:
            self.counters[(f"core{dst[0]}.sram.{buf}", "write_bits")] += bits
            leg = self.send(c, kind, src, dst, bits, tags[dst[0]], order,
                            via=None if prev is None else at)
            self.messages[tags[dst[0]]] = leg
            if prev is not None:
                prev.next_leg = leg
            prev, at = leg, dst

    def spike_payload(self, m: str, q, b: int, t: int, consumer: str) -> int:
        """Spec 4.1: bitmap or address events of the part's pooled output slice."""
        lay = self.net[m]
        bits = self.masks[m]["out"][b, t]
        edge = next(e for e in self.net[consumer].edges if e.src == m)
        if lay.kind == "conv":
            c, h, w = lay.out_shape
            sl = bits.reshape(h * w, c)[:, q.out_lo:q.out_hi].reshape(-1)
            shape = (q.n_ch, h, w)
            for pool in edge.pools:
                sl, shape = pool_bits(sl, shape, pool)
        else:
            sl = bits[q.out_lo:q.out_hi]
        slice_bits, nnz = len(sl), int(np.count_nonzero(sl))
        bitmap = slice_bits
        aer = nnz * ceil_log2(self.net[consumer].n_in)
        enc = self.cfg.noc.spike_encoding
        if enc == "bitmap":
            return bitmap
        if enc == "aer":
            return aer
        return aer if aer < bitmap else bitmap

    def gradient_payload(self, m: str, q, gu_part: np.ndarray, producer: str, p) -> int:
        """Spec 4.2: dense or sparse partial g(S_in) entries of part ``p``'s slice."""
        lm, lp = self.net[m], self.net[producer]
        edge = next(e for e in lm.edges if e.src == producer)
        if lp.kind == "conv":
            _, h, w = lp.out_shape
            for pool in edge.pools:
                h, w = (h - pool.kernel) // pool.stride + 1, (w - pool.kernel) // pool.stride + 1
            positions = h * w
        else:
            positions = 1
        e = p.n_ch * positions
        if lm.kind == "linear":
            nz = e if gu_part.any() else 0
        else:
            _, _, w_out = lm.out_shape
            reached = set()
            for d in np.flatnonzero(gu_part):
                pos = int(d) // q.n_ch
                for _, _, y, x in engines.conv_in_positions(lm, pos // w_out, pos % w_out):
                    reached.add((y, x))
            nz = len(reached) * p.n_ch
        dense = e * self.bits
        sparse = nz * (ceil_log2(e) + self.bits)
        enc = self.cfg.noc.gradient_encoding
        if enc == "dense":
            return dense
        if enc == "sparse":
            return sparse
        return sparse if sparse < dense else dense

    # ================================================================ DRAM transfers

    def transfer(self, c: int, tile: Tile, tensor: str, write: bool, order) -> Transfer:
        """Spec 5.2: ``ceil(n / burst_bytes)`` requests at consecutive bursts, each a packet
        between the core and the controller owning its channel."""
        core = tile.core
        if tensor == "input":
            kind, buf = "input", "spikes"
            pl = self.placement
            nbytes = pl.input_frame_bytes
            addr = pl.input_dram_addr + (tile.b * self.T + tile.t) * pl.input_frame_stride
        else:
            buf, kind = TENSORS[tensor]
            tp = self.part(tile).tensors[tensor]
            nbytes = tp.nbytes
            if tensor in ("saved", "saved_in"):
                addr = tp.dram_instance(tile.b, tile.t, self.T)
            else:
                addr = tp.dram_addr
        action = "read_bits" if write else "write_bits"  # a store reads the SRAM
        self.counters[(f"core{core}.sram.{buf}", action)] += nbytes * 8
        burst = self.cfg.dram.burst_bytes
        n = -(-nbytes // burst)
        tr = Transfer(n, c)
        for i in range(n):
            req = self.dram.request(addr + i * burst, write, kind)
            self.requests.append(req)
            rw = "write" if write else "read"
            self.counters[(f"dram.ch{req.channel}", f"{rw}_bytes")] += burst
            self.counters[(f"dram.ch{req.channel}", f"{rw}_bytes.{kind}")] += burst
            ctrl = self.dram.controller_node[req.channel]
            tag = ("dram", *tile.key, tensor, req.address)
            seq = order()
            if write:
                req.on_complete = lambda rq, tr=tr: tr.part_done(rq.complete)
                self.send(c, "dram_write", (core, PORT_CORE), (ctrl, PORT_DRAM), burst * 8,
                          tag, seq, on_available=lambda m, rq=req: self.reach_controller(m, rq))
            else:
                def respond(rq, tag=tag, tr=tr, core=core, ctrl=ctrl):
                    self.send(rq.complete, "dram_read_resp", (ctrl, PORT_DRAM),
                              (core, PORT_CORE), burst * 8, tag, (rq.channel, rq.seq),
                              on_available=lambda m: tr.part_done(m.available))
                req.on_complete = respond
                self.send(c, "dram_read_req", (core, PORT_CORE), (ctrl, PORT_DRAM), 0, tag, seq,
                          on_available=lambda m, rq=req: self.reach_controller(m, rq))
        return tr

    def reach_controller(self, msg: Message, req: Request) -> None:
        req.arrive = msg.available
        channel = self.dram.channels[req.channel]
        if isinstance(channel, IdealChannel):
            req.seq = next(self.arrival_seq)
            channel.arrive(msg.available, req)  # completion is a fixed latency away
        else:
            self.arrivals[msg.available].append(((msg.send, msg.src[0], msg.order), req))

    # ================================================================ tile events

    def tile_ends(self, c: int, tile: Tile) -> None:
        """Spec 3.3 and 4: at ``end`` a tile issues its DRAM stores, then its messages."""
        counter = itertools.count()

        def order():  # NI order: engine, then end-of-tile packets (phase 0), then issue order
            return (tile.engine, 0, next(counter))

        part = self.part(tile) if tile.kind != "LOSS" else None
        k, b, t, name = tile.kind, tile.b, tile.t, tile.layer

        def store(tensor):
            if not self.exists(tensor):
                return
            if not part.tensors[tensor].resident:
                self.stores[(tile.key, tensor)] = self.transfer(c, tile, tensor, True, order)

        def msg(kind, dst_core, bits, tag):
            self.core_message(c, kind, tile.core, dst_core, bits, tag, order())

        if k == "FP":
            if t < self.T - 1:
                store("U")
            store("saved")
            store("saved_in")
            for consumer in self.consumers(name):
                dsts = sorted({p.core for p in self.parts(tile.replica, consumer)})
                bits = self.spike_payload(name, part, b, t, consumer)
                tags = {d: ("spike", name, tile.part, b, t, consumer, d) for d in dsts}
                if self.cfg.noc.multicast:
                    self.multicast(c, "spike", tile.core, dsts, bits, tags, order())
                else:
                    for dst in dsts:
                        msg("spike", dst, bits, tags[dst])
        elif k == "BP" and self.transposed(name):
            gu = engines.part_vector(self.net[name], part, self.masks[name]["gu"][b, t])
            for producer in self.producers(name):
                for p in self.parts(tile.replica, producer):
                    msg("grad", p.core, self.gradient_payload(name, part, gu, producer, p),
                        ("grad", name, tile.part, b, t, producer, p.index))
        elif k == "WG":
            store("GW")
            rep = self.placement.replicas[tile.replica]
            if tile.replica > 0 and b == rep.samples[-1] and t == 0:  # its last WG tile
                root = self.parts(0, name)[tile.part]
                n_w = engines.part_weights(self.net[name], part)
                msg("wgrad", root.core, n_w * grad_bits(self.cfg),
                    ("wgrad", name, tile.part, tile.replica))
        elif k == "UPD":
            store("W")
            store("M")
            store("WM")
            n_w = engines.part_weights(self.net[name], part)
            for r in range(1, self.R):
                dst = self.parts(r, name)[tile.part].core
                msg("weights", dst, n_w * self.bits, ("weights", name, tile.part, r))

    def tile_ready(self, c: int, tile: Tile, prev_end: int) -> None:
        """Spec 3.3: at ``ready`` a tile issues its DRAM loads (table of spec 5.2)."""
        tile.ready = c
        if c > prev_end:
            self._last_met(tile, c)
        counter = itertools.count()

        def order():  # loads follow the end-of-tile packets of the same engine (phase 1)
            return (tile.engine, 1, next(counter))

        if tile.kind == "LOSS":
            return
        part = self.part(tile)

        def load(tensor):
            if not self.exists(tensor):
                return
            if tensor == "input" or not part.tensors[tensor].resident:
                tile.loads.append(self.transfer(c, tile, tensor, False, order))

        k, t = tile.kind, tile.t
        if k == "FP":
            load("W")
            if t > 0:
                load("U")
            if self.reads_input(tile.layer):
                load("input")
        elif k == "BP":
            load("saved")
            load("W")
        elif k == "WG":
            load("saved_in")
            load("GW")
        elif k == "UPD":
            load("W")
            load("GW")
            load("M")
            load("WM")

    def exists(self, tensor: str) -> bool:
        """``M`` only with the momentum optimizer, ``WM`` only with master weights, both
        only in train; the others as the mode keeps them (spec 3.6)."""
        if tensor == "input":
            return True
        if tensor == "M":
            return self.momentum and self.mode == "train"
        if tensor == "WM":
            return self.cfg.core.wg.master_weights != "none" and self.mode == "train"
        return tensor in MODE_TENSORS[self.mode]

    def program_of(self, tile: Tile) -> engines.Program:
        cfg, core = self.cfg, tile.core
        if tile.kind == "LOSS":
            return engines.loss_program(cfg, self.net.output_layer, core, self.T)
        lay, part = self.net[tile.layer], self.part(tile)
        m = self.masks[tile.layer]
        if tile.kind == "FP":
            return engines.fp_program(cfg, lay, part, core, m["in"][tile.b, tile.t])
        if tile.kind == "UPD":
            return engines.upd_program(cfg, lay, part, core, self.R, self.momentum)
        gu = engines.part_vector(lay, part, m["gu"][tile.b, tile.t])
        if tile.kind == "BP":
            if tile.layer == self.net.output_layer.name:
                passes = 1
            else:
                passes = sum(len(self.parts(tile.replica, x)) for x in self.consumers(tile.layer))
            return engines.bp_program(cfg, lay, part, core, passes, gu,
                                      transposed=self.transposed(tile.layer))
        return engines.wg_program(cfg, lay, part, core, m["in"][tile.b, tile.t], gu)

    # ================================================================ the cycle loop

    def run(self) -> TimingResult:
        next_tile = {(c, e): 0 for c in self.program for e in range(3)}
        waiting = {}               # (core, engine) -> ready tile waiting for its loads
        remaining = len(self.tiles)
        c = 0
        self.progress = 0  # last cycle a tile started or ended
        while True:
            # A1. Tiles ending now issue stores and messages.
            for tile in sorted(self.ending.pop(c, []), key=lambda x: (x.core, x.engine)):
                self.tile_ends(c, tile)
                remaining -= 1
            # A2. Free engines: next tile ready? loads in? start.
            for core in self.cores:
                for e in range(3):
                    if core.running[e] is not None:
                        continue
                    tile = waiting.get((core.index, e))
                    if tile is None:
                        prog = self.program[core.index][e]
                        i = next_tile[(core.index, e)]
                        if i == len(prog) or not self._ready(prog[i], c):
                            continue
                        tile = prog[i]
                        next_tile[(core.index, e)] = i + 1
                        self.tile_ready(c, tile, prog[i - 1].end if i else 0)
                        waiting[(core.index, e)] = tile
                    if all(tr.available is not None and tr.available <= c for tr in tile.loads):
                        del waiting[(core.index, e)]
                        tile.start = c
                        self.progress = c
                        program = self.program_of(tile)
                        if not program.cycles:
                            raise RuntimeError(f"tile {tile.key} has no cycles")
                        self.counters.update(program.counters)
                        core.start(e, tile, program, c)
            # A3. SRAM arbitration; engines advance one program entry.
            for core in self.cores:
                for e in core.step(c):
                    run = core.finish(e)
                    run.tile.end = c + 1
                    self.progress = c
                    run.tile.bank_stalls = run.stalls
                    self.ending[c + 1].append(run.tile)
            # B1. Packets enqueued this cycle join the NI queues in spec 4.4 order.
            for msg in sorted(self.posts.pop(c, []), key=lambda m: m.order):
                self.noc.enqueue(msg)
            # B2. DRAM channels.
            for order, req in sorted(self.arrivals.pop(c, []), key=lambda x: x[0]):
                req.seq = next(self.arrival_seq)
                self.dram.channels[req.channel].arrive(c, req)
            for ch in self.dram.channels:
                ch.step(c)
            # B3. NoC.
            self.noc.step(c)
            if remaining == 0 and not self.ending and self._memory_done(c):
                break
            c += 1
            if c - self.progress > NO_PROGRESS_LIMIT:
                stuck = [t.key for t in self.tiles.values() if t.end is None][:3]
                raise RuntimeError(f"reference model: no tile event for {NO_PROGRESS_LIMIT} "
                                   f"cycles (deadlock?), waiting tiles {stuck}")
        return self._result()

    def _memory_done(self, c: int) -> bool:
        if self.posts or self.arrivals or self.noc.busy() or self.dram.busy():
            return False
        return (all(m.available is not None and m.available <= c for m in self.all_messages)
                and all(r.complete is not None and r.complete <= c for r in self.requests))

    # ================================================================ results

    def _result(self) -> TimingResult:
        tiles = [TileRecord(x.kind, x.layer, x.part, x.b, x.t, x.core, x.ready, x.start, x.end,
                            x.delta_end if x.kind == "BP" else -1, x.bank_stalls, x.wait,
                            x.wait_on)
                 for x in self.tiles.values()]
        msgs = [MessageRecord(m.kind, m.src, m.dst, m.send, m.available, m.payload_bits,
                              len(m.flits), sum(m.flits), m.tag) for m in self.all_messages]
        dram = [DramRecord(r.channel, r.tensor, r.write, r.address, r.arrive, r.complete,
                           r.outcome) for r in self.requests]
        total = max([x.end for x in tiles] + [m.available for m in msgs]
                    + [r.complete for r in dram if r.write] + [0])
        counters = Counter(self.counters)
        for core in self.cores:
            counters.update(core.stall_counts)
        for ch in self.dram.channels:
            for cmd, n in Counter(cmd for cyc, cmd in ch.commands if cyc < total).items():
                counters[(f"dram.ch{ch.index}", cmd)] += n
        self._cycle_classes(counters, total)
        extra = {"noc_contention": self.noc.contention, "model": "reference"}
        return TimingResult(total, tiles, msgs, dram, counters, extra)


    def _cycle_classes(self, counters: Counter, total: int) -> None:
        """Spec 10.1 per engine: busy and bank-stall cycles as the cores counted them while
        stepping; waits from the tiles; idle after the last tile."""
        for core in self.cores:
            for e, prog in enumerate(self.program[core.index]):
                got = Counter({"busy": core.busy_cycles[e], "bank_stall": core.stalled_cycles[e]})
                prev = 0
                for x in prog:
                    got["wait_dram"] += x.start - x.ready
                    if x.ready > prev:
                        got[x.wait] += x.ready - prev
                    prev = x.end
                got["idle"] += total - prev
                for cls, n in got.items():
                    if n:
                        counters[(f"core{core.index}.{ENGINES[e]}", f"cycles.{cls}")] += n


def simulate(arch, network, trace, placement, momentum: bool = False) -> TimingResult:
    """Run one training step on the cycle-stepped reference model."""
    return Chip(arch, network, trace, placement, momentum).run()
