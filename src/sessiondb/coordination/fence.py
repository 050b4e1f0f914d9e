"""The writer fence: the check at the start of every write transaction.

The store (:class:`sessiondb.store.core.Store`) runs :meth:`WriterFence.check` inside
each ``BEGIN IMMEDIATE``, before anything is written. The fence holds what this handle
knows of its role; the protocol (:mod:`sessiondb.coordination.protocol`) changes that
knowledge, and the fence is the authority that corrects it: the moment a write finds
another writer in the registry row, the handle becomes a Reader and nothing is
written.
"""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable

    import apsw

from .. import _startup
from ..errors import CoordinationError, PermissionDenied
from .lock_files import OwnLock
from .registry import RegistryRow, WriterWatch, registry_row
from .types import Role


class WriterFence:
    """One handle's role, its own lock file, and the check every write runs."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.role: Role | None = None
        self.own_lock: OwnLock | None = None
        self.watch = WriterWatch()
        self._listeners: list[Callable[[Role], None]] = []

    @property
    def writer_id(self) -> str | None:
        return self.own_lock.writer_id if self.own_lock is not None else None

    def check(self, conn: apsw.Connection) -> None:
        """Inside the write transaction: may this handle write? Raises PermissionDenied.

        A handle that never registered may write only while no writer is registered;
        a registered one only while the row names its writer id.
        """
        row = registry_row(conn)
        if self.role is None:
            if row is not None:
                raise PermissionDenied(f"writer {row.writer_type} ({row.writer_id}) owns the database; "
                                       "register as a writer to write")
            return
        own = self.own_lock
        if row is not None and own is not None and row.writer_id == own.writer_id:
            if self.role is not Role.WRITER:
                self.set_role(Role.WRITER)
            return
        if self.role is Role.WRITER:
            self.demote()
            raise PermissionDenied("write refused: this handle lost the writer role to "
                                   f"{row.describe() if row else 'nobody (the row was removed)'}; "
                                   "nothing was written and the handle is now a Reader")
        raise PermissionDenied(f"write refused: this handle is a Reader; {who_writes(row)}")

    def set_role(self, role: Role) -> None:
        if role is self.role:
            return
        self.role = role
        for listener in list(self._listeners):
            try:
                listener(role)
            except Exception:  # a listener must never break the protocol
                _startup.log("sessiondb.coordination").exception("role listener failed")

    def demote(self) -> None:
        """This handle lost the row: Reader, with a fresh id for its next claim."""
        old = self.own_lock
        self.own_lock = None
        if old is not None:
            old.release()
        self.watch.clear()
        try:
            self.own_lock = OwnLock.create(self.db_path)
        except CoordinationError as exc:
            _startup.log("sessiondb.coordination").warning("no lock file for the next claim yet: %s", exc)
        self.set_role(Role.READER)

    def add_listener(self, listener: Callable[[Role], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Role], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)


def who_writes(row: RegistryRow | None) -> str:
    if row is None:
        return "no writer is registered (call try_takeover to claim the role)"
    return f"the writer is {row.describe()}"
