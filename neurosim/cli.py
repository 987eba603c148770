"""``neurosim`` command line: parse, call :mod:`neurosim.api`, print. Bad input of any kind
ends with one line on stderr and exit code 2. The commands live in :mod:`neurosim.commands`,
one module each, listed there explicitly."""
from __future__ import annotations

import argparse
import errno
import sys

from .errors import InputError
from .fileio import check_output_arguments

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the usage block first);
    the subcommands' parsers are of this class too."""

    def error(self, message):
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .commands import COMMANDS

    p = _Parser(prog="neurosim", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"neurosim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_output_arguments(args)
        return int(args.fn(args) or 0)
    except InputError as e:
        print(f"neurosim: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        # the estimates before allocation (workload.batch/time_steps, chip.mesh, sweep size)
        # should catch this first; this is the last line of defence, still one line
        print("neurosim: error: out of memory: reduce workload.batch, workload.time_steps "
              "or the chip size", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        # on a line of its own: on a terminal a progress bar may have left the cursor mid-line
        print(("\n" if sys.stderr.isatty() else "") + "neurosim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:   # after BrokenPipeError, one of them
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # not a bad input (exit 1), but one line too; the outputs are written whole or not at
        # all (fileio.write_directory), so nothing half-written is left
        print(f"neurosim: error: {e.filename or 'output'}: {e.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
