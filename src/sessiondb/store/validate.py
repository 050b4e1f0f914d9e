"""Argument checks shared by the database methods: bad input gets a clear error."""

from __future__ import annotations

from collections.abc import Iterable
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

from ..errors import InvalidArgument

# SQLite integers are signed 64-bit.
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def text(name: str, value: Any, *, allow_empty: bool = False, allow_nul: bool = False) -> str:
    """A string argument. Identifiers may not hold NUL (C callers could not read them
    back); message content may, since it is kept exactly as the source had it."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if not allow_empty and not value:
        raise InvalidArgument(f"{name} must not be empty")
    if not allow_nul and "\x00" in value:
        raise InvalidArgument(f"{name} must not contain NUL characters")
    return value


def optional_text(name: str, value: Any, *, allow_nul: bool = False) -> str | None:
    return None if value is None else text(name, value, allow_empty=True, allow_nul=allow_nul)


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an integer, not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidArgument(f"{name} does not fit in 64 bits: {value}")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name} must be at least {minimum}, got {value}")
    return value


def optional_integer(name: str, value: Any) -> int | None:
    return None if value is None else integer(name, value)


def limit(value: Any, name: str = "limit") -> int:
    """A row limit; None means no limit (SQLite's -1)."""
    return -1 if value is None else integer(name, value, minimum=0)


def id_list(name: str, values: Iterable[Any]) -> list[int]:
    return [integer(name, v) for v in values]


def text_list(name: str, values: Iterable[Any]) -> list[str]:
    if isinstance(values, str):
        raise InvalidArgument(f"{name} must be a list of strings, not a single string")
    return [text(name, v) for v in values]
