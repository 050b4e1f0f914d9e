"""One way to read a timestamp, used everywhere.

The original parsed timestamps three different ways (integer string with a "now"
fallback, RFC 3339 with a 0 fallback, ...). Here every source goes through
:func:`parse_timestamp_ms`, which never invents a time: it returns None when the
value is not a timestamp, and the caller decides what to do.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import re

# Seconds since the epoch stay below this until the year 5138; milliseconds exceed it
# from 1973 on, so a number above it is taken as milliseconds.
_SECONDS_LIMIT = 100_000_000_000
_MS_LIMIT = 2**63 - 1
_fraction: re.Pattern[str] | None = None  # compiled on first use, like datetime


def now_ms() -> int:
    """Wall-clock Unix time in milliseconds."""
    return time.time_ns() // 1_000_000


def parse_timestamp_ms(value: object) -> int | None:
    """Milliseconds since the epoch for an ISO-8601 / RFC 3339 string, a number of
    seconds or milliseconds, or a decimal string of either. None if unparseable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _number_to_ms(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return _number_to_ms(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        if text.lstrip("-").isdigit():
            return _number_to_ms(int(text))
        return _number_to_ms(float(text)) if _looks_numeric(text) else _parse_iso(text)
    except (ValueError, OverflowError):
        return None


def _looks_numeric(text: str) -> bool:
    return text.replace(".", "", 1).lstrip("-").isdigit()


def _number_to_ms(number: int | float) -> int | None:
    try:
        ms = int(number * 1000) if abs(number) < _SECONDS_LIMIT else int(number)
    except (OverflowError, ValueError):
        return None
    # SQLite stores 64-bit integers: anything beyond is not a time (and would not fit).
    return ms if -_MS_LIMIT <= ms <= _MS_LIMIT else None


def _parse_iso(text: str) -> int | None:
    from datetime import datetime, timezone  # loaded on first use (see sessiondb._startup)
    global _fraction
    if _fraction is None:
        import re
        _fraction = re.compile(r"\.(\d+)")
    normalized = text.replace("Z", "+00:00").replace("z", "+00:00")
    # fromisoformat on 3.11 accepts at most 6 fractional digits: truncate (floor).
    normalized = _fraction.sub(lambda m: "." + m.group(1)[:6], normalized, count=1)
    try:
        moment = datetime.fromisoformat(normalized)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    since = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return since.days * 86_400_000 + since.seconds * 1000 + since.microseconds // 1000  # floor, exactly
