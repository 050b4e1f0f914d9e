"""The coordination loop for long-running programs.

    coordinator = Coordinator(db, WriterType.MEMEX_DAEMON, on_role_change=print)
    coordinator.start()          # registers now, then runs in a background thread
    ...                          # write while coordinator.role is Role.WRITER
    coordinator.stop()           # stops the thread and releases the writer role

While Writer it heartbeats every ``heartbeat_interval_ms``. While Reader it runs a
health check every ``heartbeat_interval_ms`` (and one right when the writer's heartbeat
would turn stale, so ``confirm_count`` checks end ``timeout_ms + (confirm_count - 1) *
heartbeat_interval_ms`` after it last saw the heartbeat change) and takes over when the
protocol allows. Between rounds it looks at the registry and the writer's lock file
every ``poll_interval_ms``: a crashed writer (free lock file), a released row or a
lower-priority writer is acted on at once, which is what makes failover after a crash
take milliseconds rather than a heartbeat timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .. import _startup
from ..errors import InvalidArgument, PermissionDenied, SessionDBError
from .lock_files import LockState
from .types import Role, WriterHealth, WriterType, resolve_writer

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import logging
    from typing import Protocol

    from ..config import DbConfig
    from .registry import Observation
    from .types import Clock

    class CoordinatedHandle(Protocol):
        """What the loop drives: a ``SessionDB`` (its coordination part)."""

        @property
        def role(self) -> Role | None: ...
        @property
        def closed(self) -> bool: ...
        @property
        def config(self) -> DbConfig: ...
        @property
        def clock(self) -> Clock: ...
        def register_writer(self, writer_type: WriterType | str | int, *, priority: int | None = None) -> Role: ...
        def heartbeat(self) -> None: ...
        def release_writer(self) -> None: ...
        def try_takeover(self) -> bool: ...
        def observe_writer(self, *, count: bool) -> Observation: ...
        def add_role_listener(self, listener: Callable[[Role], None]) -> None: ...
        def remove_role_listener(self, listener: Callable[[Role], None]) -> None: ...


def _log() -> logging.Logger:
    return _startup.log("sessiondb.coordination")


DEFAULT_POLL_INTERVAL_MS = 200


class Coordinator:
    """Keeps one handle's writer role up to date; reports role changes to a callback.

    ``on_role_change(role)`` is called with the new :class:`Role` from the thread that
    noticed the change (the loop's thread, or the caller of :meth:`step`, :meth:`start`
    or :meth:`stop`). A write refused by the fence wakes the loop, so demotion is
    reported at once.
    """

    def __init__(self, db: CoordinatedHandle, writer_type: WriterType | str | int, *, priority: int | None = None,
                 on_role_change: Callable[[Role], None] | None = None,
                 poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS) -> None:
        self._name, self._priority = resolve_writer(writer_type, priority)
        if not isinstance(poll_interval_ms, int) or isinstance(poll_interval_ms, bool) or poll_interval_ms <= 0:
            raise InvalidArgument(f"poll_interval_ms must be a positive integer, not {poll_interval_ms!r}")
        if on_role_change is not None and not callable(on_role_change):
            raise InvalidArgument("on_role_change must be callable")
        self.db = db
        self._on_role_change = on_role_change
        self._poll_seconds = poll_interval_ms / 1000
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._step_lock = threading.RLock()
        self._report_lock = threading.Lock()
        self._registered = False
        self._reported: Role | None = None
        self._last_seen_stale_at: int | None = None
        self.last_error: SessionDBError | None = None

    @property
    def role(self) -> Role | None:
        """The handle's role (None before the first step)."""
        return self.db.role

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ one round
    def step(self) -> Role:
        """One round: register (first time), else heartbeat as Writer, else check and take over."""
        with self._step_lock:
            db = self.db
            if not self._registered or db.role is None:
                db.register_writer(self._name, priority=self._priority)
                self._registered = True
            elif db.role is Role.WRITER:
                try:
                    db.heartbeat()
                except PermissionDenied:
                    pass   # preempted: the handle is a Reader now
            else:
                seen = db.observe_writer(count=True)
                if seen.health is not WriterHealth.ALIVE or seen.preemptable:
                    db.try_takeover()
            role = db.role
        self._report()
        assert role is not None
        return role

    # ------------------------------------------------------------------ the loop
    def start(self) -> Role:
        """Register now (errors are raised here), then keep coordinating in a thread."""
        if self.running:
            role = self.db.role
            assert role is not None
            return role
        self._stop.clear()
        self.db.add_role_listener(self._on_db_role)
        try:
            role = self.step()
        except BaseException:
            self.db.remove_role_listener(self._on_db_role)
            raise
        self._thread = threading.Thread(target=self._run, name="sessiondb-coordinator", daemon=True)
        self._thread.start()
        return role

    def stop(self, release: bool = True) -> None:
        """Stop the loop; with ``release`` give up the writer role so a reader takes over at once."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.db.remove_role_listener(self._on_db_role)
        try:
            if release and not self.db.closed:
                with self._step_lock:
                    self.db.release_writer()
        finally:
            self._report()

    def __enter__(self) -> "Coordinator":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        interval = self.db.config.coordination.heartbeat_interval_ms
        retry = min(interval, int(self._poll_seconds * 1000))
        clock = self.db.clock
        last_round = clock.monotonic_ms()
        next_round = last_round + interval
        while not self._stop.is_set():
            # Sleep one poll, or less when a round is due sooner.
            until_round = (next_round - clock.monotonic_ms()) / 1000
            self._wake.wait(max(0.0, min(self._poll_seconds, until_round)))
            self._wake.clear()
            if self._stop.is_set() or self.db.closed:
                break
            now = clock.monotonic_ms()
            try:
                if now >= next_round:
                    last_round, next_round = now, now + interval
                    self.step()
                elif self._act_now():
                    last_round, next_round = now, now + interval
                else:
                    next_round = self._confirm_from(self._last_seen_stale_at, last_round, next_round)
                self.last_error = None
            except SessionDBError as exc:
                # Locked past the busy timeout, closed under us, ...: try again shortly.
                next_round = min(next_round, now + retry)
                self.last_error = exc
                _log().warning("writer coordination round failed: %s", exc)
            except Exception:
                next_round = min(next_round, now + retry)
                _log().exception("writer coordination round failed")
            self._report()

    def _act_now(self) -> bool:
        """A cheap look between rounds; runs a round at once when there is no reason to wait."""
        with self._step_lock:
            seen = self.db.observe_writer(count=False)
            self._last_seen_stale_at = seen.stale_at
            if self.db.role is Role.WRITER:
                return False
            if seen.health is WriterHealth.RELEASED or seen.lock_state is LockState.FREE or seen.preemptable:
                self.step()
                return True
        return False

    @staticmethod
    def _confirm_from(stale_at: int | None, last_round: int, next_round: int) -> int:
        """The first confirming check belongs right where the heartbeat turns stale."""
        if stale_at is not None and last_round < stale_at + 1 < next_round:
            return stale_at + 1   # possibly already past: the loop then runs it at once
        return next_round

    def _on_db_role(self, role: Role) -> None:
        self._wake.set()

    def _report(self) -> None:
        role = self.db.role
        with self._report_lock:
            if role is None or role is self._reported:
                return
            self._reported = role
        if self._on_role_change is not None:
            try:
                self._on_role_change(role)
            except Exception:
                _log().exception("on_role_change callback failed")
