"""Opening the SQLite file: one apsw connection with the pragmas every handle needs.

apsw is the only SQLite binding in the process: two copies of SQLite in one process
break each other's POSIX locks, so nothing here (or anywhere in sessiondb) imports the
stdlib ``sqlite3``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import apsw

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

from ..config import DbConfig
from ..errors import DatabaseError, NotFoundError, SessionDBError


NEW_DATABASE_PAGE_SIZE = 16384


def open_connection(config: DbConfig) -> apsw.Connection:
    """Open ``config.path`` with WAL, synchronous=NORMAL, busy_timeout and foreign_keys=ON.

    A writable connection creates the file and its parent directories; a read-only one
    requires the file to exist (the caller sets ``query_only`` once it is prepared).
    """
    path = config.path
    if config.read_only:
        if not path.is_file():
            raise NotFoundError(f"database file not found: {path} (a read-only handle never creates it)")
        flags = apsw.SQLITE_OPEN_READWRITE
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the directory of {path}: {exc.strerror or exc}") from exc
        flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    with sqlite_errors(f"cannot open {path}"):
        conn = apsw.Connection(str(path), flags=flags)
    try:
        with sqlite_errors(f"cannot configure {path}"):
            conn.set_busy_timeout(config.busy_timeout_ms)
            if not config.read_only:
                # Only takes effect while the file is still empty (a new database):
                # messages carry their source line, and 16 KiB pages write them about 20%
                # faster than 4 KiB ones. Any SQLite reads any page size.
                conn.execute(f"PRAGMA page_size={NEW_DATABASE_PAGE_SIZE}")
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA temp_store=MEMORY")
            # A cheap read proves the file is a database before anyone relies on it.
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def scalar(conn: apsw.Connection, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def translate(exc: apsw.Error, context: str | None = None) -> SessionDBError:
    """The sessiondb error for an apsw exception, with a message a user can act on."""
    if isinstance(exc, apsw.BusyError):
        text = ("database is locked: another connection kept the write lock longer than the busy timeout")
    elif isinstance(exc, apsw.FullError):
        text = "database or disk is full"
    elif isinstance(exc, (apsw.CorruptError, apsw.NotADBError)):
        text = f"database file is corrupt or not a database ({exc})"
    elif isinstance(exc, apsw.ReadOnlyError):
        text = f"database is read-only ({exc})"
    elif isinstance(exc, apsw.CantOpenError):
        text = f"unable to open database file ({exc})"
    else:
        text = str(exc) or type(exc).__name__
    code = getattr(exc, "extendedresult", None)
    return DatabaseError(f"{context}: {text}" if context else text,
                         sqlite_code=code if isinstance(code, int) else None)


@contextlib.contextmanager
def sqlite_errors(context: str | None = None) -> Iterator[None]:
    """Re-raise apsw exceptions as :class:`DatabaseError`."""
    try:
        yield
    except apsw.Error as exc:
        raise translate(exc, context) from exc
