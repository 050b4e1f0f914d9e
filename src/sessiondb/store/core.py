"""The store: one connection, one lock, and the single place where writes happen.

Every write of the library goes through :meth:`Store.write`, which opens the
transaction with ``BEGIN IMMEDIATE`` (so the write lock is taken up front and a
deferred read-then-write can never fail half way with SQLITE_BUSY_SNAPSHOT), runs the
writer fence it was given inside it, and commits or rolls back as a whole. The store
knows rows, not files, and not who may write: that is the fence's decision.
"""

from __future__ import annotations

import contextlib
import threading

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, Protocol, TypeVar

    import apsw

    from .checkpoints import BackgroundCheckpoints

    T = TypeVar("T")

    class Fence(Protocol):
        def check(self, conn: apsw.Connection) -> None: ...

from ..config import DbConfig
from ..errors import DatabaseError, ReadOnlyError
from .connection import DEFAULT_AUTOCHECKPOINT_PAGES, open_connection, scalar, sqlite_errors, translate

# Backlog of queued CJK rows (written by other programs) indexed per write transaction.
_CJK_BACKLOG_PER_WRITE = 1000
# Staging tables of the bulk insert paths: created once per connection, outside any
# transaction, so that a rolled-back write can never take them away.
STAGING_TABLES = ("sessiondb_stage", "sessiondb_ingest")


class Store:
    """Connection lifecycle, reads, and the fenced write transaction."""

    def __init__(self, config: DbConfig, fence: Fence,
                 prepare: Callable[[apsw.Connection, set[str]], None] | None = None) -> None:
        """Open (and create or upgrade) the database. ``prepare(connection, objects)``
        runs once the schema is in place and before a read-only connection turns
        ``query_only`` (search registers its functions and views there)."""
        self._config = config
        self._fence = fence
        self.lock = threading.RLock()
        self._write_depth = 0
        # WAL checkpoints on a second thread while a bulk of writes runs (None: the
        # writer's own automatic checkpoints).
        self._checkpoints: BackgroundCheckpoints | None = None
        from . import cjk_index, schema  # loaded by the first connect (see sessiondb._startup)

        self._conn: apsw.Connection | None = open_connection(config)
        try:
            with sqlite_errors("cannot prepare the schema"):
                cjk_index.register_functions(self._conn)
                if not config.read_only and not schema.is_current(self._conn):
                    schema.ensure_schema(self._conn)
                self.objects: set[str] = set(schema.existing_objects(self._conn))
                self.has_cjk_index = "messages_cjk" in self.objects
                self.has_rank_index = "messages_rank_postings" in self.objects
                self.has_cjk_lists = self.has_cjk_index and "messages_cjk_rank_postings" in self.objects
                if prepare is not None:
                    prepare(self._conn, self.objects)
                if not config.read_only:
                    for table in STAGING_TABLES:
                        self._conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} "
                                           f"({schema.MESSAGE_INSERT_COLUMNS})")
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

    @property
    def in_write(self) -> bool:
        """A write transaction of this store is open (on the thread holding the lock)."""
        return self._write_depth > 0

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self.lock:
            self._stop_checkpoints()
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def connection(self) -> apsw.Connection:
        """The open connection (hold :attr:`lock` while using it)."""
        if self._conn is None:
            raise DatabaseError("the database handle is closed")
        return self._conn

    # ------------------------------------------------------------------ reading
    def read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock, sqlite_errors():
            return list(self.connection().execute(sql, params))

    def read_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        with self.lock, sqlite_errors():
            row: tuple[Any, ...] | None = self.connection().execute(sql, params).fetchone()
            return row

    def read_value(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), default: Any = None) -> Any:
        row = self.read_one(sql, params)
        return default if row is None or row[0] is None else row[0]

    def read_int(self, sql: str, params: Sequence[Any] = (), default: int = 0) -> int:
        """An integer result (``default`` for no row or NULL)."""
        value = self.read_value(sql, params)
        return default if value is None else int(value)

    def read_optional_int(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        value = self.read_value(sql, params)
        return None if value is None else int(value)

    def cjk_lister(self) -> Callable[[apsw.Connection, list[tuple[int, str]]], None] | None:
        """What lists the rows a write adds to the CJK side index (``drain_pending``'s
        ``indexed``), or None when the database has no such lists."""
        if not self.has_cjk_lists:
            return None
        from . import rank_index  # loaded on first use (see sessiondb._startup)

        return rank_index.list_cjk_rows

    def with_connection(self, use: Callable[[apsw.Connection], T], context: str | None = None) -> T:
        """``use(connection)`` under the lock, SQLite errors translated."""
        with self.lock, sqlite_errors(context):
            return use(self.connection())

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[apsw.Connection]:
        """Several reads that see one consistent state of the database."""
        with self.lock, sqlite_errors():
            conn = self.connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN DEFERRED")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")  # type: ignore[unreachable]  # apsw types in_transaction too narrowly

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def write(self) -> Iterator[apsw.Connection]:
        """The one way to write: ``BEGIN IMMEDIATE``, the writer fence, then all or nothing.

        Re-entrant: a write called inside another joins its transaction.
        """
        import apsw  # loaded by connect (see open_connection)

        with self.lock:
            conn = self.connection()
            if self._write_depth:
                self._write_depth += 1
                try:
                    yield conn
                finally:
                    self._write_depth -= 1
                return
            if self._config.read_only:
                raise ReadOnlyError(f"{self.path} was opened read-only; writes are refused")
            checkpoints = self._checkpoints
            if checkpoints is not None:
                if checkpoints.working:
                    checkpoints.before_write()
                else:
                    self._stop_checkpoints()   # it failed: the writer checkpoints itself again
            # A transaction left open by a failed rollback (the disk went away while it
            # ran): end it now, or every later BEGIN would fail and the handle be stuck.
            with sqlite_errors("cannot start a write transaction"):
                _rollback(conn)
                conn.execute("BEGIN IMMEDIATE")
            self._write_depth = 1
            try:
                try:
                    self._fence.check(conn)
                    first_new_id = _next_message_id(conn)
                    yield conn
                    if self.has_cjk_index:
                        from . import cjk_index

                        cjk_index.drain_pending(conn, min_id=first_new_id, max_rows=_CJK_BACKLOG_PER_WRITE,
                                                indexed=self.cjk_lister())
                    if self.has_rank_index:
                        from . import rank_index  # the first write loads it (see sessiondb._startup)

                        rank_index.extend(conn)
                        if self.has_cjk_lists:
                            rank_index.keep_cjk_lists(conn)
                    conn.execute("COMMIT")
                    if checkpoints is not None:
                        checkpoints.committed()
                except apsw.Error as exc:
                    raise translate(exc) from exc
            except BaseException:
                # Any error leaves the handle as it was before the transaction: SQLite may
                # already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR), so check.
                _rollback(conn)
                raise
            finally:
                self._write_depth = 0

    @property
    def background_sql_lock(self) -> threading.Lock | None:
        """The lock the background checkpoint thread holds while it runs SQL, or None
        when none runs; read it holding :attr:`lock` (then no thread starts or stops)."""
        return None if self._checkpoints is None else self._checkpoints.running_sql

    @property
    def checkpoints_in_background(self) -> bool:
        """The WAL is checkpointed by a second thread now (:meth:`background_checkpoints`)."""
        return self._checkpoints is not None and self._checkpoints.working

    @contextlib.contextmanager
    def background_checkpoints(self) -> Iterator[None]:
        """While open, the WAL is checkpointed on a second thread after each commit
        instead of by the writer (``store.checkpoints``): for a bulk of large writes. A
        no-op on a read-only handle, a database not in WAL mode, or when one is open
        already."""
        with self.lock:
            started = self._start_checkpoints()
        try:
            yield
        finally:
            if started:
                with self.lock:
                    ours = self._checkpoints is not None   # (not stopped by a failure or a close)
                    self._stop_checkpoints()
                    if ours:
                        self._empty_wal()

    def _start_checkpoints(self) -> bool:
        if self._checkpoints is not None or self._config.read_only or self._conn is None:
            return False
        from .checkpoints import BackgroundCheckpoints

        conn = self._conn
        try:
            if str(scalar(conn, "PRAGMA journal_mode")).lower() != "wal":
                return False
            self._checkpoints = BackgroundCheckpoints(self.path, int(scalar(conn, "PRAGMA page_size")))
            conn.execute("PRAGMA wal_autocheckpoint=0")
        except Exception as exc:   # an optimisation only: the writer keeps checkpointing itself
            from .._startup import log

            log(__name__).info("no background checkpoints (%s)", exc)
            self._stop_checkpoints()
            return False
        return True

    def _stop_checkpoints(self) -> None:
        import apsw

        checkpoints, self._checkpoints = self._checkpoints, None
        if checkpoints is None:
            return
        checkpoints.close()
        if self._conn is not None:
            with contextlib.suppress(apsw.Error):
                self._conn.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_AUTOCHECKPOINT_PAGES}")

    def _empty_wal(self) -> None:
        """Copy the WAL a bulk leaves (up to RESTART_BYTES and two batches) back and cut it
        to nothing, unless a reader or another writer is using it: then at once, with no
        waiting, it is left for the next write to reuse."""
        import apsw

        conn = self._conn
        if conn is None or self._write_depth or conn.in_transaction:
            return
        conn.set_busy_timeout(0)
        try:
            with contextlib.suppress(apsw.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.set_busy_timeout(self._config.busy_timeout_ms)

    @contextlib.contextmanager
    def unfenced_write(self, context: str) -> Iterator[apsw.Connection]:
        """``BEGIN IMMEDIATE`` without the fence, for the writer registry itself.

        Registry changes decide what the fence allows, so the fence cannot guard them;
        coordination is the only caller. Joins a write already open on this thread.
        """
        import apsw

        with self.lock:
            conn = self.connection()
            if self._write_depth:
                yield conn
                return
            with sqlite_errors(context):
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, apsw.Error):
                    raise translate(exc, context) from exc
                raise


def _next_message_id(conn: apsw.Connection) -> int:
    return int(scalar(conn, "SELECT MAX(id) FROM messages") or 0) + 1


def _rollback(conn: apsw.Connection) -> None:
    import apsw

    if conn.in_transaction:
        with contextlib.suppress(apsw.Error):
            conn.execute("ROLLBACK")
