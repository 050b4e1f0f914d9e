"""Writer coordination: many programs share the database, exactly one of them writes.

The protocol, in the ``writer_registry`` row the original library defined (one row,
``id = 1``: writer_type, writer_id UUID, priority, heartbeat ms, registered_at ms), so
a program using the original Rust library and one using this one coordinate through
the same row:

* **Registering** claims the row when it is empty, when this handle has a strictly
  higher priority than the current writer (preemption), or when the current writer is
  gone. Equal priority is first come, first served.
* **Fencing.** Every write transaction (``Store.write``) starts with
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

:class:`Coordination` is the protocol of one handle (``SessionDB`` forwards to it);
:class:`~sessiondb.coordination.loop.Coordinator` runs the loop for long-running programs.
"""


from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from ..store.core import Store

from .. import _startup
from ..errors import CoordinationError, PermissionDenied, ReadOnlyError, SessionDBError
from . import lock_files
from .fence import WriterFence, who_writes
from .lock_files import LockState, OwnLock
from .registry import Observation, registry_row
from .types import Clock, Role, WriterHealth, WriterInfo, WriterType, resolve_writer


def _log() -> logging.Logger:
    return _startup.log("sessiondb.coordination")


class Coordination:
    """Register, heartbeat, release, health and takeover for one handle.

    It writes the registry row through the store's unfenced transaction (registry
    changes decide the fence, so the fence cannot guard them) and keeps the handle's
    role in the :class:`WriterFence` that guards every other write.
    """

    def __init__(self, store: Store, fence: WriterFence) -> None:
        self._store = store
        self._fence = fence
        self.clock: Clock = Clock()
        self._writer_name: str | None = None
        self._writer_priority: int | None = None

    # ------------------------------------------------------------------ state
    @property
    def role(self) -> Role | None:
        """Writer or Reader; None if this handle never registered.

        The role is what this handle last learned; the fence in every write transaction
        is the authority, and demotes the handle the moment it finds another writer.
        """
        return self._fence.role

    @property
    def is_writer(self) -> bool:
        return self._fence.role is Role.WRITER

    @property
    def writer_id(self) -> str | None:
        """The id this handle writes under (when Writer) or would claim the row with."""
        return self._fence.writer_id

    @property
    def writer_priority(self) -> int | None:
        """The priority this handle registered with (None if never registered)."""
        return self._writer_priority

    def current_writer(self) -> WriterInfo | None:
        """The registered writer (any program's), or None when nobody is registered."""
        row = self._store.with_connection(registry_row, "cannot read the writer registry")
        return row.info() if row is not None else None

    def add_role_listener(self, listener: Callable[[Role], None]) -> None:
        """Call ``listener(role)`` whenever this handle's role changes (from the thread that saw it)."""
        self._fence.add_listener(listener)

    def remove_role_listener(self, listener: Callable[[Role], None]) -> None:
        self._fence.remove_listener(listener)

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
        fence = self._fence
        with self._store.lock:
            self._require_writable("register as a writer")
            first = fence.role is None
            try:
                self._claim(name, prio)
            except BaseException:
                if first and fence.role is None and fence.own_lock is not None:
                    fence.own_lock.release()
                    fence.own_lock = None
                raise
            if first:
                self._sweep_stale_locks()
            assert fence.role is not None
            return fence.role

    def heartbeat(self) -> None:
        """Refresh the writer's heartbeat; proves this handle still owns the row.

        Raises CoordinationError if the handle never registered, PermissionDenied if it
        is a Reader or has just been preempted (it then becomes a Reader), DatabaseError
        if the database stays locked past the busy timeout (the role is unchanged).
        """
        fence = self._fence
        with self._store.lock:
            if fence.role is None:
                raise CoordinationError("heartbeat: this handle never registered as a writer; "
                                        "call register_writer first")
            own = fence.own_lock
            if fence.role is not Role.WRITER or own is None:
                raise PermissionDenied(f"heartbeat: this handle is a Reader; {self._who_writes()}")
            with self._store.unfenced_write("cannot write the heartbeat") as conn:
                conn.execute("UPDATE writer_registry SET heartbeat = MAX(?, heartbeat + 1) "
                             "WHERE id = 1 AND writer_id = ?", (self.clock.wall_ms(), own.writer_id))
                owned = conn.changes() == 1
                holder = None if owned else registry_row(conn)
            if not owned:
                fence.demote()
                raise PermissionDenied(f"heartbeat: the writer role was taken over by "
                                       f"{holder.describe() if holder else 'nobody (the row was removed)'}; "
                                       "this handle is now a Reader")

    def release_writer(self) -> None:
        """Give up the writer role: delete the row (if it is this handle's) and the lock file.

        The next reader takes over at once. The handle stays registered as a Reader and
        may claim the role again with :meth:`try_takeover`. A no-op if never registered.
        """
        fence = self._fence
        with self._store.lock:
            if fence.role is None:
                return
            own = fence.own_lock
            if own is not None:
                if fence.role is Role.WRITER or self._row_names(own.writer_id):
                    with self._store.unfenced_write("cannot release the writer role") as conn:
                        conn.execute("DELETE FROM writer_registry WHERE id = 1 AND writer_id = ?",
                                     (own.writer_id,))
                own.release()
                fence.own_lock = None
            fence.watch.clear()
            fence.set_role(Role.READER)

    def check_writer_health(self) -> WriterHealth:
        """Look at the current writer: Alive, Timeout (gone or stale) or Released (none).

        Timeout means the writer's lock file is free (the process is gone) or its
        heartbeat has not changed for longer than ``timeout_ms`` on this reader's
        monotonic clock; each such check counts toward ``confirm_count``. A Writer
        handle that finds another writer in the row becomes a Reader here.
        """
        return WriterHealth(self.observe_writer(count=True).health)

    def try_takeover(self) -> bool:
        """Claim the writer role if the protocol allows; True when this handle is Writer.

        Allowed at once when the registry is empty or the writer's lock file is free;
        when this handle's priority is higher than the writer's (as register_writer);
        and for a writer without a usable lock file once :meth:`check_writer_health` has
        reported Timeout ``confirm_count`` consecutive times. Equal or lower priority
        never displaces a live writer.
        """
        with self._store.lock:
            if self._fence.role is None or self._writer_name is None or self._writer_priority is None:
                raise CoordinationError("try_takeover: this handle never registered as a writer; "
                                        "call register_writer first")
            self._require_writable("take over the writer role")
            return self._claim(self._writer_name, self._writer_priority)

    def observe_writer(self, *, count: bool) -> Observation:
        """Look at the row and the writer's lock; ``count`` makes it a confirming health check.

        What the coordination loop decides from; :meth:`check_writer_health` is the
        counting form.
        """
        fence = self._fence
        with self._store.lock:
            row = self._store.with_connection(registry_row, "cannot read the writer registry")
            now = self.clock.monotonic_ms()
            own_id = fence.writer_id
            if row is None:
                fence.watch.clear()
                if fence.role is Role.WRITER:
                    fence.demote()
                return Observation(WriterHealth.RELEASED, None, None, None, False)
            if own_id is not None and row.writer_id == own_id:
                return Observation(WriterHealth.ALIVE, row.info(), None, None, False)
            if fence.role is Role.WRITER:
                fence.demote()
            fence.watch.see(row.key, now)
            state, taken = lock_files.probe(self._store.path, row.writer_id)
            if taken is not None:
                taken.close()   # the takeover probes again inside its transaction
            timeout = self._store.config.coordination.timeout_ms
            stale = fence.watch.stale(now, timeout)
            if count:
                fence.watch.stale_checks = fence.watch.stale_checks + 1 if stale else 0
            elif not stale:
                fence.watch.stale_checks = 0
            health = WriterHealth.TIMEOUT if stale or state is LockState.FREE else WriterHealth.ALIVE
            preemptable = self._writer_priority is not None and self._writer_priority > row.priority
            return Observation(health, row.info(), state, fence.watch.changed_at + timeout, preemptable)

    def close(self) -> None:
        """Release the writer role (if held) and drop the lock file; the store closes after."""
        fence = self._fence
        with self._store.lock:
            if not self._store.closed and fence.role is not None:
                try:
                    self.release_writer()
                except SessionDBError as exc:
                    _log().warning("closing without releasing the writer row: %s", exc)
            own, fence.own_lock = fence.own_lock, None
            if own is not None:
                # The row may still name us: leave the file unlocked so readers see at
                # once that its owner is gone.
                own.abandon()

    # ------------------------------------------------------------------ internals
    def _claim(self, name: str, priority: int) -> bool:
        """One claim attempt in ``BEGIN IMMEDIATE``; sets the role and returns True on success."""
        fence = self._fence
        own = fence.own_lock
        if own is None or not own.held:
            own = fence.own_lock = OwnLock.create(self._store.path)
        now = self.clock.monotonic_ms()
        wall = self.clock.wall_ms()
        settings = self._store.config.coordination
        dead_lock: lock_files.ProbedLock | None = None
        won = False   # set only once the claim has committed
        try:
            with self._store.unfenced_write("cannot claim the writer role") as conn:
                row = registry_row(conn)
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
                    fence.watch.see(row.key, now)
                    claimed = False
                    allowed = priority > row.priority
                    if not allowed:
                        state, dead_lock = lock_files.probe(self._store.path, row.writer_id)
                        allowed = state is LockState.FREE or (
                            fence.watch.stale(now, settings.timeout_ms)
                            and fence.watch.stale_checks >= settings.confirm_count)
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
            fence.watch.clear()
            fence.set_role(Role.WRITER)
        elif fence.role is Role.WRITER:
            fence.demote()   # another writer holds the row: this handle had lost it
        else:
            fence.set_role(Role.READER)
        return won

    def _who_writes(self) -> str:
        try:
            row = self._store.with_connection(registry_row, "cannot read the writer registry")
        except SessionDBError:
            row = None
        return who_writes(row)

    def _row_names(self, writer_id: str) -> bool:
        """Does the registry row name ``writer_id``? (A plain read: no write lock.)"""
        row = self._store.with_connection(registry_row, "cannot read the writer registry")
        return row is not None and row.writer_id == writer_id

    def _sweep_stale_locks(self) -> None:
        """Remove lock files left by crashed participants (never the registered writer's)."""
        try:
            row = self._store.with_connection(registry_row, "cannot read the writer registry")
            lock_files.sweep_stale(self._store.path, keep=[row.writer_id] if row is not None else [])
        except (SessionDBError, OSError) as exc:
            _log().warning("could not sweep stale writer lock files: %s", exc)

    def _require_writable(self, action: str) -> None:
        if self._store.read_only:
            raise ReadOnlyError(f"cannot {action}: {self._store.path} was opened read-only")
