"""Measured GPU DRAM bytes (Nsight Compute), in neurosim's measured-CSV format.

Format (docs/gpu-baseline.md): optional ``# key: value`` provenance lines, then a CSV header
with at least ``phase,dram_read_bytes,dram_write_bytes`` (``index``, ``kernel`` and
``duration_ns`` optional), one row per kernel or per phase. Phases: ``FP`` (forward and
loss), ``BWD`` (the whole backward pass), ``UPD`` (optimizer), or the model's finer ``LOSS``,
``BP``, ``WG``, or ``ALL`` for one total. Rows of a phase are summed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

MEASURED_PHASES = ("FP", "BWD", "UPD", "LOSS", "BP", "WG", "ALL")
REQUIRED = ("phase", "dram_read_bytes", "dram_write_bytes")
# model phase -> measured phase, for each measured granularity
_GROUPS = {"BWD": {"LOSS": "BWD", "BP": "BWD", "WG": "BWD"}}


@dataclass
class Measured:
    path: str
    meta: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)  # phase -> [read, write]
    rows: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(r + w for r, w in self.phases.values())

    def group_model(self, model_phases: dict) -> dict:
        """Model (read, write) per model phase -> per this file's phases."""
        out = {p: [0, 0] for p in self.phases}
        for p, (r, w) in model_phases.items():
            if "ALL" in self.phases:
                q = "ALL"
            elif p in self.phases:
                q = p
            else:
                q = _GROUPS["BWD"].get(p, p) if "BWD" in self.phases else p
            if q not in out:
                out[q] = [0, 0]
            out[q][0] += r
            out[q][1] += w
        return out


def load_measured(path) -> Measured:
    src = str(path)
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(src, "", "an existing measured-CSV file", "no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(src, "", "a readable UTF-8 CSV file", type(e).__name__) from None
    meta, body = {}, []
    for ln in lines:
        if ln.startswith("#"):
            k, sep, v = ln[1:].partition(":")
            if sep:
                meta[k.strip()] = v.strip()
        elif ln.strip():
            body.append(ln)
    if not body:
        raise InputError(src, "", "a CSV header and rows (" + ",".join(REQUIRED) + ")",
                         "no rows")
    reader = csv.DictReader(body)
    cols = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(src, "header", "columns " + ", ".join(REQUIRED),
                         f"no {', '.join(missing)}")
    m = Measured(src, meta)
    for i, row in enumerate(reader, start=2):
        ph = (row.get("phase") or "").strip()
        if ph not in MEASURED_PHASES:
            raise InputError(src, f"row {i}: phase", "one of " + ", ".join(MEASURED_PHASES),
                             ph)
        vals = []
        for c in REQUIRED[1:]:
            text = (row.get(c) or "").strip()
            if not text.isdigit():
                raise InputError(src, f"row {i}: {c}", "a non-negative integer byte count",
                                 text)
            vals.append(int(text))
        acc = m.phases.setdefault(ph, [0, 0])
        acc[0] += vals[0]
        acc[1] += vals[1]
        m.rows += 1
    if not m.rows:
        raise InputError(src, "", "at least one data row", "a header only")
    if "ALL" in m.phases and len(m.phases) > 1:
        raise InputError(src, "phase", "ALL alone, or phases without ALL",
                         sorted(m.phases))
    return m
