"""sessiondb: one shared SQLite database of AI coding-CLI sessions.

    from sessiondb import SessionDB, DbConfig
    db = SessionDB.connect(DbConfig.local("~/.vimo/db/ai-cli-session.db"))
    for hit in db.search("parse_session error", limit=10):
        print(hit.project_name, hit.snippet)
"""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    from .coordination.loop import Coordinator

from .config import CoordinationConfig, DbConfig
from .coordination import Clock, Role, WriterHealth, WriterInfo, WriterType
from .db import SessionDB
from .errors import (ConfigError, ConflictError, CoordinationError, DatabaseError, InvalidArgument,
                     NotFoundError, PermissionDenied, ReadOnlyError, SessionDBError)
from .models import (ApprovalStatus, IntegrityCheckResult, Message, MessageInput, MessageType, Project,
                     ProjectWithSource, ProjectWithStats, SearchOrder, SearchResult, Session, SessionInput,
                     SessionOverview, SessionWithProject, SourceCounts, Stats, VectorIndexState)

__version__ = "0.1.0"

__all__ = [
    "ApprovalStatus", "Clock", "CollectResult", "ConfigError", "ConflictError", "CoordinationConfig",
    "CoordinationError", "Coordinator", "DatabaseError",
    "DbConfig", "IntegrityCheckResult", "InvalidArgument", "Message", "MessageInput", "MessageType",
    "NotFoundError", "PermissionDenied", "Project", "ProjectWithSource", "ProjectWithStats", "ReadOnlyError",
    "SearchOrder", "SearchResult", "Session", "SessionDB", "SessionDBError", "SessionInput",
    "SessionOverview", "SessionWithProject", "SourceCounts", "Stats", "VectorIndexState", "Role", "WriterHealth", "WriterInfo", "WriterType",
    "open_archive", "parse_query", "__version__",
]


def __getattr__(name: str) -> Any:
    # The collector (and the parsers it loads) is imported on first use, so that
    # ``import sessiondb`` stays quick for programs that only read or search.
    if name == "CollectResult":
        from .collector import CollectResult
        return CollectResult
    if name == "Coordinator":   # the coordinator loop, for long-running programs
        from .coordination.loop import Coordinator
        return Coordinator
    if name == "open_archive":  # a path or a PostgreSQL mirror (sessiondb.archive)
        from .archive import open_archive
        return open_archive
    if name == "parse_query":   # the query language loads with the first search
        from .search.query import parse_query
        return parse_query
    raise AttributeError(f"module 'sessiondb' has no attribute {name!r}")
