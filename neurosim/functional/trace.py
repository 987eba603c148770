"""A neurosim trace of one functional training step (what the timing model consumes)."""
from __future__ import annotations

import numpy as np

from ..workload.trace import LayerTrace, Trace, pack_bits


def step_trace(network, step_result) -> Trace:
    """Bit-packed masks (batch, T, words) from a recorded ``Trainer.step`` (record=True)."""
    layers = []
    for hl, m in zip(network.layers, step_result.masks):
        def packed(a):
            return pack_bits(np.transpose(a, (1, 0, 2)))  # (T, B, n) -> (B, T, n)
        gv = np.transpose(m["gu_values"], (1, 0, 2)).astype(np.float16)
        layers.append(LayerTrace(hl.name, hl.n_in, hl.n_out, packed(m["in_mask"]),
                                 packed(m["out_spikes"]), packed(m["sg_mask"]),
                                 packed(m["gu_mask"]), gv))
    tr = Trace(network, layers, {"source": "functional", "step": step_result.step})
    tr.validate("<functional step>")
    return tr
