"""The link utilisation heat map of the cycle-level NoC (``neurosim run --out DIR`` writes it
as ``noc_links.png``; ``docs/noc.md``): the mesh of ``docs/microarchitecture.md`` 6.1 drawn
with matplotlib (Agg backend, no display needed)."""
from __future__ import annotations

from .topology import Mesh

def link_heatmap_png(noc: dict, mesh: Mesh, title: str = "") -> bytes:
    """``neurosim run --out`` with the cycle-level NoC: the mesh with every directed
    router-to-router link drawn as an arrow coloured by its utilisation (flits / cycles, from
    ``TimingResult.extra["memsys"]["noc"]["links"]``); the two directions of a link side by
    side (each on its right-hand side of the line between the routers). Returns PNG bytes."""
    import io

    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrow, Rectangle

    links = noc["links"]
    top = max([link["utilization"] for link in links] + [1e-9])
    norm = Normalize(0.0, top)
    cmap = colormaps["viridis"]
    cols, rows = mesh.cols, mesh.rows
    fig = Figure(figsize=(1.3 * cols + 1.6, 1.3 * rows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    half = 0.16   # half the size of a router square (mesh pitch 1)
    for n in range(mesh.nodes):
        x, y = mesh.xy(n)
        ctrl = n in mesh.dram_nodes
        ax.add_patch(Rectangle((x - half, y - half), 2 * half, 2 * half, facecolor="#f2f2f2",
                               edgecolor="#c05030" if ctrl else "#555555",
                               linewidth=2.0 if ctrl else 0.8, zorder=2))
        ax.text(x, y, str(n), ha="center", va="center", fontsize=7, zorder=3)
    for link in links:
        (x0, y0), (x1, y1) = link["from"], link["to"]
        dx, dy = x1 - x0, y1 - y0                     # a unit step
        ox, oy = -dy * 0.07, dx * 0.07                # offset to the right of the direction
        ax.add_patch(FancyArrow(x0 + dx * (half + 0.03) + ox, y0 + dy * (half + 0.03) + oy,
                                dx * (1 - 2 * half - 0.06), dy * (1 - 2 * half - 0.06),
                                width=0.05, head_width=0.11, head_length=0.09,
                                length_includes_head=True, color=cmap(norm(link["utilization"])),
                                zorder=1))
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)                     # y grows southwards (spec 6.1)
    ax.set_aspect("equal")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8,
                 label="link utilisation (flits / cycle)")
    ax.set_title(title or "NoC link utilisation", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


__all__ = ["link_heatmap_png"]
