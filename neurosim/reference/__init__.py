"""The golden cycle-stepped reference model of the chip.

Every engine, SRAM port, router, link and DRAM channel updates once per cycle, exactly as
``docs/microarchitecture.md`` says, written for obviousness rather than speed (small
configs only: a few cores, small layers, T <= 4). The fast event-driven model
(``neurosim.hw.chip.simulate``) must agree with it cycle for cycle; ``neurosim validate``
checks that (``docs/validation.md``).

One module per block: :mod:`.engines` (tile programs), :mod:`.core` (SRAM ports and engine
stepping), :mod:`.noc`, :mod:`.dram`, :mod:`.chip` (schedule, dependencies, the cycle loop).
"""
from .chip import simulate

__all__ = ["simulate"]
