"""`neurosim characterize noc|dram`: outputs, numbers that must hold, bad input."""
import csv

import pytest

from neurosim.arch import load_arch
from neurosim.errors import InputError
from neurosim.memsys.characterize import (dram_point, dram_trace_replay, noc_point,
                                     traffic_destinations)


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
    (["dram", "paper-20core", "--span", "0"], "--span"),
    (["dram", "paper-20core", "--write-fraction", "2", "--loads", "0.1"], "--write-fraction"),
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



DDR4 = ["dram.preset=DDR4-2400", "dram.channels=1", "chip.clock_mhz=1200"]


def test_trace_replay_unloaded_latencies(tmp_path):
    # DDR4-2400 (DRAMsim3's DDR4_8Gb_x8_2400) with the chip at the command clock: one chip
    # cycle = one tCK, so the latencies are DRAMsim3's (benchmarks/compare_dramsim3.py).
    # Closed row: ACT the cycle after arrival, RD tRCD later, data tCL + tBURST after it:
    # 1 + 17 + 17 + 4 = 39. Row hit: 1 + 17 + 4 = 22. Row conflict (bank 0, next row:
    # RoChRaBaBgCo puts the row above 8 KiB x 16 banks x 2 ranks = 256 KiB): PRE first,
    # 1 + tRP 17 + 39 - 1 = 56.
    trace = tmp_path / "t.trace"
    trace.write_text("# cycle op address\n0 R 0x0\n1000 READ 64\n2000 r 262144\n")
    summary, rows = dram_trace_replay(load_arch("paper-20core", DDR4), trace)
    assert [(r["latency"], r["outcome"]) for r in rows] == [(39, "miss"), (22, "hit"),
                                                           (56, "conflict")]
    assert summary["requests"] == 3 and summary["row_hit_rate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("text, what", [("0 X 64\n", "line 1"), ("5 R 0\n3 W 0\n", "line 2"),
                                        ("\n# nothing\n", "trace")])
def test_trace_errors_name_the_line(tmp_path, text, what):
    trace = tmp_path / "t.trace"
    trace.write_text(text)
    with pytest.raises(InputError, match=what):
        dram_trace_replay(load_arch("paper-20core", DDR4), trace)


def test_stride_and_fixed_arrivals():
    cfg = load_arch("paper-20core", DDR4)
    # a stride of one row (8 KiB) moves to the next bank group each request: every
    # request a miss; seq-read with the default stride hits (after the first of each row)
    strided = dram_point(cfg, "seq-read", 0.2, requests=2000, stride=8192, arrivals="fixed")
    seq = dram_point(cfg, "seq-read", 0.2, requests=2000, arrivals="fixed")
    assert strided["row_hit_rate"] < 0.05 and seq["row_hit_rate"] > 0.95
    # write fraction 1 on a read pattern: all writes, the same row hits
    w = dram_point(cfg, "seq-read", 0.2, requests=2000, write_fraction=1.0)
    assert w["row_hit_rate"] > 0.95
