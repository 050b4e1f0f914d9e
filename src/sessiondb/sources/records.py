"""The common records every source turns its files into.

A source module reads one agent CLI's files and produces :class:`SessionRecord` and
:class:`MessageRecord` values; it knows nothing of the database. The collector turns
these into rows.

Times come from the records (:class:`Timeline`). A record without its own time
(Claude ``summary`` and ``custom-title`` lines, any other) takes the time of the
nearest timed record of its session: the previous one, or the next one when it comes
first. So it never sets a time of its own, and never moves the session's last message
time. Records that come before any timed one wait for it. When a read ends (or a batch
must be written) while records still wait, they get a provisional time, chosen by the
collector, which knows the database: the time of the message the record links to (a
Claude summary's ``leafUuid``), else the session's latest stored time, else, as the
very last resort for a file with no time at all, the file's mtime. They stay
*pending*: the first timed record read later (in the same read, or in an append)
gives them its time, handed to the store as a ``retime`` map of uuid to time. So
reading a file in pieces gives the same times as reading it once.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..models import MessageType

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
    # The tokens of the model call this message came from (see :class:`UsageRecord`).
    usage: "UsageRecord | None" = None


@dataclass(slots=True)
class UsageRecord:
    """The tokens one model call used, as the agent reported them.

    ``key`` identifies the call across every file of the source, so the same call read
    twice (streamed chunks of one response, a compaction replaying old lines, a resumed
    session copying its parent's prefix) is stored once; the store keeps the largest
    counts seen under a key. ``input`` excludes cached input (``cache_read``) and
    ``output`` excludes ``reasoning``, so the five counts add up to the call's total.
    ``cost`` is the cost the agent itself reported (OpenCode), if any. ``timestamp``
    None takes the time of the message it belongs to (``message_uuid``).
    """

    key: str
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    model: str | None = None
    request_id: str | None = None
    message_uuid: str | None = None
    timestamp: int | None = None
    cost: float | None = None

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write + self.reasoning


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
    def parent_session_id(self) -> str | None:
        value = self.meta.get("parent_session_id")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class ParseIssues:
    """Bad lines of one file: an exact count and the first error text."""

    bad_lines: int = 0
    first_error: str | None = None
    skipped_records: Counter[str] = field(default_factory=Counter)
    unknown_records: Counter[str] = field(default_factory=Counter)

    def bad(self, where: str, message: str) -> None:
        self.bad_lines += 1
        if self.first_error is None:
            self.first_error = f"{where}: {message}"[:MAX_ERROR_TEXT]

    def skip(self, label: str) -> None:
        """A bookkeeping record that repeats what other records say."""
        self.skipped_records[label] += 1

    def unknown(self, label: str) -> None:
        """A record of a kind the parser does not know (kept as a SYSTEM message)."""
        self.unknown_records[label] += 1

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


# Records handed out with a provisional time whose uuids are kept (in the parser's saved
# state) to be corrected later; beyond this many, the rest keep their provisional time.
MAX_PENDING = 10_000


class Timeline:
    """Dates the records of one session in file order (see the module docstring).

    ``latest`` is the time of the last timed record (None before the first), ``waiting``
    the records not handed out yet that have no time, with the uuid each links to,
    ``pending`` the uuids of records already handed out with a provisional time, and
    ``retimed`` the corrected times of those, to be written.
    """

    __slots__ = ("latest", "waiting", "pending", "retimed")

    def __init__(self, latest: int | None = None, pending: Any = ()) -> None:
        self.latest: int | None = latest if isinstance(latest, int) else None
        self.waiting: list[tuple[MessageRecord, str | None]] = []
        self.pending: list[str] = [p for p in pending if isinstance(p, str)] if isinstance(pending, list) else []
        self.retimed: dict[str, int] = {}

    def date(self, record: MessageRecord, own: int | None, link: str | None = None) -> None:
        """Give ``record`` its own time, else the previous timed record's, else make it wait."""
        if own is not None:
            record.timestamp = own
            self.observe(own)
        elif self.latest is not None:
            record.timestamp = self.latest
        else:
            record.timestamp = 0
            self.waiting.append((record, link))

    def observe(self, moment: int) -> None:
        """A timed record: it dates every record still waiting or pending."""
        self.latest = moment
        if self.waiting:
            for record, _ in self.waiting:
                record.timestamp = moment
            self.waiting = []
        if self.pending:
            for uuid in self.pending:
                self.retimed[uuid] = moment
            self.pending = []

    def settle(self, provisional: int) -> list[tuple[str, str]]:
        """Give the waiting records ``provisional`` and keep them pending. Returns
        ``(uuid, linked uuid)`` of those that link to another message."""
        links = []
        for record, link in self.waiting:
            record.timestamp = provisional
            if len(self.pending) < MAX_PENDING:
                self.pending.append(record.uuid)
            if link:
                links.append((record.uuid, link))
        self.waiting = []
        return links

    def take_retimed(self) -> dict[str, int]:
        out, self.retimed = self.retimed, {}
        return out


@dataclass(slots=True)
class ParsedUnit:
    """A unit read whole: its session (None when there is none to store) and messages."""

    session: SessionRecord | None
    messages: list[MessageRecord] = field(default_factory=list)
    issues: ParseIssues = field(default_factory=ParseIssues)
    # Sources whose files change in place: a stored message whose text changed is updated.
    update_changed: bool = True
    # How the messages were dated: those still waiting get a provisional time from the collector.
    timeline: Timeline = field(default_factory=Timeline)
    # Token counts that belong to no message made here (the message was not stored).
    usage: list[UsageRecord] = field(default_factory=list)
