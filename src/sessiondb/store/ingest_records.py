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
    ``rank``: the rank index's postings of ``rows``, when they were computed as the rows
    were read: ``(store.rank_index.ReadPostings or None, row count)`` for consecutive
    parts of ``rows`` (the writer then need not tokenize them).
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
    rank: Any = None

    def merge(self, later: "IngestSession") -> None:
        """Fold a later share of the same session (another file, or the next piece of one)
        into this one: its rows follow, known values win, flags add up."""
        self.model = later.model or self.model
        self.cwd = later.cwd or self.cwd
        self.reassign_project = self.reassign_project or later.reassign_project
        self.update_changed = self.update_changed or later.update_changed
        if later.meta:
            self.meta = later.meta
        self.retime.update(later.retime)
        self.links.extend(later.links)
        if self.rank is not None or later.rank is not None:
            self.rank = ((self.rank if self.rank is not None else [(None, len(self.rows))])
                         + (later.rank if later.rank is not None else [(None, len(later.rows))]))
        self.rows.extend(later.rows)
        self.usage.extend(later.usage)


@dataclass(slots=True)
class IngestOutcome:
    inserted: int = 0
    updated: int = 0
    sessions_written: int = 0
    projects: set[str] = field(default_factory=set)
    inserted_by_session: dict[str, int] = field(default_factory=dict)
    usage_written: int = 0
