"""How every default in ``neurosim/data/energy/28nm.yaml`` is obtained from published figures.

The YAML is *generated* from this file (``python -m neurosim.energy.derive --write``) and a
test checks that the committed YAML equals what this file derives, so the numbers, their
sources and the arithmetic that connects them cannot drift apart. Every source value below
is quoted with its citation key (see :data:`SOURCES`); every step is a stated rule.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml

from ..fileio import atomic_write_text
from .scaling import scale_energy

TARGET_NM = 28
VDD = 0.9  # Horowitz's 45 nm figures are at 0.9 V; the 28 nm chip is assumed at 0.9 V too

SOURCES = {
    "horowitz2014": "M. Horowitz, 'Computing's energy problem (and what we can do about it)', "
                    "ISSCC 2014, pp. 10-14: energy per operation and per 64-bit SRAM read, "
                    "45 nm, 0.9 V",
    "stillmaker2017": "A. Stillmaker, B. Baas, 'Scaling equations for the accurate prediction "
                      "of CMOS device performance from 180 nm to 7 nm', Integration 58 (2017) "
                      "74-81; polynomial coefficients as shipped in Accelergy "
                      "hwcomponents/scaling/techscaling.py",
    "cacti7-28nm": "CACTI 7 runs at 28 nm quoted in github.com/Dongyunkam/DRAM_info (README, "
                   "section 5.2): 8 KiB/512-bit, 4 KiB/512-bit and 128 B/32-bit RAMs, dynamic "
                   "read/write energy per bit and leakage per bank (CACTI default itrs-hp "
                   "devices)",
    "cacti7-devices": "CACTI 7 device tables (tech_params/32nm.dat in github.com/HewlettPackard/"
                      "cacti), ITRS-derived: subthreshold I_off_n and gate I_g_on_n per um of "
                      "width for itrs-hp, itrs-lstp and itrs-lop devices at 32 nm, 360 K "
                      "(CACTI's default temperature); 32 nm is the nearest node with a "
                      "complete table (the 22 nm lstp column is not monotone in temperature)",
    "wang2008": "Y. Wang et al., 'A 1.1 GHz 12 uA/Mb-leakage SRAM design in 65 nm ultra-low-"
                "power CMOS technology with integrated leakage reduction for mobile "
                "applications', JSSC 43(1), 2008: 12 uA/Mb at the 0.5 V retention voltage "
                "(used as a cross-check only)",
    "park2013": "S. Park, M. Qazi, L.-S. Peh, A. Chandrakasan, '40.4fJ/bit/mm low-swing "
                "on-chip signaling with self-resetting logic repeaters embedded within a mesh "
                "NoC in 45nm SOI CMOS', DATE 2013",
    "eyeriss2016": "Y.-H. Chen, J. Emer, V. Sze, 'Eyeriss: a spatial architecture for "
                   "energy-efficient dataflow for CNNs', ISCA 2016: a 0.5 KB register file "
                   "access costs about one 16-bit MAC (used as a cross-check only)",
    "micron-lpddr4": "Micron 6Gb LPDDR4-3200 x16 IDD/VDD values and timings as packaged in "
                     "DRAMPower (memspecs/MICRON_6Gb_LPDDR4-3200_32bit_A.json); energy per "
                     "command by the Micron power-calculation method (TN-53-01 / TN-40-07)",
    "micron-ddr4": "Micron MT40A1G8PM-083E (8Gb DDR4-2400 x8) IDD/VDD values and timings as "
                   "packaged in DRAMsim3 (configs/DDR4_8Gb_x8_2400.ini); Micron TN-40-07 "
                   "method",
    "jesd79-4": "JEDEC JESD79-4 DDR4: POD12 I/O at VDDQ = 1.2 V, driver RZQ/7 = 34 ohm, "
                "termination RZQ/4 = 60 ohm",
    "dramsim3-hbm2": "HBM2 8Gb x128 IDD/VDD values and timings as packaged in DRAMsim3 "
                     "(configs/HBM2_8Gb_x128.ini); Micron TN-40-07 method",
    "oconnor2017": "M. O'Connor et al., 'Fine-Grained DRAM: energy-efficient DRAM for extreme "
                   "bandwidth systems', MICRO 2017: HBM2 access energy 3.97 pJ/bit of which "
                   "row activation 1.21 pJ/bit (breakdown as quoted in secondary sources)",
}

# --------------------------------------------------------------------------- source values

# Horowitz ISSCC 2014, 45 nm, 0.9 V (pJ per operation).
H45 = {
    "add.fp16": 0.4, "mul.fp16": 1.1, "add.fp32": 0.9, "mul.fp32": 3.7,
    "add.int8": 0.03, "mul.int8": 0.2,
}
# Horowitz ISSCC 2014, 64-bit SRAM read (pJ) by capacity (KiB).
H45_SRAM_64B = {8: 10.0, 32: 20.0, 1024: 100.0}
# CACTI 7, 28 nm (pJ/bit read, pJ/bit write, mW leakage per bank, bytes).
CACTI28 = [
    (8192, 0.0347046, 0.048606640625, 5.75335),
    (4096, 0.03299296875, 0.039730859375, 3.11199),
    (128, 0.0092170, 0.0129976, 0.136585),
]
# CACTI 7 device data at 32 nm, 360 K: (I_off_n, I_g_on_n) in A/um.
CACTI32_DEVICES = {"hp": (5.32e-07, 6.55e-08), "lstp": (2.4e-10, 3.73e-11),
                   "lop": (1.65e-07, 2.93e-09)}
CACTI_TEMP_K = 360
WANG2008_UA_PER_MB = 12.0  # at 0.5 V retention, 65 nm ULP (cross-check)
WANG2008_V = 0.5
PARK_LINK_FJ_PER_BIT_MM = 40.4
LINK_MM = 2.0  # assumed core tile pitch (see docs/energy.md)
REGFILE_KIB = 0.5  # register-file size at which the SRAM curve gives a register access

# DRAM device data (currents mA, voltages V, times in clock cycles of tck_ns).
LPDDR4 = dict(tck_ns=0.625, bl=16, width=16, rc=97, ras=68, rfc=448,
              vdd1=1.8, vdd2=1.1, vddq=1.1,
              idd0_1=3.5, idd0_2=45.0, idd2n_1=2.0, idd2n_2=27.0, idd2n_q=0.75,
              idd3n_1=2.25, idd3n_2=30.0, idd4r_1=2.25, idd4r_2=275.0, idd4r_q=150.0,
              idd4w_1=2.25, idd4w_2=210.0, idd4w_q=55.0, idd5_1=10.0, idd5_2=90.0)
DDR4 = dict(tck_ns=0.833, bl=8, width=8, ras=39, rp=16, rfc=420, vdd=1.2, idd0=48.0,
            idd2n=34.0, idd3n=43.0, idd4r=135.0, idd4w=123.0, idd5ab=250.0,
            data_rate_mtps=2400.0, vddq=1.2, ron=34.0, rtt=60.0)
HBM2 = dict(tck_ns=1.0, bl=4, width=128, ras=34, rp=14, rfc=260, vdd=1.2, idd0=65.0,
            idd2n=40.0, idd3n=55.0, idd5ab=250.0)
OCONNOR_HBM2_TOTAL_PJ_BIT = 3.97
OCONNOR_HBM2_ACT_PJ_BIT = 1.21


# --------------------------------------------------------------------------- rules


def tech_scale() -> float:
    """45 nm -> 28 nm energy multiplier (Stillmaker-Baas, 0.9 V)."""
    return scale_energy(45, TARGET_NM, VDD)


def sram_64b_read_45nm(kib: float) -> float:
    """Horowitz's 64-bit SRAM read energy at 45 nm, interpolated log-log between his three
    capacities (and extrapolated with the nearest segment's slope)."""
    pts = sorted(H45_SRAM_64B.items())
    if kib <= pts[1][0]:
        (x0, y0), (x1, y1) = pts[0], pts[1]
    else:
        (x0, y0), (x1, y1) = pts[1], pts[2]
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (kib / x0) ** slope


def _dram_lpddr4() -> dict:
    d = LPDDR4
    t_burst = d["bl"] / 2 * d["tck_ns"]
    bits = d["bl"] * d["width"]
    rd_core = (d["vdd1"] * (d["idd4r_1"] - d["idd3n_1"])
               + d["vdd2"] * (d["idd4r_2"] - d["idd3n_2"])) * t_burst
    wr_core = (d["vdd1"] * (d["idd4w_1"] - d["idd3n_1"])
               + d["vdd2"] * (d["idd4w_2"] - d["idd3n_2"])) * t_burst
    rd_io = d["vddq"] * d["idd4r_q"] * t_burst
    wr_io = d["vddq"] * d["idd4w_q"] * t_burst
    trc, tras = d["rc"] * d["tck_ns"], d["ras"] * d["tck_ns"]
    act = (d["vdd1"] * (d["idd0_1"] * trc - d["idd3n_1"] * tras - d["idd2n_1"] * (trc - tras))
           + d["vdd2"] * (d["idd0_2"] * trc - d["idd3n_2"] * tras - d["idd2n_2"] * (trc - tras)))
    trfc = d["rfc"] * d["tck_ns"]
    ref = (d["vdd1"] * (d["idd5_1"] - d["idd3n_1"]) + d["vdd2"] * (d["idd5_2"] - d["idd3n_2"])) * trfc
    bg = d["vdd1"] * d["idd2n_1"] + d["vdd2"] * d["idd2n_2"] + d["vddq"] * d["idd2n_q"]
    return {
        "read_pj_per_bit": ((rd_core + rd_io) / bits,
                            f"(VDD1*(IDD4R-IDD3N) + VDD2*(IDD4R2-IDD3N2)) x burst {t_burst:g} ns "
                            f"= {rd_core:.1f} pJ, + VDDQ*IDD4RQ x burst = {rd_io:.1f} pJ, "
                            f"over {bits} bits"),
        "write_pj_per_bit": ((wr_core + wr_io) / bits,
                             f"same with IDD4W: core {wr_core:.1f} pJ + VDDQ {wr_io:.1f} pJ "
                             f"over {bits} bits"),
        "act_pj": (act, f"VDD*(IDD0*tRC - IDD3N*tRAS - IDD2N*(tRC-tRAS)) summed over VDD1 and "
                        f"VDD2 rails, tRC {trc:g} ns, tRAS {tras:g} ns: one ACT with its PRE"),
        "ref_pj": (ref, f"VDD*(IDD5-IDD3N)*tRFCab over VDD1 and VDD2, tRFCab {trfc:g} ns"),
        "background_mw": (bg, "precharge standby VDD1*IDD2N + VDD2*IDD2N2 + VDDQ*IDD2NQ"),
        "device_bits": (d["width"], "x16 device (two per 32-bit channel)"),
    }, "micron-lpddr4"


def _idd_act_ref(d: dict) -> tuple[float, float, float, float]:
    tras, trp = d["ras"] * d["tck_ns"], d["rp"] * d["tck_ns"]
    trc = tras + trp
    act = d["vdd"] * (d["idd0"] * trc - d["idd3n"] * tras - d["idd2n"] * trp)
    trfc = d["rfc"] * d["tck_ns"]
    ref = d["vdd"] * (d["idd5ab"] - d["idd3n"]) * trfc
    return act, ref, trc, trfc


def _dram_ddr4() -> dict:
    d = DDR4
    t_burst = d["bl"] / 2 * d["tck_ns"]
    bits = d["bl"] * d["width"]
    rd_core = d["vdd"] * (d["idd4r"] - d["idd3n"]) * t_burst / bits
    wr_core = d["vdd"] * (d["idd4w"] - d["idd3n"]) * t_burst / bits
    # POD: current flows only while a pin drives low; half the bits are 0; DQS adds 2
    # toggling pins per 8 DQ (also low half the time).
    p_low_mw = d["vddq"] ** 2 / (d["ron"] + d["rtt"]) * 1000.0
    io = p_low_mw * 0.5 / (d["data_rate_mtps"] * 1e-3) * (8 + 2) / 8  # mW / (Gb/s) = pJ/bit
    act, ref, trc, trfc = _idd_act_ref(d)
    return {
        "read_pj_per_bit": (rd_core + io, f"core VDD*(IDD4R-IDD3N) x burst {t_burst:g} ns / "
                            f"{bits} bits = {rd_core:.3f} + POD I/O {io:.3f}: VDDQ^2/(Ron+RTT) "
                            f"while low, 50% zeros, at {d['data_rate_mtps']:g} MT/s, x10/8 for "
                            f"DQS"),
        "write_pj_per_bit": (wr_core + io, f"core with IDD4W = {wr_core:.3f} + the same POD "
                             f"I/O {io:.3f} (same driver/termination pair assumed)"),
        "act_pj": (act, f"VDD*(IDD0*tRC - IDD3N*tRAS - IDD2N*tRP), tRC {trc:g} ns (VPP rail "
                        f"not in the source data)"),
        "ref_pj": (ref, f"VDD*(IDD5AB-IDD3N)*tRFC, tRFC {trfc:g} ns"),
        "background_mw": (d["vdd"] * d["idd2n"], "precharge standby VDD*IDD2N"),
        "device_bits": (d["width"], "x8 device (eight per 64-bit channel)"),
    }, "micron-ddr4"


def _dram_hbm2() -> dict:
    d = HBM2
    col = OCONNOR_HBM2_TOTAL_PJ_BIT - OCONNOR_HBM2_ACT_PJ_BIT
    act, ref, trc, trfc = _idd_act_ref(d)
    return {
        "read_pj_per_bit": (col, f"O'Connor 2017 total {OCONNOR_HBM2_TOTAL_PJ_BIT} pJ/bit minus "
                            f"its row-activation share {OCONNOR_HBM2_ACT_PJ_BIT} (activation is "
                            f"charged per ACT here): on-die data movement + I/O"),
        "write_pj_per_bit": (col, "as read (the source gives one figure for both)"),
        "act_pj": (act, f"VDD*(IDD0*tRC - IDD3N*tRAS - IDD2N*tRP) from DRAMsim3 HBM2 IDDs, "
                        f"tRC {trc:g} ns, per 128-bit channel"),
        "ref_pj": (ref, f"VDD*(IDD5AB-IDD3N)*tRFC, tRFC {trfc:g} ns"),
        "background_mw": (d["vdd"] * d["idd2n"], "precharge standby VDD*IDD2N per channel"),
        "device_bits": (d["width"], "one 128-bit legacy channel (a 64-bit pseudo-channel "
                                    "counts as half)"),
    }, "dramsim3-hbm2"


# --------------------------------------------------------------------------- the table


# The bundled tables: the default assumes a low-power 28 nm process (low-standby-power
# devices in the SRAM macros), 28nm-hp the high-performance devices of the CACTI runs.
FLAVOURS = {"28nm": "lstp", "28nm-hp": "hp"}


def leakage_ratio(device: str) -> float:
    """Leakage of ``device`` relative to itrs-hp at the same supply (the chip's): ratio of
    (subthreshold + gate) off-state current per um (cacti7-devices)."""
    i = CACTI32_DEVICES
    return sum(i[device]) / sum(i["hp"])


def derive(table: str = "28nm") -> dict:
    """A bundled 28 nm table as a plain dict (what the YAML holds)."""
    device = FLAVOURS[table]
    k = tech_scale()
    rule = f"x {k:.4f} (45->28 nm, stillmaker2017 at {VDD} V)"
    e: dict[str, dict] = {}

    def put(name, value, unit, cls, source, how):
        v = float(value)  # 6 decimals; 6 significant digits for tiny values (leakage)
        e[name] = {"value": round(v, 6) if abs(v) >= 1e-3 else float(f"{v:.6g}"), "unit": unit,
                   "class": cls,
                   "source": source, "derivation": how}

    for name, v in H45.items():
        put(name, v * k, "pJ/op", "compute", "horowitz2014", f"{v} pJ at 45 nm {rule}")
    # INT4 from INT8: adder energy ~ bits, array-multiplier energy ~ bits^2.
    put("add.int4", H45["add.int8"] * 0.5 * k, "pJ/op", "compute", "horowitz2014",
        f"INT8 add {H45['add.int8']} pJ x 4/8 (adder energy ~ width) {rule}")
    put("mul.int4", H45["mul.int8"] * 0.25 * k, "pJ/op", "compute", "horowitz2014",
        f"INT8 multiply {H45['mul.int8']} pJ x (4/8)^2 (array multiplier ~ width^2) {rule}")
    for p in ("fp16", "fp32", "int8", "int4"):
        m, a = e[f"mul.{p}"]["value"], e[f"add.{p}"]["value"]
        put(f"mac.{p}", m + a, "pJ/op", "compute", "horowitz2014",
            f"unfused multiply-add: mul.{p} + add.{p} ({m} + {a})")
        put(f"lif.{p}", m + 2 * a, "pJ/op", "compute", "horowitz2014",
            f"LIF update = decay multiply + add of the input current + threshold compare "
            f"(an add): mul.{p} + 2 x add.{p}")

    # SRAM: per-bit read energy at three bank capacities (Horowitz 64-bit reads / 64).
    for kib, v in H45_SRAM_64B.items():
        put(f"sram.read_{kib}kib", v / 64 * k, "pJ/bit", "sram", "horowitz2014",
            f"{v} pJ per 64-bit read of a {kib} KiB SRAM / 64 bits {rule}")
    ratios = [w / r for _, r, w, _ in CACTI28]
    put("sram.write_over_read", sum(ratios) / len(ratios), "ratio", "sram", "cacti7-28nm",
        "mean write/read energy ratio of the three CACTI 7 28 nm RAMs ("
        + ", ".join(f"{x:.3f}" for x in ratios) + ")")
    reg = sram_64b_read_45nm(REGFILE_KIB) / 64 * k
    put("reg.bit", reg, "pJ/bit", "compute", "horowitz2014",
        f"SRAM curve extrapolated to a {REGFILE_KIB} KiB register file "
        f"({sram_64b_read_45nm(REGFILE_KIB):.3f} pJ per 64 bits at 45 nm) / 64 {rule}; "
        f"cross-check eyeriss2016: about one 16-bit MAC per 16-bit access")
    leak = [mw / (b / 1024) for b, _, _, mw in CACTI28[:2]]
    hp = sum(leak) / len(leak)
    hp_how = ("mean leakage per KiB of the 8 KiB and 4 KiB CACTI 7 28 nm RAMs ("
              + ", ".join(f"{x:.4f}" for x in leak) + " mW/KiB), itrs-hp devices")
    if device == "hp":
        put("leak.sram_mw_per_kib", hp, "mW/KiB", "leakage", "cacti7-28nm",
            hp_how + "; a high-performance process (the bundled 28nm table assumes a "
            "low-power one)")
    else:
        r = leakage_ratio(device)
        lp = hp * r
        bits_per_kib = 8192
        wang = WANG2008_UA_PER_MB * 1e-6 / 2 ** 20 * WANG2008_V * bits_per_kib * 1e3  # mW/KiB
        put("leak.sram_mw_per_kib", lp, "mW/KiB", "leakage", "cacti7-devices",
            f"{hp_how} x {r:.3g}: (I_off + I_g) of itrs-{device} / itrs-hp devices at 32 nm, "
            f"{CACTI_TEMP_K} K ({sum(CACTI32_DEVICES[device]):.3g} / "
            f"{sum(CACTI32_DEVICES['hp']):.3g} A/um), at the same supply; cross-check "
            f"wang2008: a 65 nm ultra-low-power macro retains at {wang * 1e3:.3g} uW/KiB "
            f"(0.5 V)")
    put("leak.core_mw", 0.0, "mW", "leakage", "none",
        "omission: no published leakage figure for this datapath was found, so core logic "
        "leakage is 0 (set energy.overrides: {leak.core_mw: ...} per core to model it)")

    # NoC: per bit per router traversal and per link traversal.
    put("noc.router_bit", 3 * reg, "pJ/bit", "noc", "horowitz2014",
        "input-buffer write + read + crossbar traversal, each taken as one register-file bit "
        "access (3 x reg.bit)")
    put("noc.link_bit_mm", PARK_LINK_FJ_PER_BIT_MM / 1000.0, "pJ/bit/mm", "noc", "park2013",
        f"measured {PARK_LINK_FJ_PER_BIT_MM} fJ/bit/mm, 45 nm SOI, low-swing; wire energy "
        f"per mm not scaled with the node")
    put("noc.link_mm", LINK_MM, "mm", "noc", "none",
        "assumed tile pitch between neighbouring routers (a core of ~2.6 MiB SRAM at 28 nm is "
        "about 2 mm on a side)")

    for dtype, fn in (("LPDDR4", _dram_lpddr4), ("DDR4", _dram_ddr4), ("HBM2", _dram_hbm2)):
        vals, src = fn()
        units = {"read_pj_per_bit": "pJ/bit", "write_pj_per_bit": "pJ/bit", "act_pj": "pJ",
                 "ref_pj": "pJ", "background_mw": "mW", "device_bits": "bit"}
        for key, (v, how) in vals.items():
            put(f"dram.{dtype}.{key}", v, units[key], "dram", src, how)
        put(f"dram.{dtype}.pre_pj", 0.0, "pJ", "dram", src,
            "0: the precharge is included in act_pj (Micron method charges the ACT-PRE pair)")
    return {"name": table, "technology_nm": TARGET_NM, "vdd": VDD,
            "note": "generated by `python -m neurosim.energy.derive --write`; do not edit by "
                    "hand (see docs/energy.md)",
            "sources": SOURCES, "entries": e}


def table_path(name: str = "28nm") -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "energy" / f"{name}.yaml"


def render(name: str = "28nm") -> str:
    return yaml.safe_dump(derive(name), sort_keys=False, width=100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="rewrite the bundled tables "
                    "(" + ", ".join(f"{n}.yaml" for n in FLAVOURS) + ")")
    ap.add_argument("--table", choices=tuple(FLAVOURS), default="28nm",
                    help="table to print without --write (default 28nm)")
    args = ap.parse_args(argv)
    if not args.write:
        sys.stdout.write(render(args.table))
        return 0
    for name in FLAVOURS:
        path = table_path(name)
        atomic_write_text(path, render(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
