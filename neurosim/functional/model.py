"""BPTT training of an SNN on the chip's datapath (functional, value-exact) and on a float32
reference, from the same data and initialisation.

The chip datapath (:class:`ChipDatapath`) computes every value in ``core.precision`` in the
order the engines do (``fp_engine``, ``bp_engine``, ``wg_engine``); the reference
(:class:`Float32Datapath`) does the same algebra with numpy float32 matrix products. One
:class:`Trainer` drives either, so the two differ only in arithmetic.

Scope: networks of linear layers in a chain (the functional model does not do conv yet);
one part per layer (with output-split mappings the chip would also sum partial g(S_in)
vectors in part order, which is not modelled here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..params import Config
from . import bp_engine, fp_engine, wg_engine
from .data import batches, encode, init_weights, load_dataset
from .numerics import CODES, INT_BITS, pow2_scale, round_array


def surrogate(U: np.ndarray, shape: str, width: float, v_th: float) -> np.ndarray:
    """sg(U): rectangular 1/a inside |U-V_th| < a/2; triangle (1/a)max(0, 1-|U-V_th|/a);
    sigmoid (4/a)s(1-s) with s = sigmoid(4(U-V_th)/a); atan (1/a)/(1+(pi(U-V_th)/a)^2)."""
    x = U - v_th
    if shape == "rectangular":
        return np.where(np.abs(x) < width / 2, 1.0 / width, 0.0)
    if shape == "triangle":
        return np.maximum(0.0, 1.0 - np.abs(x) / width) / width
    if shape == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-4.0 * x / width))
        return 4.0 / width * s * (1.0 - s)
    return 1.0 / width / (1.0 + (math.pi * x / width) ** 2)


# --------------------------------------------------------------------------- datapaths


class Float32Datapath:
    """The float32 reference: same equations, numpy float32, no ordering constraints."""

    name = "float32-reference"

    def __init__(self, n_layers: int):
        self.n_layers = n_layers

    def fmt(self, a, kind="u", layer=0):
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    def set_grad_scale(self, g_max):
        pass

    def accumulate(self, layer, W, x, binary):
        return (x.astype(np.float32) @ W.astype(np.float32)).astype(np.float64)

    def lif(self, U_prev, S_prev, I, beta, v_th, soft):
        f = np.float32
        if soft:
            U = f(beta) * U_prev.astype(f) + I.astype(f) - f(v_th) * S_prev.astype(f)
        else:
            U = f(beta) * (U_prev * (1.0 - S_prev)).astype(f) + I.astype(f)
        return U.astype(np.float64), (U >= f(v_th)).astype(np.float64)

    def delta(self, layer, gS, sg, gU_next, S, beta):
        f = np.float32
        g = gS.astype(f) * sg.astype(f) + f(beta) * gU_next.astype(f) * (1.0 - S).astype(f)
        return g.astype(np.float64)

    def transposed(self, layer, W, gU):
        return (gU.astype(np.float32) @ W.astype(np.float32).T).astype(np.float64)

    def wg(self, layer, gW, xs, gUs, binary):
        T, B = xs.shape[:2]
        x = xs.reshape(T * B, -1).astype(np.float32)
        g = gUs.reshape(T * B, -1).astype(np.float32)
        gW += (x.T @ g).astype(np.float64)
        gW[...] = gW.astype(np.float32)

    def update(self, layer, W, gW, M, neg_lr, mu, momentum):
        f = np.float32
        if momentum:
            M[...] = (f(mu) * M.astype(f) + gW.astype(f)).astype(np.float64)
            gW = M
        W[...] = (W.astype(f) + f(neg_lr) * gW.astype(f)).astype(np.float64)


class ChipDatapath:
    """The chip's engines in ``precision``: every operation rounded, hardware order."""

    def __init__(self, precision: str, n_layers: int, w_max: list, v_th: float, batch: int,
                 time_steps: int):
        self.name = f"chip-{precision}"
        self.code = CODES[precision]
        self.is_int = self.code in INT_BITS
        # Shift-based fixed-point steps for the int formats (1.0 for floats, unused).
        self.sw = [pow2_scale(2.0 * m, self.code) for m in w_max]
        self.su = pow2_scale(4.0 * v_th, self.code)
        self.sg = 1.0
        self.sgw = 1.0
        self.bt = batch * time_steps

    def set_grad_scale(self, g_max):
        """Int formats: gradient step from the loss gradient's magnitude (per step)."""
        if self.is_int:
            self.sg = pow2_scale(2.0 * g_max, self.code)
            self.sgw = pow2_scale(2.0 * g_max * math.sqrt(self.bt), self.code)

    def fmt(self, a, kind="u", layer=0):
        scale = {"w": self.sw[layer], "u": self.su, "g": self.sg, "gw": self.sgw}[kind]
        return round_array(np.ascontiguousarray(a, dtype=np.float64), self.code, scale)

    def accumulate(self, layer, W, x, binary):
        return fp_engine.accumulate(W, np.ascontiguousarray(x), binary, self.code,
                                    self.sw[layer], self.su)

    def lif(self, U_prev, S_prev, I, beta, v_th, soft):
        return fp_engine.lif(U_prev, S_prev, I, float(self.fmt([beta])[0]),
                             float(self.fmt([v_th])[0]), soft, self.code, self.su)

    def delta(self, layer, gS, sg, gU_next, S, beta):
        return bp_engine.delta(gS, sg, gU_next, S, float(self.fmt([beta])[0]), self.code,
                               self.sg)

    def transposed(self, layer, W, gU):
        return bp_engine.transposed(W, gU, self.code, self.sg)

    def wg(self, layer, gW, xs, gUs, binary):
        T, B = xs.shape[:2]
        for b in range(B):                  # samples ascending,
            for t in range(T - 1, -1, -1):  # time steps descending (BP program order)
                wg_engine.accumulate(gW, xs[t, b], gUs[t, b], binary, self.code, self.sgw)

    def update(self, layer, W, gW, M, neg_lr, mu, momentum):
        nl = float(round_array(np.array([neg_lr]), self.code, 1.0)[0]) if not self.is_int \
            else neg_lr
        wg_engine.update(W, gW, M, nl, float(self.fmt([mu], "gw")[0]) if momentum else 0.0,
                         momentum, self.code, self.sw[layer], self.sgw)


# --------------------------------------------------------------------------- trainer


@dataclass
class StepResult:
    step: int
    loss: float
    train_acc: float
    masks: list = field(default_factory=list)  # per layer: dict of bool arrays (B, T, n)


class Trainer:
    """BPTT on a datapath. Weights are ``(n_in, n_out)`` per layer."""

    def __init__(self, wl: Config, network, datapath, weights: list):
        self.wl, self.net, self.dp = wl, network, datapath
        n = wl.network.neuron
        self.beta, self.v_th, self.soft = n.beta, n.v_th, n.reset == "soft"
        self.sg_shape, self.sg_width = wl.network.surrogate.shape, wl.network.surrogate.width
        self.loss_type = wl.loss.type
        opt = wl.optimizer
        self.lr, self.mu, self.momentum = opt.lr, opt.momentum, opt.type == "momentum"
        self.W = [datapath.fmt(w, "w", i) for i, w in enumerate(weights)]
        self.M = [np.zeros_like(w) for w in self.W]
        self.binary_in = [hl.in_binary for hl in network.layers]

    def forward(self, x_seq: np.ndarray):
        """x_seq (T, B, n_in) -> per layer (inputs, U, S), each (T, B, n)."""
        T, B = x_seq.shape[:2]
        dp = self.dp
        recs = []
        inp = x_seq if self.binary_in[0] else np.stack([dp.fmt(x, "u") for x in x_seq])
        for li, W in enumerate(self.W):
            n = W.shape[1]
            U = np.zeros((T, B, n))
            S = np.zeros((T, B, n))
            u_prev, s_prev = np.zeros((B, n)), np.zeros((B, n))
            for t in range(T):
                I = dp.accumulate(li, W, inp[t], self.binary_in[li])
                u_prev, s_prev = dp.lif(u_prev, s_prev, I, self.beta, self.v_th, self.soft)
                U[t], S[t] = u_prev, s_prev
            recs.append((inp, U, S))
            inp = S
        return recs

    def loss_grad(self, counts: np.ndarray, y: np.ndarray, T: int):
        """(loss, g(S_out[t]) for every t) from output spike counts."""
        onehot = np.eye(counts.shape[1])[y]
        if self.loss_type == "mse_count":
            rate = counts / T
            loss = float(np.mean(np.sum((rate - onehot) ** 2, axis=1)))
            return loss, 2.0 * (rate - onehot) / T
        z = counts - counts.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss = float(np.mean(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-300))))
        return loss, (p - onehot).astype(np.float32).astype(np.float64)

    def step(self, x_seq: np.ndarray, y: np.ndarray, step: int, record: bool = False):
        dp = self.dp
        T, B = x_seq.shape[:2]
        recs = self.forward(x_seq)
        counts = recs[-1][2].sum(axis=0)
        loss, g = self.loss_grad(counts, y, T)
        dp.set_grad_scale(float(np.abs(g).max()))
        gS = np.broadcast_to(dp.fmt(g, "g"), (T, B, g.shape[1])).copy()
        gWs = [np.zeros_like(w) for w in self.W]
        masks = []
        for li in range(len(self.W) - 1, -1, -1):
            inp, U, S = recs[li]
            sg = np.stack([dp.fmt(surrogate(U[t], self.sg_shape, self.sg_width, self.v_th), "g")
                           for t in range(T)])
            gU = np.zeros_like(U)
            g_next = np.zeros(U.shape[1:])
            for t in range(T - 1, -1, -1):
                g_next = dp.delta(li, gS[t], sg[t], g_next, S[t], self.beta)
                gU[t] = g_next
            if li > 0:
                gS = np.stack([dp.transposed(li, self.W[li], gU[t]) for t in range(T)])
            dp.wg(li, gWs[li], inp, gU, self.binary_in[li])
            if record:
                masks.append({"in_mask": inp != 0, "out_spikes": S != 0, "sg_mask": sg != 0,
                              "gu_mask": gU != 0, "gu_values": gU})
        neg_lr = -self.lr / B
        for li in range(len(self.W)):
            self.dp.update(li, self.W[li], gWs[li], self.M[li], neg_lr, self.mu, self.momentum)
        acc = float(np.mean(np.argmax(counts, axis=1) == y))
        return StepResult(step, loss, acc, masks[::-1])

    def predict(self, x_seq: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x_seq)[-1][2].sum(axis=0), axis=1)


def check_functional(wl: Config, network) -> None:
    """The functional model's scope: a chain of linear layers."""
    for i, hl in enumerate(network.layers):
        if hl.kind != "linear":
            raise InputError(wl.origin, "network.layers", "linear layers only (the functional "
                             "datapath does not model conv yet)", hl.kind)
        if len(hl.edges) != 1 or hl.edges[0].src != (network.layers[i - 1].name if i else
                                                       "input"):
            raise InputError(wl.origin, f"network.layers ({hl.name})", "a chain of layers, "
                             "each fed by the previous one", "a branching network")
    if wl.loss.type == "ce_membrane":
        raise InputError(wl.origin, "loss.type", "ce_count or mse_count (the functional "
                         "trainer does not do ce_membrane)", "ce_membrane")
    if wl.network.input.coding == "dvs":
        raise InputError(wl.origin, "network.input.coding", "rate or direct for the digits "
                         "data set", "dvs")


def make_pair(arch: Config, wl: Config, network, seed: int | None = None):
    """(chip trainer, float32 reference trainer, data) with identical initial weights."""
    check_functional(wl, network)
    seed = wl.get("traces.seed", 0) if seed is None else seed
    Xtr, ytr, Xte, yte = load_dataset(wl.get("traces.dataset", "digits"), seed, wl)
    if Xtr.shape[1] != network.layers[0].n_in:
        raise InputError(wl.origin, "network.input.shape", f"[{Xtr.shape[1]}] for the digits "
                         "data set", list(network.input_shape))
    W0 = init_weights(network, seed)
    chip = ChipDatapath(arch.core.precision, len(W0), [float(np.abs(w).max()) for w in W0],
                        wl.network.neuron.v_th, network.batch, network.time_steps)
    ref = Float32Datapath(len(W0))
    return (Trainer(wl, network, chip, W0), Trainer(wl, network, ref, W0),
            (Xtr, ytr, Xte, yte), seed)


def divergence(a: Trainer, b: Trainer) -> tuple[float, float]:
    """(max |W_a - W_b|, ||W_a - W_b|| / ||W_b||) over all layers."""
    mx = max(float(np.abs(x - y).max()) for x, y in zip(a.W, b.W))
    num = math.sqrt(sum(float(((x - y) ** 2).sum()) for x, y in zip(a.W, b.W)))
    den = math.sqrt(sum(float((y ** 2).sum()) for y in b.W))
    return mx, num / den if den else float("nan")


def run(arch: Config, wl: Config, network, steps: int, eval_every: int = 10, hook=None,
        seed: int | None = None):
    """Train both models ``steps`` steps; yields one dict per step."""
    chip, ref, (Xtr, ytr, Xte, yte), seed = make_pair(arch, wl, network, seed)
    T, B = network.time_steps, network.batch
    enc_rng = np.random.RandomState(seed + 3)
    test_rng_seed = seed + 4
    coding = wl.network.input.coding

    def test_acc(tr: Trainer) -> float:
        x = encode(Xte, coding, T, np.random.RandomState(test_rng_seed))
        return float(np.mean(tr.predict(x) == yte))

    for s, idx in enumerate(batches(len(ytr), B, steps, seed)):
        x = encode(Xtr[idx], coding, T, enc_rng)
        rc = chip.step(x, ytr[idx], s, record=hook is not None)
        rr = ref.step(x, ytr[idx], s)
        row = {"step": s, "loss": rc.loss, "train_acc": rc.train_acc, "ref_loss": rr.loss,
               "ref_train_acc": rr.train_acc}
        row["w_max_abs_diff"], row["w_rel_diff"] = divergence(chip, ref)
        last = s == steps - 1
        if last or (eval_every and (s + 1) % eval_every == 0):
            row["test_acc"], row["ref_test_acc"] = test_acc(chip), test_acc(ref)
        if hook is not None:
            row.update(hook(s, rc))
        yield row
