"""``neurosim bench``: rows are selected as documented, a row's numbers come from its own
process and the summary.json it writes (speed itself is never asserted: docs/performance.md)."""
import json

from neurosim.experiments.bench import ROWS, BenchRow, format_table, run_row, select_rows
from test_bad_inputs_cli import SMALL_WL


def test_quick_rows_are_a_subset_and_names_filter():
    quick = select_rows(quick=True)
    assert quick and all(r.quick for r in quick) and set(quick) <= set(ROWS)
    assert [r.name for r in select_rows(names=["single-core"])] == ["vgg11 single-core"]


def test_a_row_reports_the_cycles_of_its_run(tmp_path):
    wl = tmp_path / "small.yaml"
    wl.write_text(SMALL_WL)
    row = BenchRow("small", ("run", "paper-20core", str(wl)))
    res = run_row(row, tmp_path)
    assert res.returncode == 0
    summary = json.loads((tmp_path / "small" / "summary.json").read_text())
    assert res.cycles == summary["total_cycles"] > 0
    assert res.packets == summary["noc_packets"]
    assert res.peak_mib > 0 and res.wall_s > 0
    table = format_table([res])
    assert "small" in table.splitlines()[2] and table.splitlines()[2].endswith("-")


def test_a_failing_row_is_reported_not_raised(tmp_path):
    res = run_row(BenchRow("bad", ("run", "no-such-arch", "mlp-digits"), 1.0), tmp_path)
    assert res.returncode == 2 and res.met == "failed" and res.cycles is None


def test_a_validate_row_reports_its_speed_ratio(tmp_path):
    """The figure of the validate row is the ratio validate prints for its largest case."""
    row = BenchRow("validate", ("validate", "--cases", "3"), target_ratio=1e9)
    res = run_row(row, tmp_path)
    assert res.returncode == 0 and res.ratio is not None and res.ratio > 0
    log = (tmp_path / "validate.log").read_text()
    assert f"speed ratio (reference/model) {res.ratio:.1f}" in log
    assert res.met == "no" and res.as_dict()["speed_ratio"] == res.ratio
    assert format_table([res]).splitlines()[2].split()[-2] == f"{res.ratio:g}"
    assert any(r.target_ratio == 100.0 and r.argv[0] == "validate" for r in ROWS)
