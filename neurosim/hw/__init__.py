"""The chip's hardware blocks, one module each (engines, SRAM, core, chip), and
the discrete-event model that runs them on a placement from :mod:`neurosim.mapping`."""
