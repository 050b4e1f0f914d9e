"""Checking tool arguments against the tools' own JSON schemas, reading dates, cursors.

The validator understands exactly the schema keywords the tools use (``type``,
``enum``, ``minimum``, ``minLength``, ``maxLength``, ``required``,
``additionalProperties: false``), so what a tool advertises is what it accepts, and
every refusal names the argument and says what would be accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date, datetime, timedelta
from typing import Any


class ToolError(Exception):
    """A mistake the agent can fix, or a state it should know about: sent back as an
    ``isError`` tool result with this message."""


_JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "integer":
        # JSON has one number type: 5.0 is an integer, True is not.
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[kind])


def check_arguments(schema: dict[str, Any], arguments: Any) -> dict[str, Any]:
    """The arguments, checked against ``schema``; integers come back as ``int``."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolError("arguments must be a JSON object")
    props: dict[str, dict[str, Any]] = schema.get("properties", {})
    unknown = sorted(k for k in arguments if k not in props)
    if unknown:
        raise ToolError(f"unknown argument {unknown[0]!r}; this tool takes: {', '.join(props) or 'no arguments'}")
    for name in schema.get("required", ()):
        if arguments.get(name) is None:
            raise ToolError(f"missing required argument {name!r}")
    checked: dict[str, Any] = {}
    for name, value in arguments.items():
        if value is None:        # an explicit null means "not given"
            continue
        spec = props[name]
        kind = spec["type"]
        if not _type_ok(value, kind):
            raise ToolError(f"{name} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}, "
                            f"not {json.dumps(value, ensure_ascii=False)[:80]}")
        if kind == "integer":
            value = int(value)
            if not -2 ** 63 <= value < 2 ** 63:
                raise ToolError(f"{name} is out of range: {value}")
            if "minimum" in spec and value < spec["minimum"]:
                raise ToolError(f"{name} must be at least {spec['minimum']}, not {value}")
        if kind == "string":
            if "\x00" in value:
                raise ToolError(f"{name} must not contain NUL characters")
            if len(value) < spec.get("minLength", 0):
                raise ToolError(f"{name} must not be empty")
            if "maxLength" in spec and len(value) > spec["maxLength"]:
                raise ToolError(f"{name} is too long ({len(value)} characters; at most {spec['maxLength']})")
        if "enum" in spec and value not in spec["enum"]:
            raise ToolError(f"{name} must be one of {', '.join(map(str, spec['enum']))}, not "
                            f"{json.dumps(value, ensure_ascii=False)[:80]}")
        checked[name] = value
    return checked


# ---------------------------------------------------------------------- dates
_RELATIVE = re.compile(r"^(\d{1,6})\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNIT = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
         "w": timedelta(weeks=1)}
DATE_FORMS = "2026-01-31, 2026-01-31T09:30, an ISO time with offset, 7d, 12h, 30m, 2w, today or yesterday"


def parse_time(name: str, text: str, *, end: bool = False, now: datetime | None = None) -> int:
    """Epoch ms for a time an agent gives. A plain date is local midnight (the end of
    that day for an upper bound); a time without an offset is local time."""
    value = text.strip()
    lowered = value.lower()
    current = now or datetime.now().astimezone()
    if lowered == "now":
        return int(current.timestamp() * 1000)
    if lowered in ("today", "yesterday"):
        day = current.replace(hour=0, minute=0, second=0, microsecond=0)
        if lowered == "yesterday":
            day = _local_day(day.date() - timedelta(days=1))
        return _day_ms(day, end)
    relative = _RELATIVE.match(value)
    if relative:
        try:
            return int((current - int(relative.group(1)) * _UNIT[relative.group(2).lower()]).timestamp() * 1000)
        except OverflowError:
            raise ToolError(f"{name}: {text[:80]!r} reaches before the year 1") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return _day_ms(_local_day(datetime.strptime(value, "%Y-%m-%d").date()), end)
        except (ValueError, OverflowError, OSError):
            pass
    elif re.fullmatch(r"\d{9,15}", value):
        return int(value)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.astimezone()
            return int(moment.timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            pass
    raise ToolError(f"{name}: not a time: {text[:80]!r}; use {DATE_FORMS}")


def _local_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day).astimezone()


def _day_ms(day: datetime, end: bool) -> int:
    if end:
        day = _local_day(day.date() + timedelta(days=1)) - timedelta(milliseconds=1)
    return int(day.timestamp() * 1000)


def iso_time(ms: int | None) -> str | None:
    """Local time with its offset, to the second: what agents read and can pass back."""
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


# ---------------------------------------------------------------------- cursors
def query_key(tool: str, arguments: dict[str, Any]) -> str:
    """A short digest of what a page depends on (every argument but limit and cursor)."""
    fixed = {k: v for k, v in arguments.items() if k not in ("limit", "cursor")}
    digest = hashlib.blake2s(json.dumps([tool, fixed], sort_keys=True, ensure_ascii=False).encode(), digest_size=6)
    return digest.hexdigest()


def make_cursor(tool: str, arguments: dict[str, Any], offset: int) -> str:
    payload = json.dumps({"o": offset, "k": query_key(tool, arguments)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def read_cursor(tool: str, arguments: dict[str, Any]) -> int | None:
    """The offset a continuation cursor points at, None without one."""
    cursor = arguments.get("cursor")
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        offset, key = payload["o"], payload["k"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(offset)
    except (ValueError, KeyError, TypeError):
        raise ToolError("cursor is not one this server gave out; drop it to start from the beginning") from None
    if key != query_key(tool, arguments):
        raise ToolError("cursor belongs to other arguments: repeat the call that returned it with the same "
                        "arguments (only limit may change), or drop the cursor")
    return offset
