"""Closed-form checks of one model's records against the spec, for any model.

These do not replace the differential comparison, but they catch errors that two models
could share, and they test the reference on its own while no second model exists:

- every tile's isolated length, ``end - start - bank_stalls``, equals the spec section 2
  formula, computed here a different way (vectorised window sums over the trace bits and
  separable counts of valid kernel offsets, not per-cycle programs);
- per engine, tiles run in program order without overlapping, ``ready >= previous end``,
  ``start >= ready``, and ``start == ready`` for a tile with nothing to load;
- WG never becomes ready before its BP's delta phase (or BP end without overlap), LOSS not
  before the output FP of ``T-1``, BP of the output layer not before LOSS;
- a core-local message is available when sent; an ideal-NoC message ``noc.ideal_latency``
  after; a cycle-NoC message no earlier than its zero-load latency;
- ideal DRAM requests complete ``dram.ideal_latency`` after arriving; cycle-model requests
  no earlier than the column latency (plus tRCD for a miss or conflict);
- DRAM byte counters equal the requests recorded; ``total_cycles`` is the last event;
- every engine's cycle classes (spec 10.1) sum to ``total_cycles``, and a tile has a wait
  class exactly when it became ready after its engine's previous tile ended.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ..arch import dram_timing_cycles, value_bits
from ..counters import DRAM, engine_path, dram_path, lookup
from ..counters import key as counter_key
from ..memsys.noc import zero_load_latency
from ..memsys.topology import Mesh
from ..timing import WAIT_CLASSES
from ..workload.trace import unpack_bits


def cdiv(a, b):
    return -(-a // b)


def window_cycles(chunks: np.ndarray, sw: int) -> int:
    """Cycles of a zero-skipping scan: per window of ``sw`` entries, max(1, chunk sum)."""
    n = len(chunks)
    pad = np.zeros(cdiv(n, sw) * sw, dtype=np.int64)
    pad[:n] = chunks
    return int(np.maximum(1, pad.reshape(-1, sw).sum(axis=1)).sum())


def offsets_per_axis(n_in: int, n_out: int, K: int, s: int, P: int, forward: bool):
    """Valid kernel offsets per input coordinate (forward) or per output coordinate."""
    if forward:
        v = np.zeros(n_in, dtype=np.int64)
        for k in range(K):
            num = np.arange(n_in) + P - k
            v += (num >= 0) & (num % s == 0) & (num // s < n_out)
        return v
    v = np.zeros(n_out, dtype=np.int64)
    for k in range(K):
        pos = np.arange(n_out) * s + k - P
        v += (pos >= 0) & (pos < n_in)
    return v


class Checker:
    def __init__(self, case):
        self.case = case
        cfg, net = case.arch, case.network
        self.cfg, self.net = cfg, net
        self.bits = value_bits(cfg)
        self.masks = {hl.name: {"in": unpack_bits(lt.in_mask, hl.n_in),
                                "gu": unpack_bits(lt.gu_mask, hl.n_out)}
                      for hl, lt in zip(net.layers, case.trace.layers)}

    def part(self, rec):
        pl = self.case.placement
        return pl.replicas[0 if rec.b < 0 else rec.b % len(pl.replicas)].layers[rec.layer][rec.part]

    def gu_part(self, layer, part, b, t):
        g = self.masks[layer.name]["gu"][b, t]
        if layer.kind == "conv":
            return g.reshape(-1, layer.out_channels)[:, part.out_lo:part.out_hi].reshape(-1)
        return g[part.out_lo:part.out_hi]

    def length(self, rec) -> int:
        """Spec section 2, by formula."""
        cfg, net, T = self.cfg, self.net, self.net.time_steps
        if rec.kind == "LOSS":
            return cfg.core.bp.pipeline_depth + T * cdiv(net.output_layer.n_out, cfg.core.bp.lanes)
        layer, part = net[rec.layer], self.part(rec)
        conv = layer.kind == "conv"
        n_part = part.n_ch * (layer.out_shape[1] * layer.out_shape[2] if conv else 1)
        if rec.kind == "UPD":
            wg = cfg.core.wg
            n_w = part.n_ch * (layer.in_channels * layer.kernel ** 2 if conv else layer.n_in)
            R = len(self.case.placement.replicas)
            passes = R + int(self.case.momentum) + int(wg.master_weights != "none")
            return wg.pipeline_depth + passes * cdiv(n_w, wg.lanes)
        in_mask = self.masks[layer.name]["in"][rec.b, rec.t]
        if rec.kind == "FP":
            fp = cfg.core.fp
            J = cdiv(part.n_ch, fp.lanes)
            if conv:
                c, h, w = layer.in_shape
                _, ho, wo = layer.out_shape
                K, s, P = layer.kernel, layer.stride, layer.padding
                vy = offsets_per_axis(h, ho, K, s, P, True)
                vx = offsets_per_axis(w, wo, K, s, P, True)
                per_input = np.repeat((vy[:, None] * vx[None, :]).reshape(-1), c) * J
            else:
                per_input = np.full(layer.n_in, J)
            chunks = np.where(in_mask, per_input, 0)
            return (fp.pipeline_depth + window_cycles(chunks, fp.scan_width)
                    + cdiv(n_part, fp.neuron_lanes))
        gu = self.gu_part(layer, part, rec.b, rec.t)
        if rec.kind == "BP":
            bp = cfg.core.bp
            if layer is net.output_layer:
                P_ = 1
            else:
                pl = self.case.placement.replicas[rec.b % len(self.case.placement.replicas)]
                P_ = sum(len(pl.layers[m]) for m in net.consumers(layer.name))
            n = bp.pipeline_depth + P_ * cdiv(n_part, bp.lanes)
            if all(e.src == "input" for e in layer.edges) and net.mode != "input_gradient":
                return n      # no transposed phase (in input_gradient it runs: spec 3.6)
            if conv:
                c, h, w = layer.in_shape
                _, ho, wo = layer.out_shape
                K, s, P = layer.kernel, layer.stride, layer.padding
                vy = offsets_per_axis(h, ho, K, s, P, False)
                vx = offsets_per_axis(w, wo, K, s, P, False)
                per_delta = np.repeat((vy[:, None] * vx[None, :]).reshape(-1), part.n_ch) \
                    * cdiv(c, bp.lanes)
            else:
                per_delta = np.full(part.n_ch, cdiv(layer.n_in, bp.lanes))
            return n + window_cycles(np.where(gu, per_delta, 0), bp.scan_width)
        wg = cfg.core.wg
        n = wg.pipeline_depth + cdiv(layer.n_in, wg.scan_width)
        if conv:
            c, h, w = layer.in_shape
            _, ho, wo = layer.out_shape
            K, s, P = layer.kernel, layer.stride, layer.padding
            nnz = in_mask.reshape(h, w, c).sum(axis=2)
            per_pos = np.zeros((ho, wo), dtype=np.int64)
            oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
            for ky in range(K):
                for kx in range(K):
                    y, x = oy * s + ky - P, ox * s + kx - P
                    ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
                    per_pos += np.where(ok, -(-nnz[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)]
                                             // wg.lanes), 0)
            per_delta = np.repeat(per_pos.reshape(-1), part.n_ch)
        else:
            per_delta = np.full(part.n_ch, cdiv(int(in_mask.sum()), wg.lanes))
        return n + window_cycles(np.where(gu, per_delta, 0), wg.scan_width)

    def has_loads(self, rec) -> bool:
        if rec.kind == "LOSS":
            return False
        part = self.part(rec)
        spilled = lambda n: n in part.tensors and not part.tensors[n].resident  # noqa: E731
        if rec.kind == "FP":
            reads_input = any(e.src == "input" for e in self.net[rec.layer].edges)
            return (reads_input and self.case.placement.input_frame_bytes > 0) or spilled("W") \
                or (rec.t > 0 and spilled("U"))
        if rec.kind == "BP":
            return spilled("saved") or spilled("W")
        if rec.kind == "WG":
            return spilled("saved_in") or spilled("GW")
        master = self.cfg.core.wg.master_weights != "none"
        return spilled("W") or spilled("GW") or (self.case.momentum and spilled("M")) \
            or (master and spilled("WM"))

    def check(self, res) -> list:
        """Problems found in ``res`` (strings; empty when all checks pass)."""
        out = []
        cfg = self.cfg
        tiles = res.tiles_by_key()
        kinds = {"train": {"FP", "LOSS", "BP", "WG", "UPD"}, "inference": {"FP"},
                 "input_gradient": {"FP", "LOSS", "BP"}}[self.net.mode]   # spec 3.6
        for r in res.tiles:
            if r.kind not in kinds:
                out.append(f"tile {r.key}: no {r.kind} tiles in mode {self.net.mode}")
            if r.end - r.start - r.bank_stalls != self.length(r):
                out.append(f"tile {r.key}: isolated length {r.end - r.start - r.bank_stalls}, "
                           f"spec formula {self.length(r)}")
            if not r.ready <= r.start < r.end:
                out.append(f"tile {r.key}: ready {r.ready} start {r.start} end {r.end}")
            if not self.has_loads(r) and r.start != r.ready:
                out.append(f"tile {r.key}: nothing to load but start {r.start} != ready {r.ready}")
            if r.kind == "WG":
                bp = tiles[("BP", r.layer, r.part, r.b, r.t)]
                need = bp.delta_end if cfg.schedule.bp_wg_overlap else bp.end
                if r.ready < need:
                    out.append(f"tile {r.key}: ready {r.ready} before its BP allows ({need})")
            if r.kind == "BP" and not bp_delta_ok(r):
                out.append(f"tile {r.key}: delta_end {r.delta_end} outside [start, end]")
        by_engine = res.tiles_by_engine()
        for rs in by_engine.values():
            for a, b in zip(rs, rs[1:]):
                if b.ready < a.end:
                    out.append(f"tiles {a.key} and {b.key} overlap on one engine")
        self._check_messages(res, out)
        self._check_dram(res, out)
        last = max([r.end for r in res.tiles] + [m.available for m in res.messages]
                   + [d.complete for d in res.dram if d.write] + [0])
        if res.total_cycles != last:
            out.append(f"total_cycles {res.total_cycles} but the last event is at {last}")
        self._check_cycle_classes(res, by_engine, out)
        return out

    def _check_cycle_classes(self, res, by_engine, out):
        """Spec 10.1: every engine's cycle classes sum to the step's cycles; a tile has a
        wait class exactly when it became ready after its engine's previous tile ended."""
        sums = defaultdict(int)
        for (comp, action), n in res.counters.items():
            if lookup(comp, action).action.name == "cycles":
                sums[comp] += n
        for core in range(self.cfg.chip.cores):
            for eng in ("fp", "bp", "wg"):
                got = sums.get(engine_path(core, eng), 0)
                if got != res.total_cycles:
                    out.append(f"{engine_path(core, eng)}: cycle classes sum to {got}, not "
                               f"total_cycles {res.total_cycles}")
        for rs in by_engine.values():
            prev = 0
            for r in rs:
                if (r.ready > prev) != (r.wait in WAIT_CLASSES):
                    out.append(f"tile {r.key}: wait class {r.wait!r} with ready {r.ready} "
                               f"and previous end {prev}")
                prev = r.end

    def _check_messages(self, res, out):
        cfg = self.cfg
        mesh = Mesh.of(cfg)
        for m in res.messages:
            local = m.src[0] == m.dst[0] and m.src[1] == 0 and m.dst[1] == 0
            if local:
                if m.available != m.send or m.flits:
                    out.append(f"core-local message {m.tag}: send {m.send} available "
                               f"{m.available} flits {m.flits}")
            elif cfg.noc.model == "ideal":
                if m.available != m.send + cfg.noc.ideal_latency:
                    out.append(f"message {m.tag}: ideal latency {m.available - m.send}")
            else:
                zl = zero_load_latency(cfg, mesh.hops(m.src[0], m.dst[0]), m.flits) + 1  # available: tail received + 1
                if m.available - m.send < zl:
                    out.append(f"message {m.tag}: latency {m.available - m.send} below "
                               f"zero-load {zl}")

    def _check_dram(self, res, out):
        cfg = self.cfg
        burst = cfg.dram.burst_bytes
        count = Counter()
        for d in res.dram:
            count[counter_key(dram_path(d.channel), "write_bytes" if d.write else "read_bytes",
                              d.tensor)] += burst
            if cfg.dram.model == "ideal":
                if d.complete != d.arrive + cfg.dram.ideal_latency or d.outcome != "ideal":
                    out.append(f"DRAM request @{d.address:#x}: ideal latency "
                               f"{d.complete - d.arrive}, outcome {d.outcome}")
            else:
                t = dram_timing_cycles(cfg)
                lat = (t["tCWL"] if d.write else t["tCL"]) + t["tBURST"]
                if d.outcome != "hit":
                    lat += t["tRCD"]
                if d.complete - d.arrive < lat:
                    out.append(f"DRAM request @{d.address:#x} ({d.outcome}): latency "
                               f"{d.complete - d.arrive} below {lat}")
        got = Counter({k: v for k, v in res.counters.items()
                       if lookup(*k).component is DRAM and lookup(*k).label is not None})
        if got != count:
            out.append(f"DRAM byte counters {dict(got)} differ from the requests {dict(count)}")


def bp_delta_ok(r) -> bool:
    return r.start <= r.delta_end <= r.end
