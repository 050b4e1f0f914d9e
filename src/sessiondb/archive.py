"""Opening an archive by where it is: a SQLite file, or a PostgreSQL mirror of several machines.

    import sessiondb
    with sessiondb.open_archive("postgresql://me@db.example/sessions") as archive:
        archive.search("parse_session")

A path gives a :class:`sessiondb.SessionDB`; a ``postgresql://`` (or ``postgres://``)
URL gives a ``sessiondb.mirror.RemoteArchive``, which has the same read methods. The
mirror package (and its driver, psycopg) is loaded by name only for a URL (a plug-in
lookup, as the CLI finds other faces' commands), so faces that take ``--db`` accept
both without importing the mirror themselves.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

MIRROR_PACKAGE = "sessiondb.mirror"

_SCHEMES = ("postgresql://", "postgres://")


def is_remote(target: object) -> bool:
    """True for a PostgreSQL URL (an archive mirrored from several machines)."""
    return isinstance(target, str) and target.strip().lower().startswith(_SCHEMES)


def open_archive(target: str | os.PathLike[str] | None = None, *, read_only: bool = True) -> Any:
    """A ``SessionDB`` for a path (None: the default database), a ``RemoteArchive`` for a URL.

    The mirror is read-only; asking for a writable one raises ``InvalidArgument``.
    """
    if is_remote(target):
        if not read_only:
            from .errors import InvalidArgument
            raise InvalidArgument("the PostgreSQL mirror is read-only here; it is written by `sessiondb sync`")
        return _mirror().RemoteArchive(str(target).strip())
    from .config import DbConfig
    from .db import SessionDB
    config = DbConfig.from_env(read_only=read_only) if target is None else DbConfig.local(target, read_only=read_only)
    return SessionDB.connect(config)


def mirror_follower(database: str | os.PathLike[str], url: str, *, machine: str | None = None,
                    on_sync: Callable[[Any], None] | None = None,
                    on_error: Callable[[str], None] | None = None) -> Any:
    """A ``sessiondb.mirror.MirrorFollower`` that syncs ``database`` into ``url`` when poked."""
    return _mirror().MirrorFollower(database, url, machine=machine, on_sync=on_sync, on_error=on_error)


def _mirror() -> Any:
    """The mirror face, found by name; a build without it says so in one line."""
    try:
        return importlib.import_module(MIRROR_PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name and MIRROR_PACKAGE.startswith(exc.name):
            from .errors import RemoteError
            raise RemoteError("this build of sessiondb has no PostgreSQL mirror (sessiondb.mirror)") from None
        raise
