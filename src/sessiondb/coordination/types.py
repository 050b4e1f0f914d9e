"""The vocabulary of writer coordination: writer types, roles, health, the registry row
as callers see it, and the clock decisions are measured on."""

from __future__ import annotations

import enum
import time

from .._record import record
from ..errors import InvalidArgument

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


@record
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
    return str(writer_type), priority


def _check_writer_name(name: str) -> None:
    if not name.strip():
        raise InvalidArgument("writer name is empty")
    if len(name) > _MAX_WRITER_NAME:
        raise InvalidArgument(f"writer name is longer than {_MAX_WRITER_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidArgument("writer name contains control characters")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise InvalidArgument("writer name is not valid Unicode")


