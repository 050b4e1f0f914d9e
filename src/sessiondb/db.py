"""``SessionDB``: the one handle to the shared database.

It combines the storage mixins (``sessiondb.store``), search and writer
coordination. Everything the C ABI, the CLI, the watcher and the Swift package do
goes through this class.
"""

from __future__ import annotations

import os

from .config import DbConfig
from .coordination.protocol import CoordinationMixin
from .search.engine import SearchMixin
from .store.ingest import IngestMixin
from .store.messages import MessagesMixin
from .store.projects import ProjectsMixin
from .store.sessions import SessionsMixin

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only; importing typing would slow the C ABI's first call
    from typing import Any

    from .collector import CollectResult


class SessionDB(CoordinationMixin, SearchMixin, MessagesMixin, SessionsMixin, ProjectsMixin, IngestMixin):
    """A connection to the shared session database.

    >>> db = SessionDB.connect(DbConfig.local("~/.vimo/db/ai-cli-session.db"))  # doctest: +SKIP

    Safe to share between threads (calls are serialised on one connection). Use it as
    a context manager, or call :meth:`close`.
    """

    @classmethod
    def connect(cls, config: DbConfig | str | os.PathLike[str] | None = None) -> "SessionDB":
        """Open (and create or upgrade) the database.

        ``config`` may be a :class:`DbConfig`, a path, or None for
        :meth:`DbConfig.from_env` (``$CLAUDE_SESSION_DB_URL`` or the default path).
        """
        if config is None:
            config = DbConfig.from_env()
        elif not isinstance(config, DbConfig):
            config = DbConfig.local(config)
        return cls(config)

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.read_only else "open")
        return f"<SessionDB {self.path} ({state})>"

    # ------------------------------------------------------------------ collecting (sessiondb.collector)
    def collect_all(self, sources: Any = None, *, roots: dict[str, Any] | None = None) -> "CollectResult":
        """Collect every session file of the sources (all four by default), incrementally.

        ``roots`` maps a source name to a root (or list of roots) that replaces its
        default location. See :mod:`sessiondb.collector`.
        """
        from .collector import Collector
        return Collector(self, roots=roots).collect_all(sources)

    def collect_by_path(self, path: str | os.PathLike[str], *, roots: dict[str, Any] | None = None) -> "CollectResult":
        """Collect the one session file at ``path`` (what changed, for file events)."""
        from .collector import Collector
        return Collector(self, roots=roots).collect_by_path(path)

    def register_writer_and_collect(self, writer_type: Any) -> "tuple[Any, CollectResult | None]":
        """Register as a writer; if this handle became the Writer, collect everything.

        Returns ``(role, result)``; ``result`` is None for a Reader.
        """
        from .coordination.protocol import Role
        role = self.register_writer(writer_type)  # type: ignore[attr-defined]
        if role != Role.WRITER:
            return role, None
        return role, self.collect_all()
