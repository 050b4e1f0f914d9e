"""Bulk writes for the collector: many sessions' messages and their file state in one
transaction, and the per-file state table (``file_state``).

This module knows rows, not files: the collector hands it prepared message rows and
the state to remember for each source file, and everything of one batch is written
atomically through :meth:`Store.write` (so the writer fence guards it): a
crash or a lost writer role never leaves messages without the offset that covers
them, or an offset ahead of its messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..timeutil import now_ms
from .connection import DEFAULT_AUTOCHECKPOINT_PAGES, scalar
from .usage import write_usage

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import contextlib
    from typing import Any

    import apsw

    from .core import Store
    from .ingest_records import FileState, IngestOutcome, IngestSession

_STATE_COLUMNS = ("path, source, session_id, size, mtime_ns, inode, byte_offset, prefix_hash, parser_version, "
                  "parser_state, bad_lines, first_error, updated_at")
# A batch this large gets a bigger FTS5 buffer for its one INSERT (fewer, larger index
# segments, less merging: about a third less CPU in the ingest benchmark) and a bigger page
# cache; the FTS5 setting is put back to SQLite's default before the batch commits.
_BIG_BATCH_ROWS = 2000
_FTS_HASH_BYTES = 16 << 20
_FTS_DEFAULT_HASH_BYTES = 1 << 20
_CACHE_KIB = 32768
# ... and, unless a second thread checkpoints (Store.background_checkpoints), its commit
# checkpoints the WAL only past this many bytes (SQLite checkpoints past 1000 pages by
# default: 16 MiB here, about once per batch, each checkpoint two fsyncs and every page
# the batch rewrote copied again); the next commit is back to the default, so the WAL a
# large collection leaves is checkpointed by the next write or the close.
_BIG_BATCH_CHECKPOINT_BYTES = 96 << 20
# Fields compared to decide that a re-read message changed (sources rewritten in place).
_CHANGED = ("type", "content_text", "content_full", "model", "tool_call_id", "tool_name", "tool_args")


_META_MERGE = ("CASE WHEN excluded.meta IS NULL THEN sessions.meta WHEN sessions.meta IS NULL THEN excluded.meta "
               "WHEN json_valid(sessions.meta) AND json_type(sessions.meta) = 'object' "
               "THEN json_patch(sessions.meta, excluded.meta) ELSE sessions.meta END")


class Ingest:
    """The collector's bulk write path and per-file state (``SessionDB`` forwards to it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
    # ------------------------------------------------------------------ file state
    def load_file_states(self, source: str | None = None) -> dict[str, FileState]:
        """Every saved file state (of one source), keyed by path."""
        from .ingest_records import FileState
        if source is None:
            rows = self._store.read(f"SELECT {_STATE_COLUMNS} FROM file_state")
        else:
            rows = self._store.read(f"SELECT {_STATE_COLUMNS} FROM file_state WHERE source = ?", (source,))
        return {r[0]: FileState(*r) for r in rows}

    def rank_snapshot(self) -> Any:
        """The rank index's terms and floors (``store.rank_index.Snapshot``), or None when
        it has no lists: what a parse worker needs to compute rows' postings."""
        if not self._store.has_rank_index:
            return None
        from . import rank_index
        return self._store.with_connection(rank_index.snapshot)

    def get_file_state(self, path: str) -> FileState | None:
        from .ingest_records import FileState
        row = self._store.read_one(f"SELECT {_STATE_COLUMNS} FROM file_state WHERE path = ?", (path,))
        return FileState(*row) if row else None

    # ------------------------------------------------------------------ batch write
    def ingest_batch(self, sessions: Sequence[IngestSession], states: Iterable[FileState] = (), *,
                     rank_snapshots: dict[Any, Any] | None = None) -> IngestOutcome:
        """Write a batch of collected sessions and file states in one transaction.

        Projects and sessions are created or updated first, then every message row is
        inserted with one statement (uuid dedup: a stored uuid is skipped), changed
        messages of ``update_changed`` sessions are updated, times of ``retime`` and
        ``links`` are written, the sessions' counts and newest time are refreshed (the
        newest time recomputed exactly where a stored time changed) and the file states
        saved, and the token counts of ``usage`` grown (``store.usage``). A session with no
        rows that is not stored yet is not created (a file of bookkeeping records only).
        """
        from .ingest_records import IngestOutcome

        outcome = IngestOutcome()
        states = list(states)
        # (The rows of every session given: those of a skipped session are none.)
        big = sum(len(s.rows) for s in sessions) >= _BIG_BATCH_ROWS
        try:
            self._write_batch(sessions, states, outcome, big, rank_snapshots)
        finally:
            if big and not self._store.checkpoints_in_background:
                self._store.with_connection(
                    lambda conn: conn.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_AUTOCHECKPOINT_PAGES}"))
        return outcome

    def background_checkpoints(self) -> contextlib.AbstractContextManager[None]:
        """While open, the WAL is checkpointed on a second thread while this handle
        writes (``store.checkpoints``): for a bulk of large batches, such as a large
        collection (about a tenth faster; the WAL grows to about 256 MiB meanwhile)."""
        return self._store.background_checkpoints()

    def _write_batch(self, sessions: Sequence[IngestSession], states: list[FileState], outcome: IngestOutcome,
                     big: bool, rank_snapshots: dict[Any, Any] | None) -> None:
        with self._store.write() as conn:
            now = now_ms()
            first_id = int(scalar(conn, "SELECT MAX(id) FROM messages") or 0) + 1
            project_ids: dict[str, int] = {}
            rows: list[tuple[Any, ...]] = []
            mutable: list[str] = []
            written: list[IngestSession] = []
            for s in sessions:
                stored = conn.execute("SELECT message_count FROM sessions WHERE session_id = ?",
                                      (s.session_id,)).fetchone()
                if not s.rows and not s.usage and stored is None:
                    continue
                pid = project_ids.get(s.project_path)
                if pid is None:
                    pid = int(scalar(
                        conn, "INSERT INTO projects(name, path, source, encoded_dir_name, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET updated_at = excluded.updated_at, "
                        "encoded_dir_name = COALESCE(excluded.encoded_dir_name, projects.encoded_dir_name) "
                        "RETURNING id", (s.project_name, s.project_path, s.source, s.encoded_dir_name, now, now)))
                    project_ids[s.project_path] = pid
                    outcome.projects.add(s.project_path)
                project_update = "project_id = excluded.project_id, " if s.reassign_project else ""
                conn.execute(
                    "INSERT INTO sessions(session_id, project_id, cwd, model, channel, file_mtime, file_size, meta, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    f"ON CONFLICT(session_id) DO UPDATE SET {project_update}"
                    "cwd = COALESCE(excluded.cwd, sessions.cwd), model = COALESCE(excluded.model, sessions.model), "
                    "channel = COALESCE(excluded.channel, sessions.channel), "
                    "file_mtime = COALESCE(excluded.file_mtime, sessions.file_mtime), "
                    "file_size = COALESCE(excluded.file_size, sessions.file_size), "
                    f"meta = {_META_MERGE}, updated_at = excluded.updated_at",
                    (s.session_id, pid, s.cwd, s.model, s.channel, s.file_mtime, s.file_size, s.meta, now, now))
                outcome.sessions_written += 1
                written.append(s)
                rows.extend(s.rows)
                if s.update_changed and s.rows and stored is not None and stored[0]:
                    mutable.append(s.session_id)   # only stored messages can have changed
            # Sessions whose stored times changed: their newest time is recomputed, not grown.
            retimed: set[str] = set()
            if rows:
                outcome.inserted, outcome.updated = self._stage_and_insert(conn, rows, mutable, retimed, big)
                if rank_snapshots and self._store.has_rank_index and outcome.inserted == len(rows):
                    from . import rank_index
                    parts = [part for s in written if s.rows
                             for part in (s.rank if s.rank is not None else [(None, len(s.rows))])]
                    rank_index.take_read_postings(conn, first_id, rows, parts, rank_snapshots)
            for s in written:
                outcome.updated += _write_times(conn, s, retimed)
            usage = [row for s in written for row in s.usage]
            if usage:
                outcome.usage_written = write_usage(conn, usage)
            if outcome.inserted or outcome.updated or retimed:
                self._refresh_sessions(conn, first_id, mutable if outcome.updated else [], retimed, now, outcome)
            if states:
                conn.executemany(
                    f"INSERT OR REPLACE INTO file_state({_STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(st.path, st.source, st.session_id, st.size, st.mtime_ns, st.inode, st.byte_offset,
                      st.prefix_hash, st.parser_version, st.parser_state, st.bad_lines, st.first_error, now)
                     for st in states])

    def _stage_and_insert(self, conn: apsw.Connection, rows: list[tuple[Any, ...]], mutable: list[str],
                          retimed: set[str], big: bool) -> tuple[int, int]:
        placeholders = ", ".join("?" * 16)
        if big:
            conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            if not self._store.checkpoints_in_background:
                pages = _BIG_BATCH_CHECKPOINT_BYTES // int(scalar(conn, "PRAGMA page_size") or 4096)
                conn.execute(f"PRAGMA wal_autocheckpoint={max(DEFAULT_AUTOCHECKPOINT_PAGES, pages)}")
            conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)", (_FTS_HASH_BYTES,))
        # A big batch of new rows: indexed once after the insert (loaded here: opening a
        # database imports this module, see sessiondb._startup).
        from . import bulk_insert
        from .schema import MESSAGE_INSERT_COLUMNS  # loaded by connect (see sessiondb._startup)

        triggers = bulk_insert.insert_triggers(conn) if big else None
        done = False
        try:
            if triggers is not None and not mutable:
                # Nothing to compare with stored rows: straight into the table, in batch order.
                def insert_directly() -> tuple[list[tuple[Any, ...]], int]:
                    sql = (f"INSERT INTO messages({MESSAGE_INSERT_COLUMNS}) VALUES ({placeholders}) "
                           "ON CONFLICT(uuid) DO NOTHING")
                    conn.execute("SAVEPOINT sessiondb_rows")
                    stored, before = rows, conn.total_changes()
                    try:
                        conn.executemany(sql, rows)
                    except UnicodeEncodeError:
                        # A lone surrogate cannot be stored as UTF-8: replace it, keep the message.
                        conn.execute("ROLLBACK TO sessiondb_rows")
                        stored, before = [tuple(_encodable(v) for v in row) for row in rows], conn.total_changes()
                        conn.executemany(sql, stored)
                    conn.execute("RELEASE sessiondb_rows")
                    return stored, conn.total_changes() - before
                inserted = bulk_insert.insert_then_index(conn, triggers, insert_directly)
                done = True
                return inserted, 0
            staged = rows
            try:
                conn.executemany(f"INSERT INTO temp.sessiondb_ingest VALUES ({placeholders})", rows)
            except UnicodeEncodeError:
                # A lone surrogate cannot be stored as UTF-8: replace it, keep the message.
                conn.execute("DELETE FROM temp.sessiondb_ingest")
                staged = [tuple(_encodable(v) for v in row) for row in rows]
                conn.executemany(f"INSERT INTO temp.sessiondb_ingest VALUES ({placeholders})", staged)

            def insert_staged() -> tuple[list[tuple[Any, ...]], int]:
                # ORDER BY rowid keeps file order, so ids follow sequence within a session.
                conn.execute(f"INSERT INTO messages({MESSAGE_INSERT_COLUMNS}) SELECT {MESSAGE_INSERT_COLUMNS} "
                             "FROM temp.sessiondb_ingest WHERE true ORDER BY rowid ON CONFLICT(uuid) DO NOTHING")
                return staged, conn.changes()
            if triggers is not None:
                inserted = bulk_insert.insert_then_index(conn, triggers, insert_staged)
            else:
                inserted = insert_staged()[1]
            updated = 0
            if mutable:
                # A uuid repeated in the batch: its first row is the one stored, and compared.
                first = ("(SELECT * FROM temp.sessiondb_ingest WHERE rowid IN (SELECT MIN(rowid) "
                         "FROM temp.sessiondb_ingest GROUP BY uuid)) AS s")
                match = ("messages.uuid = s.uuid AND messages.session_id = s.session_id "
                         "AND s.session_id IN (SELECT value FROM json_each(?))")
                sessions = _json_list(mutable)
                # Times apart from the text: a changed time alone does not touch the search index.
                moved = conn.execute(f"UPDATE messages SET timestamp = s.timestamp FROM {first} WHERE {match} "
                                     "AND messages.timestamp IS NOT s.timestamp "
                                     "RETURNING messages.id, messages.session_id", (sessions,)).fetchall()
                differs = " OR ".join(f"messages.{c} IS NOT s.{c}" for c in _CHANGED)
                changed = conn.execute(
                    "UPDATE messages SET type = s.type, content_text = s.content_text, content_full = s.content_full, "
                    "model = s.model, tool_call_id = s.tool_call_id, tool_name = s.tool_name, "
                    f"tool_args = s.tool_args, raw = s.raw FROM {first} WHERE {match} AND ({differs}) "
                    "RETURNING messages.id", (sessions,)).fetchall()
                retimed.update(str(sid) for _, sid in moved)
                updated = len({mid for mid, _ in moved} | {mid for (mid,) in changed})
            done = True
            return inserted, updated
        finally:
            # Cleanup on success only: after an error the rollback undoes the staged rows and
            # the FTS5 setting, and a statement here could hide the error that caused it (or,
            # once SQLite rolled back by itself, write outside the transaction).
            if done:
                conn.execute("DELETE FROM temp.sessiondb_ingest")
            if done and big:
                conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)",
                             (_FTS_DEFAULT_HASH_BYTES,))

    @staticmethod
    def _refresh_sessions(conn: apsw.Connection, first_id: int, touched: list[str], retimed: set[str], now: int,
                          outcome: IngestOutcome) -> None:
        """``message_count`` = stored messages, ``last_message_at`` = newest time, for every
        session that got new (ids >= first_id) or updated messages. The newest time only
        grows, except in ``retimed`` sessions (a stored time changed), where it is
        recomputed from the stored messages."""
        counts = {sid: (n, newest) for sid, n, newest in conn.execute(
            # NOT INDEXED: read the new rows by rowid range; the planner would otherwise walk
            # the whole session index to group them (16 ms at 200k rows, for one new row).
            "SELECT session_id, COUNT(*), MAX(timestamp) FROM messages NOT INDEXED WHERE id >= ? "
            "GROUP BY session_id",
            (first_id,))}
        outcome.inserted_by_session = {sid: n for sid, (n, _) in counts.items()}
        for sid in touched:
            if sid not in counts:
                counts[sid] = (0, scalar(conn, "SELECT MAX(timestamp) FROM messages WHERE session_id = ?", (sid,)))
        conn.executemany(
            "UPDATE sessions SET message_count = (SELECT COUNT(*) FROM messages WHERE session_id = ?1), "
            "last_message_at = MAX(COALESCE(last_message_at, ?2), ?2), updated_at = ?3 WHERE session_id = ?1",
            [(sid, newest, now) for sid, (_, newest) in counts.items() if newest is not None and sid not in retimed])
        if retimed:
            conn.executemany(
                "UPDATE sessions SET message_count = (SELECT COUNT(*) FROM messages WHERE session_id = ?1), "
                "last_message_at = (SELECT MAX(timestamp) FROM messages WHERE session_id = ?1), updated_at = ?2 "
                "WHERE session_id = ?1", [(sid, now) for sid in sorted(retimed)])


def _write_times(conn: apsw.Connection, s: IngestSession, retimed: set[str]) -> int:
    """Times found after their messages were stored: ``s.retime`` (uuid to time) and
    ``s.links`` (a message takes its linked message's time). Returns how many stored
    messages, written before this batch, changed; adds their session to ``retimed``."""
    import json
    corrected = 0
    if s.links:
        conn.execute(
            "UPDATE messages SET timestamp = linked.timestamp FROM json_each(?1) AS l "
            "JOIN messages AS linked ON linked.uuid = l.value "
            "WHERE messages.uuid = l.key AND messages.session_id = ?2 AND messages.timestamp IS NOT linked.timestamp",
            (json.dumps(dict(s.links)), s.session_id))
        if conn.changes():
            retimed.add(s.session_id)
    if s.retime:
        conn.execute(
            "UPDATE messages SET timestamp = r.value FROM json_each(?1) AS r "
            "WHERE messages.uuid = r.key AND messages.session_id = ?2 AND messages.timestamp IS NOT r.value",
            (json.dumps(s.retime), s.session_id))
        corrected = conn.changes()
        if corrected:
            retimed.add(s.session_id)
    return corrected


def _json_list(values: list[str]) -> str:
    import json
    return json.dumps(values)


def _encodable(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value
