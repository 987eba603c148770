"""Every figure neurosim draws (matplotlib, Agg backend: no display needed), each written
whole or not at all (:func:`save_figure`).

Sweeps: ``figure(...)`` draws any stat(s) against any key as lines, grouped bars or stacked bars; one
line (or bar group) per combination of the other swept keys. ``default_figures(...)`` draws
the standard set: speed-up and parallel efficiency vs cores, DRAM traffic, energy breakdown,
engine utilisation, where the engines' cycles went (cycle classes). Only rows with status "ok" are plotted. Studies:
:func:`scaling_figure` (``neurosim scaling``), :func:`federated_figure` (``neurosim
federated``), :func:`characterization_figure` (``neurosim characterize``),
:func:`gpu_traffic_figure` (``neurosim compare-gpu``), :func:`sensitivity_figure` (the
sensitivity study of ``neurosim reproduce``). The NoC link heat map of ``neurosim run
--out`` is :mod:`neurosim.memsys.heatmap` (``api`` writes it, and this module imports the sweep
package, which imports ``api``).
"""
from __future__ import annotations

import fnmatch
import math
from pathlib import Path

from .errors import InputError
from .fileio import atomic_write
from .sweep.results import load_rows, value_of
from .sweep.store import is_number
from .timing import CYCLE_CLASSES

KINDS = ("line", "bar", "stacked")
MIB = 1024 * 1024


# --------------------------------------------------------------------------- data


def ok_rows(rows) -> list[dict]:
    return [r for r in rows if r.get("status") == "ok"]


def resolve_stats(spec: str, stats: list[str], rows) -> list[str]:
    """``--y`` text: comma-separated stat names or globs (``energy_*_j``) -> stat columns
    that hold a number in some row."""
    have = [s for s in stats if any(is_number(r.get(s)) for r in rows)]
    out: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        match = [s for s in have if fnmatch.fnmatchcase(s, part)]
        if not match:
            raise InputError("--y", part, "a stat of the database (" + ", ".join(have[:12])
                             + (", ..." if len(have) > 12 else "") + ")", part)
        out += [m for m in match if m not in out]
    if not out:
        raise InputError("--y", spec, "at least one stat name", spec)
    return out


def _sort_key(v):
    return (0, v, "") if is_number(v) else (1, 0, str(v))


def _label(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def group_by_series(rows, x: str, series_keys: list[str]) -> dict[tuple, list[dict]]:
    """Rows split by the values of the other swept keys, each sorted by x."""
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        s = tuple((k, _hashable(value_of(r, k))) for k in series_keys)
        out.setdefault(s, []).append(r)
    for s in out:
        out[s].sort(key=lambda r: _sort_key(_hashable(value_of(r, x))))
    return dict(sorted(out.items(), key=lambda kv: [_sort_key(v) for _, v in kv[0]]))


def _hashable(v):
    import json

    return json.dumps(v) if isinstance(v, (list, dict)) else v


def series_label(s: tuple) -> str:
    return ", ".join(f"{k}={_label(v)}" for k, v in s) or "all points"


def speedup_table(rows, cores_key: str = "cores", time_key: str = "total_cycles",
                  series_keys=()) -> dict[tuple, list[tuple]]:
    """Per series: (cores, time, speed-up, parallel efficiency) sorted by cores. Speed-up is
    over the series' point with the fewest cores c0: t(c0) / t(c); efficiency is
    speed-up / (c / c0)."""
    out = {}
    for s, rs in group_by_series(rows, cores_key, list(series_keys)).items():
        pts = [(value_of(r, cores_key), r.get(time_key)) for r in rs]
        pts = [(c, t) for c, t in pts if is_number(c) and is_number(t) and t > 0]
        if len({c for c, _ in pts}) < 2:
            continue
        c0, t0 = pts[0]
        out[s] = [(c, t, t0 / t, (t0 / t) / (c / c0)) for c, t in pts]
    return out


# --------------------------------------------------------------------------- drawing


def _new_figure(w=6.4, h=4.2, ncols=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w * ncols, h), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def save_figure(fig, out, dpi: int = 120) -> Path:
    """Write ``fig`` to ``out`` (format from the suffix: png, pdf, svg), whole or not at all."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower() or "png"
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fmt not in FigureCanvasAgg(fig).get_supported_filetypes():
        raise InputError("--out", str(out), "a figure file ending in .png, .pdf or .svg",
                         out.suffix or "no suffix")
    return atomic_write(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))


def figure(rows, x: str, ys: list[str], kind: str, out, series_keys: list[str],
           title: str | None = None, ylabel: str | None = None, scale: float = 1.0,
           ylim: tuple | None = None) -> Path:
    """Draw ``ys`` against ``x``; one line / bar group per series."""
    if kind not in KINDS:
        raise InputError("--kind", kind, "one of " + ", ".join(KINDS), kind)
    rows = ok_rows(rows)
    rows = [r for r in rows if value_of(r, x) is not None]
    if not rows:
        raise InputError("--x", x, "a key or stat with a value in some successful point", x)
    groups = group_by_series(rows, x, [k for k in series_keys if k != x])
    fig, (ax,) = _new_figure()
    xs_all = sorted({_hashable(value_of(r, x)) for r in rows}, key=_sort_key)
    numeric_x = all(is_number(v) for v in xs_all)
    pos = {v: i for i, v in enumerate(xs_all)}

    def yv(r, y):
        v = r.get(y)
        return v / scale if is_number(v) else float("nan")

    if kind == "line":
        styles = ("-", "--", ":", "-.")
        markers = ("o", "s", "^", "D", "v", "P")
        for si, (s, rs) in enumerate(groups.items()):
            xv = [_hashable(value_of(r, x)) for r in rs]
            xp = xv if numeric_x else [pos[v] for v in xv]
            for yi, y in enumerate(ys):
                lab = _line_label(y, s, len(ys), len(groups))
                # several stats and several series: colour says the stat, style the series
                style = ({"color": f"C{yi % 10}", "ls": styles[si % 4],
                          "marker": markers[si % 6]} if len(ys) > 1 and len(groups) > 1
                         else {"marker": "o"})
                ax.plot(xp, [yv(r, y) for r in rs], label=lab, **style)
        if not numeric_x:
            ax.set_xticks(range(len(xs_all)), [_label(v) for v in xs_all])
    elif kind == "bar":
        n = len(groups) * len(ys)
        width = 0.8 / n
        j = 0
        for s, rs in groups.items():
            for y in ys:
                xp = [pos[_hashable(value_of(r, x))] - 0.4 + width * (j + 0.5) for r in rs]
                ax.bar(xp, [yv(r, y) for r in rs], width, label=_line_label(y, s, len(ys),
                                                                            len(groups)))
                j += 1
        ax.set_xticks(range(len(xs_all)), [_label(v) for v in xs_all])
    else:  # stacked: one bar per (series, x), the ys stacked; series side by side
        cats, xp, labels, centres = [], [], [], []
        at = 0.0
        for s, rs in groups.items():
            first = at
            for r in rs:
                cats.append(r)
                xp.append(at)
                labels.append(_label(value_of(r, x)))
                at += 1
            centres.append(((first + at - 1) / 2, series_label(s)))
            at += 0.6  # a gap between series
        fig.set_figwidth(max(6.4, 0.45 * at + 2.5))
        bottom = [0.0] * len(cats)
        for y in ys:
            vals = [0.0 if v != v else v for v in (yv(r, y) for r in cats)]
            ax.bar(xp, vals, 0.75, bottom=bottom, label=y)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(xp, labels)
        if len(groups) > 1:
            for c, text in centres:
                ax.annotate(text, (c, 0), xycoords=ax.get_xaxis_transform(),
                            xytext=(0, -26), textcoords="offset points", ha="center",
                            va="top", fontsize="small")
    ax.set_xlabel(x, labelpad=20 if kind == "stacked" and len(groups) > 1 else 4)
    if numeric_x and kind == "line" and all(float(v).is_integer() for v in xs_all):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel or (ys[0] if len(ys) == 1 else ", ".join(ys)))
    if title:
        ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    if len(ys) > 1 or len(groups) > 1:
        ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return save_figure(fig, out)


def _line_label(y, s, n_y, n_series) -> str:
    if n_series == 1:
        return y
    if n_y == 1:
        return series_label(s)
    return f"{y} ({series_label(s)})"


def speedup_figure(rows, out, series_keys, cores_key="cores", time_key="total_cycles") -> Path | None:
    table = speedup_table(ok_rows(rows), cores_key, time_key,
                          [k for k in series_keys if k not in ("chip.cores", cores_key)])
    if not table:
        return None
    fig, (a1, a2) = _new_figure(ncols=2)
    cmax = 0
    for s, pts in table.items():
        cs = [p[0] for p in pts]
        cmax = max(cmax, max(cs))
        lab = series_label(s)
        a1.plot(cs, [p[2] for p in pts], marker="o", label=lab)
        a2.plot(cs, [p[3] for p in pts], marker="o", label=lab)
        c0 = cs[0]
        a1.plot([c0, max(cs)], [1, max(cs) / c0], ls="--", color="grey", lw=0.8)
    c0s = sorted({pts[0][0] for pts in table.values()})
    base = f"{_label(c0s[0])} core{'s' if c0s[0] != 1 else ''}" if len(c0s) == 1 else "fewest cores"
    a1.set(xlabel="cores", ylabel=f"speed-up over {base} ({time_key})",
           title="speed-up (dashed: linear)")
    a2.axhline(1.0, ls="--", color="grey", lw=0.8)
    a2.set(xlabel="cores", ylabel="parallel efficiency", title="parallel efficiency",
           ylim=(0, max(1.05, max(p[3] for pts in table.values() for p in pts) * 1.05)))
    from matplotlib.ticker import MaxNLocator

    for a in (a1, a2):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(True, alpha=0.3)
        if len(table) > 1:
            a.legend(fontsize="small")
    return save_figure(fig, out)


def default_x(keys: list[str]) -> str | None:
    if "chip.cores" in keys:
        return "chip.cores"
    return keys[0] if keys else None


def default_figures(db, out_dir=None, x: str | None = None, scope: str = "current",
                    where=()) -> tuple[list[Path], list[str]]:
    """The standard figures of a sweep; returns (files written, notes on figures skipped)."""
    db = Path(db)
    rows, keys, stats = load_rows(db, scope, where)
    out_dir = Path(out_dir) if out_dir else db.with_name(db.stem + "-plots")
    rows = ok_rows(rows)
    if not rows:
        raise InputError(db, "", "at least one successful point to plot", "none")
    x = x or default_x(keys)
    if x is None:
        x = "cores" if any(is_number(r.get("cores")) for r in rows) else "hash"
    written, notes = [], []
    have = {s for s in stats if any(is_number(r.get(s)) for r in rows)}

    cores_key = "cores" if "cores" in have else "chip.cores"
    time_key = "total_cycles" if "total_cycles" in have else "seconds"
    if time_key in have:
        f = speedup_figure(rows, out_dir / "speedup.png", keys, cores_key, time_key)
        (written.append(f) if f else notes.append("speed-up: the core count does not vary"))
    else:
        notes.append("speed-up: no total_cycles or seconds column")

    dram = [s for s in ("dram_read_bytes", "dram_write_bytes") if s in have]
    if dram:
        written.append(figure(rows, x, dram, "stacked", out_dir / "dram.png", keys,
                              title="DRAM traffic", ylabel="DRAM traffic (MiB)", scale=MIB))
    else:
        notes.append("DRAM traffic: no dram_read_bytes / dram_write_bytes columns")
    energy = sorted(s for s in have if fnmatch.fnmatchcase(s, "energy_*_j"))
    if energy:
        written.append(figure(rows, x, energy, "stacked", out_dir / "energy.png", keys,
                              title="energy breakdown", ylabel="energy (J)"))
    else:
        notes.append("energy breakdown: no energy_<class>_j columns")
    util = [s for s in ("util_fp", "util_bp", "util_wg") if s in have]
    util += sorted(s for s in have if s.startswith("util_") and s not in util)
    if util:
        written.append(figure(rows, x, util, "line", out_dir / "utilisation.png", keys,
                              title="engine utilisation", ylabel="utilisation",
                              ylim=(0, 1.05)))
    else:
        notes.append("engine utilisation: no util_* columns")
    classes = [f"cycles_{c}" for c in CYCLE_CLASSES if f"cycles_{c}" in have]
    if classes:
        written.append(figure(rows, x, classes, "stacked", out_dir / "cycles.png", keys,
                              title="where the engines' cycles went",
                              ylabel="fraction of the engines' cycles"))
    else:
        notes.append("cycle classes: no cycles_<class> columns")
    return written, notes


def plot_one(db, y: str, x: str | None = None, kind: str = "line", out=None,
             scope: str = "current", where=()) -> Path:
    db = Path(db)
    rows, keys, stats = load_rows(db, scope, where)
    rows = ok_rows(rows)
    if not rows:
        raise InputError(db, "", "at least one successful point to plot", "none")
    ys = resolve_stats(y, stats, rows)
    x = x or default_x(keys) or "hash"
    if out is None:
        tag = "+".join(ys) if len(ys) <= 3 else f"{ys[0]}+{len(ys) - 1}"
        out = db.with_name(f"{db.stem}-{tag}-vs-{x}.png".replace("*", ""))
    return figure(rows, x, ys, kind, out, keys)


# --------------------------------------------------------------------------- studies


def scaling_figure(rows, path, title: str) -> Path:
    """``neurosim scaling``: step time and speed-up vs cores, engine parallelism on/off."""
    fig, (a, b) = _new_figure(5, 4, 2)
    for mode, style in (("on", "o-"), ("off", "s--")):
        rs = [r for r in rows if r["engine_parallelism"] == mode]
        x = [r["cores"] for r in rs]
        a.plot(x, [r["seconds"] * 1e3 for r in rs], style, label=f"engine parallelism {mode}")
        b.plot(x, [r["speedup"] for r in rs], style, label=f"engine parallelism {mode}")
    xs = sorted({r["cores"] for r in rows})
    b.plot(xs, [x / xs[0] for x in xs], ":", color="grey", label="linear")
    a.set_xlabel("cores")
    a.set_ylabel("training step (ms)")
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    b.set_xlabel("cores")
    b.set_ylabel(f"speed-up vs {xs[0]} core(s)")
    b.set_xscale("log", base=2)
    b.set_yscale("log", base=2)
    for ax in (a, b):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def federated_figure(res, path) -> Path:
    """``neurosim federated``: accuracy of the averaged model and energy per round."""
    s = res.summary
    rs = res.rounds
    x = [r["round"] for r in rs]
    fig, (a, b) = _new_figure(5.5, 4, 2)
    a.plot([0] + x, [100 * s["initial_accuracy"]] + [100 * r["accuracy"] for r in rs], "o-")
    a.set_xlabel("round (0 = initial model)")
    a.set_ylabel("test accuracy of the averaged model (%)")
    a.set_ylim(0, 100)
    a.grid(True, alpha=0.3)
    bottom = [0.0] * len(rs)
    for key, label in (("energy_compute_j", "local steps"), ("energy_link_j", "link"),
                       ("energy_aggregation_j", "aggregation"), ("energy_idle_j", "idle")):
        v = [1e3 * r[key] if not math.isnan(r[key]) else 0.0 for r in rs]
        b.bar(x, v, bottom=bottom, label=label)
        bottom = [p + q for p, q in zip(bottom, v)]
    b.set_xlabel("round")
    b.set_ylabel("energy per round (mJ)")
    b.set_ylim(0, 1.3 * max(bottom + [1e-9]))
    b.legend(loc="upper center", ncol=4, fontsize=8)
    b.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"{s['workload']}: {s['workers']} workers of {s['arch']}, {s['local_steps']} "
                 f"local steps per round, {s['partition']} shards")
    return save_figure(fig, path, dpi=110)


def characterization_figure(path, title: str, x, xlabel, series_left, left_label,
                            series_right, right_label) -> Path:
    """``neurosim characterize``: latency (log, left axis) and throughput (right axis)."""
    fig, (ax,) = _new_figure()
    for ys, label, style in series_left:
        ax.plot(x, ys, style, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(left_label)
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    for ys, label, style in series_right:
        ax2.plot(x, ys, style, label=label, color="tab:red")
    ax2.set_ylabel(right_label)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path, dpi=110)


def gpu_traffic_figure(c, path) -> Path:
    """``neurosim compare-gpu``: DRAM MB per tensor kind, GPU model beside the chip."""
    mb = 1e6
    rows = [r for r in c.kind_rows() if r["kind"] != "total"]
    kinds = [r["kind"] for r in rows]
    x = range(len(kinds))
    fig, (ax,) = _new_figure(8, 4)
    wdt = 0.38
    ax.bar([i - wdt / 2 for i in x], [r["gpu_read"] / mb for r in rows], wdt,
           label=f"GPU read ({c.gpu.gpu}, {c.gpu.framework}, model)", color="#4878a8")
    ax.bar([i - wdt / 2 for i in x], [r["gpu_write"] / mb for r in rows], wdt,
           bottom=[r["gpu_read"] / mb for r in rows], label="GPU write", color="#9ab8d8")
    if c.chip is not None:
        ax.bar([i + wdt / 2 for i in x], [r["chip_read"] / mb for r in rows], wdt,
               label="chip read", color="#c05030")
        ax.bar([i + wdt / 2 for i in x], [r["chip_write"] / mb for r in rows], wdt,
               bottom=[r["chip_read"] / mb for r in rows], label="chip write",
               color="#e8a890")
        for i, r in enumerate(rows):
            if r["reduction_pct"] is not None:
                top = max(r["gpu_total"], r["chip_total"]) / mb
                ax.text(i, top, f"{r['reduction_pct']:.0f}%", ha="center", va="bottom",
                        fontsize=8)
    ax.set_xticks(list(x), kinds)
    ax.set_ylabel("DRAM MB per training step")
    ax.set_title(f"{c.workload}: DRAM traffic by tensor kind")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=110)


SENSITIVITY_PANELS = (("reduction_pct_spikingjelly", "DRAM reduction vs GPU model (%)", 1.0,
                       "linear"),
                      ("tflops_per_w_dense", "TFLOPS/W dense-equivalent", 1.0, "log"),
                      ("seconds", "training step (ms)", 1e-3, "log"))


def sensitivity_figure(rows, dimension: str, xlabel: str, path, bands: dict) -> Path:
    """``neurosim reproduce``'s sensitivity study along one dimension: DRAM reduction,
    dense TFLOPS/W and step time vs the dimension's value, one line per workload (points that
    do not fit are left out), the claim bands shaded (``bands``: stat -> (low, high)), the
    default config's point ringed and marked configs (paper-20core-85mib) as crosses."""
    fig, axes = _new_figure(4.3, 3.8, len(SENSITIVITY_PANELS))
    ok = [r for r in rows if r["dimension"] == dimension and r["status"] == "ok"]
    workloads = list(dict.fromkeys(r["workload"] for r in ok))
    marked = sorted({r["arch"] for r in ok if r["arch"]})
    for ax, (stat, label, scale, yscale) in zip(axes, SENSITIVITY_PANELS):
        def y(r):
            v = r.get(stat)
            return v / scale if is_number(v) else float("nan")

        for i, wl in enumerate(workloads):
            line = sorted((r for r in ok if r["workload"] == wl and r["arch"] is None),
                          key=lambda r: r["value"])
            colour = f"C{i % 10}"
            ax.plot([r["value"] for r in line], [y(r) for r in line], "o-", color=colour,
                    ms=4, label=wl)
            for r in line:
                if r["default"]:
                    ax.plot(r["value"], y(r), "o", ms=11, mfc="none", color=colour)
            for r in ok:
                if r["workload"] == wl and r["arch"] is not None:
                    ax.plot(r["value"], y(r), "x", ms=9, mew=2, color=colour)
        if stat in bands:
            low, high = bands[stat]
            top = high if high is not None else max(ax.get_ylim()[1], 1.5 * low)
            ax.axhspan(low, top, color="green", alpha=0.12, lw=0, label="claim")
        ax.set_xscale("log", base=2)
        xs = sorted({r["value"] for r in ok})
        if xs:
            ax.set_xticks(xs, [f"{v:g}" for v in xs], fontsize=7)
            ax.minorticks_off()
        ax.set_yscale(yscale)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{xlabel}: ringed = the config's own point"
                 + "".join(f", x = {m}" for m in marked), fontsize=10)
    return save_figure(fig, path, dpi=110)
