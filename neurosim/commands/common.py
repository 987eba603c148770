"""What several commands declare the same way: the ``--set`` option."""
from __future__ import annotations

SET_HELP = ("override a key: arch keys as they are (chip.cores=4), workload keys prefixed with "
            "workload. (workload.batch=2); repeatable")


def add_set(parser, help: str = SET_HELP) -> None:
    """``--set KEY=VALUE`` (repeatable), collected in ``args.overrides``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help=help)


__all__ = ["add_set", "SET_HELP"]
