"""Lock files that prove a writer process is alive.

Every registered participant holds an exclusive ``flock`` on its own lock file beside
the database, ``<db file>.writer-<writer_id>.lock``, for as long as it is registered.
The kernel drops the lock the instant the process dies (SIGKILL included), so another
process that manages to take the lock has proof that the owner is gone and may take
over at once, without waiting for a heartbeat to go stale.

``flock`` locks belong to the open file description, not to the process, so closing
some other descriptor of the same file never drops them (the trap of POSIX ``fcntl``
locks), and two handles in one process exclude each other like two processes do.
Every descriptor is opened with ``O_CLOEXEC`` so a program started by the writer does
not inherit (and keep alive) its lock. A child made with a bare ``fork()`` does share
the lock until it exits or execs; while it lives, readers fall back to the heartbeat
rule, which is slower but just as safe.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import os
import stat
from collections.abc import Iterable

from ..errors import CoordinationError

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import re
    from pathlib import Path

_LOCK_SUFFIX = ".lock"
_LOCK_INFIX = ".writer-"
_CREATE_ATTEMPTS = 8
_writer_id_pattern: re.Pattern[str] | None = None


def _is_writer_id(text: str) -> bool:
    """Writer ids come from a shared table that other programs write; only ids shaped
    like a UUID are ever turned into a file name, so a hostile row cannot point us at
    any file."""
    global _writer_id_pattern
    if _writer_id_pattern is None:  # compiled on first use, like pathlib (see sessiondb._startup)
        import re
        _writer_id_pattern = re.compile(
            r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
    return _writer_id_pattern.match(text) is not None


def new_writer_id() -> str:
    """A fresh writer id: a random UUID v4 string, as the original library stores.

    Built from os.urandom directly: importing the uuid module costs milliseconds that
    the C ABI's first call would pay."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40   # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80   # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def lock_path(db_path: str | os.PathLike[str], writer_id: str) -> Path | None:
    """The lock file of ``writer_id`` beside ``db_path``; None if the id is not a UUID."""
    if not isinstance(writer_id, str) or not _is_writer_id(writer_id):
        return None
    from pathlib import Path
    db = Path(db_path)
    return db.with_name(f"{db.name}{_LOCK_INFIX}{writer_id.lower()}{_LOCK_SUFFIX}")


class LockState(enum.Enum):
    """What probing a writer's lock file says about that writer."""

    HELD = "held"          # a live process holds it
    FREE = "free"          # the file exists and nobody holds it: its owner is gone
    ABSENT = "absent"      # no lock file: a foreign writer (or one that cleaned up)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


class _LockFile:
    """An open lock file this process holds the flock of."""

    path: Path
    _fd: int | None

    def _let_go(self, *, delete: bool) -> None:
        """Drop the lock (closing the file), deleting the file first if asked. Safe twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if delete and _same_file(fd, self.path):
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        finally:
            os.close(fd)


class OwnLock(_LockFile):
    """The lock file this handle holds while it is registered.

    Created and locked before its writer id can appear in ``writer_registry``, so a
    reader never sees an id whose lock file exists but is unlocked while the owner lives.
    """

    def __init__(self, writer_id: str, path: Path, fd: int) -> None:
        self.writer_id = writer_id
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def create(cls, db_path: str | os.PathLike[str]) -> "OwnLock":
        """Mint a writer id and hold the exclusive lock on its new lock file."""
        last_error: OSError | None = None
        for _ in range(_CREATE_ATTEMPTS):
            writer_id = new_writer_id()
            path = lock_path(db_path, writer_id)
            assert path is not None
            try:
                # O_EXCL: a fresh random name never exists, so anything found there (a FIFO,
                # a symlink someone planted) is refused, never opened or followed.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
                             | os.O_NONBLOCK, 0o644)
            except FileExistsError as exc:
                last_error = exc
                continue
            except OSError as exc:
                raise CoordinationError(f"cannot create the writer lock file {path}: "
                                        f"{exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # A sweeper may have unlinked the file between our open and flock: then
                # we hold a lock nobody can see, so start over with a new id.
                if _same_file(fd, path):
                    _write_owner_note(fd)
                    return cls(writer_id, path, fd)
            except OSError as exc:
                last_error = exc
            os.close(fd)
        raise CoordinationError(f"cannot lock a writer lock file beside {db_path}"
                                + (f": {last_error.strerror or last_error}" if last_error else ""))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Delete the lock file, then drop the lock. Safe to call twice."""
        self._let_go(delete=True)

    def abandon(self) -> None:
        """Drop the lock but leave the file, as a crashed process would."""
        self._let_go(delete=False)

    def __del__(self) -> None:
        # A handle dropped without close(): let go, so readers see at once that it is gone.
        with contextlib.suppress(Exception):
            self.abandon()


def _write_owner_note(fd: int) -> None:
    # For people looking at the directory; nothing reads it back.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())


class ProbedLock(_LockFile):
    """A dead writer's lock, taken by a reader as proof; remove it once acted upon."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def remove(self) -> None:
        """Delete the dead writer's lock file and let go of it."""
        self._let_go(delete=True)

    def close(self) -> None:
        """Let go without deleting."""
        self._let_go(delete=False)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def probe(db_path: str | os.PathLike[str], writer_id: str) -> tuple[LockState, ProbedLock | None]:
    """Try the lock of ``writer_id``'s lock file without blocking.

    FREE comes with the taken lock (a :class:`ProbedLock`), which the caller keeps
    while it takes over and then removes or closes.
    """
    path = lock_path(db_path, writer_id)
    if path is None:
        return LockState.ABSENT, None
    # Anyone who can write into the directory can put a FIFO, a device, a directory or a
    # symlink at this name. None of them is opened in a way that can block or follow a
    # link, and none is proof either way: the caller falls back to the heartbeat rule.
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        return LockState.ABSENT, None
    except OSError as exc:
        _warn_unusable(path, exc.strerror or str(exc))
        return LockState.ABSENT, None
    if not stat.S_ISREG(seen.st_mode):
        _warn_unusable(path, f"it is {_kind(seen.st_mode)}, not a regular file")
        return LockState.ABSENT, None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | _O_NOCTTY)
    except FileNotFoundError:
        return LockState.ABSENT, None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EACCES, errno.EPERM, errno.ENXIO, errno.EISDIR):
            _warn_unusable(path, exc.strerror or str(exc))
            return LockState.ABSENT, None
        raise CoordinationError(f"cannot open the writer lock file {path}: {exc.strerror or exc}") from exc
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
        os.close(fd)   # swapped between the look and the open
        _warn_unusable(path, "it was replaced while being opened")
        return LockState.ABSENT, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return LockState.HELD, None
    except OSError as exc:
        os.close(fd)
        raise CoordinationError(f"cannot lock the writer lock file {path}: {exc.strerror or exc}") from exc
    return LockState.FREE, ProbedLock(path, fd)


_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
# Paths already warned about (bounded): a poll every 200 ms must not flood the log.
_warned: set[str] = set()


def _warn_unusable(path: Path, why: str) -> None:
    key = str(path)
    if key in _warned:
        return
    if len(_warned) < 1000:
        _warned.add(key)
    import logging
    logging.getLogger("sessiondb.coordination").warning(
        "ignoring the writer lock file %s: %s; the heartbeat rule decides instead", path, why)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symlink"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def lock_files(db_path: str | os.PathLike[str]) -> list[Path]:
    """Every writer lock file beside ``db_path``."""
    from pathlib import Path
    db = Path(db_path)
    prefix = f"{db.name}{_LOCK_INFIX}"
    try:
        names = os.listdir(db.parent)
    except OSError:
        return []
    return [db.with_name(name) for name in names
            if name.startswith(prefix) and name.endswith(_LOCK_SUFFIX)
            and _is_writer_id(name[len(prefix):-len(_LOCK_SUFFIX)])]


def sweep_stale(db_path: str | os.PathLike[str], keep: Iterable[str] = ()) -> int:
    """Delete lock files whose owners are gone (nobody holds them); returns how many.

    Never touches a file a live process holds, nor those of the writer ids in ``keep``
    (pass the registered writer's: its free lock file is the proof readers act on).
    """
    from pathlib import Path
    kept = {writer_id.lower() for writer_id in keep if isinstance(writer_id, str)}
    removed = 0
    prefix = f"{Path(db_path).name}{_LOCK_INFIX}"
    for path in lock_files(db_path):
        writer_id = path.name[len(prefix):-len(_LOCK_SUFFIX)]
        if writer_id.lower() in kept:
            continue
        try:
            state, taken = probe(db_path, writer_id)
        except CoordinationError:
            continue
        if state is LockState.FREE and taken is not None:
            taken.remove()
            removed += 1
    return removed
