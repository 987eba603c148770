"""The engine compiled in a second process on the first run after an install
(neurosim/memsys/precompile.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from neurosim.arch import load_arch
from neurosim.memsys import precompile
from neurosim.memsys.cycle import Engine, compile_engine_elsewhere, engine_run


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty stand-in for the engine's cache entry; no child of this process yet."""
    index = tmp_path / "cycle.engine_run-1.py311.nbi"
    monkeypatch.setattr(precompile, "_index", lambda kernel: index)
    monkeypatch.setattr(precompile, "_children", {})
    monkeypatch.setattr(precompile, "_compiling", False)
    return index


def _holder(index, seconds: float) -> subprocess.Popen:
    """A process that holds the compilation lock for ``seconds``, then writes the index
    (what a compiling child does), printing "locked" once it holds it."""
    code = textwrap.dedent(f"""
        import fcntl, sys, time
        f = open({str(precompile._lock(index))!r}, "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep({seconds})
        open({str(index)!r}, "w").write("compiled")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_wait_lets_a_compilation_elsewhere_finish(cache):
    proc = _holder(cache, 1.0)
    precompile.wait(engine_run)
    assert cache.read_text() == "compiled"   # returned only once the holder was done
    proc.wait()


def test_wait_returns_at_once_without_a_compilation(cache):
    precompile.wait(engine_run)                        # no lock file
    precompile._lock(cache).touch()
    precompile.wait(engine_run)                        # a lock nobody holds (a child that died)
    assert not cache.exists()


def test_the_compiling_process_does_not_wait_for_itself(cache, monkeypatch):
    # the child holds the lock and calls the engine, whose first call asks wait()
    proc = _holder(cache, 30.0)
    try:
        monkeypatch.setattr(precompile, "_compiling", True)
        precompile.wait(engine_run)
        assert not cache.exists()
    finally:
        proc.kill()
        proc.wait()


def test_start_only_when_the_engine_will_be_needed_and_is_not_compiled(cache, monkeypatch):
    holder = _holder(cache, 30.0)        # another process compiling it (until killed below)
    started = []
    monkeypatch.setattr(precompile.subprocess, "Popen",
                        lambda *a, **k: started.append(a) or object())
    monkeypatch.setattr(Engine._engine_run, "entry", None)
    edge = load_arch("paper-20core")
    ideal = load_arch("paper-20core", ["noc.model=ideal", "dram.model=ideal"])
    try:
        assert not compile_engine_elsewhere(edge)       # under way elsewhere
    finally:
        holder.kill()
        holder.wait()
    assert not compile_engine_elsewhere(ideal)          # an ideal memory system
    monkeypatch.setattr(precompile, "_cpus", lambda: 1)
    assert not compile_engine_elsewhere(edge)           # one CPU
    monkeypatch.setattr(precompile, "_cpus", lambda: 2)
    cache.write_text("compiled")
    assert not compile_engine_elsewhere(edge)           # in the cache
    cache.unlink()
    assert compile_engine_elsewhere(edge)
    assert not compile_engine_elsewhere(edge)           # already under way
    assert len(started) == 1
    assert started[0][0][1:4] == ["-m", "neurosim.memsys.precompile",
                                  "neurosim.memsys.cycle:_compile_engine"]
    monkeypatch.setattr(precompile, "_children", {})
    monkeypatch.setattr(Engine._engine_run, "entry", lambda *a: None)
    assert not compile_engine_elsewhere(edge)           # loaded in this process


@pytest.mark.slow
def test_first_run_after_an_install_gives_the_same_results(tmp_path):
    """An empty numba cache: the engine compiles in a child while the run goes on; the
    outputs are those of a run with everything cached, and the child is gone."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    outs = []
    for name in ("cold", "warm"):
        out = tmp_path / name
        subprocess.run([sys.executable, "-m", "neurosim", "run", "paper-20core",
                        "mlp-digits", "--set", "workload.batch=1", "--set",
                        "workload.time_steps=2", "--out", str(out)], env=env, check=True)
        outs.append(json.loads((out / "summary.json").read_text()))
    assert outs[0] == outs[1]
    assert list((tmp_path / "numba").rglob("cycle.engine_run-*.nbi"))
