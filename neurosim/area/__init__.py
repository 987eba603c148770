"""Area model: per-unit areas (YAML, each with its source) x the components of a config.

>>> from neurosim import area
>>> report = area.compute_area(arch)
>>> report.total_mm2, report.by_class["sram"]

Separate from timing: no timing model imports this package (docs/area.md).
"""
from .budget import check_budgets, fpga_parts, part_memory_kib, sram_kib
from .model import CLASSES, AreaReport, compute_area
from .table import AreaTable, area_scale, load_area_table

__all__ = ["compute_area", "AreaReport", "AreaTable", "load_area_table", "area_scale",
           "check_budgets", "fpga_parts", "part_memory_kib", "sram_kib", "CLASSES"]
