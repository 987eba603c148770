"""The ``ideal`` memory system (``noc.model: ideal`` with ``dram.model: ideal``): fixed
latencies, unlimited bandwidth (``docs/microarchitecture.md`` 4.4, 5.2). It still counts
packets, flits, hops and DRAM bytes (in :class:`~neurosim.memsys.base.MemorySystem`), so
traffic statistics do not depend on the timing model chosen."""
from __future__ import annotations

import heapq

from ..params import Config
from ..timing import DramRecord, MessageRecord
from .base import Handle, MemorySystem
from .topology import PORT_CORE, PORT_DRAM


class IdealMemorySystem(MemorySystem):
    """Fixed latency, unlimited bandwidth. A message is available ``noc.ideal_latency``
    cycles after it is sent; a DRAM request reaches its controller ``noc.ideal_latency``
    after the post, completes ``dram.ideal_latency`` later, and a read's data is back
    ``noc.ideal_latency`` after that.

    A DRAM transfer of ``n`` bursts is handled in bulk (its bursts share their timing), so
    streaming large spilled tensors costs per transfer, not per burst; the per-burst records
    are produced on demand by :class:`~neurosim.memsys.base.RecordLog`."""

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.ld = cfg.dram.ideal_latency
        self._heap: list = []

    def _available_at(self, h: Handle, t: int) -> Handle:
        h.available = t
        heapq.heappush(self._heap, (t, h.id, h))
        return h

    def _post_unicasts(self, src, legs):
        for h, _dst, _flits in legs:
            self._available_at(h, h.post + self.ln)

    def _post_leg(self, h, via, dst, flits, prev):
        self._available_at(h, h.post + self.ln)

    def _post_transfer(self, h, node, first, n, channels, tensor, write):
        arrive = h.post + self.ln
        complete = arrive + self.ld
        self._log.append(("dram", (write, node, first, n, h.post, arrive, complete, tensor,
                                   h.tag)))
        return self._available_at(h, complete if write else complete + self.ln)

    def _record_stamp(self):
        return (self._n_records["messages"], self._n_records["dram"])

    def _expand_context(self, which, since=None):
        return since

    def _expand_transfer(self, transfer, which, context):
        """A transfer's records, burst by burst in ascending address; none when all of
        them end before ``context`` (the expansion's ``since``: the critical path asks
        only for the last cycles, and a spilling step has millions of bursts)."""
        write, node, first, n, cycle, arrive, complete, tensor, tag = transfer
        if context is not None:
            last_end = complete if which == "dram" else arrive if write else complete + self.ln
            if last_end < context:
                return
        b = self.amap.burst
        core = (node, PORT_CORE)
        flits = self._dram_flits
        for i, ch in enumerate(self.amap.channels(first, n).tolist()):
            if which == "dram":
                yield DramRecord(ch, tensor, write, (first + i) * b, arrive, complete, "ideal")
                continue
            ctrl = (int(self._ctrl_node[ch]), PORT_DRAM)
            if write:
                f = flits["dram_write"]
                yield MessageRecord("dram_write", core, ctrl, cycle, arrive, b * 8, len(f),
                                    sum(f), tag)
            else:
                f = flits["dram_read_req"]
                yield MessageRecord("dram_read_req", core, ctrl, cycle, arrive, 0, len(f),
                                    sum(f), tag)
                f = flits["dram_read_resp"]
                yield MessageRecord("dram_read_resp", ctrl, core, complete, complete + self.ln,
                                    b * 8, len(f), sum(f), tag)

    def next_event(self, horizon=None, final=False):
        t = self._heap[0][0] if self._heap else None
        return None if (t is None or (horizon is not None and t > horizon)) else t

    def advance(self, cycle):
        self._now = max(self._now, cycle)
        out = []
        while self._heap and self._heap[0][0] <= cycle:
            out.append(heapq.heappop(self._heap)[2])
        return out


__all__ = ["IdealMemorySystem"]
