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
    if lat.size == 0:
        return {"count": 0, "mean": None, "p50": None, "p99": None, "max": None,
                "hist_edges": list(LATENCY_EDGES[:-1]),
                "hist_counts": [0] * (len(LATENCY_EDGES) - 1)}
    counts, _ = np.histogram(lat, bins=np.array(LATENCY_EDGES, dtype=np.float64))
    return {"count": int(lat.size), "mean": float(lat.mean()),
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "max": int(lat.max()), "hist_edges": list(LATENCY_EDGES[:-1]),
            "hist_counts": counts.astype(int).tolist()}


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
    T = eng.packet_columns(cycles)
    done, lat = T["done"], T["lat"]
    kinds = {}
    for k in np.unique(T["kind"][done]).tolist():
        sel = done & (T["kind"] == k)
        flits = T["flits"][sel]
        kinds[kind_names[k]] = {"packets": int(sel.sum()), "flits": int(flits.sum()),
                                "latency": latency_summary(lat[sel])}
    return {"cycles": int(cycles), "links": links, "routers": routers,
            "injected_flits": int(N.st_inj.sum()), "ejected_flits": int(N.st_ej.sum()),
            "packet_kinds": kinds}


def dram_extra(eng, cycles: int, tensors: tuple, cfg) -> dict:
    """Per-channel DRAM statistics over the committed requests. ``tensors``: (code of every
    request, names of the codes)."""
    D = eng.D
    d = cfg.dram
    burst_bytes, clock_mhz = d.burst_bytes, cfg.chip.clock_mhz
    T = eng.request_columns()
    done = (T["complete"] >= 0) & (T["complete"] <= cycles)
    lat = T["complete"] - T["arrive"]
    tens, tnames = tensors
    span = max(1, cycles)
    trfc = dram_timing_cycles(cfg)["tRFC"]
    out = {}
    for ch in range(D.q_cnt.shape[0]):
        sel = done & (T["channel"] == ch)
        rd = sel & ~T["write"]
        wr = sel & T["write"]
        nbytes = int(sel.sum()) * burst_bytes
        if sel.any():
            first, last = int(T["arrive"][sel].min()), int(T["complete"][sel].max())
        else:
            first = last = 0
        active = max(1, last - first)
        by_kind = {}
        for code in sorted(np.unique(tens[sel]).tolist(), key=lambda k: tnames[k]):
            m = sel & (tens == code)
            by_kind[tnames[code]] = {"read_bytes": int((m & rd).sum()) * burst_bytes,
                                     "write_bytes": int((m & wr).sum()) * burst_bytes}
        by_bank = {}
        for b in range(D.bank_outc.shape[1]):
            h, m, c = (int(x) for x in D.bank_outc[ch, b])
            if h + m + c:
                by_bank[f"rank{b // d.banks}.bank{b % d.banks}"] = {
                    "row_hits": h, "row_misses": m, "row_conflicts": c}
        served = int(D.outc[ch].sum())
        out[f"ch{ch}"] = {
            "requests": int(sel.sum()), "reads": int(rd.sum()), "writes": int(wr.sum()),
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
            "latency": latency_summary(lat[sel]),
            "read_latency": latency_summary(lat[rd]),
            "write_latency": latency_summary(lat[wr]),
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
    out["dram"] = dram_extra(ms.eng, ms._C, ms._request_tensors(), cfg)
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
