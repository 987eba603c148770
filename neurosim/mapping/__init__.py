"""The mapper: which cores compute which output channels of which layer, and where each
tensor lives. Separate from the hardware models (:mod:`neurosim.hw`, :mod:`neurosim.reference`),
which take its :class:`~neurosim.mapping.placement.Placement` as an input.

- :mod:`~neurosim.mapping.footprint`: a part's tensors and per-buffer working set;
- :mod:`~neurosim.mapping.traffic`: the DRAM transfer table of spec 5.2, exact bytes;
- :mod:`~neurosim.mapping.estimate`: work, step-time and energy estimates that choose a layout;
- :mod:`~neurosim.mapping.search`: strategies, objectives, candidate layouts, :func:`map_network`;
- :mod:`~neurosim.mapping.placement`: the placement data and :func:`build_placement`.
"""
from .footprint import TENSORS, layer_outputs, part_footprint, part_tensors
from .placement import PartPlacement, Placement, Replica, TensorPlace, build_placement
from .search import map_network, state_is_full
from .traffic import placement_traffic

__all__ = ["map_network", "build_placement", "state_is_full", "Placement", "Replica",
           "PartPlacement", "TensorPlace", "TENSORS", "part_tensors", "part_footprint",
           "layer_outputs", "placement_traffic"]
