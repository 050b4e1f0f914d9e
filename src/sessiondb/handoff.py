"""Requests a Reader hands to the Writer without writing the database.

A participant that is not the Writer must not write, yet a host that notices a changed
session file (or an approval) wants it stored. It drops a small request file into the
spool directory beside the database, ``<db file>.requests/``; whichever sessiondb
participant is the Writer drains the spool (every ``DRAIN_INTERVAL_S`` while it is the
Writer, and at once when it becomes one) and carries the requests out. Requests
survive a change of writer: a new Writer finds what the old one left.

A Reader also sends one datagram to ``wake.sock`` in the spool, where a Writer that
drains the spool listens (:class:`WakeSocket`), so it starts at once instead of at its
next look; the datagram carries nothing, and when it is lost the next look finds the
request anyway.

Each request is written to a hidden temporary name and renamed into place, so a
drainer never sees half a request. Entries are read without following symlinks, only
as regular files of bounded size; anything malformed is removed and counted.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DatabaseError, InvalidArgument, PermissionDenied, SessionDBError
from .models import ApprovalStatus

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import logging
    from typing import Any, Protocol

    class Collected(Protocol):
        @property
        def messages_inserted(self) -> int: ...

    class Writer(Protocol):
        """What a drain does on the Writer's handle (a ``SessionDB``)."""

        def collect_by_path(self, path: str) -> Collected: ...

        def update_approval_status_by_tool_call_id(self, tool_call_id: str, status: ApprovalStatus,
                                                   resolved_at: int) -> int: ...

SUFFIX = ".requests"
# How often a Writer looks into the spool.
DRAIN_INTERVAL_S = 0.05
# An approval whose tool call is not stored yet is retried for this long.
APPROVAL_RETRY_S = 600.0
# ... at most this often (each retry is a write transaction).
APPROVAL_RETRY_EVERY_S = 1.0
_MAX_ENTRY_BYTES = 64 * 1024
_STALE_TEMP_S = 60.0
_ENTRY_EXT = ".req"
WAKE_SOCKET = "wake.sock"
_serial = itertools.count()


def _json_int(value: object) -> int:
    """A number field of a request; TypeError or ValueError for anything else (a bad entry)."""
    if isinstance(value, (int, float, str)):
        return int(value)
    raise TypeError(f"not a number: {value!r}")


def _log() -> logging.Logger:
    import logging
    return logging.getLogger("sessiondb.handoff")


@dataclass
class DrainResult:
    """What one pass over the spool did."""

    collected: int = 0          # distinct files collected
    messages_inserted: int = 0
    approvals_applied: int = 0  # approvals that matched stored messages
    kept: int = 0               # approvals waiting for their tool call to be stored
    errors: list[str] = field(default_factory=list)


class RequestSpool:
    """The spool directory of one database file."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.directory = Path(os.fspath(db_path) + SUFFIX)
        self._last_retry = 0.0

    # ------------------------------------------------------------------ submitting
    def submit_collect(self, path: str | os.PathLike[str]) -> Path:
        """Ask the Writer to collect the session file at ``path`` (made absolute here)."""
        text = os.fspath(path)
        if not isinstance(text, str) or not text or "\x00" in text:
            raise InvalidArgument("path must be a non-empty path without NUL characters")
        return self._submit({"kind": "collect", "path": os.path.abspath(os.path.expanduser(text))})

    def submit_approval(self, tool_call_id: str, status: ApprovalStatus, resolved_at: int) -> Path:
        """Ask the Writer to set the approval state of the messages of ``tool_call_id``."""
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise InvalidArgument("tool_call_id must be a non-empty string")
        return self._submit({"kind": "approval", "tool_call_id": tool_call_id,
                             "status": ApprovalStatus(status).value, "resolved_at": int(resolved_at)})

    def _submit(self, request: dict[str, Any]) -> Path:
        request["submitted_at"] = time.time()
        data = json.dumps(request, ensure_ascii=False).encode("utf-8")
        if len(data) > _MAX_ENTRY_BYTES:
            raise InvalidArgument("the request is too large")
        self._ensure_directory()
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_serial)}{_ENTRY_EXT}"
        temporary = self.directory / f".tmp-{name}"
        final = self.directory / name
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.rename(temporary, final)
            self.wake_writer()
        except OSError as exc:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise DatabaseError(f"cannot write a request into {self.directory}: {exc}") from exc
        return final

    def wake_writer(self) -> None:
        """Tell a listening Writer that a request is waiting (best effort, never blocks)."""
        path = os.fspath(self.directory / WAKE_SOCKET)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                sender.setblocking(False)
                sender.sendto(b"!", path)
        except OSError:
            pass   # nobody listens (or the path is too long for a socket): the Writer looks anyway

    def _ensure_directory(self) -> None:
        try:
            os.mkdir(self.directory, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatabaseError(f"cannot create the request spool {self.directory}: {exc}") from exc
        info = os.lstat(self.directory)
        if not stat.S_ISDIR(info.st_mode):
            raise DatabaseError(f"{self.directory} is not a directory (refusing to follow it)")

    # ------------------------------------------------------------------ draining
    def entries(self) -> list[Path]:
        """Pending requests, oldest first (empty when the spool does not exist)."""
        try:
            info = os.lstat(self.directory)
            if not stat.S_ISDIR(info.st_mode):
                return []
            with os.scandir(self.directory) as listing:
                names = sorted(e.name for e in listing if e.name.endswith(_ENTRY_EXT) and not e.name.startswith("."))
        except OSError:
            return []
        return [self.directory / n for n in names]

    def drain(self, db: Writer) -> DrainResult:
        """Carry out the pending requests on ``db``, which must be the Writer.

        Collections go first (one per distinct file), then approvals, so an approval of a
        tool call that arrives with the same batch finds its message. Stops, keeping what
        is left, when ``db`` stops being the Writer.
        """
        result = DrainResult()
        entries = self.entries()
        self._remove_stale_temporaries()
        if not entries:
            return result
        collects: dict[str, list[Path]] = {}
        approvals: list[tuple[Path, dict[str, Any]]] = []
        for entry in entries:
            request = self._read(entry, result)
            if request is None:
                continue
            if request.get("kind") == "collect" and isinstance(request.get("path"), str):
                collects.setdefault(request["path"], []).append(entry)
            elif request.get("kind") == "approval":
                approvals.append((entry, request))
            else:
                result.errors.append(f"{entry.name}: unknown request")
                _unlink(entry)
        for path, files in collects.items():
            try:
                collected = db.collect_by_path(path)
            except PermissionDenied:
                return result          # no longer the Writer: the next one takes over the rest
            except SessionDBError as exc:
                result.errors.append(f"{path}: {exc}")
            else:
                result.collected += 1
                result.messages_inserted += collected.messages_inserted
            for entry in files:
                _unlink(entry)
        now = time.time()
        if approvals and (collects or now - self._last_retry >= APPROVAL_RETRY_EVERY_S):
            self._last_retry = now
            self._apply_approvals(db, approvals, now, result)
        else:
            result.kept += len(approvals)
        return result

    def _apply_approvals(self, db: Writer, approvals: Iterable[tuple[Path, dict[str, Any]]], now: float,
                         result: DrainResult) -> None:
        for entry, request in approvals:
            try:
                status = ApprovalStatus(request.get("status"))
                updated = db.update_approval_status_by_tool_call_id(str(request.get("tool_call_id")), status,
                                                                    _json_int(request.get("resolved_at")))
            except PermissionDenied:
                return
            except (SessionDBError, ValueError, TypeError) as exc:
                result.errors.append(f"{entry.name}: {exc}")
                _unlink(entry)
                continue
            submitted = request.get("submitted_at")
            waited = now - submitted if isinstance(submitted, (int, float)) else APPROVAL_RETRY_S
            if updated:
                result.approvals_applied += 1
                _unlink(entry)
            elif waited < APPROVAL_RETRY_S:
                result.kept += 1
            else:
                result.errors.append(f"{entry.name}: no message has tool call id {request.get('tool_call_id')!r}")
                _unlink(entry)

    def _read(self, entry: Path, result: DrainResult) -> dict[str, Any] | None:
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            result.errors.append(f"{entry.name}: {exc}")
            _unlink(entry)
            return None
        try:
            info = os.fstat(fd)
            data = os.read(fd, _MAX_ENTRY_BYTES + 1) if stat.S_ISREG(info.st_mode) else None
        except OSError:
            data = None
        finally:
            os.close(fd)
        try:
            request = json.loads(data) if data is not None and len(data) <= _MAX_ENTRY_BYTES else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            result.errors.append(f"{entry.name}: not a request")
            _unlink(entry)
            return None
        return request

    def _remove_stale_temporaries(self) -> None:
        try:
            with os.scandir(self.directory) as listing:
                stale = [e.path for e in listing if e.name.startswith(".tmp-")
                         and time.time() - e.stat(follow_symlinks=False).st_mtime > _STALE_TEMP_S]
        except OSError:
            return
        for path in stale:
            _unlink(Path(path))


class WakeSocket:
    """The datagram socket a draining Writer listens on (``<spool>/wake.sock``)."""

    def __init__(self, spool: RequestSpool) -> None:
        self.spool = spool
        self._socket: socket.socket | None = None
        self._inode: int | None = None   # of the socket file this one bound (a later Writer may rebind the path)

    def listen(self) -> bool:
        """Bind the socket (replacing one a dead Writer left); False where that cannot be done."""
        if self._socket is not None:
            return True
        path = os.fspath(self.spool.directory / WAKE_SOCKET)
        try:
            self.spool._ensure_directory()
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                listener.bind(path)
                listener.setblocking(False)
            except OSError:
                listener.close()
                raise
            self._inode = os.lstat(path).st_ino
        except (OSError, SessionDBError):
            return False
        self._socket = listener
        return True

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` or until a Reader sends a wake-up (which is consumed)."""
        listener = self._socket
        if listener is None:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([listener], [], [], timeout)
        if ready:
            try:
                while True:
                    listener.recv(64)
            except OSError:
                pass

    def close(self) -> None:
        listener, self._socket = self._socket, None
        if listener is None:
            return
        listener.close()
        path = os.fspath(self.spool.directory / WAKE_SOCKET)
        try:
            if os.lstat(path).st_ino == self._inode:
                os.unlink(path)
        except OSError:
            pass


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        _log().warning("cannot remove request %s: %s", path, exc)


__all__ = ["DRAIN_INTERVAL_S", "DrainResult", "RequestSpool", "WakeSocket"]
