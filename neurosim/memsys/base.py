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
  work when posts follow. ``final=True`` promises that nothing will be posted before
  ``horizon`` (without a horizon: before the delivery it returns): the cycle-level model
  then runs there without checkpoints (a post before it is an error).
- ``set_wakes(h, False)``: the caller need not be woken at ``h``'s delivery (nothing it has
  waits on it). A final ``next_event`` then does not stop there: the handles it passes
  that way are available, at their own cycles, in ``settled()``, which the caller takes
  after each ``next_event``; ``advance`` delivers the others as usual.
- ``send(..., dst=[(node, port), ...])`` sends one message to several endpoints and returns
  a list of handles, one per destination in the order given: a chained multicast
  (``docs/microarchitecture.md`` 4.5) with ``noc.multicast: true``, else one unicast each.

:class:`MemorySystem` does everything that does not depend on timing (endpoint checks, the
multicast chain, burst splitting, the traffic counters, the message log), so traffic
statistics do not depend on the model chosen; the models add the timing:
:class:`~neurosim.memsys.ideal.IdealMemorySystem` (fixed latencies, unlimited bandwidth) and
:class:`~neurosim.memsys.cycle.CycleMemorySystem` (cycle-level NoC and/or DRAM).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..arch import address_mapping_fields
from ..counters import NOC_PATH, dram_path
from ..counters import key as counter_key
from ..params import Config
from ..timing import MessageRecord
from .topology import PORT_CORE, PORT_DRAM, Mesh

MAX_PAYLOAD_FLITS = 16  # body flits per packet (docs/microarchitecture.md 4.4)


@dataclass(slots=True, eq=False)
class Handle:
    """A posted message or DRAM transfer. ``available`` is set when it completes."""

    id: int
    kind: str                 # message kind, or "dram_read" / "dram_write"
    post: int
    tag: tuple = ()
    available: int | None = None
    kh: int = -1              # the timing model's own number of it (-1: none)


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
        # (shift, mask) of each field below the row in a burst index; the row is always the
        # most significant field: the rest of the index
        self.layout: dict = {}
        shift = 0
        for name in self.order[:self.order.index("row")]:
            self.layout[name] = (shift, (1 << self.bits[name]) - 1)
            shift += self.bits[name]
        self.row_shift = shift

    def channel_field(self) -> tuple[int, int]:
        """(shift, mask) of the channel field in a burst index."""
        return self.layout.get("channel", (0, 0))

    def field_table(self) -> np.ndarray:
        """(shift, mask) of the rank, bank and bank-group fields, the row's shift and the
        banks per group, for kernels that decode burst indices (as :meth:`_fields`)."""
        return np.array([*self.layout["rank"], *self.layout["bank"],
                         *self.layout.get("group", (0, 0)), self.row_shift,
                         self.group_banks], np.int64)

    def _fields(self, a) -> dict:
        out = {"group": 0}
        for name, (shift, mask) in self.layout.items():
            out[name] = (a >> shift) & mask
        out["row"] = a >> self.row_shift
        out["bank"] = out.pop("group") * self.group_banks + out["bank"]
        return out

    def bursts(self, addr: int, nbytes: int) -> tuple[int, int]:
        """(first burst index, number of bursts) of a transfer of ``nbytes`` from byte
        ``addr`` (spec 5.2: every burst it touches; none for 0 bytes)."""
        first = addr // self.burst
        n = max(1, math.ceil((addr + nbytes) / self.burst) - first) if nbytes > 0 else 0
        return first, n

    def channels(self, first: int, n: int) -> np.ndarray:
        """Channel of each of the bursts ``first .. first + n - 1``."""
        shift, mask = self.channel_field()
        return (np.arange(first, first + n, dtype=np.int64) >> shift) & mask

    def decode(self, byte_addr: int) -> dict:
        return self._fields(byte_addr // self.burst)

    def decode_array(self, byte_addrs) -> dict:
        """:meth:`decode` of a numpy array of byte addresses (fields as int64 arrays)."""
        return self._fields(np.asarray(byte_addrs, dtype=np.int64) // self.burst)


class MemorySystem:
    """The facade (see the module docstring), with what every model shares: handles, the
    unicast / multicast flow of ``send`` (spec 4.4, 4.5), burst splitting of DRAM transfers
    (5.2), the traffic counters fixed at post time (``noc`` packets, flits, router and link
    flits; DRAM bytes per channel and tensor kind) and the message log behind ``messages``.

    A model provides the timing: ``_post_unicasts`` (unicast messages posted together),
    ``_post_leg`` (one leg of a multicast chain), ``_post_transfer``
    (a DRAM transfer split into bursts), ``_available_at`` (a handle whose availability is
    known at post), ``next_event``, ``advance``, ``_expand_transfer`` (the records of a
    transfer), and ``_now`` (posts before it are refused)."""

    # Whether next_event() simulates ahead of the committed cycle (and rolls back when a
    # later post proves it wrong): a caller that knows when it may post next passes that
    # cycle as the horizon.
    speculates = False

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.mesh = Mesh.of(cfg)
        self.amap = DramAddressMap(cfg)
        self.flit_bits = cfg.noc.flit_bits
        self.ln = cfg.noc.ideal_latency
        self._id = 0
        self._now = 0
        self._log: list = []         # ("msg", message descriptor) or ("dram", transfer)
        self._n_records = {"messages": 0, "dram": 0}
        self._by_kind: dict = {}     # kind -> (records, flits, payload bits), in record order
        self._traffic = Counter()    # counters fixed at post time
        self._packets: dict = {}     # payload bits -> (flits of each packet, their sum)
        self._endpoints_ok: set = set()   # endpoints already checked
        # counter keys of the per-message and per-transfer counts, built once: going through
        # the cached counters.key on every message (with the chip's SRAM keys) made an
        # ideal-memory resnet19-cifar10 step about 8 % slower
        self._noc_keys = tuple(counter_key(NOC_PATH, a)
                               for a in ("packets", "flits", "router_flits", "link_flits"))
        self._dram_keys: dict = {}   # (channel, write, tensor) -> its two byte counters
        self.messages = RecordLog(self, "messages")
        self.dram = RecordLog(self, "dram")
        self._ctrl_node = np.array([self.mesh.dram_controller(ch)    # by channel
                                    for ch in range(cfg.dram.channels)], dtype=np.int64)
        nodes = np.arange(self.mesh.nodes)
        hops = self.mesh.hops(nodes[:, None], nodes[None, :])
        self._hops = hops.tolist()                  # [a][b]: hops from node a to node b
        self._ctrl_hops = hops[:, self._ctrl_node]  # from each node to each channel's controller
        bits = self.amap.burst * 8   # packets of a DRAM request / response (spec 5.2)
        self._dram_flits = {"dram_write": self.packets(bits), "dram_read_req": self.packets(0),
                            "dram_read_resp": self.packets(bits)}

    # ------------------------------------------------------------ shared helpers

    def packets(self, payload_bits: int) -> list[int]:
        """Flits of each packet of a message of ``payload_bits`` (spec 4.4)."""
        return self._packetized(payload_bits)[0]

    def _packetized(self, payload_bits: int) -> tuple:
        """(flits of each packet, total flits) of a message of ``payload_bits`` (computed
        once per size: the chip sends hundreds of thousands of messages per step)."""
        got = self._packets.get(payload_bits)
        if got is None:
            flits = packetize(payload_bits, self.flit_bits)
            got = self._packets[payload_bits] = (flits, sum(flits))
        return got

    def _post_at(self, cycle: int) -> None:
        """Posts at ``cycle`` follow (refused before the committed cycle)."""
        if cycle < self._now:
            raise ValueError(f"post at cycle {cycle} after advance to {self._now}")
        self._posted(cycle)

    def _new(self, kind: str, cycle: int, tag: tuple) -> Handle:
        self._id += 1
        return Handle(self._id, kind, cycle, tag)

    def _posted(self, cycle: int) -> None:
        """A post at ``cycle`` (a model that speculates takes note)."""

    def _check_endpoint(self, ep: tuple) -> None:
        if ep in self._endpoints_ok:
            return
        node, port = int(ep[0]), int(ep[1])
        if not 0 <= node < self.mesh.nodes:
            raise ValueError(f"endpoint {ep}: no such mesh node")
        if port not in (PORT_CORE, PORT_DRAM):
            raise ValueError(f"endpoints sit on router port 0 or 5, not {port}")
        if port == PORT_DRAM and node not in self.mesh.dram_nodes:
            raise ValueError(f"endpoint {ep}: no DRAM controller at node {node}")
        self._endpoints_ok.add(ep)

    def _count_records(self, kind: str, n: int, flits: int, bits: int) -> None:
        """``n`` message records of one kind, of ``flits`` flits and ``bits`` payload in
        all."""
        self._n_records["messages"] += n
        m, f, b = self._by_kind.get(kind, (0, 0, 0))
        self._by_kind[kind] = (m + n, f + flits, b + bits)

    def _count_noc(self, packets: int, flits: int, link_flits: int) -> None:
        """NoC counters of ``packets`` packets of ``flits`` flits in all, crossing links
        ``link_flits`` times in all (spec 4.4: counted at post, whatever the timing model);
        a flit passes the router of each link it crosses and its source's."""
        c = self._traffic
        k_packets, k_flits, k_router, k_link = self._noc_keys
        c[k_packets] += packets
        c[k_flits] += flits
        c[k_router] += link_flits + flits
        c[k_link] += link_flits

    # ------------------------------------------------------------ posts

    def send(self, cycle: int, src: tuple, dst, payload_bits: int, kind: str,
             tag: tuple = ()):
        """One message; to a list of endpoints, a chained multicast (spec 4.5) with
        ``noc.multicast: true`` (one handle per destination, in the order given), else one
        unicast each. A message to the sender's own endpoint uses no NoC."""
        if not isinstance(dst, list):
            return self.send_many(cycle, src, [dst], [payload_bits], kind, [tag])[0]
        if not self.cfg.noc.multicast:
            n = len(dst)
            return self.send_many(cycle, src, dst, [payload_bits] * n, kind, [tag] * n)
        src, dsts = self._endpoints(src, dst)
        chain = self.mesh.multicast_chain(src, dsts)     # each leg counts its own hops
        self._post_at(cycle)
        local = [src] if src in dsts else []
        order = local + chain
        n = len(order)
        handles, legs = self._new_messages(cycle, src, local + ([src] + chain)[:len(chain)],
                                           order, [payload_bits] * n, kind, [tag] * n)
        token, via = None, src
        for h, d, flits in legs:
            token = self._post_leg(h, via, d, flits, token)
            via = d
        by_dst = dict(zip(order, handles))
        return [by_dst[d] for d in dsts]

    def send_many(self, cycle: int, src: tuple, dsts: list, payload_bits: list, kind: str,
                  tags: list) -> list[Handle]:
        """Unicast messages of one kind from ``src`` to each of ``dsts``, with the payload
        bits and tag of each: the same as one ``send`` each, in the order given, with one
        pass of the timing model for all (the chip model posts a tile's messages so). One
        handle per message, in that order."""
        if not len(dsts) == len(payload_bits) == len(tags):
            raise ValueError(f"send_many: {len(dsts)} destinations, {len(payload_bits)} "
                             f"payloads, {len(tags)} tags")
        src, dsts = self._endpoints(src, dsts)
        self._post_at(cycle)
        handles, legs = self._new_messages(cycle, src, [src] * len(dsts), dsts, payload_bits,
                                           kind, tags)
        if legs:
            self._post_unicasts(src, legs)
        return handles

    def _endpoints(self, src, dsts) -> tuple:
        """(src, dsts) as tuples, checked."""
        src, dsts = tuple(src), [tuple(d) for d in dsts]
        self._check_endpoint(src)
        for ep in dsts:
            self._check_endpoint(ep)
        return src, dsts

    def _new_messages(self, cycle, src, vias, dsts, payload_bits, kind, tags) -> tuple:
        """Messages of one kind from ``src`` that leave from ``vias`` (the previous
        destination of a multicast chain, else ``src``), logged and counted: (a handle
        each, (handle, destination, flits of each packet) of those that use the NoC, for
        the timing model to post). One to ``src`` itself is available at once."""
        handles, legs = [], []
        packets = flits = link_flits = 0
        log, hops = self._log, self._hops
        for via, dst, bits, tag in zip(vias, dsts, payload_bits, tags):
            h = self._new(kind, cycle, tag)
            handles.append(h)
            if dst == src:
                log.append(("msg", (kind, src, src, cycle, bits, 0, 0, tag, h)))
                self._available_at(h, cycle)
                continue
            f, total = self._packetized(bits)
            log.append(("msg", (kind, src, dst, cycle, bits, len(f), total, tag, h)))
            packets += len(f)
            flits += total
            link_flits += total * hops[via[0]][dst[0]]
            legs.append((h, dst, f))
        self._count_records(kind, len(handles), flits, sum(payload_bits))
        if legs:
            self._count_noc(packets, flits, link_flits)
        return handles, legs

    def dram_read(self, cycle: int, node: int, addr: int, nbytes: int, tensor: str,
                  tag: tuple = ()) -> Handle:
        return self._dram(cycle, node, addr, nbytes, tensor, tag, write=False)

    def dram_write(self, cycle: int, node: int, addr: int, nbytes: int, tensor: str,
                   tag: tuple = ()) -> Handle:
        return self._dram(cycle, node, addr, nbytes, tensor, tag, write=True)

    def _dram(self, cycle, node, addr, nbytes, tensor, tag, write) -> Handle:
        """A transfer of ``nbytes`` from byte ``addr``: one request per burst (spec 5.2),
        each with its request (and response) messages between the core and the channel's
        controller."""
        self._post_at(cycle)
        h = self._new("dram_write" if write else "dram_read", cycle, tag)
        first, n = self.amap.bursts(addr, nbytes)
        if n == 0:
            return self._available_at(h, cycle)
        channels = self.amap.channels(first, n)
        b = self.amap.burst
        bursts = np.bincount(channels)           # per channel, in channel order
        for ch in np.flatnonzero(bursts).tolist():
            total, by_tensor = self._dram_counter_keys(ch, write, tensor)
            self._traffic[total] += int(bursts[ch]) * b
            self._traffic[by_tensor] += int(bursts[ch]) * b
        hops = int(np.dot(bursts, self._ctrl_hops[node, :len(bursts)]))
        legs = ("dram_write",) if write else ("dram_read_req", "dram_read_resp")
        for leg in legs:
            flits = self._dram_flits[leg]
            total = sum(flits)
            self._count_noc(len(flits) * n, total * n, total * hops)
            self._count_records(leg, n, total * n, b * 8 * n if leg != "dram_read_req" else 0)
        self._n_records["dram"] += n
        return self._post_transfer(h, node, first, n, channels, tensor, write)

    def _dram_counter_keys(self, ch: int, write: bool, tensor: str) -> tuple:
        got = self._dram_keys.get((ch, write, tensor))
        if got is None:
            action = "write_bytes" if write else "read_bytes"
            got = self._dram_keys[(ch, write, tensor)] = (
                counter_key(dram_path(ch), action), counter_key(dram_path(ch), action, tensor))
        return got

    # ------------------------------------------------------------ records

    def _record_count(self, which: str) -> int:
        return self._n_records[which]

    def _message_summary(self) -> dict:
        return self._by_kind

    def _records_ending_at(self, which: str, cycle: int) -> list:
        """See :meth:`RecordLog.ending_at`."""
        end = "complete" if which == "dram" else "available"
        return [r for r in self._expand(which, since=cycle) if getattr(r, end) == cycle]

    def _expand(self, which: str, since: int | None = None):
        """Records in posting order (a generator; see :class:`RecordLog`); a transfer yields,
        burst by burst in ascending address, its request (and response) messages or its
        DRAM records (``_expand_transfer``). With ``since``, a model may leave out records
        that end before that cycle."""
        context = self._expand_context(which, since)
        for what, item in self._log:
            if what == "msg":
                if which == "messages":
                    kind, src, dst, send, bits, npk, nfl, tag, h = item
                    avail = h.available if h.available is not None else -1
                    if since is None or avail >= since:
                        yield MessageRecord(kind, src, dst, send, avail, bits, npk, nfl, tag)
                continue
            yield from self._expand_transfer(item, which, context)

    def post_order(self, key: int) -> None:
        """Order key of the posts that follow among those of the same cycle (lower first;
        equal keys in posting order). Only a model with queues needs it."""

    # ------------------------------------------------------------ the model's part

    def _available_at(self, h: Handle, t: int) -> Handle:
        raise NotImplementedError

    def _post_unicasts(self, src: tuple, legs: list) -> None:
        """Unicast messages from ``src`` posted together: ``legs`` is a list of (handle,
        destination, flits of each packet), in posting order."""
        raise NotImplementedError

    def _post_leg(self, h: Handle, via: tuple, dst: tuple, flits: list, prev):
        """A leg of a multicast chain from ``via`` to ``dst``, posted at once (``prev`` is
        None) or forwarded once the previous leg (the model's token ``prev``, returned by
        the call that posted it) has reached ``via``; returns the leg's token."""
        raise NotImplementedError

    def _post_transfer(self, h, node, first, n, channels, tensor, write) -> Handle:
        raise NotImplementedError

    def _expand_context(self, which: str, since: int | None = None):
        """What ``_expand_transfer`` needs, computed once per expansion (none here)."""

    def _expand_transfer(self, transfer, which: str, context):
        raise NotImplementedError

    def next_event(self, horizon: int | None = None, final: bool = False) -> int | None:
        raise NotImplementedError

    def set_wakes(self, h: Handle, wakes: bool) -> bool:
        """Whether the caller must be woken at ``h``'s delivery (the default) or may take it
        from :meth:`settled` (see the module docstring). False: the model delivers every
        handle through ``advance``, whatever is asked."""
        return False

    def settled(self) -> list[Handle]:
        """Quiet handles (``set_wakes(h, False)``) that the last ``next_event(...,
        final=True)`` found available before the cycle it ran to, by (available, id)."""
        return []

    def advance(self, cycle: int) -> list[Handle]:
        raise NotImplementedError

    @property
    def counters(self) -> Counter:
        return Counter(self._traffic)


class RecordsNotKept(RuntimeError):
    """The per-transfer records of a long run were summarised, not kept (bounded memory)."""

    def __init__(self, rows: int):
        super().__init__(
            f"the memory system kept the records of its first {rows:,} DRAM requests only "
            "(beyond, their statistics are summarised to bound the memory of long runs): "
            "the per-message and per-request records of this run cannot be listed")


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

    def ending_at(self, cycle: int) -> list:
        """The records that end at ``cycle`` (messages available, DRAM records complete
        then), in posting order. Works for the last cycles of a long run whose records are
        no longer all kept (the critical path's queries; ``Engine.RECORD_WINDOW`` of the
        cycle-level model)."""
        return self._owner._records_ending_at(self._which, cycle)


__all__ = ["MemorySystem", "RecordLog", "RecordsNotKept", "Handle", "packetize",
           "DramAddressMap"]
