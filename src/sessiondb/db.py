"""``SessionDB``: the one handle to the shared database, composed of its parts.

Each part owns its state and its methods; ``SessionDB`` builds them around one
:class:`~sessiondb.store.core.Store` and forwards its public methods to them:

* ``store`` (``store.core``): the connection and the fenced write path;
* ``projects``, ``sessions``, ``messages`` (``store.*``): the rows;
* ``ingest`` (``store.ingest``): the collector's bulk writes and per-file state;
* ``maintenance`` (``store.maintenance``): statistics, checks, repairs;
* ``search`` (``search.engine``): full-text search;
* ``coordination`` (``coordination.protocol``): the writer protocol, which keeps the
  handle's role in the :class:`~sessiondb.coordination.fence.WriterFence` that the
  store runs inside every write transaction.

Everything the C ABI, the CLI, the watcher, the viewer and the Swift package do goes
through this class.
"""

from __future__ import annotations

import os
import threading

from .config import DbConfig
from .coordination.fence import WriterFence
from .coordination.protocol import Coordination
from .search import engine as search_engine
from .store.core import Store
from .store.ingest import Ingest
from .store.maintenance import Maintenance
from .store.messages import Messages
from .store.projects import Projects
from .store.sessions import Sessions
from .store.usage import Usage

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

    from .collector import CollectResult
    from .coordination.types import Clock, Role, WriterType

    P = ParamSpec("P")
    R = TypeVar("R")

    class _Forward(Generic[P, R]):
        """Typed view of a forwarded method: bound on instances, plain on the class."""

        part: str
        name: str
        function: Callable[..., Any]

        def __init__(self, part: str, function: Callable[Concatenate[Any, P], R]) -> None: ...

        @overload
        def __get__(self, obj: None, owner: type[Any] | None = None) -> Callable[Concatenate[Any, P], R]: ...

        @overload
        def __get__(self, obj: object, owner: type[Any] | None = None) -> Callable[P, R]: ...

        def __get__(self, obj: object, owner: type[Any] | None = None) -> Any: ...
else:
    class _Forward:
        """A ``SessionDB`` method that is a method of one of its parts.

        On the class it is the part's function (its signature and docstring, for help()
        and documentation); each instance binds the part's bound method as an attribute
        at connect time, so a call costs no more than calling the part directly.
        """

        def __init__(self, part, function):
            self.part, self.function = part, function
            self.name = function.__name__
            self.__doc__ = function.__doc__

        def __set_name__(self, owner, name):
            self.name = name

        def __get__(self, obj, owner=None):
            if obj is None:
                return self.function
            return getattr(getattr(obj, self.part), self.function.__name__)


class SessionDB:
    """A connection to the shared session database.

    >>> db = SessionDB.connect(DbConfig.local("~/.vimo/db/ai-cli-session.db"))  # doctest: +SKIP

    Safe to share between threads (calls are serialised on one connection). Use it as
    a context manager, or call :meth:`close`.
    """

    def __init__(self, config: DbConfig) -> None:
        self._fence = WriterFence(str(config.path))
        self._store = Store(config, self._fence, prepare=search_engine.prepare_connection)
        self._sessions = Sessions(self._store)
        self._projects = Projects(self._store)
        self._messages = Messages(self._store, self._sessions)
        self._ingest = Ingest(self._store)
        self._usage = Usage(self._store)
        self._maintenance = Maintenance(self._store)
        self._search = search_engine.Search(self._store)
        self._coordination = Coordination(self._store, self._fence)
        for name, forward in _FORWARDS:
            setattr(self, name, getattr(getattr(self, forward.part), forward.function.__name__))

    @classmethod
    def connect(cls, config: DbConfig | str | os.PathLike[str] | None = None) -> SessionDB:
        """Open (and create or upgrade) the database.

        ``config`` may be a :class:`DbConfig`, a path, or None for
        :meth:`DbConfig.from_env` (``$CLAUDE_SESSION_DB_URL`` or the default path).
        """
        if config is None:
            config = DbConfig.from_env()
        elif not isinstance(config, DbConfig):
            config = DbConfig.local(config)
        return cls(config)

    # ------------------------------------------------------------------ the handle
    @property
    def config(self) -> DbConfig:
        return self._store.config

    @property
    def path(self) -> str:
        """The database file."""
        return self._store.path

    @property
    def read_only(self) -> bool:
        return self._store.read_only

    @property
    def closed(self) -> bool:
        return self._store.closed

    @property
    def lock(self) -> threading.RLock:
        """The lock every call on this handle holds; holding it keeps the handle idle
        (the C ABI holds it across ``fork()`` so no SQLite call is half done in the child)."""
        return self._store.lock

    @property
    def background_lock(self) -> threading.Lock | None:
        """While WAL checkpoints run on a second thread (:meth:`background_checkpoints`),
        the lock it holds while it runs SQL, else None. Read it holding :attr:`lock`;
        holding both keeps every SQLite call of this handle idle (as ``fork()`` needs)."""
        return self._store.background_sql_lock

    def close(self) -> None:
        """Release the writer role (if held), drop the lock file, close the connection."""
        with self._store.lock:
            self._coordination.close()
            self._store.close()

    def __enter__(self) -> SessionDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.read_only else "open")
        return f"<SessionDB {self.path} ({state})>"

    # ------------------------------------------------------------------ projects
    get_or_create_project = _Forward("_projects", Projects.get_or_create_project)
    get_or_create_project_with_encoded = _Forward("_projects", Projects.get_or_create_project_with_encoded)
    list_projects = _Forward("_projects", Projects.list_projects)
    list_projects_with_stats = _Forward("_projects", Projects.list_projects_with_stats)
    get_project = _Forward("_projects", Projects.get_project)
    get_project_by_path = _Forward("_projects", Projects.get_project_by_path)
    get_all_projects_with_source = _Forward("_projects", Projects.get_all_projects_with_source)
    update_sessions_project_id = _Forward("_projects", Projects.update_sessions_project_id)
    delete_project = _Forward("_projects", Projects.delete_project)
    deduplicate_projects = _Forward("_projects", Projects.deduplicate_projects)

    # ------------------------------------------------------------------ sessions
    upsert_session = _Forward("_sessions", Sessions.upsert_session)
    upsert_session_full = _Forward("_sessions", Sessions.upsert_session_full)
    list_sessions = _Forward("_sessions", Sessions.list_sessions)
    list_sessions_by_project_path = _Forward("_sessions", Sessions.list_sessions_by_project_path)
    list_session_overviews = _Forward("_sessions", Sessions.list_session_overviews)
    get_session = _Forward("_sessions", Sessions.get_session)
    get_session_overview = _Forward("_sessions", Sessions.get_session_overview)
    get_session_titles = _Forward("_sessions", Sessions.get_session_titles)
    session_exists = _Forward("_sessions", Sessions.session_exists)
    get_session_message_count = _Forward("_sessions", Sessions.get_session_message_count)
    get_session_latest_timestamp = _Forward("_sessions", Sessions.get_session_latest_timestamp)
    get_sessions = _Forward("_sessions", Sessions.get_sessions)
    resolve_session_id = _Forward("_sessions", Sessions.resolve_session_id)
    search_sessions_by_prefix = _Forward("_sessions", Sessions.search_sessions_by_prefix)
    get_scan_checkpoint = _Forward("_sessions", Sessions.get_scan_checkpoint)
    update_session_last_message = _Forward("_sessions", Sessions.update_session_last_message)
    count_sessions_without_cwd = _Forward("_sessions", Sessions.count_sessions_without_cwd)

    # ------------------------------------------------------------------ messages
    insert_messages = _Forward("_messages", Messages.insert_messages)
    scan_session_incremental = _Forward("_messages", Messages.scan_session_incremental)
    list_messages = _Forward("_messages", Messages.list_messages)
    list_messages_ordered = _Forward("_messages", Messages.list_messages_ordered)
    get_messages = _Forward("_messages", Messages.get_messages)
    get_messages_with_options = _Forward("_messages", Messages.get_messages_with_options)
    get_messages_by_ids = _Forward("_messages", Messages.get_messages_by_ids)
    get_message_by_uuid = _Forward("_messages", Messages.get_message_by_uuid)
    get_message_position = _Forward("_messages", Messages.get_message_position)
    get_unindexed_messages = _Forward("_messages", Messages.get_unindexed_messages)
    count_unindexed_messages = _Forward("_messages", Messages.count_unindexed_messages)
    mark_messages_indexed = _Forward("_messages", Messages.mark_messages_indexed)
    mark_message_index_failed = _Forward("_messages", Messages.mark_message_index_failed)
    mark_messages_index_failed = _Forward("_messages", Messages.mark_messages_index_failed)
    get_failed_indexed_messages = _Forward("_messages", Messages.get_failed_indexed_messages)
    count_failed_indexed_messages = _Forward("_messages", Messages.count_failed_indexed_messages)
    reset_failed_indexed_messages = _Forward("_messages", Messages.reset_failed_indexed_messages)
    get_pending_approvals = _Forward("_messages", Messages.get_pending_approvals)
    count_pending_approvals = _Forward("_messages", Messages.count_pending_approvals)
    update_approval_status = _Forward("_messages", Messages.update_approval_status)
    update_approval_status_by_tool_call_id = _Forward("_messages", Messages.update_approval_status_by_tool_call_id)
    batch_update_approval_status = _Forward("_messages", Messages.batch_update_approval_status)

    # ------------------------------------------------------------------ collected files (sessiondb.collector)
    load_file_states = _Forward("_ingest", Ingest.load_file_states)
    get_file_state = _Forward("_ingest", Ingest.get_file_state)
    ingest_batch = _Forward("_ingest", Ingest.ingest_batch)
    rank_snapshot = _Forward("_ingest", Ingest.rank_snapshot)
    background_checkpoints = _Forward("_ingest", Ingest.background_checkpoints)

    # ------------------------------------------------------------------ tokens and cost
    usage = _Forward("_usage", Usage.usage)

    # ------------------------------------------------------------------ statistics and maintenance
    get_stats = _Forward("_maintenance", Maintenance.get_stats)
    source_counts = _Forward("_maintenance", Maintenance.source_counts)
    last_collection_at = _Forward("_maintenance", Maintenance.last_collection_at)
    cjk_queue_length = _Forward("_maintenance", Maintenance.cjk_queue_length)
    checkpoint = _Forward("_maintenance", Maintenance.checkpoint)
    quick_check = _Forward("_maintenance", Maintenance.quick_check)
    integrity_check = _Forward("_maintenance", Maintenance.integrity_check)
    fts_integrity_check = _Forward("_maintenance", Maintenance.fts_integrity_check)
    rebuild_search_index = _Forward("_maintenance", Maintenance.rebuild_search_index)
    catch_up_search_index = _Forward("_maintenance", Maintenance.catch_up_search_index)

    # ------------------------------------------------------------------ search
    search = _Forward("_search", search_engine.Search.search)
    search_fts = _Forward("_search", search_engine.Search.search_fts)
    search_fts_with_project = _Forward("_search", search_engine.Search.search_fts_with_project)
    search_fts_with_options = _Forward("_search", search_engine.Search.search_fts_with_options)
    search_fts_full = _Forward("_search", search_engine.Search.search_fts_full)

    @property
    def last_search_plans(self) -> tuple[str, ...]:
        """Plans chosen by the last search on this handle, per index (for tests and benchmarks)."""
        return self._search.last_search_plans

    # ------------------------------------------------------------------ writer coordination
    register_writer = _Forward("_coordination", Coordination.register_writer)
    heartbeat = _Forward("_coordination", Coordination.heartbeat)
    release_writer = _Forward("_coordination", Coordination.release_writer)
    check_writer_health = _Forward("_coordination", Coordination.check_writer_health)
    try_takeover = _Forward("_coordination", Coordination.try_takeover)
    current_writer = _Forward("_coordination", Coordination.current_writer)
    observe_writer = _Forward("_coordination", Coordination.observe_writer)
    add_role_listener = _Forward("_coordination", Coordination.add_role_listener)
    remove_role_listener = _Forward("_coordination", Coordination.remove_role_listener)

    @property
    def role(self) -> Role | None:
        """Writer or Reader; None if this handle never registered (see :class:`Coordination`)."""
        return self._fence.role  # what Coordination.role reads, one step shorter (a hot C ABI call)

    @property
    def is_writer(self) -> bool:
        return self._coordination.is_writer

    @property
    def writer_id(self) -> str | None:
        """The id this handle writes under (when Writer) or would claim the row with."""
        return self._coordination.writer_id

    @property
    def writer_priority(self) -> int | None:
        """The priority this handle registered with (None if never registered)."""
        return self._coordination.writer_priority

    @property
    def clock(self) -> Clock:
        """Where coordination reads the time; replace it to simulate clock jumps."""
        return self._coordination.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._coordination.clock = clock

    # ------------------------------------------------------------------ collecting (sessiondb.collector)
    def collect_all(self, sources: Any = None, *, roots: dict[str, Any] | None = None) -> CollectResult:
        """Collect every session file of the sources (all by default), incrementally.

        ``roots`` maps a source name to a root (or list of roots) that replaces its
        default location. See :mod:`sessiondb.collector`.
        """
        from .collector import Collector
        return Collector(self, roots=roots).collect_all(sources)

    def collect_by_path(self, path: str | os.PathLike[str], *,
                        roots: dict[str, Any] | None = None) -> CollectResult:
        """Collect the one session file at ``path`` (what changed, for file events)."""
        from .collector import Collector
        return Collector(self, roots=roots).collect_by_path(path)

    def register_writer_and_collect(self, writer_type: WriterType | str | int) -> tuple[Role, CollectResult | None]:
        """Register as a writer; if this handle became the Writer, collect everything.

        Returns ``(role, result)``; ``result`` is None for a Reader.
        """
        from .coordination.types import Role
        role = self.register_writer(writer_type)
        if role != Role.WRITER:
            return role, None
        return role, self.collect_all()


_FORWARDS = [(name, value) for name, value in vars(SessionDB).items() if isinstance(value, _Forward)]
