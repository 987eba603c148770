"""Built-in BPTT trainer for LIF networks with surrogate gradients (numpy), and the recorder
that turns one training step into a :class:`~neurosim.workload.trace.Trace`.

The network is the workload's, op for op: conv2d / linear (no bias) each followed by LIF
neurons, avg/max pooling, flatten (HWC order, as in :mod:`neurosim.workload.network`) and
residual add. Tensors are kept as ``(T, B, H, W, C)`` or ``(T, B, N)``; a weighted layer
computes its synaptic current for all time steps in one matrix product, then runs the LIF
recurrence over time. Forward, per weighted layer (chip spec section 1)::

    I[t] = W * S_in[t]
    U[t] = beta * U[t-1] * (1 - S[t-1]) + I[t]        (hard reset)
    U[t] = beta * U[t-1] - V_th * S[t-1] + I[t]       (soft reset)
    S[t] = U[t] >= V_th

Backward, with the reset path detached (the reset uses S as a constant)::

    g(U[t]) = g(S[t]) sg(U[t] - V_th) + beta g(U[t+1]) (1 - S[t])   (hard; soft: no (1-S))
    g(S_in[t]) = W^T g(U[t]);   g(W) = sum_t g(U[t]) (outer) S_in[t]

Gradients are those of the loss *summed* over the batch, so a recorded ``g(U)`` is the
per-sample value the chip computes; the update divides by the batch size
(``W -= lr * g(W) / B``, or with momentum ``v = m v + g(W) / B; W -= lr v``).

Losses on the last layer (per sample): ``ce_count`` = cross-entropy of softmax(spike counts);
``ce_membrane`` = cross-entropy of softmax(U[T-1]); ``mse_count`` = mean over classes of
(count / T - one_hot)^2. Predictions: argmax of the count (ties broken by the summed
membrane), or of U[T-1] for ce_membrane.

``relaxed=True`` replaces the Heaviside spike by the surrogate's primitive ``Phi`` (``Phi' =
sg``): the backward pass above is then the exact gradient of that smooth network with the
reset masks held constant, which is what the finite-difference tests check.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..params import Config
from .conv_kernels import conv_backward, conv_forward
from .datasets import Dataset, make_dataset
from .network import Network, build_network
from .trace import LayerTrace, Trace, load_trace, pack_bits

INIT_GAIN = 2.0  # initial weight std = INIT_GAIN / sqrt(fan_in), before calibration
# Data-driven initialisation (as LSUV does for ANNs): on the first training batch each weighted
# layer's weights are rescaled, in network order, so that its synaptic current has this
# standard deviation in units of V_th. Sparse inputs (DVS events, pooled spikes) would
# otherwise leave deep layers silent, and a silent layer gets no surrogate gradient.
INIT_CURRENT_STD = 1.0


# --------------------------------------------------------------------------- surrogates


def surrogate(x: np.ndarray, shape: str, a: float) -> np.ndarray:
    """sg(x), x = U - V_th; every shape integrates to 1 and peaks at 1/a."""
    if shape == "rectangular":
        return (np.abs(x) < a / 2) / a
    if shape == "triangle":
        return np.maximum(0.0, 1.0 - np.abs(x) / a) / a
    if shape == "sigmoid":
        k = 4.0 / a
        s = 0.5 * (1.0 + np.tanh(0.5 * k * x))
        return k * s * (1.0 - s)
    if shape == "atan":
        return (1.0 / a) / (1.0 + (np.pi * x / a) ** 2)
    raise ValueError(shape)


def surrogate_primitive(x: np.ndarray, shape: str, a: float) -> np.ndarray:
    """Phi(x) with Phi' = sg, Phi(-inf) = 0, Phi(+inf) = 1: the relaxed spike."""
    if shape == "rectangular":
        return np.clip(x / a + 0.5, 0.0, 1.0)
    if shape == "triangle":
        z = np.clip(x / a, -1.0, 1.0)
        return np.where(z <= 0, 0.5 * (1 + z) ** 2, 1 - 0.5 * (1 - z) ** 2)
    if shape == "sigmoid":
        return 0.5 * (1.0 + np.tanh(2.0 * x / a))
    if shape == "atan":
        return 0.5 + np.arctan(np.pi * x / a) / np.pi
    raise ValueError(shape)


# --------------------------------------------------------------------------- the model


@dataclass
class Op:
    """One layer as the user wrote it."""

    name: str
    type: str  # conv2d, linear, avgpool, maxpool, flatten, add
    inputs: tuple
    kernel: int = 1
    stride: int = 1
    padding: int = 0


@dataclass
class Forward:
    """What the backward pass and the recorder need from a forward pass."""

    values: dict  # op name (and "input") -> output (T, B, ...)
    currents_in: dict  # weighted layer -> its input tensor (T, B, ...)
    membrane: dict  # weighted layer -> U (T, B, ...)
    spikes: dict  # weighted layer -> S (T, B, ...), relaxed values when relaxed
    pool_arg: dict = field(default_factory=dict)  # maxpool name -> window argmax (int8)


class SNN:
    """The workload's network with weights, forward and backward passes."""

    def __init__(self, wl: Config, network: Network | None = None, seed: int = 0,
                 dtype=np.float64):
        self.network = network or build_network(wl)
        nrn, sgc = wl.network.neuron, wl.network.surrogate
        self.beta, self.v_th, self.reset = float(nrn.beta), float(nrn.v_th), nrn.reset
        self.sg_shape, self.sg_width = sgc.shape, float(sgc.width)
        self.loss_type = wl.loss.type
        self.time_steps = int(wl.time_steps)
        self.dtype = dtype
        self.ops: list[Op] = []
        prev = "input"
        for i, layer in enumerate(wl.get("network.layers")):
            t = layer["type"]
            name = layer.get("name") or f"{t}_{i}"  # same default names as build_network
            if t == "add":
                inputs = tuple(layer["inputs"])
            else:
                inputs = (layer.get("input") or prev,)
            op = Op(name, t, inputs)
            if t in ("conv2d", "linear"):
                hl = self.network[name]
                op.kernel, op.stride, op.padding = hl.kernel, hl.stride, hl.padding
            elif t in ("avgpool", "maxpool"):
                op.kernel = layer["kernel"]
                op.stride = layer["stride"] or layer["kernel"]
            self.ops.append(op)
            prev = name
        self.output = self.ops[-1].name
        rng = np.random.default_rng([seed, 0x5EED])
        self.weights: dict[str, np.ndarray] = {}
        for hl in self.network.layers:
            if hl.kind == "conv":
                shape = (hl.kernel, hl.kernel, hl.in_channels, hl.out_channels)
            else:
                shape = (hl.n_in, hl.n_out)
            fan_in = int(np.prod(shape[:-1]))
            self.weights[hl.name] = (rng.standard_normal(shape) * INIT_GAIN
                                     / np.sqrt(fan_in)).astype(dtype)

    # ---------------------------------------------------------------- forward

    def forward(self, x: np.ndarray, relaxed: bool = False,
                reset_masks: dict | None = None, calibrate: bool = False) -> Forward:
        """``x``: (T, B, ...) network input. ``reset_masks`` (tests): per weighted layer, the
        S values used in the reset term instead of this pass's own spikes. ``calibrate``:
        rescale each layer's weights first (data-driven initialisation, INIT_CURRENT_STD)."""
        x = np.asarray(x, dtype=self.dtype)
        fw = Forward({"input": x}, {}, {}, {})
        for op in self.ops:
            src = fw.values[op.inputs[0]]
            if op.type in ("conv2d", "linear"):
                current = self._current(op, src)
                if calibrate:
                    std = float(current.std())
                    if std > 0:
                        scale = INIT_CURRENT_STD * self.v_th / std
                        self.weights[op.name] *= scale
                        current = current * scale
                u, s = self._lif(current, relaxed,
                                 None if reset_masks is None else reset_masks[op.name])
                fw.currents_in[op.name] = src
                fw.membrane[op.name], fw.spikes[op.name] = u, s
                out = s
            elif op.type == "maxpool":
                out, arg = _maxpool(src, op.kernel, op.stride)
                fw.pool_arg[op.name] = arg
            elif op.type == "avgpool":
                out = self._fmt(_avgpool(src, op.kernel, op.stride), "value")
            elif op.type == "flatten":
                out = src.reshape(src.shape[:2] + (-1,))
            else:  # add
                out = self._fmt(src + fw.values[op.inputs[1]], "value")
            fw.values[op.name] = out
        return fw

    def _fmt(self, a: np.ndarray, kind: str) -> np.ndarray:
        """A ``kind`` ("value" or "grad") computed outside the weighted layers (pooling,
        residual add, a sum of gradients): kept as computed here; the chip datapath rounds
        it to its format."""
        return a

    def _current(self, op: Op, x: np.ndarray) -> np.ndarray:
        w = self.weights[op.name]
        if op.type == "linear":
            return x @ w
        t, b = x.shape[:2]
        out = conv_forward(x.reshape((t * b,) + x.shape[2:]), w, op.stride, op.padding)
        return out.reshape((t, b) + out.shape[1:])

    def _lif(self, current, relaxed, reset_mask):
        u = np.empty_like(current)
        s = np.empty_like(current)
        u_prev = np.zeros_like(current[0])
        r_prev = np.zeros_like(current[0])
        for t in range(current.shape[0]):
            if self.reset == "hard":
                u[t] = self.beta * u_prev * (1.0 - r_prev) + current[t]
            else:
                u[t] = self.beta * u_prev - self.v_th * r_prev + current[t]
            if relaxed:
                s[t] = surrogate_primitive(u[t] - self.v_th, self.sg_shape, self.sg_width)
            else:
                s[t] = u[t] >= self.v_th
            u_prev = u[t]
            r_prev = s[t] if reset_mask is None else reset_mask[t]
        return u, s

    # ---------------------------------------------------------------- loss

    def loss(self, fw: Forward, labels: np.ndarray):
        """(per-sample losses (B,), g(S) of the output layer, direct g(U) of it)."""
        s, u = fw.spikes[self.output], fw.membrane[self.output]
        t_steps, b, n = s.shape
        onehot = np.zeros((b, n))
        onehot[np.arange(b), labels] = 1.0
        g_s = np.zeros_like(s)
        g_u = np.zeros_like(u)
        if self.loss_type == "mse_count":
            rate = s.sum(axis=0) / t_steps
            losses = ((rate - onehot) ** 2).mean(axis=1)
            g_s[:] = 2.0 * (rate - onehot) / (n * t_steps)
            return losses, g_s, g_u
        logits = s.sum(axis=0) if self.loss_type == "ce_count" else u[-1]
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        losses = -np.log(np.maximum(p[np.arange(b), labels], 1e-300))
        if self.loss_type == "ce_count":
            g_s[:] = p - onehot
        else:
            g_u[-1] = p - onehot
        return losses, g_s, g_u

    def predict(self, fw: Forward) -> np.ndarray:
        s, u = fw.spikes[self.output], fw.membrane[self.output]
        if self.loss_type == "ce_membrane":
            return u[-1].argmax(axis=1)
        count = s.sum(axis=0)
        m = u.sum(axis=0)
        span = np.abs(m).max() + 1.0
        return (count + 0.5 * (m / span + 1.0) / 2.0).argmax(axis=1)  # tie-break < 0.5

    # ---------------------------------------------------------------- backward

    def backward(self, fw: Forward, labels: np.ndarray, relaxed: bool = False):
        """Returns (per-sample losses, {layer: g(W)}, {layer: g(U) (T, B, ...)})."""
        losses, g_s_out, g_u_out = self.loss(fw, labels)
        grads: dict[str, np.ndarray] = {self.output: g_s_out}
        g_w, g_u_all = {}, {}
        for op in reversed(self.ops):
            g = grads.pop(op.name, None)
            if g is None:  # nothing downstream depends on this op
                continue
            if op.type in ("conv2d", "linear"):
                extra = g_u_out if op.name == self.output else None
                g_u = self._lif_backward(g, fw.membrane[op.name], fw.spikes[op.name], extra)
                g_u_all[op.name] = g_u
                g_w[op.name], g_in = self._weight_and_input_grad(
                    op, fw.currents_in[op.name], g_u, op.inputs[0] != "input")
                self._accumulate(grads, op.inputs[0], g_in)
            elif op.type == "maxpool":
                src = fw.values[op.inputs[0]]
                self._accumulate(grads, op.inputs[0], _maxpool_backward(
                    g, src.shape, fw.pool_arg[op.name], op.kernel, op.stride))
            elif op.type == "avgpool":
                src = fw.values[op.inputs[0]]
                self._accumulate(grads, op.inputs[0], self._fmt(
                    _avgpool_backward(g, src.shape, op.kernel, op.stride), "grad"))
            elif op.type == "flatten":
                self._accumulate(grads, op.inputs[0],
                                 g.reshape(fw.values[op.inputs[0]].shape))
            else:  # add
                self._accumulate(grads, op.inputs[0], g)
                self._accumulate(grads, op.inputs[1], g)
        for hl in self.network.layers:  # layers no gradient reached
            if hl.name not in g_w:
                g_w[hl.name] = np.zeros_like(self.weights[hl.name])
                g_u_all[hl.name] = np.zeros_like(fw.membrane[hl.name])
        return losses, g_w, g_u_all

    def _lif_backward(self, g_s, u, s, extra):
        sg = surrogate(u - self.v_th, self.sg_shape, self.sg_width).astype(u.dtype, copy=False)
        g_u = np.empty_like(u)
        nxt = np.zeros_like(u[0])
        for t in range(u.shape[0] - 1, -1, -1):
            carry = self.beta * nxt * (1.0 - s[t]) if self.reset == "hard" else self.beta * nxt
            g_u[t] = g_s[t] * sg[t] + carry
            if extra is not None:
                g_u[t] += extra[t]
            nxt = g_u[t]
        return g_u

    def _weight_and_input_grad(self, op: Op, x, g_u, input_grad: bool = True):
        """(g(W), g(x)); g(x) is None when ``input_grad`` is False (the layer reads the
        network input, whose gradient nothing needs)."""
        w = self.weights[op.name]
        t, b = x.shape[:2]
        if op.type == "linear":
            xf = x.reshape(t * b, -1)
            gf = g_u.reshape(t * b, -1)
            return xf.T @ gf, (gf @ w.T).reshape(x.shape) if input_grad else None
        g_w, g_in = conv_backward(x.reshape((t * b,) + x.shape[2:]), w,
                                  g_u.reshape((t * b,) + g_u.shape[2:]), op.stride, op.padding)
        return g_w, g_in.reshape(x.shape) if input_grad else None

    def _accumulate(self, grads: dict, name: str, g: np.ndarray | None) -> None:
        """Add ``g`` to the gradient flowing into ``name`` (a tensor with several consumers
        sums their gradients)."""
        if name == "input":
            return
        if name in grads:
            grads[name] = self._fmt(grads[name] + g, "grad")
        else:
            grads[name] = g


# --------------------------------------------------------------------------- conv and pooling


def _windows(x: np.ndarray, k: int, s: int):
    """Yield (index, view) of each window offset (dy, dx) for (T, B, H, W, C) input."""
    h, w = x.shape[2], x.shape[3]
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    for dy in range(k):
        for dx in range(k):
            yield dy * k + dx, (slice(None), slice(None), slice(dy, dy + s * (ho - 1) + 1, s),
                                slice(dx, dx + s * (wo - 1) + 1, s))


def _maxpool(x, k, s):
    out = arg = None
    for i, sl in _windows(x, k, s):
        v = x[sl]
        if out is None:
            out, arg = v.copy(), np.zeros(v.shape, dtype=np.int8)
        else:
            better = v > out  # ties keep the first window offset
            out = np.where(better, v, out)
            arg[better] = i
    return out, arg


def _maxpool_backward(g, shape, arg, k, s):
    gx = np.zeros(shape, dtype=g.dtype)
    for i, sl in _windows(gx, k, s):
        gx[sl] += np.where(arg == i, g, 0.0)
    return gx


def _avgpool(x, k, s):
    out = None
    for _, sl in _windows(x, k, s):
        out = x[sl].copy() if out is None else out + x[sl]
    return out / (k * k)


def _avgpool_backward(g, shape, k, s):
    gx = np.zeros(shape, dtype=g.dtype)
    for _, sl in _windows(gx, k, s):
        gx[sl] += g / (k * k)
    return gx


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    model: SNN
    data: Dataset
    history: list  # per epoch: {"epoch", "loss", "train_accuracy"}
    test_accuracy: float
    seconds: float


class Optimizer:
    def __init__(self, wl: Config, weights: dict):
        o = wl.optimizer
        self.lr, self.kind, self.momentum = float(o.lr), o.type, float(o.momentum)
        self.velocity = {k: np.zeros_like(v) for k, v in weights.items()}

    def step(self, weights: dict, grads: dict, batch: int) -> None:
        for k, g in grads.items():
            g = g / batch
            if self.kind == "momentum":
                self.velocity[k] = self.momentum * self.velocity[k] + g
                g = self.velocity[k]
            weights[k] -= self.lr * g


class Schedule:
    """The trainer's run, from the workload's ``traces`` section: the data set and its split,
    and one random stream (seeded by ``traces.seed``) that draws, in this order, the
    calibration batch, each epoch's permutation, the input coding of every batch, and the
    coding of the test set after the last epoch. Every model that trains like the trainer
    (the functional chip datapath, :mod:`neurosim.functional.model`) walks the same
    schedule and so sees the same inputs."""

    def __init__(self, wl: Config, network: Network, epochs: int | None = None):
        if wl.traces.source != "trainer":
            raise wl.error("traces.source", "trainer (to train the network)", wl.traces.source)
        self.data = make_dataset(wl, network)
        self.seed = int(wl.traces.seed)
        self.batch = int(wl.traces.train_batch)
        self.epochs = int(wl.traces.epochs if epochs is None else epochs)
        self.rng = np.random.default_rng([self.seed, 0x7A1])

    @property
    def n_train(self) -> int:
        return len(self.data.y_train)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n_train // self.batch)

    def calibration_input(self) -> np.ndarray | None:
        """The coded first batch on which the weights are rescaled (None: no data)."""
        if not self.n_train:
            return None
        first = self.rng.permutation(self.n_train)[:self.batch]
        return self.data.encode(self.data.x_train[first], self.rng)

    def batches(self):
        """Yield (epoch, sample indices, coded input (T, B, ...), labels) per step."""
        for epoch in range(self.epochs):
            order = self.rng.permutation(self.n_train)
            for i in range(0, self.n_train, self.batch):
                idx = order[i: i + self.batch]
                yield (epoch, idx, self.data.encode(self.data.x_train[idx], self.rng),
                       self.data.y_train[idx])

    def test_inputs(self, rng: np.random.Generator | None = None, chunk: int = 256):
        """Yield (coded input, labels) chunks of the test split, coded from ``rng`` (default:
        the schedule's stream, as the trainer's final evaluation does)."""
        rng = self.rng if rng is None else rng
        x, y = self.data.x_test, self.data.y_test
        for i in range(0, len(y), chunk):
            yield self.data.encode(x[i: i + chunk], rng), y[i: i + chunk]


def train_step(model: SNN, opt, x: np.ndarray, y: np.ndarray):
    """One BPTT step: forward, backward, update. Returns (forward record, per-sample losses,
    {layer: g(U)})."""
    fw = model.forward(x)
    losses, g_w, g_u = model.backward(fw, y)
    opt.step(model.weights, g_w, len(y))
    return fw, losses, g_u


def accuracy(models: list, chunks) -> list:
    """Fraction of correct predictions of each model on the same coded chunks."""
    correct, n = [0] * len(models), 0
    for x, y in chunks:
        n += len(y)
        for i, m in enumerate(models):
            correct[i] += int((m.predict(m.forward(x)) == y).sum())
    return [c / max(1, n) for c in correct]


def train(wl: Config, network: Network | None = None, epochs: int | None = None,
          log=None, dtype=np.float64) -> TrainResult:
    """Train the workload's network on its data set per its ``traces`` section, in ``dtype``
    arithmetic (the float32 trainer is the reference of ``neurosim train``)."""
    from threadpoolctl import threadpool_limits

    # The matrices are small: one BLAS thread is fastest, and far faster than several
    # threads competing for a loaded machine.
    with threadpool_limits(limits=1, user_api="blas"):
        return _train(wl, network, epochs, log, dtype)


def _train(wl, network, epochs, log, dtype) -> TrainResult:
    network = network or build_network(wl)
    sched = Schedule(wl, network, epochs)
    data = sched.data
    model = SNN(wl, network, sched.seed, dtype)
    opt = Optimizer(wl, model.weights)
    history = []
    start = time.perf_counter()
    n = sched.n_train
    x0 = sched.calibration_input()
    if x0 is not None:
        model.forward(x0, calibrate=True)
    tot_loss, correct, seen = 0.0, 0, 0
    for epoch, idx, x, y in sched.batches():
        fw, losses, _ = train_step(model, opt, x, y)
        tot_loss += float(losses.sum())
        correct += int((model.predict(fw) == y).sum())
        seen += len(idx)
        if seen == n:  # the epoch's last batch
            history.append({"epoch": epoch, "loss": tot_loss / n, "train_accuracy": correct / n})
            if log:
                log(f"epoch {epoch}: loss {tot_loss / n:.4f}, train accuracy {correct / n:.3f}")
            tot_loss, correct, seen = 0.0, 0, 0
    test_acc = accuracy([model], sched.test_inputs())[0]
    return TrainResult(model, data, history, test_acc, time.perf_counter() - start)


# --------------------------------------------------------------------------- recording


def record_step(model: SNN, x: np.ndarray, labels: np.ndarray, meta: dict | None = None) -> Trace:
    """The trace of one training step on input ``x`` (T, B, ...) with ``labels`` (B,).

    Per weighted layer, in the network graph's HWC order: ``in_mask`` = nonzero entries of
    the layer's input (after pooling / residual add, i.e. what its edges deliver);
    ``out_spikes`` = S; ``sg_mask`` = sg(U - V_th) != 0 and ``gu_values`` = g(U), both as the
    chip's FP16 datapath holds them (a value that rounds to 0 in FP16 is a zero the engines
    skip); ``gu_mask`` = gu_values != 0."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        fw = model.forward(x)
        _, _, g_u = model.backward(fw, labels)
    return make_trace(model, fw, g_u, meta)


def record_inference(model: SNN, x: np.ndarray, labels: np.ndarray,
                     meta: dict | None = None) -> Trace:
    """The trace of a forward pass on ``x`` (T, B, ...) alone (mode inference, spec 3.6):
    ``in_mask`` and ``out_spikes`` as :func:`record_step` records them; no backward pass,
    so ``sg_mask`` and ``gu_mask`` are all zero and no ``gu_values`` are kept. The fraction
    of the ``labels`` (B,) predicted goes into the meta as ``accuracy``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        fw = model.forward(x)
    meta = dict(meta or {}, accuracy=float((model.predict(fw) == labels).mean()))
    return make_trace(model, fw, None, meta)


def make_trace(model: SNN, fw: Forward, g_u: dict | None, meta: dict | None = None,
               network: Network | None = None) -> Trace:
    """The trace of a forward record ``fw`` and its backward ``g_u`` (see
    :func:`record_step`; None: no backward pass, zero ``sg_mask`` and ``gu_mask``);
    ``network`` (default: the model's) names the batch size."""
    layers = []
    for hl in model.network.layers:
        def bt(a):  # (T, B, ...) -> (B, T, n), HWC flattening is the memory order already
            return np.swapaxes(a.reshape(a.shape[:2] + (-1,)), 0, 1)

        if g_u is None:
            spikes = pack_bits(bt(fw.spikes[hl.name]) != 0)
            zeros = np.zeros_like(spikes)
            layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out,
                                     in_mask=pack_bits(bt(fw.currents_in[hl.name]) != 0),
                                     out_spikes=spikes, sg_mask=zeros, gu_mask=zeros.copy()))
            continue
        u = fw.membrane[hl.name]
        sg16 = surrogate(u - model.v_th, model.sg_shape, model.sg_width).astype(np.float16)
        gu16 = bt(g_u[hl.name]).astype(np.float16)
        layers.append(LayerTrace(
            hl.name, hl.n_in, hl.n_out,
            in_mask=pack_bits(bt(fw.currents_in[hl.name]) != 0),
            out_spikes=pack_bits(bt(fw.spikes[hl.name]) != 0),
            sg_mask=pack_bits(bt(sg16) != 0),
            gu_mask=pack_bits(gu16 != 0),
            gu_values=np.ascontiguousarray(gu16)))
    return Trace(network or model.network, layers, dict(meta or {}))


def trained_trace(wl: Config, network: Network | None = None, log=None) -> Trace:
    """Train per ``traces``, then record one training step of ``batch`` training samples."""
    network = network or build_network(wl)
    res = train(wl, network, log=log)
    rng = np.random.default_rng([int(wl.traces.seed), 0xBA7C])
    if wl.batch > len(res.data.y_train):
        raise wl.error("batch", f"at most {len(res.data.y_train)} samples (the training "
                       f"split of {res.data.name})", wl.batch)
    idx = rng.choice(len(res.data.y_train), size=int(wl.batch), replace=False)
    # repeats (inference, rate coding): Poisson re-draws of the same batch, draw r of input
    # i as sample r*batch + i (spec 3.6); one draw otherwise, as always
    x = np.concatenate([res.data.encode(res.data.x_train[idx], rng)
                        for _ in range(int(wl.repeats))], axis=1)
    meta = {"source": "trainer", "dataset": res.data.name, "seed": int(wl.traces.seed),
            "epochs": int(wl.traces.epochs), "train_batch": int(wl.traces.train_batch),
            "test_accuracy": res.test_accuracy,
            "train_accuracy": res.history[-1]["train_accuracy"] if res.history else None,
            "train_seconds": round(res.seconds, 3), "code_version": code_version(),
            "labels": [int(v) for v in res.data.y_train[idx]]}
    if wl.mode == "inference":
        meta.update(mode="inference", repeats=int(wl.repeats))
        return record_inference(res.model, x, np.tile(res.data.y_train[idx], int(wl.repeats)),
                                meta)
    if wl.mode != "train":
        meta["mode"] = wl.mode   # input_gradient: the step's forward and backward, no update
    return record_step(res.model, x, res.data.y_train[idx], meta)


# --------------------------------------------------------------------------- cache


def code_version() -> str:
    """Hash of the code that decides a trained trace (this module and the data sets)."""
    from .. import __version__

    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).resolve().parent
    for name in ("trainer.py", "datasets.py", "network.py", "trace.py", "conv_kernels.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    env = os.environ.get("NEUROSIM_CACHE")
    return Path(env) if env else Path.cwd() / ".neurosim-cache"


def cache_key(wl: Config) -> str:
    resolved = wl.to_dict()
    resolved.pop("description", None)  # free text does not change the trace
    text = json.dumps(resolved, sort_keys=True, default=str) + code_version()
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_path(wl: Config) -> Path:
    return cache_dir() / "traces" / f"{wl.name}-{cache_key(wl)}.npz"


def record_trace(wl: Config, network: Network | None = None, log=None) -> Trace:
    """The trained trace of ``wl``, from the on-disk cache when it holds one (key: hash of
    the resolved workload and the trainer's code); otherwise train, record and cache it
    (the file is written under a temporary name, then renamed)."""
    network = network or build_network(wl)
    path = cache_path(wl)
    if path.is_file():
        try:
            trace = load_trace(path, expect=network)
            trace.meta["cache"] = str(path)
            return trace
        except InputError:
            pass  # an unreadable cache entry is rebuilt, not reported
    trace = trained_trace(wl, network, log=log)
    trace.meta["cache_key"] = cache_key(wl)
    try:
        trace.save(path)
    except OSError:
        pass  # a read-only cache only costs time
    return trace


__all__ = ["SNN", "Schedule", "Optimizer", "train", "train_step", "accuracy", "record_step",
           "record_inference",
           "make_trace", "record_trace", "trained_trace", "surrogate", "surrogate_primitive",
           "cache_path", "cache_key", "code_version"]
