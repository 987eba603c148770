"""``neurosim validate``: the differential test of the event-driven model against the
cycle-stepped reference (``docs/validation.md``)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    from ..validation.harness import DEFAULT_MODEL, REFERENCE

    p = sub.add_parser("validate", help="compare the event-driven timing model with the "
                       "cycle-stepped reference on random small cases, cycle for cycle")
    p.add_argument("--cases", default="200", metavar="N",
                   help="random cases to run (default 200; 2000 is the slow check)")
    p.add_argument("--seed", default="0", metavar="S",
                   help="seed of the case generator (default 0)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="MODULE:FUNCTION",
                   help=f"the model under test (default {DEFAULT_MODEL})")
    p.add_argument("--reference", default=REFERENCE, metavar="MODULE:FUNCTION",
                   help=f"the golden model (default {REFERENCE})")
    p.add_argument("--no-checks", action="store_true",
                   help="skip the closed-form checks of each model's records")
    p.add_argument("--progress", action="store_true", help="print a line per case")
    p.set_defaults(fn=run)


def _int(text: str, lo: int, option: str) -> int:
    from ..errors import InputError

    try:
        v = int(text)
    except ValueError:
        v = None
    if v is None or v < lo:
        raise InputError(option, "", "a positive integer" if lo > 0 else
                         "a non-negative integer", text)
    return v


def run(args) -> int:
    from ..validation.harness import validate

    def progress(i, res):
        status = "ok" if res.ok else "FAIL"
        print(f"case {i}: {status} ({res.cycles} cycles, reference {res.t_ref:.2f} s, "
              f"model {res.t_model:.2f} s)", flush=True)

    cases, seed = _int(args.cases, 1, "--cases"), _int(args.seed, 0, "--seed")
    summary = validate(cases, seed, args.model, args.reference,
                       progress if args.progress else None, check=not args.no_checks)
    print(f"$ neurosim validate --cases {cases} --seed {seed}"
          + ("" if args.model == _default_model() else f" --model {args.model}"))
    print(summary.text())
    sys.stdout.flush()
    return 0 if summary.failures == 0 else 1


def _default_model() -> str:
    from ..validation.harness import DEFAULT_MODEL

    return DEFAULT_MODEL
