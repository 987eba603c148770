"""The plots of ``neurosim run --out`` (``gantt.svg``, ``noc_links.svg``) as SVG text, drawn
without a plotting library: matplotlib's import and rendering were about 1.4 s of every run
that wrote them (docs/performance.md, "Run plots as SVG"), more than the simulation of a
small workload. The study figures of :mod:`neurosim.plots` stay matplotlib's.

Lengths are pixels of the drawing (``width`` x ``height``); text is placed by an estimate of
its width (:func:`text_width`), since the viewer's font is not known here, so margins are
generous. The output is deterministic: the same plot gives the same bytes.
"""
from __future__ import annotations

from html import escape

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CHAR_WIDTH = 0.62        # mean advance of a character, in em (DejaVu Sans digits: 0.636)

# matplotlib's "viridis" colour map (CC0, van der Walt and Smith) at 17 evenly spaced points
# (``matplotlib.colormaps["viridis"](k / 16)``, checked by tests/test_svg.py); linear
# interpolation between them is within 6/255 of its 256-entry table in every channel
VIRIDIS = ("#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e",
           "#26828e", "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b",
           "#addc30", "#d8e219", "#fde725")


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` at font size ``size`` (pixels)."""
    return CHAR_WIDTH * size * len(text)


def viridis(u: float) -> str:
    """The colour of ``u`` in [0, 1] (clipped) on :data:`VIRIDIS`, as ``#rrggbb``."""
    x = min(max(u, 0.0), 1.0) * (len(VIRIDIS) - 1)
    k = min(int(x), len(VIRIDIS) - 2)
    f = x - k
    a, b = VIRIDIS[k], VIRIDIS[k + 1]
    return "#" + "".join(
        f"{round(int(a[i:i + 2], 16) * (1 - f) + int(b[i:i + 2], 16) * f):02x}"
        for i in (1, 3, 5))


def nice_ticks(hi: float, most: int = 9) -> list:
    """Tick values from 0 to at most ``hi`` at a step of 1, 2, 2.5 or 5 times a power of
    ten, at most ``most`` of them (ints where the step is whole)."""
    if hi <= 0:
        return [0]
    step = 10.0 ** int(f"{hi / most:e}".split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if hi / (m * step) < most:
            step *= m
            break
    n = int(hi / step + 1e-9)
    if step >= 1 and float(step).is_integer():
        return [int(step) * k for k in range(n + 1)]
    return [round(step * k, 10) for k in range(n + 1)]


def tick_labels(ticks: list) -> list:
    """The ticks as text, all with the fewest decimals that show each exactly."""
    d = next((d for d in range(11) if all(abs(round(v, d) - v) < 1e-9 for v in ticks)), 10)
    return [f"{v:.{d}f}" for v in ticks]


class Svg:
    """An SVG document built element by element (coordinates in pixels)."""

    def __init__(self, width: float, height: float):
        self.width, self.height = round(width), round(height)
        self.parts = [f'<rect width="{self.width}" height="{self.height}" fill="white"/>']

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, text: str, size: float, anchor: str = "start",
             baseline: str = "auto", rotate: float = 0.0) -> None:
        """``text`` at (x, y): ``anchor`` start / middle / end, ``baseline`` auto (y is the
        baseline) or central (y is the middle of the text)."""
        extra = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate else ""
        base = "" if baseline == "auto" else f' dominant-baseline="{baseline}"'
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" '
                 f'text-anchor="{anchor}"{base}{extra}>{escape(text)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.8) -> None:
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="black" stroke-width="{width:g}"/>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str = "none",
             stroke: str = "black", stroke_width: float = 0.8) -> None:
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                 f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width:g}"/>')

    def to_bytes(self) -> bytes:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
                f'font-family="{FONT}">')
        return "\n".join([head, *self.parts, "</svg>", ""]).encode()


__all__ = ["Svg", "VIRIDIS", "nice_ticks", "text_width", "tick_labels", "viridis"]
