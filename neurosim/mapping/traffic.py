"""The DRAM transfer table of spec 5.2: what one training step loads and stores for each
spilled tensor of a part, and the exact DRAM bytes of a placement."""
from __future__ import annotations

from .footprint import TENSORS, reads_input


def spilled_transfers(name: str, samples: int, T: int, root: bool) -> tuple:
    """(loads, stores) of one part's spilled tensor ``name`` in one training step, by the
    table of spec 5.2, for a replica processing ``samples`` samples (``root``: it runs UPD)."""
    n, u = samples * T, int(root)
    # (comparisons, not a table built per call: the mapper asks ~200 k times per search)
    if name == "W":
        return 2 * n + u, u                            # FP, BP, UPD / UPD
    if name == "GW":
        return n + u, n                                # WG, UPD / WG
    if name == "M":
        return u, u                                    # UPD / UPD
    if name == "U":
        return samples * (T - 1), samples * (T - 1)    # FP t>0 / FP t<T-1
    if name == "saved" or name == "saved_in":
        return n, n                                    # BP / FP, WG / FP
    return 0, 0


def transfer_bytes(nbytes: int, burst: int) -> int:
    """DRAM bytes one transfer moves: whole bursts from a burst-aligned address."""
    return -(-int(nbytes) // int(burst)) * burst if nbytes > 0 else 0   # (cdiv, inlined)


def placement_traffic(placement, network, time_steps: int, burst: int) -> dict:
    """DRAM bytes of one training step that spec 5.2 moves for ``placement``:
    ``{kind: [read, write]}`` with kinds as in the statistics (``weights``, ``wgrad``,
    ``optimizer``, ``state``, ``spikes``, ``input``)."""
    out: dict = {}
    frame = transfer_bytes(placement.input_frame_bytes, burst)
    for rep in placement.replicas:
        n = len(rep.samples)
        for layer in network.layers:
            for p in rep.layers[layer.name]:
                for name, tp in p.tensors.items():
                    if tp.resident:
                        continue
                    ld, st = spilled_transfers(name, n, time_steps, rep.index == 0)
                    b = transfer_bytes(tp.nbytes, burst)
                    rw = out.setdefault(TENSORS[name][1], [0, 0])
                    rw[0] += ld * b
                    rw[1] += st * b
                if reads_input(layer):
                    out.setdefault("input", [0, 0])[0] += n * time_steps * frame
    return out



__all__ = ["spilled_transfers", "transfer_bytes", "placement_traffic"]
