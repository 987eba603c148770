"""What a part of a layer holds: its tensors (spec 5.1), their bytes, and the per-tile
working set each SRAM buffer must hold (``docs/microarchitecture.md`` sections 1.1 and 5.1).
Shared by the placement, the search and, for the tensor table, the timing models."""
from __future__ import annotations

from ..arch import SRAM_BUFFERS, grad_bits, master_bits, value_bits

# tensor name -> (SRAM buffer, DRAM traffic kind)
TENSORS = {
    "W": ("weights", "weights"),
    "GW": ("wgrad", "wgrad"),
    "M": ("wgrad", "optimizer"),
    "WM": ("wgrad", "weights"),      # FP32 master weights (core.wg.master_weights)
    "U": ("state", "state"),
    "saved": ("state", "state"),
    "saved_in": ("spikes", "spikes"),
    "GU": ("gradients", "gradients"),
    "GS": ("gradients", "gradients"),
}
# The tensors each mode keeps (spec 3.6; M and WM only in train, and only when the optimizer
# or the config has them): a placed tensor outside its mode's set is never moved.
MODE_TENSORS = {"train": tuple(TENSORS), "inference": ("W", "U"),
                "input_gradient": ("W", "U", "saved", "GU", "GS")}
PER_STEP_TENSORS = ("saved", "saved_in")  # one instance per (b, t)
ALWAYS_RESIDENT = ("GU", "GS")
PERSISTENT_TENSORS = ("W", "GW", "M", "WM", "U")

# Buffers whose tensors add up per core (the gradients buffer only holds one part's working
# set at a time, so it limits a part, not a core).
ADDITIVE = ("weights", "wgrad", "state", "spikes")


def cdiv(a, b):
    return -(-int(a) // int(b))


def round_up(a, b):
    return cdiv(a, b) * b


def layer_outputs(layer) -> int:
    """Output channels (conv) or neurons (linear): what parts split."""
    return layer.out_channels if layer.kind == "conv" else layer.n_out


def reads_input(layer) -> bool:
    return any(e.src == "input" for e in layer.edges)


def split_even(total: int, k: int) -> list:
    """[lo, hi) ranges of ``k`` near-equal contiguous pieces of ``total``."""
    base, extra = divmod(total, k)
    out, lo = [], 0
    for i in range(k):
        hi = lo + base + (1 if i < extra else 0)
        out.append((lo, hi))
        lo = hi
    return out


def input_frame_bytes(network, bits: int) -> int:
    n = 1
    for s in network.input_shape:
        n *= int(s)
    return cdiv(n, 8) if network.coding == "dvs" else cdiv(n * bits, 8)


def part_tensors(arch, network, layer, n_ch: int, momentum: bool, root: bool,
                 state_full: bool, bits: int | None = None) -> dict:
    """Bytes of one instance of each tensor of a part with ``n_ch`` output channels
    (``bits``: value bits of the arch, when the caller has them at hand). The network's mode
    decides which exist (spec 3.6): inference keeps only ``W`` and ``U``; input_gradient
    has no weight-gradient tensors or ``saved_in``, and ``GS`` in every layer."""
    bits = value_bits(arch) if bits is None else bits
    if layer.kind == "conv":
        n_part = n_ch * layer.out_shape[1] * layer.out_shape[2]
        n_w = n_ch * layer.in_channels * layer.kernel ** 2
    else:
        n_part, n_w = n_ch, n_ch * layer.n_in
    gbits = grad_bits(arch)    # accumulators and momentum (spec 2.5a)
    mode = network.mode
    t = {"W": cdiv(n_w * bits, 8)}
    if mode == "train":
        t["GW"] = cdiv(n_w * gbits, 8)
        if momentum and root:
            t["M"] = cdiv(n_w * gbits, 8)
        if master_bits(arch) and root:
            t["WM"] = cdiv(n_w * master_bits(arch), 8)
    t["U"] = cdiv(n_part * bits, 8)
    if mode == "inference":
        return t
    t["saved"] = cdiv(n_part * (bits + 1) if state_full else 2 * n_part, 8)
    if mode == "train":
        t["saved_in"] = cdiv(layer.n_in, 8)
    t["GU"] = cdiv(2 * n_part * bits, 8)
    if mode == "input_gradient" or any(e.src != "input" for e in layer.edges):
        t["GS"] = cdiv(layer.n_in * bits, 8)
    return t


def part_footprint(arch, network, layer, n_ch: int, momentum: bool, root: bool,
                   state_full: bool, bits: int | None = None) -> dict:
    """Per-tile working set of a part, per buffer: every tensor a tile of the part touches
    must be in SRAM at once (resident or staged)."""
    bits = value_bits(arch) if bits is None else bits
    return _footprint(network, layer,
                      part_tensors(arch, network, layer, n_ch, momentum, root, state_full, bits),
                      bits)


def _footprint(network, layer, t: dict, bits: int) -> dict:
    ws = {b: 0 for b in SRAM_BUFFERS}
    for name, nbytes in t.items():
        ws[TENSORS[name][0]] += nbytes
    if any(e.src == "input" for e in layer.edges):
        ws["spikes"] += input_frame_bytes(network, bits)
    return ws


class TensorSizes:
    """:func:`part_tensors` of one arch, network and training options, computed once per
    (layer, channels, root): a layout search prices a few dozen placements of the same
    layers, most parts the same widths (a spilling VGG-11 step: 22.5 k calls, 0.35 s).
    The dicts returned are shared: read them, do not change them."""

    def __init__(self, arch, network, momentum: bool, state_full: bool):
        self.arch, self.network = arch, network
        self.momentum, self.state_full = momentum, state_full
        self.bits = value_bits(arch)
        self._memo: dict = {}

    def __call__(self, layer, n_ch: int, root: bool) -> dict:
        key = (layer.name, n_ch, root)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = part_tensors(self.arch, self.network, layer, n_ch,
                                                 self.momentum, root, self.state_full,
                                                 self.bits)
        return got

    def footprint(self, layer, n_ch: int, root: bool) -> dict:
        """:func:`part_footprint` from the memo."""
        return _footprint(self.network, layer, self(layer, n_ch, root), self.bits)

    @classmethod
    def of(cls, arch, network, momentum: bool, state_full: bool, given=None) -> "TensorSizes":
        """``given`` (a caller's memo) if it is one of these options, else a new memo; a
        memo of other options is refused (its sizes would be wrong here)."""
        if given is None:
            return cls(arch, network, momentum, state_full)
        if (given.arch is not arch or given.network is not network
                or (given.momentum, given.state_full) != (momentum, state_full)):
            raise ValueError("TensorSizes of another arch, network or training options")
        return given


def overfull_buffer(caps: dict, ws: dict):
    """The first buffer whose working set ``ws`` exceeds its capacity in ``caps``, or None."""
    for buf in SRAM_BUFFERS:
        if ws[buf] > caps[buf]:
            return buf
    return None



__all__ = ["TENSORS", "MODE_TENSORS", "PER_STEP_TENSORS", "ALWAYS_RESIDENT", "PERSISTENT_TENSORS", "ADDITIVE",
           "cdiv", "round_up", "layer_outputs", "reads_input", "split_even",
           "input_frame_bytes", "part_tensors", "part_footprint", "overfull_buffer",
           "TensorSizes"]
