"""The common records every source turns its files into.

A source module reads one agent CLI's files and produces :class:`SessionRecord` and
:class:`MessageRecord` values; it knows nothing of the database. The collector turns
these into rows.
"""

from __future__ import annotations

# This module loads lazily, maybe while another thread imports typing; dataclasses reads
# sys.modules['typing'] as it is, so finish that import before defining any dataclass.
import typing  # noqa: F401

import hashlib
import os
import stat as stat_module
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..models import MessageType

SOURCE_CLAUDE = "claude"
SOURCE_CODEX = "codex"
SOURCE_OPENCODE = "opencode"
SOURCE_GEMINI = "gemini"
ALL_SOURCES = (SOURCE_CLAUDE, SOURCE_CODEX, SOURCE_OPENCODE, SOURCE_GEMINI)

# Channel names the original collector used ("code" for Claude Code, "cli" for the CLIs).
CHANNELS = {SOURCE_CLAUDE: "code", SOURCE_CODEX: "cli", SOURCE_OPENCODE: None, SOURCE_GEMINI: "cli"}

# Text of an unknown record kept in content_full (the whole line is in ``raw``).
UNKNOWN_PREVIEW_CHARS = 500
# Errors remembered per file: the count is exact, the text is the first one.
MAX_ERROR_TEXT = 300


@dataclass(slots=True)
class MessageRecord:
    """One message of a session, in the shape of a ``messages`` row."""

    uuid: str
    type: MessageType
    content_text: str
    content_full: str
    timestamp: int
    sequence: int
    model: str | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_args: str | None = None
    raw: str | None = None


@dataclass(slots=True)
class SessionRecord:
    """What a source knows about one session (its project, and metadata for ``sessions.meta``)."""

    session_id: str
    source: str
    project_path: str | None = None
    project_name: str | None = None
    encoded_dir_name: str | None = None
    cwd: str | None = None
    model: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def channel(self) -> str | None:
        return CHANNELS.get(self.source)

    @property
    def parent_session_id(self) -> str | None:
        value = self.meta.get("parent_session_id")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class ParseIssues:
    """Bad lines of one file: an exact count and the first error text."""

    bad_lines: int = 0
    first_error: str | None = None
    skipped_records: Counter = field(default_factory=Counter)
    unknown_records: Counter = field(default_factory=Counter)

    def bad(self, where: str, message: str) -> None:
        self.bad_lines += 1
        if self.first_error is None:
            self.first_error = f"{where}: {message}"[:MAX_ERROR_TEXT]

    def merge(self, other: "ParseIssues") -> None:
        self.bad_lines += other.bad_lines
        if self.first_error is None:
            self.first_error = other.first_error
        self.skipped_records.update(other.skipped_records)
        self.unknown_records.update(other.unknown_records)


def project_name_of(path: str | None) -> str | None:
    """Last non-empty path segment (``/a/b/`` -> ``b``), or the whole text if none."""
    if not path:
        return None
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return parts[-1] if parts else path


def synthetic_uuid(session_id: str, kind: str, raw: str | bytes) -> str:
    """A stable id for a record that has none: the same line always gets the same id, so
    re-reading a file (after an append, a rewrite or a move) never duplicates it."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    return f"{session_id}:{kind}:{digest}"


def clean_id(value: str) -> str:
    """Identifiers may not hold NUL (C callers could not read them back)."""
    return value.replace("\x00", "") if "\x00" in value else value


def preview(text: str, limit: int = UNKNOWN_PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(slots=True)
class SourceUnit:
    """One thing a source reads as a whole or incrementally: usually one file.

    ``key`` names its row in the collector's per-file state (the file's path, or
    ``<database>#<session>`` for a session stored inside another program's database).
    ``size``, ``mtime_ns`` and ``inode`` are what a warm rescan compares;
    ``fingerprint`` adds a digest for units made of many files or rows.
    """

    source: str
    key: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    fingerprint: str = ""
    incremental: bool = False
    context: dict[str, Any] = field(default_factory=dict)


def stat_unit(source: str, path: str, *, incremental: bool, context: dict[str, Any] | None = None,
              key: str | None = None) -> SourceUnit | None:
    """A unit for the file at ``path`` (None if it is not a readable regular file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat_module.S_ISREG(st.st_mode):
        return None
    return SourceUnit(source, key or path, path, st.st_size, st.st_mtime_ns, st.st_ino,
                      incremental=incremental, context=context or {})


@dataclass(slots=True)
class ParsedUnit:
    """A unit read whole: its session (None when there is none to store) and messages."""

    session: SessionRecord | None
    messages: list[MessageRecord] = field(default_factory=list)
    issues: ParseIssues = field(default_factory=ParseIssues)
    # Sources whose files change in place: a stored message whose text changed is updated.
    update_changed: bool = True
