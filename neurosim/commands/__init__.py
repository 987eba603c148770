"""CLI subcommands beyond the basics in :mod:`neurosim.cli`.

Each module here defines ``register(subparsers)``, which adds its subcommand(s) with
``set_defaults(fn=...)``; the function receives the parsed args, calls :mod:`neurosim.api`
(or the module's own API) and prints. Modules are discovered automatically, so adding a
command never touches another file.
"""
from __future__ import annotations

import importlib
import pkgutil


def _discover():
    regs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "register"):
            regs.append(mod.register)
    return regs


REGISTER = _discover()
