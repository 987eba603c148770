"""``neurosim config``: print a resolved arch config (show) or the key reference (reference)."""
from __future__ import annotations

from ..fileio import OutputFile

from .common import add_set


def register(sub) -> None:
    cf = sub.add_parser("config", help="inspect arch configs")
    cfs = cf.add_subparsers(dest="config_cmd", metavar="SUBCOMMAND")
    cfs.required = True
    cs = cfs.add_parser("show", help="print the fully resolved config (extends, preset, --set)")
    cs.add_argument("arch")
    add_set(cs, "override a config key, e.g. core.fp.lanes=64 (repeatable)")
    cs.set_defaults(fn=cmd_config_show)
    cr = cfs.add_parser("reference", help="print the config and workload key reference (Markdown)")
    cr.add_argument("--out", type=OutputFile, help="write to this file instead of stdout")
    cr.set_defaults(fn=cmd_config_reference)


def cmd_config_show(args) -> int:
    import yaml

    from .. import api
    from ..energy.table import load_table

    cfg = api.load_arch(args.arch, args.overrides)
    load_table(cfg)   # its energy table too (a file, overrides), as a run would resolve it
    print(yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None), end="")
    return 0


def cmd_config_reference(args) -> int:
    from ..docs_gen import config_reference

    text = config_reference()
    if args.out:
        from ..fileio import atomic_write_text

        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
