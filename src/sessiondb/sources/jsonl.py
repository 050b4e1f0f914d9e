"""Streaming JSONL reading from a byte offset, the prefix fingerprint and fast timestamps.

Files are read in fixed-size blocks and split on ``\\n``; only complete lines are
handed out, each with the byte offset just past its newline, so a caller can save
exactly how far it got. An unterminated last piece (a line still being written) is
left for later. A line longer than ``max_line_bytes`` is skipped without being held
in memory, so any file is read in bounded memory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

import msgspec

from ..timeutil import parse_timestamp_ms

BLOCK_SIZE = 1 << 20
# A single JSONL line beyond this is skipped (counted as a bad line): base64 images are
# a few MB; nothing a person searches for is 64 MB on one line.
MAX_LINE_BYTES = 64 << 20
# Bytes at the start of the file and just before the saved offset that are hashed to
# notice a rewrite or a truncate-and-regrow (which look like appends by size alone).
HASH_WINDOW = 8192


class LineReader:
    """Iterate ``(line, end_offset)`` over the complete lines of ``path`` from ``start``.

    After iteration: ``tail`` holds the unterminated bytes at the end of the file
    (``tail_offset`` is where they start), ``oversized`` lists the offsets of lines
    skipped for their length, and ``consumed`` is the offset just past the last
    complete (or skipped) line.
    """

    def __init__(self, path: str | os.PathLike[str], start: int = 0, *, max_line_bytes: int = MAX_LINE_BYTES,
                 block_size: int = BLOCK_SIZE, stop_at: int | None = None) -> None:
        self.path = os.fspath(path)
        self.start = start
        self.max_line_bytes = max_line_bytes
        self.block_size = block_size
        self.stop_at = stop_at
        self.tail = b""
        self.tail_offset = start
        self.consumed = start
        self.oversized: list[int] = []

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        with open_regular(self.path) as handle:
            if self.start:
                handle.seek(self.start)
            yield from self._lines(handle)

    def _lines(self, handle: BinaryIO) -> Iterator[tuple[bytes, int]]:
        pending = b""
        pending_at = self.start      # file offset of pending[0]
        position = self.start        # file offset just past the bytes read so far
        skipping = False             # inside a line that is too long
        remaining = None if self.stop_at is None else max(0, self.stop_at - self.start)
        while True:
            size = self.block_size if remaining is None else min(self.block_size, remaining)
            if size <= 0:
                break
            block = handle.read(size)
            if not block:
                break
            if remaining is not None:
                remaining -= len(block)
            position += len(block)
            if skipping:
                newline = block.find(b"\n")
                if newline < 0:
                    continue
                skipping = False
                block = block[newline + 1:]
                pending_at = position - len(block)
                self.consumed = pending_at
            data = pending + block if pending else block
            lines = data.split(b"\n")
            pending = lines.pop()
            offset = pending_at
            for line in lines:
                offset += len(line) + 1
                if line[-1:] == b"\r":
                    line = line[:-1]
                self.consumed = offset
                yield line, offset
            pending_at = offset
            if len(pending) > self.max_line_bytes:
                self.oversized.append(pending_at)
                pending = b""
                skipping = True
        if skipping:
            self.tail, self.tail_offset = b"", position
        else:
            self.tail, self.tail_offset = pending, pending_at


TOO_DEEP = "JSON nested too deeply to decode"
TOO_BIG = "JSON value too large to decode"


def loads(data: bytes | str) -> Any:
    """``msgspec.json.decode`` for untrusted bytes: JSON nested deeper than the decoder's
    recursion limit, or a value too large for memory, raise ``msgspec.DecodeError`` like
    any other malformed JSON (instead of RecursionError / MemoryError)."""
    try:
        return msgspec.json.decode(data)
    except RecursionError:
        raise msgspec.DecodeError(TOO_DEEP) from None
    except MemoryError:
        raise msgspec.DecodeError(TOO_BIG) from None


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symlinks followed), without ever
    blocking: a FIFO, a device, a socket or a directory (maybe swapped in after a stat)
    raises :class:`NotRegularFile` (an OSError) instead of hanging or streaming forever."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({file_kind(mode)})", os.fspath(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NotRegularFile(OSError):
    """A path that names a FIFO, a device, a socket or a directory where a file was wanted."""


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def prefix_hash(path: str | os.PathLike[str], offset: int) -> str:
    """Fingerprint of the bytes before ``offset``: its first and last ``HASH_WINDOW`` bytes.

    Compared before reading an append: a file rewritten, or truncated and grown again
    past the old size, no longer has the same bytes there.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(offset.to_bytes(8, "little", signed=False))
    if offset > 0:
        try:
            with open(path, "rb") as handle:
                head = handle.read(min(offset, HASH_WINDOW))
                digest.update(head)
                if offset > HASH_WINDOW:
                    tail_start = max(HASH_WINDOW, offset - HASH_WINDOW)
                    handle.seek(tail_start)
                    digest.update(handle.read(offset - tail_start))
        except OSError:
            return ""
    return digest.hexdigest()


# --------------------------------------------------------------------------- timestamps
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)


def timestamp_ms(value: object) -> int | None:
    """Epoch milliseconds of a timestamp field. ISO date-times (``...T...``, the form every
    agent writes) are read by the C ``fromisoformat``; anything else, or what it refuses,
    by :func:`sessiondb.timeutil.parse_timestamp_ms` (same results, floor to the ms)."""
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return parse_timestamp_ms(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // _ONE_MS
    return parse_timestamp_ms(value)
