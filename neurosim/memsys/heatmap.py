"""The link utilisation heat map of the cycle-level NoC (``neurosim run --out DIR`` writes it
as ``noc_links.svg``; ``docs/noc.md``): the mesh of ``docs/microarchitecture.md`` 6.1 drawn
as SVG (:mod:`neurosim.svg`)."""
from __future__ import annotations

from .topology import Mesh

PITCH = 132             # pixels between neighbouring routers
HALF = 0.16             # half the size of a router square (mesh pitch 1)
# a link's arrow from its start, in (along the link, to its right) units of the pitch: a
# shaft 0.05 wide, a head 0.11 wide and 0.09 long, the head inside the length
_LENGTH = 1 - 2 * HALF - 0.06
_ARROW = [(0, 0.025), (_LENGTH - 0.09, 0.025), (_LENGTH - 0.09, 0.055), (_LENGTH, 0),
          (_LENGTH - 0.09, -0.055), (_LENGTH - 0.09, -0.025), (0, -0.025)]


def _arrows(links):
    """Each link's arrow polygon in data coordinates, 0.07 to the right of the line between
    its routers (so the two directions of a link lie side by side)."""
    import numpy as np

    a = np.array([link["from"] for link in links], float)
    d = np.array([link["to"] for link in links], float) - a          # unit steps
    right = np.stack([-d[:, 1], d[:, 0]], axis=1)
    start = a + d * (HALF + 0.03) + right * 0.07
    shape = np.array(_ARROW)
    return (start[:, None, :] + shape[None, :, :1] * d[:, None, :]
            + shape[None, :, 1:] * right[:, None, :])


def link_heatmap_svg(noc: dict, mesh: Mesh, title: str = "") -> bytes:
    """``neurosim run --out`` with the cycle-level NoC: the mesh with every directed
    router-to-router link drawn as an arrow coloured by its utilisation (flits / cycles, from
    ``TimingResult.extra["memsys"]["noc"]["links"]``); the two directions of a link side by
    side (each on its right-hand side of the line between the routers). Returns SVG bytes."""
    from ..svg import VIRIDIS, Svg, nice_ticks, text_width, tick_labels, viridis

    links = noc["links"]
    util = [link["utilization"] for link in links]
    top_util = max(util, default=0.0) or 1.0     # (no busy link: a scale of 0 to 1)
    cols, rows = mesh.cols, mesh.rows
    title = title or "NoC link utilisation"
    bar_label = "link utilisation (flits / cycle)"
    # font sizes and margins in pixels; the map at PITCH per router, the colour bar at 0.8
    # of its height (at least its label's length) to its right; a title wider than the
    # map passes above the colour bar
    title_px, tick_px, label_px, node_px, tick_len, pad = 12, 12, 12, 9, 5, 6
    ticks = nice_ticks(top_util)
    bar_ticks = tick_labels(ticks)
    map_w, map_h = (cols + 0.2) * PITCH, (rows + 0.2) * PITCH
    ytick_w = text_width(str(rows - 1), tick_px)       # the widest y tick label
    left = pad + label_px + 12 + tick_len + ytick_w + 4
    bottom = pad + label_px + 6 + tick_len + tick_px + 4
    top = pad + title_px + 10
    bar_w, gap = 27.5, 33.0
    right = (gap + bar_w + tick_len + 4 + max(text_width(t, tick_px) for t in bar_ticks)
             + 8 + label_px + pad)
    height = max(map_h, (text_width(bar_label, label_px) + 2 * pad) / 0.8)
    title_w = text_width(title, title_px)
    centre = max(left + map_w / 2, title_w / 2 + pad)
    svg = Svg(max(centre + map_w / 2 + right, centre + title_w / 2 + pad),
              bottom + height + top)
    ox, oy = centre - map_w / 2, top + height - map_h    # the map's top left corner

    def px(x, y):          # mesh coordinates (x east, y south) -> pixels
        return ox + (x + 0.6) * PITCH, oy + (y + 0.6) * PITCH

    svg.text(centre, pad + title_px, title, title_px, anchor="middle")
    for a, u in zip(_arrows(links), util) if links else ():
        pts = " ".join("{:.1f},{:.1f}".format(*px(x, y)) for x, y in a)
        svg.add(f'<polygon points="{pts}" fill="{viridis(u / top_util)}"/>')
    for n in range(mesh.nodes):
        x, y = px(*mesh.xy(n))
        ctrl = n in mesh.dram_nodes
        svg.rect(x - HALF * PITCH, y - HALF * PITCH, 2 * HALF * PITCH, 2 * HALF * PITCH,
                 fill="#f2f2f2", stroke="#c05030" if ctrl else "#555555",
                 stroke_width=2.0 if ctrl else 0.8)
        svg.text(x, y, str(n), node_px, anchor="middle", baseline="central")
    # axes: the frame, x and y ticks at the routers' columns and rows
    svg.rect(ox, oy, map_w, map_h)
    for k in range(cols):
        x, _ = px(k, 0)
        svg.line(x, oy + map_h, x, oy + map_h + tick_len)
        svg.text(x, oy + map_h + tick_len + tick_px, str(k), tick_px, anchor="middle")
    for k in range(rows):
        _, y = px(0, k)
        svg.line(ox - tick_len, y, ox, y)
        svg.text(ox - tick_len - 3, y, str(k), tick_px, anchor="end", baseline="central")
    svg.text(ox + map_w / 2, oy + map_h + tick_len + 2 * tick_px + 6, "x", label_px,
             anchor="middle")
    svg.text(ox - tick_len - 12 - ytick_w, oy + map_h / 2, "y",
             label_px, anchor="middle", rotate=-90)
    # the colour bar: a gradient through the colour map's points, ticks on its right
    bx, bh = centre + map_w / 2 + gap, 0.8 * height
    by = top + 0.1 * height
    stops = "".join(f'<stop offset="{k / (len(VIRIDIS) - 1):.4f}" stop-color="{c}"/>'
                    for k, c in enumerate(VIRIDIS))
    svg.add(f'<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0">{stops}'
            "</linearGradient></defs>")
    svg.rect(bx, by, bar_w, bh, fill="url(#bar)")
    for v, t in zip(ticks, bar_ticks):
        y = by + bh * (1 - v / top_util)
        svg.line(bx + bar_w, y, bx + bar_w + tick_len, y)
        svg.text(bx + bar_w + tick_len + 3, y, t, tick_px, baseline="central")
    lx = bx + bar_w + tick_len + 4 + max(text_width(t, tick_px) for t in bar_ticks) + 8
    svg.text(lx + label_px / 2, by + bh / 2, bar_label, label_px, anchor="middle",
             baseline="central", rotate=-90)
    return svg.to_bytes()


__all__ = ["link_heatmap_svg"]
