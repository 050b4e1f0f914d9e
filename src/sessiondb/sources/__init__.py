"""Session sources: one module per agent CLI, each turning its files into common records.

Every module has the same face: ``SOURCE`` (its name in ``messages.source``),
``PARSER_VERSION``, ``resolve_roots(roots=None)``, ``discover(roots, known=None)``
(the units to read, found by listing and stat only), ``unit_for_path(path, roots)``
(the unit of one changed file) and either an incremental line ``Parser`` (append-only
JSONL files: Claude Code, Codex) or ``parse(unit)`` (units read whole: OpenCode,
Gemini CLI). Nothing here touches the database.
"""

from __future__ import annotations

from types import ModuleType

from ..errors import InvalidArgument
from . import claude, codex, gemini, opencode
from .records import (ALL_SOURCES, MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit,
                      project_name_of)

MODULES: dict[str, ModuleType] = {m.SOURCE: m for m in (claude, codex, opencode, gemini)}


def module_for(source: str) -> ModuleType:
    """The module of a source name (``claude``, ``codex``, ``opencode``, ``gemini``)."""
    try:
        return MODULES[source]
    except KeyError:
        raise InvalidArgument(f"unknown source {source!r}; known: {', '.join(MODULES)}") from None


__all__ = ["ALL_SOURCES", "MODULES", "MessageRecord", "ParseIssues", "ParsedUnit", "SessionRecord", "SourceUnit",
           "claude", "codex", "gemini", "module_for", "opencode", "project_name_of"]
