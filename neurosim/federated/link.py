"""The link between the workers and the aggregator: time, traffic and energy of a round.

Topology: a star. Every worker has its own path to the aggregator, and all paths meet at
the aggregator's port, which carries one transfer at a time at ``bandwidth_gbps``:

- uploads are serialised on that port in the order the workers finish their local steps
  (ties: lower worker index first); a transfer starts when its worker has finished and the
  port is free, occupies the port for ``bits / bandwidth``, and arrives ``latency_us`` after
  its last bit left (a latency overlaps the next transfer's serialisation);
- the aggregation starts when the last upload has arrived;
- downloads, ``unicast``: one copy per worker, serialised on the port in worker order, each
  arriving ``latency`` after its last bit; ``broadcast``: one transmission, as long as the
  largest copy, reaches every worker ``latency`` after its last bit.

Energy: ``energy_pj_per_bit`` per bit carried over one worker-aggregator path; a broadcast
carries its bits over every worker's path (N x bits). Payload only: no framing or protocol
overhead, no retransmission.
"""
from __future__ import annotations

from dataclasses import dataclass

PJ = 1e-12


@dataclass
class LinkRound:
    """One round's link schedule. Times in seconds from the round's start (every worker
    starts its local steps at 0)."""

    upload_arrive: list      # per worker: its upload has arrived at the aggregator
    aggregation_start: float
    aggregation_end: float
    download_arrive: list    # per worker: the averaged model has arrived
    round_s: float           # the last download's arrival
    link_s: float            # round_s - max(compute) - aggregation: time the round waits on
                             # the link after the slowest worker (uploads that overlap slower
                             # workers' compute are not in it)
    bytes_up: float          # bytes through the aggregator's port, uploads
    bytes_down: float        # bytes through the aggregator's port, downloads
    energy_j: float          # link energy of the round


def schedule(compute_s: list, up_bits: list, down_bits: list, aggregation_s: float,
             bandwidth_gbps: float, latency_us: float, energy_pj_per_bit: float,
             download: str = "unicast") -> LinkRound:
    """The link schedule of one round; see the module docstring. ``compute_s[k]``: worker
    k's local compute time; ``up_bits[k]`` / ``down_bits[k]``: bits of its upload and of its
    copy of the averaged model."""
    n = len(compute_s)
    bps = bandwidth_gbps * 1e9
    lat = latency_us * 1e-6
    port = 0.0
    arrive = [0.0] * n
    for k in sorted(range(n), key=lambda k: (compute_s[k], k)):
        start = max(compute_s[k], port)
        port = start + up_bits[k] / bps
        arrive[k] = port + lat
    agg_start = max(arrive)
    agg_end = agg_start + aggregation_s
    if download == "broadcast":
        msg = max(down_bits)
        done = [agg_end + msg / bps + lat] * n
        down_port_bits, down_path_bits = msg, n * msg
    elif download == "unicast":
        done, port = [0.0] * n, agg_end
        for k in range(n):
            port += down_bits[k] / bps
            done[k] = port + lat
        down_port_bits = down_path_bits = sum(down_bits)
    else:
        raise ValueError(download)
    round_s = max(done)
    return LinkRound(arrive, agg_start, agg_end, done, round_s,
                     round_s - aggregation_s - max(compute_s),
                     sum(up_bits) / 8, down_port_bits / 8,
                     (sum(up_bits) + down_path_bits) * energy_pj_per_bit * PJ)


__all__ = ["LinkRound", "schedule"]
