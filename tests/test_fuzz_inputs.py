"""Fuzzing the CLI with mutated shipped inputs (issue 14): hypothesis changes the types and
values of keys, deletes, inserts and duplicates keys, and truncates the text of the shipped
arch configs, workloads and sweep specs, and mutates the arrays and JSON fields of a trace
file; each mutant is handed to the CLI in-process. Every outcome must be a success or an
input error (exit 2, one line); any other exception fails the test with its traceback.

The default suite draws 200 examples in all (derandomized, so CI is repeatable);
``pytest -m slow`` draws 5,000 with fresh randomness. What is covered: docs/validation.md.
"""
import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim import cli
from test_bad_inputs_cli import SMALL_WL

ROOT = Path(__file__).resolve().parent.parent

ARCHS = sorted((ROOT / "arch_configs").glob("*.yaml"))
# synthetic traces of small networks: `trace info` generates them in well under a second
WORKLOADS = [ROOT / "workloads" / "vgg11-cifar10.yaml", ROOT / "workloads" / "gesture-dvs128.yaml"]
SPECS = sorted((ROOT / "workloads" / "sweeps").glob("*.yaml"))

# (test name, CI examples, slow examples): 200 and 5,000 in all
BUDGET = {"arch": (60, 1500), "workload": (40, 1000), "spec": (50, 1250), "trace": (50, 1250)}

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.integers(-2, 10**6), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 64), max_size=2))


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as e:
            rc = e.code
    return rc, err.getvalue()


def assert_clean(rc, err, what):
    assert rc in (0, 1, 2), (what, rc, err)   # 1: a sweep whose points did not all finish
    if rc == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("neurosim: error: "), (what, err)


def _nodes(tree, path=()):
    yield path
    if isinstance(tree, dict):
        for k, v in list(tree.items()):
            yield from _nodes(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _nodes(v, path + (i,))


def _at(tree, path):
    for p in path:
        tree = tree[p]
    return tree


@st.composite
def mutated_yaml(draw, text: str) -> str:
    """1-3 tree mutations (replace, delete, insert), then maybe a duplicated key or a cut."""
    tree = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _nodes(tree) if p]
        if not isinstance(tree, dict) or not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(tree, path[:-1])
        how = draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
        if how == "replace":
            parent[path[-1]] = draw(VALUES)
        elif how == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["x", "cores", "lanes", "size_kib", "extends", "1"]))] \
                = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    out = yaml.safe_dump(tree, sort_keys=False)
    tail = draw(st.sampled_from(["none", "none", "duplicate", "truncate"]))
    lines = out.splitlines(keepends=True)
    if tail == "duplicate" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        out = "".join(lines)
    elif tail == "truncate":
        out = out[: draw(st.integers(0, len(out)))]
    return out


def fuzz_settings(kind: str, slow: bool):
    n = BUDGET[kind][1 if slow else 0]
    return settings(max_examples=n, deadline=None, derandomize=not slow, database=None,
                    suppress_health_check=list(HealthCheck))


def _examples(kind):
    return [pytest.param(False, id="ci"),
            pytest.param(True, id="slow", marks=pytest.mark.slow)]


@pytest.mark.parametrize("slow", _examples("arch"))
def test_fuzz_arch_configs(tmp_path, slow):
    @fuzz_settings("arch", slow)
    @given(src=st.sampled_from(ARCHS), data=st.data())
    def check(src, data):
        text = data.draw(mutated_yaml(src.read_text()))
        f = tmp_path / src.name
        f.write_text(text)
        assert_clean(*run_cli("config", "show", f), text)

    check()


@pytest.mark.long
@pytest.mark.parametrize("slow", _examples("workload"))
def test_fuzz_workloads(tmp_path, slow):
    sources = [SMALL_WL] + [p.read_text() for p in WORKLOADS]

    @fuzz_settings("workload", slow)
    @given(text=st.sampled_from(sources), data=st.data())
    def check(text, data):
        text = data.draw(mutated_yaml(text))
        f = tmp_path / "wl.yaml"
        f.write_text(text)
        assert_clean(*run_cli("trace", "info", f), text)

    check()


@pytest.mark.parametrize("slow", _examples("spec"))
def test_fuzz_sweep_specs(tmp_path, slow):
    def absolute(p):  # the mutant lives in tmp_path: its base paths must not be relative
        raw = yaml.safe_load(p.read_text())
        for k in ("arch", "workload"):
            raw[k] = str((p.parent / raw[k]).resolve())
        return yaml.safe_dump(raw, sort_keys=False)

    sources = [absolute(p) for p in SPECS]

    @fuzz_settings("spec", slow)
    @given(text=st.sampled_from(sources), data=st.data())
    def check(text, data):
        text = data.draw(mutated_yaml(text))
        f = tmp_path / "spec.yaml"
        f.write_text(text)
        assert_clean(*run_cli("sweep", f, "--dry-run"), text)

    check()


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzztrace")
    (d / "small.yaml").write_text(SMALL_WL)
    rc, err = run_cli("trace", "generate", d / "small.yaml", "--out", d / "small.npz")
    assert rc == 0, err
    with np.load(d / "small.npz") as z:
        return {k: z[k] for k in z.files}, (d / "small.npz").read_bytes()


ARRAYS = st.one_of(
    st.builds(lambda dt, shape: np.zeros(shape, dt),
              st.sampled_from([np.uint64, np.int64, np.float16, np.bool_, np.uint8]),
              st.lists(st.integers(0, 4), max_size=4).map(tuple)),
    st.builds(np.array, st.text(max_size=20)),
    st.builds(np.array, st.integers(-5, 5)))


@pytest.mark.parametrize("slow", _examples("trace"))
def test_fuzz_trace_files(tmp_path, small_trace, slow):
    arrays, raw = small_trace

    @fuzz_settings("trace", slow)
    @given(data=st.data())
    def check(data):
        f = tmp_path / "t.npz"
        how = data.draw(st.sampled_from(["array", "delete", "json", "truncate"]))
        if how == "truncate":
            f.write_bytes(raw[: data.draw(st.integers(0, len(raw)))])
        else:
            d = dict(arrays)
            key = data.draw(st.sampled_from(sorted(d)))
            if how == "array":
                d[key] = data.draw(ARRAYS)
            elif how == "delete":
                del d[key]
            else:
                field = data.draw(st.sampled_from(["network", "meta"]))
                text = data.draw(mutated_yaml(json.dumps(json.loads(str(d[field])))))
                try:   # the mutant as JSON where it still parses, else its raw text
                    d[field] = np.array(json.dumps(yaml.safe_load(text)))
                except (yaml.YAMLError, TypeError, ValueError):
                    d[field] = np.array(text)
            np.savez(f, **d)
        assert_clean(*run_cli("trace", "info", f), how)

    check()
