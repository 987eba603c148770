"""Energy model: per-action energy tables (YAML) x counted events + leakage x time.

>>> from neurosim import energy
>>> report = energy.compute(arch, network, timing_result, seconds)
>>> report.summary["tflops_per_w_dense"]
"""
from .model import (CLASSES, EnergyReport, Pricer, compute, dense_flops, executed_flops,
                    leakage_energy)
from .table import EnergyTable, dram_type, load_table

__all__ = ["compute", "EnergyReport", "EnergyTable", "load_table", "dram_type", "dense_flops",
           "executed_flops", "CLASSES", "Pricer", "leakage_energy"]
