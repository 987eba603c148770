"""Derived statistics of the cycle-level memory system: per link, router and endpoint of the
NoC, per packet kind, per DRAM channel. ``memsys_extra`` gives plain data (for
``TimingResult.extra["memsys"]``); ``publish_memsys_stats`` puts the same numbers, with units
and descriptions, into a :class:`~neurosim.stats.StatGroup`.
"""
from __future__ import annotations

import numpy as np

from ..arch import dram_timing_cycles
from . import dram as dm
from . import noc as nm
from .topology import NPORTS, PORT_NAMES, Mesh

LATENCY_EDGES = (0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 1 << 62)


def latency_summary(lat: np.ndarray) -> dict:
    """Mean, percentiles and a histogram (bins ``[edge_k, edge_k+1)`` cycles)."""
    lat = np.asarray(lat, dtype=np.int64)
    return latency_summary_of_counts(np.bincount(lat) if lat.size else np.zeros(0, np.int64))


def percentile_of_counts(counts: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (method ``linear``) of the non-negative integers whose
    occurrences ``counts[v]`` gives, without expanding them: the two order statistics
    around the virtual index ``(n - 1) q / 100`` and numpy's interpolation arithmetic (the
    same float operations, so the same result bit for bit; a test compares the two)."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        below = above = n - 1
    else:
        below = int(np.floor(virtual))
        above = below + 1
    gamma = virtual - float(below)
    a = int(np.searchsorted(cum, below, side="right"))   # the value of rank ``below``
    b = int(np.searchsorted(cum, above, side="right"))
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


def latency_summary_of_counts(counts: np.ndarray) -> dict:
    """:func:`latency_summary` of latencies given as occurrences by value (``counts[v]``:
    how many latencies are ``v`` cycles): what the memory system keeps instead of every
    packet's and request's latency (bounded memory for long runs)."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return {"count": 0, "mean": None, "p50": None, "p99": None, "max": None,
                "hist_edges": list(LATENCY_EDGES[:-1]),
                "hist_counts": [0] * (len(LATENCY_EDGES) - 1)}
    values = np.arange(counts.size, dtype=np.int64)
    total = int((values * counts).sum())
    below = np.concatenate(([0], np.cumsum(counts)))   # below[v]: latencies under v
    at = np.minimum(np.array(LATENCY_EDGES, dtype=np.float64), counts.size).astype(np.int64)
    hist = np.diff(below[at]).astype(int).tolist()
    return {"count": n, "mean": total / n,
            "p50": percentile_of_counts(counts, 50), "p99": percentile_of_counts(counts, 99),
            "max": int(np.nonzero(counts)[0][-1]), "hist_edges": list(LATENCY_EDGES[:-1]),
            "hist_counts": hist}


def add_counts(into: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``into`` (occurrences by value) plus the occurrences of the non-negative integers
    ``values``, as a new array as long as needed."""
    if values.size == 0:
        return into
    return add_occurrences(into, np.bincount(values))


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of non-negative integers with a small maximum (kind, channel
    and tensor codes), by counting instead of sorting (the tallies below run on every
    retired batch of packets and requests)."""
    return np.flatnonzero(np.bincount(values))


def add_occurrences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sum of two arrays of occurrences by value, as a new array (the longer length)."""
    if a.size < b.size:
        a, b = b, a
    out = a.astype(np.int64)
    out[:b.size] += b
    return out


class PacketTally:
    """Delivered NoC packets summarised by kind code: packets, flits and the occurrences of
    each latency (NI enqueue to tail ejection + 1). What the statistics read of the packets
    the cycle-level memory system retires, in memory bounded by the largest latency, not by
    the number of packets (issue 15)."""

    def __init__(self):
        self.kinds: dict = {}     # kind code -> [packets, flits, latency occurrences]

    def add(self, kind: np.ndarray, flits: np.ndarray, latency: np.ndarray) -> None:
        for k in distinct(kind).tolist():
            sel = kind == k
            got = self.kinds.setdefault(int(k), [0, 0, np.zeros(0, np.int64)])
            got[0] += int(sel.sum())
            got[1] += int(flits[sel].astype(np.int64).sum())
            got[2] = add_counts(got[2], latency[sel].astype(np.int64))

    def copy(self) -> "PacketTally":
        out = PacketTally()
        out.kinds = {k: [n, f, c.copy()] for k, (n, f, c) in self.kinds.items()}
        return out


class RequestTally:
    """Completed DRAM requests summarised by channel: requests by (write, tensor code), the
    occurrences of each latency (arrival at the controller to end of data) by direction,
    the first arrival and the last completion. Bounded like :class:`PacketTally`."""

    def __init__(self):
        self.requests: dict = {}  # (channel, write, tensor code) -> requests
        self.latency: dict = {}   # (channel, write) -> latency occurrences
        self.first: dict = {}     # channel -> earliest arrival
        self.last: dict = {}      # channel -> latest completion

    def add(self, channel, write, tensor, arrive, complete) -> None:
        channel = np.asarray(channel, np.int64)
        write = np.asarray(write, bool)
        tensor = np.asarray(tensor, np.int64)
        arrive = np.asarray(arrive, np.int64)
        complete = np.asarray(complete, np.int64)
        if channel.size == 0:
            return
        span = int(tensor.max()) + 1
        direction = channel * 2 + write          # (channel, write) as one code
        key = direction * span + tensor
        counts = np.bincount(key)
        keys = np.flatnonzero(counts)
        for k, n in zip(keys.tolist(), counts[keys].tolist()):
            cw, t = divmod(k, span)
            at = (cw // 2, bool(cw % 2), t)
            self.requests[at] = self.requests.get(at, 0) + n
        for cw in distinct(direction).tolist():
            sel = direction == cw
            at = (cw // 2, bool(cw % 2))
            self.latency[at] = add_counts(self.latency.get(at, np.zeros(0, np.int64)),
                                          complete[sel] - arrive[sel])
        for ch in distinct(channel).tolist():
            sel = channel == ch
            a, c = int(arrive[sel].min()), int(complete[sel].max())
            self.first[ch] = min(self.first.get(ch, a), a)
            self.last[ch] = max(self.last.get(ch, c), c)

    def count(self, channel: int | None = None, write: bool | None = None) -> int:
        return sum(n for (ch, w, _), n in self.requests.items()
                   if (channel is None or ch == channel) and (write is None or w == write))

    def latency_counts(self, channel: int, write: bool | None = None) -> np.ndarray:
        """Latency occurrences of a channel's requests (reads, writes, or both: None)."""
        out = np.zeros(0, np.int64)
        for w in (False, True):
            got = self.latency.get((channel, w))
            if got is not None and write in (None, w):
                out = add_occurrences(out, got)
        return out

    def copy(self) -> "RequestTally":
        out = RequestTally()
        out.requests = dict(self.requests)
        out.latency = {k: v.copy() for k, v in self.latency.items()}
        out.first, out.last = dict(self.first), dict(self.last)
        return out


def noc_extra(eng, cycles: int, kind_names: list[str]) -> dict:
    """Per-link, per-router, per-endpoint and per-packet-kind NoC statistics."""
    N = eng.N
    mesh = Mesh(int(N.par[nm.PAR_COLS]), int(N.par[nm.PAR_ROWS]))
    span = max(1, cycles)
    links = []
    for r, o, d in mesh.links():
        f = int(N.st_port[r, o])
        links.append({"from": list(mesh.xy(r)), "to": list(mesh.xy(d)),
                      "flits": f, "busy_cycles": f, "utilization": f / span})
    routers = []
    for r in range(mesh.nodes):
        routers.append({
            "node": r, "xy": list(mesh.xy(r)), "flits": int(N.st_router[r]),
            "busy_cycles": int(N.st_busy[r]),
            "avg_buffer_flits": {PORT_NAMES[i]: float(N.st_occ[r, i]) / span
                                 for i in range(NPORTS) if N.st_occ[r, i] > 0},
        })
    tally = eng.packet_tally(cycles)
    kinds = {}
    for k in sorted(tally.kinds):
        packets, flits, latency = tally.kinds[k]
        kinds[kind_names[k]] = {"packets": packets, "flits": flits,
                                "latency": latency_summary_of_counts(latency)}
    return {"cycles": int(cycles), "links": links, "routers": routers,
            "injected_flits": int(N.st_inj.sum()), "ejected_flits": int(N.st_ej.sum()),
            "packet_kinds": kinds}


def dram_extra(eng, cycles: int, tensor_names: list, cfg) -> dict:
    """Per-channel DRAM statistics over the committed requests. ``tensor_names``: the
    tensor kind of each code of the requests' ``tensor`` column."""
    D = eng.D
    d = cfg.dram
    burst_bytes, clock_mhz = d.burst_bytes, cfg.chip.clock_mhz
    tally = eng.request_tally(cycles)
    span = max(1, cycles)
    trfc = dram_timing_cycles(cfg)["tRFC"]
    out = {}
    for ch in range(D.q_cnt.shape[0]):
        requests = tally.count(ch)
        nbytes = requests * burst_bytes
        first, last = tally.first.get(ch, 0), tally.last.get(ch, 0)
        active = max(1, last - first)
        by_kind = {}
        for code in sorted({t for (c, _, t) in tally.requests if c == ch},
                           key=lambda k: tensor_names[k]):
            by_kind[tensor_names[code]] = {
                "read_bytes": tally.requests.get((ch, False, code), 0) * burst_bytes,
                "write_bytes": tally.requests.get((ch, True, code), 0) * burst_bytes}
        by_bank = {}
        for b in range(D.bank_outc.shape[1]):
            h, m, c = (int(x) for x in D.bank_outc[ch, b])
            if h + m + c:
                by_bank[f"rank{b // d.banks}.bank{b % d.banks}"] = {
                    "row_hits": h, "row_misses": m, "row_conflicts": c}
        served = int(D.outc[ch].sum())
        out[f"ch{ch}"] = {
            "requests": requests, "reads": tally.count(ch, False),
            "writes": tally.count(ch, True),
            "row_hits": int(D.outc[ch, 0]), "row_misses": int(D.outc[ch, 1]),
            "row_conflicts": int(D.outc[ch, 2]),
            "row_hit_rate": int(D.outc[ch, 0]) / served if served else None,
            "by_bank": by_bank,
            "commands": {name: int(D.cmd[ch, i]) for i, name in enumerate(dm.CMD_NAMES)},
            "refresh_cycles": int(D.cmd[ch, 2]) * trfc,
            "avg_read_queue": float(D.occupancy[ch, 0]) / span,
            "avg_write_queue": float(D.occupancy[ch, 1]) / span,
            "drain_cycles": int(D.occupancy[ch, 2]),
            "bytes_by_kind": by_kind,
            "bytes_per_cycle": nbytes / active,
            "bandwidth_gbs": nbytes / active * clock_mhz * 1e6 / 1e9,
            "latency": latency_summary_of_counts(tally.latency_counts(ch)),
            "read_latency": latency_summary_of_counts(tally.latency_counts(ch, False)),
            "write_latency": latency_summary_of_counts(tally.latency_counts(ch, True)),
        }
    return out


def memsys_extra(ms) -> dict:
    """Everything beyond the section-8 counters, for ``TimingResult.extra``."""
    cfg = ms.cfg
    out = {"noc_model": cfg.noc.model, "dram_model": cfg.dram.model}
    names = [None] * len(ms._kinds)
    for k, i in ms._kinds.items():
        names[i] = k
    if ms.noc_cycle:
        out["noc"] = noc_extra(ms.eng, ms._C, names)
        payload = ms._payload_delivered()  # every leg of a multicast counts
        for kind, d in out["noc"]["packet_kinds"].items():
            d["payload_bytes"] = payload.get(kind, 0) / 8
    out["dram"] = dram_extra(ms.eng, ms._C, ms.tensor_names(), cfg)
    return out


def publish_memsys_stats(ms, group) -> None:
    """Add NoC and DRAM statistics under ``group`` (a StatGroup, e.g. ``chip``)."""
    ex = memsys_extra(ms)
    if "noc" in ex:
        g = group.group("noc", "2-D mesh network-on-chip (cycle model)")
        nx = ex["noc"]
        g.scalar("injected_flits", "flit", "flits injected by all network interfaces",
                 nx["injected_flits"])
        g.scalar("ejected_flits", "flit", "flits ejected at all network interfaces",
                 nx["ejected_flits"])
        g.vector("link_flits", "flit", "flits over each link, by (x,y)->(x,y)",
                 {f"{tuple(l['from'])}->{tuple(l['to'])}": l["flits"] for l in nx["links"]})
        g.vector("router_flits", "flit", "flits switched by each router, by node",
                 {r["node"]: r["flits"] for r in nx["routers"]})
        g.vector("router_busy_cycles", "cycle", "cycles a router switched at least one flit",
                 {r["node"]: r["busy_cycles"] for r in nx["routers"]})
        for kind, d in nx["packet_kinds"].items():
            k = g.group(kind, f"packets of {kind} messages")
            k.scalar("packets", "packet", "packets delivered", d["packets"])
            k.scalar("flits", "flit", "flits delivered", d["flits"])
            k.scalar("payload_bytes", "byte", "payload delivered", d["payload_bytes"])
            if d["latency"]["count"]:
                k.scalar("avg_latency", "cycle", "NI enqueue to tail ejection + 1, mean",
                         d["latency"]["mean"])
                k.scalar("p99_latency", "cycle", "NI enqueue to tail ejection + 1, 99th "
                         "percentile", d["latency"]["p99"])
    publish_dram_extra(ex["dram"], group, ms.dram_cycle)


def publish_noc_extra(noc: dict, group) -> None:
    """The NoC part of :func:`memsys_extra` under ``group.noc`` (the cycle-level NoC only):
    packet latency by message kind, link utilisation by link (docs/noc.md)."""
    g = group.group("noc", "2-D mesh network-on-chip")
    kinds = {k: d["latency"] for k, d in noc["packet_kinds"].items() if d["latency"]["count"]}
    for stat, desc in (("mean", "mean"), ("p50", "median"), ("p99", "99th percentile")):
        g.vector(f"packet_latency_{stat}_by_kind", "cycle", f"packet latency (enqueue at the "
                 f"source NI to tail ejection), {desc}, by message kind",
                 {k: lat[stat] for k, lat in kinds.items()})
    g.vector("link_utilization", "ratio", "flits sent on the link / cycles of the step, by "
             "link (x,y)->(x,y)", {f"({l['from'][0]},{l['from'][1]})->({l['to'][0]},"
                                   f"{l['to'][1]})": l["utilization"] for l in noc["links"]})


def noc_latency_summary(noc: dict) -> dict:
    """Mean and 99th percentile packet latency over all packets (count-weighted mean; the
    99th percentile is the largest of the kinds', an upper bound)."""
    lats = [d["latency"] for d in noc["packet_kinds"].values() if d["latency"]["count"]]
    n = sum(lat["count"] for lat in lats)
    return {"noc_avg_packet_latency": (sum(lat["mean"] * lat["count"] for lat in lats) / n
                                       if n else None),
            "noc_max_p99_packet_latency": max((lat["p99"] for lat in lats), default=None),
            "noc_max_link_utilization": max((l["utilization"] for l in noc["links"]),
                                            default=None)}


def publish_dram_extra(dram: dict, group, dram_cycle: bool) -> None:
    """The DRAM part of :func:`memsys_extra` under ``group.dram.chC`` (units and
    descriptions; docs/dram.md)."""
    dg = group.group("dram", "off-chip DRAM")
    for ch, d in dram.items():
        g = dg.group(ch, f"DRAM channel {ch[2:]}")
        g.scalar("requests", "request", "requests completed", d["requests"])
        if dram_cycle:
            g.scalar("row_hits", "request", "first command was RD/WR", d["row_hits"])
            g.scalar("row_misses", "request", "first command was ACT", d["row_misses"])
            g.scalar("row_conflicts", "request", "first command was PRE", d["row_conflicts"])
            if d["row_hit_rate"] is not None:
                g.scalar("row_hit_rate", "ratio", "row hits / requests served",
                         d["row_hit_rate"])
            for key, desc in (("row_hits", "row hits"), ("row_misses", "row misses"),
                              ("row_conflicts", "row conflicts")):
                g.vector(f"{key}_by_bank", "request", f"{desc} by rank.bank",
                         {b: v[key] for b, v in d["by_bank"].items()})
            g.scalar("refresh_cycles", "cycle", "REF commands x tRFC (rank blocked)",
                     d["refresh_cycles"])
            g.scalar("avg_read_queue", "request", "read-queue occupancy, mean over the step",
                     d["avg_read_queue"])
            g.scalar("avg_write_queue", "request", "write-queue occupancy, mean over the step",
                     d["avg_write_queue"])
            g.scalar("drain_cycles", "cycle", "cycles spent draining writes",
                     d["drain_cycles"])
        g.scalar("bandwidth", "GB/s", "bytes moved / (last completion - first arrival)",
                 d["bandwidth_gbs"])
        if d["latency"]["count"]:
            g.scalar("avg_latency", "cycle", "arrival at the controller to end of data, mean",
                     d["latency"]["mean"])
            g.scalar("p99_latency", "cycle", "arrival at the controller to end of data, 99th "
                     "percentile", d["latency"]["p99"])
        if d["read_latency"]["count"]:
            g.scalar("avg_read_latency", "cycle", "reads: arrival at the controller to end of "
                     "data, mean", d["read_latency"]["mean"])
