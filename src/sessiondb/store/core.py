"""The handle: one connection, one lock, and the single place where writes happen.

Every write of the library goes through :meth:`DatabaseCore._write`, which opens the
transaction with ``BEGIN IMMEDIATE`` (so the write lock is taken up front and a
deferred read-then-write can never fail half way with SQLITE_BUSY_SNAPSHOT), runs the
writer fence inside it, and commits or rolls back as a whole.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only; importing typing would slow the C ABI's first call
    from typing import Any

import apsw

from ..search import ranking, cjk_index as textindex
from . import schema
from ..config import DbConfig
from .connection import open_connection, sqlite_errors, translate
from ..errors import DatabaseError, PermissionDenied, ReadOnlyError
from ..models import IntegrityCheckResult, Stats

# Backlog of queued CJK rows (written by other programs) indexed per write transaction.
_CJK_BACKLOG_PER_WRITE = 1000


class DatabaseCore:
    """Connection lifecycle, transactions, statistics and maintenance."""

    def __init__(self, config: DbConfig) -> None:
        self._config = config
        self._lock = threading.RLock()
        self._write_depth = 0
        self._conn: apsw.Connection | None = open_connection(config)
        try:
            with sqlite_errors("cannot prepare the schema"):
                textindex.register_functions(self._conn)
                ranking.register(self._conn)
                self._idf_cache: dict = {}
                if not config.read_only and not schema.is_current(self._conn):
                    schema.ensure_schema(self._conn)
                objects = schema.existing_objects(self._conn)
                self._has_cjk_index = "messages_cjk" in objects
                # Per-connection vocabulary views for search estimates (temp: no schema change).
                for index in ("messages_fts", "messages_cjk"):
                    if index in objects:
                        self._conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{index}_vocab "
                                           f"USING fts5vocab(main, {index}, row)")
                if config.read_only:
                    self._conn.execute("PRAGMA query_only=ON")
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # ------------------------------------------------------------------ lifecycle
    @property
    def config(self) -> DbConfig:
        return self._config

    @property
    def path(self) -> str:
        """The database file."""
        return str(self._config.path)

    @property
    def read_only(self) -> bool:
        return self._config.read_only

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self) -> apsw.Connection:
        if self._conn is None:
            raise DatabaseError("the database handle is closed")
        return self._conn

    # ------------------------------------------------------------------ reading
    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        with self._lock, sqlite_errors():
            return list(self._connection().execute(sql, params))

    def _read_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple | None:
        with self._lock, sqlite_errors():
            return self._connection().execute(sql, params).fetchone()

    def _read_value(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), default: Any = None) -> Any:
        row = self._read_one(sql, params)
        return default if row is None or row[0] is None else row[0]

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[apsw.Connection]:
        """Several reads that see one consistent state of the database."""
        with self._lock, sqlite_errors():
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN DEFERRED")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _write(self) -> Iterator[apsw.Connection]:
        """The one way to write: ``BEGIN IMMEDIATE``, the writer fence, then all or nothing.

        Re-entrant: a write method called inside another joins its transaction.
        """
        with self._lock:
            conn = self._connection()
            if self._write_depth:
                self._write_depth += 1
                try:
                    yield conn
                finally:
                    self._write_depth -= 1
                return
            if self._config.read_only:
                raise ReadOnlyError(f"{self.path} was opened read-only; writes are refused")
            if conn.in_transaction:
                # A transaction left open by a failed rollback (the disk went away while it
                # ran): end it now, or every later BEGIN would fail and the handle be stuck.
                with contextlib.suppress(apsw.Error):
                    conn.execute("ROLLBACK")
            with sqlite_errors("cannot start a write transaction"):
                conn.execute("BEGIN IMMEDIATE")
            self._write_depth = 1
            try:
                try:
                    self._fence(conn)
                    first_new_id = self._next_message_id(conn)
                    yield conn
                    if self._has_cjk_index:
                        textindex.drain_pending(conn, min_id=first_new_id, max_rows=_CJK_BACKLOG_PER_WRITE)
                    conn.execute("COMMIT")
                except apsw.Error as exc:
                    raise translate(exc) from exc
            except BaseException:
                # Any error leaves the handle as it was before the transaction: SQLite may
                # already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR), so check.
                if conn.in_transaction:
                    with contextlib.suppress(apsw.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                self._write_depth = 0

    @staticmethod
    def _next_message_id(conn: apsw.Connection) -> int:
        return (conn.execute("SELECT MAX(id) FROM messages").fetchone()[0] or 0) + 1

    def _fence(self, conn: apsw.Connection) -> None:
        """Inside the write transaction: may this handle write? Raises PermissionDenied.

        A handle that never registered as a writer may write only while no writer is
        registered. Writer coordination overrides this with the full ownership check.
        """
        row = conn.execute("SELECT writer_type, writer_id FROM writer_registry WHERE id = 1").fetchone()
        if row is not None:
            raise PermissionDenied(
                f"writer {row[0]} ({row[1]}) owns the database; register as a writer to write")

    # ------------------------------------------------------------------ stats & maintenance
    def get_stats(self) -> Stats:
        """Counts of projects, sessions and messages, read from one snapshot."""
        with self._snapshot() as conn:
            counts = [conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                      for table in ("projects", "sessions", "messages")]
        return Stats(*counts)

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(mode)``: returns (busy, wal pages, pages checkpointed).

        PASSIVE never blocks other connections. TRUNCATE also shrinks the WAL file to
        zero bytes when no reader is using it (the original only ever ran PASSIVE, so
        the WAL could grow without bound).
        """
        mode = mode.upper()
        if mode not in {"PASSIVE", "FULL", "RESTART", "TRUNCATE"}:
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        row = self._read_one(f"PRAGMA wal_checkpoint({mode})")
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def quick_check(self) -> IntegrityCheckResult:
        """``PRAGMA quick_check``: every problem it reports, not only the first."""
        return self._check("quick_check")

    def integrity_check(self) -> IntegrityCheckResult:
        """``PRAGMA integrity_check``: every problem it reports, not only the first."""
        return self._check("integrity_check")

    def _check(self, pragma: str) -> IntegrityCheckResult:
        rows = [str(r[0]) for r in self._read(f"PRAGMA {pragma}")]
        if rows == ["ok"]:
            return IntegrityCheckResult(True)
        return IntegrityCheckResult(False, tuple(rows))

    def fts_integrity_check(self) -> IntegrityCheckResult:
        """FTS5 'integrity-check' of ``messages_fts`` against the ``messages`` rows."""
        try:
            self._read("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        except DatabaseError as exc:
            return IntegrityCheckResult(False, (f"messages_fts: {exc}",))
        return IntegrityCheckResult(True)

    def rebuild_search_index(self) -> None:
        """Rebuild ``messages_fts`` from ``messages`` and re-queue the CJK side index."""
        with self._write() as conn:
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
            if self._has_cjk_index:
                conn.execute("DELETE FROM messages_cjk")
                conn.execute("INSERT OR IGNORE INTO messages_cjk_pending(message_id) SELECT id FROM messages "
                             f"WHERE {textindex.NON_ASCII_SQL.format('content_full')}")
                textindex.drain_pending(conn)

    def catch_up_search_index(self) -> int:
        """Index every queued CJK message now (rows written by other programs).

        Returns how many were indexed. A search also finds queued rows, by scanning
        them, so this only makes searching them fast.
        """
        if not self._has_cjk_index:
            return 0
        with self._write() as conn:
            return textindex.drain_pending(conn)
