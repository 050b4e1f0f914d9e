"""Several machines' archives mirrored into one PostgreSQL database, and searched as one.

    from sessiondb.mirror import RemoteArchive, sync
    sync("~/.vimo/db/ai-cli-session.db", "postgresql://me@db.example/sessions", machine="laptop")
    with RemoteArchive("postgresql://me@db.example/sessions") as archive:
        for hit in archive.search("parse_session 数据库", machine="laptop"):
            print(hit.project_name, hit.snippet)

``sync`` (:mod:`.sync`) is one-way, incremental and resumable, and only reads the
SQLite file; :class:`RemoteArchive` (:mod:`.remote`) reads the mirror with the read
methods of ``SessionDB``; the PostgreSQL schema and its migrations are :mod:`.schema`;
the query language's translation to SQL is :mod:`.text`. psycopg is imported when a
connection is made, so importing this package needs no driver.
"""

from __future__ import annotations

from .connection import MirrorError, MirrorUnavailable, is_postgres_url, redact
from .follow import MirrorFollower
from .remote import MachineInfo, RemoteArchive
from .sync import SyncEngine, SyncResult, default_machine, sync

__all__ = ["MachineInfo", "MirrorError", "MirrorFollower", "MirrorUnavailable", "RemoteArchive", "SyncEngine",
           "SyncResult", "default_machine", "is_postgres_url", "redact", "sync"]
