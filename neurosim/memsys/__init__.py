"""The memory system: the NoC and the DRAM behind one co-simulation interface
(``docs/microarchitecture.md`` sections 4-7), ideal or cycle-level, with their statistics and
characterisation."""
