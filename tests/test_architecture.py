"""The package's house rules, checked on the source (docs/architecture.md):

- edgesnn/'s modules import each other without a cycle. Every import statement counts,
  also one inside a function (a lazy import is still an arrow), with relative imports
  resolved. `from pkg import name` points at pkg.name when that is a module, else at pkg.
- No module imports another module's underscore-prefixed name or reads one through a
  module it imported (`from x import _y`, `x._y`); edgesnn._esnn, the compiled C core,
  is the one exception.
"""
from __future__ import annotations

import ast
import os

import pytest

PKG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "edgesnn")
ALLOWED_PRIVATE = {"edgesnn._esnn"}


def _modules() -> dict:
    """module name -> path of every .py file in edgesnn/."""
    out = {}
    root = os.path.dirname(PKG_DIR)
    for dirpath, dirnames, files in os.walk(PKG_DIR):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), root)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = os.path.join(dirpath, f)
    return out


MODULES = _modules()


def _package_of(module: str, path: str) -> str:
    return module if path.endswith("__init__.py") else module.rpartition(".")[0]


def _imports(module: str, path: str):
    """(target module, imported name or None, line) of every import in `path` that names
    an edgesnn module, plus (alias -> module) of the names bound to edgesnn modules."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = _package_of(module, path)
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "edgesnn":
                    found.append((a.name, None, node.lineno))
                    if a.asname:
                        aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if src.split(".")[0] != "edgesnn":
                continue
            for a in node.names:
                sub = f"{src}.{a.name}"
                if sub in MODULES or sub in ALLOWED_PRIVATE:
                    found.append((sub, None, node.lineno))
                    aliases[a.asname or a.name] = sub
                else:
                    found.append((src, a.name, node.lineno))
    return tree, found, aliases


def _graph() -> dict:
    graph = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        _, found, _ = _imports(module, path)
        for target, _, _ in found:
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def _cycle(graph: dict):
    """One import cycle as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        color[m] = GREY
        stack.append(m)
        for n in sorted(graph[m]):
            if color[n] == GREY:
                return stack[stack.index(n):] + [n]
            if color[n] == WHITE:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        color[m] = BLACK
        return None

    for m in sorted(graph):
        if color[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return None


def test_the_module_graph_is_read_from_the_source():
    # the walk sees the rooms and the arrows between them (else the checks below pass
    # vacuously): Model reads the blob format, the board imports the runtime
    graph = _graph()
    assert {"edgesnn.runtime.model", "edgesnn.format.blob", "edgesnn.serial.board",
            "edgesnn.compile.pack", "edgesnn.emulate.qemu"} <= set(graph)
    assert "edgesnn.format.blob" in graph["edgesnn.runtime.model"]
    assert "edgesnn.runtime.model" in graph["edgesnn.serial.board"]
    # a lazy import inside a function is an arrow too
    assert "edgesnn.runtime.finetune" in graph["edgesnn.runtime.model"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_edgesnn_has_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_runtime_does_not_depend_on_the_compiler():
    graph = _graph()
    for m in graph:
        if m.startswith(("edgesnn.runtime", "edgesnn.format")):
            bad = sorted(t for t in graph[m] if t.startswith("edgesnn.compile"))
            assert not bad, f"{m} imports {bad}"


def _private_uses():
    problems = []
    for module, path in sorted(MODULES.items()):
        tree, found, aliases = _imports(module, path)
        package = _package_of(module, path)
        for target, name, line in found:
            if target in ALLOWED_PRIVATE:
                continue
            last = target.rsplit(".", 1)[-1]
            # a package's own underscore module (cli/__main__ aside) is the package's
            # business; another package's is not
            if name is None and last.startswith("_") and not last.startswith("__") \
                    and target.rpartition(".")[0] != package:
                problems.append(f"{path}:{line}: imports private module {target}")
            if name is not None and name.startswith("_") and not name.startswith("__"):
                problems.append(f"{path}:{line}: imports {target}.{name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and \
                    not node.attr.startswith("__") and isinstance(node.value, ast.Name) and \
                    node.value.id in aliases and aliases[node.value.id] not in ALLOWED_PRIVATE:
                problems.append(f"{path}:{node.lineno}: reads {aliases[node.value.id]}."
                                f"{node.attr}")
    return problems


def test_no_module_uses_another_modules_private_names():
    problems = _private_uses()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source, expected", [
    ("from .quantize import _pick\n", "imports edgesnn.compile.quantize._pick"),
    ("from . import quantize\nquantize._pick(1)\n", "reads edgesnn.compile.quantize._pick"),
])
def test_the_private_name_check_catches(tmp_path, monkeypatch, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    monkeypatch.setitem(MODULES, "edgesnn.compile.probe", str(path))
    try:
        assert any(expected in p for p in _private_uses())
    finally:
        MODULES.pop("edgesnn.compile.probe", None)
