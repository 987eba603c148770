"""Bundled data sets for the built-in trainer; nothing is downloaded.

- ``digits``: scikit-learn's 1797 handwritten digits (8x8 pixels, 17 grey levels, 10
  classes), scaled to [0, 1]. Input shape ``[64]`` (a vector, row-major) or ``[1, 8, 8]``.
  Coded per time step as the analog frame (``direct``) or as Poisson spikes with the pixel
  value as the spike probability (``rate``).
- ``digits-dvs``: the same digits turned into a DVS-like event stream with two polarity
  channels (0 = ON, 1 = OFF): each digit sits at the centre of an ``H x W`` canvas and moves
  by up to ``DVS_MARGIN`` pixels around it (random start, direction and speed, bouncing at the
  margin: small eye-movement-like motion as the sensor made for N-MNIST, Orchard et al. 2015,
  underwent) while its brightness flickers; a pixel emits
  an ON (OFF) event in a time step when its log intensity has risen (fallen) by at least
  ``DVS_THRESHOLD`` since its last event, as a DVS pixel does; sparse background-activity
  noise is added. Input shape ``[2, H, W]`` with ``H, W >= 8`` (or a vector ``[2*S*S]``,
  ``S >= 8``); coding ``dvs``. Every draw comes from the workload's seed: deterministic.

Arrays handed to the trainer are in the network's layout: time first, then batch, then the
input in HWC order (``(T, B, H, W, C)`` for maps, ``(T, B, N)`` for vectors).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..jit import njit

N_CLASSES = 10
TEST_FRACTION = 0.2
# DVS model of digits-dvs: a pixel's log-intensity contrast threshold, the dark level that
# keeps log() finite, flicker depth and period, speeds and background-noise rate.
DVS_THRESHOLD = 0.3
DVS_DARK = 0.1
DVS_FLICKER_DEPTH = 0.5
DVS_FLICKER_PERIOD = 4.0
DVS_SPEED = (0.5, 1.2)  # pixels per time step
DVS_MARGIN = 1.5  # pixels the digit may move away from the canvas centre
DVS_NOISE = 0.002  # background events per pixel, polarity and step


@dataclass
class Dataset:
    """A labelled data set, split, with the coding that turns samples into network input."""

    name: str
    coding: str
    input_shape: tuple  # as in the workload: (C, H, W) or (N,)
    time_steps: int
    x_train: np.ndarray  # (n, ...) samples; see encode()
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def hwc_shape(self) -> tuple:
        s = self.input_shape
        return (s[1], s[2], s[0]) if len(s) == 3 else tuple(s)

    def encode(self, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Samples (B, ...) -> network input (T, B, *hwc_shape), float64."""
        b, t = x.shape[0], self.time_steps
        if self.coding == "dvs":  # events are stored per sample as (T, *hwc)
            return np.ascontiguousarray(np.swapaxes(x, 0, 1), dtype=np.float64)
        frame = x.reshape((b,) + self.hwc_shape).astype(np.float64)
        if self.coding == "direct":
            return np.broadcast_to(frame, (t,) + frame.shape).copy()
        # rate: Bernoulli(pixel) per step (Poisson spike train in discrete time)
        return (rng.random((t,) + frame.shape) < frame).astype(np.float64)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) float64 in [0, 1], labels int64): bundled with scikit-learn."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float64) / 16.0, d.target.astype(np.int64)


def make_dataset(wl, network) -> Dataset:
    """The data set named by ``traces.dataset``, checked against the workload's input."""
    name = wl.traces.dataset
    shape = tuple(network.input_shape)
    coding = network.coding
    t = int(wl.time_steps)
    seed = int(wl.traces.seed)
    images, labels = load_digits_images()
    if name == "digits":
        if shape not in ((64,), (1, 8, 8)):
            raise wl.error("network.input.shape", "[64] or [1, 8, 8] for the digits data set",
                           list(shape))
        if coding not in ("direct", "rate"):
            raise wl.error("network.input.coding", "direct or rate for the digits data set "
                           "(use dataset digits-dvs for dvs coding)", coding)
        samples = images
    else:  # digits-dvs
        if coding != "dvs":
            raise wl.error("network.input.coding", "dvs for the digits-dvs data set", coding)
        if len(shape) == 3:
            c, h, w = shape
        else:
            side = int(round(math.sqrt(shape[0] / 2)))
            c, h, w = (2, side, side) if 2 * side * side == shape[0] else (0, 0, 0)
        if c != 2 or h < 8 or w < 8:
            raise wl.error("network.input.shape", "[2, H, W] with H, W >= 8 (or [2*S*S], "
                           "S >= 8) for the digits-dvs data set", list(shape))
        events = digits_to_events(images, h, w, t, seed)  # (n, T, H, W, 2)
        samples = events.reshape((events.shape[0], t) + ((h, w, 2) if len(shape) == 3
                                                         else (h * w * 2,)))
    out_layer = network.output_layer
    if out_layer.n_out != N_CLASSES:
        raise wl.error(f"network.layers[{len(wl.get('network.layers')) - 1}]",
                       f"{N_CLASSES} output neurons (one per digit class)", out_layer.n_out)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    n_test = int(round(TEST_FRACTION * len(labels)))
    test, train = order[:n_test], order[n_test:]
    return Dataset(name, coding, shape, t, samples[train], labels[train], samples[test],
                   labels[test])


def digits_to_events(images: np.ndarray, h: int, w: int, t: int, seed: int) -> np.ndarray:
    """DVS-like ON/OFF events of moving, flickering digits: bool (n, T, H, W, 2)."""
    n = images.shape[0]
    rng = np.random.default_rng([seed, 0xD75])
    size = images.shape[1]
    cy, cx = (h - size) / 2, (w - size) / 2  # top-left corner of a centred digit
    bounds = np.array([cy - DVS_MARGIN, cy + DVS_MARGIN, cx - DVS_MARGIN, cx + DVS_MARGIN])
    pos0 = np.stack([rng.uniform(bounds[0], bounds[1], n), rng.uniform(bounds[2], bounds[3], n)],
                    axis=1)
    angle = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(*DVS_SPEED, n)
    vel = np.stack([speed * np.sin(angle), speed * np.cos(angle)], axis=1)
    phase = rng.uniform(0, 2 * np.pi, n)
    out = np.zeros((n, t, h, w, 2), dtype=np.bool_)
    _render_events(np.ascontiguousarray(images), pos0, vel, phase, bounds, DVS_THRESHOLD, DVS_DARK, DVS_FLICKER_DEPTH,
                   DVS_FLICKER_PERIOD, out)
    out |= rng.random(out.shape) < DVS_NOISE
    return out


@njit(cache=True)
def _bounce(p, lo, hi):
    """Position after reflecting off the walls lo and hi (motion with elastic bounces)."""
    span = hi - lo
    if span <= 0:
        return lo
    q = (p - lo) % (2 * span)
    return lo + (q if q <= span else 2 * span - q)


@njit(cache=True)
def _render_events(images, pos0, vel, phase, bounds, theta, dark, depth, period, out):
    n, size = images.shape[0], images.shape[1]
    t_steps, h, w = out.shape[1], out.shape[2], out.shape[3]
    ref = np.empty((h, w))
    for i in range(n):
        ref[:, :] = math.log(dark)  # the canvas is dark before the first step
        for t in range(t_steps):
            cy = _bounce(pos0[i, 0] + vel[i, 0] * t, bounds[0], bounds[1])
            cx = _bounce(pos0[i, 1] + vel[i, 1] * t, bounds[2], bounds[3])
            gain = 1.0 - depth * 0.5 * (1.0 - math.cos(2 * math.pi * t / period + phase[i]))
            for y in range(h):
                for x in range(w):
                    # bilinear sample of the digit at canvas pixel (y, x)
                    u, v = y - cy, x - cx
                    u0, v0 = math.floor(u), math.floor(v)
                    fu, fv = u - u0, v - v0
                    val = 0.0
                    for du in range(2):
                        for dv in range(2):
                            yy, xx = int(u0) + du, int(v0) + dv
                            if 0 <= yy < size and 0 <= xx < size:
                                wt = (fu if du else 1 - fu) * (fv if dv else 1 - fv)
                                val += wt * images[i, yy, xx]
                    d = math.log(dark + gain * val) - ref[y, x]
                    if d >= theta:
                        out[i, t, y, x, 0] = True
                        ref[y, x] += theta * math.floor(d / theta)
                    elif d <= -theta:
                        out[i, t, y, x, 1] = True
                        ref[y, x] -= theta * math.floor(-d / theta)
