"""``neurosim scaling``: one row per core count and engine-parallelism setting, each the
same run as ``neurosim run``, with where its cycles went."""
import csv

from neurosim import api
from neurosim.arch import ENGINES
from neurosim.timing import CYCLE_CLASSES

IDEAL = ["--set", "noc.model=ideal", "--set", "dram.model=ideal"]


def test_scaling_rows_are_the_runs_with_their_cycle_classes(cli, tmp_path):
    rc, out, err = cli("scaling", "paper-20core", "mlp-digits", "--cores", "1,2",
                       "--out", tmp_path, *IDEAL)
    assert rc == 0, err
    assert {p.name for p in tmp_path.iterdir()} >= {"scaling.csv", "scaling.md",
                                                    "scaling.png", "cycles.png"}
    rows = list(csv.DictReader(open(tmp_path / "scaling.csv")))
    assert [(r["cores"], r["engine_parallelism"]) for r in rows] == [
        ("1", "on"), ("1", "off"), ("2", "on"), ("2", "off")]
    ideal = ["noc.model=ideal", "dram.model=ideal"]
    direct = api.run("paper-20core", "mlp-digits", ideal + ["chip.cores=2"]).summary
    got = rows[2]
    assert int(got["total_cycles"]) == direct["total_cycles"]
    for e in ENGINES:   # an engine's classes cover every cycle of every core
        assert abs(sum(float(got[f"cycles_{e}_{c}"]) for c in CYCLE_CLASSES) - 1) < 1e-4
        assert float(got[f"cycles_{e}_busy"]) == float(f"{direct[f'cycles_{e}_busy']:.6g}")
    assert abs(sum(float(got[k]) for k in got if k.startswith("critical_path_")) - 1) < 1e-4
    for k in ("busiest_port_utilization", "busiest_dram_bus_utilization",
              "dram_request_noc_fraction"):   # the DRAM path's bound, as the run reports it
        assert float(got[k]) == float(f"{direct[k]:.6g}"), k
    md = (tmp_path / "scaling.md").read_text()
    assert "Where the cycles went" in md
    # one line per row and engine in the cycles table: 4 rows x 3 engines
    # and one in the bounds table
    assert sum(1 for line in md.splitlines() if line.startswith("| 2 | on | ")) == 1 + 3 + 1
    assert "What bounds the DRAM path" in md
