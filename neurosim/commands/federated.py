"""``neurosim federated ARCH WORKLOAD [--set k=v ...] [--out DIR]``: federated learning on
``federated.workers`` chips of ARCH (docs/federated.md).

Prints one row per round (accuracy of the averaged model, round time, local compute time of
the slowest worker, link time, energy by class, traffic) and, with ``--out``, writes
rounds.csv, summary.json and federated.png there (each to a temporary name, then renamed).
"""
from __future__ import annotations

from ..fileio import OutputDir

import csv
import io
import json
import math
import sys
from pathlib import Path


# (header, key, scale, format) of the printed table.
TABLE = (
    ("round", "round", 1, "{:>5.0f}"),
    ("acc %", "accuracy", 100, "{:>7.2f}"),
    ("round ms", "round_s", 1e3, "{:>9.4f}"),
    ("compute ms", "compute_s_max", 1e3, "{:>11.4f}"),
    ("link ms", "link_s", 1e3, "{:>8.4f}"),
    ("agg ms", "aggregation_s", 1e3, "{:>7.4f}"),
    ("E comp mJ", "energy_compute_j", 1e3, "{:>10.4f}"),
    ("E link mJ", "energy_link_j", 1e3, "{:>10.4f}"),
    ("E agg mJ", "energy_aggregation_j", 1e3, "{:>9.4f}"),
    ("E idle mJ", "energy_idle_j", 1e3, "{:>10.4f}"),
    ("E total mJ", "energy_j", 1e3, "{:>11.4f}"),
    ("kB up", "bytes_up", 1e-3, "{:>9.1f}"),
    ("kB down", "bytes_down", 1e-3, "{:>9.1f}"),
    ("sim/est", None, 1, "{:>8}"),
)


def _width(key, fmt) -> int:
    return len(fmt.format(0)) if key else 8


def header() -> str:
    return " ".join(f"{h:>{_width(k, f)}}" for h, k, _, f in TABLE)


def row(rec: dict) -> str:
    cells = []
    for _, key, scale, fmt in TABLE:
        if key is None:
            cells.append(fmt.format(f"{rec['simulated_steps']}/{rec['estimated_steps']}"))
        elif math.isnan(rec[key]):
            cells.append(f"{'nan':>{_width(key, fmt)}}")
        else:
            cells.append(fmt.format(rec[key] * scale))
    return " ".join(cells)


def _json_safe(v):
    """NaN (no timing model) as null: summary.json stays strict JSON."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def to_csv(rounds: list) -> str:
    n = len(rounds[0]["worker_compute_s"]) if rounds else 0
    from ..federated import ROUND_COLUMNS

    cols = list(ROUND_COLUMNS) + [f"compute_s_w{k}" for k in range(n)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rounds:
        flat = dict(r)
        flat.update({f"compute_s_w{k}": v for k, v in enumerate(r["worker_compute_s"])})
        w.writerow({k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in flat.items()
                    if k in cols})
    return buf.getvalue()


def cmd_federated(args) -> int:
    from .. import api
    from ..federated import run_federated
    from ..plots import federated_figure

    from ..federated.config import load_federated, split_federated

    fed_o, rest = split_federated(args.overrides)
    fed = load_federated(fed_o).federated
    arch = api.load_arch(args.arch, api.split_overrides(rest)[0])

    def progress(event, data):
        if event == "start":  # every input checked: nothing below ends in an InputError
            k = data["simulate_every"]
            print(f"federated learning: {fed.workers} workers of {arch.name}, {fed.rounds} "
                  f"rounds of {fed.local_steps} local steps, {fed.partition} shards "
                  f"{data['shard_sizes']}, aggregator {fed.aggregator}, link "
                  f"{fed.link.bandwidth_gbps:g} Gb/s {fed.link.latency_us:g} us "
                  f"{fed.link.energy_pj_per_bit:g} pJ/bit ({fed.link.download} downloads); "
                  f"model {data['n_weights']} weights, upload "
                  f"{'/'.join(str(b // 8) for b in sorted(set(data['upload_bits'])))} B; "
                  + (f"timing model on every {k}-th local step of each worker" if k
                     else "no timing model (simulate_every 0)"), flush=True)
            print(header(), flush=True)
        else:
            print(row(data), flush=True)

    res = run_federated(arch, args.workload, fed_o + [o for o in rest
                                                      if o.startswith("workload.")],
                        progress=progress)
    s = res.summary
    print(f"accuracy: initial {100 * s['initial_accuracy']:.2f} %, final "
          f"{100 * s['final_accuracy']:.2f} %, best {100 * s['best_accuracy']:.2f} %; "
          f"total {1e3 * s['total_round_s']:.4g} ms, {1e3 * s['total_energy_j']:.4g} mJ "
          f"(local steps {1e3 * s['total_energy_compute_j']:.4g}, link "
          f"{1e3 * s['total_energy_link_j']:.4g}, aggregation "
          f"{1e3 * s['total_energy_aggregation_j']:.4g}, idle "
          f"{1e3 * s['total_energy_idle_j']:.4g}), "
          f"{(s['total_bytes_up'] + s['total_bytes_down']) / 1e6:.4g} MB over the link")
    for note in s["notes"]:
        print(f"note: {note}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        api.write_text(out / "rounds.csv", to_csv(res.rounds))
        api.write_text(out / "summary.json", json.dumps(
            _json_safe({**s, "shards": res.shards}), indent=1, allow_nan=False))
        federated_figure(res, out / "federated.png")
        print(f"wrote {out}/rounds.csv, summary.json, federated.png")
    print(f"wall time {s['wall_s']:.1f} s", file=sys.stderr)
    return 0


def register(sub) -> None:
    from .common import add_set

    p = sub.add_parser("federated", help="federated learning on several chips of ARCH: local "
                       "steps on the chip datapath, FedAvg over a link; per-round accuracy, "
                       "time, energy and traffic")
    p.add_argument("arch", help="arch config (name or path) of every worker's chip")
    p.add_argument("workload", help="workload YAML with traces.source: trainer")
    add_set(p, "a federated setting (federated.workers=3, rounds, partition, link, "
            "aggregator: docs/federated.md), an arch key, or a workload key prefixed with "
            "workload.; repeatable")
    p.add_argument("--out", metavar="DIR", type=OutputDir, help="write rounds.csv, summary.json and "
                   "federated.png here")
    p.set_defaults(fn=cmd_federated)
