"""The link utilisation heat map of the cycle-level NoC (``neurosim run --out DIR`` writes it
as ``noc_links.png``; ``docs/noc.md``): the mesh of ``docs/microarchitecture.md`` 6.1 drawn
with matplotlib (Agg backend, no display needed)."""
from __future__ import annotations

from .topology import Mesh

DPI = 110
PITCH = 1.2 * DPI       # pixels between neighbouring routers
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


def link_heatmap_png(noc: dict, mesh: Mesh, title: str = "") -> bytes:
    """``neurosim run --out`` with the cycle-level NoC: the mesh with every directed
    router-to-router link drawn as an arrow coloured by its utilisation (flits / cycles, from
    ``TimingResult.extra["memsys"]["noc"]["links"]``); the two directions of a link side by
    side (each on its right-hand side of the line between the routers). Returns PNG bytes."""
    import io

    import numpy as np
    from matplotlib import colormaps, rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    links = noc["links"]
    util = np.array([link["utilization"] for link in links], float)
    norm = Normalize(0.0, max(util.max(initial=0.0), 1e-9))
    cmap = colormaps["viridis"]
    cols, rows = mesh.cols, mesh.rows
    fig = Figure(dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.1, 0.6, 0.8))           # placed below
    cax = fig.add_axes((0.8, 0.1, 0.05, 0.8))
    # one collection for the routers and one for the links (not a patch each: each patch
    # builds its own path and transforms at every draw)
    xy = np.array([mesh.xy(n) for n in range(mesh.nodes)], float)
    ctrl = np.isin(np.arange(mesh.nodes), mesh.dram_nodes)
    ax.add_collection(PolyCollection(
        xy[:, None, :] + HALF * np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]),
        facecolors="#f2f2f2", edgecolors=np.where(ctrl, "#c05030", "#555555"),
        linewidths=np.where(ctrl, 2.0, 0.8), joinstyle="miter", zorder=2), autolim=False)
    for n, (x, y) in enumerate(xy):
        ax.text(x, y, str(n), ha="center", va="center", fontsize=7, zorder=3)
    if links:
        ax.add_collection(PolyCollection(_arrows(links), facecolors=cmap(norm(util)),
                                         edgecolors="face", linewidths=1.0, zorder=1),
                          autolim=False)
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)                     # y grows southwards (spec 6.1)
    ax.set_aspect("equal")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 label="link utilisation (flits / cycle)")
    ax.set_title(title or "NoC link utilisation", fontsize=9)

    # The figure's size and the axes' places from the measured sizes of the labels, in
    # pixels (the constrained layout engine drew the figure twice and left a long title or
    # colour bar label clipped on a small mesh): the map at PITCH per router, the colour
    # bar at 0.8 of its height (at least its label's length) to its right; the map at the
    # top, so a title wider than the map passes above the colour bar.
    r, pt = canvas.get_renderer(), DPI / 72
    pad, tick = 4 * pt, (rcParams["xtick.major.size"] + rcParams["xtick.major.pad"]) * pt

    def size(text):
        box = text.get_window_extent(r)
        return box.width, box.height

    map_w, map_h = (cols + 0.2) * PITCH, (rows + 0.2) * PITCH
    title_w, title_h = size(ax.title)
    left = (pad + size(ax.yaxis.label)[0] + ax.yaxis.labelpad * pt + tick
            + max(size(t)[0] for t in ax.get_yticklabels()))
    bottom = (pad + size(ax.xaxis.label)[1] + ax.xaxis.labelpad * pt + tick
              + max(size(t)[1] for t in ax.get_xticklabels()))
    top = title_h + rcParams["axes.titlepad"] * pt + pad
    bar_w, gap = 0.25 * DPI, 0.3 * DPI
    right = (gap + bar_w + tick + max(size(t)[0] for t in cax.get_yticklabels())
             + cax.yaxis.labelpad * pt + size(cax.yaxis.label)[0] + pad)
    height = max(map_h, (size(cax.yaxis.label)[1] + 2 * pad) / 0.8)
    centre = max(left + map_w / 2, title_w / 2 + pad)  # room for the title over the map
    fig_w = round(max(centre + map_w / 2 + right, centre + title_w / 2 + pad))
    fig_h = round(bottom + height + top)
    fig.set_size_inches(fig_w / DPI, fig_h / DPI)
    ax.set_position(((centre - map_w / 2) / fig_w, (bottom + height - map_h) / fig_h,
                     map_w / fig_w, map_h / fig_h))
    cax.set_position(((centre + map_w / 2 + gap) / fig_w, (bottom + 0.1 * height) / fig_h,
                      bar_w / fig_w, 0.8 * height / fig_h))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


__all__ = ["link_heatmap_png"]
