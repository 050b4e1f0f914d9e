"""The viewer is a thin face: only the public ``sessiondb`` API, no other face, no private names."""

from __future__ import annotations

import ast
from pathlib import Path

import sessiondb

VIEWER = Path(sessiondb.__file__).resolve().parent / "viewer"
OTHER_FACES = ("sessiondb.cli", "sessiondb.mcp", "sessiondb.capi", "sessiondb._capi", "sessiondb.mirror")


def _modules() -> list[Path]:
    files = sorted(VIEWER.glob("*.py"))
    assert files, VIEWER
    return files


def _absolute(node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = ["sessiondb", "viewer"][: 2 - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_viewer_imports_only_the_public_api() -> None:
    public = set(sessiondb.__all__)
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(node)
                names = [module]
                if module == "sessiondb":
                    private = [a.name for a in node.names if a.name not in public]
                    assert not private, f"{path.name}: not public: {private}"
                elif module.startswith("sessiondb.") and not module.startswith("sessiondb.viewer"):
                    raise AssertionError(f"{path.name}:{node.lineno} imports {module}; use `from .. import` "
                                         "public names")
            else:
                continue
            for name in names:
                assert not name.startswith(OTHER_FACES), f"{path.name}:{node.lineno} imports {name}"


def test_viewer_touches_no_private_names_of_others() -> None:
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                assert isinstance(owner, ast.Name) and owner.id == "self", \
                    f"{path.name}:{node.lineno} uses the private name {node.attr}"
