"""BPTT training on the chip's datapath (functional, value-exact) beside the float32 trainer.

The reference *is* the built-in trainer (:mod:`neurosim.workload.trainer`) run in float32:
its :class:`~neurosim.workload.trainer.SNN`, :class:`~neurosim.workload.trainer.Optimizer`
and :class:`~neurosim.workload.trainer.Schedule` (data set, split, calibration batch, batch
order, input coding, test-set coding), so a full run reproduces ``train(wl,
dtype=np.float32)`` bit for bit. The chip model :class:`ChipSNN` is the same network (the
trainer's op graph, pooling, residual adds, loss and prediction) with the arithmetic of the
weighted layers replaced by the engines' (``fp_engine``, ``bp_engine``, ``wg_engine``): every
value in ``core.precision``, rounded after each operation, in the engines' order. Both
start from the same calibrated initial weights and see the same coded inputs, so they differ
only in arithmetic.

Scope: one part per layer and no data-parallel replicas (an output-split mapping would also
sum partial g(S_in) vectors in part order; replicas would reorder the g(W) sums).
"""
from __future__ import annotations

import math

import numpy as np

from ..arch import grad_precision, update_precision
from ..params import Config
from ..workload.trainer import SNN, Optimizer, Schedule, accuracy, surrogate, train_step
from . import bp_engine, fp_engine, wg_engine
from .numerics import CODES, FP32, INT_BITS, pow2_scale, round_array


class Numerics:
    """The chip's number formats: codes and (int formats only) power-of-two scales.

    Kinds: ``w`` weights (per layer), ``u`` potentials, currents and multi-level inputs,
    ``g`` g(S) and g(U), ``gw`` weight-gradient accumulators and momentum. Int formats are
    shift-based fixed point (after IntegerNet): weights from 2x the initial max |W|,
    potentials from 4 V_th, gradients from 2x the step's max loss gradient (accumulators x
    sqrt(B T)). Float formats ignore the scales."""

    def __init__(self, arch: Config, wl: Config, weights: dict):
        self.precision = arch.core.precision
        self.code = CODES[self.precision]
        self.grad_code = CODES[grad_precision(arch)]
        self.update_code = CODES[update_precision(arch)]
        master = arch.core.wg.master_weights
        self.master = master != "none"
        self.stored_code = CODES[master] if self.master else self.code
        self.stochastic = arch.core.wg.update_rounding == "stochastic"
        v_th = float(wl.network.neuron.v_th)
        self.sw = {k: pow2_scale(2.0 * float(np.abs(w).max()), self.code)
                   for k, w in weights.items()}
        self.su = pow2_scale(4.0 * v_th, self.code)
        self.sg = self.sgw = 1.0
        self.bt = int(wl.traces.train_batch) * int(wl.time_steps)

    def set_grad_scale(self, g_max: float) -> None:
        """Int formats: gradient steps from the loss gradient's magnitude (per step)."""
        if self.code in INT_BITS:
            self.sg = pow2_scale(2.0 * g_max, self.code)
        if self.grad_code in INT_BITS:
            self.sgw = pow2_scale(2.0 * g_max * math.sqrt(self.bt), self.grad_code)

    def of(self, kind: str, layer: str | None = None) -> tuple:
        """(code, scale) of a kind of value."""
        if kind == "w":
            return self.code, self.sw[layer]
        if kind == "gw":
            return self.grad_code, self.sgw
        return self.code, self.su if kind == "u" else self.sg

    def fmt(self, a, kind: str, layer: str | None = None) -> np.ndarray:
        code, scale = self.of(kind, layer)
        return round_array(np.ascontiguousarray(a, dtype=np.float64), code, scale)

    def scalar(self, v: float, kind: str = "u", layer: str | None = None) -> float:
        return float(self.fmt(np.array([v]), kind, layer)[0])


class ChipSNN(SNN):
    """The trainer's network with the chip engines' arithmetic in the weighted layers."""

    def __init__(self, wl: Config, network, num: Numerics, weights: dict):
        super().__init__(wl, network, seed=0, dtype=np.float64)
        self.num = num
        self.weights = {k: num.fmt(w, "w", k) for k, w in weights.items()}
        self.beta_f = num.scalar(self.beta)
        self.v_th_f = num.scalar(self.v_th)

    def forward(self, x, relaxed=False, reset_masks=None, calibrate=False):
        if relaxed or reset_masks is not None or calibrate:
            raise ValueError("the chip datapath has no relaxed, reset-mask or calibration pass")
        return super().forward(self.num.fmt(x, "u"))

    def _fmt(self, a, kind):
        return self.num.fmt(a, "u" if kind == "value" else "g")

    def _current(self, op, x):
        return fp_engine.current(x, self.weights[op.name], op.type == "conv2d", op.stride,
                                 op.padding, self.num.of("u"))

    def _lif(self, current, relaxed, reset_mask):
        code, su = self.num.of("u")
        t_steps, shape = current.shape[0], current.shape[1:]
        flat = current.reshape(t_steps, shape[0], -1)
        u, s = np.empty_like(flat), np.empty_like(flat)
        u_prev, s_prev = np.zeros_like(flat[0]), np.zeros_like(flat[0])
        for t in range(t_steps):
            u_prev, s_prev = fp_engine.lif(u_prev, s_prev, flat[t], self.beta_f, self.v_th_f,
                                           self.reset == "soft", code, su)
            u[t], s[t] = u_prev, s_prev
        return u.reshape(current.shape), s.reshape(current.shape)

    def _lif_backward(self, g_s, u, s, extra):
        code, scale = self.num.of("g")
        sg = self.num.fmt(surrogate(u - self.v_th_f, self.sg_shape, self.sg_width), "g")
        t_steps, b = u.shape[:2]

        def flat(a):
            return np.ascontiguousarray(a).reshape(t_steps, b, -1)

        gs, sgf, sf = flat(g_s), flat(sg), flat(s)
        ex = flat(extra) if extra is not None else np.zeros_like(gs)
        g_u = np.empty_like(gs)
        nxt = np.zeros_like(gs[0])
        for t in range(t_steps - 1, -1, -1):
            nxt = bp_engine.delta(gs[t], sgf[t], nxt, sf[t], ex[t], self.beta_f,
                                  self.reset == "soft", code, scale)
            g_u[t] = nxt
        return g_u.reshape(u.shape)

    def _weight_and_input_grad(self, op, x, g_u, input_grad=True):
        w = self.weights[op.name]
        conv = op.type == "conv2d"
        g_in = bp_engine.transposed(w, g_u, x.shape, conv, op.stride, op.padding,
                                    self.num.of("g")) if input_grad else None
        g_w = np.zeros_like(w)
        wg_engine.accumulate(g_w, x, g_u, conv, op.stride, op.padding, self.num.of("gw"))
        return g_w, g_in

    def loss(self, fw, labels):
        """The LOSS tile: the trainer's loss on the chip's values (its special-function
        unit is taken as exact), the gradient rounded to the format."""
        losses, g_s, g_u = super().loss(fw, labels)
        self.num.set_grad_scale(max(float(np.abs(g_s).max()), float(np.abs(g_u).max())))
        return losses, self.num.fmt(g_s, "g"), self.num.fmt(g_u, "g")


class ChipUpdate:
    """The UPD tiles (wg_engine.update): the chip's counterpart of the trainer's Optimizer."""

    def __init__(self, wl: Config, num: Numerics, weights: dict, seed: int):
        o = wl.optimizer
        self.lr, self.momentum, self.mu = float(o.lr), o.type == "momentum", float(o.momentum)
        self.num = num
        self.velocity = {k: np.zeros_like(v) for k, v in weights.items()}
        # The master copy starts from the host's initial weights in the master format.
        self.master = {k: round_array(np.ascontiguousarray(v, dtype=np.float64), FP32, 1.0)
                       for k, v in weights.items()} if num.master else {}
        self.rng = np.random.default_rng([seed, 0x5B0])  # stochastic rounding's random bits

    def step(self, weights: dict, grads: dict, batch: int) -> None:
        """Update in place; ``self.lost`` is then the fraction of weights with a nonzero
        gradient whose stored value (master copy if any) did not change: updates that
        vanished in rounding."""
        n = self.num
        cu = n.update_code
        nonzero = lost = 0
        for k, g in grads.items():
            w = weights[k]
            before = (self.master[k] if n.master else w).copy()
            sw = n.sw[k]
            draws = self.rng.random(w.size) if n.stochastic else np.empty(0)
            wm = self.master[k] if n.master else np.empty(0)
            neg_lr_b = float(round_array(np.array([-self.lr / batch]), cu, 1.0)[0]) \
                if cu not in INT_BITS else -self.lr / batch
            neg_lr = float(round_array(np.array([-self.lr]), cu, 1.0)[0]) \
                if cu not in INT_BITS else -self.lr
            inv_b = float(round_array(np.array([1.0 / batch]), n.grad_code, 1.0)[0]) \
                if n.grad_code not in INT_BITS else 1.0 / batch
            mu = n.scalar(self.mu, "gw") if self.momentum else 0.0
            wg_engine.update(w.reshape(-1), np.ascontiguousarray(g).reshape(-1),
                             self.velocity[k].reshape(-1), wm.reshape(-1), neg_lr_b, neg_lr,
                             inv_b, mu, self.momentum, n.master, draws, n.code, sw,
                             n.stored_code, cu, n.grad_code, n.sgw)
            moved = (self.velocity[k] != 0) if self.momentum else (g != 0)
            nonzero += int(moved.sum())
            lost += int((moved & ((self.master[k] if n.master else w) == before)).sum())
        self.lost = lost / nonzero if nonzero else 0.0


def calibrated_reference(wl: Config, network, schedule: Schedule) -> SNN:
    """The float32 trainer's model with the trainer's initial weights: drawn from
    ``traces.seed``, then rescaled on the schedule's calibration batch (which draws from the
    schedule's random stream, as the trainer does)."""
    ref = SNN(wl, network, schedule.seed, np.float32)
    x0 = schedule.calibration_input()
    if x0 is not None:
        ref.forward(x0, calibrate=True)  # the trainer's initialisation
    return ref


class Pair:
    """The chip model and the float32 trainer, set up from one schedule."""

    def __init__(self, arch: Config, wl: Config, network, epochs: int | None = None):
        self.schedule = Schedule(wl, network, epochs)
        seed = self.schedule.seed
        self.ref = calibrated_reference(wl, network, self.schedule)
        self.ref_opt = Optimizer(wl, self.ref.weights)
        w0 = {k: v.astype(np.float64) for k, v in self.ref.weights.items()}
        self.num = Numerics(arch, wl, w0)
        self.chip = ChipSNN(wl, network, self.num, w0)
        self.chip_opt = ChipUpdate(wl, self.num, w0, seed)


def divergence(chip: ChipSNN, ref: SNN) -> tuple[float, float]:
    """(max |W_chip - W_ref|, ||W_chip - W_ref|| / ||W_ref||) over all layers."""
    a = [chip.weights[k] for k in sorted(chip.weights)]
    b = [ref.weights[k].astype(np.float64) for k in sorted(chip.weights)]
    mx = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    num = math.sqrt(sum(float(((x - y) ** 2).sum()) for x, y in zip(a, b)))
    den = math.sqrt(sum(float((y ** 2).sum()) for y in b))
    return mx, num / den if den else float("nan")


def run(arch: Config, wl: Config, network, steps: int | None = None, eval_every: int = 0,
        hook=None, epochs: int | None = None, pair: Pair | None = None):
    """Train both models along the trainer's schedule (``traces.epochs`` epochs of
    ``traces.train_batch``, or ``epochs``), stopping after ``steps`` steps if given; yield one
    dict per step. Test accuracy every ``eval_every`` steps on a test-set coding of its own
    (so the training stream is untouched) and after the last step on the schedule's stream
    (as the trainer's final evaluation). ``hook(step, chip, fw, g_u, y)`` may add entries.
    ``pair``: models set up by the caller (to inspect them afterwards)."""
    from threadpoolctl import threadpool_limits

    pair = pair or Pair(arch, wl, network, epochs)
    sched = pair.schedule
    total = sched.epochs * sched.steps_per_epoch
    steps = total if steps is None else min(steps, total)
    with threadpool_limits(limits=1, user_api="blas"):
        for s, (epoch, idx, x, y) in enumerate(sched.batches()):
            if s >= steps:
                break
            fw, losses, g_u = train_step(pair.chip, pair.chip_opt, x, y)
            rfw, rlosses, _ = train_step(pair.ref, pair.ref_opt, x, y)
            row = {"step": s, "epoch": epoch, "loss": float(losses.mean()),
                   "train_acc": float(np.mean(pair.chip.predict(fw) == y)),
                   "ref_loss": float(rlosses.mean()),
                   "ref_train_acc": float(np.mean(pair.ref.predict(rfw) == y))}
            row["w_max_abs_diff"], row["w_rel_diff"] = divergence(pair.chip, pair.ref)
            row["lost_updates"] = pair.chip_opt.lost
            if s == steps - 1:
                row["test_acc"], row["ref_test_acc"] = accuracy([pair.chip, pair.ref],
                                                                sched.test_inputs())
            elif eval_every and (s + 1) % eval_every == 0:
                rng = np.random.default_rng([sched.seed, 0xE7A1, s])
                row["test_acc"], row["ref_test_acc"] = accuracy([pair.chip, pair.ref],
                                                                sched.test_inputs(rng))
            if hook is not None:
                row.update(hook(s, pair.chip, fw, g_u, y))
            yield row
