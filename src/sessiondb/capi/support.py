"""Plumbing of the C ABI: status codes, error mapping, the handle table, marshalling.

Used only inside libsessiondb's embedded interpreter (through :mod:`sessiondb.capi`);
``import sessiondb`` never loads it. Nothing here knows about cffi's module object
beyond the ``ffi`` / ``lib`` pair handed in at start-up.
"""

from __future__ import annotations

import importlib
import itertools
import os
import threading
from collections.abc import Callable, Sequence
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

from ..errors import CoordinationError, PermissionDenied, SessionDBError
from ..models import ApprovalStatus, MessageType, SearchOrder

# enum SessionDbError
SUCCESS = 0
NULL_POINTER = 1
INVALID_UTF8 = 2
DATABASE_ERROR = 3
COORDINATION_ERROR = 4
PERMISSION_DENIED = 5
UNKNOWN = 99

ROLE_UNREGISTERED = -1
CONNECTION_FAILED = 6
NOT_CONNECTED = 7
REQUEST_FAILED = 8
RUNTIME_ERROR = 10
INT64_MAX = 2 ** 63 - 1
# Row limits and offsets above this are "everything" (SQLite needs them in 64 bits).
MAX_ROWS = 2 ** 31

_APPROVALS = (ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.TIMEOUT)
CHECKPOINT_MODES = ("PASSIVE", "FULL", "RESTART", "TRUNCATE")
# How long fork() waits for one handle's running call to finish.
FORK_WAIT_S = 10.0


# ---------------------------------------------------------------- errors
class CallError(Exception):
    """A refused call: carries its status code."""

    code = UNKNOWN

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NullArgument(CallError):
    code = NULL_POINTER


class BadUtf8(CallError):
    code = INVALID_UTF8


class OutOfRange(CallError):
    code = UNKNOWN


def error_code(exc: BaseException) -> int:
    """The status a Python exception becomes at the C boundary."""
    if isinstance(exc, CallError):
        return exc.code
    if isinstance(exc, PermissionDenied):  # includes ReadOnlyError
        return PERMISSION_DENIED
    if isinstance(exc, CoordinationError):
        return COORDINATION_ERROR
    if isinstance(exc, (SessionDBError, OSError)):
        return DATABASE_ERROR
    return UNKNOWN


def error_message(function: str, exc: BaseException) -> str:
    if isinstance(exc, CallError):
        return f"{function}: {exc}"
    detail = str(exc) or exc.__class__.__name__
    return f"{function}: {exc.__class__.__name__}: {detail}"


# ---------------------------------------------------------------- enum conversions
def message_type(code: int, what: str = "role") -> MessageType:
    try:
        return MessageType.from_code(int(code))
    except ValueError:
        raise OutOfRange(f"{what} {code} is not a message role (0 user, 1 assistant, 2 tool, 3 system)") from None


def search_order(code: int) -> SearchOrder:
    if code not in (0, 1, 2):
        raise OutOfRange(f"order_by {code} is not a search order (0 Score, 1 TimeDesc, 2 TimeAsc)")
    return SearchOrder(code)


def approval_status(code: int) -> ApprovalStatus:
    if not 0 <= code < len(_APPROVALS):
        raise OutOfRange(f"status {code} is not an approval status (0 Pending .. 3 Timeout)")
    return _APPROVALS[code]


def role_code(role: Any) -> int:
    """Role enum (or None: never registered) -> 0 writer, 1 reader, -1 unregistered."""
    if role is None:
        return ROLE_UNREGISTERED
    return int(getattr(role, "value", role))


def row_limit(value: int) -> int | None:
    """uintptr_t limit -> None for "all" (SIZE_MAX and other huge values)."""
    return None if value >= MAX_ROWS else int(value)


def search_limit(value: int) -> int:
    return min(int(value), MAX_ROWS)


def optional_ms(value: int) -> int | None:
    """Negative timestamps and ids mean "no filter"."""
    return None if value < 0 else int(value)


# ---------------------------------------------------------------- handles
class HandleState:
    """One open handle: its database and its coordinator loop."""

    __slots__ = ("db", "lock", "changed", "coordinator", "coordinator_type", "running")

    def __init__(self, db: Any) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.changed = threading.Condition()
        self.coordinator: Any = None
        self.coordinator_type: Any = None
        self.running = False

    def notify(self, *_: object) -> None:
        """Wake session_db_wait_role_change callers (the role may have changed)."""
        with self.changed:
            self.changed.notify_all()


class HandleTable:
    """Open handles by opaque id. Ids are never reused, so a closed or made-up handle
    is recognised and refused instead of touching freed memory."""

    def __init__(self, pointer: Callable[[int], Any] | None = None) -> None:
        self._lock = threading.Lock()
        # Held while a connection opens, and across fork(): see hold_for_fork.
        self.open_lock = threading.Lock()
        self._held: list[Any] = []
        self.states: dict[int, HandleState] = {}
        # The same states keyed by the C pointer itself (cffi pointers hash and compare
        # by address): the hot path looks a handle up without converting it to an int.
        self.by_pointer: dict[Any, HandleState] = {}
        self._pointer = pointer
        # A random salt keeps ids far from small integers and from ids of other runs.
        self._salt = ((int.from_bytes(os.urandom(2), "little") & 0x7FFF) | 1) << 24
        self._serial = itertools.count(1)

    def add(self, db: Any) -> int:
        handle_id = (self._salt | next(self._serial)) << 4
        state = HandleState(db)
        with self._lock:
            self.states[handle_id] = state
            if self._pointer is not None:
                self.by_pointer[self._pointer(handle_id)] = state
        return handle_id

    def get(self, handle_id: int) -> HandleState:
        state = self.states.get(handle_id)
        if state is None:
            raise NullArgument("the handle is not open (closed, or not from session_db_connect)")
        return state

    def pop(self, handle_id: int) -> HandleState | None:
        with self._lock:
            if self._pointer is not None:
                self.by_pointer.pop(self._pointer(handle_id), None)
            return self.states.pop(handle_id, None)

    def __len__(self) -> int:
        return len(self.states)

    # fork(): a thread inside SQLite holds SQLite's own mutexes; a child forked at that
    # moment would deadlock on its first SQLite call. Before the fork, wait (bounded)
    # until no thread is opening a connection or running SQL on an open handle; all
    # SQL of a handle runs under its lock.
    def hold_for_fork(self) -> None:
        held = []
        if self.open_lock.acquire(timeout=FORK_WAIT_S):
            held.append(self.open_lock)
        for _, state in sorted(self.states.items()):
            lock = getattr(state.db, "lock", None)
            if lock is not None and lock.acquire(timeout=FORK_WAIT_S):
                held.append(lock)
                # Its WAL checkpoint thread, if one runs (read under the handle's lock).
                background = getattr(state.db, "background_lock", None)
                if background is not None and background.acquire(timeout=FORK_WAIT_S):
                    held.append(background)
        self._held = held

    def release_after_fork(self) -> None:
        held, self._held = self._held, []
        for lock in reversed(held):
            lock.release()


# ---------------------------------------------------------------- marshalling
class Marshal:
    """C <-> Python values. Every returned allocation is made with the library's
    malloc (never cffi-owned memory, which Python would free) and freed by the C
    free functions."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi, self.lib = ffi, lib
        self.NULL = ffi.NULL
        self.uintptr = ffi.typeof("uintptr_t")
        self._types: dict[str, Any] = {}
        self._sizes: dict[str, int] = {}

    # ---- inputs
    def need(self, pointer: Any, name: str) -> Any:
        if not pointer:
            raise NullArgument(f"{name} is NULL")
        return pointer

    def text(self, pointer: Any, name: str) -> str:
        if not pointer:
            raise NullArgument(f"{name} is NULL")
        raw: bytes = self.ffi.string(pointer)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadUtf8(f"{name} is not valid UTF-8 (bad byte at offset {exc.start})") from None

    def optional_text(self, pointer: Any, name: str) -> str | None:
        return None if not pointer else self.text(pointer, name)

    def handle_id(self, pointer: Any) -> int:
        if not pointer:
            raise NullArgument("handle is NULL")
        return int(self.ffi.cast(self.uintptr, pointer))

    # ---- outputs
    def string(self, value: str | None) -> Any:
        """A malloc'd UTF-8 copy (NULL for None). NUL characters become U+FFFD."""
        if value is None:
            return self.NULL
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        data = value.encode("utf-8", "replace")
        pointer = self.lib._sdb_strndup(data, len(data))
        if not pointer:
            raise MemoryError("out of memory copying a string")
        return pointer

    def _ctype(self, name: str) -> Any:
        ctype = self._types.get(name)
        if ctype is None:
            ctype = self._types[name] = self.ffi.typeof(f"{name} *")
            self._sizes[name] = self.ffi.sizeof(name)
        return ctype

    def alloc(self, name: str, count: int = 1) -> Any:
        """Zeroed C memory for ``count`` structs ``name``."""
        ctype = self._ctype(name)
        pointer = self.lib._sdb_calloc(count, self._sizes[name])
        if not pointer:
            raise MemoryError(f"out of memory allocating {count} {name}")
        return self.ffi.cast(ctype, pointer)

    def array(self, box: str, element: str, items: Sequence[Any], fill: Callable[[Any, Any], None],
              free: Callable[[Any], None], data_field: str = "data", len_field: str = "len") -> Any:
        """A box struct {element *data; uintptr_t len} holding ``items``; empty: data NULL.

        On any failure what was built so far is released with ``free``.
        """
        result = self.alloc(box)
        try:
            if items:
                data = self.alloc(element, len(items))
                setattr(result, data_field, data)
                setattr(result, len_field, len(items))
                for i, item in enumerate(items):
                    fill(data[i], item)
        except BaseException:
            free(result)
            raise
        return result


# ---------------------------------------------------------------- exported functions
# C function name -> (method name, kind of C return): "status" (enum SessionDbError),
# "pointer" (NULL on failure), "void", "bool" (false on failure), or "struct"
# (ParseResult, filled through a pointer).
EXPORTS: dict[str, tuple[str, str]] = {}


def export(kind: str, prefix: str = "session_db_") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as the implementation of the C function ``<prefix><method name>``."""
    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        EXPORTS[prefix + method.__name__] = (method.__name__, kind)
        return method
    return mark


def optional_module(name: str, what: str) -> Any:
    """A part of the package that a build may lack, imported on first use."""
    try:
        return importlib.import_module(f"sessiondb.{name}")
    except ImportError as exc:
        code = COORDINATION_ERROR if name.startswith("coordinat") else UNKNOWN
        raise CallError(f"{what} is not available in this build ({exc})", code) from None


class CApiBase:
    """State shared by the parts of the C ABI: ffi/lib, marshalling, open handles."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi, self.lib = ffi, lib
        self.m = Marshal(ffi, lib)
        void_pointer = ffi.typeof("void *")
        self.handles = HandleTable(pointer=lambda handle_id: ffi.cast(void_pointer, handle_id))
        self._by_pointer = self.handles.by_pointer

    def state(self, handle: Any) -> HandleState:
        """The open handle behind a C handle (the hot path of every call on a handle)."""
        state = self._by_pointer.get(handle)  # NULL is never a key
        if state is not None:
            return state
        return self.handles.get(self.m.handle_id(handle))  # raises the right error
