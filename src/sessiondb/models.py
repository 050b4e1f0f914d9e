"""Value types shared by the Python API, the C ABI and the CLI.

Field names and meanings follow the original crate (reference §2.2) so that code
ported from it reads the same; enums are Python enums whose ``.value`` is the string
stored in the database.
"""

from __future__ import annotations

import enum

from ._record import record
from .errors import InvalidArgument


class MessageType(str, enum.Enum):
    """Who produced a message. Stored as the lowercase string in ``messages.type``."""

    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    SYSTEM = "system"

    @classmethod
    def from_db(cls, value: str | None) -> "MessageType":
        """Parse a stored value; like the original, anything unknown reads as USER."""
        text = (value or "").strip().lower()
        if text == "human":
            return cls.USER
        try:
            return cls(text)
        except ValueError:
            return cls.USER

    @property
    def code(self) -> int:
        """The C ABI integer: user 0, assistant 1, tool 2, system 3."""
        return _MESSAGE_TYPE_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> "MessageType":
        for member, value in _MESSAGE_TYPE_CODES.items():
            if value == code:
                return member
        raise InvalidArgument(f"unknown message type code {code}")


_MESSAGE_TYPE_CODES = {MessageType.USER: 0, MessageType.ASSISTANT: 1, MessageType.TOOL: 2,
                       MessageType.SYSTEM: 3}


class ApprovalStatus(str, enum.Enum):
    """Tool-call approval state, stored lowercase in ``messages.approval_status``."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMEOUT = "timeout"

    @classmethod
    def from_db(cls, value: str | None) -> "ApprovalStatus | None":
        """Case-insensitive parse; an invalid stored value reads as None (as in the original)."""
        if value is None:
            return None
        try:
            return cls(value.strip().lower())
        except ValueError:
            return None


class SearchOrder(enum.IntEnum):
    """Result order; the integer values are the C ABI's ``SearchOrderByC``."""

    SCORE = 0
    TIME_DESC = 1
    TIME_ASC = 2
    NEWEST = 1
    OLDEST = 2


class VectorIndexState(enum.IntEnum):
    """``messages.vector_indexed``: 0 not indexed, 1 indexed, -1 failed.

    The original read this column as a bool, so a failure (-1) looked indexed; here the
    three states stay distinct.
    """

    NOT_INDEXED = 0
    INDEXED = 1
    FAILED = -1


@record
class Project:
    id: int
    name: str
    path: str
    source: str
    encoded_dir_name: str | None
    created_at: int
    updated_at: int


@record
class ProjectWithStats:
    id: int
    name: str
    path: str
    source: str
    session_count: int
    message_count: int
    last_active: int | None


@record
class ProjectWithSource:
    id: int
    name: str
    path: str
    source: str


@record
class Session:
    id: int
    session_id: str
    project_id: int
    message_count: int
    last_message_at: int | None
    cwd: str | None
    model: str | None
    channel: str | None
    file_mtime: int | None
    file_size: int | None
    meta: str | None
    created_at: int
    updated_at: int


@record
class SessionWithProject:
    id: int
    session_id: str
    project_id: int
    project_name: str
    project_path: str
    message_count: int
    last_message_at: int | None
    cwd: str | None
    model: str | None
    channel: str | None
    file_mtime: int | None
    file_size: int | None
    encoded_dir_name: str | None
    meta: str | None
    created_at: int
    updated_at: int


@record
class SessionInput:
    """Arguments of ``upsert_session_full``; None fields keep the stored value."""

    session_id: str
    project_id: int
    cwd: str | None = None
    model: str | None = None
    channel: str | None = None
    message_count: int | None = None
    file_mtime: int | None = None
    file_size: int | None = None
    meta: str | None = None


@record
class MessageInput:
    """One message to insert. ``timestamp`` is Unix epoch milliseconds."""

    uuid: str
    type: MessageType
    content_text: str
    content_full: str
    timestamp: int
    sequence: int
    source: str | None = None
    channel: str | None = None
    model: str | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_args: str | None = None
    raw: str | None = None
    approval_status: ApprovalStatus | None = None
    approval_resolved_at: int | None = None


@record
class Message:
    id: int
    session_id: str
    uuid: str
    type: MessageType
    content_text: str
    content_full: str
    timestamp: int
    sequence: int
    source: str | None
    channel: str | None
    model: str | None
    tool_call_id: str | None
    tool_name: str | None
    tool_args: str | None
    raw: str | None
    vector_indexed: VectorIndexState
    approval_status: ApprovalStatus | None
    approval_resolved_at: int | None


@record
class SearchResult:
    message_id: int
    session_id: str
    project_id: int
    project_name: str
    type: str
    content_full: str
    snippet: str
    score: float
    timestamp: int
    uuid: str = ""
    source: str | None = None
    project_path: str = ""


@record
class Stats:
    project_count: int
    session_count: int
    message_count: int


@record
class IntegrityCheckResult:
    """Outcome of ``PRAGMA quick_check`` / ``integrity_check``: ``ok`` or every problem found."""

    ok: bool
    problems: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "ok" if self.ok else "; ".join(self.problems)


@record
class SessionOverview:
    """What a person needs to recognise a session: its title, where and when.

    ``title`` is the session's custom title, else its summary, else its first user
    prompt (first line, trimmed to 120 characters), else "". ``first_message_at`` and
    ``last_message_at`` are the times of its earliest and latest stored messages (ms);
    ``parent_session_id`` and ``session_type`` come from ``sessions.meta`` (subagent and
    child sessions).
    """

    session_id: str
    project_id: int
    project_name: str
    project_path: str
    source: str
    title: str
    summary: str | None
    message_count: int
    first_message_at: int | None
    last_message_at: int | None
    parent_session_id: str | None
    session_type: str | None
    model: str | None
    cwd: str | None


@record
class SourceCounts:
    """Projects, sessions and messages of one source."""

    source: str
    projects: int
    sessions: int
    messages: int


@record
class UsageRow:
    """Tokens and cost of one group of model calls (``SessionDB.usage``).

    ``key`` is what the rows are grouped by: a date (``2025-09-01``; a week is its
    Monday's date), a month (``2025-09``), a session id, a project path, a model name
    (``""`` when the agent named none) or a source. Counts are apart and add up to
    ``total_tokens``: ``input_tokens`` without cached input, ``output_tokens`` without
    reasoning. ``cost`` (USD) prices each model's calls; calls of models without a price
    are not in it: their tokens are ``unpriced_tokens``, their names ``unpriced_models``,
    and ``cost`` is None when nothing could be priced. ``reported_cost`` is what the
    agents themselves reported (OpenCode), when they did. ``first_at``/``last_at``: the
    times of the first and last call (epoch ms).
    """

    key: str
    requests: int
    sessions: int
    models: tuple[str, ...]
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: float | None
    unpriced_models: tuple[str, ...] = ()
    unpriced_tokens: int = 0
    reported_cost: float | None = None
    first_at: int | None = None
    last_at: int | None = None
