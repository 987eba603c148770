"""Exact, field-by-field comparison of two :class:`~neurosim.timing.TimingResult` of the same
case, and the first diverging event.

Compared (``docs/validation.md``): ``total_cycles``; every tile record (ready, start,
delta_end, end, bank_stalls, core, and the class and producer of the dependency met last,
spec 10.1), matched by tile key; every message record (send,
available, payload bits, packets, flits), matched by (kind, source, destination, payload)
and then in send order; every DRAM request record (arrive, complete, hit/miss/conflict),
matched by (channel, tensor kind, direction, address) and then in arrival order; per-engine
busy and stall cycles; and every event counter. Message tags are not compared (they are
labels whose spelling is each model's business).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..counters import ENGINE, lookup
from ..timing import ENGINE_OF

INF = float("inf")
# Within one cycle, causes before effects (with zero latencies several happen in one
# cycle): a tile ends (or finishes its delta phase); a DRAM request completes; messages
# are sent; they become available; requests reach the DRAM; tiles become ready; they start.
RANK = {"end": 0, "delta_end": 1, "complete": 2, "send": 3, "available": 4, "arrive": 5,
        "ready": 6, "start": 7}


@dataclass
class Diff:
    time: float          # first cycle at which the two models' records differ (inf: untimed)
    component: str       # e.g. core2.bp, noc 3->5, dram.ch1, counters
    what: str            # which record and field
    reference: object    # what the reference did
    model: object        # what the model under test did

    @property
    def order(self) -> tuple:
        field_name = self.what.split()[-1] if self.what else ""
        return (self.time, RANK.get(field_name, len(RANK)))

    def __str__(self) -> str:
        t = "-" if self.time == INF else f"{int(self.time)}"
        return (f"cycle {t}: {self.component}: {self.what}: reference {self.reference}, "
                f"model {self.model}")


def _timed(a, b) -> float:
    vals = [v for v in (a, b) if isinstance(v, (int, float)) and v is not None and v >= 0]
    return min(vals) if vals else INF


def compare_tiles(ref, mut) -> list:
    out = []
    a, b = ref.tiles_by_key(), mut.tiles_by_key()
    for key in sorted(set(a) | set(b), key=str):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            t = (x or y).ready
            out.append(Diff(t, f"core{(x or y).core}.{ENGINE_OF[key[0]]}", f"tile {key}",
                            "present" if x else "absent", "present" if y else "absent"))
            continue
        for f in ("ready", "start", "delta_end", "end", "bank_stalls", "core", "wait",
                  "wait_on"):
            if getattr(x, f) != getattr(y, f):
                t = _timed(getattr(x, f), getattr(y, f)) if f in RANK else \
                    x.ready if f.startswith("wait") else x.start
                out.append(Diff(t, f"core{x.core}.{x.engine}", f"tile {key} {f}",
                                getattr(x, f), getattr(y, f)))
                break
    return out


def _grouped(records, key, order):
    g = defaultdict(list)
    for r in records:
        g[key(r)].append(r)
    for k in g:
        g[k].sort(key=order)
    return g


def compare_messages(ref, mut) -> list:
    out = []
    key = lambda m: (m.kind, tuple(m.src), tuple(m.dst), m.payload_bits)  # noqa: E731
    order = lambda m: (m.send, m.available)  # noqa: E731
    a, b = _grouped(ref.messages, key, order), _grouped(mut.messages, key, order)
    for k in sorted(set(a) | set(b), key=str):
        xs, ys = a.get(k, []), b.get(k, [])
        comp = f"noc {k[1]}->{k[2]}"
        for i, (x, y) in enumerate(zip(xs, ys)):
            for f in ("send", "available", "packets", "flits"):
                if getattr(x, f) != getattr(y, f):
                    out.append(Diff(_timed(x.send, y.send) if f != "available"
                                    else _timed(x.available, y.available), comp,
                                    f"{k[0]} message #{i} of {k[3]} bits (reference's tag "
                                    f"{x.tag}) {f}", getattr(x, f), getattr(y, f)))
                    break
        if len(xs) != len(ys):
            extra = (xs if len(xs) > len(ys) else ys)[min(len(xs), len(ys))]
            out.append(Diff(extra.send, comp, f"{k[0]} messages of {k[3]} bits: count",
                            len(xs), len(ys)))
    return out


def compare_dram(ref, mut) -> list:
    out = []
    key = lambda r: (r.channel, r.tensor, r.write, r.address)  # noqa: E731
    order = lambda r: (r.arrive, r.complete)  # noqa: E731
    a, b = _grouped(ref.dram, key, order), _grouped(mut.dram, key, order)
    for k in sorted(set(a) | set(b), key=str):
        xs, ys = a.get(k, []), b.get(k, [])
        comp = f"dram.ch{k[0]}"
        what = f"{'write' if k[2] else 'read'} {k[1]} @{k[3]:#x}"
        for i, (x, y) in enumerate(zip(xs, ys)):
            for f in ("arrive", "complete", "outcome"):
                if getattr(x, f) != getattr(y, f):
                    t = _timed(x.arrive, y.arrive) if f == "arrive" else \
                        _timed(x.complete, y.complete) if f == "complete" else x.arrive
                    out.append(Diff(t, comp, f"{what} #{i} {f}", getattr(x, f), getattr(y, f)))
                    break
        if len(xs) != len(ys):
            extra = (xs if len(xs) > len(ys) else ys)[min(len(xs), len(ys))]
            out.append(Diff(extra.arrive, comp, f"{what}: request count", len(xs), len(ys)))
    return out


def engine_stats(result) -> dict:
    """Per core and engine: busy cycles and stall cycles by reason (spec section 8)."""
    stats = defaultdict(lambda: defaultdict(int))
    last_end = {}
    for t in sorted(result.tiles, key=lambda t: (t.core, t.engine, t.start)):
        s = stats[f"core{t.core}.{t.engine}"]
        s["busy_cycles"] += t.end - t.start - t.bank_stalls
        s["stall.wait_dram"] += t.start - t.ready
        s["stall.wait_deps"] += t.ready - last_end.get((t.core, t.engine), 0)
        last_end[(t.core, t.engine)] = t.end
    for (comp, action), n in result.counters.items():
        if lookup(comp, action).action is ENGINE.actions["bank_conflict"]:
            stats[comp][f"stall.{action}"] += n
    return {k: dict(v) for k, v in stats.items()}


def compare_engines(ref, mut) -> list:
    out = []
    a, b = engine_stats(ref), engine_stats(mut)
    for comp in sorted(set(a) | set(b)):
        x, y = a.get(comp, {}), b.get(comp, {})
        for f in sorted(set(x) | set(y)):
            if x.get(f, 0) != y.get(f, 0):
                out.append(Diff(INF, comp, f, x.get(f, 0), y.get(f, 0)))
    return out


def compare_counters(ref, mut) -> list:
    out = []
    keys = set(ref.counters) | set(mut.counters)
    for k in sorted(keys):
        x, y = ref.counters.get(k, 0), mut.counters.get(k, 0)
        if x != y:
            out.append(Diff(INF, k[0], f"counter {k[1]}", x, y))
    return out


def compare(ref, mut) -> list:
    """Every difference between two results, earliest first (untimed ones last)."""
    diffs = []
    if ref.total_cycles != mut.total_cycles:
        diffs.append(Diff(_timed(ref.total_cycles, mut.total_cycles), "chip", "total_cycles",
                          ref.total_cycles, mut.total_cycles))
    for part in (compare_tiles, compare_messages, compare_dram, compare_engines,
                 compare_counters):
        diffs += part(ref, mut)
    diffs.sort(key=lambda d: d.order)  # stable: otherwise equal keeps the category order
    return diffs
