"""`neurosim run`: outputs, re-mapping on --set chip.cores=N, and one-line errors for
impossible mappings (exit code 2)."""
import json
from xml.etree import ElementTree

import pytest
import yaml

from neurosim import api

SVG = "{http://www.w3.org/2000/svg}"

TINY = {
    "name": "tiny", "time_steps": 2, "batch": 2,
    "network": {"input": {"shape": [2, 8, 8], "coding": "dvs"}, "layers": [
        {"name": "c1", "type": "conv2d", "out_channels": 6},
        {"type": "maxpool", "kernel": 2},
        {"name": "c2", "type": "conv2d", "out_channels": 8},
        {"type": "flatten"},
        {"name": "fc", "type": "linear", "out": 4}]},
    "traces": {"source": "synthetic", "seed": 2, "input_density": 0.3},
}


def write(tmp_path, data, name="tiny.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_run_writes_outputs_and_prints_summary(cli, tmp_path):
    wl = write(tmp_path, TINY)
    out = tmp_path / "out"
    rc, stdout, stderr = cli("run", "single-core", wl, "--out", out)
    assert rc == 0, stderr
    assert "cycles" in stdout and "utilisation" in stdout and "mapping:" in stdout
    summary = json.loads((out / "summary.json").read_text())
    for key in ("total_cycles", "seconds", "dram_read_bytes", "dram_write_bytes",
                "dram_read_bytes_weights", "dram_write_bytes_state", "noc_flits", "util_fp",
                "util_bp", "util_wg", "cores", "executed_ops", "dense_ops"):
        assert key in summary
    assert summary["cores"] == 1 and summary["total_cycles"] > 0
    assert 0 < summary["executed_ops"] < summary["dense_ops"]
    stats = json.loads((out / "stats.json").read_text())
    busy = stats["chip"]["core0"]["fp"]["busy_cycles"]
    assert set(busy) == {"value", "unit", "desc"} and busy["unit"] == "cycle"
    csv = (out / "stats.csv").read_text().splitlines()
    assert csv[0] == "stat,value,unit,description"
    assert any(line.startswith("chip.core0.bp.busy_cycles_by_layer::c2,") for line in csv)
    # DRAM statistics of the cycle-level controller (docs/dram.md): every request is a row
    # hit, miss or conflict; the summary line and keys agree with stats.json
    ch0 = stats["chip"]["dram"]["ch0"]
    assert ch0["row_hits"]["unit"] == "request"
    assert (ch0["row_hits"]["value"] + ch0["row_misses"]["value"]
            + ch0["row_conflicts"]["value"]) == ch0["requests"]["value"] > 0
    assert summary["dram_row_hits"] == sum(c["row_hits"]["value"]
                                           for c in stats["chip"]["dram"].values()
                                           if isinstance(c, dict) and "row_hits" in c)
    assert "DRAM rows" in stdout and summary["dram_avg_read_latency"] > 0
    # NoC statistics of the cycle-level router (docs/noc.md): latency by message kind in
    # stats.json; the summary's mean is their packet-weighted mean
    noc = stats["chip"]["noc"]
    mean = noc["packet_latency_mean_by_kind"]
    assert mean["unit"] == "cycle" and mean["value"] and min(mean["value"].values()) > 0
    p50, p99 = (noc[f"packet_latency_{q}_by_kind"]["value"] for q in ("p50", "p99"))
    assert all(p50[k] <= p99[k] for k in p50)
    assert summary["noc_max_p99_packet_latency"] == max(p99.values())
    assert summary["noc_max_link_utilization"] is None and noc["link_utilization"]["value"] \
        == {}   # a 1 x 1 mesh has no links
    assert min(mean["value"].values()) <= summary["noc_avg_packet_latency"] <= max(
        mean["value"].values())
    assert "packet latency" in stdout
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]   # no temp files
    # the same numbers through the API
    res = api.run("single-core", str(wl))
    assert res.summary == summary


def test_run_out_draws_the_noc_link_heat_map(cli, tmp_path):
    # with the cycle-level NoC (the default) --out also holds noc_links.svg, an SVG of the
    # mesh (an arrow per directed link); the ideal NoC has no link statistics, so no heat
    # map, and a rerun into the same directory replaces the earlier one whole
    wl = write(tmp_path, TINY)
    out = tmp_path / "out"
    rc, stdout, stderr = cli("run", "paper-20core", wl, "--out", out)
    assert rc == 0, stderr
    root = ElementTree.parse(out / "noc_links.svg").getroot()
    width, height = int(root.get("width")), int(root.get("height"))
    assert width > height > 100    # the 5 x 4 mesh and its colour bar: wider than high
    assert len(root.findall(f"{SVG}polygon")) == 2 * (4 * 4 + 5 * 3)   # directed links
    assert "noc_links.svg" in stdout
    rc, stdout, stderr = cli("run", "paper-20core", wl, "--set", "noc.model=ideal", "--out",
                             out)
    assert rc == 0, stderr
    assert (out / "summary.json").is_file() and not (out / "noc_links.svg").exists()
    assert "noc_links.svg" not in stdout


def test_run_out_replaces_a_directory_of_earlier_png_plots(cli, tmp_path):
    # the plots were PNGs before: a directory holding them is a run's output too
    wl = write(tmp_path, TINY)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("stats.json", "gantt.png", "noc_links.png"):
        (out / name).write_bytes(b"old")
    rc, stdout, stderr = cli("run", "single-core", wl, "--out", out)
    assert rc == 0, stderr
    assert not (out / "gantt.png").exists() and (out / "gantt.svg").is_file()


@pytest.mark.parametrize("n", [1, 3, 5])
def test_set_chip_cores_remaps(cli, tmp_path, n):
    wl = write(tmp_path, TINY)
    out = tmp_path / "o"
    # the time objective gives every core work; the default (balanced) may leave cores idle
    # when that saves energy x delay, but never uses a core beyond chip.cores
    for objective, want_all in (("time", True), ("balanced", False)):
        rc, stdout, stderr = cli("run", "paper-20core", wl, "--set", f"chip.cores={n}",
                                 "--set", f"mapping.objective={objective}", "--out", out)
        assert rc == 0, stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["cores"] == n
        placement = json.loads((out / "placement.json").read_text())
        used = {p["core"] for r in placement["replicas"] for parts in r["layers"].values()
                for p in parts}
        assert used == set(range(n)) if want_all else used <= set(range(n))
        if want_all:
            assert f"core{n - 1}[" in stdout


def test_workload_overrides_go_to_the_workload(tmp_path):
    wl = write(tmp_path, TINY)
    res = api.run("single-core", str(wl), ["workload.batch=1", "chip.clock_mhz=250"])
    assert res.workload.batch == 1 and res.arch.chip.clock_mhz == 250.0
    assert res.summary["seconds"] == pytest.approx(res.summary["total_cycles"] / 250e6)


def one_line_error(cli, *args):
    rc, stdout, stderr = cli(*args)
    assert rc == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    return lines[0]


def test_more_cores_than_the_mesh(cli, tmp_path):
    wl = write(tmp_path, TINY)
    msg = one_line_error(cli, "run", "paper-20core", wl, "--set", "chip.cores=21")
    assert "--set: chip.cores: expected at most mesh.cols*mesh.rows = 20 cores, got 21" in msg


def test_layer_whose_one_channel_part_fits_nowhere(cli, tmp_path):
    # c1: 8x8 outputs -> one channel needs GU = 2*64*16 bits = 256 B; c2 (4x4 outputs, 6x4x4
    # inputs): GU 64 B + GS 96*2 = 192 B = 256 B. With 0.25 KiB both fit; the state buffer
    # then needs U + saved of one channel of c1: 128 + 16 B > 0.125 KiB.
    wl = write(tmp_path, TINY)
    msg = one_line_error(cli, "run", "single-core", wl, "--set", "core.sram.state.size_kib=0.125",
                         "--set", "core.sram.state.banks=4")
    assert msg.startswith("neurosim: error: --set: core.sram.state.size_kib: expected at least")
    assert "one output channel of layer c1" in msg


def test_output_layer_split_is_an_error(cli, tmp_path):
    data = dict(TINY, mapping={"layers": {"fc": [0, 1]}})
    wl = write(tmp_path, data)
    msg = one_line_error(cli, "run", "paper-20core", wl)
    assert f"{wl.name}: mapping.layers.fc: expected one core for the output layer" in msg


@pytest.mark.parametrize("layers, key", [
    ({"c1": [0, 7]}, "mapping.layers.c1"),       # core 7 of 4
    ({"conv9": [0]}, "mapping.layers.conv9"),    # no such layer
    ({"c2": []}, "mapping.layers.c2"),
    ({"c2": [1, 1]}, "mapping.layers.c2"),
    ({"fc": [0], "c1": [0, 1, 2, 3], "c2": ["a"]}, "mapping.layers.c2"),
])
def test_bad_explicit_mappings(cli, tmp_path, layers, key):
    wl = write(tmp_path, dict(TINY, mapping={"layers": layers}))
    msg = one_line_error(cli, "run", "paper-20core", wl, "--set", "chip.cores=4")
    assert f": {key}: expected" in msg


def test_explicit_mapping_is_output_split_over_the_listed_cores(tmp_path):
    wl = write(tmp_path, dict(TINY, mapping={"layers": {"c1": [2, 0], "c2": [1]}}))
    res = api.run("paper-20core", str(wl), ["chip.cores=3"])
    layers = res.placement.replicas[0].layers
    assert [(p.core, p.out_lo, p.out_hi) for p in layers["c1"]] == [(2, 0, 3), (0, 3, 6)]
    assert [(p.core, p.out_lo, p.out_hi) for p in layers["c2"]] == [(1, 0, 8)]
    assert [p.core for p in layers["fc"]] == [1]     # unlisted: the previous layer's last core
    # --set mapping.strategy on the command line wins over the workload's explicit layout
    res = api.run("paper-20core", str(wl), ["chip.cores=3", "mapping.strategy=layer-pipelined"])
    assert res.placement.strategy == "layer-pipelined"
