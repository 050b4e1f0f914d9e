"""Sessions: one row per CLI session, keyed by the CLI's session id."""

from __future__ import annotations

import apsw

from ..errors import NotFoundError
from ..models import Session, SessionInput, SessionWithProject
from ..timeutil import now_ms
from . import validate
from .core import DatabaseCore

SESSION_COLUMNS = ("id, session_id, project_id, message_count, last_message_at, cwd, model, channel, "
                   "file_mtime, file_size, meta, created_at, updated_at")
# Upper bound for prefix ranges over TEXT with the BINARY collation.
_MAX_CHAR = "\U0010ffff"


def session_from_row(row: tuple) -> Session:
    return Session(*row)


class SessionsMixin(DatabaseCore):
    def _require_project(self, conn: apsw.Connection, project_id: int) -> None:
        if conn.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,)).fetchone() is None:
            raise NotFoundError(f"project {project_id} does not exist")

    def upsert_session(self, session_id: str, project_id: int) -> None:
        """Create the session, or bump its ``updated_at``. An existing session keeps its project."""
        session_id = validate.text("session_id", session_id)
        project_id = validate.integer("project_id", project_id)
        now = now_ms()
        with self._write() as conn:
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
        with self._write() as conn:
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
        rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = ? "
                          "ORDER BY updated_at DESC, id DESC", (validate.integer("project_id", project_id),))
        return [session_from_row(r) for r in rows]

    def list_sessions_by_project_path(self, project_path: str, limit: int | None = 100,
                                      offset: int = 0) -> list[SessionWithProject]:
        """Main sessions (not ``agent-*`` subagent transcripts) of the project at a path.

        ``encoded_dir_name`` is the project's (the original read a sessions column that
        its own schema no longer had, so this call always failed on a new database).
        """
        rows = self._read(
            "SELECT s.id, s.session_id, s.project_id, p.name, p.path, s.message_count, s.last_message_at, "
            "s.cwd, s.model, s.channel, s.file_mtime, s.file_size, p.encoded_dir_name, s.meta, "
            "s.created_at, s.updated_at FROM sessions s JOIN projects p ON p.id = s.project_id "
            "WHERE p.path = ? AND s.session_id NOT LIKE 'agent-%' "
            "ORDER BY s.updated_at DESC, s.id DESC LIMIT ? OFFSET ?",
            (validate.text("project_path", project_path, allow_empty=True), validate.limit(limit),
             validate.integer("offset", offset, minimum=0)))
        return [SessionWithProject(*r) for r in rows]

    def get_session(self, session_id: str) -> Session | None:
        row = self._read_one(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                             (validate.text("session_id", session_id, allow_empty=True),))
        return session_from_row(row) if row else None

    def session_exists(self, session_id: str) -> bool:
        return self._read_one("SELECT 1 FROM sessions WHERE session_id = ?",
                              (validate.text("session_id", session_id, allow_empty=True),)) is not None

    def get_session_message_count(self, session_id: str) -> int:
        """Messages stored for the session, counted now."""
        return self._read_value("SELECT COUNT(*) FROM messages WHERE session_id = ?",
                                (validate.text("session_id", session_id, allow_empty=True),), 0)

    def get_session_latest_timestamp(self, session_id: str) -> int | None:
        return self._read_value("SELECT MAX(timestamp) FROM messages WHERE session_id = ?",
                                (validate.text("session_id", session_id, allow_empty=True),))

    def get_sessions(self, project_id: int | None = None, limit: int | None = 100) -> list[Session]:
        """Most recently updated sessions, optionally of one project."""
        if project_id is None:
            rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY updated_at DESC, id DESC LIMIT ?",
                              (validate.limit(limit),))
        else:
            rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = ? "
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
        rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id >= ? AND session_id < ? "
                          "ORDER BY updated_at DESC, id DESC LIMIT ?",
                          (prefix, prefix + _MAX_CHAR, validate.limit(limit)))
        return [session_from_row(r) for r in rows]

    def get_scan_checkpoint(self, session_id: str) -> int | None:
        """``last_message_at`` of the session; None if unset or the session is unknown."""
        return self._read_value("SELECT last_message_at FROM sessions WHERE session_id = ?",
                                (validate.text("session_id", session_id, allow_empty=True),))

    def update_session_last_message(self, session_id: str, timestamp: int) -> bool:
        """Set the session's scan checkpoint; True if the session exists."""
        sid = validate.text("session_id", session_id)
        ts = validate.integer("timestamp", timestamp)
        with self._write() as conn:
            conn.execute("UPDATE sessions SET last_message_at = ?, updated_at = ? WHERE session_id = ?",
                         (ts, now_ms(), sid))
            return conn.changes() > 0

    def count_sessions_without_cwd(self) -> int:
        return self._read_value("SELECT COUNT(*) FROM sessions WHERE cwd IS NULL OR cwd = ''", (), 0)
