"""The ``writer_registry`` row as stored, and a reader's memory of it.

The row is the original library's (one row, ``id = 1``: writer_type, writer_id UUID,
priority, heartbeat ms, registered_at ms), so programs using either library
coordinate through it. Other programs may store anything in it; every value is read
defensively.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    import apsw

from .types import WriterInfo


def as_int(value: Any) -> int:
    """A registry value as an integer; rows from other programs may hold anything."""
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


# Named tuples, not dataclasses: they are created at import (see sessiondb._startup).
class RegistryRow(namedtuple("RegistryRow", "writer_type writer_id priority raw_heartbeat registered_at")):
    """The row as stored (raw heartbeat kept for the compare-and-swap)."""

    __slots__ = ()

    @property
    def key(self) -> tuple[str, Any]:
        """What changes when the writer is alive: its id and its heartbeat."""
        return self.writer_id, self.raw_heartbeat

    def info(self) -> WriterInfo:
        return WriterInfo(self.writer_type, self.writer_id, self.priority, as_int(self.raw_heartbeat),
                          self.registered_at)

    def describe(self) -> str:
        return f"{self.writer_type} (writer id {self.writer_id}, priority {self.priority})"


SELECT_ROW = "SELECT writer_type, writer_id, priority, heartbeat, registered_at FROM writer_registry WHERE id = 1"


def registry_row(conn: apsw.Connection) -> RegistryRow | None:
    row = conn.execute(SELECT_ROW).fetchone()
    if row is None:
        return None
    return RegistryRow(str(row[0]), str(row[1]), as_int(row[2]), row[3], as_int(row[4]))


class WriterWatch:
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


