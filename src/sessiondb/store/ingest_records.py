"""The records the collector hands to the bulk write path (``store.ingest``).

Kept apart from ``store.ingest`` so that opening a database does not create these
classes (the C ABI's first call pays every import).
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class FileState:
    """What was read of one source unit (a row of ``file_state``)."""

    path: str
    source: str
    session_id: str | None
    size: int
    mtime_ns: int
    inode: int
    byte_offset: int
    prefix_hash: str
    parser_version: int
    parser_state: str | None = None
    bad_lines: int = 0
    first_error: str | None = None
    updated_at: int = 0


@dataclass(slots=True)
class IngestSession:
    """One session's share of a batch: the project it belongs to, its metadata and rows.

    ``meta`` is a JSON object merged into ``sessions.meta`` (keys replaced, others kept).
    ``update_changed``: a stored message with the same uuid in this session whose text
    differs is updated (for sources that rewrite their files); otherwise stored rows win.
    ``reassign_project``: the session's project was a guess and is now known.
    ``retime``: stored messages (by uuid) whose provisional time is now known.
    ``links``: ``(uuid, linked uuid)`` of messages without a time of their own, which take
    the linked message's time when it is stored.
    ``usage``: rows of the ``usage`` table (``store.usage.USAGE_COLUMNS``), token counts
    of the session's model calls.
    """

    session_id: str
    source: str
    project_path: str
    project_name: str
    encoded_dir_name: str | None = None
    cwd: str | None = None
    model: str | None = None
    channel: str | None = None
    meta: str | None = None
    file_mtime: int | None = None
    file_size: int | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    update_changed: bool = False
    reassign_project: bool = False
    retime: dict[str, int] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    usage: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(slots=True)
class IngestOutcome:
    inserted: int = 0
    updated: int = 0
    sessions_written: int = 0
    projects: set[str] = field(default_factory=set)
    inserted_by_session: dict[str, int] = field(default_factory=dict)
    usage_written: int = 0
