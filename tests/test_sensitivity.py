"""The sensitivity study of ``neurosim reproduce``: its points are the runs they name, a point
the mapper cannot place is a "does not fit" row, and the claim regions are read off the rows."""
import pytest

from neurosim import api
from neurosim.errors import InputError
from neurosim.experiments import sensitivity as S
from neurosim.paths import WORKLOAD_DIR

MLP = WORKLOAD_DIR / "mlp-digits.yaml"


def test_bank_aligned_sizes():
    # weights of paper-20core: 16 banks x 256 bits = 512 B per row across the banks
    assert S.bank_aligned_kib(1024, 16, 256) == 1024
    assert S.bank_aligned_kib(32, 16, 256) == 32
    # 963.76 KiB = 986,890 B -> 1927 whole rows of 512 B = 963.5 KiB
    assert S.bank_aligned_kib(1024 * 4096 / 4352, 16, 256) == 963.5
    with pytest.raises(InputError, match="at least one word per bank"):
        S.bank_aligned_kib(0.25, 16, 256)   # 256 B < one 512 B row


def test_study_points_scale_paper_20core_buffers_together():
    points = S.study_points("paper-20core", [MLP])
    sram = [p for p in points if p.dimension == "sram" and p.arch is None]
    # paper-20core: 128 + 32 + 64 + 320 + 256 = 800 KiB per core; x 1/4 .. 8
    assert [p.value for p in sram] == [200, 400, 800, 1600, 3200, 6400]
    # 1/4: weights 32, state 8, spikes 16, gradients 80, wgrad 64 KiB; x 2 and more exceed
    # the 40 mm2 budget, which the study's buffer points lift (their area is in the row)
    assert sram[0].overrides == ("chip.area_budget_mm2=null",
                                 "core.sram.weights.size_kib=32", "core.sram.state.size_kib=8",
                                 "core.sram.spikes.size_kib=16",
                                 "core.sram.gradients.size_kib=80",
                                 "core.sram.wgrad.size_kib=64")
    assert {p.memory for p in points} == {"ideal"}
    weights = [p for p in points if p.dimension == "weights"]
    # 128 KiB is paper-20core's own weights buffer: the sram x 1 point, not run twice
    assert [p.value for p in weights] == [256, 512, 1024, 2048, 4096]
    # mlp-digits has batch 16: half and twice
    assert [p.value for p in points if p.dimension == "batch"] == [8, 32]
    marked = [p for p in points if p.arch == "paper-20core-85mib"]
    # paper-20core-85mib: 1024 + 256 + 512 + 512 + 2048 = 4352 KiB per core
    assert [(p.dimension, p.value) for p in marked] == [("sram", 4352)]
    assert len({p.key for p in points}) == len(points)
    over = api.load_arch("paper-20core", list(sram[-1].overrides))   # 6400 KiB per core
    assert over.chip.area_budget_mm2 is None


def test_study_points_on_the_85mib_chip_keep_its_proportions_and_mark_nothing_twice():
    points = S.study_points("paper-20core-85mib", [MLP])
    # 1024 + 256 + 512 + 512 + 2048 = 4352 KiB per core, x 1/4 .. 8
    assert [p.value for p in points if p.dimension == "sram"] == [1088, 2176, 4352, 8704,
                                                                   17408, 34816]
    assert all(p.arch is None for p in points)   # it is the reproduction's own arch
    # its weights buffer is 1024 KiB: that point is the sram x 1 one
    assert [p.value for p in points if p.dimension == "weights"] == [128, 256, 512, 2048,
                                                                      4096]


def test_a_point_the_mapper_cannot_place_does_not_fit():
    # fc2 (the output layer) needs 0.289 KiB of gradients in one part; 8 banks x 32 B = 0.25
    point = S.Point("mlp-digits", "sram", 1, ("core.sram.gradients.size_kib=0.25",))
    got = S.run_point("paper-20core", point, MLP)
    assert "core.sram.gradients.size_kib" in got["does_not_fit"]
    assert "output layer fc2" in got["does_not_fit"]
    assert got["area_mm2"] < api.run("paper-20core", "mlp-digits").summary["area_mm2"]
    row = S.point_row(point, got, {"spikingjelly": 100}, default=False)
    assert row["status"] == "does not fit" and "dram_bytes" not in row
    # a bad config is still an error, not a point that does not fit
    bad = S.Point("mlp-digits", "sram", 1, ("core.sram.gradients.size_kib=0.1",))
    with pytest.raises(InputError, match="at least one word per bank"):
        S.run_point("paper-20core", bad, MLP)


def _row(value, reduction, status="ok", default=False, arch=None, dimension="sram"):
    return {"workload": "w", "dimension": dimension, "value": value, "arch": arch,
            "default": default, "status": status, "reduction_pct_spikingjelly": reduction}


def test_claim_regions_on_hand_made_rows():
    claim = S.Claim("DRAM", "reduction_pct_spikingjelly", 55.0, 85.0, "%")
    rows = [_row(128, None, status="does not fit"), _row(256, 80.0), _row(512, 60.0),
            _row(1024, 40.0), _row(2048, 70.0), _row(4096, 99.9, default=True),
            _row(800, 50.0, arch="paper-20core-85mib"),
            _row(2, 56.0, dimension="batch"), _row(8, 57.0, dimension="batch", default=True)]
    by_dim = {r["dimension"]: r for r in S.claim_regions(rows, [claim])}
    sram = by_dim["sram"]
    # 256 and 512 in the band, 1024 below it, 2048 in it, 4096 above; 128 does not fit
    assert sram["holds_at"] == [(256, 512), (2048, 2048)]
    assert S.value_ranges(sram["holds_at"]) == "256-512, 2048"
    assert (sram["points"], sram["fit"]) == (6, 5)
    assert sram["marked"] == [("default", 4096, 99.9, False), ("paper-20core-85mib", 800, 50.0, False)]
    assert by_dim["batch"]["holds_at"] == [(2, 8)]
    assert "weights" not in by_dim
    assert S.Claim("eff", "x", 1.05, None, "TFLOPS/W").holds(2.0)
    assert S.Claim("eff", "x", 1.05, None, "TFLOPS/W").holds(None) is None


@pytest.mark.long
def test_ideal_memory_keeps_the_placement_and_so_the_dram_bytes():
    """The mapper prices the cycle-level DRAM's bandwidth, so with ideal memory it would place
    differently; the study maps for the config and simulates that placement with ideal
    memory: the DRAM bytes are the plain run's. A spilling case: mlp-digits on 2 cores with 4
    KiB of weights and 8 KiB of weight gradients per core."""
    spill = ("chip.cores=2", "core.sram.weights.size_kib=4", "core.sram.wgrad.size_kib=8")
    run = api.run("paper-20core", "mlp-digits", list(spill)).summary
    got = S.run_point("paper-20core", S.Point("mlp-digits", "sram", 12, spill), MLP)
    assert run["dram_read_bytes"] > 1e6   # it spills (4,737,536 B measured)
    assert (got["dram_read_bytes"], got["dram_write_bytes"]) == (run["dram_read_bytes"],
                                                                 run["dram_write_bytes"])
    assert got["total_cycles"] < run["total_cycles"]   # no bandwidth limit
    exact = S.run_point("paper-20core", S.Point("mlp-digits", "sram", 12, spill,
                                                memory="config"), MLP)
    assert exact["total_cycles"] == run["total_cycles"]


def test_the_default_point_is_run_once_and_shown_in_every_dimension():
    rows = [_row(136, 90.0), _row(4352, 99.0, default=True), _row(512, 70.0, dimension="weights"),
            _row(8, 80.0, dimension="batch")]
    got = S.with_default_copies(rows, 1024, {"w": 4})
    assert got[:4] == rows
    assert [(r["dimension"], r["value"], r["default"], r["reduction_pct_spikingjelly"])
            for r in got[4:]] == [("weights", 1024, True, 99.0), ("batch", 4, True, 99.0)]
    # a dimension with its own default point, or no points, gets no copy
    rows[2]["default"] = True
    assert [r["dimension"] for r in S.with_default_copies(rows[:3], 1024, {"w": 4})[3:]] == []


def test_points_of_one_workload_share_its_trace_and_report_what_they_report_alone():
    """``step_trace`` draws a workload's trace once for consecutive points of the same
    workload config: a point run after another of its workload (trace reused) reports
    exactly what it reports run first (trace drawn), and a point with another batch draws
    its own."""
    first = S.Point("mlp-digits", "sram", 12, ("chip.cores=2",))
    second = S.Point("mlp-digits", "weights", 4, ("chip.cores=2",
                                                   "core.sram.weights.size_kib=4"))
    S._last_trace.clear()
    alone = S.run_point("paper-20core", second, MLP)
    S._last_trace.clear()
    S.run_point("paper-20core", first, MLP)
    (shared,) = S._last_trace.values()
    after = S.run_point("paper-20core", second, MLP)
    assert next(iter(S._last_trace.values())) is shared     # not drawn again
    assert after == alone
    _, wl = api.load_configs("paper-20core", str(MLP), ["workload.batch=2"])
    other = S.step_trace(wl, api.build_network(wl))
    assert other is not shared and other.batch == 2
