"""Figures and CSV export of a sweep's results database."""
import csv

import pytest

import neurosim.cli
from conftest import ROOT
from neurosim.errors import InputError
from neurosim.sweep import run_sweep
from neurosim.plots import default_figures, plot_one, speedup_table
from neurosim.sweep.results import export_csv, load_rows, value_of

PNG = b"\x89PNG\r\n\x1a\n"


def main(argv):
    return neurosim.cli.main(argv)


@pytest.fixture(scope="module")
def sweep_db(tmp_path_factory, dask_client):
    d = tmp_path_factory.mktemp("plots")
    spec = d / "cores.yaml"
    spec.write_text(f"arch: {ROOT / 'arch_configs/paper-20core.yaml'}\n"
                    f"workload: {ROOT / 'workloads/vgg11-cifar10.yaml'}\n"
                    "grid:\n  chip.cores: [1, 2, 4, 7]\n  workload.time_steps: [2, 4]\n")
    run_sweep(spec, client=dask_client, point_runner="fake_runner:run", progress=False)
    return d / "cores.sweep.db"


def test_speedup_and_efficiency_hand_worked(sweep_db):
    rows, keys, _ = load_rows(sweep_db)
    assert keys == ["chip.cores", "workload.time_steps"]
    ok = [r for r in rows if r["status"] == "ok"]  # 7 cores failed: no numbers
    table = speedup_table(ok, "cores", "total_cycles", ["workload.time_steps"])
    # total_cycles = 1000*T*4//cores + 320
    t2 = [8320, 4320, 2320]
    assert table[(("workload.time_steps", 2),)] == [
        (1, t2[0], 1.0, 1.0),
        (2, t2[1], t2[0] / t2[1], t2[0] / t2[1] / 2),
        (4, t2[2], t2[0] / t2[2], t2[0] / t2[2] / 4)]
    t4 = [16320, 8320, 4320]
    assert [p[2] for p in table[(("workload.time_steps", 4),)]] == [1.0, t4[0] / t4[1],
                                                                    t4[0] / t4[2]]


def test_default_figures(sweep_db, tmp_path):
    written, notes = default_figures(sweep_db, tmp_path / "figs")
    assert [f.name for f in written] == ["speedup.png", "dram.png", "energy.png",
                                         "utilisation.png", "cycles.png"]
    assert notes == []
    for f in written:
        assert f.read_bytes()[:8] == PNG
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        f.name for f in written)  # no temporary files left


def test_default_figures_skip_what_the_data_cannot_show(sweep_db, tmp_path):
    written, notes = default_figures(sweep_db, tmp_path, where=["chip.cores=2"])
    assert "speedup.png" not in [f.name for f in written]
    assert notes == ["speed-up: the core count does not vary"]


def test_one_figure_any_key_glob_stats(sweep_db, tmp_path):
    out = plot_one(sweep_db, "energy_*_j", x="workload.time_steps", kind="stacked",
                   out=tmp_path / "e.svg")
    assert out.read_text().lstrip().startswith("<?xml")
    out = plot_one(sweep_db, "util_fp,util_bp", kind="bar")
    assert out == sweep_db.with_name("cores.sweep-util_fp+util_bp-vs-chip.cores.png")
    assert out.read_bytes()[:8] == PNG
    # x may be any key of the resolved config, swept or not
    rows, _, _ = load_rows(sweep_db)
    assert {value_of(r, "chip.mesh.cols") for r in rows} == {5}
    assert {value_of(r, "workload.batch") for r in rows} == {4}
    assert value_of(rows[0], "no.such.key") is None
    with pytest.raises(InputError, match=r"--y: nope: expected a stat of the database "
                                         r"\(total_cycles, seconds"):
        plot_one(sweep_db, "nope")
    with pytest.raises(InputError, match="--x: no.such.key: expected a key or stat"):
        plot_one(sweep_db, "total_cycles", x="no.such.key", out=tmp_path / "x.png")
    with pytest.raises(InputError, match="--out: .*expected a figure file ending in"):
        plot_one(sweep_db, "total_cycles", out=tmp_path / "x.xyz")


def test_export_csv(sweep_db, tmp_path):
    out, n = export_csv(sweep_db, tmp_path / "r.csv")
    assert n == 8
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:12] == ["sweep", "point_index", "hash", "chip.cores",
                                  "workload.time_steps", "status", "error", "wall_s",
                                  "stats_path", "runner", "worker", "finished_at"]
    assert list(rows[0])[12:] == ["total_cycles", "seconds", "dram_read_bytes",
                                  "dram_write_bytes", "cores", "util_fp", "util_bp", "util_wg",
                                  "cycles_busy", "cycles_idle", "energy_compute_j",
                                  "energy_dram_j", "energy_j"]
    assert [(r["point_index"], r["chip.cores"], r["workload.time_steps"], r["status"],
             r["total_cycles"]) for r in rows] == [
        ("0", "1", "2", "ok", "8320"), ("1", "1", "4", "ok", "16320"),
        ("2", "2", "2", "ok", "4320"), ("3", "2", "4", "ok", "8320"),
        ("4", "4", "2", "ok", "2320"), ("5", "4", "4", "ok", "4320"),
        ("6", "7", "2", "error", ""), ("7", "7", "4", "error", "")]
    assert rows[6]["error"] == "RuntimeError: fake failure at 7 cores"
    assert float(rows[1]["seconds"]) == 16320 / 500e6


def test_plot_and_export_commands(sweep_db, tmp_path, capsys):
    assert main(["export", str(sweep_db), "--csv", str(tmp_path / "a.csv"),
                 "--where", "workload.time_steps=4"]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'a.csv'} (4 rows)\n"
    assert main(["export", str(sweep_db), "--csv", str(tmp_path / "u.csv"),
                 "--where", "chip.corez=4"]) == 2      # not a key: not "0 rows"
    assert capsys.readouterr().err.startswith("neurosim: error: --where: chip.corez: "
                                              "expected a swept key")
    assert not (tmp_path / "u.csv").exists()
    assert main(["plot", str(sweep_db), "--out", str(tmp_path / "figs")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {tmp_path / 'figs' / n}" for n in ("speedup.png", "dram.png", "energy.png",
                                                  "utilisation.png", "cycles.png")]
    assert main(["plot", str(sweep_db), "--y", "total_cycles", "--out",
                 str(tmp_path / "t.pdf")]) == 0
    assert (tmp_path / "t.pdf").read_bytes()[:5] == b"%PDF-"
    capsys.readouterr()
    assert main(["plot", str(sweep_db), "--y", "bogus"]) == 2
    assert capsys.readouterr().err.startswith("neurosim: error: --y: bogus: expected a stat")
    assert main(["export", str(tmp_path / "none.db"), "--csv", str(tmp_path / "b.csv")]) == 2
    assert capsys.readouterr().err == (f"neurosim: error: {tmp_path / 'none.db'}: <top>: "
                                       "expected an existing sweep results database, got "
                                       "'no such file'\n")
    (tmp_path / "junk.db").write_text("not a database at all, just text" * 100)
    assert main(["export", str(tmp_path / "junk.db"), "--csv", str(tmp_path / "b.csv")]) == 2
    assert "expected a neurosim sweep results database (SQLite)" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()
