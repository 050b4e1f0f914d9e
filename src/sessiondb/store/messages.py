"""Messages, their approval state and their vector-index bookkeeping."""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    import apsw

    from .core import Store
    from .sessions import Sessions

from collections.abc import Iterable, Sequence

from ..errors import InvalidArgument, NotFoundError
from ..models import ApprovalStatus, Message, MessageInput, MessageType, VectorIndexState
from ..timeutil import now_ms
from . import validate
from .connection import scalar

MESSAGE_COLUMNS = ("id, session_id, uuid, type, content_text, content_full, timestamp, sequence, source, "
                   "channel, model, tool_call_id, tool_name, tool_args, raw, vector_indexed, approval_status, "
                   "approval_resolved_at")
# Scan checkpoint safety margin of scan_session_incremental (as in the original).
SCAN_SAFETY_MARGIN_MS = 60_000


def message_from_row(row: tuple[Any, ...]) -> Message:
    vector = row[15]
    state = (VectorIndexState.NOT_INDEXED if not vector else
             VectorIndexState.FAILED if vector < 0 else VectorIndexState.INDEXED)
    return Message(row[0], row[1], row[2], MessageType.from_db(row[3]), row[4], row[5], row[6], row[7],
                   row[8], row[9], row[10], row[11], row[12], row[13], row[14], state,
                   ApprovalStatus.from_db(row[16]), row[17])


def _approval(value: ApprovalStatus | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, ApprovalStatus):
        return value.value
    status = ApprovalStatus.from_db(value) if isinstance(value, str) else None
    if status is None:
        raise InvalidArgument(f"invalid approval status {value!r}")
    return status.value


def _message_type(value: MessageType | str) -> str:
    if isinstance(value, MessageType):
        return value.value
    if isinstance(value, str) and value.strip().lower() in {t.value for t in MessageType}:
        return value.strip().lower()
    raise InvalidArgument(f"invalid message type {value!r}")


def _row(session_id: str, m: MessageInput) -> tuple[Any, ...]:
    if not isinstance(m, MessageInput):
        raise InvalidArgument(f"messages must be MessageInput, not {type(m).__name__}")
    return (session_id, validate.text("uuid", m.uuid), _message_type(m.type),
            validate.text("content_text", m.content_text, allow_empty=True, allow_nul=True),
            validate.text("content_full", m.content_full, allow_empty=True, allow_nul=True),
            validate.integer("timestamp", m.timestamp), validate.integer("sequence", m.sequence),
            validate.optional_text("source", m.source), validate.optional_text("channel", m.channel),
            validate.optional_text("model", m.model), validate.optional_text("tool_call_id", m.tool_call_id),
            validate.optional_text("tool_name", m.tool_name),
            validate.optional_text("tool_args", m.tool_args, allow_nul=True),
            validate.optional_text("raw", m.raw, allow_nul=True), _approval(m.approval_status),
            validate.optional_integer("approval_resolved_at", m.approval_resolved_at))


def _ids_json(name: str, ids: Iterable[int]) -> str:
    # One JSON parameter instead of one placeholder per id: no "too many SQL variables".
    import json  # loaded on first use (see sessiondb._startup)
    return json.dumps(validate.id_list(name, ids))


def _texts_json(name: str, values: Iterable[str]) -> str:
    import json  # loaded on first use (see sessiondb._startup)
    return json.dumps(validate.text_list(name, values))


class Messages:
    """Messages of one store (``SessionDB`` forwards to it)."""

    def __init__(self, store: Store, sessions: Sessions) -> None:
        self._store = store
        self._sessions = sessions
    # ------------------------------------------------------------------ insert
    def insert_messages(self, session_id: str, messages: Iterable[MessageInput]) -> int:
        """Insert messages into an existing session; returns how many were new.

        A message whose uuid is already stored (in any session) is skipped: the first
        copy wins, as with the original's global uuid dedup. The batch is atomic, and
        a missing session or an invalid message fails the whole call instead of being
        silently counted as "not inserted". ``message_count`` and ``last_message_at``
        of the session are kept equal to the stored messages' count and newest time.
        """
        sid = validate.text("session_id", session_id)
        rows = [_row(sid, m) for m in messages]
        with self._store.write() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE session_id = ?", (sid,)).fetchone() is None:
                raise NotFoundError(f"session {sid!r} does not exist; upsert it before inserting messages")
            inserted = self._insert_rows(conn, rows)
            if inserted:
                newest = max(r[5] for r in rows)
                conn.execute(
                    "UPDATE sessions SET message_count = (SELECT COUNT(*) FROM messages WHERE session_id = ?1), "
                    "last_message_at = MAX(COALESCE(last_message_at, ?2), ?2), updated_at = ?3 "
                    "WHERE session_id = ?1", (sid, newest, now_ms()))
        return inserted

    def _insert_rows(self, conn: apsw.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert prepared rows with one statement (so FTS5 flushes once, not per row)."""
        if not rows:
            return 0
        placeholders = ", ".join("?" * 16)
        try:
            conn.executemany(f"INSERT INTO temp.sessiondb_stage VALUES ({placeholders})", rows)
        except UnicodeEncodeError as exc:
            conn.execute("DELETE FROM temp.sessiondb_stage")
            raise InvalidArgument(f"message text is not valid Unicode: {exc.reason}") from exc
        from .schema import MESSAGE_INSERT_COLUMNS  # loaded by connect (see sessiondb._startup)

        conn.execute(f"INSERT INTO messages({MESSAGE_INSERT_COLUMNS}) SELECT {MESSAGE_INSERT_COLUMNS} "
                     "FROM temp.sessiondb_stage WHERE true ORDER BY rowid ON CONFLICT(uuid) DO NOTHING")
        inserted = conn.changes()
        # On success only: after an error the rollback empties the stage, and a statement
        # here would hide the error that caused it.
        conn.execute("DELETE FROM temp.sessiondb_stage")
        return inserted

    def scan_session_incremental(self, session_id: str, project_id: int,
                                 messages: Iterable[MessageInput]) -> int:
        """Upsert the session and insert the messages newer than its checkpoint minus 60 s.

        The checkpoint advances to the newest timestamp inserted, never backwards
        (the original stored the last message's time, which could regress).
        """
        batch = list(messages)
        with self._store.write():
            self._sessions.upsert_session(session_id, project_id)
            checkpoint = self._sessions.get_scan_checkpoint(session_id)
            if checkpoint is not None:
                batch = [m for m in batch if m.timestamp > checkpoint - SCAN_SAFETY_MARGIN_MS]
            if not batch:
                return 0
            inserted = self.insert_messages(session_id, batch)
            newest = max(m.timestamp for m in batch)
            if checkpoint is None or newest > checkpoint:
                self._sessions.update_session_last_message(session_id, newest)
            return inserted

    # ------------------------------------------------------------------ read
    def list_messages(self, session_id: str, limit: int | None = None, offset: int = 0,
                      desc: bool = False) -> list[Message]:
        """Messages of a session in sequence order (ties broken by insertion order)."""
        order = "DESC" if desc else "ASC"
        rows = self._store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? "
                          f"ORDER BY sequence {order}, id {order} LIMIT ? OFFSET ?",
                          (validate.text("session_id", session_id, allow_empty=True), validate.limit(limit),
                           validate.integer("offset", offset, minimum=0)))
        return [message_from_row(r) for r in rows]

    def list_messages_ordered(self, session_id: str, limit: int | None, offset: int, desc: bool) -> list[Message]:
        return self.list_messages(session_id, limit, offset, desc)

    def get_messages(self, session_id: str, limit: int | None = None, desc: bool = False) -> list[Message]:
        return self.list_messages(session_id, limit, 0, desc)

    get_messages_with_options = get_messages

    def get_messages_by_ids(self, ids: Iterable[int]) -> list[Message]:
        rows = self._store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT value FROM json_each(?)) "
                          "ORDER BY id", (_ids_json("ids", ids),))
        return [message_from_row(r) for r in rows]

    def get_message_position(self, message_id: int) -> tuple[str, int] | None:
        """Where a message sits in its session: ``(session_id, index)``, None if no such id.

        ``index`` is 0-based in :meth:`list_messages` order, so the page of ``limit``
        messages that shows it starts at ``offset = index // limit * limit``.
        """
        mid = validate.integer("message_id", message_id)
        with self._store.snapshot() as conn:
            row = conn.execute("SELECT session_id, sequence FROM messages WHERE id = ?", (mid,)).fetchone()
            if row is None:
                return None
            index = scalar(conn, "SELECT COUNT(*) FROM messages WHERE session_id = ?1 "
                                 "AND (sequence < ?2 OR (sequence = ?2 AND id < ?3))", (row[0], row[1], mid))
        return str(row[0]), int(index)

    def get_message_by_uuid(self, uuid: str) -> Message | None:
        row = self._store.read_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE uuid = ?",
                             (validate.text("uuid", uuid, allow_empty=True),))
        return message_from_row(row) if row else None

    # ------------------------------------------------------------------ vector index
    def get_unindexed_messages(self, limit: int | None = 100) -> list[Message]:
        """Assistant messages not yet vector-indexed, oldest first."""
        rows = self._store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE vector_indexed = 0 AND type = 'assistant' "
                          "ORDER BY id LIMIT ?", (validate.limit(limit),))
        return [message_from_row(r) for r in rows]

    def count_unindexed_messages(self) -> int:
        return self._store.read_int("SELECT COUNT(*) FROM messages WHERE vector_indexed = 0 AND type = 'assistant'")

    def _set_vector_state(self, ids: Iterable[int], state: VectorIndexState) -> int:
        payload = _ids_json("ids", ids)
        with self._store.write() as conn:
            conn.execute("UPDATE messages SET vector_indexed = ? WHERE id IN (SELECT value FROM json_each(?))",
                         (int(state), payload))
            return conn.changes()

    def mark_messages_indexed(self, ids: Iterable[int]) -> int:
        return self._set_vector_state(ids, VectorIndexState.INDEXED)

    def mark_message_index_failed(self, message_id: int) -> int:
        return self._set_vector_state([message_id], VectorIndexState.FAILED)

    def mark_messages_index_failed(self, ids: Iterable[int]) -> int:
        return self._set_vector_state(ids, VectorIndexState.FAILED)

    def get_failed_indexed_messages(self, limit: int | None = 100) -> list[Message]:
        rows = self._store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE vector_indexed = -1 ORDER BY id LIMIT ?",
                          (validate.limit(limit),))
        return [message_from_row(r) for r in rows]

    def count_failed_indexed_messages(self) -> int:
        return self._store.read_int("SELECT COUNT(*) FROM messages WHERE vector_indexed = -1")

    def reset_failed_indexed_messages(self) -> int:
        with self._store.write() as conn:
            conn.execute("UPDATE messages SET vector_indexed = 0 WHERE vector_indexed = -1")
            return conn.changes()

    # ------------------------------------------------------------------ approvals
    def get_pending_approvals(self, session_id: str) -> list[Message]:
        rows = self._store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND approval_status = "
                          "'pending' ORDER BY sequence, id", (validate.text("session_id", session_id),))
        return [message_from_row(r) for r in rows]

    def count_pending_approvals(self, session_id: str | None = None) -> int:
        if session_id is None:
            return self._store.read_int("SELECT COUNT(*) FROM messages WHERE approval_status = 'pending'")
        return self._store.read_int("SELECT COUNT(*) FROM messages WHERE approval_status = 'pending' "
                                    "AND session_id = ?", (validate.text("session_id", session_id),))

    def _set_approval(self, where: str, param: object, status: ApprovalStatus | str,
                      resolved_at: int | None) -> int:
        value = _approval(status)
        if value is None:
            raise InvalidArgument("approval status must not be None")
        resolved = validate.optional_integer("resolved_at", resolved_at)
        with self._store.write() as conn:
            conn.execute(f"UPDATE messages SET approval_status = ?, approval_resolved_at = ? WHERE {where}",
                         (value, resolved, param))
            return conn.changes()

    def update_approval_status(self, uuid: str, status: ApprovalStatus | str, resolved_at: int | None) -> int:
        """Set the approval state of the message with this uuid; returns rows changed."""
        return self._set_approval("uuid = ?", validate.text("uuid", uuid), status, resolved_at)

    def update_approval_status_by_tool_call_id(self, tool_call_id: str, status: ApprovalStatus | str,
                                               resolved_at: int | None) -> int:
        """Set the approval state of every message carrying this tool call id."""
        return self._set_approval("tool_call_id = ?", validate.text("tool_call_id", tool_call_id), status,
                                  resolved_at)

    def batch_update_approval_status(self, uuids: Iterable[str], status: ApprovalStatus | str,
                                     resolved_at: int | None) -> int:
        payload = _texts_json("uuids", uuids)
        return self._set_approval("uuid IN (SELECT value FROM json_each(?))", payload, status, resolved_at)
