"""Run a neurosim command under ``perf record`` with the numba kernels named
(docs/performance.md, "Where a DRAM-bound cycle-level step spends its time now").

    NUMBA_CACHE_DIR=$(mktemp -d) perf record -F 499 -o perf.data -- \\
        python benchmarks/perf_map.py run paper-20core vgg-cifar10dvs --set workload.batch=1
    perf report -i perf.data --sort sym

JIT code has no symbols for perf. At exit this writes ``/tmp/perf-PID.map`` (the format
perf reads for JIT code: start, size, name) from each compiled overload's address in
neurosim's kernel modules; for ``cycle.engine_run`` it also names the functions compiled
into its object (from the object's symbol table, so a call such as
``dram_channel_cycle`` shows as itself). Needs the kernels compiled in the process (an
empty ``NUMBA_CACHE_DIR``: an object loaded from the cache cannot be read back); the
compiled object of ``engine_run`` is left in ``--object`` (default ``engine_run.o``) for
``objdump -d``.
"""
from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys

import numba

KERNEL_MODULES = ("neurosim.memsys.cycle", "neurosim.memsys.noc", "neurosim.memsys.dram",
                  "neurosim.hw.sram", "neurosim.hw.engines")


def _object_symbols(obj_path: str) -> list:
    """(offset, size, name) of the functions in an object file's .text."""
    out = subprocess.run(["objdump", "-t", obj_path], capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():   # "offset flags F section size name" (sections .text,
        m = re.match(r"([0-9a-f]+)\s.*\sF\s+\S*text\S*\s+([0-9a-f]+)\s+(\S+)$", line)
        if m:                        # .ltext, ...)
            syms.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3)))
    return syms


def _short(mangled: str) -> str:
    """``neurosim.memsys.dram.dram_channel_cycle`` from numba's mangled symbol name (its
    length-prefixed parts after ``_ZN``)."""
    prefix, rest = ("cfunc ", mangled[6:]) if mangled.startswith("cfunc.") else ("", mangled)
    if not rest.startswith("_ZN"):
        return mangled
    rest, names = rest[3:], []
    while (m := re.match(r"\d+", rest)):
        n = int(m.group())
        names.append(rest[m.end():m.end() + n])
        rest = rest[m.end() + n:]
    return prefix + ".".join(names)


def write_map(obj_out: str) -> None:
    import importlib

    entries = []   # (start, size or None, name)
    for modname in KERNEL_MODULES:
        mod = importlib.import_module(modname)
        for name, obj in vars(mod).items():
            if not isinstance(obj, numba.core.registry.CPUDispatcher):
                continue
            for cres in obj.overloads.values():
                lib = cres.library
                addr = lib.get_pointer_to_function(cres.fndesc.llvm_func_name)
                if not addr:
                    continue
                if name == "engine_run":
                    try:
                        obj_bytes = lib._get_compiled_object()
                    except RuntimeError:
                        sys.exit("perf_map.py: engine_run came from the numba cache; run "
                                 "with an empty NUMBA_CACHE_DIR")
                    with open(obj_out, "wb") as f:
                        f.write(obj_bytes)
                    syms = _object_symbols(obj_out)
                    base = next(addr - off for off, _, n in syms
                                if n == cres.fndesc.llvm_func_name)
                    entries += [(base + off, size, _short(n)) for off, size, n in syms]
                else:
                    entries.append((addr, None, f"{modname}.{name}"))
    entries.sort()
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as f:
        for i, (start, size, name) in enumerate(entries):
            if size is None:   # up to the next function (at most 64 KiB)
                nxt = entries[i + 1][0] if i + 1 < len(entries) else start + 65536
                size = min(nxt - start, 65536)
            f.write(f"{start:x} {size:x} {name}\n")
    print(f"perf_map.py: /tmp/perf-{os.getpid()}.map, {len(entries)} functions",
          file=sys.stderr)


def main(argv) -> int:
    obj_out = "engine_run.o"
    if argv[:1] == ["--object"]:
        obj_out, argv = argv[1], argv[2:]
    atexit.register(write_map, obj_out)
    from neurosim.cli import main as neurosim_main
    return neurosim_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
