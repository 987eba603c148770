"""`neurosim characterize noc|dram`: outputs, numbers that must hold, bad input."""
import csv

import pytest

from neurosim.arch import load_arch
from neurosim.errors import InputError
from neurosim.hw.characterize import dram_point, noc_point, traffic_destinations


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_noc_command_writes_csv_and_png(cli, tmp_path):
    rc, out, err = cli("characterize", "noc", "paper-20core", "--rates", "0.05,0.9",
                       "--warmup", "300", "--measure", "1500", "--out", tmp_path)
    assert rc == 0, err
    rows = read_csv(tmp_path / "noc-uniform-5flit.csv")
    assert [float(r["offered"]) for r in rows] == [0.05, 0.9]
    low, high = rows
    # below saturation everything offered is accepted, near zero-load latency
    assert float(low["accepted"]) == pytest.approx(0.05, rel=0.1)
    assert float(low["avg_latency"]) < 1.2 * float(low["zero_load_latency"])
    # far beyond it the network accepts less than offered and latency explodes
    assert float(high["accepted"]) < 0.8 * 0.9
    assert float(high["avg_latency"]) > 10 * float(high["zero_load_latency"])
    assert (tmp_path / "noc-uniform-5flit.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*tmp*"))


def test_dram_command_writes_csv_and_png(cli, tmp_path):
    rc, out, err = cli("characterize", "dram", "paper-20core", "--pattern", "random-read",
                       "--loads", "0.1,1.0", "--requests", "3000", "--out", tmp_path)
    assert rc == 0, err
    low, high = read_csv(tmp_path / "dram-random-read.csv")
    assert float(low["achieved"]) == pytest.approx(0.1, rel=0.15)
    assert float(high["achieved"]) < 0.6  # random reads are row-miss bound
    assert float(high["row_hit_rate"]) < 0.05
    assert (tmp_path / "dram-random-read.png").exists()


@pytest.mark.parametrize("args, what", [
    (["noc", "paper-20core", "--rates", "0.1,x"], "--rates"),
    (["noc", "paper-20core", "--packet-flits", "40"], "--packet-flits"),
    (["noc", "single-core"], "chip.mesh"),
    (["dram", "paper-20core", "--loads", "-1"], "--loads"),
    (["dram", "no-such-arch"], "no-such-arch"),
    (["noc", "paper-20core", "--set", "noc.vcs=0"], "--set"),
    (["noc", "paper-20core", "--injection", "on_off", "--on-off", "0.5"], "--on-off"),
    (["noc", "paper-20core", "--measure", "10"], "--measure"),
])
def test_bad_input_is_one_line_exit_2(cli, tmp_path, args, what):
    rc, out, err = cli("characterize", *args, "--out", tmp_path)
    assert rc == 2
    assert what in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.csv"))


def test_transpose_is_a_permutation_on_rectangles():
    import numpy as np

    for cols, rows in ((4, 4), (5, 4), (3, 7)):
        n = np.arange(cols * rows)
        d = traffic_destinations("transpose", cols, rows, n, None, 0, 0)
        assert sorted(d.tolist()) == n.tolist()
    assert traffic_destinations("transpose", 4, 4, np.array([1]), None, 0, 0)[0] == 4


def test_sequential_dram_point_near_timing_bound():
    # LPDDR4-3200 at 500 MHz: a 64 B burst holds the bus ceil(2.5) = 3 cycles, so a
    # channel moves at most 64/3 B/cycle = 5/6 of the nominal 25.6 B/cycle; refresh costs
    # tRFC/tREFI = 90/1952 cycles of that
    cfg = load_arch("paper-20core")
    row = dram_point(cfg, "seq-read", 1.2, requests=6000)
    bound = (64 / 3) / 25.6 * (1 - 90 / 1952)
    assert row["achieved"] <= bound
    assert row["achieved"] > 0.9 * bound


def test_noc_rate_out_of_range():
    with pytest.raises(InputError, match="rate"):
        noc_point(load_arch("paper-20core"), "uniform", 1.5, 5, 10, 100)


def test_traffic_patterns_as_booksim():
    import numpy as np

    n = np.arange(16)
    rng = np.random.default_rng(0)
    # uniform includes the source itself (BookSim2's uniform): about 1/16 of the packets
    src = np.zeros(16000, np.int64)
    d = traffic_destinations("uniform", 4, 4, src, rng, 0, 0)
    assert 0.04 < (d == 0).mean() < 0.085
    # bitcomp on 4x4: node (x, y) -> (3-x, 3-y), i.e. 15 - n; neighbor: (x+1, y+1) mod 4
    assert traffic_destinations("bitcomp", 4, 4, n, rng, 0, 0).tolist() == (15 - n).tolist()
    nb = traffic_destinations("neighbor", 4, 4, n, rng, 0, 0)
    assert nb[0] == 5 and nb[3] == 4 and nb[15] == 0
    # hotspot: all packets to the hotspot with fraction 1
    assert set(traffic_destinations("hotspot", 4, 4, n, rng, 6, 1.0).tolist()) == {6}


def test_noc_point_measures_like_booksim():
    # light load: every packet created in the measurement window is drained and its
    # latency is the creation-to-ejection time, at least the spec 6.6 zero-load latency
    cfg = load_arch("paper-20core", ["chip.mesh.cols=4", "chip.cores=16"])
    row = noc_point(cfg, "uniform", 0.05, 1, warmup=200, measure=2000)
    assert row["accepted"] == pytest.approx(0.05, rel=0.15)
    assert row["zero_load_latency"] <= row["avg_latency"] < 1.1 * row["zero_load_latency"]
    # on_off at the same rate per on cycle, half the cycles on: about half the throughput
    row2 = noc_point(cfg, "uniform", 0.1, 1, warmup=200, measure=4000, on_off=(0.1, 0.1))
    assert row2["accepted"] == pytest.approx(0.05, rel=0.2)
