"""Every shipped workload loads and `neurosim trace info` works on it through the CLI."""
from pathlib import Path

import pytest

from neurosim.workload import build_network, load_workload

WORKLOADS = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "workloads")
                   .glob("*.yaml"))
EXPECTED = {"mlp-digits", "convnet-digits", "vgg11-cifar10", "resnet19-cifar10",
            "vgg-cifar10dvs", "gesture-dvs128", "resnet18-imagenet"}


def test_all_expected_workloads_are_shipped():
    assert EXPECTED <= set(WORKLOADS)


@pytest.mark.long
@pytest.mark.parametrize("name", WORKLOADS)
def test_trace_info_on_shipped_workload(cli, tmp_path, monkeypatch, name):
    wl = load_workload(name)
    net = build_network(wl)
    args = ["trace", "info", f"workloads/{name}.yaml"]
    if wl.traces.source == "trainer":  # full training is covered by test_trainer.py
        args += ["--set", "traces.epochs=1"]
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))
    rc, out, err = cli(*args)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"trace of {name}: {len(net.layers)} weighted layers, batch "
                               f"{wl.batch}, T {wl.time_steps}, source {wl.traces.source}")
    rows = lines[2:-1]
    assert len(rows) == len(net.layers) * wl.time_steps
    for hl in net.layers:  # every layer has some spikes and some gradients
        mine = [r.split() for r in rows if r.split()[0] == hl.name]
        assert sum(float(r[6]) for r in mine) > 0, (hl.name, "firing")
        assert sum(float(r[8]) for r in mine) > 0, (hl.name, "g(U)")


def test_shipped_workloads_in_subfolders_resolve_from_anywhere(tmp_path, monkeypatch):
    """A workload under workloads/modes/ is found by its path below workloads/, with or
    without the folder and the .yaml suffix, from a directory that is not a checkout."""
    from neurosim.paths import WORKLOAD_DIR
    from neurosim.workload.schema import resolve_workload_path

    monkeypatch.chdir(tmp_path)
    want = WORKLOAD_DIR / "modes" / "rsc-mlp-digits.yaml"
    for name in ("modes/rsc-mlp-digits", "modes/rsc-mlp-digits.yaml",
                 "workloads/modes/rsc-mlp-digits.yaml", "mlp-digits"):
        got = resolve_workload_path(name)
        assert got == (want if "rsc" in name else WORKLOAD_DIR / "mlp-digits.yaml")
    assert not resolve_workload_path("modes/no-such").is_file()
