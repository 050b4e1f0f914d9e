"""Streaming JSONL reading from a byte offset, the prefix fingerprint and fast timestamps.

Files are read in fixed-size blocks and split on ``\\n``; only complete lines are
handed out, each with the byte offset just past its newline, so a caller can save
exactly how far it got. An unterminated last piece (a line still being written) is
left for later. A line longer than ``max_line_bytes`` is skipped without being held
in memory, so any file is read in bounded memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

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
        with open(self.path, "rb") as handle:
            if self.start:
                handle.seek(self.start)
            yield from self._lines(handle)

    def _lines(self, handle) -> Iterator[tuple[bytes, int]]:
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
def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def timestamp_ms(value: object) -> int | None:
    """Epoch milliseconds of a timestamp field; the common ``YYYY-MM-DDTHH:MM:SS(.fff)Z``
    form is read directly, everything else by :func:`sessiondb.timeutil.parse_timestamp_ms`."""
    if isinstance(value, str) and len(value) >= 20 and value[-1] == "Z" and value[10] == "T":
        text = value
        if (text[4] == "-" and text[7] == "-" and text[13] == ":" and text[16] == ":"
                and text[:4].isdigit() and text[5:7].isdigit() and text[8:10].isdigit()
                and text[11:13].isdigit() and text[14:16].isdigit() and text[17:19].isdigit()):
            fraction = text[19:-1]
            if not fraction:
                millis = 0
            elif fraction[0] == "." and fraction[1:].isdigit() and len(fraction) > 1:
                millis = int((fraction[1:] + "00")[:3])
            else:
                return parse_timestamp_ms(value)
            year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
            hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
            if (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month] and hour < 24 and minute < 60
                    and second < 60 and not (month == 2 and day == 29 and not _leap(year))):
                days = _days_from_civil(year, month, day)
                return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    return parse_timestamp_ms(value)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
