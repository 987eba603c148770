"""Running sweeps on Dask: results recorded once per point, failures recorded and the sweep
going on, resume after SIGKILL of the driver, identical rows on 1 and 2 workers."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import fake_runner
from conftest import ROOT
from neurosim.arch import load_arch
from neurosim.sweep import RUN_COLUMNS, ResultStore, expand_points, load_spec, run_sweep
from neurosim.workload import load_workload

ARCH = ROOT / "arch_configs/paper-20core.yaml"
WL = ROOT / "workloads/vgg11-cifar10.yaml"
RUNNER = "fake_runner:run"


def write_spec(tmp_path, body, name="s.yaml"):
    p = tmp_path / name
    p.write_text(f"arch: {ARCH}\nworkload: {WL}\n{body}")
    return p


def results(db):
    """Rows without the columns that describe the run (times, worker, output path)."""
    with ResultStore(db, create=False) as s:
        return [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in s.rows()]


def calls(log):
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()] \
        if log.exists() else []


@pytest.fixture
def worker_env(dask_client):
    """Set environment variables on the shared cluster's workers for one test."""
    names = set()

    def set_(**kw):
        names.update(kw)
        dask_client.run(fake_runner.setenv, kw)

    yield set_
    dask_client.run(fake_runner.setenv, {k: None for k in names})


def test_points_recorded_with_hand_worked_numbers(tmp_path, dask_client, worker_env):
    log = tmp_path / "calls.log"
    worker_env(NEUROSIM_FAKE_LOG=log)
    spec = write_spec(tmp_path, "grid:\n  chip.cores: [1, 7, 20]\n"
                      "  workload.time_steps: [2, 4]\n")
    rep = run_sweep(spec, client=dask_client, point_runner=RUNNER, progress=False)
    assert (rep.points, rep.skipped, rep.ran, rep.ok, rep.failed, rep.lost) == (6, 0, 6, 4, 2, [])
    db = tmp_path / "s.sweep.db"
    assert rep.db == db
    rows = results(db)
    assert [r["keys"] for r in rows] == [{"chip.cores": c, "workload.time_steps": t}
                                        for c in (1, 7, 20) for t in (2, 4)]
    by = {(r["chip.cores"], r["workload.time_steps"]): r for r in rows}
    # total_cycles = 1000*T*batch//cores + 10*lanes with batch 4 and lanes 32
    assert by[1, 2]["total_cycles"] == 8320 and by[1, 4]["total_cycles"] == 16320
    assert by[20, 2]["total_cycles"] == 720 and by[20, 4]["total_cycles"] == 1120
    assert by[20, 4]["seconds"] == 1120 / 500e6
    assert by[20, 4]["dram_read_bytes"] == 81920 and by[20, 4]["dram_write_bytes"] == 4096
    assert by[20, 4]["util_fp"] == 0.05 and by[20, 4]["cores"] == 20
    assert "name" not in by[20, 4] and "converged" not in by[20, 4]  # not numbers
    assert by[7, 2]["status"] == "error" and by[7, 2]["total_cycles"] is None
    assert by[7, 2]["error"] == "RuntimeError: fake failure at 7 cores"
    with ResultStore(db, create=False) as s:
        full = {r["hash"]: r for r in s.rows()}
    ok = full[by[1, 2]["hash"]]
    assert ok["status"] == "ok" and ok["error"] is None and ok["wall_s"] > 0
    stats = db.parent / ok["stats_path"]
    assert ok["stats_path"] == f"s.sweep-runs/{ok['hash'][:16]}/stats.json"
    assert json.loads(stats.read_text()) == {"chip": {"total_cycles": 8320}}
    assert json.loads((stats.parent / "summary.json").read_text())["total_cycles"] == 8320
    assert "fake failure" in full[by[7, 2]["hash"]]["traceback"]
    assert not list((db.parent / "s.sweep-runs").glob("*tmp*"))
    # The stored config is the resolved one: its hash is the row's key.
    cfg = load_arch(ARCH, ["chip.cores=20"]).to_dict()
    wl = load_workload(WL, ["time_steps=4"]).to_dict()
    from neurosim.sweep import config_hash

    assert by[20, 4]["hash"] == config_hash(cfg, wl)
    assert json.loads(full[by[20, 4]["hash"]]["config"]) == cfg
    assert len(calls(log)) == 6

    # Again: nothing runs. With --retry-failed: only the two failed points run.
    rep = run_sweep(spec, client=dask_client, point_runner=RUNNER, progress=False)
    assert (rep.skipped, rep.ran) == (6, 0) and len(calls(log)) == 6
    rep = run_sweep(spec, client=dask_client, point_runner=RUNNER, progress=False,
                    retry_failed=True)
    assert (rep.skipped, rep.ran, rep.failed) == (4, 2, 2)
    assert sorted(calls(log)[6:]) == [("chip.cores=7", "workload.time_steps=2"),
                                      ("chip.cores=7", "workload.time_steps=4")]
    assert results(db) == rows


def test_growing_a_spec_runs_only_the_new_points(tmp_path, dask_client, worker_env):
    log = tmp_path / "calls.log"
    worker_env(NEUROSIM_FAKE_LOG=log)
    spec = write_spec(tmp_path, "grid: {chip.cores: [1, 2]}\n")
    run_sweep(spec, client=dask_client, point_runner=RUNNER, progress=False)
    write_spec(tmp_path, "grid: {chip.cores: [2, 4]}\n")
    rep = run_sweep(spec, client=dask_client, point_runner=RUNNER, progress=False)
    assert (rep.skipped, rep.ran) == (1, 1)
    assert sorted(calls(log)[:2]) == [("chip.cores=1",), ("chip.cores=2",)]
    assert calls(log)[2:] == [("chip.cores=4",)]
    db = tmp_path / "s.sweep.db"
    # Plots and exports see the spec as last run; the store keeps the older point too.
    assert [r["chip.cores"] for r in results(db)] == [2, 4]
    with ResultStore(db, create=False) as s:
        assert sorted(r["chip.cores"] for r in s.rows("all")) == [1, 2, 4]


def test_one_and_two_workers_give_identical_rows(tmp_path):
    spec = write_spec(tmp_path, "grid:\n  chip.cores: [1, 2, 4, 7]\n"
                      "  core.fp.lanes: [16, 32]\n")
    r1 = run_sweep(spec, db=tmp_path / "one.db", workers=1, point_runner=RUNNER,
                   progress=False)
    r2 = run_sweep(spec, db=tmp_path / "two.db", workers=2, point_runner=RUNNER,
                   progress=False)
    assert (r1.ran, r1.failed, r2.ran, r2.failed) == (8, 2, 8, 2)
    one, two = results(tmp_path / "one.db"), results(tmp_path / "two.db")
    assert len(one) == 8 and one == two
    with ResultStore(tmp_path / "two.db", create=False) as s:
        workers = {r["worker"] for r in s.rows()}
    assert len(workers) == 2  # both workers took points


def _count(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.long
def test_sigkill_of_the_driver_then_resume_runs_each_missing_point_once(tmp_path, dask_client):
    spec = write_spec(tmp_path, "grid:\n  chip.cores: [1, 2, 4, 8, 16]\n"
                      "  workload.time_steps: [2, 4]\n")
    points, _ = expand_points(load_spec(spec))
    db, log1, log2 = tmp_path / "k.db", tmp_path / "run1.log", tmp_path / "run2.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
           "NEUROSIM_FAKE_SLEEP": "0.25", "NEUROSIM_FAKE_LOG": str(log1)}
    cmd = [sys.executable, "-m", "neurosim", "sweep", str(spec), "--db", str(db),
           "--workers", "1", "--runner", RUNNER]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(db) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ResultStore(db, create=False) as s:
        done = set(s.statuses())
    assert 3 <= len(done) < len(points)

    env.update(NEUROSIM_FAKE_SLEEP="0", NEUROSIM_FAKE_LOG=str(log2))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"sweep s: 10 points, {len(done)} already done, "
                               f"{10 - len(done)} ran ok in ")
    # Every missing point ran exactly once on resume; no recorded point ran again.
    missing = sorted(tuple(sorted(pt.overrides)) for pt in points if pt.hash not in done)
    assert sorted(calls(log2)) == missing
    with ResultStore(db, create=False) as s:
        hashes = [r["hash"] for r in s.rows("all")]
    assert sorted(hashes) == sorted(pt.hash for pt in points)  # each point exactly once

    # Identical to an uninterrupted run.
    run_sweep(spec, db=tmp_path / "ref.db", client=dask_client, point_runner=RUNNER,
              progress=False)
    assert results(db) == results(tmp_path / "ref.db")


def test_a_worker_killed_mid_point_does_not_lose_the_point(tmp_path, monkeypatch):
    flag = tmp_path / "die-once"
    flag.write_text("")
    log = tmp_path / "calls.log"
    monkeypatch.setenv("NEUROSIM_FAKE_DIE_ONCE", str(flag))  # read by the new cluster
    monkeypatch.setenv("NEUROSIM_FAKE_LOG", str(log))
    spec = write_spec(tmp_path, "grid: {chip.cores: [1, 2, 4]}\n")
    rep = run_sweep(spec, workers=1, point_runner=RUNNER, progress=False)
    assert not flag.exists()  # one worker process did die
    assert (rep.ran, rep.ok, rep.lost) == (3, 3, [])  # Dask reran its point elsewhere
    assert len(calls(log)) == 4  # the killed call, then the three that finished
    assert [r["total_cycles"] for r in results(rep.db)] == [16320, 8320, 4320]


class ExternalCluster:
    """`dask scheduler` and `dask worker` started by hand, as a user would."""

    def __init__(self, tmp_path, env, nworkers=2):
        self.file = tmp_path / f"scheduler-{time.monotonic_ns()}.json"
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.scheduler = subprocess.Popen(
            dask + ["--scheduler-file", str(self.file), "--port", "0", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.file.exists() or not self.file.read_text().strip():
            assert time.monotonic() < deadline and self.scheduler.poll() is None
            time.sleep(0.05)
        self.address = json.loads(self.file.read_text())["address"]
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
             str(self.file), "--nworkers", str(nworkers), "--nthreads", "1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from dask.distributed import Client

        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(nworkers, timeout=60)

    def close(self):
        for p in (self.worker, self.scheduler):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.mark.long
def test_existing_cluster_and_a_killed_scheduler(tmp_path, dask_client):
    """--scheduler sends the points to a cluster started by hand; when its scheduler is
    killed mid-sweep the pending points are reported, not recorded, and a rerun on a new
    cluster runs exactly those."""
    spec = write_spec(tmp_path, "grid:\n  chip.cores: [1, 2, 4, 8]\n"
                      "  workload.time_steps: [2, 4]\n")
    points, _ = expand_points(load_spec(spec))
    log1, log2 = tmp_path / "run1.log", tmp_path / "run2.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
           "NEUROSIM_FAKE_SLEEP": "0.3", "NEUROSIM_FAKE_LOG": str(log1)}
    db = tmp_path / "ext.db"
    cluster = ExternalCluster(tmp_path, env)
    try:
        import threading

        def kill_when_two_done():
            deadline = time.monotonic() + 60
            while _count(db) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            cluster.scheduler.kill()

        killer = threading.Thread(target=kill_when_two_done)
        killer.start()
        rep = run_sweep(spec, db=db, scheduler=cluster.address, point_runner=RUNNER,
                        progress=False)
        killer.join()
    finally:
        cluster.close()
    assert rep.ran >= 2 and rep.lost and rep.ran + len(rep.lost) == 8
    assert all(why == "cancelled (scheduler-connection-lost)" for _, why in rep.lost)
    assert not rep.complete
    with ResultStore(db, create=False) as s:
        done = set(s.statuses())
    assert len(done) == rep.ran

    env.update(NEUROSIM_FAKE_SLEEP="0", NEUROSIM_FAKE_LOG=str(log2))
    cluster = ExternalCluster(tmp_path, env, nworkers=1)
    try:
        rep2 = run_sweep(spec, db=db, scheduler=cluster.address, point_runner=RUNNER,
                         progress=False)
    finally:
        cluster.close()
    assert (rep2.skipped, rep2.ran, rep2.lost) == (rep.ran, 8 - rep.ran, [])
    missing = sorted(tuple(sorted(pt.overrides)) for pt in points if pt.hash not in done)
    assert sorted(calls(log2)) == missing
    run_sweep(spec, db=tmp_path / "ref.db", client=dask_client, point_runner=RUNNER,
              progress=False)
    assert results(db) == results(tmp_path / "ref.db")


def test_unreachable_scheduler_is_one_line_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = write_spec(tmp_path, "grid: {chip.cores: [1]}\n")
    from neurosim.errors import InputError

    with pytest.raises(InputError, match=rf"^--scheduler: tcp://127.0.0.1:{port}: expected "
                                         r"the address of a running Dask scheduler"):
        run_sweep(spec, scheduler=f"tcp://127.0.0.1:{port}", point_runner=RUNNER,
                  progress=False, connect_timeout="2s", db=tmp_path / "r.db")
    assert not list(tmp_path.glob("r.db*"))   # no database left by the refused command
