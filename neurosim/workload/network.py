"""The network as the hardware sees it.

The workload lists layers as a user writes them (conv2d, linear, pooling, flatten, add). The
engines only execute *weighted* layers (conv2d or linear, each followed by LIF neurons);
pooling, flatten and residual adds are folded into the edges that carry spikes from one
weighted layer (or the network input) to the next. :func:`build_network` turns the first
view into the second: a list of :class:`HwLayer`, each with its input and output shapes and
the :class:`Edge` objects that feed it.

Tensor layout: a C x H x W map is flattened in HWC order (channel innermost), because the
engines' lanes run over channels. Neuron index ``(y * W + x) * C + c``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..params import Config


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" or "avg"
    kernel: int
    stride: int


@dataclass(frozen=True)
class Edge:
    """Spikes flowing from ``src`` (a weighted layer's name, or ``"input"``) into a consumer:
    ``src``'s output, pooled by ``pools`` in order, then viewed in the consumer's input
    shape. Several edges into one layer are added element-wise (residual connections)."""

    src: str
    src_shape: tuple
    pools: tuple = ()


@dataclass(frozen=True)
class HwLayer:
    index: int
    name: str
    kind: str  # "conv" or "linear"
    in_shape: tuple  # (C, H, W) or (N,)
    out_shape: tuple
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    in_binary: bool = True  # False: inputs are multi-level (direct coding, avgpool, add)
    edges: tuple = ()

    @property
    def n_in(self) -> int:
        return _prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return _prod(self.out_shape)

    @property
    def in_channels(self) -> int:
        return self.in_shape[0]

    @property
    def out_channels(self) -> int:
        return self.out_shape[0]

    @property
    def n_weights(self) -> int:
        if self.kind == "conv":
            return self.out_channels * self.in_channels * self.kernel * self.kernel
        return self.n_in * self.n_out

    def dense_macs(self) -> int:
        """Multiply-accumulates of one dense forward pass for one sample and time step."""
        if self.kind == "conv":
            _, ho, wo = self.out_shape
            return self.out_channels * ho * wo * self.in_channels * self.kernel * self.kernel
        return self.n_in * self.n_out


@dataclass
class Network:
    name: str
    input_shape: tuple
    coding: str
    layers: list  # list[HwLayer], topological order
    time_steps: int = 1
    batch: int = 1          # samples of the step (the workload's batch x repeats)
    mode: str = "train"     # train, inference or input_gradient (spec 3.6)
    _consumers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_name = {l.name: l for l in self.layers}
        cons = {l.name: [] for l in self.layers}
        cons["input"] = []
        for l in self.layers:
            for e in l.edges:
                if l.name not in cons[e.src]:
                    cons[e.src].append(l.name)
        self._consumers = cons

    def __getitem__(self, name: str) -> HwLayer:
        return self._by_name[name]

    def consumers(self, name: str) -> list[str]:
        """Weighted layers that read ``name``'s output spikes."""
        return list(self._consumers[name])

    @property
    def output_layer(self) -> HwLayer:
        return self.layers[-1]

    @property
    def trains(self) -> bool:
        """Weight gradients and the update run (mode train)."""
        return self.mode == "train"

    @property
    def backward(self) -> bool:
        """LOSS and BP run (every mode but inference)."""
        return self.mode != "inference"

    def to_json(self) -> str:
        d = {"name": self.name, "input_shape": list(self.input_shape), "coding": self.coding,
             "time_steps": self.time_steps, "batch": self.batch,
             "layers": [_layer_to_dict(l) for l in self.layers]}
        if self.mode != "train":   # train traces keep the fields (and bytes) they always had
            d["mode"] = self.mode
        return json.dumps(d, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "Network":
        d = json.loads(text)
        layers = [_layer_from_dict(x) for x in d["layers"]]
        return Network(d["name"], tuple(d["input_shape"]), d["coding"], layers,
                       d.get("time_steps", 1), d.get("batch", 1), d.get("mode", "train"))

    def same_shapes(self, other: "Network") -> bool:
        a = [(l.name, l.kind, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding)
             for l in self.layers]
        b = [(l.name, l.kind, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding)
             for l in other.layers]
        return a == b


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _layer_to_dict(l: HwLayer) -> dict:
    d = asdict(l)
    d["in_shape"] = list(l.in_shape)
    d["out_shape"] = list(l.out_shape)
    d["edges"] = [{"src": e.src, "src_shape": list(e.src_shape),
                   "pools": [[p.kind, p.kernel, p.stride] for p in e.pools]} for e in l.edges]
    return d


def _layer_from_dict(d: dict) -> HwLayer:
    edges = tuple(Edge(e["src"], tuple(e["src_shape"]),
                       tuple(Pool(p[0], p[1], p[2]) for p in e["pools"])) for e in d["edges"])
    return HwLayer(d["index"], d["name"], d["kind"], tuple(d["in_shape"]), tuple(d["out_shape"]),
                   d["kernel"], d["stride"], d["padding"], d["in_binary"], edges)


@dataclass
class _Tensor:
    shape: tuple
    binary: bool
    parts: list  # list of (src, src_shape, pools tuple)


def build_network(wl: Config) -> Network:
    """Derive the weighted-layer graph from a validated workload; shape errors are
    InputErrors naming the workload file and the layer's key."""
    net = wl.network
    in_shape = tuple(net.input.shape)
    coding = net.input.coding
    tensors: dict[str, _Tensor] = {
        "input": _Tensor(in_shape, coding != "direct", [("input", in_shape, ())])}
    prev = "input"
    hw: list[HwLayer] = []
    names: set[str] = {"input"}
    layers = wl.get("network.layers")
    for i, layer in enumerate(layers):
        key = f"network.layers[{i}]"
        t = layer["type"]
        name = layer.get("name") or f"{t}_{i}"
        if name in names:
            raise wl.error(f"{key}.name", "a name not used by another layer", name)
        names.add(name)

        def source(k="input"):
            src = layer.get(k) or prev
            if src not in tensors:
                raise wl.error(f"{key}.{k}", "the name of an earlier layer", src)
            return tensors[src]

        if t in ("conv2d", "linear"):
            x = source()
            if t == "conv2d":
                if len(x.shape) != 3:
                    raise wl.error(key, "a C x H x W input for conv2d (got a vector; conv "
                                   "cannot follow flatten or linear)", list(x.shape))
                c, h, w = x.shape
                k, s = layer["kernel"], layer["stride"]
                p = k // 2 if layer["padding"] is None else layer["padding"]
                ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
                if ho < 1 or wo < 1:
                    raise wl.error(f"{key}.kernel", f"a kernel that fits the {h}x{w} input "
                                   f"with padding {p}", k)
                out = (layer["out_channels"], ho, wo)
                hl = HwLayer(len(hw), name, "conv", x.shape, out, k, s, p, x.binary,
                             tuple(Edge(*part) for part in x.parts))
            else:
                if len(x.shape) != 1:
                    raise wl.error(key, "a vector input for linear: put a flatten layer "
                                   "before it", list(x.shape))
                out = (layer["out"],)
                hl = HwLayer(len(hw), name, "linear", x.shape, out, 1, 1, 0, x.binary,
                             tuple(Edge(*part) for part in x.parts))
            hw.append(hl)
            tensors[name] = _Tensor(out, True, [(name, out, ())])
        elif t in ("avgpool", "maxpool"):
            x = source()
            if len(x.shape) != 3:
                raise wl.error(key, f"a C x H x W input for {t}", list(x.shape))
            k = layer["kernel"]
            s = layer["stride"] or k
            c, h, w = x.shape
            ho, wo = (h - k) // s + 1, (w - k) // s + 1
            if ho < 1 or wo < 1:
                raise wl.error(f"{key}.kernel", f"a window that fits the {h}x{w} input", k)
            pool = Pool("max" if t == "maxpool" else "avg", k, s)
            tensors[name] = _Tensor((c, ho, wo), x.binary and t == "maxpool",
                                    [(src, sh, pools + (pool,)) for src, sh, pools in x.parts])
        elif t == "flatten":
            x = source()
            tensors[name] = _Tensor((_prod(x.shape),), x.binary, list(x.parts))
        elif t == "add":
            a_name, b_name = layer["inputs"]
            for j, n in enumerate((a_name, b_name)):
                if n not in tensors:
                    raise wl.error(f"{key}.inputs[{j}]", "the name of an earlier layer", n)
            a, b = tensors[a_name], tensors[b_name]
            if a.shape != b.shape:
                raise wl.error(f"{key}.inputs", "two tensors of the same shape",
                               [list(a.shape), list(b.shape)])
            tensors[name] = _Tensor(a.shape, False, a.parts + b.parts)
        prev = name
    if not hw:
        raise wl.error("network.layers", "at least one conv2d or linear layer")
    last = prev
    if last != hw[-1].name:
        raise wl.error("network.layers", "a conv2d or linear layer last (the loss reads its "
                       "neurons)", last)
    fed = {e.src for hl in hw for e in hl.edges}
    for i, hl in enumerate(hw[:-1]):   # its g(S) would never come: BP could not run
        if hl.name not in fed:
            raise wl.error("network.layers", f"every conv2d or linear layer but the last "
                           f"feeding a later one (directly or through pooling, flatten or "
                           f"add)", f"{hl.name} feeds none")
    return Network(wl.name, in_shape, coding, hw, wl.time_steps, wl.batch * wl.repeats,
                   wl.mode)
