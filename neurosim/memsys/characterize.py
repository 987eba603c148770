"""Characterisation of the cycle-level NoC and DRAM on synthetic traffic: latency and
accepted throughput against offered load, the curves a BookSim2 or DRAMsim3 user expects.

Both drive the same engine as the chip model (:class:`~neurosim.memsys.cycle.Engine`)
with bulk-generated traffic and no handles. See ``docs/noc.md`` and ``docs/dram.md``.
"""
from __future__ import annotations

import math

import numpy as np

from ..arch import load_arch
from ..errors import InputError
from ..params import Config
from .cycle import INF, RUN_DRAIN, RUN_UNTIL, Engine
from .noc import zero_load_latency
from .topology import Mesh
from .base import DramAddressMap

NOC_TRAFFIC = ("uniform", "transpose", "bitcomp", "neighbor", "hotspot")
DRAM_PATTERNS = ("seq-read", "seq-write", "random-read", "random-write", "mixed")


def _with(cfg: Config, overrides: list[str]) -> Config:
    d = cfg.to_dict()
    d.pop("extends", None)
    return load_arch(d, overrides)


# --------------------------------------------------------------------------- NoC


def traffic_destinations(traffic: str, cols: int, rows: int, src: np.ndarray,
                         rng: np.random.Generator, hotspot: int, hotspot_frac: float):
    """Destination node of each packet from node ``src`` under a traffic pattern (BookSim2's
    definitions on a k x k mesh; ``transpose`` and ``bitcomp`` are defined on rectangles too)."""
    mesh = Mesh(cols, rows)
    n = mesh.nodes
    x, y = mesh.xy(src)
    if traffic == "uniform":  # any node, the source included (as BookSim2)
        return rng.integers(0, n, src.size)
    if traffic == "transpose":  # node (y, x) of the rows x cols matrix -> (x, y) of its transpose
        return x * rows + y
    if traffic == "bitcomp":  # (x, y) -> (cols-1-x, rows-1-y): BookSim2's bitcomp on a 2^k mesh
        return mesh.node(cols - 1 - x, rows - 1 - y)
    if traffic == "neighbor":  # (x, y) -> (x+1 mod cols, y+1 mod rows), BookSim2's neighbor
        return mesh.node((x + 1) % cols, (y + 1) % rows)
    if traffic == "hotspot":  # hotspot_frac of packets to the hotspot node, the rest uniform
        d = rng.integers(0, n, src.size)
        hot = rng.random(src.size) < hotspot_frac
        return np.where(hot, hotspot, d)
    raise InputError("--traffic", "traffic", "one of " + ", ".join(NOC_TRAFFIC), traffic)


def bernoulli_times(rng, nodes: int, p: float, cycles: int, on_off=None):
    """Creation cycles and sources of packets: each node creates a packet in each cycle with
    probability ``p`` (BookSim2's ``bernoulli``), or, with ``on_off = (alpha, beta)``, a
    two-state Markov source (BookSim2's ``on_off``: off -> on with alpha, on -> off with
    beta, a packet with probability ``p`` in each on cycle)."""
    if on_off is None:
        hit = rng.random((cycles, nodes)) < p
    else:
        alpha, beta = on_off
        hit = np.zeros((cycles, nodes), bool)
        on = rng.random(nodes) < alpha / (alpha + beta)
        for t in range(cycles):
            u = rng.random(nodes)
            on = np.where(on, u >= beta, u < alpha)
            hit[t] = on & (rng.random(nodes) < p)
    t, s = np.nonzero(hit)
    return t.astype(np.int64), s.astype(np.int64)


def noc_point(cfg: Config, traffic: str, rate: float, packet_flits: int,
              warmup: int = 3000, measure: int = 10000, seed: int = 1,
              hotspot_frac: float = 0.25, on_off=None, drain: bool = True) -> dict:
    """One offered load, BookSim2-style: every node creates ``packet_flits``-flit packets at
    ``rate`` flits/node/cycle into an unbounded source queue for ``warmup + measure``
    cycles; latency (creation to the tail's arrival at the destination NI, BookSim2's
    ``plat``) is averaged over the packets created in the measurement window, drained to
    the end; accepted throughput counts the flits received in the measurement window."""
    if not 0 < rate <= 1:
        raise InputError("--rates", "rate", "an injection rate in (0, 1] flits/node/cycle", rate)
    mesh = Mesh.of(cfg)
    cols, rows, n = mesh.cols, mesh.rows, mesh.nodes
    if n < 2:
        raise InputError(cfg.origin, "chip.mesh", "a mesh of at least 2 nodes", f"{cols}x{rows}")
    rng = np.random.default_rng(seed)
    end = warmup + measure
    times, src = bernoulli_times(rng, n, rate / packet_flits, end, on_off)
    dst = traffic_destinations(traffic, cols, rows, src, rng, mesh.dram_nodes[0], hotspot_frac)
    eng = Engine(_with(cfg, ["noc.model=cycle", "dram.model=ideal"]), True, False)
    ids = eng.add_packets(src.size, src_ep=2 * src, dst_ep=2 * dst, flits=packet_flits,
                          time=times)
    eng.schedule_posts(ids, times)
    if drain:
        eng.run(INF, RUN_DRAIN)
    else:
        eng.run(end, RUN_UNTIL)
    ej = eng.P.eject[:src.size]
    got = (ej >= warmup) & (ej < end)
    meas = (times >= warmup) & (times < end)
    out = {"offered": rate,
           "accepted": float(got.sum() * packet_flits / (n * measure)),
           "packets": int(src.size), "window": measure}
    if drain and meas.any():
        lat = ej[meas] - times[meas]
        zero = zero_load(cfg, src[meas], dst[meas], packet_flits)
        out.update(avg_latency=float(lat.mean()), p99_latency=float(np.percentile(lat, 99)),
                   zero_load_latency=float(zero.mean()), cycles=int(ej.max() + 1))
    return out


def zero_load(cfg, src, dst, flits):
    """Spec 6.6 zero-load latency of each (src, dst) pair."""
    return zero_load_latency(cfg, Mesh.of(cfg).hops(src, dst), flits)


def noc_sweep(cfg: Config, traffic: str, packet_flits: int, rates=None, warmup=3000,
              measure=10000, seed=1, hotspot_frac=0.25, on_off=None,
              progress=None) -> list[dict]:
    """Offered load from low to saturation: with the default rates, stops one point after
    saturation (average latency above 10x the zero-load latency, or accepted throughput
    below 95 % of the offered load)."""
    if traffic not in NOC_TRAFFIC:
        raise InputError("--traffic", "traffic", "one of " + ", ".join(NOC_TRAFFIC), traffic)
    if not 1 <= packet_flits <= 17:
        raise InputError("--packet-flits", "packet_flits", "1 to 17 flits (head + up to 16 "
                         "body flits, docs/microarchitecture.md 4.4)", packet_flits)
    auto = rates is None
    if auto:
        rates = [round(0.02 * k, 2) for k in range(1, 51)]
    rows, saturated = [], False
    for r in rates:
        row = noc_point(cfg, traffic, r, packet_flits, warmup, measure, seed,
                        hotspot_frac=hotspot_frac, on_off=on_off)
        rows.append(row)
        if progress:
            progress(row)
        if auto:
            if saturated:
                break
            saturated = (row["avg_latency"] > 10 * row["zero_load_latency"]
                         or row["accepted"] < 0.95 * row["offered"])
    return rows


# --------------------------------------------------------------------------- DRAM


def peak_bytes_per_cycle(cfg: Config) -> float:
    d = cfg.dram
    return d.channels * d.bus_bits / 8 * d.data_rate_mtps / cfg.chip.clock_mhz


def dram_replay(cfg: Config, byte_addresses, writes, arrivals,
                until: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the cycle-level DRAM of ``cfg`` (``dram.model: cycle``; no NoC) on requests of one
    burst each: request ``k`` reads (``writes[k] == 0``) or writes the burst at
    ``byte_addresses[k]`` and reaches its controller at cycle ``arrivals[k]``
    (non-decreasing). Runs until every request completes, or to cycle ``until``. Returns
    the completion cycle (-1: not by ``until``) and outcome (0 hit, 1 miss, 2 conflict)
    of every request."""
    n = len(arrivals)
    arrive = np.asarray(arrivals, dtype=np.int64)
    f = DramAddressMap(cfg).decode_array(np.asarray(byte_addresses, dtype=np.int64))
    eng = Engine(cfg, False, True)
    ids = eng.add_requests(n, channel=f["channel"],
                           bank=f["rank"] * cfg.dram.banks + f["bank"], row=f["row"],
                           write=np.asarray(writes, dtype=np.int64), arrive=arrive)
    eng.schedule_deliveries(ids, arrive)
    if until is None:
        eng.run(INF, RUN_DRAIN)
    else:
        eng.run(until, RUN_UNTIL)
    comp = eng.R.complete[:n].copy()
    if until is not None:
        comp[comp >= until] = -1
    return comp, eng.R.outcome[:n].copy()


ARRIVALS = ("poisson", "fixed")


def dram_point(cfg: Config, pattern: str, load: float, requests: int = 20_000,
               seed: int = 1, warmup: float = 0.1, write_fraction: float | None = None,
               span: int = 1 << 30, stride: int | None = None,
               arrivals: str = "poisson") -> dict:
    """One offered load (fraction of the peak data-bus bandwidth): requests of one burst
    arrive at the controllers as a Poisson process (or one every ``1/rate`` cycles,
    ``arrivals="fixed"``); achieved bandwidth counts bursts ending inside the arrival window
    after the warm-up, latency is arrival to end of data. ``seq-*`` patterns step
    ``stride`` bytes (default one burst) from address 0, wrapping at ``span``; the others
    draw bursts uniformly in ``[0, span)``. ``write_fraction`` overrides the pattern's
    (0 for ``*-read``, 1 for ``*-write``, 1/3 for ``mixed``)."""
    if load <= 0:
        raise InputError("--loads", "load", "a positive fraction of peak bandwidth", load)
    if arrivals not in ARRIVALS:
        raise InputError("--arrivals", "arrivals", "one of " + ", ".join(ARRIVALS), arrivals)
    c2 = _with(cfg, ["noc.model=ideal", "noc.ideal_latency=0", "dram.model=cycle"])
    d = c2.dram
    if span < d.burst_bytes:
        raise InputError("--span", "span", f"at least one burst ({d.burst_bytes} B)", span)
    if stride is not None and stride <= 0:
        raise InputError("--stride", "stride", "a positive number of bytes", stride)
    if write_fraction is not None and not 0 <= write_fraction <= 1:
        raise InputError("--write-fraction", "write_fraction", "a fraction in [0, 1]",
                         write_fraction)
    rng = np.random.default_rng(seed)
    lam = load * peak_bytes_per_cycle(c2) / d.burst_bytes  # requests per cycle
    if arrivals == "poisson":
        gaps = rng.exponential(1 / lam, requests)
        arrive = np.floor(np.cumsum(gaps)).astype(np.int64)
    else:
        arrive = np.floor(np.arange(requests) / lam).astype(np.int64)
    if pattern.startswith("seq"):
        step = d.burst_bytes if stride is None else stride
        burst = (np.arange(requests, dtype=np.int64) * step % span) // d.burst_bytes
    else:
        burst = rng.integers(0, span // d.burst_bytes, requests)
    if write_fraction is None:
        write_fraction = {"mixed": 1 / 3}.get(pattern, 1.0 if pattern.endswith("write") else 0.0)
    if 0 < write_fraction < 1:
        write = (rng.random(requests) < write_fraction).astype(np.int64)
    else:
        write = np.full(requests, int(write_fraction), np.int64)
    comp, oc = dram_replay(c2, burst * d.burst_bytes, write, arrive)
    lat = comp - arrive
    end = int(arrive[-1]) + 1
    w0 = int(end * warmup)
    in_win = (comp >= w0) & (comp < end)
    meas = arrive >= w0
    peak = peak_bytes_per_cycle(c2)
    achieved = in_win.sum() * d.burst_bytes / max(1, end - w0)
    return {
        "offered": load,
        "offered_gbs": load * peak * c2.chip.clock_mhz / 1e3,
        "achieved": float(achieved / peak),
        "achieved_gbs": float(achieved * c2.chip.clock_mhz / 1e3),
        "avg_latency": float(lat[meas].mean()),
        "p99_latency": float(np.percentile(lat[meas], 99)),
        "row_hit_rate": float((oc == 0).mean()),
        "requests": requests, "cycles": int(comp.max() + 1),
    }


def dram_sweep(cfg: Config, pattern: str, loads=None, requests=20_000, seed=1,
               progress=None, **traffic) -> list[dict]:
    """:func:`dram_point` at each load; ``traffic``: its write_fraction, span, stride and
    arrivals."""
    if pattern not in DRAM_PATTERNS:
        raise InputError("--pattern", "pattern", "one of " + ", ".join(DRAM_PATTERNS), pattern)
    if loads is None:
        loads = [round(0.05 * k, 2) for k in range(1, 25)]
    rows = []
    for x in loads:
        row = dram_point(cfg, pattern, x, requests, seed, **traffic)
        rows.append(row)
        if progress:
            progress(row)
    return rows


def read_dram_trace(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An address trace (docs/dram.md): one request per line, ``CYCLE OP ADDRESS`` with OP
    ``R``/``READ`` or ``W``/``WRITE`` and ADDRESS a byte address (decimal or ``0x`` hex);
    cycles non-decreasing; blank lines and ``#`` comments ignored. Returns (arrival cycles,
    write flags, byte addresses)."""
    from pathlib import Path

    src = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise InputError(src, "trace", "a readable text file", e.strerror) from None
    cycles, writes, addrs = [], [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        op = parts[1].upper() if len(parts) == 3 else ""
        try:
            cycle, addr = int(parts[0], 0), int(parts[2], 0)
        except (ValueError, IndexError):
            cycle = addr = -1
        if len(parts) != 3 or op not in ("R", "READ", "W", "WRITE") or cycle < 0 or addr < 0:
            raise InputError(src, f"line {n}", "CYCLE R|W ADDRESS (non-negative integers)",
                             line)
        if cycles and cycle < cycles[-1]:
            raise InputError(src, f"line {n}", f"a cycle >= the previous line's "
                             f"({cycles[-1]})", cycle)
        cycles.append(cycle)
        writes.append(1 if op.startswith("W") else 0)
        addrs.append(addr)
    if not cycles:
        raise InputError(src, "trace", "at least one request line", "an empty trace")
    return (np.array(cycles, np.int64), np.array(writes, np.int64),
            np.array(addrs, np.int64))


def dram_trace_replay(cfg: Config, path) -> tuple[dict, list[dict]]:
    """Replay an address trace (:func:`read_dram_trace`) on the cycle-level DRAM of
    ``cfg``, each request one burst at its address rounded down to a burst. Returns a
    summary (achieved bandwidth over first arrival to last completion, latency, row-hit
    rate) and one row per request."""
    arrive, write, addr = read_dram_trace(path)
    c2 = _with(cfg, ["noc.model=ideal", "noc.ideal_latency=0", "dram.model=cycle"])
    d = c2.dram
    addr = addr // d.burst_bytes * d.burst_bytes
    comp, oc = dram_replay(c2, addr, write, arrive)
    lat = comp - arrive
    span = max(1, int(comp.max()) - int(arrive.min()))
    rd, wr = write == 0, write == 1
    names = ("hit", "miss", "conflict")
    summary = {
        "requests": int(arrive.size), "reads": int(rd.sum()), "writes": int(wr.sum()),
        "cycles": span,
        "achieved_gbs": float(arrive.size * d.burst_bytes / span * c2.chip.clock_mhz / 1e3),
        "avg_latency": float(lat.mean()), "p99_latency": float(np.percentile(lat, 99)),
        "avg_read_latency": float(lat[rd].mean()) if rd.any() else None,
        "avg_write_latency": float(lat[wr].mean()) if wr.any() else None,
        "row_hit_rate": float((oc == 0).mean()),
    }
    rows = [{"arrive": int(a), "op": "W" if w else "R", "address": int(x),
             "complete": int(c), "latency": int(c - a), "outcome": names[int(o)]}
            for a, w, x, c, o in zip(arrive, write, addr, comp, oc)]
    return summary, rows
