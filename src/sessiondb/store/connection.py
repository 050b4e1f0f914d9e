"""Opening the SQLite file: one apsw connection with the pragmas every handle needs.

apsw is the only SQLite binding in the process: two copies of SQLite in one process
break each other's POSIX locks, so nothing here (or anywhere in sessiondb) imports the
stdlib ``sqlite3``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    import apsw

from ..config import DbConfig
from ..errors import DatabaseError, NotFoundError, SessionDBError


NEW_DATABASE_PAGE_SIZE = 16384
# SQLite's automatic checkpoint threshold, in pages (its default): the writer's setting
# between the bulk writes that change it (store.ingest, store.checkpoints).
DEFAULT_AUTOCHECKPOINT_PAGES = 1000


def open_connection(config: DbConfig) -> apsw.Connection:
    """Open ``config.path`` with WAL, synchronous=NORMAL, busy_timeout and foreign_keys=ON.

    A writable connection creates the file and its parent directories; a read-only one
    requires the file to exist (the caller sets ``query_only`` once it is prepared).
    """
    # apsw (milliseconds to import) loads with the first database opened, not with the
    # package: the C ABI's first call needs no database (see sessiondb._startup).
    import apsw

    path = config.path
    if config.read_only:
        if not path.is_file():
            raise NotFoundError(f"database file not found: {path} (a read-only handle never creates it)")
        try:
            return _configure(apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE), config)
        except (apsw.Error, DatabaseError) as exc:
            if _unwritable(path) is None:
                raise translate(exc, f"cannot open {path}") if isinstance(exc, apsw.Error) else exc
        return _open_immutable(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the directory of {path}: {exc.strerror or exc}") from exc
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
        return _configure(conn, config)
    except (apsw.Error, DatabaseError) as exc:
        why = _unwritable(path)
        if why is not None:
            code = exc.sqlite_code if isinstance(exc, DatabaseError) else getattr(exc, "extendedresult", None)
            raise DatabaseError(f"cannot open {path} for writing: {why}; a read-only handle "
                                "(DbConfig(read_only=True)) can still read it",
                                sqlite_code=code if isinstance(code, int) else None) from exc
        raise translate(exc, f"cannot open {path}") if isinstance(exc, apsw.Error) else exc


def _unwritable(path: Path) -> str | None:
    """Why nothing beside ``path`` can be written (None when it can): WAL needs the
    ``-wal`` and ``-shm`` files next to the database."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        return None
    if not os.access(path.parent, os.W_OK):
        return "its folder is not writable by this user"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    return None


def _open_immutable(config: DbConfig) -> apsw.Connection:
    """Read a database where no ``-shm`` can be made (a read-only file system, a folder
    this user cannot write). The documented trade-off of SQLite's ``immutable``: no
    locks are taken and only the main file is read, so changes still in a ``-wal`` file
    are not seen, and a file changed by another program while open may read wrong."""
    from urllib.parse import quote

    import apsw

    uri = f"file:{quote(str(config.path))}?mode=ro&immutable=1"
    with sqlite_errors(f"cannot open {config.path} read-only"):
        conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    return _configure(conn, config)


def _configure(conn: apsw.Connection, config: DbConfig) -> apsw.Connection:
    path = config.path
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


# What an I/O error most often means, for the codes a full or failing disk produces.
_IO_CAUSES = {
    "SQLITE_IOERR_WRITE": "a write failed; the disk may be full or failing",
    "SQLITE_IOERR_FSYNC": "flushing to disk failed; the disk may be full or failing",
    "SQLITE_IOERR_TRUNCATE": "resizing a file failed; the disk may be full",
    "SQLITE_IOERR_SHMSIZE": "the -shm file cannot grow; the disk may be full",
    "SQLITE_IOERR_SHMOPEN": "the -shm file cannot be created beside the database",
    "SQLITE_IOERR_LOCK": "a file lock was lost or refused",
    "SQLITE_IOERR_RDLOCK": "a file lock was lost or refused",
    "SQLITE_IOERR_UNLOCK": "a file lock was lost or refused",
}


def scalar(conn: apsw.Connection, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def translate(exc: apsw.Error, context: str | None = None) -> SessionDBError:
    """The sessiondb error for an apsw exception, with a message a user can act on."""
    import apsw

    if isinstance(exc, apsw.BusyError):
        text = ("database is locked: another connection kept the write lock longer than the busy timeout")
    elif isinstance(exc, apsw.FullError):
        text = "database or disk is full"
    elif isinstance(exc, (apsw.CorruptError, apsw.NotADBError)):
        text = f"database file is corrupt or not a database ({exc})"
    elif isinstance(exc, apsw.ReadOnlyError):
        text = f"database is read-only ({exc})"
    elif isinstance(exc, apsw.IOError):
        name = apsw.mapping_extended_result_codes.get(getattr(exc, "extendedresult", None) or -1)
        code = name if isinstance(name, str) else None   # the mapping goes both ways: number -> name here
        why = _IO_CAUSES.get(code or "")
        text = f"disk I/O error ({code or exc}{': ' + why if why else ''})"
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
    import apsw

    try:
        yield
    except apsw.Error as exc:
        raise translate(exc, context) from exc
