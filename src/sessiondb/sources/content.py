"""How a message's parts are spelled in ``content_full``, for every source alike.

Search indexes ``content_full`` and people read it, so a tool call looks the same
whichever agent made it: ``[Tool: NAME] args``, ``[Result] ...`` / ``[Result Error] ...``,
``[Thinking] ...``, ``[Image]``, ``[File: name]``, and tagged system texts such as
``[Summary] ...``. An
empty argument or result gives the bare label, without a trailing space.

The helpers below turn the values agents write (raw JSON fields, tool outputs that are
strings, block lists or objects) into that text.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .jsonl import loads

IMAGE = "[Image]"
DOCUMENT = "[Document]"
# Text of an unknown record kept in content_full (the whole line is in ``raw``).
UNKNOWN_PREVIEW_CHARS = 500

_json_encoder = msgspec.json.Encoder()


def tagged(tag: str, text: str = "", separator: str = " ") -> str:
    """``[tag] text`` (``[tag]`` alone when there is no text)."""
    return f"[{tag}]{separator}{text}" if text else f"[{tag}]"


def tool_call(name: str | None, args: str | None) -> str:
    """``[Tool: NAME] args``; trailing whitespace of the arguments is not kept."""
    return f"[Tool: {name or 'unknown'}] {args or ''}".rstrip()


def tool_result(body: str, *, error: bool = False) -> str:
    """``[Result] body`` or ``[Result Error] body``."""
    return tagged("Result Error" if error else "Result", body)


def thinking(text: str) -> str:
    return f"[Thinking] {text}"


def file(name: str | None) -> str:
    """An attached file: ``[File: name]``."""
    return f"[File: {name or 'file'}]"


def preview(text: str, limit: int = UNKNOWN_PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def unknown(tag: str, raw: str) -> str:
    """The searchable text of a record the parser does not know: its tag and the start of the line."""
    return f"[{tag}] {preview(raw)}"


# --------------------------------------------------------------------------- values to text
def as_text(value: Any) -> str | None:
    """A value as text: strings as they are, numbers and booleans printed, containers as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return _json_encoder.encode(value).decode("utf-8", "replace")
    except (TypeError, msgspec.EncodeError, OverflowError, RecursionError):
        return str(value)


def raw_text(raw: msgspec.Raw) -> str:
    """The JSON text of a raw field ("" when absent or null)."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    return data.decode("utf-8", "replace")


def raw_value(raw: msgspec.Raw) -> Any:
    """The decoded value of a raw JSON field; None when it is absent, null or not JSON."""
    data = bytes(raw)
    if not data or data == b"null":
        return None
    try:
        return loads(data)
    except msgspec.DecodeError:
        return None


def result_text(raw: msgspec.Raw | Any) -> str:
    """Text of a tool result: a string as is, text blocks joined, images as ``[Image]``,
    anything else as JSON. Takes a raw JSON field or an already decoded value."""
    if isinstance(raw, msgspec.Raw):
        data = bytes(raw)
        if not data or data == b"null":
            return ""
        try:
            value = loads(data)
        except msgspec.DecodeError:
            return data.decode("utf-8", "replace")
    else:
        value = raw
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                kind = item.get("type")
                if kind == "text" and isinstance(item.get("text"), str):
                    parts.append(item["text"])
                elif kind == "image":
                    parts.append(IMAGE)
                else:
                    parts.append(as_text(item) or "")
            else:
                parts.append(as_text(item) or "")
        return "\n".join(parts)
    return as_text(value) or ""


def decode_raw(raw: msgspec.Raw) -> Any:
    """A raw JSON field decoded (None when absent; the text itself when it is not JSON)."""
    text = raw_text(raw)
    if not text:
        return None
    try:
        return loads(text)
    except msgspec.DecodeError:
        return text


def text_or_none(value: Any) -> str | None:
    """A non-empty string as it is, anything else None."""
    return value if isinstance(value, str) and value else None
