"""``SessionDB``: the one handle to the shared database.

It combines the storage mixins (``sessiondb.store``), search and writer
coordination. Everything the C ABI, the CLI, the watcher and the Swift package do
goes through this class.
"""

from __future__ import annotations

import os

from .config import DbConfig
from .coordination import CoordinationMixin
from .search import SearchMixin
from .store.messages import MessagesMixin
from .store.projects import ProjectsMixin
from .store.sessions import SessionsMixin


class SessionDB(CoordinationMixin, SearchMixin, MessagesMixin, SessionsMixin, ProjectsMixin):
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
