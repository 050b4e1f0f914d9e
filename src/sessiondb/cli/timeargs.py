"""Reading the dates people type: ``2026-01-31``, ``2026-01-31T09:30``, ``7d``, ``12h``,
``today``, ``yesterday`` or epoch milliseconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..timeutil import now_ms, parse_timestamp_ms

_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


class BadDate(ValueError):
    pass


def parse_when(text: str, *, end_of_day: bool = False) -> int:
    """Epoch ms for a user-typed time; plain dates are local midnight (or the end of
    that day for an upper bound)."""
    value = text.strip()
    lowered = value.lower()
    if lowered in ("now",):
        return now_ms()
    if lowered in ("today", "yesterday"):
        day = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        if lowered == "yesterday":
            day -= timedelta(days=1)
        return _local_ms(day, end_of_day)
    match = _RELATIVE.match(value)
    if match:
        return now_ms() - int(match.group(1)) * _UNIT_MS[match.group(2).lower()]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return _local_ms(datetime.strptime(value, "%Y-%m-%d"), end_of_day)
        except ValueError as exc:
            raise BadDate(f"not a date: {text!r}") from exc
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", value):
        try:
            return int(datetime.fromisoformat(value.replace(" ", "T")).timestamp() * 1000)
        except ValueError as exc:
            raise BadDate(f"not a date: {text!r}") from exc
    parsed = parse_timestamp_ms(value)
    if parsed is None:
        raise BadDate(f"not a date: {text!r}")
    return parsed


def _local_ms(day: datetime, end_of_day: bool) -> int:
    if end_of_day:
        day = day + timedelta(days=1) - timedelta(milliseconds=1)
    return int(day.timestamp() * 1000)
