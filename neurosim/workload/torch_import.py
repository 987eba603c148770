"""Record a neurosim trace from a PyTorch SNN (snnTorch, SpikingJelly or plain torch).

Needs the optional extra ``neurosim[torch]``. The importer runs one training step of the
user's model (forward over T steps, loss, backward) with hooks on its ``nn.Conv2d`` and
``nn.Linear`` modules, whatever library the spiking neurons come from:

- a forward hook records each weighted module's input (the spikes it receives, after any
  pooling or residual add: ``in_mask``) and its output, the synaptic current ``I[t]``;
- a tensor hook on that output records ``g(I[t])``, which equals ``g(U[t])`` because the
  LIF update adds ``I[t]`` to the membrane (``gu_values``, ``gu_mask``);
- ``U[t]`` and ``S[t]`` are rebuilt from ``I[t]`` with the workload's neuron
  (``U[t] = beta U[t-1] (1 - S[t-1]) + I[t]`` or the soft reset, ``S = U >= V_th``), giving
  ``out_spikes``; ``sg_mask`` is the workload surrogate at ``U - V_th``. The rebuilt spikes
  are checked against the spikes the next weighted modules actually received, so a model
  whose neurons differ from the workload's is an error, not a silently wrong trace.

The k-th weighted module to run is the workload's k-th weighted layer; kinds and shapes must
agree. PyTorch maps are NCHW, neurosim's HWC: conv tensors are permuted, and a linear layer
fed by a flattened map (``nn.Flatten`` on NCHW flattens in CHW order) has its inputs
reordered to HWC.

How the common neurons map onto the workload's LIF (reset path detached as on the chip):

- snnTorch ``snn.Leaky(beta=b, threshold=v, reset_mechanism="zero" | "subtract",
  init_hidden=True)`` with the default ``reset_delay=True``: exactly
  ``U[t] = b U[t-1] (1 - S[t-1]) + I[t]`` (hard) or ``b U[t-1] + I[t] - v S[t-1]`` (soft),
  the reset computed from the previous membrane and detached; it fires on ``U > v``.
- SpikingJelly ``neuron.LIFNode(tau=tau, decay_input=False, v_reset=0.0,
  v_threshold=v, detach_reset=True)``: ``H[t] = (1 - 1/tau) V[t-1] + X[t]``,
  ``V[t] = H[t] (1 - S[t])``, i.e. the hard-reset LIF with ``U = H`` and
  ``beta = 1 - 1/tau``. With ``decay_input=True`` the input is scaled by ``1/tau`` (same
  masks, ``g(U)`` values scaled by ``tau``). Its soft reset (``v_reset=None``) subtracts
  ``V_th`` before the decay, i.e. ``beta V_th`` in the workload's terms: equal only for
  ``IFNode`` (beta = 1).
- :class:`LIF` below: a plain-torch neuron with exactly the workload's semantics and
  surrogates, for models written without either library.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..params import Config
from .network import Network, build_network
from .trace import LayerTrace, Trace, edge_bits, pack_bits
from .trainer import surrogate

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - exercised only without torch
    torch = None
    nn = None


def require_torch(source: str = "--entry") -> None:
    if torch is None:
        raise InputError(source, "", "PyTorch installed (pip install 'neurosim[torch]')",
                         "torch is not importable")


# --------------------------------------------------------------------------- plain-torch LIF

if torch is not None:
    class _Spike(torch.autograd.Function):
        """Heaviside forward (U >= V_th), surrogate backward."""

        @staticmethod
        def forward(ctx, x, shape, width):
            ctx.save_for_backward(x)
            ctx.shape, ctx.width = shape, width
            return (x >= 0).to(x.dtype)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            sg = torch.from_numpy(surrogate(x.detach().cpu().numpy(), ctx.shape, ctx.width))
            return grad * sg.to(grad.dtype).to(grad.device), None, None

    class LIF(nn.Module):
        """Single-step LIF neuron with the workload's semantics: call once per time step;
        ``reset_state()`` before a new sample batch. The reset uses the previous step's
        spikes, detached."""

        def __init__(self, beta=0.9, v_th=1.0, reset="hard", surrogate="rectangular",
                     width=1.0):
            super().__init__()
            self.beta, self.v_th, self.reset = float(beta), float(v_th), reset
            self.surrogate, self.width = surrogate, float(width)
            self.mem = self.spk = None

        def reset_state(self):
            self.mem = self.spk = None

        def forward(self, current):
            if self.mem is None:
                self.mem = torch.zeros_like(current)
                self.spk = torch.zeros_like(current)
            r = self.spk.detach()
            if self.reset == "hard":
                self.mem = self.beta * ((1 - r) * self.mem) + current
            else:
                self.mem = self.beta * self.mem + current - r * self.v_th
            self.spk = _Spike.apply(self.mem - self.v_th, self.surrogate, self.width)
            return self.spk

    class WorkloadModel(nn.Module):
        """The workload's network as a single-step torch module (NCHW, :class:`LIF`
        neurons), built by :func:`build_torch_model`."""

        def __init__(self, wl: Config, network: Network):
            super().__init__()
            from .trainer import SNN

            self.ops = SNN(wl, network).ops
            nrn, sgc = wl.network.neuron, wl.network.surrogate
            self.layers = nn.ModuleDict()
            self.neurons = nn.ModuleDict()
            for op in self.ops:
                if op.type in ("conv2d", "linear"):
                    hl = network[op.name]
                    if op.type == "conv2d":
                        mod = nn.Conv2d(hl.in_channels, hl.out_channels, hl.kernel, hl.stride,
                                        hl.padding, bias=False)
                    else:
                        mod = nn.Linear(hl.n_in, hl.n_out, bias=False)
                    self.layers[op.name] = mod
                    self.neurons[op.name] = LIF(nrn.beta, nrn.v_th, nrn.reset, sgc.shape,
                                                sgc.width)

        def reset_state(self):
            for n in self.neurons.values():
                n.reset_state()

        def forward(self, x):
            vals = {"input": x}
            for op in self.ops:
                src = vals[op.inputs[0]]
                if op.type in ("conv2d", "linear"):
                    out = self.neurons[op.name](self.layers[op.name](src))
                elif op.type == "maxpool":
                    out = nn.functional.max_pool2d(src, op.kernel, op.stride)
                elif op.type == "avgpool":
                    out = nn.functional.avg_pool2d(src, op.kernel, op.stride)
                elif op.type == "flatten":
                    out = torch.flatten(src, 1)  # CHW order, as nn.Flatten
                else:
                    out = src + vals[op.inputs[1]]
                vals[op.name] = out
            return out


def build_torch_model(wl: Config, network: Network | None = None, weights: dict | None = None,
                      dtype=None):
    """A torch twin of the workload's network; ``weights`` (optional) are the trainer's
    (HWC layouts: conv ``(K, K, C_in, C_out)``, linear ``(n_in, n_out)`` with HWC inputs).
    ``dtype``: parameter dtype (default: torch's default dtype)."""
    require_torch("<build_torch_model>")
    network = network or build_network(wl)
    model = WorkloadModel(wl, network)
    if dtype is not None:
        model = model.to(dtype)
    if weights:
        with torch.no_grad():
            for hl in network.layers:
                w = np.asarray(weights[hl.name])
                mod = model.layers[hl.name]
                if hl.kind == "conv":
                    mod.weight.copy_(torch.from_numpy(w.transpose(3, 2, 0, 1).copy()))
                else:
                    perm = chw_to_hwc_permutation(hl, network)
                    # torch input j (CHW) is neurosim input perm[j] (HWC)
                    mod.weight.copy_(torch.from_numpy(w[perm].T.copy()))
    return model


def chw_to_hwc_permutation(hl, network: Network) -> np.ndarray:
    """For a linear layer: index array p with torch input j (CHW) = neurosim input p[j];
    the identity unless the layer reads a flattened C x H x W map."""
    shape = _edge_shape(hl)
    n = hl.n_in
    if len(shape) != 3:
        return np.arange(n)
    c, h, w = shape
    hwc_index = np.arange(n).reshape(h, w, c)  # neurosim index at (y, x, c)
    return hwc_index.transpose(2, 0, 1).reshape(-1)  # read in (c, y, x) order


def _edge_shape(hl) -> tuple:
    e = hl.edges[0]
    shape = tuple(e.src_shape)
    for p in e.pools:
        c, h, w = shape
        shape = (c, (h - p.kernel) // p.stride + 1, (w - p.kernel) // p.stride + 1)
    return shape


# --------------------------------------------------------------------------- the importer


def load_entry(spec: str):
    """``pkg.module:function`` or ``path/to/file.py:function`` -> the function."""
    if ":" not in spec:
        raise InputError("--entry", "", "MODULE:FUNCTION or FILE.py:FUNCTION", spec)
    mod_name, func = spec.rsplit(":", 1)
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise InputError("--entry", "", "an existing Python file", mod_name)
            s = importlib.util.spec_from_file_location(f"_neurosim_entry_{path.stem}", path)
            module = importlib.util.module_from_spec(s)
            sys.modules[s.name] = module
            s.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(mod_name)
    except ImportError as e:
        raise InputError("--entry", "", f"an importable module ({mod_name})",
                         f"{type(e).__name__}: {e}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise InputError("--entry", "", f"a function named {func} in {mod_name}", "missing")
    return fn


def import_from_entry(wl: Config, entry: str) -> Trace:
    """Call the entry point ``fn(workload, network)``; it returns a dict (or an object) with
    ``model``, ``inputs`` (T, B, C, H, W) or (T, B, N) and ``labels`` (B,), and optionally
    ``run(model, inputs) -> outputs`` and ``loss(outputs, labels) -> scalar``."""
    require_torch()
    network = build_network(wl)
    made = load_entry(entry)(wl, network)

    def get(k, default=None):
        return made.get(k, default) if isinstance(made, dict) else getattr(made, k, default)

    for k in ("model", "inputs", "labels"):
        if get(k) is None:
            raise InputError("--entry", k, f"the entry point to return '{k}'", "missing")
    return import_torch(wl, network, get("model"), get("inputs"), get("labels"),
                        run=get("run"), loss=get("loss"), meta={"entry": entry})


def reset_states(model) -> None:
    """Clear neuron state before a new batch: :class:`LIF`, snnTorch (``reset_mem``) and
    SpikingJelly (``reset``) neurons."""
    for m in model.modules():
        lib = type(m).__module__.split(".")[0]
        if callable(getattr(m, "reset_state", None)):
            m.reset_state()
        elif lib == "snntorch" and callable(getattr(m, "reset_mem", None)):
            m.reset_mem()
        elif lib == "spikingjelly" and callable(getattr(m, "reset", None)):
            m.reset()


def default_run(model, inputs):
    """Reset the neurons, call the model once per time step, stack the outputs (T, B, n)."""
    reset_states(model)
    outs = []
    for x in inputs:
        o = model(x)
        outs.append(o[0] if isinstance(o, (tuple, list)) else o)
    return torch.stack(outs)


def import_torch(wl: Config, network: Network, model, inputs, labels, run=None, loss=None,
                 meta: dict | None = None) -> Trace:
    """Run one step of ``model`` in the workload's mode and record its trace (see the module
    docstring). ``train``: forward, loss, backward; ``input_gradient``: the same with the
    parameters' ``requires_grad`` off and the input's on (backward down to g(input), no
    g(W)); ``inference``: the forward under ``torch.no_grad()``, zero ``sg_mask`` and
    ``gu_mask`` (spec 3.6). With ``repeats`` the inputs hold ``batch x repeats`` samples,
    draw ``r`` of input ``i`` at ``r*batch + i``."""
    require_torch()
    src = "--entry"
    inputs = torch.as_tensor(inputs)
    labels = torch.as_tensor(labels).long()
    t_steps, batch = int(wl.time_steps), int(network.batch)
    mode = network.mode
    want = (t_steps, batch) + tuple(network.input_shape)
    if tuple(inputs.shape) != want:
        raise InputError(src, "inputs", f"a tensor of shape {list(want)} (T, B, then the "
                         "workload's input shape, NCHW)", list(inputs.shape))
    if tuple(labels.shape) != (batch,):
        raise InputError(src, "labels", f"a tensor of shape [{batch}]", list(labels.shape))

    calls: dict = {}  # module -> list of [input, output, grad]
    order: list = []

    def fwd_hook(mod, args, out):
        if mod not in calls:
            calls[mod] = []
            order.append(mod)
        rec = [args[0].detach(), out.detach(), None, out]  # out: live, for the default loss
        calls[mod].append(rec)
        if out.requires_grad:
            def keep(g, rec=rec):
                rec[2] = g.detach()
            out.register_hook(keep)

    handles = [m.register_forward_hook(fwd_hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    trainable = [p for p in model.parameters() if p.requires_grad]
    value = None
    try:
        model.zero_grad(set_to_none=True)
        if mode == "inference":
            with torch.no_grad():
                outputs = (run or default_run)(model, inputs)
        else:
            if mode == "input_gradient":     # an attack: g(input), weights frozen
                for p in trainable:
                    p.requires_grad_(False)
                # the leaf keeps the frames' float precision, as the train and inference
                # paths do (a cast to float32 broke float64 models); integer frames (events)
                # take the parameters' precision
                dtype = (inputs.dtype if inputs.is_floating_point()
                         else next((p.dtype for p in trainable), torch.float32))
                inputs = inputs.detach().to(dtype).requires_grad_(True)
            outputs = (run or default_run)(model, inputs)
            if loss is not None:
                value = loss(outputs, labels)
            else:
                value = _default_loss(wl, outputs, labels, calls, order)
            value.backward()
    finally:
        for h in handles:
            h.remove()
        for p in trainable:
            p.requires_grad_(True)

    if len(order) != len(network.layers):
        raise InputError(src, "model", f"{len(network.layers)} weighted modules (nn.Conv2d / "
                         "nn.Linear) as in the workload", f"{len(order)} ran")
    layers, mismatch = [], 0
    bits: dict = {}
    for hl, mod in zip(network.layers, order):
        _check_module(hl, mod)
        x, cur, g = (_stack(calls[mod], i, t_steps, batch) for i in range(3))
        x, cur, g = _to_hwc(x, hl, network), _to_hwc(cur), _to_hwc(g)
        u, s = _lif(cur.double().numpy(), wl)
        in_bits = _bt(x.numpy() != 0)
        if all(e.src in bits for e in hl.edges):  # rebuilt spikes = what this layer got
            expect = np.zeros_like(in_bits)
            for e in hl.edges:
                expect |= edge_bits(e, bits[e.src])
            mismatch += int((expect != in_bits).sum())
        bits[hl.name] = _bt(s != 0)
        if len(hl.edges) == 1 and hl.edges[0].src == "input" and not hl.edges[0].pools:
            bits["input"] = in_bits  # the network input, as this layer received it
        if mode == "inference":          # no backward pass: no surrogate or g(U) bits
            spikes = pack_bits(bits[hl.name])
            layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, pack_bits(in_bits), spikes,
                                     np.zeros_like(spikes), np.zeros_like(spikes)))
            continue
        nrn, sgc = wl.network.neuron, wl.network.surrogate
        sg16 = _bt(surrogate(u - nrn.v_th, sgc.shape, sgc.width).astype(np.float16))
        gu16 = np.ascontiguousarray(_bt(g.double().numpy()).astype(np.float16))
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, pack_bits(in_bits),
                                 pack_bits(bits[hl.name]), pack_bits(sg16 != 0),
                                 pack_bits(gu16 != 0), gu16))
    total = sum(l.n_in for l in network.layers) * t_steps * batch
    if mismatch > max(1, total // 1000):
        raise InputError(src, "model", "spiking neurons that follow the workload's LIF "
                         f"(beta {wl.network.neuron.beta}, v_th {wl.network.neuron.v_th}, "
                         f"{wl.network.neuron.reset} reset)",
                         f"{mismatch} of {total} input bits differ from the rebuilt spikes")
    info = {"source": "torch", "spike_mismatch_bits": mismatch,
            "loss": None if value is None else float(value.detach())}
    if mode != "train":
        info["mode"] = mode
    if mode == "input_gradient" and inputs.grad is not None:
        info["input_grad_density"] = float((inputs.grad != 0).double().mean())
    info.update(meta or {})
    return Trace(network, layers, info)


def _default_loss(wl, outputs, labels, calls, order):
    """The workload's loss, summed over the batch (so g(U) is the per-sample value)."""
    f = torch.nn.functional
    t_steps = int(wl.time_steps)
    if wl.loss.type == "ce_membrane":
        # U[T-1] of the last weighted layer, rebuilt from its live currents with the resets
        # detached (the chip's BPTT), so the gradient reaches the model through them
        cur = _to_hwc(_stack(calls[order[-1]], 3, t_steps, len(labels)))
        nrn = wl.network.neuron
        u = torch.zeros_like(cur[0])
        s = torch.zeros_like(cur[0])
        for t in range(t_steps):
            if nrn.reset == "hard":
                u = nrn.beta * ((1 - s) * u) + cur[t]
            else:
                u = nrn.beta * u + cur[t] - s * nrn.v_th
            s = (u >= nrn.v_th).to(u.dtype).detach()
        return f.cross_entropy(u, labels, reduction="sum")
    counts = outputs.sum(dim=0)
    if wl.loss.type == "ce_count":
        return f.cross_entropy(counts, labels, reduction="sum")
    rate = counts / t_steps
    onehot = f.one_hot(labels, rate.shape[-1]).to(rate.dtype)
    return ((rate - onehot) ** 2).mean(dim=1).sum()


def _check_module(hl, mod) -> None:
    if hl.kind == "conv":
        ok = (isinstance(mod, nn.Conv2d) and mod.in_channels == hl.in_channels
              and mod.out_channels == hl.out_channels and mod.kernel_size == (hl.kernel,) * 2
              and mod.stride == (hl.stride,) * 2 and mod.padding == (hl.padding,) * 2)
        want = (f"Conv2d({hl.in_channels}, {hl.out_channels}, kernel {hl.kernel}, stride "
                f"{hl.stride}, padding {hl.padding})")
        got = (f"{type(mod).__name__}({getattr(mod, 'in_channels', '?')}, "
               f"{getattr(mod, 'out_channels', '?')}, kernel {getattr(mod, 'kernel_size', '?')}"
               f", stride {getattr(mod, 'stride', '?')}, padding {getattr(mod, 'padding', '?')})")
    else:
        ok = (isinstance(mod, nn.Linear) and mod.in_features == hl.n_in
              and mod.out_features == hl.n_out)
        want = f"Linear({hl.n_in}, {hl.n_out})"
        got = (f"{type(mod).__name__}({getattr(mod, 'in_features', '?')}, "
               f"{getattr(mod, 'out_features', '?')})")
    if not ok:
        raise InputError("--entry", f"model (weighted layer {hl.name})", want, got)


def _stack(recs, i, t_steps, batch):
    """Calls of one module -> tensor (T, B, ...): T single-step calls, one multi-step call
    on (T, B, ...), or one call on (T*B, ...) (SpikingJelly's SeqToANNContainer)."""
    parts = []
    for r in recs:
        v = r[i]
        if v is None:  # no gradient reached this call
            v = torch.zeros_like(r[1])
        parts.append(v)
    if len(parts) == t_steps and parts[0].shape[0] == batch:
        return torch.stack(parts)
    if len(parts) == 1 and parts[0].shape[:2] == (t_steps, batch):
        return parts[0]
    if len(parts) == 1 and parts[0].shape[0] == t_steps * batch:
        return parts[0].reshape((t_steps, batch) + tuple(parts[0].shape[1:]))
    raise InputError("--entry", "run", f"each weighted module called T = {t_steps} times on "
                     f"a batch of {batch}, or once on all steps",
                     f"{len(parts)} calls of shape {list(parts[0].shape)}")


def _to_hwc(a, hl=None, network=None):
    """(T, B, C, H, W) -> (T, B, H*W*C); linear inputs read from a map -> HWC order."""
    if a.dim() == 5:
        return a.permute(0, 1, 3, 4, 2).reshape(a.shape[0], a.shape[1], -1)
    if hl is not None and hl.kind == "linear":
        perm = chw_to_hwc_permutation(hl, network)
        out = torch.empty_like(a)
        out[..., torch.from_numpy(perm)] = a  # torch input j is neurosim input perm[j]
        return out
    return a


def _bt(a):
    """(T, B, n) -> (B, T, n)."""
    return np.swapaxes(a, 0, 1)


def _lif(cur: np.ndarray, wl: Config):
    nrn = wl.network.neuron
    beta, v_th = float(nrn.beta), float(nrn.v_th)
    u = np.empty_like(cur)
    s = np.empty_like(cur)
    u_prev = np.zeros_like(cur[0])
    s_prev = np.zeros_like(cur[0])
    for t in range(cur.shape[0]):
        if nrn.reset == "hard":
            u[t] = beta * ((1 - s_prev) * u_prev) + cur[t]
        else:
            u[t] = beta * u_prev + cur[t] - s_prev * v_th
        s[t] = u[t] >= v_th
        u_prev, s_prev = u[t], s[t]
    return u, s


__all__ = ["import_torch", "import_from_entry", "build_torch_model", "load_entry",
           "default_run", "reset_states", "require_torch"]
