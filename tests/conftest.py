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


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def root():
    return ROOT
