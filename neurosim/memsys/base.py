"""The memory system seen by the chip model: the NoC and the DRAM behind one
co-simulation interface.

The discrete-event chip model posts messages and DRAM transfers at the cycle they are issued
and asks when the next one becomes available; the memory system simulates its own cycles
lazily (the cycle-level models in numba, see ``noc.py`` and ``dram.py``). Semantics are those
of ``docs/microarchitecture.md`` sections 4-7:

- ``advance(c)`` commits every memory-system cycle ``< c`` and returns the handles that are
  available at a cycle ``<= c``; afterwards, posts with ``cycle >= c`` are allowed (a post at
  ``c`` injects its first flit in cycle ``c``).
- ``next_event()`` is the earliest cycle at which a pending handle will become available if
  nothing else is posted (``None`` when nothing is pending). ``next_event(horizon)`` may
  stop looking at ``horizon`` (the caller's own next event) and then returns ``None`` if
  nothing is available by then; the cycle-level model simulates no further, which saves
  work when posts follow.
- ``send(..., dst=[(node, port), ...])`` sends one message to several endpoints and returns
  a list of handles, one per destination in the order given: a chained multicast
  (``docs/microarchitecture.md`` 4.5) with ``noc.multicast: true``, else one unicast each.

:class:`IdealMemorySystem` is the ``ideal`` model: fixed latencies, unlimited bandwidth. It
still counts packets, flits, hops and DRAM bytes, so traffic statistics do not depend on the
timing model chosen.
"""
from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..arch import address_mapping_fields
from ..params import Config
from ..timing import DramRecord, MessageRecord
from .topology import PORT_CORE, PORT_DRAM, Mesh

MAX_PAYLOAD_FLITS = 16  # body flits per packet (docs/microarchitecture.md 4.4)


@dataclass
class Handle:
    """A posted message or DRAM transfer. ``available`` is set when it completes."""

    id: int
    kind: str                 # message kind, or "dram_read" / "dram_write"
    post: int
    tag: tuple = ()
    available: int | None = None
    parts: list = field(default_factory=list)  # internal bookkeeping of the model


def packetize(payload_bits: int, flit_bits: int) -> list[int]:
    """Flits of each packet of a message (head flit included)."""
    per_packet = MAX_PAYLOAD_FLITS * flit_bits
    n = max(1, math.ceil(payload_bits / per_packet))
    out = []
    left = payload_bits
    for _ in range(n):
        body = min(left, per_packet)
        out.append(1 + math.ceil(body / flit_bits))
        left -= body
    return out


class DramAddressMap:
    """Burst address -> (channel, rank, bank, row, column) by ``dram.address_mapping``
    (``docs/microarchitecture.md`` 7.1). ``bank`` is the bank within its rank: with a
    ``Bg`` field, ``bank group * banks per group + bank within the group``."""

    FIELDS = {"Ro": "row", "Ba": "bank", "Ra": "rank", "Co": "col", "Ch": "channel",
              "Bg": "group"}

    def __init__(self, cfg: Config):
        d = cfg.dram
        self.burst = d.burst_bytes
        names = [self.FIELDS[f] for f in address_mapping_fields(d.address_mapping)]
        self.group_banks = d.banks // d.bank_groups if "group" in names else d.banks
        widths = {"channel": d.channels, "rank": d.ranks, "bank": self.group_banks,
                  "group": d.bank_groups, "col": d.row_bytes // d.burst_bytes}
        self.order = list(reversed(names))  # least significant first
        self.bits = {k: int(math.log2(v)) for k, v in widths.items()}

    def channel_field(self) -> tuple[int, int]:
        """(shift, mask) of the channel field in a burst index."""
        shift = 0
        for name in self.order:
            if name == "channel":
                return shift, (1 << self.bits["channel"]) - 1
            if name == "row":
                break
            shift += self.bits[name]
        return 0, 0

    def _fields(self, a) -> dict:
        out = {"group": 0}
        for name in self.order:  # the row is always the most significant field: the rest
            if name == "row":
                out["row"] = a
                break
            w = self.bits[name]
            out[name] = a & ((1 << w) - 1)
            a = a >> w
        out["bank"] = out.pop("group") * self.group_banks + out["bank"]
        return out

    def decode(self, byte_addr: int) -> dict:
        return self._fields(byte_addr // self.burst)

    def decode_array(self, byte_addrs) -> dict:
        """:meth:`decode` of a numpy array of byte addresses (fields as int64 arrays)."""
        import numpy as np

        return self._fields(np.asarray(byte_addrs, dtype=np.int64) // self.burst)


class MemorySystem:
    """Interface; see the module docstring."""

    def send(self, cycle: int, src: tuple, dst: tuple, payload_bits: int, kind: str,
             tag: tuple = ()) -> Handle:
        raise NotImplementedError

    def dram_read(self, cycle: int, node: int, addr: int, nbytes: int, tensor: str,
                  tag: tuple = ()) -> Handle:
        raise NotImplementedError

    def dram_write(self, cycle: int, node: int, addr: int, nbytes: int, tensor: str,
                   tag: tuple = ()) -> Handle:
        raise NotImplementedError

    def next_event(self, horizon: int | None = None) -> int | None:
        raise NotImplementedError

    def post_order(self, key: int) -> None:
        """Order key of the posts that follow among those of the same cycle (lower first;
        equal keys in posting order). Only a model with queues needs it."""

    def advance(self, cycle: int) -> list[Handle]:
        raise NotImplementedError

    # After the run: records for stats and the differential test.
    messages: list
    dram: list
    counters: Counter


class RecordLog:
    """A model's records kept compactly (a DRAM transfer once, not once per burst; the
    cycle-level model's records in its numpy tables) and built on iteration. Behaves as a
    read-only sequence (``len``, iteration, indexing, ``==`` with a list).

    The owner provides ``_record_count(which)``, ``_expand(which)`` (a generator of the
    records in posting order), ``_record_stamp()`` (changes whenever a record may have
    changed: the cache of ``[i]`` is rebuilt then) and ``_message_summary()``."""

    def __init__(self, owner, which: str):
        self._owner = owner
        self._which = which      # "messages" or "dram"
        self._cache = None
        self._stamp = None

    def __len__(self):
        return self._owner._record_count(self._which)

    def __iter__(self):
        return self._owner._expand(self._which)

    def __getitem__(self, i):
        stamp = self._owner._record_stamp()
        if self._cache is None or self._stamp != stamp:
            self._cache = list(self)
            self._stamp = stamp
        return self._cache[i]

    def __eq__(self, other):
        return list(self) == list(other)

    def summary_by_kind(self) -> dict:
        """{message kind: (messages, flits, payload bits)} without expanding the log."""
        return dict(self._owner._message_summary())


class IdealMemorySystem(MemorySystem):
    """Fixed latency, unlimited bandwidth (``noc.model: ideal`` with ``dram.model: ideal``).

    A DRAM transfer of ``n`` bursts is handled in bulk (its bursts share their timing), so
    streaming large spilled tensors costs per transfer, not per burst; the per-burst records
    are produced on demand by :class:`RecordLog`."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.ln = cfg.noc.ideal_latency
        self.ld = cfg.dram.ideal_latency
        self.flit_bits = cfg.noc.flit_bits
        self.amap = DramAddressMap(cfg)
        self.mesh = Mesh.of(cfg)
        self._heap: list = []
        self._id = 0
        self._now = 0
        self._log: list = []    # ("msg", MessageRecord) or ("dram", transfer tuple)
        self._n_records = {"messages": 0, "dram": 0}
        self._by_kind: dict = {}
        self._hops: dict = {}
        self._flits: dict = {}
        self.messages = RecordLog(self, "messages")
        self.dram = RecordLog(self, "dram")
        self.counters: Counter = Counter()
        self._ch_shift, self._ch_mask = self.amap.channel_field()

    def _new(self, kind, cycle, tag) -> Handle:
        if cycle < self._now:
            raise ValueError(f"post at cycle {cycle} after advance to {self._now}")
        self._id += 1
        return Handle(self._id, kind, cycle, tag)

    def _packets(self, payload_bits):
        got = self._flits.get(payload_bits)
        if got is None:
            got = self._flits[payload_bits] = packetize(payload_bits, self.flit_bits)
        return got

    def _hop(self, a, b):
        key = (a, b)
        h = self._hops.get(key)
        if h is None:
            h = self._hops[key] = self.mesh.hops(a, b)
        return h

    def _count_messages(self, kind, src, dst, payload_bits, times=1, via=None):
        """Counters of ``times`` identical messages; returns (packets, flits) of one.
        ``via``: where a multicast leg starts (the previous destination of the chain)."""
        flits = self._packets(payload_bits)
        h = self._hop((via or src)[0], dst[0])
        np_, nf = len(flits), sum(flits)
        c = self.counters
        c[("noc", "packets")] += np_ * times
        c[("noc", "flits")] += nf * times
        c[("noc", "router_flits")] += nf * (h + 1) * times
        c[("noc", "link_flits")] += nf * h * times
        m, f, b = self._by_kind.get(kind, (0, 0, 0))
        self._by_kind[kind] = (m + times, f + nf * times, b + payload_bits * times)
        self._n_records["messages"] += times
        return np_, nf

    def _post_message(self, cycle, src, dst, payload_bits, kind, tag, avail, via=None):
        h = self._new(kind, cycle, tag)
        h.available = avail
        if avail == cycle and via is None and tuple(src) == tuple(dst):
            np_, nf = 0, 0  # the sender itself (multicast member): no NoC (spec 4.5)
            self._n_records["messages"] += 1
        else:
            np_, nf = self._count_messages(kind, src, dst, payload_bits, via=via)
        self._log.append(("msg", MessageRecord(kind, src, dst, cycle, avail, payload_bits,
                                               np_, nf, tag)))
        heapq.heappush(self._heap, (h.available, h.id, h))
        return h

    def send(self, cycle, src, dst, payload_bits, kind, tag=()):
        if isinstance(dst, list):  # several destinations (see the module docstring)
            if not self.cfg.noc.multicast:
                return [self.send(cycle, src, d, payload_bits, kind, tag) for d in dst]
            src = tuple(src)
            dsts = [tuple(d) for d in dst]
            out, prev = {}, src
            if src in dsts:
                out[src] = self._post_message(cycle, src, src, payload_bits, kind, tag, cycle)
            for d in self.mesh.multicast_chain(src, dsts):  # each leg counts its own hops
                out[d] = self._post_message(cycle, src, d, payload_bits, kind, tag,
                                            cycle + self.ln, via=prev)
                prev = d
            return [out[d] for d in dsts]
        same = tuple(src) == tuple(dst)  # the sender's own endpoint: no NoC
        return self._post_message(cycle, src, dst, payload_bits, kind, tag,
                                  cycle if same else cycle + self.ln)

    def _bursts(self, addr, nbytes):
        """(first burst index, number of bursts) of a transfer."""
        b = self.amap.burst
        first = addr // b
        n = max(1, math.ceil((addr + nbytes) / b) - first) if nbytes > 0 else 0
        return first, n

    def _dram(self, cycle, node, addr, nbytes, tensor, tag, write):
        h = self._new("dram_write" if write else "dram_read", cycle, tag)
        first, n = self._bursts(addr, nbytes)
        arrive = cycle + self.ln
        complete = arrive + self.ld
        done = cycle
        if n:
            done = complete if write else complete + self.ln
            chans = (np.arange(first, first + n, dtype=np.int64) >> self._ch_shift) & self._ch_mask
            per_ch = np.bincount(chans, minlength=self.cfg.dram.channels)
            core = (node, PORT_CORE)
            bits = self.amap.burst * 8
            key = "write" if write else "read"
            for ch in np.nonzero(per_ch)[0]:
                ch, k = int(ch), int(per_ch[ch])
                ctrl = (self.mesh.dram_controller(ch), PORT_DRAM)
                if write:
                    self._count_messages("dram_write", core, ctrl, bits, k)
                else:
                    self._count_messages("dram_read_req", core, ctrl, 0, k)
                    self._count_messages("dram_read_resp", ctrl, core, bits, k)
                self.counters[(f"dram.ch{ch}", f"{key}_bytes")] += self.amap.burst * k
                self.counters[(f"dram.ch{ch}", f"{key}_bytes.{tensor}")] += self.amap.burst * k
            self._n_records["dram"] += n
            self._log.append(("dram", (write, node, first, n, cycle, arrive, complete, tensor,
                                       tag)))
        h.available = done
        heapq.heappush(self._heap, (h.available, h.id, h))
        return h

    def _record_count(self, which):
        return self._n_records[which]

    def _record_stamp(self):
        return (self._n_records["messages"], self._n_records["dram"])

    def _message_summary(self):
        return self._by_kind

    def _expand(self, which):
        """Records in posting order; a transfer yields, burst by burst in ascending address,
        its request (and response) messages or its DRAM record."""
        b = self.amap.burst
        bits = b * 8
        ctrls = [(self.mesh.dram_controller(ch), PORT_DRAM)
                 for ch in range(self.cfg.dram.channels)]
        for kind, item in self._log:
            if kind == "msg":
                if which == "messages":
                    yield item
                continue
            write, node, first, n, cycle, arrive, complete, tensor, tag = item
            core = (node, PORT_CORE)
            for i in range(n):
                a = (first + i) * b
                ch = ((first + i) >> self._ch_shift) & self._ch_mask
                if which == "dram":
                    yield DramRecord(ch, tensor, write, a, arrive, complete, "ideal")
                    continue
                ctrl = ctrls[ch]
                if write:
                    np_, nf = len(self._packets(bits)), sum(self._packets(bits))
                    yield MessageRecord("dram_write", core, ctrl, cycle, arrive, bits, np_, nf,
                                        tag)
                else:
                    yield MessageRecord("dram_read_req", core, ctrl, cycle, arrive, 0, 1, 1, tag)
                    np_, nf = len(self._packets(bits)), sum(self._packets(bits))
                    yield MessageRecord("dram_read_resp", ctrl, core, complete, complete + self.ln,
                                        bits, np_, nf, tag)

    def dram_read(self, cycle, node, addr, nbytes, tensor, tag=()):
        return self._dram(cycle, node, addr, nbytes, tensor, tag, write=False)

    def dram_write(self, cycle, node, addr, nbytes, tensor, tag=()):
        return self._dram(cycle, node, addr, nbytes, tensor, tag, write=True)

    def next_event(self, horizon=None):
        t = self._heap[0][0] if self._heap else None
        return None if (t is None or (horizon is not None and t > horizon)) else t

    def advance(self, cycle):
        self._now = max(self._now, cycle)
        out = []
        while self._heap and self._heap[0][0] <= cycle:
            out.append(heapq.heappop(self._heap)[2])
        return out


__all__ = ["MemorySystem", "IdealMemorySystem", "RecordLog", "Handle",
           "packetize", "DramAddressMap", "PORT_CORE", "PORT_DRAM"]
