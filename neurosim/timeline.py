"""A timeline of a simulated step in the Chrome trace-event format (opens in Perfetto UI and
chrome://tracing), built from a :class:`~neurosim.timing.TimingResult` alone.

One process per core with a thread (track) per engine: every tile is a slice named by its
kind, layer, part, sample and time step, holding a ``busy`` child (its busy cycles) and a
``bank_stall`` child (its bank-stall cycles, drawn at the tile's end: where inside the tile
they fell is not recorded); the cycles before a tile are ``wait_noc`` / ``wait_dram`` /
``wait_dep`` slices (``docs/microarchitecture.md`` 10.1). With the cycle-level NoC, a ``NoC
links`` process has a counter track per directed router-to-router link (its utilisation:
flits sent / cycles, per time bin) and a ``NoC ports`` process one per network interface's
injection and ejection, and with the cycle-level DRAM a ``DRAM buses`` process a
counter track per channel (data-bus busy cycles / cycles, per bin): both from the memory
system's activity samples (``CycleMemorySystem.activity``), so bounded however long the run.
Where the records allow, a ``NoC messages`` process has a track per source core (messages as
async slices from send to available) and a ``DRAM requests`` process a track per channel
(requests from arrival to end of data). Time stamps are chip cycles (shown as
microseconds).

``gantt_svg`` draws the same classes as an SVG Gantt overview (``neurosim run --out``).

Bounded size (``max_events``): if the tiles alone exceed it, consecutive tiles of one engine
with the same kind, layer and sample are merged into one slice whose children carry the
summed busy and bank-stall cycles (their waits in the slice's arguments); the link and bus
counters get wider bins (at most what is left of the bound, over the tracks); the message
and request tracks are reduced to their busy intervals, and are left empty beyond
``OMIT_FACTOR`` times the bound (reading the records would cost more than the run) or when
a long run's records were summarised rather than kept (``RecordsNotKept``).
"""
from __future__ import annotations

import json
from collections import defaultdict

from .critical_path import tile_name
from .memsys.base import RecordsNotKept

ENGINE_TID = {"fp": 0, "bp": 1, "wg": 2}
NOC_PID = 1_000_000
DRAM_PID = 1_000_001
LINKS_PID = 1_000_002
BUSES_PID = 1_000_003
PORTS_PID = 1_000_004
CATEGORY = {LINKS_PID: "noc_link", PORTS_PID: "noc_port", BUSES_PID: "dram_bus"}
DEFAULT_MAX_EVENTS = 400_000
# Beyond this many times the event budget, NoC and DRAM records are not read at all (a
# compact record log would have to be expanded, e.g. 31 M packets for single-core VGG-11):
# the NoC and DRAM tracks are left empty and ``otherData.transfers_truncated`` says so.
OMIT_FACTOR = 10


def _slice(pid, tid, name, begin, dur, cat, args=None) -> dict:
    ev = {"ph": "X", "pid": pid, "tid": tid, "name": name, "ts": begin, "dur": dur,
          "cat": cat}
    if args:
        ev["args"] = args
    return ev


def _engine_events(timing, merge: bool) -> list:
    by_engine = defaultdict(list)
    for r in timing.tiles:
        by_engine[(r.core, r.engine)].append(r)
    out = []
    for (core, eng), rs in sorted(by_engine.items()):
        rs.sort(key=lambda r: r.start)
        tid = ENGINE_TID[eng]
        groups, prev = [], 0
        for r in rs:
            waits = {}
            if r.ready > prev:
                waits[r.wait] = r.ready - prev
            if r.start > r.ready:
                waits["wait_dram"] = waits.get("wait_dram", 0) + r.start - r.ready
            same = (merge and groups and groups[-1]["key"] == (r.kind, r.layer, r.b))
            if same:
                g = groups[-1]
                g["end"], g["tiles"] = r.end, g["tiles"] + 1
                g["busy"] += r.end - r.start - r.bank_stalls
                g["bank_stall"] += r.bank_stalls
                for k, v in waits.items():
                    g["waits"][k] = g["waits"].get(k, 0) + v
            else:
                groups.append({"key": (r.kind, r.layer, r.b), "rec": r, "prev": prev,
                               "start": r.start, "end": r.end, "tiles": 1, "waits": waits,
                               "busy": r.end - r.start - r.bank_stalls,
                               "bank_stall": r.bank_stalls})
            prev = r.end
        for g in groups:
            r = g["rec"]
            if g["tiles"] == 1:
                name = tile_name(r)
                if r.ready > g["prev"]:
                    out.append(_slice(core, tid, r.wait, g["prev"], r.ready - g["prev"],
                                      "stall", {"before": name,
                                                "last dependency": list(r.wait_on)}))
                if r.start > r.ready:
                    out.append(_slice(core, tid, "wait_dram", r.ready, r.start - r.ready,
                                      "stall", {"before": name, "for": "DRAM loads"}))
                args = {"ready": r.ready, "bank_stalls": r.bank_stalls}
            else:
                name = f"{r.kind} {r.layer or 'loss'} b{r.b}: {g['tiles']} tiles"
                args = {"waits before and between": g["waits"], "tiles": g["tiles"]}
            out.append(_slice(core, tid, name, g["start"], g["end"] - g["start"], "tile", args))
            out.append(_slice(core, tid, "busy", g["start"], g["busy"], "busy"))
            if g["bank_stall"]:
                out.append(_slice(core, tid, "bank_stall", g["start"] + g["busy"],
                                  g["bank_stall"], "stall"))
    return out


def _merged(intervals: list) -> list:
    """The union of [begin, end) intervals, as (begin, end, count) sorted by begin."""
    out = []
    for b, e in sorted(intervals):
        if out and b <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
            out[-1][2] += 1
        else:
            out.append([b, e, 1])
    return out


def _activity_events(timing, budget: int) -> list:
    """Counter events of each NoC link's and DRAM bus's utilisation per time bin (the
    memory system's activity samples, merged into at most ``budget`` events): a value at
    the start of each bin (``utilisation``, and the ``flits`` or ``busy_cycles`` of the
    bin), 0 at the step's end."""
    act = timing.extra.get("memsys_activity")
    if not act or not act["cycles"]:
        return []
    tracks = [(LINKS_PID, name, "flits", v) for name, v in act["links"].items()]
    tracks += [(PORTS_PID, name, "flits", v) for name, v in act["ports"].items()]
    tracks += [(BUSES_PID, name, "busy_cycles", v) for name, v in act["dram"].items()]
    if not tracks:
        return []
    cycles = act["cycles"]
    bins = min(len(cycles), max(0, budget // len(tracks) - 1))
    if bins <= 0:
        return []
    ends = sorted({int(round(x)) for x in
                   [(len(cycles) - 1) * (k + 1) / bins for k in range(bins)]})
    out = []
    for pid, name, what, values in tracks:
        begin, before, last = 0, 0, None
        for i in ends:
            end, total = cycles[i], values[i]
            if end > begin:
                count = total - before
                if count or last:
                    out.append({"ph": "C", "pid": pid, "name": name, "ts": begin,
                                "cat": CATEGORY[pid],
                                "args": {"utilisation": count / (end - begin), what: count}})
                last = count
                begin, before = end, total
        if last:
            out.append({"ph": "C", "pid": pid, "name": name, "ts": begin,
                        "cat": CATEGORY[pid],
                        "args": {"utilisation": 0.0, what: 0}})
    return out


def _transfer_events(timing, budget: int) -> tuple[list, bool]:
    if len(timing.messages) + len(timing.dram) > OMIT_FACTOR * max(1, budget):
        return [], True   # reading that many records would cost more than the run
    try:
        noc = [(m.src[0], m.kind, m.dst[0], m.send, m.available) for m in timing.messages
               if m.flits]
        dram = [(d.channel, d.tensor, d.write, d.arrive, d.complete) for d in timing.dram]
    except RecordsNotKept:
        return [], True
    if 2 * (len(noc) + len(dram)) <= budget:
        out = []
        for i, (src, kind, dst, b, e) in enumerate(noc):
            name = f"{kind} core{src}->" + ("dram" if kind.endswith(("req", "write"))
                                           else f"core{dst}")
            common = {"pid": NOC_PID, "tid": src, "name": name, "cat": "noc", "id": i}
            out += [dict(common, ph="b", ts=b), dict(common, ph="e", ts=e)]
        for i, (ch, tensor, write, b, e) in enumerate(dram):
            common = {"pid": DRAM_PID, "tid": ch, "cat": "dram", "id": len(noc) + i,
                      "name": f"{'write' if write else 'read'} {tensor}"}
            out += [dict(common, ph="b", ts=b), dict(common, ph="e", ts=e)]
        return out, False
    out = []   # busy intervals per track
    tracks = defaultdict(list)
    for src, _, _, b, e in noc:
        tracks[(NOC_PID, src)].append((b, e))
    for ch, _, _, b, e in dram:
        tracks[(DRAM_PID, ch)].append((b, e))
    for (pid, tid), iv in sorted(tracks.items()):
        for b, e, n in _merged(iv):
            out.append(_slice(pid, tid, f"{n} in flight" if n > 1 else "1 in flight", b,
                              e - b, "noc" if pid == NOC_PID else "dram", {"transfers": n}))
    return out[:max(0, budget)], len(out) > budget


def _metadata(timing) -> list:
    out = []
    cores = sorted({r.core for r in timing.tiles})
    for c in cores:
        out.append({"ph": "M", "pid": c, "name": "process_name", "args": {"name": f"core {c}"}})
        out.append({"ph": "M", "pid": c, "name": "process_sort_index", "args": {"sort_index": c}})
        for eng, tid in ENGINE_TID.items():
            out.append({"ph": "M", "pid": c, "tid": tid, "name": "thread_name",
                        "args": {"name": f"{eng.upper()} engine"}})
    out.append({"ph": "M", "pid": NOC_PID, "name": "process_name",
                "args": {"name": "NoC messages (by source core)"}})
    out.append({"ph": "M", "pid": DRAM_PID, "name": "process_name",
                "args": {"name": "DRAM requests (by channel)"}})
    out.append({"ph": "M", "pid": LINKS_PID, "name": "process_name",
                "args": {"name": "NoC links (utilisation by directed link)"}})
    out.append({"ph": "M", "pid": PORTS_PID, "name": "process_name",
                "args": {"name": "NoC ports (injection / ejection utilisation by endpoint)"}})
    out.append({"ph": "M", "pid": BUSES_PID, "name": "process_name",
                "args": {"name": "DRAM buses (data-bus utilisation by channel)"}})
    return out


def trace_events(timing, max_events: int = DEFAULT_MAX_EVENTS) -> dict:
    """The Chrome trace-event JSON object of a step (see the module text)."""
    merge = 3 * len(timing.tiles) > max_events
    engines = _engine_events(timing, merge)
    activity = _activity_events(timing, max_events - len(engines))
    transfers, truncated = _transfer_events(timing, max_events - len(engines) - len(activity))
    return {"traceEvents": _metadata(timing) + engines + activity + transfers,
            "displayTimeUnit": "ms",
            "otherData": {"time_unit": "chip cycle (shown as microseconds)",
                          "total_cycles": int(timing.total_cycles),
                          "tiles_merged": merge, "transfers_truncated": truncated,
                          "max_events": max_events}}


def timeline_json(timing, max_events: int = DEFAULT_MAX_EVENTS) -> str:
    return json.dumps(trace_events(timing, max_events), separators=(",", ":"))


# the classes in matplotlib's "tab10" colours (tab:green, orange, blue, red, grey)
CLASS_COLORS = {"busy": "#2ca02c", "bank_stall": "#ff7f0e", "wait_noc": "#1f77b4",
                "wait_dram": "#d62728", "wait_dep": "#7f7f7f"}


def gantt_svg(timing, title: str, max_rows: int = 96) -> bytes:
    """SVG Gantt overview of a step: a row per engine of each core used (the first
    ``max_rows``), tiles' busy and bank-stall cycles and the waits before them coloured by
    class (docs/microarchitecture.md 10.1; bank stalls drawn at each tile's end)."""
    from .svg import Svg, nice_ticks, text_width, tick_labels

    rows = sorted({(r.core, r.engine) for r in timing.tiles},
                  key=lambda k: (k[0], "fp bp wg".split().index(k[1])))[:max_rows]
    index = {k: i for i, k in enumerate(rows)}
    bars = {cls: [] for cls in CLASS_COLORS}     # (row, first cycle, cycles)
    prev = {}
    for r in sorted(timing.tiles, key=lambda r: r.start):
        i = index.get((r.core, r.engine))
        if i is None:
            continue
        p = prev.get(i, 0)
        if r.ready > p:
            bars[r.wait].append((i, p, r.ready - p))
        if r.start > r.ready:
            bars["wait_dram"].append((i, r.ready, r.start - r.ready))
        busy = r.end - r.start - r.bank_stalls
        bars["busy"].append((i, r.start, busy))
        if r.bank_stalls:
            bars["bank_stall"].append((i, r.start + busy, r.bank_stalls))
        prev[i] = r.end

    # font sizes and margins in pixels: the row labels at the left, the legend at the right
    title_px, label_px, tick_px, legend_px, tick_len, pad = 13, 9, 12, 10, 5, 8
    labels = [f"core{c} {e.upper()}" for c, e in rows]
    total = max(1, timing.total_cycles)
    left = pad + max((text_width(t, label_px) for t in labels), default=0) + tick_len + 4
    legend_w = 40 + max(text_width(k, legend_px) for k in CLASS_COLORS)
    right = legend_w + 2 * pad
    top = pad + title_px + 8
    bottom = tick_len + tick_px + 6 + tick_px + pad + 4
    width = max(990.0, left + right + 200)
    height = max(275.0, 19.8 * len(rows) + 132)
    aw, ah = width - left - right, height - top - bottom
    pitch = ah / max(1, len(rows))
    svg = Svg(width, height)
    svg.text(left + aw / 2, pad + title_px, title, title_px, anchor="middle")
    # the bars: one path per class, in cycles along x (scaled into the axes), rows of 0.8
    # pitch; no two rectangles overlap (edges on whole pixels: anti-aliased, two adjacent
    # rectangles leave a light seam between them); a span that starts where the row's
    # previous one of its class ended extends it (one rectangle: busy tiles back to back)
    svg.add(f'<g transform="translate({left:.1f} {top:.1f}) scale({aw / total:.9g} 1)" '
            'shape-rendering="crispEdges">')
    for cls, color in CLASS_COLORS.items():
        spans, last = [], {}
        for i, x, w in bars[cls]:
            k = last.get(i)
            if k is not None and spans[k][1] + spans[k][2] == x:
                spans[k][2] += w
            else:
                last[i] = len(spans)
                spans.append([i, x, w])
        if spans:
            d = "".join(f"M{x} {(i + 0.1) * pitch:.1f}h{w}v{0.8 * pitch:.1f}h{-w}z"
                        for i, x, w in spans)
            svg.add(f'<path fill="{color}" d="{d}"/>')
    svg.add("</g>")
    svg.rect(left, top, aw, ah)
    # row labels and their ticks
    svg.add('<path stroke="black" stroke-width="0.8" d="' + "".join(
        f"M{left - tick_len:.1f} {top + (i + 0.5) * pitch:.1f}h{tick_len}"
        for i in range(len(rows))) + '"/>')
    for i, t in enumerate(labels):
        svg.text(left - tick_len - 3, top + (i + 0.5) * pitch, t, label_px, anchor="end",
                 baseline="central")
    # the cycle axis
    ticks = nice_ticks(total)
    for v, t in zip(ticks, tick_labels(ticks)):
        x = left + aw * v / total
        svg.line(x, top + ah, x, top + ah + tick_len)
        svg.text(x, top + ah + tick_len + tick_px, t, tick_px, anchor="middle")
    svg.text(left + aw / 2, top + ah + tick_len + 2 * tick_px + 6, "cycle", tick_px,
             anchor="middle")
    # the legend, beside the axes' top right corner
    lx = left + aw + pad
    svg.rect(lx, top, legend_w, 16 * len(CLASS_COLORS) + 6, fill="white", stroke="#cccccc")
    for k, (cls, color) in enumerate(CLASS_COLORS.items()):
        y = top + 6 + 16 * k
        svg.rect(lx + 6, y, 20, 10, fill=color, stroke="none")
        svg.text(lx + 32, y + 5, cls, legend_px, baseline="central")
    return svg.to_bytes()


__all__ = ["gantt_svg", "trace_events", "timeline_json", "DEFAULT_MAX_EVENTS", "NOC_PID", "DRAM_PID",
           "LINKS_PID", "PORTS_PID", "BUSES_PID", "ENGINE_TID"]
