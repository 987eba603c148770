"""The package's import graph, read from the source by AST (every import, top-level or inside
a function): no module imports a private name (``_x``) of another neurosim module or reaches
one through a module it imported, and no two modules import each other (directly or around
a longer cycle)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "neurosim"

# No cycle is allowed (the last one, memsys <-> cycle_memsys, went with make_memory_system
# moving into cycle_memsys).
KNOWN_CYCLES: list = []


def _modules() -> dict:
    mods = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (f, is_pkg)
    return mods


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module ``name`` lives in (itself, or the closest enclosing package/module)."""
    if name not in MODULES:      # a module added since this file was imported
        MODULES.update(_modules())
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str):
    """(imported module, imported name or None, line, alias bound here) for every neurosim
    import in ``mod``."""
    f, is_pkg = MODULES[mod]
    tree = ast.parse(f.read_text(), str(f))
    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "neurosim":
                    yield a.name, None, node.lineno, a.asname or a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "neurosim":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno, a.asname or a.name
                else:
                    yield target, a.name, node.lineno, a.asname or a.name


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_graph_covers_the_package():
    assert "neurosim.api" in MODULES and "neurosim.hw.chip" in MODULES
    assert len(MODULES) > 50


def test_no_module_imports_a_private_name_of_another():
    bad = []
    for mod, (f, _) in MODULES.items():
        module_aliases = {}
        for target, name, line, alias in _imports(mod):
            if name is not None and _private(name) and _owner(target) != mod:
                bad.append(f"{mod}:{line} imports {name} from {target}")
            if name is None:
                module_aliases[alias] = target
        # module._private through an imported module
        for node in ast.walk(ast.parse(f.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_aliases and _private(node.attr)
                    and module_aliases[node.value.id] != mod):
                bad.append(f"{mod}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def _graph() -> dict:
    edges = {m: set() for m in MODULES}
    for mod in MODULES:
        for target, _, _, _ in _imports(mod):
            owner = _owner(target)
            if owner and owner != mod:
                edges[mod].add(owner)
    return edges


def _cycles(edges: dict) -> list[set]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


@pytest.mark.parametrize("edges,expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [{"a", "b"}]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [{"a", "b", "c"}]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert _cycles(edges) == expected
