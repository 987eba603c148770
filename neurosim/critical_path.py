"""The critical path of a training step (``docs/microarchitecture.md`` 10.2): the chain of
tiles, messages and DRAM transfers that set ``total_cycles``, found backwards from the last
event through each tile's recorded last dependency (``TileRecord.wait_on``).

Built from a :class:`~neurosim.timing.TimingResult` alone, so it works for either timing
model. The links are contiguous in time: their cycles sum to ``total_cycles``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .arch import dram_timing_cycles
from .counters import DRAM, SRAM, lookup

PATH_KINDS = ("compute", "noc", "dram", "dependency")


@dataclass(frozen=True)
class Link:
    kind: str        # one of PATH_KINDS
    what: str        # e.g. "BP conv3[0] b1 t2", "grad message core4->core2", "loads of ..."
    begin: int       # cycle the link starts
    end: int         # cycle it ends (exclusive)
    phase: str = ""  # tile kind (FP, LOSS, BP, WG, UPD) of the tile the link belongs to
    layer: str = ""

    @property
    def cycles(self) -> int:
        return self.end - self.begin


def tile_name(r) -> str:
    if r.kind == "LOSS":
        return f"LOSS b{r.b}"
    if r.kind == "UPD":
        return f"UPD {r.layer}[{r.part}]"
    return f"{r.kind} {r.layer}[{r.part}] b{r.b} t{r.t}"


def critical_path(timing) -> list:
    """The links of the critical path, earliest first."""
    tiles = timing.tiles_by_key()
    if not tiles:
        return []
    prev = {}
    for rs in timing.tiles_by_engine().values():
        for a, b in zip(rs, rs[1:]):
            prev[b.key] = a
    ends_on_core = defaultdict(list)
    for r in timing.tiles:
        ends_on_core[(r.core, r.end)].append(r)

    def issuer(core: int, cycle: int):
        got = ends_on_core.get((core, cycle))
        return min(got, key=lambda r: r.key) if got else None

    total = timing.total_cycles
    links: list = []
    last = [r for r in timing.tiles if r.end == total]
    if last:   # ties: a tile end, then a message, then a DRAM write
        tile, until = min(last, key=lambda r: r.key), total
    else:
        tile, until = _last_transfer(timing, total, issuer, links)
    while tile is not None:
        name = tile_name(tile)
        links.append(Link("compute", name, tile.start, until, tile.kind, tile.layer))
        if tile.start > tile.ready:
            links.append(Link("dram", f"loads of {name}", tile.ready, tile.start, tile.kind,
                              tile.layer))
        before = prev.get(tile.key)
        prev_end = before.end if before is not None else 0
        if tile.ready == prev_end:
            if before is None:
                break
            tile, until = before, before.end   # engine order: no link of its own
            continue
        how, on = tile.wait_on
        src = tiles[on]
        if how == "msg":
            kind = "noc"
            what = f"message {tile_name(src)} -> {name} (core{src.core}->core{tile.core})"
        elif how == "store":
            kind = "dram"
            what = f"store of {tile_name(src)} before {name}"
        else:
            kind = "dependency"
            what = f"{'delta-phase end' if how == 'delta' else 'end'} of {tile_name(src)} " \
                   f"before {name}"
        begin = src.delta_end if how == "delta" else src.end
        links.append(Link(kind, what, begin, tile.ready, tile.kind, tile.layer))
        tile, until = src, begin
    links.reverse()
    return links


def _last_transfer(timing, total: int, issuer, links: list):
    """The message or DRAM write that is the step's last event: its links (appended), and
    the tile that issued it with the cycle its part of the path ends."""
    msgs = ending_at(timing.messages, total)
    if msgs:
        m = min(msgs, key=lambda m: (m.send, m.src))
        links.append(Link("noc", f"{m.kind} message core{m.src[0]}->core{m.dst[0]}", m.send,
                          m.available))
        return issuer(m.src[0], m.send), m.send
    writes = [d for d in ending_at(timing.dram, total) if d.write]
    d = min(writes, key=lambda d: (d.arrive, d.channel, d.address))
    links.append(Link("dram", f"{d.tensor} store on dram.ch{d.channel}", d.arrive, d.complete))
    reqs = [m for m in ending_at(timing.messages, d.arrive) if m.kind == "dram_write"]
    m = max(reqs, key=lambda m: (m.send, -m.src[0]))
    links.append(Link("noc", f"store request core{m.src[0]}->dram", m.send, m.available))
    return issuer(m.src[0], m.send), m.send


def ending_at(records, cycle: int) -> list:
    """The records (messages or DRAM records) that end at ``cycle``, in their order: asked
    of a memory system's record log (which may no longer hold every record of a long run),
    or filtered from a plain list."""
    if hasattr(records, "ending_at"):
        return records.ending_at(cycle)
    end = "complete" if records and hasattr(records[0], "complete") else "available"
    return [r for r in records if getattr(r, end) == cycle]


def bound_hints(arch, timing) -> dict:
    """What bounds the DRAM traffic of a step, without expanding a compact record log: the
    cycles DRAM requests spent in the NoC (their packets: requests, write data, read
    responses) and in the controllers (arrival to end of data) -- from the cycle-level
    memory system's latency statistics when it reports them, else from the fixed latencies
    of the ideal models (or, for a plain record list, the records); the busiest core
    network-interface port in payload flits per cycle (SRAM bits written by DRAM loads and
    incoming messages = ejection, read for stores and outgoing messages = injection, over
    ``noc.flit_bits``; head flits not counted); the busiest DRAM data bus (bursts x tBURST per
    cycle)."""
    total = max(1, timing.total_cycles)
    burst = arch.dram.burst_bytes
    reads, writes, bursts = 0, 0, defaultdict(int)
    ports = defaultdict(int)
    for (comp, action), n in timing.counters.items():
        c = lookup(comp, action)
        if c.label is not None:   # per-kind copies: the totals are counted once
            continue
        if c.component is DRAM and c.action.name in ("read_bytes", "write_bytes"):
            k = n // burst
            bursts[int(c.match.group(1))] += k
            if c.action.name == "read_bytes":
                reads += k
            else:
                writes += k
        elif c.component is SRAM and c.action.name in ("read_bits", "write_bits"):
            side = "injection" if c.action.name == "read_bits" else "ejection"
            ports[f"core{c.match.group(1)} {side}"] += n
    memsys = timing.extra.get("memsys", {})
    noc = dram = None
    if "noc" in memsys:
        noc = sum(k["latency"]["mean"] * k["latency"]["count"]
                  for kind, k in memsys["noc"]["packet_kinds"].items()
                  if kind.startswith("dram_") and k["latency"]["count"])
    elif arch.noc.model == "ideal":   # a request, its response or its write data: one hop
        noc = arch.noc.ideal_latency * (2 * reads + writes)
    if "dram" in memsys:
        dram = sum(c["latency"]["mean"] * c["latency"]["count"]
                   for c in memsys["dram"].values() if c["latency"]["count"])
    elif arch.dram.model == "ideal":
        dram = arch.dram.ideal_latency * (reads + writes)
    if noc is None:
        noc = sum(m.available - m.send for m in timing.messages if m.kind.startswith("dram_"))
    if dram is None:
        dram = sum(d.complete - d.arrive for d in timing.dram)
    port = max(ports.items(), key=lambda kv: (kv[1], kv[0]), default=("-", 0))
    ch = max(bursts.items(), key=lambda kv: (kv[1], -kv[0]), default=(-1, 0))
    tburst = dram_timing_cycles(arch)["tBURST"]
    return {"dram_noc_cycles": int(round(noc)), "dram_controller_cycles": int(round(dram)),
            "busiest_port": port[0],
            "busiest_port_utilization": port[1] / arch.noc.flit_bits / total,
            "busiest_dram_channel": ch[0],
            "busiest_dram_bus_utilization": ch[1] * tburst / total}


def path_totals(links: list) -> dict:
    """Cycles of the path by kind (every kind present)."""
    out = dict.fromkeys(PATH_KINDS, 0)
    for link in links:
        out[link.kind] += link.cycles
    return out


def path_by_phase(links: list) -> dict:
    """Cycles of the path by 'kind/phase' (phase: the tile kind the link belongs to)."""
    out = defaultdict(int)
    for link in links:
        if link.cycles:
            out[f"{link.kind}/{link.phase or '-'}"] += link.cycles
    return dict(sorted(out.items()))


def links_json(links: list) -> list:
    return [{"kind": x.kind, "what": x.what, "begin": x.begin, "end": x.end,
             "cycles": x.cycles} for x in links]


__all__ = ["Link", "PATH_KINDS", "critical_path", "path_totals", "path_by_phase", "bound_hints",
           "links_json", "tile_name"]
