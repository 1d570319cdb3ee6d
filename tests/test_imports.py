"""The package's import graph (every ``import`` of every module, at the top or inside a function, read with ast):
no circles, and the data layer never reaches up into the probes, the figures or the command line."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "neuralogram"


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    return out


def import_graph() -> dict[str, set[str]]:
    """``module -> the package's modules it imports`` (``from .x import y`` counts as ``x.y`` when ``y`` is a
    module, else as ``x``; a package's own ``__init__`` importing its modules counts like any import)."""
    mods = _modules()
    graph = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for a in node.names:
                    targets.add(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_lazy_and_relative_imports():
    g = import_graph()
    assert "neuralogram.data.real" in g["neuralogram.data.mixed"]           # from . import real
    assert "neuralogram.data.real" in g["neuralogram.probes.real_world"]    # from ..data import real
    assert "neuralogram.data.mixed" in g["neuralogram.probes.real_tags"]    # inside a function
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    assert _cycles(import_graph()) == []


def test_data_never_imports_probes_viz_or_cli():
    bad = {m: sorted(t for t in ts if t.split(".")[1] in ("probes", "viz", "cli"))
           for m, ts in import_graph().items() if m.startswith("neuralogram.data")}
    assert not {m: ts for m, ts in bad.items() if ts}
