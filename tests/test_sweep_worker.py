"""One point on a worker: runner resolution, summary numbers, output directories."""
import json
import math

import numpy as np
import pytest

from neurosim.sweep.worker import (RunnerNotFound, check_runner, resolve_runner, run_point,
                                   summary_numbers)


def runner_dict(arch, workload, overrides=(), out_dir=None, progress=False):
    return {"total_cycles": np.int64(12), "util_fp": np.float32(0.5), "ok": True,
            "name": "x", "nested": {"a": 1}, "bad": float("nan"), "n": len(overrides)}


def runner_file_only(arch, workload, overrides=(), out_dir=None, progress=False):
    with open(f"{out_dir}/summary.json", "w") as f:
        json.dump({"total_cycles": 7, "seconds": 1.5}, f)
    with open(f"{out_dir}/stats.json", "w") as f:
        f.write("{}")


def runner_fails(arch, workload, overrides=(), out_dir=None, progress=False):
    with open(f"{out_dir}/stats.json", "w") as f:
        f.write("{partial")
    raise ValueError("no mapping fits\n  in 1 core")


def test_summary_numbers_keeps_plain_top_level_numbers():
    got = summary_numbers(runner_dict("a", "w", ["x=1"]))
    assert got == {"total_cycles": 12, "util_fp": 0.5, "bad": None, "n": 1}
    assert type(got["total_cycles"]) is int and type(got["util_fp"]) is float


def test_run_point_records_numbers_and_moves_output_into_place(tmp_path):
    res = run_point("test_sweep_worker:runner_file_only", "a.yaml", "w.yaml", [],
                    str(tmp_path / "runs" / "abc"))
    assert res["status"] == "ok" and res["summary"] == {"total_cycles": 7, "seconds": 1.5}
    assert res["stats_path"] == str(tmp_path / "runs" / "abc" / "stats.json")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["abc"]
    # Again over an existing directory (a point whose result was never recorded): the
    # earlier output is replaced whole, whatever it held.
    (tmp_path / "runs" / "abc" / "gantt.png").write_bytes(b"old")
    res = run_point("test_sweep_worker:runner_file_only", "a.yaml", "w.yaml", [],
                    str(tmp_path / "runs" / "abc"))
    assert res["status"] == "ok" and sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "abc"]
    assert sorted(p.name for p in (tmp_path / "runs" / "abc").iterdir()) == [
        "stats.json", "summary.json"]


def test_a_point_killed_mid_run_leaves_its_temporary_to_the_next_writer(tmp_path):
    """The point's output is built beside it under fileio's temporary name, with the
    writer's pid: one left by a dead writer is removed when the point runs again."""
    stale = tmp_path / ".p.tmp-999999999-dead"      # no process has this pid
    stale.mkdir()
    (stale / "stats.json").write_text("{partial")
    res = run_point("test_sweep_worker:runner_file_only", "a", "w", [], str(tmp_path / "p"))
    assert res["status"] == "ok" and sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_a_failing_point_is_a_result_and_leaves_no_output(tmp_path):
    res = run_point("test_sweep_worker:runner_fails", "a", "w", [], str(tmp_path / "p"))
    assert res["status"] == "error" and res["error"] == "ValueError: no mapping fits in 1 core"
    assert "raise ValueError" in res["traceback"] and res["wall_s"] >= 0
    assert "summary" not in res and list(tmp_path.iterdir()) == []


def test_runner_resolution():
    assert resolve_runner("test_sweep_worker:runner_dict") is runner_dict
    assert resolve_runner("json:dumps") is json.dumps
    assert resolve_runner("math:sqrt") is math.sqrt
    for path, why in [("nope_mod:run", "no module named nope_mod"),
                      ("json:nope", "json has no nope"),
                      ("json", "'json' is not of the form module:function"),
                      ("json:__doc__", "json:__doc__ is not callable")]:
        with pytest.raises(RunnerNotFound, match=f"^{why}$"):
            resolve_runner(path)
        assert check_runner(path) == why
    assert check_runner("json:dumps") is None
