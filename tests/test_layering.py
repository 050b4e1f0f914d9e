"""The package's layers point one way, and no face imports another face.

Every import of every module counts: at module level, inside functions (imports done
on first use) and under ``TYPE_CHECKING``, because each is a dependency a reader of
the code has to follow. The layers, bottom up:

    foundation    errors, models, config, timeutil, _startup, _record, pricing
    sources       files of each agent CLI -> common records (knows no database)
    store         the SQLite file, its rows and indexes (knows no files)
    search        the query language and plans over the store
    coordination  who may write; the fence the store runs
    collector     sources -> store; session_files: sources read without a database
    db            SessionDB, the facade that composes store, search, coordination
    api           the package root ``sessiondb``, ``watch``, ``archive`` (opens a file or a mirror),
                  ``agent_client`` and its ``handoff`` spool
    faces         capi, cli, viewer, mcp, mirror: each over the layers below, never another face

A face may also be launched by name (``cli`` finds the other faces' subcommands with
importlib), which is a plug-in lookup, not an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sessiondb"

FOUNDATION = {"sessiondb.errors", "sessiondb.models", "sessiondb.config", "sessiondb.timeutil",
              "sessiondb._startup", "sessiondb._record", "sessiondb.pricing"}
FACES = ("capi", "cli", "viewer", "mcp", "mirror")
LAYERS = ["foundation", "sources", "store", "search", "coordination", "collector", "db", "api", "face"]
# What each layer may import besides itself and the foundation.
ALLOWED = {
    "foundation": set(),
    "sources": set(),
    "store": set(),
    "search": {"store"},
    "coordination": {"store"},
    "collector": {"sources", "store"},
    "db": {"store", "search", "coordination", "collector"},
    "api": {"sources", "store", "search", "coordination", "collector", "db"},
    "face": {"sources", "store", "search", "coordination", "collector", "db", "api"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module in FOUNDATION:
        return "foundation"
    if module in ("sessiondb", "sessiondb.watch", "sessiondb.archive", "sessiondb.agent_client",
                  "sessiondb.handoff"):
        return "api"
    if module == "sessiondb.__main__":   # ``python -m sessiondb``: the command line
        return "face"
    if len(parts) > 1 and parts[1] in FACES:
        return "face"
    if module == "sessiondb.session_files":
        return "collector"
    if len(parts) > 1 and parts[1] in {"sources", "store", "search", "coordination", "collector", "db"}:
        return parts[1]
    raise AssertionError(f"{module} has no layer: add it to tests/test_layering.py")


def face_of(module: str) -> str | None:
    if module == "sessiondb.__main__":
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FACES else None


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "samples" not in p.parts}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The sessiondb modules ``path`` imports (a package's submodule when the imported
    name is one, else the package itself)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    table = modules()
    known = set(table)
    return {name: imports_of(path, name, known) for name, path in table.items()}


def violations(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        layer = layer_of(module)
        for target in sorted(targets):
            other = layer_of(target)
            if other == "face":
                if face_of(target) != face_of(module):
                    problems.append(f"{module} -> {target}: a module imports the face {face_of(target)}")
                continue
            if other != layer and other != "foundation" and other not in ALLOWED[layer]:
                problems.append(f"{module} ({layer}) -> {target} ({other}): points up or across a layer")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as the modules on it (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_imports_point_down_and_faces_stay_apart() -> None:
    assert violations(import_graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_catch_what_they_forbid() -> None:
    graph = {
        "sessiondb.sources.claude": {"sessiondb.store.core"},        # sources -> store
        "sessiondb.store.core": {"sessiondb.collector"},             # store -> collector
        "sessiondb.cli.output": {"sessiondb.viewer.app"},            # face -> face
        "sessiondb.search.engine": {"sessiondb.search.plans"},
        "sessiondb.search.plans": {"sessiondb.search.engine"},       # a cycle
        "sessiondb.viewer.app": {"sessiondb.db", "sessiondb.viewer.pages"},
        "sessiondb.collector": set(), "sessiondb.db": set(), "sessiondb.viewer.pages": set(),
    }
    found = violations(graph)
    assert any(p.startswith("sessiondb.sources.claude") for p in found)
    assert any(p.startswith("sessiondb.store.core") for p in found)
    assert any(p.startswith("sessiondb.cli.output") for p in found)
    assert not any(p.startswith("sessiondb.viewer.app") for p in found)
    assert cycles(graph) == [["sessiondb.search.engine", "sessiondb.search.plans"]]
