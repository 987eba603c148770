"""``neurosim trace``: inspect traces (info), generate them from a workload's trace source
(generate), train with the built-in trainer and record (train), record from a PyTorch SNN
(import-torch)."""
from __future__ import annotations

from ..fileio import OutputFile

import sys

from .common import add_set

WORKLOAD_SET_HELP = "override a workload key, e.g. traces.epochs=5 (repeatable)"


def register(sub) -> None:
    tr = sub.add_parser("trace", help="inspect or generate training traces")
    trs = tr.add_subparsers(dest="trace_cmd", metavar="SUBCOMMAND")
    trs.required = True
    ti = trs.add_parser("info", help="per-layer, per-time-step spike and gradient densities")
    ti.add_argument("source", metavar="FILE_OR_WORKLOAD", help="a .npz trace or a workload YAML")
    add_set(ti, WORKLOAD_SET_HELP)
    ti.set_defaults(fn=cmd_trace_info)
    tg = trs.add_parser("generate", help="produce a workload's traces and save them (.npz)")
    tg.add_argument("workload")
    tg.add_argument("--out", required=True, type=OutputFile, help="output .npz path")
    add_set(tg, WORKLOAD_SET_HELP)
    tg.set_defaults(fn=cmd_trace_generate)

    tt = trs.add_parser("train", help="train a workload with the built-in BPTT trainer and "
                        "record its trace (cached; prints the training log and accuracy)")
    tt.add_argument("workload", help="workload YAML with traces.source: trainer")
    tt.add_argument("--out", type=OutputFile, help="also write the trace to this .npz file")
    tt.add_argument("--quiet", action="store_true", help="no per-epoch log")
    add_set(tt, WORKLOAD_SET_HELP)
    tt.set_defaults(fn=cmd_trace_train)

    ti = trs.add_parser(
        "import-torch", help="record a trace from a PyTorch SNN (snnTorch, SpikingJelly or "
        "plain torch) through hooks; needs neurosim[torch]",
        description="Run one training step of a PyTorch SNN and record its trace. ENTRY is "
        "MODULE:FUNCTION or FILE.py:FUNCTION; FUNCTION(workload, network) returns a dict with "
        "'model' (torch.nn.Module), 'inputs' (T, B, C, H, W or T, B, N), 'labels' (B,) and "
        "optionally 'run' (model, inputs -> outputs) and 'loss' (outputs, labels -> scalar). "
        "The workload YAML gives the shapes, neuron and loss; the k-th nn.Conv2d/nn.Linear "
        "that runs is its k-th weighted layer.")
    ti.add_argument("workload", help="workload YAML describing the same network")
    ti.add_argument("--entry", required=True, metavar="MODULE:FUNCTION",
                    help="entry point that builds the model and a batch")
    ti.add_argument("--out", required=True, type=OutputFile, help="output .npz trace")
    add_set(ti, WORKLOAD_SET_HELP)
    ti.set_defaults(fn=cmd_trace_import_torch)


def cmd_trace_info(args) -> int:
    from .. import api

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
    from .. import api

    wl = api.load_workload(args.workload, args.overrides)
    trace = api.get_traces(wl)
    path = trace.save(args.out)
    print(f"wrote {path}")
    return 0


def cmd_trace_train(args) -> int:
    from ..workload import build_network, load_workload
    from ..workload.trainer import record_trace

    wl = load_workload(args.workload, args.overrides)
    if wl.traces.source != "trainer":
        raise wl.error("traces.source", "trainer (for neurosim trace train)", wl.traces.source)
    log = None if args.quiet else (lambda line: print(line, flush=True))
    trace = record_trace(wl, build_network(wl), log=log)
    m = trace.meta
    where = f"from cache {m['cache']}" if "cache" in m else f"trained in {m['train_seconds']} s"
    print(f"{wl.name}: {m['dataset']}, {m['epochs']} epochs, test accuracy "
          f"{m['test_accuracy']:.4f}, train accuracy {m['train_accuracy']:.4f} ({where})")
    print_layer_means(trace)
    if args.out:
        print(f"wrote {trace.save(args.out)}")
    return 0


def print_layer_means(trace) -> None:
    """Per-layer densities of the recorded step, averaged over time steps and batch."""
    print(f"{'layer':<12}{'kind':<7}{'n_in':>9}{'n_out':>9}{'input':>9}{'firing':>9}{'sg':>9}"
          f"{'g(U)':>9}")
    for hl, lt in zip(trace.network.layers, trace.layers):
        d = [float(lt.density(k).mean()) for k in ("in_mask", "out_spikes", "sg_mask",
                                                    "gu_mask")]
        print(f"{hl.name:<12}{hl.kind:<7}{hl.n_in:>9}{hl.n_out:>9}" + "".join(f"{v:>9.4f}"
                                                                             for v in d))


def cmd_trace_import_torch(args) -> int:
    from ..workload import load_workload
    from ..workload.torch_import import import_from_entry, require_torch

    require_torch()
    wl = load_workload(args.workload, args.overrides)
    trace = import_from_entry(wl, args.entry)
    m = trace.meta
    print(f"{wl.name}: recorded {len(trace.layers)} weighted layers, batch {trace.batch}, "
          f"T {trace.time_steps}, loss {m['loss']:.4f}, spike mismatches "
          f"{m['spike_mismatch_bits']}", file=sys.stdout)
    print_layer_means(trace)
    print(f"wrote {trace.save(args.out)}")
    return 0
