"""The chip's hardware blocks, one module each (engines, SRAM, core, chip, NoC, DRAM), the
mapper that places layers on cores, and the discrete-event model that runs them."""
