"""The SVG plots of ``neurosim run --out``: gantt.svg and noc_links.svg (neurosim.svg)."""
from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from neurosim.memsys.heatmap import link_heatmap_svg
from neurosim.memsys.topology import Mesh
from neurosim.svg import VIRIDIS, nice_ticks, tick_labels, viridis
from neurosim.timeline import CLASS_COLORS, gantt_svg
from neurosim.timing import TileRecord, TimingResult

NS = "{http://www.w3.org/2000/svg}"


def test_viridis_points_are_matplotlibs():
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(VIRIDIS) - 1
    want = ["#%02x%02x%02x" % tuple(round(255 * c) for c in cmap(k / n)[:3])
            for k in range(n + 1)]
    assert list(VIRIDIS) == want
    # between the points, within 6/255 of the full map in every channel
    for k in range(256):
        got = viridis(k / 255)
        ref = cmap(k / 255)[:3]
        assert max(abs(int(got[i:i + 2], 16) - 255 * ref[j])
                   for j, i in enumerate((1, 3, 5))) <= 6, k
    assert viridis(-1.0) == VIRIDIS[0] and viridis(2.0) == VIRIDIS[-1]


@pytest.mark.parametrize("hi, ticks", [
    (40249, [0, 5000, 10000, 15000, 20000, 25000, 30000, 35000, 40000]),
    (0.383, [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35]),
    (7, [0, 1, 2, 3, 4, 5, 6, 7]),
    (1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (0, [0]),
])
def test_nice_ticks(hi, ticks):
    assert nice_ticks(hi) == pytest.approx(ticks)


def test_tick_labels_share_their_decimals():
    assert tick_labels([0, 0.05, 0.1, 0.15]) == ["0.00", "0.05", "0.10", "0.15"]
    assert tick_labels([0, 5000, 10000]) == ["0", "5000", "10000"]


def tile(kind, core, ready, start, end, wait="wait_dep", bank_stalls=0):
    return TileRecord(kind, "l", 0, 0, 0, core, ready, start, end, bank_stalls=bank_stalls,
                      wait=wait)


def test_gantt_draws_each_class_where_the_tiles_spent_it():
    # core 0 FP: waits on a dependency 0-10, waits for DRAM 10-12, busy 12-18 and a bank
    # stall 18-20; core 1 WG: busy 0-5, waits on the NoC 5-30, busy 30-40 and 40-45 (two
    # tiles back to back: one rectangle)
    timing = TimingResult(total_cycles=45, tiles=[
        tile("FP", 0, 10, 12, 20, bank_stalls=2),
        tile("WG", 1, 0, 0, 5),
        tile("WG", 1, 30, 30, 40, wait="wait_noc"),
        tile("WG", 1, 40, 40, 45)])
    root = ElementTree.fromstring(gantt_svg(timing, "a & b < c"))
    spans = {}
    for path in root.iter(f"{NS}path"):
        if path.get("fill") in CLASS_COLORS.values():
            cls = next(k for k, v in CLASS_COLORS.items() if v == path.get("fill"))
            # M<first cycle> <row top>h<cycles>...: the rows are 0 (core0 FP), 1 (core1 WG)
            spans[cls] = [(int(x), int(w)) for x, w in
                          re.findall(r"M(-?\d+) [\d.]+h(-?\d+)", path.get("d"))]
    assert spans == {"wait_dep": [(0, 10)], "wait_dram": [(10, 2)],
                     "busy": [(0, 5), (12, 6), (30, 15)], "bank_stall": [(18, 2)],
                     "wait_noc": [(5, 25)]}
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "a & b < c" in texts                       # escaped in the file, read back
    assert ["core0 FP", "core1 WG"] == [t for t in texts if t.startswith("core")]
    assert gantt_svg(timing, "a & b < c") == gantt_svg(timing, "a & b < c")


def test_link_heat_map_colours_each_link_by_its_utilisation():
    mesh = Mesh(2, 1, (0,))
    noc = {"links": [{"from": (0, 0), "to": (1, 0), "utilization": 0.5},
                     {"from": (1, 0), "to": (0, 0), "utilization": 0.125}]}
    root = ElementTree.fromstring(link_heatmap_svg(noc, mesh, "t"))
    fills = [p.get("fill") for p in root.iter(f"{NS}polygon")]
    assert fills == [VIRIDIS[-1], viridis(0.25)]       # relative to the busiest link
    # the eastward arrow lies south of the westward one (each on its right-hand side)
    ys = [[float(v.split(",")[1]) for v in p.get("points").split()]
          for p in root.iter(f"{NS}polygon")]
    assert min(ys[0]) > max(ys[1])
    assert [t.text for t in root.iter(f"{NS}text")][:3] == ["t", "0", "1"]
