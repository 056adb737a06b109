"""The house rules of the package layout (README, "Layout"), read from the source with ``ast``.

- no import cycles between modules of ``theory`` and ``numerics`` (an import inside a function counts too);
- no module imports another module's private name (``from m import _x`` or ``m._x``); a private *module*
  (``numerics/_validate.py``) is private to the package that holds it and its subpackages;
- the layers import downwards only (``LAYERS``);
- ``import numerics`` loads neither numba, healpy nor SymPy.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "numerics")

#: layer -> the layers it may import (besides itself); a module belongs to the longest prefix listed
LAYERS = {
    "theory": (),
    "numerics.kernels": (),
    "numerics": ("numerics.kernels",),  # the physics API: diffusion, qlt, wigner, ... and _validate
    "numerics.codegen": ("theory", "numerics", "numerics.kernels"),
    "numerics.backtracking": ("numerics",),
    "numerics.validation": ("theory", "numerics", "numerics.kernels", "numerics.backtracking"),
    "numerics.estimate": ("numerics", "numerics.backtracking", "numerics.validation"),
    "numerics.report": ("theory", "numerics", "numerics.codegen", "numerics.backtracking", "numerics.validation",
                        "numerics.estimate"),
    "numerics.bench": ("numerics", "numerics.backtracking"),
    "numerics.spectra": ("numerics",),
    "numerics.cli": ("theory", "numerics", "numerics.codegen", "numerics.backtracking", "numerics.validation",
                     "numerics.report", "numerics.bench", "numerics.spectra", "numerics.estimate"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a dotted import target) refers to, or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported attribute or None, line) for every import in ``module``, at any depth."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((alias.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:
                    out.append((full, None, node.lineno))
                else:
                    out.append((base, alias.name, node.lineno))
    return [(m, a, ln) for m, a, ln in out if m.split(".")[0] in PACKAGES]


def _graph() -> dict[str, set[str]]:
    graph = {}
    for m in MODULES:
        targets = set()
        for target, _, _ in _imports(m):
            r = _resolve(target)
            if r is not None and r != m:
                targets.add(r)
        graph[m] = targets
    return graph


def _is_package_of(pkg: str, module: str) -> bool:
    return module == pkg or module.startswith(pkg + ".")


def _layer(module: str) -> str:
    return max((layer for layer in LAYERS if _is_package_of(layer, module)), key=len)


def cycles() -> list[list[str]]:
    graph = _graph()
    for m in graph:  # the parent package's __init__ is imported implicitly and may import its children lazily
        graph[m] = {t for t in graph[m] if not _is_package_of(t, m) or t == m}
    state, found = {}, []

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    return found


def test_no_import_cycles():
    assert cycles() == []


def private_offences() -> list[str]:
    offences = []
    for m, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases = {}  # local name -> module of ours it is bound to
        for target, attr, line in _imports(m):
            r = _resolve(target)
            if attr is not None and attr.startswith("_") and not attr.startswith("__") and r != m:
                offences.append(f"{m}:{line} imports {target}.{attr}")
            leaf = (target if attr is None else f"{target}.{attr}").rpartition(".")[2]
            if leaf.startswith("_") and not leaf.startswith("__") and r is not None:  # dunders are public
                owner = r.rpartition(".")[0]  # a private module is private to its package
                if not _is_package_of(owner, m):
                    offences.append(f"{m}:{line} imports the private module {r}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    base = node.module if isinstance(node, ast.ImportFrom) else None
                    full = f"{'.' * getattr(node, 'level', 0)}{base}.{alias.name}" if base else alias.name
                    r = _resolve(full.lstrip("."))
                    if r is not None and r != m and (r == full.lstrip(".") or isinstance(node, ast.Import)):
                        aliases[alias.asname or alias.name.split(".")[0]] = r
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not _is_package_of(aliases[node.value.id], m) and aliases[node.value.id] != m):
                offences.append(f"{m}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return offences


def test_no_private_names_across_modules():
    assert private_offences() == []


def layer_offences() -> list[str]:
    offences = []
    for m in MODULES:
        own = _layer(m)
        for target, _, line in _imports(m):
            r = _resolve(target)
            if r is None:
                continue
            layer = _layer(r)
            if layer != own and layer not in LAYERS[own] and not _is_package_of(r, m):
                offences.append(f"{m}:{line} ({own}) imports {r} ({layer})")
    return offences


def test_layers_import_downwards():
    assert layer_offences() == []


def test_checker_sees_a_cycle_and_a_private_import(tmp_path, monkeypatch):
    """The rules above can fail: a synthetic package with a cycle and a private import is caught."""
    pkg = tmp_path / "numerics"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from numerics.b import _hidden\n")
    (pkg / "b.py").write_text("def f():\n    from numerics import a\n_hidden = 1\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("numerics",))
    monkeypatch.setattr(sys.modules[__name__], "MODULES", _modules())
    assert cycles() in ([["numerics.a", "numerics.b", "numerics.a"]], [["numerics.b", "numerics.a", "numerics.b"]])
    assert [o for o in private_offences() if "_hidden" in o] == ["numerics.a:1 imports numerics.b._hidden"]


def test_import_numerics_is_light():
    """``import numerics`` (the physics API) loads no numba, healpy, h5py, matplotlib or SymPy."""
    code = ("import sys, numerics; heavy = [m for m in ('numba', 'healpy', 'h5py', 'matplotlib', 'sympy') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_committed_reports_match_the_schema():
    """A report committed under results/ (the paper-scale reference, issue 14) has the schema that ``aniso run``
    writes today (numerics.report.RESULTS_SCHEMA); an older one must be rerun, not silently kept."""
    import json

    from numerics import report

    for page in sorted((ROOT / "results").glob("*/index.html")):  # a report of aniso run (not a study's results)
        path = page.parent / "results.json"
        assert report.schema_problems(json.loads(path.read_text())) == [], path
