"""Technology scaling of on-chip energies between CMOS nodes.

Rule: Stillmaker and Baas, "Scaling equations for the accurate prediction of CMOS device
performance from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81. Each node
has a fitted energy factor ``a*Vdd^2 + b*Vdd + c``; energy at node Y = energy at node X x
factor(Y) / factor(X). The coefficients below are the ones the Accelergy project ships in
``hwcomponents/scaling/techscaling.py`` (which cites the same paper). Between two listed
nodes the factor is interpolated linearly in the node size; outside the list it is an error.
"""
from __future__ import annotations

# node (nm) -> (a, b, c) of the energy factor a*Vdd^2 + b*Vdd + c
ENERGY_FACTOR_COEFFS = {
    130: (7.171, -6.709, 2.904),
    90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975),
    45: (1.103, -0.362, 0.2767),
    32: (0.9559, -0.7823, 0.471),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}
NODES = tuple(sorted(ENERGY_FACTOR_COEFFS))


def _factor_at(node: int, vdd: float) -> float:
    a, b, c = ENERGY_FACTOR_COEFFS[node]
    return a * vdd * vdd + b * vdd + c


def energy_factor(node_nm: float, vdd: float) -> float:
    """The (unnormalised) energy factor of ``node_nm`` at supply ``vdd``."""
    if not NODES[0] <= node_nm <= NODES[-1]:
        raise ValueError(f"technology node {node_nm} nm outside {NODES[0]}..{NODES[-1]} nm")
    if node_nm in ENERGY_FACTOR_COEFFS:
        return _factor_at(int(node_nm), vdd)
    lo = max(n for n in NODES if n < node_nm)
    hi = min(n for n in NODES if n > node_nm)
    w = (node_nm - lo) / (hi - lo)  # 0 at lo, 1 at hi
    return _factor_at(lo, vdd) * (1 - w) + _factor_at(hi, vdd) * w


def scale_energy(from_nm: float, to_nm: float, vdd: float) -> float:
    """Multiplier that takes an energy at ``from_nm`` to ``to_nm`` (same supply voltage)."""
    return energy_factor(to_nm, vdd) / energy_factor(from_nm, vdd)
