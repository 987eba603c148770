import io
import logging
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None):
    """Run `python -m neurosim ARGS` in a child process; return (returncode, stdout,
    stderr). The child is forked from this test process, whose imports and loaded kernels it
    shares: a fresh interpreter spends about a second importing them, which over the suite's
    ~100 calls was a third of its time. It is otherwise the command as a user runs it: its
    own process, exit code, stdout and stderr files, warnings and logging as a new
    interpreter sets them. Not after torch is imported here: a child forked after torch's
    OpenMP threads started can hang, so then a new interpreter runs it (`run_cli_fresh`)."""
    if "torch" in sys.modules:
        return run_cli_fresh(*args, cwd=cwd)
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        child = multiprocessing.get_context("fork").Process(
            target=_cli_child, args=([str(a) for a in args], cwd or ROOT, out, err))
        child.start()
        child.join()
        return child.exitcode, out.read_text(), err.read_text()


def run_cli_fresh(*args, cwd=None):
    """Run `python -m neurosim ARGS` in a new interpreter; return (returncode, stdout,
    stderr)."""
    p = subprocess.run([sys.executable, "-m", "neurosim", *map(str, args)],
                       capture_output=True, text=True, cwd=cwd or ROOT)
    return p.returncode, p.stdout, p.stderr


def _cli_child(args, cwd, out, err):
    """`python -m neurosim ARGS` in the child of :func:`run_cli` (multiprocessing's process
    start turns its SystemExit into the exit code, as the interpreter does)."""
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False))
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True,
                                  errors="backslashreplace")
    # pytest records warnings and log records in this process: print them, as at start-up
    warnings.resetwarnings()
    for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning,
                     DeprecationWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    warnings.showwarning = _print_warning
    logging.root.handlers.clear()
    logging.root.setLevel(logging.WARNING)
    sys.argv = ["neurosim", *args]
    try:
        runpy.run_module("neurosim", run_name="__main__", alter_sys=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _print_warning(message, category, filename, lineno, file=None, line=None):
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno,
                                                      line))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``long`` first: the workers take tests in this order, and a long one
    taken last keeps its worker busy while the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session", autouse=True)
def kernels_prepared():
    """On a fresh clone (empty numba cache) the first simulation compiles the kernels, the
    memory system's engine in a second process while this one compiles the chip's on a
    small step (``api.prepare_kernels``): done here, before any test replaces a function
    that step goes through; a no-op with the cache filled."""
    from neurosim import api

    api.prepare_kernels()


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(scope="session")
def dask_client():
    """One local Dask cluster (2 worker processes, 1 thread each) shared by the sweep tests:
    starting one takes seconds. Workers inherit sys.path, so they import tests/fake_runner."""
    import logging

    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
