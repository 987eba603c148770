"""GPU baseline: DRAM traffic of one SNN training step as a PyTorch SNN framework runs it.

The model has three layers, each simple enough to check by hand (docs/gpu-baseline.md):

1. **Kernel trace** (:func:`build_step`): the training step as the framework issues it, one
   :class:`Op` per CUDA kernel, each listing the tensors it reads and writes in the
   framework's dtypes. Two presets: ``spikingjelly`` (multi-step: one conv/linear kernel over
   all T*B, one fused LIF kernel over all T) and ``snntorch`` (a Python loop over time steps:
   one kernel per operator per step, LIF as a chain of element-wise kernels). The backward
   pass comes from a small autograd walk in reverse creation order (as PyTorch's engine
   runs it): gradients reaching one tensor from several uses are added in place, a weight
   used at every time step gets its per-step gradients summed the same way.
2. **Caching allocator** (:class:`_Allocator`): each non-persistent tensor is freed after its
   last use and its block is reused by the next tensor of the same rounded size, as
   PyTorch's caching allocator does in a steady-state training loop. This decides which
   writes land on lines that are still dirty in L2 (and so never reach DRAM).
3. **L2 filter** (:class:`L2Cache`): a write-back, write-allocate LRU cache over fixed-size
   chunks of blocks. A read miss costs a DRAM read; a dirty chunk costs a DRAM write when it
   is evicted. Warm-up steps run first; only the DRAM traffic that happens during the last
   step is counted (what ``ncu`` measures on a steady-state step).

Everything is counted in bytes per (tensor role, phase). Roles map onto the chip's tensor
kinds (:data:`ROLE_KIND`); phases are FP, LOSS, BP, WG, UPD.
"""
from __future__ import annotations

import math
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .. import yamlio
from ..errors import InputError
from ..params import Config, Group, Param, apply_overrides, overridden_keys
from ..timing import TENSOR_KINDS

PHASES = ("FP", "LOSS", "BP", "WG", "UPD")
FRAMEWORKS = ("spikingjelly", "snntorch")

# What a GPU tensor is, and which of the chip's DRAM tensor kinds it is counted as.
ROLE_KIND = {
    "input": "input",          # network input frames (and their repetition over T)
    "weight": "weights",       # W (FP32 master copy)
    "weight_nhwc": "weights",  # cuDNN's NHWC copy of W (option conv_nhwc_transposes)
    "current": "state",        # synaptic current I = W * S (conv/linear output)
    "membrane": "state",       # U, H, the saved pre-spike membrane, reset masks
    "spike": "spikes",         # spikes (FP32/FP16, not bits), pooled spikes, added inputs
    "pool_index": "spikes",    # max-pooling argmax indices (int64), saved for backward
    "grad": "gradients",       # g(S), g(U), g(I), g(S_in): activation gradients
    "wgrad": "wgrad",          # g(W) and its per-step partial sums
    "momentum": "optimizer",   # SGD momentum buffer
    "layout": "state",         # cuDNN NHWC copies of activations / gradients (option)
}
assert set(ROLE_KIND.values()) <= set(TENSOR_KINDS)

GPU_SCHEMA = Group("a GPU and how the framework runs the training step on it", {
    "description": Param("str", "-", "free text"),
    "l2_bytes": Param("int", 41943040, "L2 cache capacity", "byte", min=1),
    "l2_partitions": Param("int", 1, "L2 partitions (A100/H100: 2)", min=1),
    "l2_mode": Param("choice", "unified", "unified: the whole L2 serves every kernel; "
                     "partitioned: data used by SMs on both sides is held in both "
                     "partitions, so the effective capacity is l2_bytes / l2_partitions",
                     choices=("unified", "partitioned")),
    "chunk_bytes": Param("int", 1 << 20, "granularity of the L2 model's LRU (a model "
                         "parameter, not a cache line: much smaller than l2_bytes)", "byte",
                         min=512),
    "dram_bandwidth_gbs": Param("float", 1555.0, "peak DRAM bandwidth", "GB/s", min=0,
                                min_exclusive=True),
    "dram_pj_per_bit": Param("float", 3.9, "DRAM access energy", "pJ/bit", min=0),
    "board_power_w": Param("float", 400.0, "board power (TDP)", "W", min=0),
    "framework": Param("choice", "spikingjelly", "how the step is issued: spikingjelly "
                       "(multi-step, fused LIF) or snntorch (per-step loop)",
                       choices=FRAMEWORKS),
    "activation_bytes": Param("int", 4, "bytes per element of spikes, membranes, currents "
                              "and activation gradients (4: FP32, 2: FP16 storage)",
                              "byte", min=2, max=4),
    "input_bytes": Param("int", 4, "bytes per element of the network input frames", "byte",
                         min=1, max=4),
    "weight_bytes": Param("int", 4, "bytes per weight, weight gradient and momentum "
                          "element (FP32 master weights)", "byte", min=2, max=4),
    "index_bytes": Param("int", 8, "bytes per max-pooling index (PyTorch: int64)", "byte",
                         min=1),
    "conv_nhwc_transposes": Param("bool", False, "cuDNN converts NCHW activations, "
                                  "gradients and weights to NHWC and back around every "
                                  "convolution kernel (seen with FP32 on sm80/sm90)"),
    "warmup_steps": Param("int", 2, "training steps run before the counted one", "step",
                          min=0),
    "alloc_round_bytes": Param("int", 512, "caching allocator's size rounding", "byte",
                               min=1),
})


@lru_cache(maxsize=1)
def gpu_presets() -> dict:
    text = resources.files("neurosim").joinpath("data/gpu_presets.yaml").read_text()
    return yamlio.safe_load(text)


def load_gpu(name: str = "a100-40gb", framework: str | None = None,
             overrides: list[str] | None = None) -> Config:
    """A validated GPU config: the preset ``name``, the framework, then ``key=value``
    overrides (source ``--gpu-set``)."""
    presets = gpu_presets()
    if name not in presets:
        raise InputError("--gpu", "", "one of " + ", ".join(presets), name)
    raw = dict(presets[name])
    if framework is not None:
        raw["framework"] = framework
    raw = apply_overrides(raw, overrides, GPU_SCHEMA)
    data = GPU_SCHEMA.validate(raw, f"gpu preset {name}", "")
    data["name"] = name
    return Config(data, f"gpu preset {name}", overridden=overridden_keys(overrides))


# --------------------------------------------------------------------------- kernel trace


@dataclass(eq=False)
class Tensor:
    """A buffer the GPU holds: ``nbytes`` of one role. Identity is the object."""

    name: str
    nbytes: int
    role: str
    persistent: bool = False
    requires_grad: bool = False


@dataclass
class Op:
    """One kernel (or a host-to-device copy, ``kernel=False``)."""

    name: str
    phase: str
    reads: list
    writes: list
    layer: str = ""
    kernel: bool = True

    def bytes(self) -> tuple[int, int]:
        return sum(t.nbytes for t in self.reads), sum(t.nbytes for t in self.writes)


@dataclass
class Step:
    """The kernels of one training step and the tensors that live across steps."""

    ops: list
    persistent: list
    framework: str


class _Builder:
    """Records forward ops and their backward closures; :meth:`backward` walks them."""

    def __init__(self):
        self.ops: list[Op] = []
        self.nodes: list = []  # (outputs, closure) in creation order
        self.persistent: list[Tensor] = []

    def tensor(self, name, nbytes, role, requires_grad=False, persistent=False) -> Tensor:
        t = Tensor(name, int(nbytes), role, persistent, requires_grad)
        if persistent:
            self.persistent.append(t)
        return t

    def op(self, name, phase, reads, writes, layer="", kernel=True) -> Op:
        o = Op(name, phase, list(reads), list(writes), layer, kernel)
        self.ops.append(o)
        return o

    def node(self, outputs, closure):
        """``closure(grads) -> [(input, grad_tensor)]`` emits the backward kernels given
        the gradients of ``outputs`` (a list of Tensor or None)."""
        if any(o.requires_grad for o in outputs):
            self.nodes.append((outputs, closure))

    def backward(self, grads: dict) -> dict:
        """Run the recorded closures in reverse creation order. ``grads`` maps tensors to
        their gradient tensors (seeded by the loss); returns it with the leaves' grads."""
        for outputs, closure in reversed(self.nodes):
            gs = [grads.get(o) for o in outputs]
            if all(g is None for g in gs):
                continue
            for inp, g in closure(gs):
                if inp is None or not inp.requires_grad:
                    continue
                if inp in grads:  # PyTorch's InputBuffer: accumulate in place
                    acc = grads[inp]
                    phase = "WG" if inp.role == "weight" else "BP"
                    self.op("grad_accumulate", phase, [acc, g], [acc], layer=inp.name)
                else:
                    grads[inp] = g
        return grads


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def build_step(net, wl, gpu: Config) -> Step:
    """The kernel trace of one training step of ``net`` (a :class:`~neurosim.workload.Network`
    built from workload ``wl``) under ``gpu.framework``."""
    if gpu.framework == "spikingjelly":
        return _Trace(net, wl, gpu, multi_step=True).build()
    return _Trace(net, wl, gpu, multi_step=False).build()


class _Trace:
    """Builds the ops of one training step. ``multi_step``: SpikingJelly (tensors carry all
    T steps, one kernel each); otherwise snnTorch (a loop over t, tensors of one step)."""

    def __init__(self, net, wl, gpu, multi_step: bool):
        self.net, self.wl, self.g, self.ms = net, wl, gpu, multi_step
        self.b = _Builder()
        self.T, self.B = net.time_steps, net.batch
        self.a = gpu.activation_bytes
        self.hard = wl.network.neuron.reset == "hard"
        # The job (workload mode, spec 3.6), as PyTorch runs it: train (loss.backward() and
        # the optimizer step), inference (under torch.no_grad(): no autograd graph, nothing
        # saved for backward) or input_gradient (weights with requires_grad False, the input
        # with requires_grad True: backward down to g(input), no g(W), no update).
        self.grad = net.mode != "inference"          # an autograd graph is recorded
        self.input_grad = net.mode == "input_gradient"
        self.W = {}
        self.M = {}
        for hl in net.layers:
            self.W[hl.name] = self.b.tensor(f"{hl.name}.W", hl.n_weights * gpu.weight_bytes,
                                            "weight", requires_grad=net.mode == "train",
                                            persistent=True)
            if wl.optimizer.type == "momentum":
                self.M[hl.name] = self.b.tensor(f"{hl.name}.momentum",
                                                hl.n_weights * gpu.weight_bytes, "momentum",
                                                persistent=True)

    # ------------------------------------------------------------------ helpers
    def act(self, name, n, role, rg=False, steps=None):
        """An activation tensor of ``n`` elements per sample (times T in multi-step)."""
        steps = self.T if (steps is None and self.ms) else (steps or 1)
        nbytes = n * self.B * steps * (self.g.index_bytes if role == "pool_index" else self.a)
        return self.b.tensor(name, nbytes, role, requires_grad=rg)

    def like(self, t: Tensor, name, role="grad"):
        return self.b.tensor(name, t.nbytes, role)

    def ew(self, name, phase, reads, out_name, out_role, layer, rg=None, nbytes=None,
           out_bytes_per=None):
        """An element-wise kernel writing one new tensor shaped like ``reads[0]``."""
        ref = reads[0]
        nb = ref.nbytes if nbytes is None else nbytes
        out = self.b.tensor(out_name, nb, out_role,
                            requires_grad=any(r.requires_grad for r in reads) if rg is None
                            else rg)
        self.b.op(name, phase, reads, [out], layer)
        return out

    # ------------------------------------------------------------------ forward pieces
    def input_frames(self):
        """The batch as the step receives it: copied host-to-device (counted only through
        its later write-back), then repeated over T for direct coding in multi-step."""
        net, g = self.net, self.g
        n = _prod(net.input_shape)
        rg = self.input_grad          # input_gradient: x.requires_grad_()
        if net.coding == "direct":
            x = self.b.tensor("input", n * self.B * g.input_bytes, "input", requires_grad=rg)
            self.b.op("h2d_copy", "FP", [], [x], "input", kernel=False)
            if not self.ms:
                return [x] * self.T
            xs = self.b.tensor("input_seq", x.nbytes * self.T, "input", requires_grad=rg)
            self.b.op("repeat", "FP", [x], [xs], "input")
            # repeat's backward sums the T steps' gradients into g(input)
            self.b.node([xs], lambda gs, x=x: [(x, self.ew(
                "sum_over_t", "BP", [gs[0]], "g(input)", "grad", "input", nbytes=x.nbytes))])
            return xs
        xs = self.b.tensor("input_seq", n * self.B * self.T * g.input_bytes, "input",
                           requires_grad=rg)
        self.b.op("h2d_copy", "FP", [], [xs], "input", kernel=False)
        if self.ms:
            return xs
        per = xs.nbytes // self.T
        # unbind: views into the copied sequence; model each step's frame as its own part
        parts = [self.b.tensor(f"input[{t}]", per, "input", requires_grad=rg)
                 for t in range(self.T)]
        self.b.ops[-1].writes = parts
        return parts

    def pool(self, x: Tensor, p, src_shape, layer):
        c, h, w = src_shape
        ho, wo = (h - p.kernel) // p.stride + 1, (w - p.kernel) // p.stride + 1
        n_out = c * ho * wo
        out = self.act(f"{layer}.{p.kind}pool", n_out, "spike", rg=x.requires_grad)
        if p.kind == "max":
            idx = self.act(f"{layer}.pool_index", n_out, "pool_index")
            self.b.op("maxpool_fwd", "FP", [x], [out, idx], layer)

            def bwd(gs, x=x, idx=idx, layer=layer):
                gin = self.like(x, f"g({x.name})")
                self.b.op("zero_fill", "BP", [], [gin], layer)
                self.b.op("maxpool_bwd", "BP", [gs[0], idx], [gin], layer)
                return [(x, gin)]
        else:
            self.b.op("avgpool_fwd", "FP", [x], [out], layer)

            def bwd(gs, x=x, layer=layer):
                gin = self.like(x, f"g({x.name})")
                self.b.op("avgpool_bwd", "BP", [gs[0]], [gin], layer)
                return [(x, gin)]
        self.b.node([out], bwd)
        return out, (c, ho, wo)

    def gather(self, hl, outs, cache):
        """The layer's input: each edge's source pooled in order (identical edges once),
        several edges added (residual)."""
        total = None
        for e in hl.edges:
            key = (e.src, e.pools)
            if key not in cache:
                x, shape = outs[e.src], e.src_shape
                for p in e.pools:
                    x, shape = self.pool(x, p, shape, hl.name)
                cache[key] = x
            x = cache[key]
            if total is None:
                total = x
            else:
                s = self.b.tensor(f"{hl.name}.add", x.nbytes, "spike",
                                  requires_grad=x.requires_grad or total.requires_grad)
                self.b.op("add", "FP", [total, x], [s], hl.name)
                self.b.node([s], lambda gs, a=total, c=x: [(a, gs[0]), (c, gs[0])])
                total = s
        return total

    def weighted(self, hl, x: Tensor):
        """conv/linear forward, and its backward: dgrad (BP) if the input needs a gradient,
        wgrad (WG) always."""
        W = self.W[hl.name]
        cur = self.act(f"{hl.name}.I", hl.n_out, "current", rg=self.grad)
        kind = "conv" if hl.kind == "conv" else "linear"
        tr = self.g.conv_nhwc_transposes and hl.kind == "conv"
        if tr:
            x_n = self.b.tensor(f"{hl.name}.in_nhwc", x.nbytes, "layout")
            w_n = self.b.tensor(f"{hl.name}.W_nhwc", W.nbytes, "weight_nhwc")
            y_n = self.b.tensor(f"{hl.name}.I_nhwc", cur.nbytes, "layout")
            self.b.op("nchw_to_nhwc", "FP", [x], [x_n], hl.name)
            self.b.op("nchw_to_nhwc", "FP", [W], [w_n], hl.name)
            self.b.op(f"{kind}_fwd", "FP", [x_n, w_n], [y_n], hl.name)
            self.b.op("nhwc_to_nchw", "FP", [y_n], [cur], hl.name)
        else:
            self.b.op(f"{kind}_fwd", "FP", [x, W], [cur], hl.name)

        def bwd(gs, x=x, W=W, hl=hl, kind=kind, tr=tr):
            g = gs[0]
            res = []
            if x.requires_grad:
                gx = self.like(x, f"g({x.name})")
                if tr:
                    g_n = self.b.tensor(f"{hl.name}.gI_nhwc", g.nbytes, "layout")
                    w_n = self.b.tensor(f"{hl.name}.W_nhwc", W.nbytes, "weight_nhwc")
                    gx_n = self.b.tensor(f"{hl.name}.gin_nhwc", x.nbytes, "layout")
                    self.b.op("nchw_to_nhwc", "BP", [g], [g_n], hl.name)
                    self.b.op("nchw_to_nhwc", "BP", [W], [w_n], hl.name)
                    self.b.op(f"{kind}_dgrad", "BP", [g_n, w_n], [gx_n], hl.name)
                    self.b.op("nhwc_to_nchw", "BP", [gx_n], [gx], hl.name)
                else:
                    self.b.op(f"{kind}_dgrad", "BP", [g, W], [gx], hl.name)
                res.append((x, gx))
            if not W.requires_grad:      # input_gradient: no weight gradient
                return res
            gw = self.b.tensor(f"g({W.name})", W.nbytes, "wgrad")
            if tr:
                g_n = self.b.tensor(f"{hl.name}.gI_nhwc", g.nbytes, "layout")
                x_n = self.b.tensor(f"{hl.name}.in_nhwc", x.nbytes, "layout")
                gw_n = self.b.tensor(f"{hl.name}.gW_nhwc", W.nbytes, "layout")
                self.b.op("nchw_to_nhwc", "WG", [x], [x_n], hl.name)
                self.b.op("nchw_to_nhwc", "WG", [g], [g_n], hl.name)
                self.b.op(f"{kind}_wgrad", "WG", [g_n, x_n], [gw_n], hl.name)
                self.b.op("nhwc_to_nchw", "WG", [gw_n], [gw], hl.name)
            else:
                self.b.op(f"{kind}_wgrad", "WG", [g, x], [gw], hl.name)
            res.append((W, gw))
            return res

        self.b.node([cur], bwd)
        return cur

    # ------------------------------------------------------------------ LIF neurons
    def lif_multistep(self, hl, cur: Tensor) -> Tensor:
        """SpikingJelly 2.0 multi-step LIF (Triton/CUDA): zero-filled v0, one forward kernel
        writing spikes, the pre-spike membrane H (saved) and the final V; backward: a
        zero-filled g(V_T), one kernel reading g(S) and H, writing g(I) and g(v0)."""
        n = hl.n_out
        v0 = self.act(f"{hl.name}.v0", n, "membrane", steps=1)
        self.b.op("fill", "FP", [], [v0], hl.name)
        spk = self.act(f"{hl.name}.S", n, "spike", rg=self.grad)
        if not self.grad:   # no_grad: the inference kernel keeps no pre-spike membrane H
            v_last = self.act(f"{hl.name}.V", n, "membrane", steps=1)
            self.b.op("lif_fwd", "FP", [cur, v0], [spk, v_last], hl.name)
            return spk
        h = self.act(f"{hl.name}.H", n, "membrane")
        v_last = self.act(f"{hl.name}.V", n, "membrane", steps=1)
        self.b.op("lif_fwd", "FP", [cur, v0], [spk, h, v_last], hl.name)

        def bwd(gs, cur=cur, h=h, hl=hl):
            gv = self.act(f"g({hl.name}.V)", hl.n_out, "grad", steps=1)
            self.b.op("fill", "BP", [], [gv], hl.name)
            gx = self.like(cur, f"g({cur.name})")
            gv0 = self.act(f"g({hl.name}.v0)", hl.n_out, "grad", steps=1)
            self.b.op("lif_bwd", "BP", [gs[0], gv, h], [gx, gv0], hl.name)
            return [(cur, gx)]

        self.b.node([spk], bwd)
        return spk

    def lif_step(self, hl, cur: Tensor, mem: Tensor, t: int):
        """snnTorch 1.0 ``Leaky.forward`` (ATan surrogate, reset_delay) at one step: the
        element-wise kernels of mem_reset, the state function and fire, each writing a new
        tensor; the ATan node saves ``mem - threshold`` and its backward is 7 kernels."""
        L, b = hl.name, self.b
        byte1 = cur.nbytes // self.a  # bool tensors: one byte per element
        # mem_reset: reset = ATan(mem - thr).clone().detach(): sub, gt, copy
        ms1 = self.ew("sub", "FP", [mem], f"{L}.mem_shift_r[{t}]", "membrane", L, rg=False)
        gt1 = self.ew("gt", "FP", [ms1], f"{L}.gt_r[{t}]", "spike", L, nbytes=byte1)
        # ``.float().clone()``: the H100 profile shows one copy kernel here, not two
        reset = self.ew("to_float", "FP", [gt1], f"{L}.reset[{t}]", "spike", L,
                        nbytes=cur.nbytes, rg=False)
        # state function
        if self.hard:  # _base_zero: mem = (1 - reset) * mem; then beta * mem + input
            omr = self.ew("rsub", "FP", [reset], f"{L}.one_minus_reset[{t}]", "membrane", L)
            mz = self.ew("mul", "FP", [omr, mem], f"{L}.mem_z[{t}]", "membrane", L)
            b.node([mz], lambda gs, omr=omr, mem=mem, L=L, t=t: [
                (mem, self.ew("mul", "BP", [gs[0], omr], f"g({L}.mem)[{t}]", "grad", L))])
            bm = self.ew("mul", "FP", [mz], f"{L}.beta_mem[{t}]", "membrane", L)
            b.node([bm], lambda gs, mz=mz, L=L, t=t: [
                (mz, self.ew("mul", "BP", [gs[0]], f"g({L}.mem_z)[{t}]", "grad", L))])
            new = self.ew("add", "FP", [bm, cur], f"{L}.mem[{t}]", "membrane", L)
            b.node([new], lambda gs, bm=bm, cur=cur: [(bm, gs[0]), (cur, gs[0])])
        else:  # _base_sub: beta * mem + input - reset * thr
            bm = self.ew("mul", "FP", [mem], f"{L}.beta_mem[{t}]", "membrane", L)
            b.node([bm], lambda gs, mem=mem, L=L, t=t: [
                (mem, self.ew("mul", "BP", [gs[0]], f"g({L}.mem)[{t}]", "grad", L))])
            base = self.ew("add", "FP", [bm, cur], f"{L}.base[{t}]", "membrane", L)
            b.node([base], lambda gs, bm=bm, cur=cur: [(bm, gs[0]), (cur, gs[0])])
            rt = self.ew("mul", "FP", [reset], f"{L}.reset_thr[{t}]", "membrane", L)
            new = self.ew("sub", "FP", [base, rt], f"{L}.mem[{t}]", "membrane", L)
            b.node([new], lambda gs, base=base: [(base, gs[0])])
        # fire: spk = ATan(mem - thr) * graded_spikes_factor
        ms2 = self.ew("sub", "FP", [new], f"{L}.mem_shift[{t}]", "membrane", L)
        b.node([ms2], lambda gs, new=new: [(new, gs[0])])
        gt2 = self.ew("gt", "FP", [ms2], f"{L}.gt[{t}]", "spike", L, nbytes=byte1, rg=False)
        s0 = self.b.tensor(f"{L}.spk0[{t}]", cur.nbytes, "spike", requires_grad=self.grad)
        self.b.op("to_float", "FP", [gt2], [s0], L)

        def atan_bwd(gs, ms2=ms2, L=L, t=t):
            e = lambda name, reads, out: self.ew(name, "BP", reads, f"{L}.{out}[{t}]", "grad", L)
            gi = e("clone", [gs[0]], "atan_gin")
            c = e("mul", [ms2], "atan_c")
            self.b.op("pow_", "BP", [c], [c], L)
            d = e("add", [c], "atan_d")
            rec = e("reciprocal", [d], "atan_rec")
            sg = e("mul", [rec], "atan_sg")
            return [(ms2, e("mul", [sg, gi], f"g(mem_shift)"))]

        b.node([s0], atan_bwd)
        spk = self.ew("mul", "FP", [s0], f"{L}.S[{t}]", "spike", L)
        b.node([spk], lambda gs, s0=s0, L=L, t=t: [
            (s0, self.ew("mul", "BP", [gs[0]], f"g({L}.spk0)[{t}]", "grad", L))])
        return spk, new

    # ------------------------------------------------------------------ the step
    def loss(self, outs: list[Tensor]):
        """Cross-entropy on the output spikes (count or mean over T): a few kernels on B x
        classes values, lumped into one kernel reading the output spikes (FP) and one
        writing their gradient (LOSS)."""
        self.b.op("loss", "FP", outs, [], "loss")
        grads = {o: self.like(o, f"g({o.name})") for o in outs}
        self.b.op("loss_grad", "LOSS", [], list(grads.values()), "loss")
        return grads

    def build(self) -> Step:
        net, b = self.net, self.b
        x = self.input_frames()
        last = net.layers[-1].name
        if self.ms:
            outs = {"input": x}
            cache = {}
            for hl in net.layers:
                inp = self.gather(hl, outs, cache)
                cur = self.weighted(hl, inp)
                outs[hl.name] = self.lif_multistep(hl, cur)
            out_spikes = [outs[last]]
        else:
            mems = {}
            for hl in net.layers:  # Leaky.reset_mem(): zeros_like(mem)
                mems[hl.name] = self.act(f"{hl.name}.mem0", hl.n_out, "membrane")
                b.op("fill", "FP", [], [mems[hl.name]], hl.name)
            rec = []
            for t in range(self.T):
                outs = {"input": x[t]}
                cache = {}
                for hl in net.layers:
                    inp = self.gather(hl, outs, cache)
                    cur = self.weighted(hl, inp)
                    outs[hl.name], mems[hl.name] = self.lif_step(hl, cur, mems[hl.name], t)
                rec.append(outs[last])
            # torch.stack(spk_rec): one kernel copying the T output tensors; the loss's
            # gradient reaches each step's spikes as a slice (a view: no kernel)
            seq = b.tensor(f"{last}.S_seq", sum(r.nbytes for r in rec), "spike")
            b.op("stack", "FP", rec, [seq], last)
            b.op("loss", "FP", [seq], [], "loss")
            if self.grad:
                grads = {r: self.like(r, f"g({r.name})") for r in rec}
                b.op("loss_grad", "LOSS", [], list(grads.values()), "loss")
            out_spikes = None
        if not self.grad:   # inference (torch.no_grad): the output is read, nothing more
            if out_spikes is not None:
                b.op("loss", "FP", out_spikes, [], "loss")
            return Step(b.ops, b.persistent, self.g.framework)
        grads = self.loss(out_spikes) if out_spikes is not None else grads
        grads = b.backward(grads)
        self.update(grads)
        return Step(b.ops, b.persistent, self.g.framework)

    def update(self, grads):
        """torch.optim.SGD, foreach implementation (PyTorch's default on CUDA): SGD is one
        ``_foreach_add_(params, grads)``; momentum adds ``_foreach_mul_(bufs)`` and
        ``_foreach_add_(bufs, grads)`` first, then updates params from the buffers. Each
        multi-tensor kernel is modelled per tensor (same bytes)."""
        for hl in self.net.layers:
            W, gw = self.W[hl.name], grads.get(self.W[hl.name])
            if gw is None:
                continue
            if self.M:
                M = self.M[hl.name]
                self.b.op("momentum_mul", "UPD", [M], [M], hl.name)
                self.b.op("momentum_add", "UPD", [M, gw], [M], hl.name)
                self.b.op("weight_update", "UPD", [W, M], [W], hl.name)
            else:
                self.b.op("weight_update", "UPD", [W, gw], [W], hl.name)


# --------------------------------------------------------------------------- allocator


class _Allocator:
    """PyTorch's caching allocator as a steady-state training loop sees it: a freed block is
    cached and handed to the next request of the same rounded size (lowest block first);
    otherwise a new block. Blocks are never split or returned."""

    def __init__(self, round_bytes: int):
        self.round = round_bytes
        self.free: dict[int, list[int]] = defaultdict(list)
        self.size: list[int] = []

    def alloc(self, nbytes: int) -> int:
        n = max(self.round, -(-nbytes // self.round) * self.round)
        pool = self.free.get(n)
        if pool:
            pool.sort()
            return pool.pop(0)
        self.size.append(n)
        return len(self.size) - 1

    def release(self, block: int) -> None:
        self.free[self.size[block]].append(block)


# --------------------------------------------------------------------------- L2 filter


class L2Cache:
    """Write-back, write-allocate LRU over chunks ``(block, index)`` of at most
    ``chunk_bytes``. Reads that miss and evictions of dirty chunks are DRAM traffic,
    reported to ``on_dram(write, nbytes, tag)`` where ``tag`` is the reader's tag (reads) or
    the tag of the last write to the chunk (write-backs)."""

    def __init__(self, capacity: int, on_dram):
        self.capacity = int(capacity)
        self.used = 0
        self.lines: OrderedDict = OrderedDict()  # key -> [size, dirty_tag or None]
        self.on_dram = on_dram

    def read(self, key, size: int, tag) -> bool:
        line = self.lines.get(key)
        if line is not None:
            self.lines.move_to_end(key)
            return True
        self.on_dram(False, size, tag)
        self._insert(key, size, None)
        return False

    def write(self, key, size: int, tag) -> None:
        line = self.lines.get(key)
        if line is not None:  # a write onto a resident line: no DRAM traffic now
            line[1] = tag
            self.lines.move_to_end(key)
            return
        self._insert(key, size, tag)

    def _insert(self, key, size, dirty):
        if size > self.capacity:  # cannot be held: streams through
            if dirty is not None:
                self.on_dram(True, size, dirty)
            return
        self.lines[key] = [size, dirty]
        self.used += size
        while self.used > self.capacity:
            _, (sz, d) = self.lines.popitem(last=False)
            self.used -= sz
            if d is not None:
                self.on_dram(True, sz, d)


# --------------------------------------------------------------------------- simulation


@dataclass
class GpuResult:
    """DRAM bytes of one steady-state training step, by (role, phase)."""

    gpu: str
    framework: str
    workload: str
    l2_effective_bytes: int
    kernels: int
    read: dict = field(default_factory=dict)        # (role, phase) -> bytes
    write: dict = field(default_factory=dict)       # (role, producing phase) -> bytes
    write_when: dict = field(default_factory=dict)  # phase during which the write-back ran
    unfiltered_read: dict = field(default_factory=dict)   # without L2: every access
    unfiltered_write: dict = field(default_factory=dict)
    per_op: list = field(default_factory=list)      # [(op name, layer, phase, read, write)]
    dram_pj_per_bit: float = 0.0
    board_power_w: float = 0.0
    dram_bandwidth_gbs: float = 1.0
    mode: str = "train"         # the job (workload mode, spec 3.6)

    @staticmethod
    def _sum(d, pick) -> dict:
        out = defaultdict(int)
        for key, v in d.items():
            out[pick(key)] += v
        return dict(out)

    def by_kind(self) -> dict:
        """kind -> (read bytes, write bytes), every kind of TENSOR_KINDS present."""
        r = self._sum(self.read, lambda k: ROLE_KIND[k[0]])
        w = self._sum(self.write, lambda k: ROLE_KIND[k[0]])
        return {k: (r.get(k, 0), w.get(k, 0)) for k in TENSOR_KINDS}

    def by_role(self) -> dict:
        r = self._sum(self.read, lambda k: k[0])
        w = self._sum(self.write, lambda k: k[0])
        return {k: (r.get(k, 0), w.get(k, 0)) for k in ROLE_KIND if k in r or k in w}

    def by_phase(self, when: bool = False) -> dict:
        """phase -> (read, write). ``when``: writes by the phase in which the write-back
        happened (what a profiler attributes to kernels) instead of the producing phase."""
        r = self._sum(self.read, lambda k: k[1])
        w = self._sum(self.write_when if when else self.write, lambda k: k[1])
        return {p: (r.get(p, 0), w.get(p, 0)) for p in PHASES}

    @property
    def read_bytes(self) -> int:
        return sum(self.read.values())

    @property
    def write_bytes(self) -> int:
        return sum(self.write.values())

    @property
    def total_bytes(self) -> int:
        return self.read_bytes + self.write_bytes

    def dram_energy_j(self) -> float:
        """Estimate: DRAM bits moved x access energy per bit."""
        return self.total_bytes * 8 * self.dram_pj_per_bit * 1e-12

    def dram_bound_time_s(self) -> float:
        """Lower bound on the step time: DRAM bytes at peak bandwidth."""
        return self.total_bytes / (self.dram_bandwidth_gbs * 1e9)

    def board_energy_j(self) -> float:
        """Estimate (a lower bound): board power for the DRAM-bound step time."""
        return self.board_power_w * self.dram_bound_time_s()


def simulate(step: Step, gpu: Config, workload: str = "") -> GpuResult:
    """Run ``gpu.warmup_steps + 1`` copies of ``step`` through the allocator and the L2
    filter; count the DRAM traffic of the last."""
    cap = gpu.l2_bytes // (gpu.l2_partitions if gpu.l2_mode == "partitioned" else 1)
    chunk = gpu.chunk_bytes
    res = GpuResult(gpu.name, step.framework, workload, cap,
                    sum(1 for o in step.ops if o.kernel),
                    dram_pj_per_bit=gpu.dram_pj_per_bit, board_power_w=gpu.board_power_w,
                    dram_bandwidth_gbs=gpu.dram_bandwidth_gbs)
    counting = [False]
    cur_phase = ["FP"]
    read, write, when = defaultdict(int), defaultdict(int), defaultdict(int)

    def on_dram(is_write, nbytes, tag):
        if not counting[0]:
            return
        if is_write:
            write[tag] += nbytes
            when[(tag[0], cur_phase[0])] += nbytes
        else:
            read[tag] += nbytes

    l2 = L2Cache(cap, on_dram)
    alloc = _Allocator(gpu.alloc_round_bytes)
    block = {t: alloc.alloc(t.nbytes) for t in step.persistent}
    last_use = {}
    for i, op in enumerate(step.ops):
        for t in op.reads + op.writes:
            last_use[t] = i

    def chunks(t):
        n = max(1, -(-t.nbytes // chunk))
        return [((block[t], j), min(chunk, t.nbytes - j * chunk), (j + 0.5) / n)
                for j in range(n)]

    per_op = []
    for s in range(gpu.warmup_steps + 1):
        counting[0] = s == gpu.warmup_steps
        for i, op in enumerate(step.ops):
            cur_phase[0] = op.phase
            for t in op.writes:
                if t not in block:
                    block[t] = alloc.alloc(t.nbytes)
            acc = []
            for t in op.reads:
                acc += [(pos, 0, key, size, (t.role, op.phase)) for key, size, pos in chunks(t)]
            for t in op.writes:
                acc += [(pos, 1, key, size, (t.role, op.phase)) for key, size, pos in chunks(t)]
            acc.sort(key=lambda a: (a[0], a[1]))
            r0, w0 = sum(read.values()), sum(write.values())
            for _, is_w, key, size, tag in acc:
                if is_w:
                    l2.write(key, size, tag)
                else:
                    l2.read(key, size, tag)
            if counting[0] and op.kernel:
                per_op.append((op.name, op.layer, op.phase, sum(read.values()) - r0,
                               sum(write.values()) - w0))
            for t in set(op.reads + op.writes):
                if last_use[t] == i and not t.persistent:
                    alloc.release(block.pop(t))
    res.read, res.write, res.write_when = dict(read), dict(write), dict(when)
    ur, uw = defaultdict(int), defaultdict(int)
    for op in step.ops:
        if not op.kernel:
            continue
        for t in op.reads:
            ur[(t.role, op.phase)] += t.nbytes
        for t in op.writes:
            uw[(t.role, op.phase)] += t.nbytes
    res.unfiltered_read, res.unfiltered_write = dict(ur), dict(uw)
    res.per_op = per_op
    return res


def gpu_dram_traffic(workload, gpu: str = "a100-40gb", framework: str = "spikingjelly",
                     overrides: list[str] | None = None,
                     workload_overrides: list[str] | None = None) -> GpuResult:
    """The GPU model end to end: a workload (name, path or loaded Config) -> GpuResult."""
    from ..workload import build_network, load_workload

    wl = workload if isinstance(workload, Config) else load_workload(workload,
                                                                     workload_overrides)
    cfg = load_gpu(gpu, framework, overrides)
    net = build_network(wl)
    res = simulate(build_step(net, wl, cfg), cfg, wl.name)
    res.mode = net.mode
    return res


__all__ = ["GPU_SCHEMA", "ROLE_KIND", "PHASES", "FRAMEWORKS", "Tensor", "Op", "Step",
           "L2Cache", "GpuResult", "load_gpu", "gpu_presets", "build_step", "simulate",
           "gpu_dram_traffic"]
