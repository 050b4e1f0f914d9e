"""Exceptions raised by sessiondb.

Every error the library raises is a :class:`SessionDBError`, so callers can catch
one type. The subclasses mirror the original crate's error kinds (and the C ABI's
``SessionDbError`` codes): database failures, coordination failures and the
permission error a Reader gets when it tries to write.
"""

from __future__ import annotations


class SessionDBError(Exception):
    """Base class of every error raised by sessiondb."""


class ConfigError(SessionDBError):
    """The configuration cannot be used (bad path, unsupported URL scheme, ...)."""


class DatabaseError(SessionDBError):
    """SQLite failed: locked beyond the busy timeout, disk full, corrupt file, constraint, ...

    ``sqlite_code`` is SQLite's extended result code when SQLite reported the failure
    (``13`` SQLITE_FULL, ``5`` SQLITE_BUSY, ``778`` SQLITE_IOERR_WRITE, ...), else None;
    ``sqlite_code & 0xFF`` is the primary code.
    """

    def __init__(self, message: str = "", *, sqlite_code: int | None = None) -> None:
        super().__init__(message)
        self.sqlite_code = sqlite_code


class NotFoundError(DatabaseError):
    """A row the call depends on does not exist (for example inserting into an unknown session)."""


class CoordinationError(SessionDBError):
    """Writer coordination failed (not registered, registry unreadable, ...)."""


class PermissionDenied(SessionDBError):
    """This handle may not write: it is a Reader, or another writer owns the database."""


class ReadOnlyError(PermissionDenied):
    """The database was opened read-only (``DbConfig(read_only=True)``)."""


class InvalidArgument(SessionDBError, ValueError):
    """An argument has the wrong type or value (empty path, negative limit, ...)."""


class ConflictError(DatabaseError):
    """The change would break existing rows (deleting a project that still has sessions, ...)."""


class NotConnectedError(SessionDBError):
    """An :class:`~sessiondb.agent_client.AgentClient` call before ``connect`` or after ``disconnect``."""


class RemoteError(SessionDBError):
    """A remote archive (the PostgreSQL mirror) cannot be reached or used."""
