"""Resource estimates made before allocating: a run that cannot fit in this machine's memory
is refused with one line naming the key that sizes it, instead of a ``MemoryError`` minutes
later."""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager


def available_bytes() -> int:
    """Memory this process can still take: MemAvailable on Linux, else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def require_memory(needed: int, error) -> None:
    """If ``needed`` bytes exceed what is free, raise ``error(expected, got)`` (an
    InputError naming the key that sizes the allocation)."""
    have = available_bytes()
    if needed > have:
        raise error(f"a size that fits in memory ({_gib(have)} available)",
                    f"about {_gib(needed)} needed")


# A generation-2 threshold no simulation reaches (CPython counts generation-1 collections
# against it)
_NEVER = 2**31 - 1


@contextmanager
def young_collections_only(collect_first: bool = False):
    """While a step is simulated, the cyclic garbage collector runs only its young
    generations. A step keeps every record it makes (tiles, messages, handles, transfers:
    millions of container objects on a big step) and each full collection scans them all:
    on vgg-cifar10dvs at T = 3 with ideal memory, 14 full collections took 2.9 s of 23.8 s
    CPU (docs/performance.md). Young collections still reclaim the short-lived cycles of
    the event loop; cyclic garbage that outlives them is reclaimed by the first full
    collection after the step. The thresholds in force before are restored on exit.

    ``collect_first``: start with a full collection. A finished step's chip model and
    memory system refer to each other, so only the cyclic collector frees them; a process
    running steps back to back (reproduce, sweeps: ``api.simulate_step``) would otherwise
    keep each step's records through the next and grow by them every step. (Not for the
    validation cases: a collection costs tens of ms, a small case less, and the reference
    model between two cases runs with full collections.)"""
    before = gc.get_threshold()
    if collect_first:
        gc.collect()
    gc.set_threshold(before[0], before[1], _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*before)
