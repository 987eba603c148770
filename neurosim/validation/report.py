"""What a case exercised, and the summary ``neurosim validate`` prints."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..arch import grad_bits, value_bits

FEATURES = {
    "bank_conflicts": "some engine stalled on a busy SRAM bank",
    "noc_contention": "a flit lost switch allocation or found its output VCs owned (cycle NoC)",
    "dram_row_conflicts": "a DRAM request found its bank open on another row (cycle DRAM)",
    "engine_overlap": "two engines of one core computed in the same cycle",
    "spills": "a part's tensor lived in DRAM (loads/stores)",
    "data_parallel": "more than one replica (g(W) and weight messages)",
    "refresh": "a DRAM refresh command issued",
    "multi_core_messages": "a message crossed the NoC between two cores",
    "all_zero_or_one_traces": "a trace of all zeros or all ones",
    "mapper_placement": "the placement came from the mapper (neurosim.mapping)",
    "multicast": "noc.multicast with a spike message to two or more other cores",
    "wg_formats": "core.wg grad_precision wider than core.precision, or fp32 master weights",
    "momentum": "the momentum optimizer (M tensor, one more UPD pass)",
    "soft_reset": "a trace drawn with the soft reset",
    "state_full": "full U values saved for BP (core.state_format, or auto with a smooth "
                  "surrogate)",
    "schedule_variants": "layer-major order, or BP/WG or FP/BP overlap switched off",
    "compressed_encodings": "spike messages as address events and gradient messages as "
                            "(index, value) pairs allowed (aer/sparse or auto)",
    "mode_inference": "mode inference: FP tiles only, no saved state (spec 3.6)",
    "mode_input_gradient": "mode input_gradient: FP, LOSS and BP with the first layer's "
                           "transposed phase, no WG or UPD (spec 3.6)",
}
MODES = [(n, d) for n in ("ideal", "cycle") for d in ("ideal", "cycle")]


def features(case, result) -> set:
    """Which of FEATURES the case exercised, judged from the reference's result."""
    out = set()
    if any(t.bank_stalls for t in result.tiles):
        out.add("bank_conflicts")
    if result.extra.get("noc_contention", 0) > 0:
        out.add("noc_contention")
    if any(d.outcome == "conflict" for d in result.dram):
        out.add("dram_row_conflicts")
    spans = defaultdict(list)  # (core, engine) -> [start, end) of its tiles
    for t in result.tiles:
        spans[(t.core, t.engine)].append((t.start, t.end))
    for (core, eng), mine in spans.items():
        others = [s for (c, e), ss in spans.items() if c == core and e != eng for s in ss]
        if any(s1 < e2 and s2 < e1 for s1, e1 in mine for s2, e2 in others):
            out.add("engine_overlap")
            break
    if any(not tp.resident for r in case.placement.replicas for parts in r.layers.values()
           for p in parts for tp in p.tensors.values()):
        out.add("spills")
    if len(case.placement.replicas) > 1:
        out.add("data_parallel")
    if any(a == "ref" and n for (_, a), n in result.counters.items()):
        out.add("refresh")
    if any(m.src[0] != m.dst[0] and m.src[1] == 0 and m.dst[1] == 0 for m in result.messages):
        out.add("multi_core_messages")
    if case.notes.get("trace") in ("zeros", "ones"):
        out.add("all_zero_or_one_traces")
    cfg, net = case.arch, case.network
    if case.notes.get("mapper"):
        out.add("mapper_placement")
    if cfg.noc.multicast:
        for r in case.placement.replicas:
            for parts in r.layers.values():
                for p in parts:
                    for m in net.consumers(p.layer):
                        if len({q.core for q in r.layers[m]} - {p.core}) >= 2:
                            out.add("multicast")
    wg = cfg.core.wg
    if wg.master_weights != "none" or grad_bits(cfg) > value_bits(cfg):
        out.add("wg_formats")
    if case.momentum:
        out.add("momentum")
    if case.notes.get("reset") == "soft" and case.notes.get("trace") == "synthetic":
        out.add("soft_reset")
    if net.mode != "train":
        out.add(f"mode_{net.mode}")
    if any("saved" in p.tensors and p.tensors["saved"].nbytes > -(-2 * p.n_ch // 8)
           for r in case.placement.replicas for parts in r.layers.values() for p in parts
           if net[p.layer].kind == "linear"):
        out.add("state_full")
    s = cfg.schedule
    if not (s.layer_pipeline and s.bp_wg_overlap and s.fp_bp_overlap):
        out.add("schedule_variants")
    if cfg.noc.spike_encoding != "bitmap" and cfg.noc.gradient_encoding != "dense":
        out.add("compressed_encodings")
    return out


@dataclass
class Summary:
    model: str
    reference: str
    seed: int
    cases: int = 0
    passed: int = 0
    first_failure: str | None = None
    failures: int = 0
    features: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)
    largest: tuple | None = None  # (reference cycles, case index, ref seconds, model seconds)
    ref_seconds: float = 0.0
    model_seconds: float = 0.0

    def record_speed(self, index, cycles, t_ref, t_model):
        self.ref_seconds += t_ref
        self.model_seconds += t_model
        if self.largest is None or cycles > self.largest[0]:
            self.largest = (cycles, index, t_ref, t_model)

    def text(self) -> str:
        same = self.model == self.reference
        lines = [(f"model {self.model} vs reference {self.reference}, seed {self.seed}"
                  if not same else
                  f"model = reference ({self.reference}): one run per case, so only the "
                  f"closed-form checks can fail; seed {self.seed}"),
                 f"cases passed: {self.passed}/{self.cases}"
                 + (f" ({self.failures} failed)" if self.failures else "")]
        if self.first_failure:
            lines.append("first failure:")
            lines += ["  " + x for x in self.first_failure.splitlines()]
        lines.append("features exercised (cases):")
        for name, desc in FEATURES.items():
            lines.append(f"  {name:<24}{self.features[name]:>6}  {desc}")
        lines.append("memory models (noc/dram): " + ", ".join(
            f"{n}/{d} {self.modes[(n, d)]}" for n, d in MODES))
        if self.largest and same:
            cyc, idx, tr, _ = self.largest
            lines.append(f"largest case #{idx} ({cyc} cycles): reference {tr:.3f} s")
            lines.append(f"wall time: reference {self.ref_seconds:.1f} s")
            return "\n".join(lines)
        if self.largest:
            cyc, idx, tr, tm = self.largest
            ratio = tr / tm if tm > 0 else float("inf")
            lines.append(f"largest case #{idx} ({cyc} cycles): reference {tr:.3f} s, model "
                         f"{tm:.3f} s, speed ratio (reference/model) {ratio:.1f}")
        lines.append(f"wall time: reference {self.ref_seconds:.1f} s, model "
                     f"{self.model_seconds:.1f} s")
        return "\n".join(lines)
