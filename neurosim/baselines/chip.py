"""The chip side of the GPU comparison: DRAM bytes per tensor kind from the chip simulator.

``neurosim.api.run(arch, workload, overrides=(), out_dir=None) -> RunResult`` is the chip
model's entry point; its ``.summary`` holds ``dram_read_bytes_<kind>`` and
``dram_write_bytes_<kind>`` for every kind of :data:`neurosim.timing.TENSOR_KINDS`.
"""
from __future__ import annotations

from ..errors import InputError
from ..timing import TENSOR_KINDS

# The chip's DRAM energy, if its summary reports it (joules), under one of these keys.
CHIP_DRAM_ENERGY_KEYS = ("energy_dram_j", "dram_energy_j")


def chip_run(arch, workload, overrides=()):
    """The chip simulator's RunResult for one training step."""
    from ..api import run

    return run(arch, workload, overrides=tuple(overrides or ()))


def chip_dram_traffic(arch, workload, overrides=()) -> dict:
    """kind -> (read bytes, write bytes) of one training step on the chip."""
    return dram_by_kind(chip_run(arch, workload, overrides).summary)


def dram_by_kind(summary) -> dict:
    out = {}
    for k in TENSOR_KINDS:
        r, w = f"dram_read_bytes_{k}", f"dram_write_bytes_{k}"
        if r not in summary or w not in summary:
            raise InputError("chip run summary", r, "dram_read_bytes_<kind> and "
                             "dram_write_bytes_<kind> for every tensor kind", "missing")
        out[k] = (int(summary[r]), int(summary[w]))
    return out


def chip_dram_energy_j(summary):
    for k in CHIP_DRAM_ENERGY_KEYS:
        if k in summary:
            return float(summary[k])
    return None
