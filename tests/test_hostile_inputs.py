"""Hostile but realistic inputs (issue 14): output locations that cannot be written, sizes
nobody can afford, malformed trace metadata, YAML that says a key twice or nothing at all,
overrides aimed at the wrong thing, interrupted writes. Each ends in one line on stderr and
exit code 2 (130 for Ctrl-C), before any simulation starts, and leaves nothing half-written."""
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from neurosim import cli
from neurosim.fileio import clean_stale_temporaries, write_directory

from test_bad_inputs_cli import SMALL_WL, assert_one_line_error


def run_inprocess(*argv):
    """``neurosim ARGV`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as e:  # argparse usage errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def no_simulation(monkeypatch):
    """Any attempt to make a trace or simulate fails the test: the input must be refused
    before."""
    import neurosim.api as api
    import neurosim.hw.chip as chip

    def boom(*a, **k):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(chip, "simulate", boom)
    monkeypatch.setattr(api, "get_traces", boom)


@pytest.fixture
def no_chip_simulation(monkeypatch):
    import neurosim.hw.chip as chip

    monkeypatch.setattr(chip, "simulate", lambda *a, **k: pytest.fail("simulated"))


# --------------------------------------------------------------------------- output paths


def output_cases(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    return {"existing-file": (f, "a directory or a new path"),
            "device": ("/dev/null", "a directory or a new path"),
            "unwritable": ("/proc/neurosim-out", "writable"),
            "under-a-file": (f / "sub", "not under a regular file")}


@pytest.mark.parametrize("case", ["existing-file", "device", "unwritable", "under-a-file"])
def test_run_out_is_checked_before_simulating(tmp_path, no_simulation, case):
    path, expected = output_cases(tmp_path)[case]
    rc, _, err = run_inprocess("run", "paper-20core", "mlp-digits", "--out", path)
    assert_one_line_error(rc, err, "--out", str(path))
    assert expected in err


def test_run_out_with_foreign_files_is_refused(tmp_path, no_simulation):
    """An existing directory is replaced only if it holds an earlier run's files."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("keep me")
    (out / "summary.json").mkdir()          # our name, but not a file: not ours to delete
    rc, _, err = run_inprocess("run", "paper-20core", "mlp-digits", "--out", out)
    assert_one_line_error(rc, err, "--out", str(out))
    assert (out / "my-notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("argv, key", [
    (("trace", "generate", "mlp-digits", "--out", "{dir}"), "--out"),
    (("config", "reference", "--out", "{dir}"), "--out"),
    (("sweep", "{spec}", "--db", "{dir}"), "--db"),
    (("sweep", "{spec}", "--runs-dir", "{file}/runs"), "--runs-dir"),
    (("export", "{file}", "--csv", "/dev/null"), "--csv"),
])
def test_other_outputs_checked_before_working(tmp_path, no_simulation, argv, key):
    spec = tmp_path / "s.yaml"
    spec.write_text("arch: paper-20core\nworkload: mlp-digits\ngrid: {chip.cores: [1]}\n")
    f = tmp_path / "file"
    f.write_text("x")
    argv = [a.format(dir=tmp_path, spec=spec, file=f) for a in argv]
    rc, _, err = run_inprocess(*argv)
    assert_one_line_error(rc, err, key, argv[argv.index(key) + 1])
    assert not (tmp_path / "s.sweep.db").exists()   # no empty database left behind


def test_plot_out_checked(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    rc, _, err = run_inprocess("plot", tmp_path / "none.db", "--out", f / "x")
    assert_one_line_error(rc, err, "--out", str(f / "x"))


# --------------------------------------------------------------------------- writing whole


FILES = {"stats.json": "{}", "stats.csv": "a,b\n", "summary.json": "{\"x\": 1}",
         "placement.json": "{}"}


def test_write_directory_replaces_an_earlier_output_whole(tmp_path):
    out = tmp_path / "out"
    write_directory(out, {**FILES, "summary.json": "old"})
    (out / ".stats.json.abc123.json").write_text("stray temporary of an older version")
    write_directory(out, FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert (out / "summary.json").read_text() == "{\"x\": 1}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no temporaries beside it


def test_outputs_honour_the_umask(tmp_path):
    # a process of its own: the writer reads its process's umask once
    code = ("import os, sys; os.umask(0o027); from neurosim.fileio import write_directory; "
            "write_directory(sys.argv[1], {'stats.json': '{}', 'summary.json': '{}'})")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], check=True)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "out" / "stats.json").stat().st_mode & 0o777 == 0o640


def test_stale_temporaries_of_dead_writers_are_cleaned(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".out.tmp-{dead}-abcd"
    stale.mkdir()
    (stale / "stats.json").write_text("half")
    live = tmp_path / f".out.tmp-{os.getpid()}-efgh"   # a writer still at work: left alone
    live.mkdir()
    clean_stale_temporaries(tmp_path, "out")
    assert not stale.exists() and live.exists()


KILL_CHILD = textwrap.dedent("""
    import sys
    from neurosim.fileio import write_directory
    big = "x" * 8_000_000
    write_directory(sys.argv[1], {n: big + n for n in
                    ("stats.json", "stats.csv", "summary.json", "placement.json")})
    print("done", flush=True)
""")


def test_sigkill_while_writing_leaves_no_directory_or_a_complete_one(tmp_path):
    """20 kills at random moments of a 32 MB output write (fresh and replacing)."""
    rng = random.Random(14)
    names = ("stats.json", "stats.csv", "summary.json", "placement.json")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", KILL_CHILD, str(tmp_path / "timing")], check=True)
    span = time.perf_counter() - t0
    for i in range(20):
        out = tmp_path / f"out{i % 2}"
        p = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(out)],
                             stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * span)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.exists():
            assert sorted(q.name for q in out.iterdir()) == sorted(names)
            for n in names:
                assert (out / n).read_text().endswith(n + "\n")
    write_directory(tmp_path / "out0", {n: "new" for n in names})   # cleans dead temporaries
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".out0.")]


# --------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("text, key", [
    ("extends: paper-20core\nchip: {cores: 4}\nchip: {cores: 8}\n", "chip"),
    ("extends: paper-20core\ncore: {fp: {lanes: 4, lanes: 8}}\n", "lanes"),
    ("", "<top>"),
    ("# only a comment\n", "<top>"),
])
def test_duplicate_keys_and_empty_documents(tmp_path, text, key):
    f = tmp_path / "arch.yaml"
    f.write_text(text)
    rc, _, err = run_inprocess("config", "show", f)
    assert_one_line_error(rc, err, "arch.yaml", key)


def test_duplicate_key_in_a_workload(tmp_path):
    f = tmp_path / "wl.yaml"
    f.write_text(SMALL_WL + "batch: 4\n")
    rc, _, err = run_inprocess("trace", "info", f)
    assert_one_line_error(rc, err, "wl.yaml", "batch")


@pytest.mark.parametrize("override, key", [("extends=single-core", "extends"),
                                           ("chip=5", "chip"), ("core.sram=[1]", "core.sram")])
def test_overrides_blame_set(override, key):
    rc, _, err = run_inprocess("config", "show", "paper-20core", "--set", override)
    assert_one_line_error(rc, err, "--set", key)


@pytest.mark.parametrize("override, key, known", [
    ("sram.weights_kib=512", "sram", "chip, core, noc, dram"),
    ("core.sram.weightz.size_kib=512", "core.sram.weightz", "weights, state, spikes")])
def test_unknown_set_key_lists_the_known_ones(override, key, known):
    rc, _, err = run_inprocess("config", "show", "paper-20core", "--set", override)
    assert_one_line_error(rc, err, "--set", key)
    assert "expected a known key (one of: " in err and known in err


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("override, key", [
    ("workload.batch=1000000000", "batch"),
    ("workload.time_steps=100000000", "time_steps"),
    ("chip.mesh.cols=1000", "chip.mesh.cols"),
    ("chip.clock_mhz=1.0e+30", "chip.clock_mhz"),
])
def test_sizes_nobody_can_afford(no_chip_simulation, override, key):
    rc, _, err = run_inprocess("run", "paper-20core", "vgg11-cifar10", "--set", override)
    assert_one_line_error(rc, err, "--set", key)


def test_a_billion_point_grid_is_counted_not_built(tmp_path):
    grid = "".join(f"  chip.k{i}: [{', '.join(str(v) for v in range(10))}]\n" for i in range(9))
    spec = tmp_path / "big.yaml"
    spec.write_text("arch: paper-20core\nworkload: mlp-digits\ngrid:\n" + grid)
    rc, _, err = run_inprocess("sweep", spec, "--dry-run")
    assert_one_line_error(rc, err, "big.yaml", "grid")
    assert "1,000,000,000" in err


# --------------------------------------------------------------------------- traces


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    d = tmp_path_factory.mktemp("trace")
    (d / "small.yaml").write_text(SMALL_WL)
    rc, _, err = run_inprocess("trace", "generate", d / "small.yaml", "--out", d / "small.npz")
    assert rc == 0, err
    return dict(np.load(d / "small.npz"))


def _network(z):
    return json.loads(str(z["network"]))


def _edit_network(z, fn):
    net = _network(z)
    fn(net)
    return {"network": np.array(json.dumps(net))}


TRACE_CASES = {
    "version-string": (lambda z: {"version": np.array("one")}, "version"),
    "version-array": (lambda z: {"version": np.array([1, 1])}, "version"),
    "meta-list": (lambda z: {"meta": np.array("[1, 2]")}, "meta"),
    "meta-not-json": (lambda z: {"meta": np.array("{oops")}, "meta"),
    "network-missing": (lambda z: {"network": None}, "network"),
    "network-no-layers": (lambda z: _edit_network(z, lambda n: n.update(layers=[])),
                          "network.layers"),
    "unknown-layer-kind": (lambda z: _edit_network(
        z, lambda n: n["layers"][0].update(kind="conv3d")), "network.layers[0].kind"),
    "edge-from-nowhere": (lambda z: _edit_network(
        z, lambda n: n["layers"][0]["edges"][0].update(src="ghost")),
        "network.layers[0].edges[0].src"),
    "negative-shape": (lambda z: _edit_network(
        z, lambda n: n["layers"][1].update(out_shape=[-10])), "network.layers[1].out_shape"),
    "header-time-steps-unlike-the-arrays": (lambda z: _edit_network(
        z, lambda n: n.update(time_steps=n["time_steps"] + 3)), "network.time_steps"),
    "header-batch-unlike-the-arrays": (lambda z: _edit_network(
        z, lambda n: n.update(batch=10**9)), "network.batch"),
}


@pytest.mark.parametrize("case", sorted(TRACE_CASES))
def test_malformed_trace_metadata(tmp_path, small_trace, case):
    edit, key = TRACE_CASES[case]
    data = {**small_trace, **edit(small_trace)}
    data = {k: v for k, v in data.items() if v is not None}
    f = tmp_path / f"{case}.npz"
    np.savez(f, **data)
    rc, _, err = run_inprocess("trace", "info", f)
    assert_one_line_error(rc, err, f"{case}.npz", key)


def test_trace_array_larger_than_memory_names_it(tmp_path):
    import zipfile

    header = io.BytesIO()   # a header declaring 8 TB of data, and no data
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<u8", "fortran_order": False, "shape": (10**6, 10**6, 1)})
    fmt = io.BytesIO()
    np.save(fmt, np.array("neurosim-trace"))
    f = tmp_path / "bomb.npz"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("format.npy", fmt.getvalue())
        z.writestr("L0.in_mask.npy", header.getvalue())
    rc, _, err = run_inprocess("trace", "info", f)
    assert_one_line_error(rc, err, "bomb.npz", "L0.in_mask")


def test_a_full_disk_is_one_line_and_leaves_no_output(tmp_path, monkeypatch):
    import errno

    import neurosim.fileio as fileio

    def full(path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fileio, "write_directory", full)
    out = tmp_path / "out"
    rc, _, err = run_inprocess("run", "paper-20core", "mlp-digits", "--set",
                               "workload.batch=1", "--set", "workload.time_steps=1", "--set",
                               "noc.model=ideal", "--set", "dram.model=ideal", "--out", out)
    assert rc == 1
    assert err == f"neurosim: error: {out}: No space left on device\n"
    assert not out.exists()


# --------------------------------------------------------------------------- interrupt


def test_interrupt_is_one_line_and_exit_130(monkeypatch):
    import neurosim.commands.run as run_cmd

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_cmd, "cmd_run", interrupted)
    parser = cli.build_parser  # the subcommand binds fn at registration: patch the default

    def build():
        p = parser()
        p._subparsers._group_actions[0].choices["run"].set_defaults(fn=interrupted)
        return p

    monkeypatch.setattr(cli, "build_parser", build)
    rc, _, err = run_inprocess("run", "paper-20core", "mlp-digits")
    assert rc == 130
    assert err.splitlines() == ["neurosim: interrupted"]


# --------------------------------------------------------------------------- one-of sections


def test_set_switches_a_one_of_section():
    """mlp-digits' traces are the trainer's (with trainer keys such as dataset): switching
    the source from the command line leaves those keys behind instead of failing on them."""
    rc, out, err = run_inprocess("trace", "info", "mlp-digits", "--set", "traces.source=synthetic")
    assert rc == 0, err
    assert "source synthetic" in out


def test_set_switch_to_file_names_the_missing_path():
    rc, _, err = run_inprocess("trace", "info", "mlp-digits", "--set", "traces.source=file")
    assert_one_line_error(rc, err, "mlp-digits.yaml", "traces.path")


# --------------------------------------------------------------------------- found by fuzzing


def test_yaml_nested_deeper_than_the_parser_follows(tmp_path):
    deep = "[" * 3000 + "]" * 3000
    f = tmp_path / "deep.yaml"
    f.write_text(f"name: {deep}\n")
    rc, _, err = run_inprocess("config", "show", f)
    assert_one_line_error(rc, err, "deep.yaml", "<top>")
    rc, _, err = run_inprocess("config", "show", "paper-20core", "--set", f"name={deep}")
    assert_one_line_error(rc, err, "--set", "name")


@pytest.mark.parametrize("argv, key", [
    (("run", "paper-20core"), "the following arguments are required: workload"),
    (("run", "paper-20core", "mlp-digits", "--timeline-max-events", "abc"),
     "argument --timeline-max-events"),
    (("frobnicate",), "argument COMMAND: invalid choice"),
    ((), "the following arguments are required: COMMAND")])
def test_command_line_usage_errors_are_one_line(argv, key):
    rc, _, err = run_inprocess(*argv)
    assert rc == 2
    assert len(err.splitlines()) == 1 and key in err and "--help" in err, err


@pytest.mark.parametrize("argv, key", [
    (("noc", "--seed", "-1"), "seed"),
    (("dram", "--seed", "-1"), "seed"),
    (("noc", "--traffic", "hotspot", "--hotspot-frac", "2"), "hotspot_frac"),
    (("noc", "--traffic", "hotspot", "--hotspot-frac", "-0.5"), "hotspot_frac")])
def test_characterize_checks_its_arguments_before_making_the_output(tmp_path, argv, key):
    out = tmp_path / "out"
    rc, _, err = run_inprocess("characterize", argv[0], "paper-20core", "--out", out,
                               *argv[1:])
    assert_one_line_error(rc, err, "--", key)
    assert not out.exists()


@pytest.mark.parametrize("override, key", [("energy.table=/nonexistent.yaml", "energy.table"),
                                           ("energy.overrides={foo: 1}", "energy.overrides.foo")])
def test_config_show_resolves_the_energy_table_as_a_run_does(override, key):
    rc, _, err = run_inprocess("config", "show", "paper-20core", "--set", override)
    assert_one_line_error(rc, err, "--set", key)


def test_reproduce_checks_the_gpu_before_simulating(no_simulation):
    rc, _, err = run_inprocess("reproduce", "--gpu", "zz")
    assert_one_line_error(rc, err, "--gpu", "<top>")


@pytest.mark.parametrize("argv, key", [
    (("config", "show", "paper-20core", "--set", "chip.dram_nodes=[[9, 9]]"),
     "chip.dram_nodes[0]"),
    (("run", "paper-20core", "mlp-digits", "--set", "workload.mapping.layers={fc1: [99]}"),
     "mapping.layers.fc1"),
    (("config", "show", "paper-20core", "--set", "dram.row_bytes=32"), "dram.row_bytes")])
def test_a_bad_value_inside_an_overridden_list_or_section_blames_set(no_chip_simulation,
                                                                     argv, key):
    rc, _, err = run_inprocess(*argv)
    assert_one_line_error(rc, err, "--set", key)


def test_a_full_disk_under_a_sweep_database_is_one_line(tmp_path, monkeypatch):
    import sqlite3

    import neurosim.sweep as sweep

    def full(*a, **k):
        e = sqlite3.OperationalError("database or disk is full")
        e.sqlite_errorcode = sqlite3.SQLITE_FULL
        raise e

    monkeypatch.setattr(sweep, "run_sweep", full)
    spec = tmp_path / "s.yaml"
    spec.write_text("arch: paper-20core\nworkload: mlp-digits\ngrid: {chip.cores: [1]}\n")
    rc, _, err = run_inprocess("sweep", spec, "--db", tmp_path / "s.db")
    assert rc == 1
    assert err == f"neurosim: error: {tmp_path / 's.db'}: No space left on device\n"


@pytest.mark.parametrize("override, source, key", [
    # an exceeded area budget names the overrides that exceeded it (the budget is the file's)
    ("noc.vcs=100000", "paper-20core.yaml with --set noc.vcs", "chip.area_budget_mm2"),
    ("chip.area_budget_mm2=1", "--set", "chip.area_budget_mm2"),
    # a list set on the command line is checked as the command line's
    ("workload.network.layers=[]", "--set", "network.layers"),
    ("workload.network.layers=[{type: linear, out: 0}]", "--set", "network.layers[0].out")])
def test_errors_caused_by_an_override_name_it(no_chip_simulation, override, source, key):
    rc, _, err = run_inprocess("run", "paper-20core", "mlp-digits", "--set", override)
    assert_one_line_error(rc, err, source, key)
