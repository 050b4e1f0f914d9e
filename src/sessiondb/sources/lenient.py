"""Typed decoding that keeps lines with surprising field types.

Each source declares the fields it reads as a ``msgspec.Struct``; a well-formed line is
decoded straight into it (fast, and unknown fields are skipped). When a line is valid
JSON but a field has another JSON type than expected (``"uuid": 5``, ``"timestamp":
1768...``, ``"content": {...}``), the original collector dropped the whole line. Here
the line is decoded untyped, each known field is coerced (numbers to text, objects to
their JSON text, wrong-typed flags dropped) and the line is kept.
"""

from __future__ import annotations

import json
import re
from typing import Any, Generic, TypeVar

import msgspec
from msgspec import inspect as mi

from .content import as_text
from .jsonl import TOO_BIG as _TOO_BIG, TOO_DEEP as _TOO_DEEP

T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()


class LineError(Exception):
    """The line cannot be used at all (not JSON, not an object, undecodable)."""


# Subtrees nested deeper than this are cut from a whole document that cannot otherwise be
# decoded (``salvage_deep``): far deeper than any session format, far below the stack.
SALVAGE_DEPTH = 64


class LenientDecoder(Generic[T]):
    """``decode(data) -> (value, problem)``: ``problem`` is None for a clean line, else the
    text of what had to be coerced. Raises :class:`LineError` for unusable lines."""

    def __init__(self, struct_type: type[T], *, salvage_deep: bool = False) -> None:
        """``salvage_deep``: for whole documents (a chat file holding every message), cut
        subtrees nested too deeply to decode and keep the rest, instead of losing it all."""
        self._type = struct_type
        self._typed = msgspec.json.Decoder(struct_type)
        self._info = mi.type_info(struct_type)
        self._salvage_deep = salvage_deep

    def decode(self, data: bytes | str) -> tuple[T, str | None]:
        """Any exception a decoder can raise on hostile bytes (deep nesting, a value too
        large for memory, huge numbers) is a :class:`LineError`: one bad line."""
        try:
            return self._decode(data)
        except RecursionError:
            if not self._salvage_deep:
                raise LineError(_TOO_DEEP) from None
        except MemoryError:
            raise LineError(_TOO_BIG) from None
        except (ValueError, OverflowError) as exc:
            raise LineError(f"cannot decode: {type(exc).__name__}: {exc}") from None
        cut, count = cut_deep(data, SALVAGE_DEPTH)
        try:
            value, problem = self._decode(cut)
        except (RecursionError, MemoryError, ValueError, OverflowError):
            raise LineError(_TOO_DEEP) from None
        note = f"{count} value(s) nested deeper than {SALVAGE_DEPTH} levels dropped"
        return value, f"{note}; {problem}" if problem else note

    def _decode(self, data: bytes | str) -> tuple[T, str | None]:
        try:
            return self._typed.decode(data), None
        except msgspec.ValidationError as exc:
            problem = str(exc)
        except msgspec.DecodeError as exc:
            return self._decode_escaped(data, exc)
        try:
            obj = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            # The typed pass stopped at a wrong type before reaching the malformed part.
            return self._decode_escaped(data, exc)
        if not isinstance(obj, dict):
            raise LineError(f"not a JSON object ({type(obj).__name__})")
        ok, fixed = _coerce(obj, self._info)
        if not ok:
            raise LineError(problem)
        try:
            return self._typed.decode(_json_encoder.encode(fixed)), f"kept leniently: {problem}"
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise LineError(problem) from None

    def _decode_escaped(self, data: bytes | str, error: Exception) -> tuple[T, str | None]:
        """msgspec refuses lone UTF-16 surrogate escapes (``"\\ud800"``), which some
        writers produce when they cut a string inside an emoji. Such a line is read with
        the standard parser and the broken characters replaced, instead of being lost."""
        try:
            obj = json.loads(data, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise LineError(f"invalid JSON ({error})") from None
        if not isinstance(obj, dict):
            raise LineError(f"not a JSON object ({type(obj).__name__})")
        cleaned = json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")
        value, problem = self._decode(cleaned)
        note = "invalid surrogate escape replaced"
        return value, f"{note}; {problem}" if problem else note

    def convert(self, obj: Any) -> tuple[T, str | None]:
        """The same for an already decoded object (whole-file JSON sources)."""
        try:
            return msgspec.convert(obj, self._type), None
        except msgspec.ValidationError as exc:
            problem = str(exc)
        except RecursionError:
            raise LineError(_TOO_DEEP) from None
        if not isinstance(obj, dict):
            raise LineError(f"not a JSON object ({type(obj).__name__})")
        ok, fixed = _coerce(obj, self._info)
        if not ok:
            raise LineError(problem)
        try:
            return msgspec.convert(fixed, self._type), f"kept leniently: {problem}"
        except msgspec.ValidationError:
            raise LineError(problem) from None


_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def cut_deep(data: bytes | str, max_depth: int) -> tuple[bytes, int]:
    """``data`` with every array or object nested deeper than ``max_depth`` replaced by
    ``null``, and how many were replaced. Brackets inside strings are not counted. Only
    used after a decode failed for depth, so it may be slow."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    out: list[bytes] = []
    depth, copied, cut_from, count = 0, 0, -1, 0
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token[:1] == b'"':
            continue
        if token in (b"[", b"{"):
            depth += 1
            if depth == max_depth + 1:
                cut_from = match.start()
        else:
            if depth == max_depth + 1 and cut_from >= 0:
                out.append(raw[copied:cut_from])
                out.append(b"null")
                copied, cut_from = match.end(), -1
                count += 1
            depth -= 1
    if cut_from >= 0:   # unterminated: cut to the end, the decoder reports what remains
        out.append(raw[copied:cut_from])
        out.append(b"null")
        copied, count = len(raw), count + 1
    out.append(raw[copied:])
    return b"".join(out), count


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _coerce(value: Any, info: Any) -> tuple[bool, Any]:
    """(ok, value) with ``value`` made to fit ``info`` where that keeps its meaning."""
    if isinstance(info, (mi.AnyType, mi.RawType)):
        return True, value
    if isinstance(info, mi.UnionType):
        if value is None:
            return (True, None) if any(isinstance(t, mi.NoneType) for t in info.types) else (False, None)
        for t in info.types:
            if _fits(value, t):
                return _coerce(value, t)
        for t in info.types:
            if not isinstance(t, mi.NoneType):
                ok, fixed = _coerce(value, t)
                if ok:
                    return True, fixed
        return False, None
    if isinstance(info, mi.NoneType):
        return value is None, None
    if isinstance(info, mi.StrType):
        text = as_text(value)
        return text is not None, text
    if isinstance(info, mi.BoolType):
        return isinstance(value, bool), value
    if isinstance(info, mi.IntType):
        if isinstance(value, bool):
            return False, None
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return True, int(value)
        return False, None
    if isinstance(info, mi.FloatType):
        return (isinstance(value, (int, float)) and not isinstance(value, bool)), value
    if isinstance(info, mi.StructType):
        if not isinstance(value, dict):
            return False, None
        fixed = {}
        for f in info.fields:
            if f.encode_name in value:
                ok, v = _coerce(value[f.encode_name], f.type)
                if ok:
                    fixed[f.encode_name] = v
        return True, fixed
    if isinstance(info, mi.ListType):
        if not isinstance(value, list):
            return False, None
        items = []
        for item in value:
            ok, v = _coerce(item, info.item_type)
            if ok:
                items.append(v)
        return True, items
    if isinstance(info, mi.DictType):
        return isinstance(value, dict), value
    return False, None


def _fits(value: Any, info: Any) -> bool:
    if isinstance(info, (mi.AnyType, mi.RawType)):
        return True
    if isinstance(info, mi.NoneType):
        return value is None
    if isinstance(info, mi.StrType):
        return isinstance(value, str)
    if isinstance(info, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(info, mi.IntType):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(info, mi.FloatType):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(info, mi.StructType):
        return isinstance(value, dict)
    if isinstance(info, mi.ListType):
        return isinstance(value, list)
    if isinstance(info, mi.DictType):
        return isinstance(value, dict)
    return False


def decode_line(decoder: LenientDecoder[T], line: bytes, offset: int, issues: Any) -> tuple[T, str] | None:
    """Decode one JSONL line (without its newline) leniently.

    Invalid UTF-8 is kept with replacement characters; a line with any problem is
    counted once in ``issues`` (a ParseIssues). Returns (record, the line's text), or
    None when nothing could be read from it. ``offset`` is where the line starts.
    """
    where = f"line at byte {offset}"
    encoding_problem = None
    try:
        text = line.decode("utf-8")
        data: bytes | str = line
    except UnicodeDecodeError as exc:
        text = line.decode("utf-8", "replace")
        data = text
        encoding_problem = f"invalid UTF-8 at position {exc.start}; kept with replacement characters"
    try:
        record, problem = decoder.decode(data)
    except LineError as exc:
        issues.bad(where, f"{encoding_problem}; {exc}" if encoding_problem else str(exc))
        return None
    if problem or encoding_problem:
        # One bad line is counted once, whatever was wrong with it.
        issues.bad(where, "; ".join(p for p in (encoding_problem, problem) if p))
    return record, text


def decode_file(decoder: LenientDecoder[T], path: str, issues: Any, *, size: int, max_bytes: int) -> T | None:
    """A whole JSON file decoded leniently, for sources whose files are one JSON document.

    A file larger than ``max_bytes`` is refused unread (memory stays bounded); invalid
    UTF-8 is replaced. Any problem is counted in ``issues``; None when nothing could be read.
    """
    if size > max_bytes:
        issues.bad(path, f"file larger than {max_bytes} bytes; not read")
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        issues.bad(path, f"cannot read: {exc.strerror or exc}")
        return None
    try:
        try:
            value, problem = decoder.decode(data)
        except UnicodeDecodeError:
            value, problem = decoder.decode(data.decode("utf-8", "replace"))
            problem = "invalid UTF-8 replaced" + (f"; {problem}" if problem else "")
    except LineError as exc:
        issues.bad(path, str(exc))
        return None
    if problem:
        issues.bad(path, problem)
    return value
