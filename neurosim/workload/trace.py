"""Training traces: which spikes and which gradients are nonzero, per weighted layer, sample
and time step. These bits, not average densities, decide every cycle the engines spend.

In memory and on disk a binary vector of ``n`` bits is packed into ``ceil(n / 64)``
little-endian ``uint64`` words: bit ``j`` is bit ``j % 64`` of word ``j // 64``; the padding
bits past ``n`` are zero. Numba kernels scan these words directly.

File format (``.npz``, compressed), version 1:

============================  =========================================================
key                           content
============================  =========================================================
``format``                    the string ``neurosim-trace``
``version``                   1
``network``                   JSON of the weighted-layer graph (names and shapes)
``meta``                      JSON: source, seed, anything the producer wants to keep
``L<i>.in_mask``              uint64 (B, T, words(n_in)): nonzero inputs of layer i
``L<i>.out_spikes``           uint64 (B, T, words(n_out)): output spikes S[t]
``L<i>.sg_mask``              uint64 (B, T, words(n_out)): sg(U[t]) != 0
``L<i>.gu_mask``              uint64 (B, T, words(n_out)): g(U[t]) != 0
``L<i>.gu_values`` (optional) float16 (B, T, n_out): g(U[t]) values
============================  =========================================================
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_write
from .network import Network

TRACE_FORMAT = "neurosim-trace"
TRACE_VERSION = 1
MASKS = ("in_mask", "out_spikes", "sg_mask", "gu_mask")


# --------------------------------------------------------------------------- bit packing


def n_words(n_bits: int) -> int:
    return (int(n_bits) + 63) // 64


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean array (..., n) into uint64 words (..., ceil(n/64)), little-endian bits."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    pad = n_words(n) * 64 - n
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), bool)], axis=-1)
    packed = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 words (..., w) -> bool (..., n)."""
    words = np.ascontiguousarray(words, dtype="<u8")
    bytes_ = words.view(np.uint8)
    return np.unpackbits(bytes_, axis=-1, bitorder="little", count=n).astype(bool)


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(words: np.ndarray, axis=-1) -> np.ndarray:
    """Number of set bits along ``axis`` (default: per vector)."""
    words = np.ascontiguousarray(words, dtype="<u8")
    per_byte = _POP8[words.view(np.uint8)]
    per_word = per_byte.reshape(words.shape + (8,)).sum(axis=-1, dtype=np.int64)
    return per_word.sum(axis=axis)


# --------------------------------------------------------------------------- trace objects


@dataclass
class LayerTrace:
    name: str
    n_in: int
    n_out: int
    in_mask: np.ndarray
    out_spikes: np.ndarray
    sg_mask: np.ndarray
    gu_mask: np.ndarray
    gu_values: np.ndarray | None = None

    def mask(self, kind: str) -> np.ndarray:
        return getattr(self, kind)

    def density(self, kind: str) -> np.ndarray:
        """Fraction of set bits per time step, over the batch: shape (T,)."""
        m = self.mask(kind)
        n = self.n_in if kind == "in_mask" else self.n_out
        return popcount(m).sum(axis=0) / (m.shape[0] * n)


@dataclass
class Trace:
    network: Network
    layers: list  # list[LayerTrace], same order as network.layers
    meta: dict = field(default_factory=dict)

    @property
    def batch(self) -> int:
        return int(self.layers[0].in_mask.shape[0])

    @property
    def time_steps(self) -> int:
        return int(self.layers[0].in_mask.shape[1])

    def __getitem__(self, name: str) -> LayerTrace:
        for lt in self.layers:
            if lt.name == name:
                return lt
        raise KeyError(name)

    # ---------------------------------------------------------------- file I/O

    def save(self, path) -> Path:
        """Write atomically: a half-written trace never appears under ``path``."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        arrays = {
            "format": np.array(TRACE_FORMAT),
            "version": np.array(TRACE_VERSION),
            "network": np.array(self.network.to_json()),
            "meta": np.array(json.dumps(self.meta, sort_keys=True, default=str)),
        }
        for i, lt in enumerate(self.layers):
            for kind in MASKS:
                arrays[f"L{i}.{kind}"] = np.ascontiguousarray(lt.mask(kind), dtype=np.uint64)
            if lt.gu_values is not None:
                arrays[f"L{i}.gu_values"] = np.asarray(lt.gu_values, dtype=np.float16)
        def write(tmp):
            with open(tmp, "wb") as f:   # a file object: numpy adds no ".npz" to the name
                np.savez_compressed(f, **arrays)

        return atomic_write(path, write)

    @staticmethod
    def load(path, expect: Network | None = None) -> "Trace":
        return load_trace(path, expect)

    def validate(self, source: str = "<trace>") -> None:
        validate_trace(self, source)

    def equals(self, other: "Trace") -> bool:
        if not self.network.same_shapes(other.network) or len(self.layers) != len(other.layers):
            return False
        for a, b in zip(self.layers, other.layers):
            for kind in MASKS:
                if not np.array_equal(a.mask(kind), b.mask(kind)):
                    return False
            if (a.gu_values is None) != (b.gu_values is None):
                return False
            if a.gu_values is not None and not np.array_equal(a.gu_values, b.gu_values):
                return False
        return True


def load_trace(path, expect: Network | None = None) -> Trace:
    """Load and validate a trace file; every problem is a one-line InputError."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError(src, "", "an existing trace file (.npz)", "no such file")
    try:
        _check_array_sizes(path, src)
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise InputError(src, "", "a complete neurosim trace (.npz)",
                         f"unreadable ({type(e).__name__}: truncated or not an npz file)") from None
    if "format" not in data or str(data["format"]) != TRACE_FORMAT:
        raise InputError(src, "format", f"'{TRACE_FORMAT}' (is this a neurosim trace?)",
                         str(data.get("format", "missing")))
    version = data.get("version")
    if (version is None or version.shape != () or version.dtype.kind not in "iu"
            or int(version) != TRACE_VERSION):
        raise InputError(src, "version", f"trace format version {TRACE_VERSION}",
                         "missing" if version is None else version.tolist())
    net = Network.from_json(json.dumps(_json_field(data, "network", src, check_network_json)))
    meta = _json_field(data, "meta", src, lambda m, s: None) if "meta" in data else {}
    layers = []
    for i, hl in enumerate(net.layers):
        arrs = {}
        for kind in MASKS:
            key = f"L{i}.{kind}"
            if key not in data:
                raise InputError(src, key, f"the {kind} array of layer {hl.name}", "missing")
            arrs[kind] = data[key]
        gv = data.get(f"L{i}.gu_values")
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, gu_values=gv, **arrs))
    trace = Trace(net, layers, meta)
    validate_trace(trace, src)
    if expect is not None and not net.same_shapes(expect):
        raise InputError(src, "network", f"the layers and shapes of workload network "
                         f"'{expect.name}'", "a trace of a different network")
    if expect is not None:
        if trace.time_steps != expect.time_steps:
            raise InputError(src, "time_steps", f"T = {expect.time_steps} as in the workload",
                             trace.time_steps)
        if trace.batch != expect.batch:
            raise InputError(src, "batch", f"batch = {expect.batch} as in the workload",
                             trace.batch)
    return trace


def _check_array_sizes(path: Path, src: str) -> None:
    """Every array of the archive holds the data its header declares (read from the headers
    alone: a header may declare terabytes that the file does not hold)."""
    fmt = np.lib.format
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                version = fmt.read_magic(f)
                read = fmt.read_array_header_1_0 if version == (1, 0) else \
                    fmt.read_array_header_2_0
                shape, _, dtype = read(f)
                held = info.file_size - f.tell()
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > held:
                raise InputError(src, info.filename.removesuffix(".npy"),
                                 f"the {declared:,} bytes its header declares",
                                 f"{held:,} bytes")


def _json_field(data: dict, key: str, src: str, check) -> dict:
    """A JSON object stored as a 0-d string array (``network``, ``meta``), checked by
    ``check(obj, src)``."""
    arr = data.get(key)
    if arr is None or arr.shape != () or arr.dtype.kind != "U":
        raise InputError(src, key, "a JSON text", "missing" if arr is None else
                         f"{arr.dtype} array of shape {arr.shape}")
    try:
        obj = json.loads(str(arr))
    except ValueError:
        raise InputError(src, key, "valid JSON", "a syntax error") from None
    if not isinstance(obj, dict):
        raise InputError(src, key, "a JSON object", type(obj).__name__)
    check(obj, src)
    return obj


def _is_int(v, lo: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _shape_ok(v) -> bool:
    return isinstance(v, list) and len(v) in (1, 3) and all(_is_int(x, 1) for x in v)


def check_network_json(d: dict, src: str) -> None:
    """The schema of a trace's ``network`` field (what ``Network.to_json`` writes): every
    field with its type, layers in order, edges naming earlier layers or the input."""
    def need(key, ok, expected, where=d, prefix="network"):
        if key not in where or not ok(where[key]):
            raise InputError(src, f"{prefix}.{key}", expected,
                             where.get(key, "missing") if isinstance(where, dict) else where)

    need("name", lambda v: isinstance(v, str) and v != "", "a network name")
    need("input_shape", _shape_ok, "a shape [C, H, W] or [N] of positive integers")
    need("coding", lambda v: isinstance(v, str), "the input coding")
    need("time_steps", lambda v: _is_int(v, 1), "a positive integer")
    need("batch", lambda v: _is_int(v, 1), "a positive integer")
    if "mode" in d:       # optional: train traces do not write it
        need("mode", lambda v: v in ("inference", "input_gradient"),
             "inference or input_gradient (train traces omit the field)")
    need("layers", lambda v: isinstance(v, list) and len(v) > 0 and
         all(isinstance(x, dict) for x in v), "a non-empty list of layer objects")
    names = {"input"}
    for i, layer in enumerate(d["layers"]):
        at = f"network.layers[{i}]"
        need("index", lambda v: v == i, f"{i} (layers in order)", layer, at)
        need("name", lambda v: isinstance(v, str) and v not in names,
             "a layer name used once", layer, at)
        need("kind", lambda v: v in ("conv", "linear"), "conv or linear", layer, at)
        need("in_shape", _shape_ok, "a shape of positive integers", layer, at)
        need("out_shape", _shape_ok, "a shape of positive integers", layer, at)
        need("kernel", lambda v: _is_int(v, 1), "a positive integer", layer, at)
        need("stride", lambda v: _is_int(v, 1), "a positive integer", layer, at)
        need("padding", lambda v: _is_int(v, 0), "a non-negative integer", layer, at)
        need("in_binary", lambda v: isinstance(v, bool), "true or false", layer, at)
        need("edges", lambda v: isinstance(v, list) and len(v) > 0 and
             all(isinstance(e, dict) for e in v), "a non-empty list of edges", layer, at)
        for j, e in enumerate(layer["edges"]):
            eat = f"{at}.edges[{j}]"
            need("src", lambda v: v in names, "the input or an earlier layer", e, eat)
            need("src_shape", _shape_ok, "a shape of positive integers", e, eat)
            need("pools", lambda v: isinstance(v, list) and all(
                isinstance(p, list) and len(p) == 3 and p[0] in ("max", "avg")
                and _is_int(p[1], 1) and _is_int(p[2], 1) for p in v),
                 "a list of [max|avg, kernel, stride]", e, eat)
        names.add(layer["name"])


def validate_trace(trace: Trace, source: str = "<trace>") -> None:
    net = trace.network
    if len(trace.layers) != len(net.layers):
        raise InputError(source, "layers", f"{len(net.layers)} layer traces", len(trace.layers))
    b = t = None
    for i, (lt, hl) in enumerate(zip(trace.layers, net.layers)):
        for kind in MASKS:
            key = f"L{i}.{kind}"
            arr = lt.mask(kind)
            n = hl.n_in if kind == "in_mask" else hl.n_out
            if not isinstance(arr, np.ndarray) or arr.dtype != np.uint64 or arr.ndim != 3:
                raise InputError(source, key, "a uint64 array (batch, T, words)",
                                 f"{getattr(arr, 'dtype', type(arr).__name__)} "
                                 f"{getattr(arr, 'shape', '')}")
            if b is None:
                b, t = arr.shape[0], arr.shape[1]
            if arr.shape != (b, t, n_words(n)):
                raise InputError(source, key, f"shape ({b}, {t}, {n_words(n)}) for {n} bits",
                                 tuple(arr.shape))
            if n % 64 and np.any(arr[..., -1] >> np.uint64(n % 64)):
                raise InputError(source, key, f"zero padding bits past bit {n}",
                                 "set padding bits")
        if lt.gu_values is not None:
            gv = lt.gu_values
            if gv.dtype != np.float16 or gv.shape != (b, t, hl.n_out):
                raise InputError(source, f"L{i}.gu_values", f"float16 ({b}, {t}, {hl.n_out})",
                                 f"{gv.dtype} {gv.shape}")
    if b == 0 or t == 0:
        raise InputError(source, "L0.in_mask", "at least one sample and one time step", (b, t))
    if (net.batch, net.time_steps) != (b, t):
        key, want, said = (("network.batch", b, net.batch) if net.batch != b
                           else ("network.time_steps", t, net.time_steps))
        raise InputError(source, key, f"{want}, as the arrays hold (batch {b}, T {t})", said)


# --------------------------------------------------------------------------- edges


def pool_bits(bits: np.ndarray, shape: tuple, pool) -> tuple[np.ndarray, tuple]:
    """Nonzero pattern after pooling: OR over each window (true for max and avg pooling).
    ``bits`` is bool (..., H*W*C) in HWC order; returns (bits, new shape)."""
    c, h, w = shape
    k, s = pool.kernel, pool.stride
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    x = bits.reshape(bits.shape[:-1] + (h, w, c))
    out = np.zeros(bits.shape[:-1] + (ho, wo, c), dtype=bool)
    for dy in range(k):
        for dx in range(k):
            out |= x[..., dy:dy + s * (ho - 1) + 1:s, dx:dx + s * (wo - 1) + 1:s, :]
    return out.reshape(bits.shape[:-1] + (ho * wo * c,)), (c, ho, wo)


def edge_bits(edge, src_bits: np.ndarray) -> np.ndarray:
    """Nonzero pattern an edge delivers, from its source's output bits (bool, HWC order)."""
    bits, shape = src_bits, tuple(edge.src_shape)
    for p in edge.pools:
        bits, shape = pool_bits(bits, shape, p)
    return bits


def reached_positions(layer, any_delta: np.ndarray) -> np.ndarray:
    """Input positions of a conv layer inside the receptive field of a nonzero delta: bool
    (..., H, W) from ``any_delta`` bool (..., H', W') (spec 4.2: the entries a transposed
    product writes)."""
    _, h, w = layer.in_shape
    _, ho, wo = layer.out_shape
    lead = any_delta.shape[:-2]
    reached = np.zeros(lead + (h, w), bool)
    s, pad = layer.stride, layer.padding
    for ky in range(layer.kernel):
        ys = np.arange(ho) * s + ky - pad
        vy = (ys >= 0) & (ys < h)
        for kx in range(layer.kernel):
            xs = np.arange(wo) * s + kx - pad
            vx = (xs >= 0) & (xs < w)
            sub = any_delta[..., vy, :][..., vx]
            reached[..., ys[vy][:, None], xs[vx][None, :]] |= sub
    return reached


def input_gradient_density(trace: Trace) -> float:
    """Fraction of the entries of g(input) that the transposed products of the layers
    reading the network input write, over samples and steps (spec 3.6): a linear layer
    writes all ``n_in`` at a (b, t) with any nonzero g(U); a conv layer the input positions
    in the receptive field of a nonzero g(U), times its input channels."""
    written = total = 0
    for hl, lt in zip(trace.network.layers, trace.layers):
        if not any(e.src == "input" for e in hl.edges):
            continue
        gu = unpack_bits(lt.gu_mask, hl.n_out)                   # (B, T, n_out) HWC
        if hl.kind == "conv":
            _, ho, wo = hl.out_shape
            any_delta = gu.reshape(gu.shape[:2] + (ho, wo, hl.out_channels)).any(axis=-1)
            written += int(reached_positions(hl, any_delta).sum()) * hl.in_channels
        else:
            written += int(gu.any(axis=-1).sum()) * hl.n_in
        total += gu.shape[0] * gu.shape[1] * hl.n_in
    return written / total if total else 0.0
