"""``neurosim`` command line: parse, call :mod:`neurosim.api`, print. Bad input of any kind
ends with one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import sys

from .errors import InputError
from .fileio import OutputFile, check_output_arguments

EXIT_INPUT = 2


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. core.fp.lanes=64 (repeatable)")


# --------------------------------------------------------------------------- commands


def cmd_trace_info(args) -> int:
    from . import api

    trace = api.trace_for(args.source, args.overrides)
    net = trace.network
    print(f"trace of {net.name}: {len(net.layers)} weighted layers, batch {trace.batch}, "
          f"T {trace.time_steps}, source {trace.meta.get('source', '?')}")
    print(f"{'layer':<12}{'kind':<7}{'t':>3}{'n_in':>9}{'n_out':>9}"
          f"{'input':>9}{'firing':>9}{'sg':>9}{'g(U)':>9}")
    for r in api.trace_density_table(trace):
        print(f"{r['layer']:<12}{r['kind']:<7}{r['t']:>3}{r['n_in']:>9}{r['n_out']:>9}"
              f"{r['input_density']:>9.4f}{r['firing_density']:>9.4f}"
              f"{r['surrogate_density']:>9.4f}{r['gradient_density']:>9.4f}")
    print("densities are fractions of nonzero entries over the batch (input = nonzero layer "
          "inputs, sg = surrogate mask, g(U) = nonzero membrane gradients)")
    return 0


def cmd_trace_generate(args) -> int:
    from . import api

    wl = api.load_workload(args.workload, args.overrides)
    trace = api.get_traces(wl)
    path = trace.save(args.out)
    print(f"wrote {path}")
    return 0


def cmd_config_show(args) -> int:
    import yaml

    from . import api

    cfg = api.load_arch(args.arch, args.overrides)
    print(yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None), end="")
    return 0


def cmd_config_reference(args) -> int:
    from .docs_gen import config_reference

    text = config_reference()
    if args.out:
        from .fileio import atomic_write_text

        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurosim", description=__doc__.split("\n")[0])
    from . import __version__

    p.add_argument("--version", action="version", version=f"neurosim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    tr = sub.add_parser("trace", help="inspect or generate training traces")
    trs = tr.add_subparsers(dest="trace_cmd", metavar="SUBCOMMAND")
    trs.required = True
    ti = trs.add_parser("info", help="per-layer, per-time-step spike and gradient densities")
    ti.add_argument("source", metavar="FILE_OR_WORKLOAD", help="a .npz trace or a workload YAML")
    _add_set(ti)
    ti.set_defaults(fn=cmd_trace_info)
    tg = trs.add_parser("generate", help="produce a workload's traces and save them (.npz)")
    tg.add_argument("workload")
    tg.add_argument("--out", required=True, type=OutputFile, help="output .npz path")
    _add_set(tg)
    tg.set_defaults(fn=cmd_trace_generate)

    cf = sub.add_parser("config", help="inspect arch configs")
    cfs = cf.add_subparsers(dest="config_cmd", metavar="SUBCOMMAND")
    cfs.required = True
    cs = cfs.add_parser("show", help="print the fully resolved config (extends, preset, --set)")
    cs.add_argument("arch")
    _add_set(cs)
    cs.set_defaults(fn=cmd_config_show)
    cr = cfs.add_parser("reference", help="print the config and workload key reference (Markdown)")
    cr.add_argument("--out", type=OutputFile, help="write to this file instead of stdout")
    cr.set_defaults(fn=cmd_config_reference)

    for register in _PLUGINS:
        register(sub)
    return p


# Subcommands in neurosim/commands/ register themselves (run, validate, sweep, ...), so this
# file stays a thin dispatcher.
_PLUGINS: list = []


def _load_plugins() -> None:
    """Collect the command modules once per process (main() may be called repeatedly)."""
    import importlib

    if _PLUGINS:
        return
    for mod in ("neurosim.commands",):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod:
                continue
            raise
        _PLUGINS.extend(getattr(m, "REGISTER", []))


def main(argv: list[str] | None = None) -> int:
    _load_plugins()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
