"""Run cases through two timing models and compare them.

The models are named ``MODULE:FUNCTION``; each is called as
``fn(arch, network, trace, placement, momentum=...) -> TimingResult``.
"""
from __future__ import annotations

import importlib
import importlib.util
import time
import traceback
from dataclasses import dataclass, field

from ..errors import InputError
from .checks import Checker
from .compare import compare
from .report import Summary, features
from .strategies import seeded_case

DEFAULT_MODEL = "neurosim.hw.chip:simulate"
REFERENCE = "neurosim.reference:simulate"


def load_model(spec: str, option: str = "--model"):
    """The function named ``MODULE:FUNCTION``; a one-line InputError if there is none."""
    mod, sep, fn = spec.partition(":")
    if not sep or not mod or not fn:
        raise InputError(option, "", "MODULE:FUNCTION, e.g. neurosim.hw.chip:simulate", spec)
    try:
        found = importlib.util.find_spec(mod)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise InputError(option, spec, f"an importable timing model (there is no module {mod})",
                         "no such module")
    f = getattr(importlib.import_module(mod), fn, None)
    if not callable(f):
        raise InputError(option, spec, f"a function {fn} in module {mod}", "no such function")
    return f


@dataclass
class CaseOutcome:
    index: int
    seed: int | None
    ok: bool
    report: str = ""                  # why it failed (first divergence, check, error)
    features: set = field(default_factory=set)
    cycles: int = 0
    t_ref: float = 0.0
    t_model: float = 0.0
    n_diffs: int = 0


def run_case(case, reference, model, index: int = 0, check: bool = True) -> CaseOutcome:
    """Run both models on ``case``; compare exactly; apply the closed-form checks."""
    out = CaseOutcome(index, case.seed, False)
    head = (f"case #{index} (seed {case.seed}; rebuild it with "
            f"neurosim.validation.strategies.case_from_seed({case.seed}))\n"
            f"  {case.describe()}")
    args = (case.arch, case.network, case.trace, case.placement)
    try:
        t0 = time.perf_counter()
        ref = reference(*args, momentum=case.momentum)
        t1 = time.perf_counter()
    except Exception:  # a model crashing is a finding, reported like a mismatch
        out.report = f"{head}\n  the reference raised:\n{_indent(traceback.format_exc())}"
        return out
    out.features = features(case, ref)
    out.cycles, out.t_ref = ref.total_cycles, t1 - t0
    if model is reference:
        mut, out.t_model = ref, out.t_ref
    else:
        try:
            t1 = time.perf_counter()
            mut = model(*args, momentum=case.momentum)
            out.t_model = time.perf_counter() - t1
        except Exception:
            out.report = f"{head}\n  the model raised:\n{_indent(traceback.format_exc())}"
            return out
    diffs = compare(ref, mut)
    out.n_diffs = len(diffs)
    if diffs:
        d = diffs[0]
        out.report = (f"{head}\n  first diverging event at cycle "
                      f"{'-' if d.time == float('inf') else int(d.time)} in {d.component}: "
                      f"{d.what}\n    reference: {d.reference}\n    model:     {d.model}\n"
                      f"  ({len(diffs)} differences in all)")
        return out
    if check:
        checker = Checker(case)
        problems = checker.check(ref)
        if model is not reference:
            problems += [f"model: {p}" for p in checker.check(mut)]
        if problems:
            out.report = (f"{head}\n  closed-form check failed: {problems[0]}\n"
                          f"  ({len(problems)} problems in all)")
            return out
    out.ok = True
    return out


def _indent(text: str) -> str:
    return "\n".join("    " + x for x in text.rstrip().splitlines()[-8:])


def validate(cases: int, seed: int = 0, model: str = DEFAULT_MODEL,
             reference: str = REFERENCE, progress=None, check: bool = True) -> Summary:
    """Run ``cases`` seeded cases; the summary counts passes and features."""
    ref_fn = load_model(reference, "--reference")
    mod_fn = ref_fn if model == reference else load_model(model, "--model")
    if model == DEFAULT_MODEL:
        from ..api import prepare_kernels

        prepare_kernels()   # a fresh install: the engine compiles beside the first cases
    summary = Summary(model, reference, seed)
    for i in range(cases):
        case = seeded_case(seed, i)
        res = run_case(case, ref_fn, mod_fn, i, check)
        summary.cases += 1
        summary.features.update(res.features)
        summary.modes[(case.arch.noc.model, case.arch.dram.model)] += 1
        if res.ok:
            summary.passed += 1
            summary.record_speed(i, res.cycles, res.t_ref, res.t_model)
        else:
            summary.failures += 1
            if summary.first_failure is None:
                summary.first_failure = res.report
        if progress is not None:
            progress(i, res)
    return summary
