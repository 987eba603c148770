"""Statistics of a simulated training step, in the manner of gem5: a :class:`StatGroup` tree
(``chip.core3.bp.busy_cycles``, vectors per layer, phase and time step) and a flat summary.

Built from a :class:`~neurosim.timing.TimingResult` alone (plus the config, network and
placement), so the event-driven model and the reference model are reported the same way.
"""
from __future__ import annotations

from collections import defaultdict

from ..counters import DRAM, ENGINE, engine_path, groups, lookup
from ..counters import key as counter_key
from ..critical_path import bound_hints, critical_path, path_by_phase, path_totals
from ..stats import StatGroup
from ..timing import CYCLE_CLASSES, ENGINE_OF, TENSOR_KINDS
from . import engines as E
from ..memsys.stats import noc_latency_summary, publish_dram_extra, publish_noc_extra

ENGINES = ("fp", "bp", "wg")
PHASES = ("FP", "LOSS", "BP", "WG", "UPD")

def dense_ops(network, batch: int, time_steps: int, replicas: int, momentum: bool) -> int:
    """Lane operations of the step without zero-skipping: per sample and step, FP adds
    (dense MACs), BP deltas (n_out) and transposed MACs (layers not reading only the input;
    every layer in input_gradient), WG adds (dense MACs); per sample LOSS (T * n_out); UPD
    ((R + M) * weights). Only the tiles of the network's mode count (spec 3.6)."""
    per_step = 0
    for l in network.layers:
        transposed = any(e.src != "input" for e in l.edges) or network.mode == "input_gradient"
        per_step += l.dense_macs()                                     # FP
        if network.backward:
            per_step += l.n_out + (l.dense_macs() if transposed else 0)  # BP
        if network.trains:
            per_step += l.dense_macs()                                 # WG
    if not network.backward:
        return batch * time_steps * per_step
    loss = batch * time_steps * network.output_layer.n_out
    if not network.trains:
        return batch * time_steps * per_step + loss
    upd = (replicas + (1 if momentum else 0)) * sum(l.n_weights for l in network.layers)
    return batch * time_steps * per_step + loss + upd


def cycle_classes(counters, component: str) -> dict:
    """Cycles of one engine (``core<i>.<engine>``) by class, every class present."""
    return {cls: int(counters.get(counter_key(component, "cycles", cls), 0))
            for cls in CYCLE_CLASSES}


def build_stats(arch, network, placement, timing, batch: int, time_steps: int,
                momentum: bool = False, links: list | None = None) -> StatGroup:
    root = StatGroup()
    chip = root.group("chip", "the simulated chip")
    total = int(timing.total_cycles)
    clock = arch.chip.clock_mhz * 1e6
    n_cores = arch.chip.cores
    chip.scalar("total_cycles", "cycle", "cycles of the training step (last tile end or "
                "transfer becoming available)", total)
    chip.scalar("seconds", "s", "training-step time at chip.clock_mhz", total / clock)
    chip.scalar("cores", "count", "configured cores (chip.cores)", n_cores)
    used = sorted({r.core for r in timing.tiles})
    chip.scalar("cores_used", "count", "cores the mapping gives work to", len(used))
    chip.scalar("replicas", "count", "data-parallel replicas of the mapping",
                len(placement.replicas))

    # ---------------------------------------------------------------- engines from tiles
    per = defaultdict(lambda: defaultdict(int))
    vec = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    stall_by = timing.extra.get("bank_stalls", {})
    last_end = defaultdict(int)
    for r in sorted(timing.tiles, key=lambda r: (r.core, r.engine, r.ready, r.start)):
        key = (r.core, r.engine)
        busy = r.end - r.start - r.bank_stalls
        per[key]["busy"] += busy
        per[key]["tiles"] += 1
        v = vec[key]
        v["layer"][r.layer or "loss"] += busy
        v["phase"][r.kind] += busy
        if r.t >= 0:
            v["step"][f"t{r.t}"] += busy
        v["stall"]["wait_deps"] += r.ready - last_end[key]
        v["stall"]["wait_dram"] += r.start - r.ready
        layer = r.layer or "loss"
        for cls, n in (("busy", busy), ("bank_stall", r.bank_stalls),
                       ("wait_dram", r.start - r.ready), (r.wait, r.ready - last_end[key])):
            if n:
                v["class_layer"][f"{layer}/{cls}"] += n
                v["class_phase"][f"{r.kind}/{cls}"] += n
        by_buf = stall_by.get(r.key)
        if by_buf:
            for buf, n in by_buf.items():
                v["stall"][f"bank_conflict.{buf}"] += n
        elif r.bank_stalls:
            v["stall"]["bank_conflict"] += r.bank_stalls
        last_end[key] = r.end
    totals = defaultdict(int)
    class_totals = defaultdict(lambda: dict.fromkeys(CYCLE_CLASSES, 0))
    for core in range(n_cores):
        cg = chip.group(f"core{core}", f"core {core}")
        for eng in ENGINES:
            key = (core, eng)
            g = cg.group(eng, f"{eng.upper()} engine of core {core}")
            busy = per[key]["busy"]
            totals[eng] += busy
            g.scalar("busy_cycles", "cycle", "cycles issuing work (tile occupancy minus bank "
                     "stalls)", busy)
            v = vec[key]
            g.vector("busy_cycles_by_layer", "cycle", "busy cycles per layer", dict(v["layer"]))
            g.vector("busy_cycles_by_phase", "cycle", "busy cycles per tile kind (FP, LOSS, BP, "
                     "WG, UPD)", dict(v["phase"]))
            g.vector("busy_cycles_by_step", "cycle", "busy cycles per time step",
                     dict(sorted(v["step"].items())))
            g.vector("stall_cycles", "cycle", "cycles not issuing, by reason: bank_conflict."
                     "<buffer> (inside tiles), wait_dram (ready to start), wait_deps (previous "
                     "end to ready)", dict(sorted(v["stall"].items())))
            g.formula("utilisation", "ratio", "busy cycles / total cycles",
                      lambda busy=busy: busy / total)
            classes = cycle_classes(timing.counters, engine_path(core, eng))
            for cls, n in classes.items():
                class_totals[eng][cls] += n
            g.vector("cycles_by_class", "cycle", ENGINE.actions["cycles"].description
                     + " (docs/microarchitecture.md 10.1)", classes)
            g.vector("cycles_by_layer_class", "cycle", "cycles by 'layer/class' (the tiles' "
                     "busy, bank_stall and wait cycles; idle belongs to no layer)",
                     dict(sorted(v["class_layer"].items())))
            g.vector("cycles_by_phase_class", "cycle", "cycles by 'phase/class', phase = tile "
                     "kind FP, LOSS, BP, WG, UPD (idle belongs to no phase)",
                     dict(sorted(v["class_phase"].items())))
    # ---------------------------------------------------------------- event counters
    by_comp = defaultdict(dict)
    for (comp, action), n in sorted(timing.counters.items()):
        by_comp[comp][action] = n
    for comp, actions in by_comp.items():
        g = chip
        for part in groups(comp):
            g = g.group(part)
        vectors = defaultdict(dict)
        for action, n in actions.items():
            c = lookup(comp, action)     # an unknown counter is an error
            if c.action.name == "cycles":
                continue                 # published above, as cycles_by_class
            if c.label is not None:
                vectors[c.action][c.label] = n
            else:
                g.scalar(action, c.action.unit, c.action.description, n)
        for a, vals in vectors.items():
            g.vector(f"{a.name}_by_kind", a.unit, a.description + ", by tensor kind", vals)
    # ---------------------------------------------------------------- chip-level summaries
    for eng in ENGINES:
        g = chip.group(eng, f"all {eng.upper()} engines")
        g.scalar("busy_cycles", "cycle", "busy cycles summed over cores", totals[eng])
        g.formula("utilisation", "ratio", "busy cycles / (cores * total cycles)",
                  lambda b=totals[eng]: b / (n_cores * total))
        g.vector("cycles_by_class", "cycle", "cycles of the step by class summed over cores "
                 "(sums to cores * total cycles; docs/microarchitecture.md 10.1)",
                 class_totals[eng])
        layer_ops = defaultdict(int)
        step_ops = defaultdict(int)
        for key, cnt in timing.extra.get("tile_counters", {}).items():
            if ENGINE_OF[key[0]] != eng:
                continue
            ops = int(cnt[E.CNT_ADD] + cnt[E.CNT_MAC])
            layer_ops[key[1] or "loss"] += ops
            if key[4] >= 0:
                step_ops[f"t{key[4]}"] += ops
        g.vector("executed_ops_by_layer", "op", "lane operations executed per layer",
                 dict(layer_ops))
        g.vector("executed_ops_by_step", "op", "lane operations executed per time step",
                 dict(sorted(step_ops.items())))
    dram = chip.group("dram")
    reads, writes = defaultdict(int), defaultdict(int)
    for (comp, action), n in timing.counters.items():
        c = lookup(comp, action)
        if c.component is DRAM and c.label is not None:
            (reads if c.action.name == "read_bytes" else writes)[c.label] += n
    dram.vector("read_bytes_total", "byte", "bytes read from DRAM over all channels, by tensor "
                "kind", {k: reads.get(k, 0) for k in TENSOR_KINDS})
    dram.vector("write_bytes_total", "byte", "bytes written to DRAM over all channels, by "
                "tensor kind", {k: writes.get(k, 0) for k in TENSOR_KINDS})
    memsys = timing.extra.get("memsys", {})
    if "dram" in memsys:  # per channel: row hits, queues, refresh, bandwidth, latency
        publish_dram_extra(memsys["dram"], chip, memsys.get("dram_model") == "cycle")
    if "noc" in memsys:   # the cycle-level NoC: packet latency by kind, link utilisation
        publish_noc_extra(memsys["noc"], chip)
    noc = chip.group("noc")
    flits, payload = defaultdict(int), defaultdict(int)
    summary = getattr(timing.messages, "summary_by_kind", None)
    if summary is not None:      # compact record log: no need to expand it
        for kind, (_, f, b) in summary().items():
            flits[kind] += f
            payload[kind] += b
    else:
        for m in timing.messages:
            flits[m.kind] += m.flits
            payload[m.kind] += m.payload_bits
    noc.vector("flits_by_message", "flit", "flits by message kind (spike, grad, wgrad, "
               "weights, DRAM requests and responses)", dict(flits))
    noc.vector("payload_bits_by_message", "bit", "payload bits by message kind", dict(payload))
    if links is None:      # (the caller's, when it keeps them: critical_path(timing))
        links = critical_path(timing)
    cp = chip.group("critical_path", "the chain of tiles, messages and DRAM transfers that "
                    "set total_cycles (docs/microarchitecture.md 10.2)")
    by_kind = path_totals(links)
    cp.scalar("links", "count", "links of the chain (tiles' compute, loads, messages, "
              "stores, cross-engine dependencies)", len(links))
    cp.vector("cycles_by_kind", "cycle", "cycles of the chain by kind: compute (tiles), noc "
              "(messages), dram (loads and stores), dependency; they sum to total_cycles",
              by_kind)
    cp.vector("cycles_by_kind_phase", "cycle", "cycles of the chain by 'kind/phase' (phase: "
              "the kind of the tile the link leads to: FP, LOSS, BP, WG, UPD)",
              path_by_phase(links))
    cp.formula("dram_fraction", "ratio", "fraction of the step on DRAM links of the chain "
               "(at most this much faster with free DRAM)",
               lambda: by_kind["dram"] / max(1, total))
    hints = bound_hints(arch, timing)
    cp.vector("dram_request_cycles", "cycle", "cycles DRAM requests spent in the NoC "
              "(requests, write data, read responses) and in the controllers (arrival to end "
              "of data), summed over requests", {"noc": hints["dram_noc_cycles"],
                                                 "controller": hints["dram_controller_cycles"]})
    cp.vector("busiest_port_utilization", "ratio", "payload flits per cycle of the busiest "
              "core network-interface port (injection or ejection) over the step (head "
              "flits not counted)",
              {hints["busiest_port"]: hints["busiest_port_utilization"]})
    cp.vector("busiest_dram_bus_utilization", "ratio", "data-bus occupancy (bursts x tBURST "
              "/ cycles) of the busiest DRAM channel over the step",
              {f"ch{hints['busiest_dram_channel']}": hints["busiest_dram_bus_utilization"]})
    ops = chip.group("ops", "work of the step")
    executed = sum(n for (comp, action), n in timing.counters.items()
                   if ENGINE.match(comp) and action in ("add_ops", "mac_ops"))
    dense = dense_ops(network, batch, time_steps, len(placement.replicas), momentum)
    ops.scalar("executed", "op", "lane operations executed (adds and multiply-adds)", executed)
    ops.scalar("dense", "op", "lane operations of the same step without zero-skipping", dense)
    ops.formula("executed_fraction", "ratio", "executed / dense", lambda: executed / dense)
    return root


def publish_mode(chip: StatGroup, summary: dict, network, trace, repeats: int = 1) -> None:
    """Figures of a step in mode inference or input_gradient (spec 3.6), per sample (an
    inference, or one input's gradient; a Poisson re-draw counts as a sample), under
    ``chip.job`` and in ``summary``. A train step adds nothing: its outputs stay as they
    were."""
    if network.mode == "train":
        return
    from ..workload.trace import input_gradient_density

    samples = trace.batch
    g = chip.group("job", f"the {network.mode} step, per sample")
    g.scalar("samples", "sample", "samples of the step (batch x repeats)", samples)
    g.scalar("repeats", "count", "Poisson re-draws of each input (workload repeats)", repeats)
    per = {"cycles_per_sample": ("cycle", "cycles of the step / samples",
                                 summary["total_cycles"] / samples),
           "seconds_per_sample": ("s", "seconds of the step / samples",
                                  summary["seconds"] / samples),
           "energy_per_sample_j": ("J", "energy of the step / samples",
                                   summary["energy_j"] / samples)}
    if network.mode == "input_gradient":
        per["input_gradient_density"] = (
            "ratio", "entries of g(input) the first layers' transposed products write, "
            "over samples and steps", input_gradient_density(trace))
    for key, (unit, desc, value) in per.items():
        g.scalar(key, unit, desc, value)
    summary.update(mode=network.mode, samples=samples, repeats=repeats,
                   **{k: v[2] for k, v in per.items()})


def summarize(arch, timing, stats: StatGroup) -> dict:
    """Flat numbers of a run (the keys other tools rely on)."""
    chip = stats["chip"]
    s = {
        "total_cycles": int(timing.total_cycles),
        "seconds": float(chip["seconds"].value),
        "cores": int(arch.chip.cores),
        "cores_used": int(chip["cores_used"].value),
        "replicas": int(chip["replicas"].value),
        "tiles": len(timing.tiles),
        "bank_stall_cycles": int(sum(r.bank_stalls for r in timing.tiles)),
        "messages": len(timing.messages),
        "noc_flits": int(timing.counters.get(("noc", "flits"), 0)),
        "noc_packets": int(timing.counters.get(("noc", "packets"), 0)),
        "executed_ops": int(chip["ops.executed"].value),
        "dense_ops": int(chip["ops.dense"].value),
    }
    for eng in ENGINES:
        s[f"util_{eng}"] = float(chip[f"{eng}.utilisation"].value)
    cp = chip["critical_path"]
    for kind, n in cp["cycles_by_kind"].value.items():
        s[f"critical_path_{kind}"] = n / max(1, int(timing.total_cycles))
    s["busiest_port_utilization"] = float(*cp["busiest_port_utilization"].value.values())
    s["busiest_dram_bus_utilization"] = float(
        *cp["busiest_dram_bus_utilization"].value.values())
    req = cp["dram_request_cycles"].value
    s["dram_request_noc_fraction"] = req["noc"] / max(1, req["noc"] + req["controller"])
    n_cycles = max(1, int(timing.total_cycles) * int(arch.chip.cores))
    every = dict.fromkeys(CYCLE_CLASSES, 0)
    for eng in ENGINES:   # fractions of the engines' cycles, like util_<engine>
        for cls, n in chip[f"{eng}.cycles_by_class"].value.items():
            s[f"cycles_{eng}_{cls}"] = n / n_cycles
            every[cls] += n
    for cls, n in every.items():   # of all engines' cycles (the three engines together)
        s[f"cycles_{cls}"] = n / (len(ENGINES) * n_cycles)
    rd = chip["dram.read_bytes_total"].value
    wr = chip["dram.write_bytes_total"].value
    s["dram_read_bytes"] = int(sum(rd.values()))
    s["dram_write_bytes"] = int(sum(wr.values()))
    for k in TENSOR_KINDS:
        s[f"dram_read_bytes_{k}"] = int(rd.get(k, 0))
        s[f"dram_write_bytes_{k}"] = int(wr.get(k, 0))
    noc = timing.extra.get("memsys", {}).get("noc")
    if noc:
        s.update(noc_latency_summary(noc))
    dram = timing.extra.get("memsys", {}).get("dram")
    if dram and timing.extra["memsys"].get("dram_model") == "cycle":
        for key in ("row_hits", "row_misses", "row_conflicts", "refresh_cycles"):
            s[f"dram_{key}"] = sum(d[key] for d in dram.values())
        reads = [d["read_latency"] for d in dram.values() if d["read_latency"]["count"]]
        n = sum(r["count"] for r in reads)
        s["dram_avg_read_latency"] = (sum(r["mean"] * r["count"] for r in reads) / n
                                      if n else None)
    return s


__all__ = ["build_stats", "summarize", "dense_ops", "cycle_classes", "publish_mode"]
