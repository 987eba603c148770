"""Area tables: per-unit silicon area in YAML, with a source for every entry (docs/area.md).

A table has ``entries: {name: {value, unit, class, source, derivation}}`` (logic cells, DRAM
I/O coefficients) and ``sram_banks``: the area of one SRAM bank by ports, word width (bits)
and capacity (KiB), as CACTI 7 printed it at the table's node. The bundled ``28nm`` table is
the only one; when ``chip.technology_nm`` differs, logic and SRAM areas scale with the square
of the node ratio (classical scaling) and DRAM I/O areas do not scale (pads and drivers are
sized by the off-chip load, not by the node).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .. import yamlio
from ..params import Config

BUNDLED = ("28nm",)
NODE_RANGE_NM = (7, 130)          # where classical area scaling is stated (docs/area.md)
SCALED_CLASSES = ("logic", "sram")


@lru_cache(maxsize=None)
def bundled_raw(name: str = "28nm") -> dict:
    text = resources.files("neurosim").joinpath(f"data/area/{name}.yaml").read_text()
    return yamlio.safe_load(text)


def area_scale(from_nm: float, to_nm: float) -> float:
    """Multiplier that takes a logic or SRAM area at ``from_nm`` to ``to_nm``."""
    return (to_nm / from_nm) ** 2


@dataclass
class AreaTable:
    """A resolved table at the chip's node: plain floats by entry name, and the SRAM grid."""

    name: str
    technology_nm: float
    values: dict                        # entry -> float, in the entry's unit
    info: dict                          # entry -> {unit, class, source, derivation}
    sram_grid: dict                     # ports -> width_bits -> [(kib, mm2), ...] sorted
    sram_info: dict                     # {unit, class, source, derivation}
    sources: dict = field(default_factory=dict)
    scaled_from_nm: float | None = None

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def sram_bank_mm2(self, bank_kib: float, width_bits: int, ports: int) -> float:
        """mm2 of one bank: log-log interpolation in capacity between the CACTI points of the
        nearest grid widths (linear between them in width, and beyond the widest; a word
        narrower than the grid costs the narrowest point's area; outside the grid's
        capacities the end segment's slope extends the curve); more ports than the grid has scale the widest
        port count's area linearly per port (an extrapolation, docs/area.md)."""
        top = max(self.sram_grid)
        p = min(ports, top)
        area = self._width_interp(self.sram_grid[p], bank_kib, width_bits)
        if ports > top:
            area *= ports / top
        return area

    @staticmethod
    def _kib_interp(points, kib: float) -> float:
        if kib <= points[0][0]:
            (x0, y0), (x1, y1) = points[0], points[1]
        elif kib >= points[-1][0]:
            (x0, y0), (x1, y1) = points[-2], points[-1]
        else:
            i = next(i for i in range(1, len(points)) if points[i][0] >= kib)
            (x0, y0), (x1, y1) = points[i - 1], points[i]
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        return y0 * (kib / x0) ** slope

    def _width_interp(self, by_width: dict, kib: float, width: float) -> float:
        widths = sorted(by_width)
        if width <= widths[0]:       # narrower than the grid: the narrowest point's area
            return self._kib_interp(by_width[widths[0]], kib)
        if width >= widths[-1]:
            lo, hi = widths[-2], widths[-1]
        else:
            hi = next(w for w in widths if w >= width)
            lo = widths[widths.index(hi) - 1]
        a_lo = self._kib_interp(by_width[lo], kib)
        a_hi = self._kib_interp(by_width[hi], kib)
        return a_lo + (a_hi - a_lo) * (width - lo) / (hi - lo)


def load_area_table(arch: Config) -> AreaTable:
    """The bundled table, scaled to ``chip.technology_nm`` (an InputError outside the range
    of the scaling rule)."""
    raw = bundled_raw("28nm")
    node = float(raw["technology_nm"])
    chip_node = arch.chip.technology_nm
    values, info = {}, {}
    for name, e in raw["entries"].items():
        values[name] = float(e["value"])
        info[name] = {k: v for k, v in e.items() if k != "value"}
    banks = raw["sram_banks"]
    grid = {int(p): {int(w): sorted((float(k), float(a)) for k, a in pts.items())
                     for w, pts in by_w.items()}
            for p, by_w in banks["ports"].items()}
    scaled_from = None
    if chip_node != node:
        if not NODE_RANGE_NM[0] <= chip_node <= NODE_RANGE_NM[1]:
            raise arch.error("chip.technology_nm", f"a node in {NODE_RANGE_NM[0]}.."
                             f"{NODE_RANGE_NM[1]} nm (the range of the area scaling rule)",
                             chip_node)
        k = area_scale(node, chip_node)
        for name in values:
            if info[name].get("class") in SCALED_CLASSES and info[name].get("unit") == "um2":
                values[name] *= k
        grid = {p: {w: [(kib, a * k) for kib, a in pts] for w, pts in by_w.items()}
                for p, by_w in grid.items()}
        scaled_from = node
    sram_info = {k: v for k, v in banks.items() if k != "ports"}
    return AreaTable(name=raw["name"], technology_nm=chip_node, values=values, info=info,
                     sram_grid=grid, sram_info=sram_info, sources=dict(raw.get("sources") or {}),
                     scaled_from_nm=scaled_from)
