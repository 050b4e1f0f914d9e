"""Sessions: one row per CLI session, keyed by the CLI's session id."""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    import apsw

    from .core import Store


from ..errors import NotFoundError
from ..models import Session, SessionInput, SessionOverview, SessionWithProject
from ..timeutil import now_ms
from . import validate

SESSION_COLUMNS = ("id, session_id, project_id, message_count, last_message_at, cwd, model, channel, "
                   "file_mtime, file_size, meta, created_at, updated_at")
TITLE_CHARS = 120
# Aggregates per session row: stored source, first time, first user prompt. ``+m.type``
# keeps SQLite on the session index (the type index would scan every user message).
_OVERVIEW_COLUMNS = (
    "SELECT s.session_id, s.project_id, p.name, p.path, "
    "COALESCE((SELECT m.source FROM messages m WHERE m.session_id = s.session_id LIMIT 1), p.source), "
    "s.meta, (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.session_id), "
    "(SELECT MIN(m.timestamp) FROM messages m WHERE m.session_id = s.session_id), "
    "(SELECT MAX(m.timestamp) FROM messages m WHERE m.session_id = s.session_id), "
    "(SELECT m.content_text FROM messages m WHERE m.session_id = s.session_id AND +m.type = 'user' "
    " AND trim(m.content_text) <> '' ORDER BY m.sequence, m.id LIMIT 1), s.model, s.cwd ")
_OVERVIEW_SELECT = _OVERVIEW_COLUMNS + "FROM sessions s JOIN projects p ON p.id = s.project_id"
_OVERVIEW_ORDER = "ORDER BY s.last_message_at IS NULL, s.last_message_at DESC, s.id DESC"
# Upper bound for prefix ranges over TEXT with the BINARY collation.
_MAX_CHAR = "\U0010ffff"


def session_from_row(row: tuple[Any, ...]) -> Session:
    return Session(*row)


def _meta_dict(meta: str | None) -> dict[str, Any]:
    import json  # loaded on first use (see sessiondb._startup)
    try:
        value = json.loads(meta) if meta else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _one_line(text: object) -> str:
    if not isinstance(text, str):
        return ""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[:TITLE_CHARS - 1].rstrip() + "…"


def overview_from_row(row: tuple[Any, ...]) -> SessionOverview:
    (sid, pid, pname, ppath, source, meta, count, first, last, prompt, model, cwd) = row
    info = _meta_dict(meta)
    summary = info.get("summary") if isinstance(info.get("summary"), str) else None
    title = _one_line(info.get("title")) or _one_line(summary) or _one_line(prompt)
    parent = info.get("parent_session_id")
    kind = info.get("session_type")
    return SessionOverview(sid, pid, pname, ppath, source or "", title, summary, count, first, last,
                           parent if isinstance(parent, str) else None, kind if isinstance(kind, str) else None,
                           model, cwd)


class Sessions:
    """Sessions of one store (``SessionDB`` forwards to it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
    def _require_project(self, conn: apsw.Connection, project_id: int) -> None:
        if conn.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,)).fetchone() is None:
            raise NotFoundError(f"project {project_id} does not exist")

    def upsert_session(self, session_id: str, project_id: int) -> None:
        """Create the session, or bump its ``updated_at``. An existing session keeps its project."""
        session_id = validate.text("session_id", session_id)
        project_id = validate.integer("project_id", project_id)
        now = now_ms()
        with self._store.write() as conn:
            self._require_project(conn, project_id)
            conn.execute(
                "INSERT INTO sessions(session_id, project_id, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(session_id) DO UPDATE SET updated_at = excluded.updated_at",
                (session_id, project_id, now, now))

    def upsert_session_full(self, session: SessionInput) -> None:
        """Create or update a session with its metadata; None fields keep stored values.

        ``message_count`` is always the number of stored messages of the session, kept
        by :meth:`insert_messages`; the value in ``SessionInput`` is accepted for
        compatibility and not stored (the original stored the parsed count here and the
        row count elsewhere, and failed outright when it was None).
        """
        sid = validate.text("session_id", session.session_id)
        pid = validate.integer("project_id", session.project_id)
        values = (validate.optional_text("cwd", session.cwd), validate.optional_text("model", session.model),
                  validate.optional_text("channel", session.channel),
                  validate.optional_integer("file_mtime", session.file_mtime),
                  validate.optional_integer("file_size", session.file_size),
                  validate.optional_text("meta", session.meta))
        if session.message_count is not None:
            validate.integer("message_count", session.message_count)
        now = now_ms()
        with self._store.write() as conn:
            self._require_project(conn, pid)
            conn.execute(
                "INSERT INTO sessions(session_id, project_id, cwd, model, channel, file_mtime, file_size, meta, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(session_id) DO UPDATE SET cwd = COALESCE(excluded.cwd, sessions.cwd), "
                "model = COALESCE(excluded.model, sessions.model), "
                "channel = COALESCE(excluded.channel, sessions.channel), "
                "file_mtime = COALESCE(excluded.file_mtime, sessions.file_mtime), "
                "file_size = COALESCE(excluded.file_size, sessions.file_size), "
                "meta = COALESCE(excluded.meta, sessions.meta), updated_at = excluded.updated_at",
                (sid, pid, *values, now, now))

    def list_sessions(self, project_id: int) -> list[Session]:
        """Sessions of a project, most recently updated first."""
        rows = self._store.read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = ? "
                          "ORDER BY updated_at DESC, id DESC", (validate.integer("project_id", project_id),))
        return [session_from_row(r) for r in rows]

    def list_sessions_by_project_path(self, project_path: str, limit: int | None = 100,
                                      offset: int = 0) -> list[SessionWithProject]:
        """Main sessions (not ``agent-*`` subagent transcripts) of the project at a path.

        ``encoded_dir_name`` is the project's (the original read a sessions column that
        its own schema no longer had, so this call always failed on a new database).
        """
        rows = self._store.read(
            "SELECT s.id, s.session_id, s.project_id, p.name, p.path, s.message_count, s.last_message_at, "
            "s.cwd, s.model, s.channel, s.file_mtime, s.file_size, p.encoded_dir_name, s.meta, "
            "s.created_at, s.updated_at FROM sessions s JOIN projects p ON p.id = s.project_id "
            "WHERE p.path = ? AND s.session_id NOT LIKE 'agent-%' "
            "ORDER BY s.updated_at DESC, s.id DESC LIMIT ? OFFSET ?",
            (validate.text("project_path", project_path, allow_empty=True), validate.limit(limit),
             validate.integer("offset", offset, minimum=0)))
        return [SessionWithProject(*r) for r in rows]

    def get_session(self, session_id: str) -> Session | None:
        row = self._store.read_one(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                             (validate.text("session_id", session_id, allow_empty=True),))
        return session_from_row(row) if row else None

    def session_exists(self, session_id: str) -> bool:
        return self._store.read_one("SELECT 1 FROM sessions WHERE session_id = ?",
                              (validate.text("session_id", session_id, allow_empty=True),)) is not None

    def get_session_message_count(self, session_id: str) -> int:
        """Messages stored for the session, counted now."""
        return self._store.read_int("SELECT COUNT(*) FROM messages WHERE session_id = ?",
                                    (validate.text("session_id", session_id, allow_empty=True),))

    def get_session_latest_timestamp(self, session_id: str) -> int | None:
        return self._store.read_optional_int("SELECT MAX(timestamp) FROM messages WHERE session_id = ?",
                                             (validate.text("session_id", session_id, allow_empty=True),))

    def get_sessions(self, project_id: int | None = None, limit: int | None = 100) -> list[Session]:
        """Most recently updated sessions, optionally of one project."""
        if project_id is None:
            rows = self._store.read(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY updated_at DESC, id DESC LIMIT ?",
                              (validate.limit(limit),))
        else:
            rows = self._store.read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = ? "
                              "ORDER BY updated_at DESC, id DESC LIMIT ?",
                              (validate.integer("project_id", project_id), validate.limit(limit)))
        return [session_from_row(r) for r in rows]

    def resolve_session_id(self, prefix: str) -> str | None:
        """The full id of the most recently updated session whose id starts with ``prefix``.

        The prefix is matched literally (``%`` and ``_`` are not wildcards, unlike the
        original's LIKE), and ties go to the most recent session instead of an
        arbitrary one.
        """
        found = self.search_sessions_by_prefix(prefix, 1)
        return found[0].session_id if found else None

    def search_sessions_by_prefix(self, prefix: str, limit: int | None = 20) -> list[Session]:
        prefix = validate.text("prefix", prefix)
        rows = self._store.read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id >= ? AND session_id < ? "
                          "ORDER BY updated_at DESC, id DESC LIMIT ?",
                          (prefix, prefix + _MAX_CHAR, validate.limit(limit)))
        return [session_from_row(r) for r in rows]

    def get_scan_checkpoint(self, session_id: str) -> int | None:
        """``last_message_at`` of the session; None if unset or the session is unknown."""
        return self._store.read_optional_int("SELECT last_message_at FROM sessions WHERE session_id = ?",
                                             (validate.text("session_id", session_id, allow_empty=True),))

    def update_session_last_message(self, session_id: str, timestamp: int) -> bool:
        """Set the session's scan checkpoint; True if the session exists."""
        sid = validate.text("session_id", session_id)
        ts = validate.integer("timestamp", timestamp)
        with self._store.write() as conn:
            conn.execute("UPDATE sessions SET last_message_at = ?, updated_at = ? WHERE session_id = ?",
                         (ts, now_ms(), sid))
            return conn.changes() > 0

    def count_sessions_without_cwd(self) -> int:
        return self._store.read_int("SELECT COUNT(*) FROM sessions WHERE cwd IS NULL OR cwd = ''")

    def list_session_overviews(self, *, project_id: int | None = None, source: str | None = None,
                               parent_session_id: str | None = None, limit: int | None = 50,
                               offset: int = 0) -> list[SessionOverview]:
        """Sessions with title, source, counts and first/last time, most recent last message first.

        ``source`` keeps sessions whose messages come from that source;
        ``parent_session_id`` keeps the subagent/child sessions of one session.
        """
        where: list[str] = []
        params: list[Any] = []
        if project_id is not None:
            where.append("s.project_id = ?")
            params.append(validate.integer("project_id", project_id))
        if source is not None:
            where.append("COALESCE((SELECT m.source FROM messages m WHERE m.session_id = s.session_id LIMIT 1), "
                         "p.source) = ?")
            params.append(validate.text("source", source))
        if parent_session_id is not None:
            where.append("json_valid(s.meta) AND json_extract(s.meta, '$.parent_session_id') = ?")
            params.append(validate.text("parent_session_id", parent_session_id))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        # The page of sessions is chosen first, so the aggregates run for its rows only.
        rows = self._store.read(
            f"{_OVERVIEW_COLUMNS}FROM (SELECT s.* FROM sessions s JOIN projects p ON p.id = s.project_id"
            f"{clause} {_OVERVIEW_ORDER} LIMIT ? OFFSET ?) s JOIN projects p ON p.id = s.project_id "
            f"{_OVERVIEW_ORDER}",
                          (*params, validate.limit(limit), validate.integer("offset", offset, minimum=0)))
        return [overview_from_row(r) for r in rows]

    def get_session_titles(self, session_ids: list[str] | tuple[str, ...]) -> dict[str, str]:
        """Titles of several sessions, cheaply: ``{session_id: title}`` for those that exist.

        The title is the one :meth:`get_session_overview` gives (custom title, else
        summary, else first user prompt), except that the first prompt is the earliest
        stored one, which lets each lookup stop at that message instead of reading the
        whole session (a search page shows titles of sessions with thousands of messages).
        """
        import json  # loaded on first use (see sessiondb._startup)
        ids = validate.text_list("session_ids", session_ids)
        rows = self._store.read(
            "SELECT s.session_id, s.meta, (SELECT m.content_text FROM messages m WHERE m.session_id = s.session_id "
            "AND +m.type = 'user' AND trim(m.content_text) <> '' ORDER BY m.id LIMIT 1) "
            "FROM sessions s WHERE s.session_id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
        titles: dict[str, str] = {}
        for sid, meta, prompt in rows:
            info = _meta_dict(meta)
            summary = info.get("summary") if isinstance(info.get("summary"), str) else None
            titles[sid] = _one_line(info.get("title")) or _one_line(summary) or _one_line(prompt)
        return titles

    def get_session_overview(self, session_id: str) -> SessionOverview | None:
        """The overview of one session (see :meth:`list_session_overviews`), None if unknown."""
        row = self._store.read_one(f"{_OVERVIEW_SELECT} WHERE s.session_id = ?",
                             (validate.text("session_id", session_id, allow_empty=True),))
        return overview_from_row(row) if row else None
