"""Writer coordination: many programs share the database, exactly one of them writes.

The protocol, in the ``writer_registry`` row the original library defined (one row,
``id = 1``: writer_type, writer_id UUID, priority, heartbeat ms, registered_at ms), so
a program using the original Rust library and one using this one coordinate through
the same row:

* **Registering** claims the row when it is empty, when this handle has a strictly
  higher priority than the current writer (preemption), or when the current writer is
  gone. Equal priority is first come, first served.
* **Fencing.** Every write transaction (``DatabaseCore._write``) starts with
  ``BEGIN IMMEDIATE`` and then checks, inside the transaction, that the row still
  names this handle's writer id. If not, nothing is written, the handle becomes a
  Reader and the call raises :class:`PermissionDenied`. A batch is therefore committed
  wholly before a takeover or not at all; a preempted or paused writer cannot commit a
  single row afterwards.
* **Crash detection.** Each registered handle holds an exclusive ``flock`` on its own
  lock file (:mod:`sessiondb.coordination.lock_files`). A reader that can take the current
  writer's lock has proof that the writer process is gone and takes over at once.
* **Heartbeat rule** (a writer without a lock file, such as the original library, or
  a writer that is alive but stuck). The reader measures on its own monotonic clock
  how long the row's heartbeat value has not changed; once that exceeds
  ``timeout_ms`` on ``confirm_count`` consecutive health checks, it takes over. Wall
  clock jumps therefore neither kill a live writer nor keep a dead one alive.
* **Takeover** is a compare-and-swap on the exact row observed (writer_id and
  heartbeat), inside ``BEGIN IMMEDIATE``, so racing readers cannot both win.
* **Release** deletes the row and the lock file, so the next reader takes over at once.

:class:`Coordinator` runs the loop for long-running programs.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only; importing typing would slow the C ABI's first call
    from typing import Any

import apsw

from . import lock_files as writer_lock
from ..config import DbConfig
from ..store.connection import sqlite_errors, translate
from ..errors import CoordinationError, InvalidArgument, PermissionDenied, ReadOnlyError, SessionDBError
from ..store.core import DatabaseCore
from .lock_files import LockState, OwnLock



def _log():
    """The logger, imported on first use (logging costs milliseconds at import)."""
    import logging
    return logging.getLogger("sessiondb.coordination")

_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_MAX_WRITER_NAME = 64


class WriterType(str, enum.Enum):
    """The writers the product knows, stored by name in ``writer_registry.writer_type``."""

    MEMEX_DAEMON = "memex_daemon"
    VLAUDE_DAEMON = "vlaude_daemon"
    MEMEX_KIT = "memex_kit"
    VLAUDE_KIT = "vlaude_kit"

    @property
    def code(self) -> int:
        """The C ABI integer: 0 MemexDaemon, 1 VlaudeDaemon, 2 MemexKit, 3 VlaudeKit."""
        return _WRITER_CODES[self]

    @property
    def priority(self) -> int:
        """Product contract: the Kits 2, the daemons 1 (higher preempts)."""
        return _WRITER_PRIORITIES[self]

    @classmethod
    def from_code(cls, code: int) -> "WriterType":
        for member, value in _WRITER_CODES.items():
            if value == code and not isinstance(code, bool):
                return member
        raise InvalidArgument(f"unknown writer type code {code!r} (known: 0 memex_daemon, 1 vlaude_daemon, "
                              "2 memex_kit, 3 vlaude_kit)")

    @classmethod
    def from_name(cls, name: str) -> "WriterType | None":
        """The known type called ``name`` (``memex_kit``, ``MemexKit``, ...), else None."""
        key = name.strip().replace("_", "").lower()
        return next((member for member in cls if member.value.replace("_", "") == key), None)

    def __str__(self) -> str:
        return self.value


_WRITER_CODES = {WriterType.MEMEX_DAEMON: 0, WriterType.VLAUDE_DAEMON: 1, WriterType.MEMEX_KIT: 2,
                 WriterType.VLAUDE_KIT: 3}
_WRITER_PRIORITIES = {WriterType.MEMEX_DAEMON: 1, WriterType.VLAUDE_DAEMON: 1, WriterType.MEMEX_KIT: 2,
                      WriterType.VLAUDE_KIT: 2}


class Role(enum.IntEnum):
    """A registered handle's role; the C ABI's 0 Writer, 1 Reader."""

    WRITER = 0
    READER = 1


class WriterHealth(enum.IntEnum):
    """The current writer as a reader sees it; the C ABI's 0 Alive, 1 Timeout, 2 Released."""

    ALIVE = 0
    TIMEOUT = 1
    RELEASED = 2


@dataclass(frozen=True)
class WriterInfo:
    """The ``writer_registry`` row: who writes, since when, last heartbeat (ms wall clock)."""

    writer_type: str
    writer_id: str
    priority: int
    heartbeat: int
    registered_at: int


class Clock:
    """Where coordination reads the time; replace ``SessionDB.clock`` to simulate jumps.

    The wall clock only stamps the row (heartbeat, registered_at, as the original did);
    every decision about staleness uses the monotonic clock.
    """

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000


def resolve_writer(writer_type: WriterType | str | int, priority: int | None = None) -> tuple[str, int]:
    """The (name, priority) a registration stores. Raises InvalidArgument for bad input.

    A :class:`WriterType` (or its C ABI code, or its name) brings its own priority; any
    other string is a named writer, which must say its priority.
    """
    if isinstance(writer_type, WriterType):
        known: WriterType | None = writer_type
    elif isinstance(writer_type, int) and not isinstance(writer_type, bool):
        known = WriterType.from_code(writer_type)
    elif isinstance(writer_type, str):
        _check_writer_name(writer_type)
        known = WriterType.from_name(writer_type)
    else:
        raise InvalidArgument(f"writer type must be a WriterType or a name, not {type(writer_type).__name__}")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)
                                 or not _INT64_MIN <= priority <= _INT64_MAX):
        raise InvalidArgument(f"priority must be a 64-bit integer, not {priority!r}")
    if known is not None:
        return known.value, known.priority if priority is None else priority
    if priority is None:
        raise InvalidArgument(f"unknown writer type {writer_type!r}: a named writer needs a priority "
                              "(register_writer(name, priority=...))")
    return writer_type, priority


def _check_writer_name(name: str) -> None:
    if not name.strip():
        raise InvalidArgument("writer name is empty")
    if len(name) > _MAX_WRITER_NAME:
        raise InvalidArgument(f"writer name is longer than {_MAX_WRITER_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidArgument("writer name contains control characters")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise InvalidArgument("writer name is not valid Unicode")


def _as_int(value: Any) -> int:
    """A registry value as an integer; rows from other programs may hold anything."""
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


# The internal records below are named tuples, not dataclasses: creating a dataclass
# costs about half a millisecond at import, which the C ABI's first call pays.
class _RegistryRow(namedtuple("_RegistryRow", "writer_type writer_id priority raw_heartbeat registered_at")):
    """The row as stored (raw heartbeat kept for the compare-and-swap)."""

    __slots__ = ()

    @property
    def key(self) -> tuple[str, Any]:
        """What changes when the writer is alive: its id and its heartbeat."""
        return self.writer_id, self.raw_heartbeat

    def info(self) -> WriterInfo:
        return WriterInfo(self.writer_type, self.writer_id, self.priority, _as_int(self.raw_heartbeat),
                          self.registered_at)

    def describe(self) -> str:
        return f"{self.writer_type} (writer id {self.writer_id}, priority {self.priority})"


_SELECT_ROW = "SELECT writer_type, writer_id, priority, heartbeat, registered_at FROM writer_registry WHERE id = 1"


def _registry_row(conn: apsw.Connection) -> _RegistryRow | None:
    row = conn.execute(_SELECT_ROW).fetchone()
    if row is None:
        return None
    return _RegistryRow(str(row[0]), str(row[1]), _as_int(row[2]), row[3], _as_int(row[4]))


class _WriterWatch:
    """A reader's memory of the current writer's row, on the reader's monotonic clock."""

    __slots__ = ("key", "changed_at", "stale_checks")

    def __init__(self) -> None:
        self.key: tuple[str, Any] | None = None
        self.changed_at = 0        # monotonic ms when this reader first saw ``key``
        self.stale_checks = 0      # consecutive health checks that found it stale

    def see(self, key: tuple[str, Any], now: int) -> None:
        if key != self.key:
            self.key, self.changed_at, self.stale_checks = key, now, 0

    def clear(self) -> None:
        self.key, self.changed_at, self.stale_checks = None, 0, 0

    def stale(self, now: int, timeout_ms: int) -> bool:
        return self.key is not None and now - self.changed_at > timeout_ms


class Observation(namedtuple("Observation", "health writer lock_state stale_at preemptable")):
    """One look at the current writer (what :class:`Coordinator` decides from).

    ``health``: WriterHealth; ``writer``: WriterInfo or None; ``lock_state``: LockState
    or None (no row, or the row is this handle's); ``stale_at``: monotonic ms at which
    the row counts as stale, or None; ``preemptable``: this handle's priority is higher
    than the writer's.
    """

    __slots__ = ()


class CoordinationMixin(DatabaseCore):
    """``SessionDB``'s writer coordination (register, heartbeat, release, health, takeover)."""

    def __init__(self, config: DbConfig) -> None:
        self.clock: Clock = Clock()
        self._role: Role | None = None
        self._writer_name: str | None = None
        self._writer_priority: int | None = None
        self._own_lock: OwnLock | None = None
        self._watch = _WriterWatch()
        self._role_listeners: list[Callable[[Role], None]] = []
        super().__init__(config)

    # ------------------------------------------------------------------ state
    @property
    def role(self) -> Role | None:
        """Writer or Reader; None if this handle never registered.

        The role is what this handle last learned; the fence in every write transaction
        is the authority, and demotes the handle the moment it finds another writer.
        """
        return self._role

    @property
    def is_writer(self) -> bool:
        return self._role is Role.WRITER

    @property
    def writer_id(self) -> str | None:
        """The id this handle writes under (when Writer) or would claim the row with."""
        return self._own_lock.writer_id if self._own_lock is not None else None

    @property
    def writer_priority(self) -> int | None:
        """The priority this handle registered with (None if never registered)."""
        return self._writer_priority

    def current_writer(self) -> WriterInfo | None:
        """The registered writer (any program's), or None when nobody is registered."""
        with self._lock, sqlite_errors("cannot read the writer registry"):
            row = _registry_row(self._connection())
        return row.info() if row is not None else None

    # ------------------------------------------------------------------ protocol
    def register_writer(self, writer_type: WriterType | str | int, *, priority: int | None = None) -> Role:
        """Register as a participant and claim the writer role if the protocol allows.

        Returns Writer when this handle now owns the row: it was empty, this handle's
        priority is strictly higher than the current writer's, or the current writer is
        gone (its lock file is free, or its heartbeat stood still past the timeout on
        enough consecutive checks). Otherwise Reader. Registering again on a Writer
        handle keeps the role (and updates its type and priority).
        """
        name, prio = resolve_writer(writer_type, priority)
        with self._lock:
            self._require_writable("register as a writer")
            first = self._role is None
            try:
                self._claim(name, prio)
            except BaseException:
                if first and self._role is None and self._own_lock is not None:
                    self._own_lock.release()
                    self._own_lock = None
                raise
            if first:
                self._sweep_stale_locks()
            assert self._role is not None
            return self._role

    def heartbeat(self) -> None:
        """Refresh the writer's heartbeat; proves this handle still owns the row.

        Raises CoordinationError if the handle never registered, PermissionDenied if it
        is a Reader or has just been preempted (it then becomes a Reader), DatabaseError
        if the database stays locked past the busy timeout (the role is unchanged).
        """
        with self._lock:
            if self._role is None:
                raise CoordinationError("heartbeat: this handle never registered as a writer; "
                                        "call register_writer first")
            own = self._own_lock
            if self._role is not Role.WRITER or own is None:
                raise PermissionDenied(f"heartbeat: this handle is a Reader; {self._who_writes()}")
            with self._coordination_txn("cannot write the heartbeat") as conn:
                conn.execute("UPDATE writer_registry SET heartbeat = MAX(?, heartbeat + 1) "
                             "WHERE id = 1 AND writer_id = ?", (self.clock.wall_ms(), own.writer_id))
                owned = conn.changes() == 1
                holder = None if owned else _registry_row(conn)
            if not owned:
                self._demote()
                raise PermissionDenied(f"heartbeat: the writer role was taken over by "
                                       f"{holder.describe() if holder else 'nobody (the row was removed)'}; "
                                       "this handle is now a Reader")

    def release_writer(self) -> None:
        """Give up the writer role: delete the row (if it is this handle's) and the lock file.

        The next reader takes over at once. The handle stays registered as a Reader and
        may claim the role again with :meth:`try_takeover`. A no-op if never registered.
        """
        with self._lock:
            if self._role is None:
                return
            own = self._own_lock
            if own is not None:
                if self._role is Role.WRITER or self._row_names(own.writer_id):
                    with self._coordination_txn("cannot release the writer role") as conn:
                        conn.execute("DELETE FROM writer_registry WHERE id = 1 AND writer_id = ?",
                                     (own.writer_id,))
                own.release()
                self._own_lock = None
            self._watch.clear()
            self._set_role(Role.READER)

    def check_writer_health(self) -> WriterHealth:
        """Look at the current writer: Alive, Timeout (gone or stale) or Released (none).

        Timeout means the writer's lock file is free (the process is gone) or its
        heartbeat has not changed for longer than ``timeout_ms`` on this reader's
        monotonic clock; each such check counts toward ``confirm_count``. A Writer
        handle that finds another writer in the row becomes a Reader here.
        """
        return self._observe_writer(count=True).health

    def try_takeover(self) -> bool:
        """Claim the writer role if the protocol allows; True when this handle is Writer.

        Allowed at once when the registry is empty or the writer's lock file is free;
        when this handle's priority is higher than the writer's (as register_writer);
        and for a writer without a usable lock file once :meth:`check_writer_health` has
        reported Timeout ``confirm_count`` consecutive times. Equal or lower priority
        never displaces a live writer.
        """
        with self._lock:
            if self._role is None or self._writer_name is None or self._writer_priority is None:
                raise CoordinationError("try_takeover: this handle never registered as a writer; "
                                        "call register_writer first")
            self._require_writable("take over the writer role")
            return self._claim(self._writer_name, self._writer_priority)

    # ------------------------------------------------------------------ internals
    def _claim(self, name: str, priority: int) -> bool:
        """One claim attempt in ``BEGIN IMMEDIATE``; sets the role and returns True on success."""
        own = self._own_lock
        if own is None or not own.held:
            own = self._own_lock = OwnLock.create(self.path)
        now = self.clock.monotonic_ms()
        wall = self.clock.wall_ms()
        settings = self._config.coordination
        dead_lock: writer_lock.ProbedLock | None = None
        won = False   # set only once the claim has committed
        try:
            with self._coordination_txn("cannot claim the writer role") as conn:
                row = _registry_row(conn)
                if row is None:
                    conn.execute("INSERT INTO writer_registry(id, writer_type, writer_id, priority, heartbeat, "
                                 "registered_at) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                                 (name, own.writer_id, priority, wall, wall))
                    claimed = conn.changes() == 1
                elif row.writer_id == own.writer_id:
                    # Registering again keeps the role (the original demoted itself here).
                    conn.execute("UPDATE writer_registry SET writer_type = ?, priority = ?, "
                                 "heartbeat = MAX(?, heartbeat + 1) WHERE id = 1 AND writer_id = ?",
                                 (name, priority, wall, own.writer_id))
                    claimed = conn.changes() == 1
                else:
                    self._watch.see(row.key, now)
                    claimed = False
                    allowed = priority > row.priority
                    if not allowed:
                        state, dead_lock = writer_lock.probe(self.path, row.writer_id)
                        allowed = state is LockState.FREE or (
                            self._watch.stale(now, settings.timeout_ms)
                            and self._watch.stale_checks >= settings.confirm_count)
                    if allowed:
                        # Compare-and-swap on the exact row observed.
                        conn.execute("UPDATE writer_registry SET writer_type = ?, writer_id = ?, priority = ?, "
                                     "heartbeat = ?, registered_at = ? "
                                     "WHERE id = 1 AND writer_id = ? AND heartbeat IS ?",
                                     (name, own.writer_id, priority, wall, wall, row.writer_id,
                                      row.raw_heartbeat))
                        claimed = conn.changes() == 1
            won = claimed
        finally:
            if dead_lock is not None:
                # Its owner is gone: once the row is ours, clean up what it left. If the
                # claim failed, leave the file as the proof other readers act on.
                if won:
                    dead_lock.remove()
                else:
                    dead_lock.close()
        self._writer_name, self._writer_priority = name, priority
        if won:
            self._watch.clear()
            self._set_role(Role.WRITER)
        elif self._role is Role.WRITER:
            self._demote()   # another writer holds the row: this handle had lost it
        else:
            self._set_role(Role.READER)
        return won

    def _observe_writer(self, *, count: bool) -> Observation:
        """Look at the row and the writer's lock; ``count`` makes it a confirming health check."""
        with self._lock:
            with sqlite_errors("cannot read the writer registry"):
                row = _registry_row(self._connection())
            now = self.clock.monotonic_ms()
            own_id = self._own_lock.writer_id if self._own_lock is not None else None
            if row is None:
                self._watch.clear()
                if self._role is Role.WRITER:
                    self._demote()
                return Observation(WriterHealth.RELEASED, None, None, None, False)
            if own_id is not None and row.writer_id == own_id:
                return Observation(WriterHealth.ALIVE, row.info(), None, None, False)
            if self._role is Role.WRITER:
                self._demote()
            self._watch.see(row.key, now)
            state, taken = writer_lock.probe(self.path, row.writer_id)
            if taken is not None:
                taken.close()   # the takeover probes again inside its transaction
            timeout = self._config.coordination.timeout_ms
            stale = self._watch.stale(now, timeout)
            if count:
                self._watch.stale_checks = self._watch.stale_checks + 1 if stale else 0
            elif not stale:
                self._watch.stale_checks = 0
            health = WriterHealth.TIMEOUT if stale or state is LockState.FREE else WriterHealth.ALIVE
            preemptable = self._writer_priority is not None and self._writer_priority > row.priority
            return Observation(health, row.info(), state, self._watch.changed_at + timeout, preemptable)

    @contextlib.contextmanager
    def _coordination_txn(self, context: str) -> Iterator[apsw.Connection]:
        """``BEGIN IMMEDIATE`` for registry changes (joins a write already open on this thread)."""
        with self._lock:
            conn = self._connection()
            if self._write_depth:
                yield conn
                return
            with sqlite_errors(context):
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(apsw.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, apsw.Error):
                    raise translate(exc, context) from exc
                raise

    def _fence(self, conn: apsw.Connection) -> None:
        """Inside every write transaction: does this handle still own the writer row?"""
        if self._role is None:
            super()._fence(conn)
            return
        row = _registry_row(conn)
        own = self._own_lock
        if row is not None and own is not None and row.writer_id == own.writer_id:
            if self._role is not Role.WRITER:
                self._set_role(Role.WRITER)
            return
        if self._role is Role.WRITER:
            self._demote()
            raise PermissionDenied("write refused: this handle lost the writer role to "
                                   f"{row.describe() if row else 'nobody (the row was removed)'}; "
                                   "nothing was written and the handle is now a Reader")
        raise PermissionDenied(f"write refused: this handle is a Reader; {self._who_writes(row)}")

    def _who_writes(self, row: _RegistryRow | None = None) -> str:
        if row is None:
            with contextlib.suppress(SessionDBError, apsw.Error):
                row = _registry_row(self._connection())
        if row is None:
            return "no writer is registered (call try_takeover to claim the role)"
        return f"the writer is {row.describe()}"

    def _row_names(self, writer_id: str) -> bool:
        """Does the registry row name ``writer_id``? (A plain read: no write lock.)"""
        with self._lock, sqlite_errors("cannot read the writer registry"):
            row = _registry_row(self._connection())
        return row is not None and row.writer_id == writer_id

    def _sweep_stale_locks(self) -> None:
        """Remove lock files left by crashed participants (never the registered writer's)."""
        try:
            with self._lock, sqlite_errors("cannot read the writer registry"):
                row = _registry_row(self._connection())
            writer_lock.sweep_stale(self.path, keep=[row.writer_id] if row is not None else [])
        except (SessionDBError, OSError) as exc:
            _log().warning("could not sweep stale writer lock files: %s", exc)

    def _require_writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"cannot {action}: {self.path} was opened read-only")

    def _demote(self) -> None:
        """This handle lost the row: Reader, with a fresh id for its next claim."""
        old = self._own_lock
        self._own_lock = None
        if old is not None:
            old.release()
        self._watch.clear()
        try:
            self._own_lock = OwnLock.create(self.path)
        except CoordinationError as exc:
            _log().warning("no lock file for the next claim yet: %s", exc)
        self._set_role(Role.READER)

    def _set_role(self, role: Role) -> None:
        if role is self._role:
            return
        self._role = role
        for listener in list(self._role_listeners):
            try:
                listener(role)
            except Exception:  # a listener must never break the protocol
                _log().exception("role listener failed")

    def _add_role_listener(self, listener: Callable[[Role], None]) -> None:
        self._role_listeners.append(listener)

    def _remove_role_listener(self, listener: Callable[[Role], None]) -> None:
        with contextlib.suppress(ValueError):
            self._role_listeners.remove(listener)

    def close(self) -> None:
        """Release the writer role (if held), drop the lock file, close the connection."""
        with self._lock:
            if not self.closed and self._role is not None:
                try:
                    self.release_writer()
                except SessionDBError as exc:
                    _log().warning("closing without releasing the writer row: %s", exc)
            own, self._own_lock = self._own_lock, None
            if own is not None:
                # The row may still name us: leave the file unlocked so readers see at
                # once that its owner is gone.
                own.abandon()
            super().close()
