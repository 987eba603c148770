import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None):
    """Run `python -m neurosim ARGS`; return (returncode, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "neurosim", *map(str, args)],
                       capture_output=True, text=True, cwd=cwd or ROOT)
    return p.returncode, p.stdout, p.stderr


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
