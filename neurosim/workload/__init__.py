"""Workloads (network + training settings), the weighted-layer graph, and traces."""
from .network import Edge, HwLayer, Network, Pool, build_network
from .schema import WORKLOAD_SCHEMA, load_workload
from .sources import get_traces
from .trace import LayerTrace, Trace, load_trace, pack_bits, popcount, unpack_bits

__all__ = ["Edge", "HwLayer", "Network", "Pool", "build_network", "WORKLOAD_SCHEMA",
           "load_workload", "get_traces", "LayerTrace", "Trace", "load_trace", "pack_bits",
           "popcount", "unpack_bits"]
