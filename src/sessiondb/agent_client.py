"""An in-process stand-in for the upstream library's agent client.

Upstream, host plugins hand file changes and approvals to a separate daemon that owns
every write. Here no daemon is needed: :meth:`AgentClient.connect` makes the host a
participant of the writer coordination, with its loop on background threads.

    client = AgentClient("vlaudekit")          # MemexKit / VlaudeKit / a named writer
    client.connect()                           # returns at once; registers in the background
    client.notify_file_change(path)            # Writer: stored on return; Reader: handed on
    client.write_approve_result("toolu_1", ApprovalStatus.APPROVED, now_ms)
    client.disconnect()                        # releases the writer role at once

While it is the Writer the client collects what it is told at once and drains the
:class:`~sessiondb.handoff.RequestSpool`, where Readers (in any process) leave their
requests, as soon as a Reader's wake-up datagram arrives (else every 50 ms); while it
is a Reader it leaves its own requests there and never writes the database. No call waits on another process: registration, heartbeats and takeover
run on the coordinator's thread, and a call waits at most ``READY_WAIT_S`` for the
first registration round to tell it its role.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .config import DbConfig
from .coordination.loop import Coordinator
from .coordination.types import Role, WriterType
from .db import SessionDB
from .errors import InvalidArgument, NotConnectedError, PermissionDenied, SessionDBError
from .handoff import DRAIN_INTERVAL_S, RequestSpool, WakeSocket
from .models import ApprovalStatus

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import logging

    from .collector import CollectResult

# Components that join as the product's known writer types; any other is a named writer.
KNOWN_COMPONENTS = {"memexkit": WriterType.MEMEX_KIT, "vlaudekit": WriterType.VLAUDE_KIT}
NAMED_WRITER_PRIORITY = 1
DB_FILE = Path("db") / "ai-cli-session.db"
# How long a call waits for the first coordination round before treating itself as a Reader.
READY_WAIT_S = 0.25
# How long disconnect waits for the background thread before leaving the rest to it.
STOP_WAIT_S = 5.0


def _log() -> logging.Logger:
    import logging
    return logging.getLogger("sessiondb.agent_client")


def writer_for(component: str) -> tuple[WriterType | str, int | None]:
    """(writer type or name, priority) a component registers with."""
    if not isinstance(component, str) or not component.strip():
        raise InvalidArgument("component must be a non-empty name")
    known = KNOWN_COMPONENTS.get(component.strip().lower())
    if known is not None:
        return known, None
    return component.strip(), NAMED_WRITER_PRIORITY


def database_config(data_dir: str | os.PathLike[str] | None) -> DbConfig:
    """``<data_dir>/db/ai-cli-session.db``, or the default database when ``data_dir`` is None."""
    if data_dir is None:
        return DbConfig.from_env()
    text = os.fspath(data_dir)
    if not text or "\x00" in text:
        raise InvalidArgument("data_dir must be a non-empty path without NUL characters")
    return DbConfig.local(Path(os.path.expanduser(text)) / DB_FILE)


class AgentClient:
    """One host's participation in writer coordination, collecting what it is told."""

    def __init__(self, component: str, data_dir: str | os.PathLike[str] | None = None, *,
                 config: DbConfig | None = None, drain_interval_s: float = DRAIN_INTERVAL_S) -> None:
        self.component = component
        self._writer, self._priority = writer_for(component)
        self.config = config if config is not None else database_config(data_dir)
        self._drain_interval_s = drain_interval_s
        self._lock = threading.RLock()
        self._session: _Session | None = None

    @property
    def connected(self) -> bool:
        session = self._session
        return session is not None and not session.stopping.is_set()

    @property
    def role(self) -> Role | None:
        """Writer or Reader once the first round ran; None before, and when not connected."""
        session = self._session
        return None if session is None or session.db.closed else session.db.role

    @property
    def db(self) -> SessionDB:
        return self._current().db

    def connect(self) -> None:
        """Open the database and start coordinating (a no-op when connected)."""
        with self._lock:
            if self.connected:
                return
            db = SessionDB.connect(self.config)
            try:
                session = _Session(db, self._writer, self._priority, self._drain_interval_s)
                session.start()
            except BaseException:
                db.close()
                raise
            self._session = session

    def disconnect(self) -> None:
        """Leave coordination (a Writer releases the role) and close the database."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.stop()

    close = disconnect

    def wait_until_ready(self, timeout: float = READY_WAIT_S) -> Role | None:
        """Wait up to ``timeout`` for the first coordination round; the role then."""
        session = self._current()
        session.ready.wait(timeout)
        return session.db.role

    def notify_file_change(self, path: str | os.PathLike[str]) -> CollectResult | None:
        """Get the session file at ``path`` collected.

        As Writer: collected now; returns the :class:`~sessiondb.collector.CollectResult`.
        Otherwise the request goes to the Writer through the spool; returns None.
        """
        session = self._current()
        text = os.fspath(path)
        if not isinstance(text, str) or not text or "\x00" in text:
            raise InvalidArgument("path must be a non-empty path without NUL characters")
        absolute = os.path.abspath(os.path.expanduser(text))
        session.ready.wait(READY_WAIT_S)
        if session.db.is_writer:
            try:
                return session.db.collect_by_path(absolute)
            except PermissionDenied:
                pass            # demoted just now: the new Writer gets it through the spool
        session.spool.submit_collect(absolute)
        return None

    def write_approve_result(self, tool_call_id: str, status: ApprovalStatus | str, resolved_at: int) -> int | None:
        """Record an approval: at once as Writer (returns the messages updated), else through the Writer.

        An approval whose tool call is not stored yet waits in the spool until it is.
        """
        session = self._current()
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise InvalidArgument("tool_call_id must be a non-empty string")
        status = ApprovalStatus(status)
        if isinstance(resolved_at, bool) or not isinstance(resolved_at, int):
            raise InvalidArgument("resolved_at must be an integer (ms)")
        session.ready.wait(READY_WAIT_S)
        if session.db.is_writer:
            try:
                updated = session.db.update_approval_status_by_tool_call_id(tool_call_id, status, resolved_at)
            except PermissionDenied:
                updated = 0
            if updated:
                return updated
        session.spool.submit_approval(tool_call_id, status, resolved_at)
        return None

    def _current(self) -> "_Session":
        session = self._session
        if session is None or session.stopping.is_set():
            raise NotConnectedError(f"agent client {self.component!r} is not connected")
        return session

    def __enter__(self) -> "AgentClient":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()


class _Session:
    """One connection: the database, its coordinator and the thread that drains the spool."""

    def __init__(self, db: SessionDB, writer: WriterType | str, priority: int | None, drain_interval_s: float) -> None:
        self.db = db
        self.spool = RequestSpool(db.path)
        self.listener = WakeSocket(self.spool)
        self.ready = threading.Event()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._drain_interval_s = drain_interval_s
        self.coordinator = Coordinator(db, writer, priority=priority, on_role_change=self._role_changed)
        self._thread = threading.Thread(target=self._run, name="sessiondb-agent-client", daemon=True)
        self._closed = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def wake_loop(self) -> None:
        """End the loop's wait, whether it waits on the event (Reader) or the socket (Writer)."""
        self.wake.set()
        self.spool.wake_writer()

    def stop(self) -> None:
        self.stopping.set()
        self.wake_loop()
        if self._thread is not threading.current_thread():
            self._thread.join(STOP_WAIT_S)   # if it is still busy, it closes the database itself

    def _role_changed(self, role: Role) -> None:
        self.wake_loop()

    def _run(self) -> None:
        try:
            self._register()
            while not self.stopping.is_set():
                if self.db.is_writer:
                    self.listener.listen()       # Readers' wake-ups end the wait at once
                    self._drain()
                    self.listener.wait(self._drain_interval_s)
                else:
                    self.listener.close()
                    self.wake.wait(self._drain_interval_s)
                    self.wake.clear()
        except Exception:
            _log().exception("agent client loop failed")
        finally:
            self.listener.close()
            self._shutdown()

    def _register(self) -> None:
        """The first round (retried until it works or the client stops); then the loop's thread."""
        while not self.stopping.is_set():
            try:
                self.coordinator.start()
                return
            except SessionDBError as exc:
                _log().warning("joining writer coordination failed, retrying: %s", exc)
                self.stopping.wait(0.2)
            finally:
                self.ready.set()

    def _drain(self) -> None:
        try:
            result = self.spool.drain(self.db)
        except SessionDBError as exc:
            _log().warning("draining the request spool failed: %s", exc)
            return
        for error in result.errors:
            _log().warning("request not carried out: %s", error)

    def _shutdown(self) -> None:
        try:
            self.coordinator.stop(release=True)
        except SessionDBError as exc:
            _log().warning("releasing the writer role failed: %s", exc)
        finally:
            self.db.close()
            self.ready.set()


__all__ = ["AgentClient", "KNOWN_COMPONENTS", "database_config", "writer_for"]
