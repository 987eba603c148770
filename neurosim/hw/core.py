"""A core: its FP, BP and WG engines as SimPy processes over the core's SRAM arbiter.

Each engine walks its static tile order (:mod:`neurosim.hw.schedule`). For every tile it waits
for the tile's dependencies (``docs/microarchitecture.md`` 3.2), issues its DRAM loads, starts
it on the core's :class:`~neurosim.hw.sram.CoreArbiter` (which decides, with the other active
engines, when it ends), then issues its stores and messages (3.3, 4, 5.2). Tile costs come
from :class:`TileCoster`, which feeds the trace bits of a tile to the numba kernels of
:mod:`neurosim.hw.engines`.
"""
from __future__ import annotations

import numpy as np

from ..mapping.footprint import TENSORS
from ..timing import TileRecord
from ..workload.trace import pool_bits, reached_positions, unpack_bits
from . import engines as E
from .schedule import ENGINES
from .sram import TileExec

_EMPTY = np.zeros(0, np.int64)


def clog2(x: int) -> int:
    """ceil(log2(x)) for x >= 1."""
    return (int(x) - 1).bit_length()


# --------------------------------------------------------------------------- parts


class PartInfo:
    """A part with everything the timing model derives from the network and placement."""

    def __init__(self, network, pl, replica: int, parts_in_replica: dict):
        layer = network[pl.layer]
        self.layer = layer
        self.pl = pl
        self.name = pl.layer
        self.index = pl.index
        self.replica = replica
        self.core = pl.core
        self.lo, self.hi = pl.out_lo, pl.out_hi
        self.n_ch = pl.out_hi - pl.out_lo
        if layer.kind == "conv":
            _, ho, wo = layer.out_shape
            self.positions = ho * wo
            self.channels = layer.out_channels
            self.n_w = self.n_ch * layer.in_channels * layer.kernel * layer.kernel
        else:
            self.positions = 1
            self.channels = layer.n_out
            self.n_w = self.n_ch * layer.n_in
        self.n_part = self.n_ch * self.positions
        self.tensors = pl.tensors
        self.reads_input = any(e.src == "input" for e in layer.edges)
        self.producers = sorted({e.src for e in layer.edges if e.src != "input"},
                                key=lambda n: network[n].index)
        # input_gradient: every layer's transposed product runs, the first's gives g(input)
        self.transposed = bool(self.producers) or network.mode == "input_gradient"
        self.consumers = sorted(network.consumers(pl.layer), key=lambda n: network[n].index)
        self.is_output = pl.layer == network.output_layer.name
        npass = sum(len(parts_in_replica[m]) for m in self.consumers)
        self.passes = 1 if self.is_output else max(1, npass)

    def base(self, tensor: str) -> int:
        tp = self.tensors.get(tensor)
        return int(tp.sram_base) if tp is not None else 0

    def spilled(self, tensor: str) -> bool:
        tp = self.tensors.get(tensor)
        return tp is not None and not tp.resident


# --------------------------------------------------------------------------- tile costs


class TileCoster:
    """Cycle costs and counters of tiles, from the trace bits (numba kernels)."""

    def __init__(self, arch, network, trace, ep: E.EngineParams, replicas: int, momentum: bool):
        self.ep = ep
        self.net = network
        self.trace = trace
        self.T = trace.time_steps
        self.R = replicas
        self.M = 1 if momentum else 0
        self._lt = {lt.name: lt for lt in trace.layers}
        self._gu: dict = {}
        self._nnzc: dict = {}
        self._nnz_in: dict = {}
        self._fp_taps: dict = {}   # (layer, b, t) -> fp_input_taps of the layer's input
        self._grad_elems: dict = {}   # (consumer, producer layer) -> g(S) elements per channel
        self._grad_rows: dict = {}    # consumer part -> _grad_message_rows of its producers
        self._prm: dict = {}
        self._spike: dict = {}
        self._reach: dict = {}
        self.spike_encoding = arch.noc.spike_encoding
        self.gradient_encoding = arch.noc.gradient_encoding

    # ---------------------------------------------------------------- trace views

    def part_gu(self, pi: PartInfo, b: int, t: int) -> np.ndarray:
        """g(U) != 0 of the part at (b, t), packed in part order."""
        key = (pi.name, pi.lo, pi.hi)
        arr = self._gu.get(key)
        if arr is None:
            full = self._lt[pi.name].gu_mask
            B, T = full.shape[:2]
            nw = (pi.n_part + 63) // 64
            arr = np.zeros((B, T, nw), np.uint64)
            for bb in range(B):
                for tt in range(T):
                    arr[bb, tt] = E.part_slice_bits(np.ascontiguousarray(full[bb, tt]),
                                                    pi.layer.n_out, pi.positions, pi.channels,
                                                    pi.lo, pi.hi)
            self._gu[key] = arr
        return arr[b, t]

    def in_words(self, layer: str, b: int, t: int) -> np.ndarray:
        return self._lt[layer].in_mask[b, t]

    def nnz_in(self, layer: str, b: int, t: int) -> int:
        key = (layer, b, t)
        v = self._nnz_in.get(key)
        if v is None:
            v = self._nnz_in[key] = int(E.count_bits(self.in_words(layer, b, t)))
        return v

    def nnz_channels(self, layer, b: int, t: int) -> np.ndarray:
        key = (layer.name, b, t)
        v = self._nnzc.get(key)
        if v is None:
            c, h, w = layer.in_shape
            v = self._nnzc[key] = E.position_counts(self.in_words(layer.name, b, t), h * w, c)
        return v

    def _params(self, pi: PartInfo, mode: int) -> np.ndarray:
        key = (pi.name, pi.lo, pi.hi, pi.core, mode)
        prm = self._prm.get(key)
        if prm is None:
            if mode == E.MODE_FP:
                prm = E.scan_params(self.ep, pi.layer, mode, pi.n_ch, pi.base("W"))
            else:
                prm = E.scan_params(self.ep, pi.layer, mode, pi.n_ch, pi.base("W"), pi.base("GS"))
            self._prm[key] = prm
        return prm

    # ---------------------------------------------------------------- tile work

    def work(self, tile, pi: PartInfo | None):
        """(length, delta length, counters, materialize) of a tile in isolation."""
        ep = self.ep
        cnt = np.zeros(E.N_CNT, np.int64)
        kind = tile.kind
        if kind == "FP":
            words = self.in_words(pi.name, tile.b, tile.t)
            prm = self._params(pi, E.MODE_FP)
            n_in = pi.layer.n_in
            key = (pi.name, tile.b, tile.t)
            taps = self._fp_taps.get(key)
            if taps is None:   # the same for every part of the layer
                taps = self._fp_taps[key] = E.fp_input_taps(words, n_in, ep.fp_sw, prm)
            n = E.fp_tile_count(taps[0], taps[1], n_in, ep.fp_sw, ep.fp_depth, prm,
                                ep.neuron_lanes, pi.n_part, ep.k_s, cnt)
            args = (words, n_in, ep.fp_sw, ep.fp_depth, prm, ep.neuron_lanes, pi.n_part,
                    ep.k_s, pi.base("U"), int(ep.banks[E.B_STATE]))
            return n, n, cnt, _materializer(E.fp_tile, args, n)
        if kind == "BP":
            gu = self.part_gu(pi, tile.b, tile.t)
            prm = self._params(pi, E.MODE_BP)
            args = (gu, pi.n_part, ep.bp_sw, ep.bp_depth, pi.passes, pi.transposed, prm,
                    pi.base("GU"))
            n, dl = E.bp_tile(*args, False, _EMPTY, cnt)
            return n, dl, cnt, _materializer(E.bp_tile, args, n, pair=True)
        if kind == "WG":
            gu = self.part_gu(pi, tile.b, tile.t)
            nnz = self.nnz_in(pi.name, tile.b, tile.t)
            prm = E.scan_params(ep, pi.layer, E.MODE_WG, pi.n_ch, pi.base("GW"), nnz_in=nnz)
            nnzc = (self.nnz_channels(pi.layer, tile.b, tile.t) if pi.layer.kind == "conv"
                    else prm)
            args = (gu, pi.n_part, pi.layer.n_in, ep.wg_sw, ep.wg_depth, prm, nnzc)
            n = E.wg_tile(*args, False, _EMPTY, cnt)
            return n, n, cnt, _materializer(E.wg_tile, args, n)
        if kind == "UPD":
            args = (ep.wg_depth, self.R + self.M, pi.n_w, ep.wg_lanes, pi.base("GW"), ep.k_g,
                    int(ep.banks[E.B_WGRAD]), pi.base("W"), ep.k_uw, int(ep.banks[E.B_WEIGHTS]),
                    pi.base("WM"), ep.k_m)
            n = E.upd_tile(*args, False, _EMPTY, cnt)
            return n, n, cnt, _materializer(E.upd_tile, args, n)
        if kind == "LOSS":
            n_out = self.net.output_layer.n_out
            n = ep.bp_depth + self.T * E.cdiv(n_out, ep.bp_lanes)
            cnt[E.CNT_MAC] += self.T * n_out
            return n, n, cnt, _free_cycles(n)
        raise ValueError(kind)

    # ---------------------------------------------------------------- message payloads

    def spike_payload(self, pi: PartInfo, consumer: str, b: int, t: int) -> int:
        """Bits of the spike message from part ``pi`` to a core of ``consumer`` (4.1)."""
        m = self.net[consumer]
        edge = next(e for e in m.edges if e.src == pi.name)
        key = (pi.name, pi.lo, pi.hi, consumer)
        got = self._spike.get(key)
        if got is None:
            lt = self._lt[pi.name]
            bits = unpack_bits(lt.out_spikes, pi.layer.n_out)       # (B, T, n_out) HWC
            B, T = bits.shape[:2]
            bits = bits.reshape(B, T, pi.positions, pi.channels)[..., pi.lo:pi.hi]
            bits = bits.reshape(B, T, pi.n_part)
            if pi.layer.kind == "conv":
                shape = (pi.n_ch,) + tuple(pi.layer.out_shape[1:])
                for pool in edge.pools:
                    bits, shape = pool_bits(bits, shape, pool)
            got = self._spike[key] = (bits.shape[-1], bits.sum(axis=-1))
        slice_bits, nnz = got
        bitmap = slice_bits
        aer = int(nnz[b, t]) * max(1, clog2(m.n_in))
        enc = self.spike_encoding
        if enc == "bitmap" or (enc == "auto" and bitmap <= aer):
            return bitmap
        return aer

    def grad_payloads(self, q: PartInfo, producers: list, b: int, t: int) -> list[int]:
        """Bits of the partial g(S_in) messages from consumer part ``q`` to each of the
        producer parts ``producers`` (4.2): all of q's producers, in the chip's order."""
        if not producers:
            return []
        rows = self._grad_rows.get((q.name, q.lo, q.hi))
        if rows is None:
            rows = self._grad_rows[(q.name, q.lo, q.hi)] = self._grad_message_rows(q, producers)
        reach = int(self._reached(q)[b, t])
        enc = self.gradient_encoding
        dense_only, auto = enc == "dense", enc == "auto"
        out = []
        for dense, unit, nz_bits in rows:
            sparse = reach * unit * nz_bits
            out.append(dense if dense_only or (auto and dense <= sparse) else sparse)
        return out

    def _grad_message_rows(self, q: PartInfo, producers: list) -> list:
        """Per producer part: (dense bits, nonzero elements per unit of q's reach, bits per
        nonzero element). Conv: the reach counts input positions, each with the producer
        part's channels; linear: the reach is 0 or 1, all elements. The same in every
        replica (replicas split identically)."""
        w = self.ep.bits
        conv = q.layer.kind == "conv"
        rows = []
        for p in producers:
            e_count = p.n_ch * self._grad_elements_per_channel(q.layer, p.layer)
            rows.append((e_count * w, p.n_ch if conv else e_count,
                         max(1, clog2(e_count)) + w))
        return rows

    def _grad_elements_per_channel(self, consumer, producer) -> int:
        """Elements per output channel of a ``producer`` part's g(S) that a part of
        ``consumer`` sends back: the producer's output positions after the edge's pooling
        (conv), 1 (linear)."""
        key = (consumer.name, producer.name)
        got = self._grad_elems.get(key)
        if got is None:
            got = 1
            if producer.kind == "conv":
                edge = next(e for e in consumer.edges if e.src == producer.name)
                _, h, w = producer.out_shape
                for pool in edge.pools:
                    h = (h - pool.kernel) // pool.stride + 1
                    w = (w - pool.kernel) // pool.stride + 1
                got = h * w
            self._grad_elems[key] = got
        return got

    def _reached(self, q: PartInfo) -> np.ndarray:
        """Per (b, t): conv -- input positions of q's layer inside the receptive field of a
        nonzero delta of q; linear -- whether q has any nonzero delta."""
        key = (q.name, q.lo, q.hi)
        got = self._reach.get(key)
        if got is not None:
            return got
        B, T = self.trace.batch, self.T
        gu = np.stack([np.stack([self.part_gu(q, b, t) for t in range(T)]) for b in range(B)])
        bits = unpack_bits(gu, q.n_part)                       # (B, T, n_part) part order
        m = q.layer
        if m.kind != "conv":
            got = bits.any(axis=-1)
        else:
            _, h, w = m.in_shape
            _, ho, wo = m.out_shape
            anyd = bits.reshape(B, T, ho, wo, q.n_ch).any(axis=-1)
            got = reached_positions(m, anyd).reshape(B, T, h * w).sum(axis=-1)
        self._reach[key] = got
        return got


def _materializer(kernel, args, n, pair=False):
    def run(out):
        """The tile's ``n`` op codes, written into ``out[:n]`` (a reused buffer:
        :class:`~neurosim.hw.sram.OpBuffers`)."""
        codes = out[:n]
        scratch = np.zeros(E.N_CNT, np.int64)
        got = kernel(*args, True, codes, scratch)
        got = got[0] if pair else got
        assert got == n, "op stream length differs from the counted length"
        return codes
    return run


def _free_cycles(n):
    """The materializer of a tile of ``n`` free cycles (LOSS: no SRAM access)."""
    def run(out):
        codes = out[:n]
        codes[:] = E.FREE
        return codes
    return run


# --------------------------------------------------------------------------- the core


class Core:
    """One core: three engine processes sharing an SRAM arbiter."""

    def __init__(self, chip, core_id: int, programs: dict, arbiter):
        self.chip = chip
        self.id = core_id
        self.arbiter = arbiter
        self.programs = programs
        self.procs = []
        for e, name in enumerate(ENGINES):
            prog = programs.get(name, [])
            if prog:
                self.procs.append(chip.env.process(self._engine(e, prog)))
        self.current = [None, None, None]   # tile each engine is waiting on / running

    def _engine(self, e: int, program: list):
        chip = self.chip
        env = chip.env
        prev_end = 0
        for tile in program:
            self.current[e] = tile
            deps = chip.dependencies(self.id, tile)
            for key in chip.unmet(deps):
                ev = chip.pending(key)
                if ev is not None:
                    yield ev
            ready = env.now
            wait, wait_on = (chip.last_dependency(self.id, deps, ready) if ready > prev_end
                             else ("", ()))
            loads = chip.loads(tile)
            if loads:
                yield chip.post_loads(self.id, e, tile, loads)
            start = env.now
            pi = chip.part_of(tile)
            length, delta_len, cnt, materialize = chip.coster.work(tile, pi)
            done = env.event()
            on_delta = None
            if tile.kind == "BP":
                key = ("BPD",) + tile.key[1:]
                on_delta = lambda c, key=key: chip.fire(key)  # noqa: E731
            te = TileExec(e, length, delta_len, chip.coster.ep.tile_buffers[tile.kind],
                          materialize, on_delta, lambda c, done=done: done.succeed(c))
            self.arbiter.start(te, start)
            chip.arbiter_changed(self.id)
            yield done
            end = env.now
            rec = TileRecord(tile.kind, tile.layer, tile.part, tile.b, tile.t, self.id, ready,
                             start, end, te.delta_end if tile.kind == "BP" else -1,
                             te.bank_stalls, wait, wait_on)
            chip.tile_done(self.id, e, tile, pi, rec, cnt, te.stalls, prev_end)
            prev_end = end
        self.current[e] = None


def tensor_transfer(pi: PartInfo, name: str, b: int, t: int, T: int):
    """(buffer, dram kind, address, bytes) of one instance of a part's tensor."""
    tp = pi.tensors[name]
    buf, kind = TENSORS[name]
    addr = tp.dram_instance(b, t, T) if name in ("saved", "saved_in") else tp.dram_addr
    return buf, kind, addr, tp.nbytes


__all__ = ["PartInfo", "TileCoster", "Core", "tensor_transfer", "clog2"]
