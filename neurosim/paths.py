"""Where the shipped configs live, and how a file is named in messages.

Arch configs, workloads and sweep specs ship inside the package (``neurosim/data/``), so a
bare name such as ``paper-20core`` or ``mlp-digits`` resolves in any install, editable or
not. In a source checkout ``arch_configs/`` and ``workloads/`` at the repository root are
links to these folders, so paths such as ``workloads/vgg11-cifar10.yaml`` work from there.
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
ARCH_DIR = DATA_DIR / "arch_configs"
WORKLOAD_DIR = DATA_DIR / "workloads"


def display_path(path) -> str:
    """A path as a user would type it: a shipped file as ``arch_configs/NAME.yaml`` or
    ``workloads/NAME.yaml`` (wherever the package is installed), another file relative to
    the working directory when it is below it, else as given."""
    p = Path(os.path.abspath(path))
    try:
        return str(p.resolve().relative_to(DATA_DIR))
    except ValueError:
        pass
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


__all__ = ["DATA_DIR", "ARCH_DIR", "WORKLOAD_DIR", "display_path"]
