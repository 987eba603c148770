"""Resource estimates made before allocating: a run that cannot fit in this machine's memory
is refused with one line naming the key that sizes it, instead of a ``MemoryError`` minutes
later."""
from __future__ import annotations

import os


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
