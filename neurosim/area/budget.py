"""Budgets a config declares: a die-area budget (``chip.area_budget_mm2``) and, for an FPGA
prototype, the on-chip memory of a named part (``fpga.part``). A config over either is an
input error naming the budget key, the budget and the total (docs/area.md)."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from .. import yamlio
from ..arch import sram_kib_per_core
from ..errors import InputError
from ..params import Config


@lru_cache(maxsize=1)
def fpga_parts() -> dict:
    """The bundled FPGA parts: ``{parts: {name: {bram_blocks, uram_blocks, family}},
    block_kib: {bram, uram}, source}``."""
    text = resources.files("neurosim").joinpath("data/fpga_parts.yaml").read_text()
    return yamlio.safe_load(text)


def part_memory_kib(part: str) -> dict:
    """Kib (kibibits) of block RAM and UltraRAM of a bundled FPGA part."""
    data = fpga_parts()
    p = data["parts"][part]
    return {"bram": p["bram_blocks"] * data["block_kib"]["bram"],
            "uram": p["uram_blocks"] * data["block_kib"]["uram"]}


def sram_kib(arch: Config) -> float:
    """KiB of SRAM of the whole chip (every buffer of every core)."""
    return arch.chip.cores * sram_kib_per_core(arch)


def check_budgets(arch: Config) -> None:
    """Raise an InputError when the config exceeds ``chip.area_budget_mm2`` or the memory
    of ``fpga.part``; nothing to do when neither is set."""
    budget = arch.chip.area_budget_mm2
    if budget is not None:
        from .model import compute_area

        report = compute_area(arch)
        total = report.total_mm2
        if total > budget:
            sram = report.by_class["sram"]
            raise InputError(_budget_source(arch, "chip.area_budget_mm2"),
                             "chip.area_budget_mm2", f"a chip area within the budget of "
                             f"{budget:g} mm2 (`neurosim area` itemises it)",
                             _Total(f"{total:.2f} mm2, of which SRAM {sram:.2f} mm2"))
    part = arch.fpga.part
    if part is not None:
        parts = fpga_parts()["parts"]
        if part not in parts:
            raise arch.error("fpga.part", "a part listed in neurosim/data/fpga_parts.yaml ("
                             + ", ".join(sorted(parts)) + ")", part)
        mem = part_memory_kib(part)
        have = mem["bram"] + mem["uram"]                  # Kib
        need = sram_kib(arch) * 8                         # KiB -> Kib
        if need > have:
            raise InputError(_budget_source(arch, "fpga.part"), "fpga.part",
                             f"on-chip SRAM within the {have / 1024:g} Mib of "
                             f"block RAM + UltraRAM of {part}",
                             _Total(f"{need / 1024:g} Mib ({arch.chip.cores} cores x "
                                    f"{need / 1024 / arch.chip.cores:g} Mib)"))


def _budget_source(arch: Config, key: str) -> str:
    """Where a budget that the config exceeds came from, and the overrides that may have
    made it exceed it: ``FILE with --set KEY, ...`` (the budget is the file's, what broke
    it the command line's)."""
    source = arch.source_of(key)
    others = [k for k in arch.overrides() if k != key]
    if source == "--set" or not others:
        return source
    return f"{source} with --set {', '.join(others)}"


class _Total(str):
    """A total printed as is in an error message (not quoted)."""

    def __repr__(self) -> str:
        return str(self)
