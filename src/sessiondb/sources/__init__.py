"""Session sources: one module per agent CLI, each turning its files into common records.

Each module defines one :class:`~.base.Source` (``SOURCE``) and holds only its format:
the record schema, where its files are and how they are laid out, and how a record
becomes messages. The shared pieces are :mod:`.base` (the source and line parser
bases), :mod:`.records` (records and their times), :mod:`.content` (the labels of
``content_full``), :mod:`.roots`, :mod:`.jsonl` and :mod:`.lenient`. Nothing here
touches the database.

Adding a source: a module with a ``LineSource`` (append-only JSONL, with a
``LineParser``) or a ``WholeSource`` (``parse(unit)``), and one line in ``SOURCES``.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from . import aider, claude, cline, codex, copilot, crush, cursor, gemini, goose, opencode, openhands, pi, qwen
from .base import LineParser, LineSource, Source, WholeSource
from .records import MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, project_name_of

# Every source, by its name in ``messages.source``, in the order they are collected.
# Aider and Crush come last: their files are also looked for in the projects the others name.
SOURCES: dict[str, Source] = {s.name: s for s in (claude.SOURCE, codex.SOURCE, opencode.SOURCE, gemini.SOURCE,
                                                  copilot.SOURCE, qwen.SOURCE, pi.SOURCE, openhands.SOURCE,
                                                  cursor.SOURCE, cline.SOURCE, goose.SOURCE,
                                                  aider.SOURCE, crush.SOURCE)}
ALL_SOURCES = tuple(SOURCES)


def source_for(name: str) -> Source:
    """The source of a name (``claude``, ``codex``, ``opencode``, ``gemini``, ``copilot``, ...)."""
    try:
        return SOURCES[name]
    except (KeyError, TypeError):
        raise InvalidArgument(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None


__all__ = ["ALL_SOURCES", "LineParser", "LineSource", "MessageRecord", "ParseIssues", "ParsedUnit", "SOURCES",
           "SessionRecord", "Source", "SourceUnit", "WholeSource", "aider", "claude", "cline", "codex", "copilot",
           "crush", "cursor", "gemini", "goose", "opencode", "openhands", "pi", "project_name_of", "qwen",
           "source_for"]
