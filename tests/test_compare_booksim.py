"""benchmarks/compare_booksim.py's own logic, without a BookSim2 binary: the configuration it
writes for a rectangular mesh run as the corner of BookSim2's square mesh (docs/noc.md)."""
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.memsys.topology import Mesh

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_booksim.py"
_SPEC = importlib.util.spec_from_file_location("compare_booksim", _PATH)
compare_booksim = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare_booksim)


def setting(text, key):
    return re.search(rf"\b{key} = ([^;]*);", text).group(1)


def test_square_mesh_is_uniform_bernoulli():
    text = compare_booksim.booksim_config(4, 4, 2, 4, 0.25, "latency")
    assert setting(text, "k") == "4"
    assert setting(text, "traffic") == "uniform"
    assert setting(text, "injection_process") == "bernoulli"
    assert setting(text, "injection_rate") == "0.25"


def test_5x4_is_the_bottom_four_rows_of_the_5x5_mesh():
    text = compare_booksim.booksim_config(5, 4, 1, 4, 0.1, "latency")
    assert setting(text, "k") == "5"
    # destinations: nodes 0..19 (x + 5y for y < 4), uniformly
    assert setting(text, "traffic") == "hotspot({{" + ",".join(map(str, range(20))) + "}})"
    # alpha 0, beta computed (-1), on rate 0.1 flits / 4 flits = 0.025 packets/cycle,
    # nodes 0..19 on, the row y = 4 (nodes 20..24) off
    assert setting(text, "injection_process") == ("on_off({0,-1,0.025,{" + ",".join(
        ["1"] * 20 + ["0"] * 5) + "}})")
    # BookSim2's load (injection_rate / packet_size) is the same 0.025 packets/cycle
    assert setting(text, "injection_rate") == "0.1"
    assert setting(text, "injection_rate_uses_flits") == "1"


def test_4x5_takes_the_first_four_columns():
    # 4 columns, 5 rows: K = 5, nodes x + 5y with x < 4: 0-3, 5-8, 10-13, 15-18, 20-23
    assert compare_booksim.corner_nodes(4, 5) == [x + 5 * y for y in range(5) for x in range(4)]
    text = compare_booksim.booksim_config(4, 5, 1, 1, 0.2, "throughput")
    states = setting(text, "injection_process").split("{")[2].rstrip("}").split(",")
    assert [i for i, s in enumerate(states) if s == "1"] == compare_booksim.corner_nodes(4, 5)


@pytest.mark.parametrize("cols, rows", [(5, 4), (4, 5), (3, 5)])
def test_xy_routes_stay_in_the_corner(cols, rows):
    # BookSim2's K x K mesh numbers nodes x + K*y, as our Mesh(K, K): every XY route between
    # two corner nodes visits corner routers only, so the others carry nothing
    k = max(cols, rows)
    corner = set(compare_booksim.corner_nodes(cols, rows))
    mesh = Mesh(k, k)
    for source in corner:
        for destination in corner:
            assert {router for router, _ in mesh.route(source, destination)} <= corner


def stats_text(sent, accepted):
    return (f"sent_flits(1,:) = [ {' '.join(map(str, sent))} ];\n"
            f"accepted_flits(1,:) = [ {' '.join(map(str, accepted))} ];\n")


def test_corner_rates_average_the_corner_and_check_the_rest():
    # a 2x1 mesh is nodes 0 and 1 of BookSim2's 2x2 mesh
    stats = stats_text([0.1, 0.3, 0, 0], [0.2, 0.2, 0, 0])
    assert compare_booksim.corner_rates(stats, 2, 1) == pytest.approx((0.2, 0.2))
    with pytest.raises(RuntimeError, match="outside"):
        compare_booksim.corner_rates(stats_text([0.1, 0.3, 0, 0], [0.2, 0.1, 0, 0.1]), 2, 1)


@pytest.mark.parametrize("spec, expected", [("5x4", (5, 4)), ("8X8", (8, 8)), ("5", None),
                                            ("0x4", None), ("1x1", None), ("axb", None)])
def test_parse_mesh(spec, expected):
    assert compare_booksim.parse_mesh(spec) == expected


def test_bad_mesh_and_unfixed_binary_exit_2(monkeypatch, tmp_path, capsys):
    assert compare_booksim.main(["--mesh", "5by4"]) == 2
    assert "--mesh '5by4'" in capsys.readouterr().err
    # a non-square mesh needs the on_off fix: a missing BOOKSIM_ONOFF is refused in one line
    monkeypatch.setenv("BOOKSIM", sys.executable)
    monkeypatch.setenv("BOOKSIM_ONOFF", str(tmp_path / "absent"))
    assert compare_booksim.main(["--mesh", "5x4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BOOKSIM_ONOFF" in err


def test_stats_vector_reads_pair_stats():
    stats = "pair_sent(1,:) = [ 3 0 1 2 ];\npair_plat(1,:) = [ 7 0 12 12.5 ];\n"
    assert compare_booksim.stats_vector(stats, "pair_plat").tolist() == [7, 0, 12, 12.5]
    assert np.array_equal(compare_booksim.stats_vector(stats, "pair_sent"), [3, 0, 1, 2])
