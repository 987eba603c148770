"""Sweep specs: expansion, resolved-config hashes, and every malformed spec rejected up front
(one line, exit 2, nothing run, no database written)."""
import json

import pytest

from neurosim.arch import load_arch
import neurosim.cli
from neurosim.errors import InputError
from neurosim.params import parse_set_option
from neurosim.sweep import config_hash, expand_points, load_spec
from neurosim.sweep.spec import encode_value, split_overrides
from neurosim.workload import load_workload

ARCH = "arch_configs/paper-20core.yaml"
WL = "workloads/vgg11-cifar10.yaml"


def main(argv):
    """``neurosim ARGV`` in this process."""
    return neurosim.cli.main(argv)


def write_spec(tmp_path, body: str, name="s.yaml", arch=None, wl=None):
    from conftest import ROOT

    head = f"arch: {arch or ROOT / ARCH}\nworkload: {wl or ROOT / WL}\n"
    p = tmp_path / name
    p.write_text(head + body)
    return p


def test_grid_is_cartesian_first_key_slowest(tmp_path):
    spec = load_spec(write_spec(tmp_path, "grid:\n  chip.cores: [1, 2, 4]\n"
                                "  workload.time_steps: [2, 4]\n"))
    points, dups = expand_points(spec)
    assert [p.keys for p in points] == [
        {"chip.cores": c, "workload.time_steps": t} for c in (1, 2, 4) for t in (2, 4)]
    assert [p.index for p in points] == list(range(6)) and dups == []
    assert points[3].overrides == ("chip.cores=2", "workload.time_steps=4")
    assert points[3].config["chip"]["cores"] == 2 and points[3].workload["time_steps"] == 4
    assert spec.swept_keys == ["chip.cores", "workload.time_steps"]


def test_points_crossed_with_grid_and_set_applied_everywhere(tmp_path):
    spec = load_spec(write_spec(tmp_path, "set: {noc.model: cycle}\n"
                                "grid: {chip.cores: [4, 8]}\n"
                                "points:\n  - {core.fp.lanes: 16}\n  - {core.fp.lanes: 64}\n"))
    points, _ = expand_points(spec)
    assert [(p.keys["core.fp.lanes"], p.keys["chip.cores"]) for p in points] == [
        (16, 4), (16, 8), (64, 4), (64, 8)]
    assert all(p.config["noc"]["model"] == "cycle" for p in points)
    assert all("noc.model" not in p.keys for p in points)  # set keys are not point keys
    assert points[1].overrides == ("noc.model=cycle", "chip.cores=8", "core.fp.lanes=16")


def test_hash_is_of_the_resolved_config_and_workload(tmp_path):
    spec = load_spec(write_spec(tmp_path, "grid: {chip.cores: [4]}\n"))
    (p,) = expand_points(spec)[0]
    cfg = load_arch(ARCH, ["chip.cores=4"]).to_dict()
    wl = load_workload(WL).to_dict()
    assert p.hash == config_hash(cfg, wl)
    canon = json.dumps({"arch": cfg, "workload": wl}, sort_keys=True, separators=(",", ":"))
    import hashlib

    assert p.hash == hashlib.sha256(canon.encode()).hexdigest()
    # The same resolved point reached through an extends chain has the same hash; any
    # resolved difference changes it.
    from conftest import ROOT

    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {ROOT / ARCH}\nchip: {{cores: 4}}\n")
    spec2 = load_spec(write_spec(tmp_path, "points: [{}]\n", name="s2.yaml", arch=child))
    assert expand_points(spec2)[0][0].hash == p.hash
    child.write_text(f"extends: {ROOT / ARCH}\nchip: {{cores: 4}}\nname: other\n")
    assert expand_points(load_spec(spec2.path))[0][0].hash != p.hash


def test_points_resolving_to_one_config_run_once(tmp_path):
    # paper-20core already has 20 cores: the second point is the first one again.
    spec = load_spec(write_spec(tmp_path, "points:\n  - {chip.cores: 20}\n  - {}\n"
                                "  - {chip.cores: 4}\n"))
    points, dups = expand_points(spec)
    assert [p.keys for p in points] == [{"chip.cores": 20}, {"chip.cores": 4}]
    assert dups == [("(base)", "chip.cores=20")]


def test_override_values_round_trip_through_set_syntax():
    for v in (1, 1.0, 1e-5, -3.5e12, True, "LPDDR4-3200", "yes", "1.0", None, [[0, 0], [4, 3]],
              {"a": 1}):
        assert parse_set_option(f"k={encode_value(v)}")[1] == v
    assert split_overrides(["chip.cores=2", "workload.batch=8", "noc.model=cycle"]) == (
        ["chip.cores=2", "noc.model=cycle"], ["batch=8"])


def test_workload_trace_source_keys_can_be_swept(tmp_path):
    spec = load_spec(write_spec(tmp_path, "grid: {workload.traces.seed: [1, 2]}\n"))
    points, _ = expand_points(spec)
    assert [p.workload["traces"]["seed"] for p in points] == [1, 2]
    assert points[0].hash != points[1].hash


def test_spec_from_dict_with_base_dir(tmp_path):
    from conftest import ROOT

    spec = load_spec({"arch": ARCH, "workload": WL, "points": [{"chip.cores": 2}]},
                     base_dir=ROOT)
    assert spec.name == "sweep" and expand_points(spec)[0][0].keys == {"chip.cores": 2}


BAD = [
    ("grid: {chip.corez: [1, 2]}\n", "s.yaml: grid.chip.corez: expected a known key"),
    ("grid: {core.fpp.lanes: [8]}\n", "s.yaml: grid.core.fpp.lanes: expected a known key"),
    ("grid: {workload.time_stepz: [2]}\n",
     "s.yaml: grid.workload.time_stepz: expected a known key"),
    ("grid: {}\n", "s.yaml: grid: expected a non-empty mapping of KEY: [values], got {}"),
    ("grid: {chip.cores: []}\n", "s.yaml: grid.chip.cores: expected a non-empty list of values"),
    ("grid: {chip.cores: 4}\n", "s.yaml: grid.chip.cores: expected a non-empty list of values, "
     "got 4"),
    ("grid: {chip.cores: [1, two]}\n",
     "s.yaml: grid.chip.cores: expected a positive integer, got 'two'"),
    ("grid: {workload.time_steps: [2.5]}\n",
     "s.yaml: grid.workload.time_steps: expected a positive integer, got 2.5"),
    ("grid: {chip.cores: [4, 25]}\n",
     "s.yaml: grid.chip.cores: expected at most mesh.cols*mesh.rows = 20 cores, got 25"),
    ("points: [{core.fp.lanes: 64, core.sram.weights.banks: 2}]\n",
     "s.yaml: points[0].core.fp.lanes: expected a chunk that fits the weights buffer's 2 banks"),
    ("points: []\n", "s.yaml: points: expected a non-empty list"),
    ("points: [3]\n", "s.yaml: points[0]: expected a mapping of KEY: value, got 3"),
    ("gird: {chip.cores: [1]}\n", "s.yaml: gird: expected one of the known keys"),
    ("name: x\n", "s.yaml: grid: expected a grid or a list of points to sweep"),
    ("set: {chip.cores: 2}\ngrid: {chip.cores: [1]}\n",
     "s.yaml: set.chip.cores: expected a key that is not also swept"),
    ("grid: {workload: [1]}\n", "s.yaml: grid.workload: expected a dotted config key"),
    ("grid: [chip.cores]\n", "s.yaml: grid: expected a non-empty mapping"),
]


@pytest.mark.parametrize("body,message", BAD, ids=[b.split("\n")[0][:40] for b, _ in BAD])
def test_malformed_spec_is_one_line_exit_2_and_runs_nothing(tmp_path, monkeypatch, capsys,
                                                            body, message):
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("NEUROSIM_FAKE_LOG", str(log))
    spec = write_spec(tmp_path, body)
    rc = main(["sweep", "s.yaml", "--runner", "fake_runner:run"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"neurosim: error: {message}"), err
    assert err.count("\n") == 1
    assert not log.exists() and not (tmp_path / "s.sweep.db").exists()
    with pytest.raises(InputError):
        expand_points(load_spec(spec))


@pytest.mark.parametrize("field,value,message", [
    ("arch", "nope.yaml", "s.yaml: arch: expected an existing arch config"),
    ("workload", "nope", "s.yaml: workload: expected an existing workload file"),
])
def test_unknown_base_file(tmp_path, monkeypatch, capsys, field, value, message):
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, "grid: {chip.cores: [1]}\n", **{"wl" if field == "workload" else
                                                           field: value})
    assert main(["sweep", "s.yaml", "--runner", "fake_runner:run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neurosim: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "s.sweep.db").exists()


def test_base_names_resolve_like_the_other_commands(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("arch: paper-20core\nworkload: vgg11-cifar10\ngrid: {chip.cores: [2]}\n")
    spec = load_spec(p)
    assert spec.arch.endswith("arch_configs/paper-20core.yaml")
    assert spec.workload.endswith("workloads/vgg11-cifar10.yaml")


def test_missing_runner_is_one_line_exit_2(tmp_path, cli):
    spec = write_spec(tmp_path, "grid: {chip.cores: [1]}\n")
    rc, out, err = cli("sweep", spec, "--runner", "no_such_module:run")
    assert rc == 2 and err == ("neurosim: error: --runner: no_such_module:run: expected an "
                               "importable point runner (module:function), got 'no module "
                               "named no_such_module'\n")
    rc, out, err = cli("sweep", spec, "--runner", "neurosim.api:no_such_function")
    assert rc == 2 and err == ("neurosim: error: --runner: neurosim.api:no_such_function: "
                               "expected an importable point runner (module:function), got "
                               "'neurosim.api has no no_such_function'\n")
    assert not (tmp_path / "s.sweep.db").exists()


def test_default_runner_is_the_simulator_api():
    import inspect

    from neurosim.sweep import DEFAULT_RUNNER, run_sweep

    assert DEFAULT_RUNNER == "neurosim.api:run"
    assert inspect.signature(run_sweep).parameters["point_runner"].default == DEFAULT_RUNNER
    args = neurosim.cli.build_parser().parse_args(["sweep", "x.yaml"])
    assert args.runner is None  # None means DEFAULT_RUNNER in cmd_sweep


def test_bad_spec_through_the_real_command_line(tmp_path, cli):
    spec = write_spec(tmp_path, "grid: {chip.cores: [0]}\n")
    rc, out, err = cli("sweep", spec, "--runner", "fake_runner:run")
    assert rc == 2 and out == ""
    assert err == f"neurosim: error: {spec}: grid.chip.cores: expected a positive integer, got 0\n"


def test_dry_run_lists_points_without_running(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, "grid: {chip.cores: [1, 2]}\n")
    assert main(["sweep", "s.yaml", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sweep s: 2 points; results database s.sweep.db"
    assert [line.split()[1] for line in out[1:]] == ["todo", "todo"]
    assert out[2].endswith("chip.cores=2")
    assert not (tmp_path / "s.sweep.db").exists()



@pytest.mark.parametrize("name,n", [("vgg11-cores", 6), ("vgg11-lanes", 9),
                                    ("vgg11-memory", 9), ("vgg11-sparsity", 9)])
def test_shipped_specs_validate(name, n):
    from conftest import ROOT

    spec = load_spec(ROOT / "workloads/sweeps" / f"{name}.yaml")
    points, dups = expand_points(spec)
    assert len(points) == n and dups == [] and spec.name == name
    assert len({p.hash for p in points}) == n


def test_core_count_sweep_spec():
    from conftest import ROOT

    points, _ = expand_points(load_spec(ROOT / "workloads/sweeps/vgg11-cores.yaml"))
    assert [p.config["chip"]["cores"] for p in points] == [1, 2, 4, 8, 16, 20]
    base = load_arch("paper-20core-85mib").to_dict()
    for p in points:  # only the core count differs from the spec's arch
        assert {**p.config, "chip": {**p.config["chip"], "cores": 20}} == base
    assert all(p.workload == load_workload(ROOT / WL).to_dict() for p in points)


def test_set_reaches_the_keys_of_the_selected_trace_source():
    wl = load_workload(WL, ["traces.seed=3", "traces.firing=0.2"])
    assert wl.traces.seed == 3 and wl.traces.firing == 0.2
    raw = load_workload(WL).to_dict()
    del raw["traces"]  # a workload with the default (synthetic) trace source...
    wl = load_workload(raw, ["traces.source=file", "traces.path=/data/t.npz"])
    assert wl.traces.source == "file" and wl.traces.path == "/data/t.npz"  # ...switched
    with pytest.raises(InputError, match="^--set: traces.path: expected a known key"):
        load_workload(WL, ["traces.path=t.npz"])  # synthetic traces have no path
    with pytest.raises(InputError, match="^--set: traces.seedz: expected a known key"):
        load_workload(WL, ["traces.seedz=1"])


def test_a_points_trace_file_is_checked_before_anything_runs(tmp_path):
    from conftest import ROOT

    import yaml

    (tmp_path / "garbage.npz").write_bytes(b"not a trace" * 100)
    data = yaml.safe_load((ROOT / "workloads/mlp-digits.yaml").read_text())
    data["traces"] = {"source": "file", "path": str(tmp_path / "garbage.npz")}
    wl = tmp_path / "wl.yaml"
    wl.write_text(yaml.safe_dump(data))
    spec = load_spec(write_spec(tmp_path, "grid: {chip.cores: [1, 2]}\n", wl=wl))
    with pytest.raises(InputError, match=r"garbage\.npz: <top>: expected a complete neurosim "
                                         r"trace"):
        expand_points(spec)
