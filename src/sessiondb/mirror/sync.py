"""One-way sync of one machine's SQLite archive into the PostgreSQL mirror.

A round reads one consistent snapshot of the SQLite file through its own read-only
connection (it never takes the write lock or the writer role, so any reader process
can run it) and, in PostgreSQL:

1. upserts the machine row and takes the machine's advisory lock (two syncs of one
   machine queue instead of interleaving);
2. upserts the projects and sessions whose rows differ from the mirror's copy
   (both tables are small; comparing them whole is exact and cheap);
3. sends the messages past the machine's high-water mark (the largest SQLite message
   id already mirrored) in batches: binary ``COPY`` into a staging table, one
   ``INSERT ... ON CONFLICT (machine, uuid) DO UPDATE`` into ``messages``, and the new
   high-water mark, all in one transaction per batch;
4. re-checks the older messages of sessions that changed (sources that rewrite their
   files update messages in place) by a digest per message, and the approval states.

Every write is an upsert by natural key, and the high-water mark moves in the same
transaction as the rows it covers, so a sync killed at any point leaves a state the
next run completes: it resumes after the last committed batch and ends equal to one
clean sync. A replaced SQLite file (the row at the high-water mark has another uuid)
starts over from the beginning; rows already mirrored stay (the mirror is an archive
too).
"""

from __future__ import annotations

# Loaded lazily, maybe while another thread imports typing: finish it before any dataclass.
import typing  # noqa: F401

import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import apsw

from .. import __version__
from ..config import DbConfig
from ..errors import ConfigError, DatabaseError
from ..store.connection import open_connection, sqlite_errors
from . import schema
from .connection import MirrorError, connect, describe, psycopg_module
from .text import search_text

DEFAULT_BATCH = 2000
# A sync that sent this many messages refreshes the planner's statistics.
ANALYZE_AFTER_ROWS = 10_000
MAX_MACHINE_CHARS = 200

_MESSAGE_COLUMNS = ("id, session_id, uuid, type, content_text, content_full, timestamp, sequence, source, "
                    "channel, model, tool_call_id, tool_name, tool_args, raw, approval_status, approval_resolved_at")
# Columns of the staging table, in COPY order, with their PostgreSQL types.
_STAGE = (("uuid", "text"), ("local_id", "int8"), ("session_id", "text"), ("type", "text"),
          ("content_text", "text"), ("content_full", "text"), ("timestamp", "int8"), ("sequence", "int8"),
          ("source", "text"), ("channel", "text"), ("model", "text"), ("tool_call_id", "text"),
          ("tool_name", "text"), ("tool_args", "text"), ("raw", "text"), ("approval_status", "text"),
          ("approval_resolved_at", "int8"), ("search_text", "text"), ("search_vector", "text"), ("token_count", "int4"),
          ("digest", "bytea"))
_STAGE_NAMES = ", ".join(name for name, _ in _STAGE)
# The vector travels as text (no binary COPY format for tsvector) and is cast on insert.
_STAGE_SELECT = _STAGE_NAMES.replace("search_vector", "search_vector::tsvector")
_UPDATABLE = [name for name, _ in _STAGE if name != "uuid"]

_SESSION_FIELDS = ("local_id", "project_id", "message_count", "last_message_at", "cwd", "model", "channel",
                   "file_mtime", "file_size", "meta", "created_at", "updated_at")
_PROJECT_FIELDS = ("local_id", "name", "source", "encoded_dir_name", "created_at", "updated_at")


@dataclass
class SyncResult:
    """What one sync round did."""

    machine: str
    projects_upserted: int = 0
    sessions_upserted: int = 0
    messages_sent: int = 0        # rows past the high-water mark, sent in batches
    messages_rechecked: int = 0   # older rows of changed sessions whose content changed
    approvals_updated: int = 0
    batches: int = 0
    high_water: int = 0
    restarted: bool = False       # the SQLite file was replaced: synced from the start
    seconds: float = 0.0
    migrations_applied: list[int] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return (self.projects_upserted + self.sessions_upserted + self.messages_sent + self.messages_rechecked
                + self.approvals_updated)


def default_machine() -> str:
    """``$SESSIONDB_MACHINE``, else the host name."""
    return os.environ.get("SESSIONDB_MACHINE", "").strip() or socket.gethostname() or "localhost"


def check_machine(name: str | None) -> str:
    machine = default_machine() if name is None else name.strip()
    if not machine or len(machine) > MAX_MACHINE_CHARS or any(ord(c) < 32 for c in machine):
        raise ConfigError(f"machine name must be 1-{MAX_MACHINE_CHARS} printable characters, not {name!r}")
    return machine


def sync(database: str | os.PathLike[str], url: str, *, machine: str | None = None, batch_size: int = DEFAULT_BATCH,
         progress: Callable[[SyncResult], None] | None = None) -> SyncResult:
    """Mirror the SQLite file ``database`` into the PostgreSQL database at ``url``.

    Returns what was sent. Raises :class:`MirrorError` (one line, no password) when
    the server cannot be reached or the connection is lost; running it again resumes.
    """
    machine = check_machine(machine)
    if batch_size < 1:
        raise ConfigError("batch size must be positive")
    path = DbConfig.local(database, read_only=True).path
    with SyncEngine(url, machine) as engine:
        return engine.run(path, batch_size=batch_size, progress=progress)


class SyncEngine:
    """A connection to the mirror that syncs one machine (reusable across rounds)."""

    def __init__(self, url: str, machine: str) -> None:
        self.url, self.machine = url, check_machine(machine)
        self.psycopg = psycopg_module()
        self.pg = connect(url, autocommit=True)
        self._migrated: list[int] | None = None

    def close(self) -> None:
        self.pg.close()

    def __enter__(self) -> "SyncEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, path: Path, *, batch_size: int = DEFAULT_BATCH,
            progress: Callable[[SyncResult], None] | None = None) -> SyncResult:
        started = time.perf_counter()
        result = SyncResult(self.machine)
        if self.pg.closed:
            self.pg = connect(self.url, autocommit=True)
        try:
            if self._migrated is None:
                self._migrated = schema.migrate(self.pg)
                result.migrations_applied = self._migrated
            local = _open_local(path)
            try:
                with sqlite_errors(f"cannot read {path}"):
                    local.execute("BEGIN")
                    try:
                        self._round(local, path, result, batch_size, progress)
                    finally:
                        if local.in_transaction:
                            local.execute("COMMIT")
            finally:
                local.close()
        except self.psycopg.Error as exc:
            self._discard()
            raise MirrorError(describe(exc, self.url)) from None
        result.seconds = time.perf_counter() - started
        return result

    def _discard(self) -> None:
        """After a failure: release the machine's lock, or drop a connection that is gone
        (the next round connects again and resumes after the last committed batch)."""
        try:
            if self.pg.closed or self.pg.broken:
                raise self.psycopg.OperationalError("connection lost")
            self.pg.execute("SELECT pg_advisory_unlock_all()")
        except self.psycopg.Error:
            self.pg.close()

    # ------------------------------------------------------------------ one round
    def _round(self, local: apsw.Connection, path: Path, result: SyncResult, batch_size: int,
               progress: Callable[[SyncResult], None] | None) -> None:
        pg, machine = self.pg, self.machine
        now = int(time.time() * 1000)
        with pg.transaction():
            pg.execute("INSERT INTO machines(machine, database_path, first_synced_at, sessiondb_version) "
                       "VALUES (%s, %s, %s, %s) ON CONFLICT (machine) DO UPDATE SET "
                       "database_path = excluded.database_path, sessiondb_version = excluded.sessiondb_version",
                       (machine, str(path), now, __version__))
        # Session-level lock: held for the round, released at its end or when the connection drops.
        pg.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", ("sessiondb-sync:" + machine,))
        try:
            high_water = self._checked_high_water(local, result)
            start_high_water = high_water
            with pg.transaction():
                projects = self._sync_projects(local, result)
                changed_sessions = self._sync_sessions(local, projects, result)
            self._ensure_stage()
            while True:
                rows = local.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT ?",
                                     (high_water, batch_size)).fetchall()
                if not rows:
                    break
                last = rows[-1]
                with pg.transaction():
                    self._upsert_messages(rows)
                    pg.execute("UPDATE machines SET messages_high_water = %s, high_water_uuid = %s "
                               "WHERE machine = %s", (last[0], last[2], machine))
                high_water = _int(last[0])
                result.messages_sent += len(rows)
                result.batches += 1
                result.high_water = high_water
                if progress is not None:
                    progress(result)
            result.high_water = high_water
            if start_high_water:
                with pg.transaction():
                    result.messages_rechecked = self._recheck_sessions(local, changed_sessions, start_high_water)
                    result.approvals_updated = self._sync_approvals(local, start_high_water)
            with pg.transaction():
                pg.execute("UPDATE machines SET last_synced_at = %s WHERE machine = %s",
                           (int(time.time() * 1000), machine))
            if result.messages_sent >= ANALYZE_AFTER_ROWS:
                # Fresh statistics now, not when autovacuum gets to it: the planner needs them
                # to pick the GIN index for rare terms.
                pg.execute("ANALYZE messages, sessions, projects")
        finally:
            if not pg.broken and not pg.closed:
                pg.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", ("sessiondb-sync:" + machine,))

    def _checked_high_water(self, local: apsw.Connection, result: SyncResult) -> int:
        row = self.pg.execute("SELECT messages_high_water, high_water_uuid FROM machines WHERE machine = %s",
                              (self.machine,)).fetchone()
        high_water, uuid = (row[0], row[1]) if row else (0, None)
        if high_water:
            found = local.execute("SELECT uuid FROM messages WHERE id = ?", (high_water,)).fetchone()
            if found is None or found[0] != uuid:
                result.restarted = True
                high_water = 0
        return high_water

    # ------------------------------------------------------------------ projects and sessions
    def _sync_projects(self, local: apsw.Connection, result: SyncResult) -> dict[int, int]:
        """Upsert changed projects; returns local project id -> mirror project id."""
        rows = local.execute("SELECT id, path, name, source, encoded_dir_name, created_at, updated_at "
                             "FROM projects").fetchall()
        mirrored = {r[0]: (r[1], tuple(r[2:])) for r in self.pg.execute(
            f"SELECT path, id, {', '.join(_PROJECT_FIELDS)} FROM projects WHERE machine = %s", (self.machine,))}
        changed = []
        for pid, ppath, name, source, encoded, created, updated in rows:
            values = (pid, _text(name) or "", _text(source) or "", _text(encoded), created or 0, updated or 0)
            ppath = _text(ppath)
            known = mirrored.get(ppath)
            if known is None or known[1] != values:
                changed.append((self.machine, ppath, *values))
        if changed:
            with self.pg.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO projects(machine, path, {', '.join(_PROJECT_FIELDS)}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (machine, path) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _PROJECT_FIELDS), changed)
            result.projects_upserted = len(changed)
        by_path = {r[0]: r[1] for r in self.pg.execute("SELECT path, id FROM projects WHERE machine = %s",
                                                        (self.machine,))}
        return {_int(pid): by_path[_text(ppath)] for pid, ppath, *_ in rows if _text(ppath) in by_path}

    def _sync_sessions(self, local: apsw.Connection, projects: dict[int, int], result: SyncResult) -> list[str]:
        """Upsert changed sessions; returns the ids of sessions the mirror already had, changed."""
        rows = local.execute("SELECT session_id, id, project_id, message_count, last_message_at, cwd, model, "
                             "channel, file_mtime, file_size, meta, created_at, updated_at FROM sessions").fetchall()
        mirrored = {r[0]: tuple(r[1:]) for r in self.pg.execute(
            f"SELECT session_id, {', '.join(_SESSION_FIELDS)} FROM sessions WHERE machine = %s", (self.machine,))}
        changed: list[tuple[object, ...]] = []
        existing: list[str] = []
        for sid, local_id, pid, count, last, cwd, model, channel, mtime, size, meta, created, updated in rows:
            sid = _text(sid)
            project = projects.get(pid) if isinstance(pid, int) else None
            values = (local_id, project, count or 0, last, _text(cwd), _text(model), _text(channel),
                      mtime, size, _text(meta), created or 0, updated or 0)
            known = mirrored.get(sid)
            if known != values:
                changed.append((self.machine, sid, *values))
                if known is not None and sid is not None:
                    existing.append(sid)
        if changed:
            marks = ", ".join(["%s"] * (len(_SESSION_FIELDS) + 2))
            with self.pg.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO sessions(machine, session_id, {', '.join(_SESSION_FIELDS)}) VALUES ({marks}) "
                    "ON CONFLICT (machine, session_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _SESSION_FIELDS), changed)
            result.sessions_upserted = len(changed)
        return existing

    # ------------------------------------------------------------------ messages
    def _ensure_stage(self) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind in _STAGE)
        self.pg.execute(f"CREATE TEMP TABLE IF NOT EXISTS mirror_stage ({columns})")

    def _upsert_messages(self, rows: list[apsw.SQLiteValues]) -> int:
        """COPY the SQLite rows into the staging table and upsert them; returns rows written."""
        with self.pg.cursor() as cur:
            with cur.copy(f"COPY mirror_stage ({_STAGE_NAMES}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([kind for _, kind in _STAGE])
                for row in rows:
                    copy.write_row(_stage_row(row))
            cur.execute(
                f"INSERT INTO messages(machine, {_STAGE_NAMES}) SELECT %s, {_STAGE_SELECT} FROM mirror_stage "
                "ON CONFLICT (machine, uuid) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)
                + " WHERE messages.digest IS DISTINCT FROM excluded.digest "
                "OR messages.approval_status IS DISTINCT FROM excluded.approval_status "
                "OR messages.approval_resolved_at IS DISTINCT FROM excluded.approval_resolved_at",
                (self.machine,))
            written = cur.rowcount
            cur.execute("TRUNCATE mirror_stage")
        return written

    def _recheck_sessions(self, local: apsw.Connection, sessions: list[str], high_water: int) -> int:
        """Send the older messages (id <= high_water) of changed sessions whose content differs."""
        written = 0
        for start in range(0, len(sessions), 200):
            chunk = sessions[start:start + 200]
            mirrored = {r[0]: bytes(r[1]) for r in self.pg.execute(
                "SELECT uuid, digest FROM messages WHERE machine = %s AND session_id = ANY(%s)",
                (self.machine, chunk))}
            stale = []
            for sid in chunk:
                for row in local.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND id <= ?",
                                         (sid, high_water)):
                    if mirrored.get(_text(row[2])) != _digest(row):
                        stale.append(row)
            for part in range(0, len(stale), DEFAULT_BATCH):
                written += self._upsert_messages(stale[part:part + DEFAULT_BATCH])
        return written

    def _sync_approvals(self, local: apsw.Connection, high_water: int) -> int:
        """Approval states set or changed on messages already mirrored."""
        wanted = {_text(r[0]): (r[1], r[2]) for r in local.execute(
            "SELECT uuid, approval_status, approval_resolved_at FROM messages "
            "WHERE approval_status IS NOT NULL AND id <= ?", (high_water,))}
        if not wanted:
            return 0
        mirrored = {r[0]: (r[1], r[2]) for r in self.pg.execute(
            "SELECT uuid, approval_status, approval_resolved_at FROM messages "
            "WHERE machine = %s AND approval_status IS NOT NULL", (self.machine,))}
        changed = [(status, resolved, self.machine, uuid) for uuid, (status, resolved) in wanted.items()
                   if mirrored.get(uuid) != (status, resolved)]
        if changed:
            with self.pg.cursor() as cur:
                cur.executemany("UPDATE messages SET approval_status = %s, approval_resolved_at = %s "
                                "WHERE machine = %s AND uuid = %s", changed)
        return len(changed)


def _open_local(path: Path) -> apsw.Connection:
    """The SQLite file, read-only (query_only): never the write lock, never the writer role."""
    config = DbConfig.local(path, read_only=True)
    conn = open_connection(config)
    try:
        with sqlite_errors(f"cannot read {path}"):
            conn.execute("PRAGMA query_only=ON")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"projects", "sessions", "messages"} - names
        if missing:
            raise DatabaseError(f"{path} is not a sessiondb database (no {', '.join(sorted(missing))} table)")
    except BaseException:
        conn.close()
        raise
    return conn


def _text(value: object) -> str | None:
    """Text PostgreSQL accepts: NUL is the one character it cannot store."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _digest(row: apsw.SQLiteValues) -> bytes:
    """A fingerprint of the columns a re-read can change (not the approval state)."""
    fields = "\x1f".join("\x00" if row[i] is None else "\x01" + str(row[i])
                         for i in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14))
    return hashlib.blake2b(fields.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _stage_row(row: apsw.SQLiteValues) -> tuple[object, ...]:
    (local_id, sid, uuid, kind, text, full, ts, seq, source, channel, model, call_id, tool, args, raw,
     approval, resolved) = row
    full = _text(full) or ""
    searchable, vector, count = search_text(full)
    return (_text(uuid), local_id, _text(sid), _text(kind) or "", _text(text) or "", full, _int(ts), _int(seq),
            _text(source), _text(channel), _text(model), _text(call_id), _text(tool), _text(args), _text(raw),
            _text(approval), _int_or_none(resolved), searchable, vector, count, _digest(row))


def _int(value: object) -> int:
    if not isinstance(value, (int, float, str, bytes)):
        return 0
    try:
        return int(value)
    except ValueError:
        return 0


def _int_or_none(value: object) -> int | None:
    return None if value is None else _int(value)
