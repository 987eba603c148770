"""The CLI's subcommands, one module each with ``register(subparsers)``, which adds its
subcommand(s) with ``set_defaults(fn=...)``; the function receives the parsed args, calls
:mod:`neurosim.api` (or the module's own API) and prints. A new command is one module here
and one entry in ``COMMANDS`` (help lists them in this order).
"""
from __future__ import annotations

from . import (area, bench, characterize, compare_gpu, config, energy, federated, reproduce,
               run, scaling, sweep, trace, train, validate)

COMMANDS = (trace, config, area, characterize, compare_gpu, energy, federated, reproduce, run,
            scaling, sweep, train, validate, bench)

__all__ = ["COMMANDS"]
