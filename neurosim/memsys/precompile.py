"""A kernel compiled in a second process, for the first run after an install.

numba compiles every kernel on first use and keeps it in its on-disk cache, per function.
Most of that first compilation is the cycle-level memory system's ``engine_run`` (the NoC's
router and NI bodies inlined into it, the DRAM kernels linked): docs/performance.md, "The
first run after an install". :func:`start` has a child process compile such a kernel while
this one goes on (``api.prepare_kernels`` compiles meanwhile the kernels the engine calls
and the chip's); :func:`wait`, before the kernel's first call here, lets that compilation
finish, and the kernel then loads from the cache. A process that did not start the child (a worker of
``neurosim reproduce``, a second test process) finds it by its lock file, held while it
compiles. Without a second CPU, a writable cache or numba's cache layout, nothing is started
and the kernel compiles where it is first called, as before.

    python -m neurosim.memsys.precompile MODULE:FUNCTION PID   # what the child runs
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:   # not a POSIX system: no file locks, nothing compiled elsewhere
    fcntl = None

WAIT_LIMIT_S = 900   # then the kernel compiles here after all (a child that hangs)
_children: dict = {}        # kernel -> the compiling process this one started
_compiling = False          # this process is such a child


def _index(kernel) -> Path | None:
    """The kernel's index file in numba's cache (present once it was compiled), or None
    where numba keeps no cache for it (a read-only install) or lays it out otherwise."""
    try:
        index = Path(kernel._cache._cache_file._index_path)
    except AttributeError:
        return None
    return index if os.access(index.parent, os.W_OK) else None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _lock(index: Path) -> Path:
    return index.with_name(index.name + ".compiling")


def start(kernel, build: str) -> bool:
    """Have a child process compile ``kernel`` (a numba dispatcher with ``cache=True``, not
    yet called here) by calling ``build`` ("module:function", which uses :func:`compiling`)
    there, unless it is in the cache already. True if started."""
    if kernel in _children or _compiling or fcntl is None or _cpus() < 2:
        return False
    index = _index(kernel)
    if index is None or index.exists() or _held(_lock(index)):
        return False
    _children[kernel] = subprocess.Popen(
        [sys.executable, "-m", __name__, build, str(os.getpid())], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def _held(lock: Path) -> bool:
    """Another process is compiling (it holds ``lock``)."""
    if not lock.exists():
        return False
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def wait(kernel) -> None:
    """Before ``kernel``'s first call here: let a compilation of it under way finish."""
    if _compiling:
        return
    child = _children.pop(kernel, None)
    if child is not None:
        try:
            child.wait(WAIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
        return
    index = _index(kernel)
    if fcntl is None or index is None or index.exists():
        return
    deadline = time.monotonic() + WAIT_LIMIT_S
    while _held(_lock(index)) and time.monotonic() < deadline:
        time.sleep(0.1)


@contextmanager
def compiling(kernel):
    """In the child: hold ``kernel``'s lock while compiling it; yields whether it is still
    to compile (another process may have done it meanwhile)."""
    global _compiling
    index = _index(kernel)
    if index is None:
        yield False
        return
    with open(_lock(index), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        _compiling = True
        yield not index.exists()


def _exit_with(parent: int) -> None:
    """The child ends when the process that started it does (interrupted, killed)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def main(build: str, parent: int) -> None:
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    module, function = build.split(":")
    getattr(importlib.import_module(module), function)()


if __name__ == "__main__":   # as the module the kernels' callers import, not as __main__
    from neurosim.memsys import precompile

    precompile.main(sys.argv[1], int(sys.argv[2]))
