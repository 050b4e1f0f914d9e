"""Gemini CLI: ``<root>/<project>/chats/session-*.json`` (and ``session-*.jsonl``).

Roots: the argument, ``$GEMINI_TMP_PATH``, ``$GEMINI_CLI_HOME/.gemini/tmp``, else
``~/.gemini/tmp``. ``<project>`` is a hash of the project directory (newer versions
write the directory into ``<project>/.project_root``); subagent chats live in
``chats/<parent session>/``.

A chat file is rewritten in place as the conversation goes on (tool results are
filled into earlier messages, ``$rewindTo`` drops later ones), so it is not read
incrementally: a changed file is read whole, and a message whose text changed is
updated in the database. Messages that a rewind removed from the file stay in the
database (it is an archive).

``user`` -> USER; ``gemini`` -> ASSISTANT (``[Thinking] subject: description`` for each
thought, ``[Tool: NAME] {args}`` and ``[Result] ...`` for each tool call); ``info``,
``error`` and ``warning`` -> SYSTEM; anything else is SYSTEM and counted as unknown.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import roots as roots_module
from .claude import raw_text, result_text
from .jsonl import LineReader, timestamp_ms
from .lenient import LenientDecoder, LineError, as_text
from .records import (SOURCE_GEMINI, MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, clean_id,
                      preview, project_name_of, stat_unit, synthetic_uuid)

SOURCE = SOURCE_GEMINI
PARSER_VERSION = 1
_SUFFIXES = (".json", ".jsonl")
# A chat file is read whole; beyond this it is refused (a clear error) to bound memory.
MAX_JSON_FILE_BYTES = 256 << 20


# The environment variables default_roots reads, in order (for help texts).
ROOT_VARIABLES = ("GEMINI_TMP_PATH", "GEMINI_CLI_HOME")


def default_roots() -> list[Path]:
    direct = roots_module.split_env("GEMINI_TMP_PATH")
    if direct:
        return direct
    homes = roots_module.split_env("GEMINI_CLI_HOME")
    if homes:
        return [h / ".gemini" / "tmp" for h in homes]
    return [roots_module.home() / ".gemini" / "tmp"]


def resolve_roots(roots: Any = None) -> list[Path]:
    return roots_module.dedupe(roots_module.explicit(roots) or default_roots())


def _is_chat(name: str) -> bool:
    return name.startswith("session-") and name.endswith(_SUFFIXES)


def discover(roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
    for root in roots:
        for project in roots_module.list_dir(root, sort=True):
            if project.name.startswith(".") or project.name == "bin" or not roots_module.is_dir(project):
                continue
            chats = os.path.join(project.path, "chats")
            for entry in roots_module.list_dir(chats, sort=True):
                if _is_chat(entry.name):
                    unit = _unit(entry.path, project.name, None)
                    if unit:
                        yield unit
                elif roots_module.is_dir(entry) and not entry.name.startswith("."):
                    for sub in roots_module.list_dir(entry.path, sort=True):
                        if _is_chat(sub.name):
                            unit = _unit(sub.path, project.name, entry.name)
                            if unit:
                                yield unit


def unit_for_path(path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
    for root in roots:
        rel = roots_module.is_within(path, root)
        if rel is None or not _is_chat(rel.name):
            continue
        parts = rel.parts
        if len(parts) == 3 and parts[1] == "chats":
            return _unit(os.path.join(root, *parts), parts[0], None)
        if len(parts) == 4 and parts[1] == "chats":
            return _unit(os.path.join(root, *parts), parts[0], parts[2])
    return None


def _unit(path: str, project: str, parent: str | None) -> SourceUnit | None:
    context: dict[str, Any] = {"project_dir": project}
    if parent:
        context["parent_session_id"] = parent
    return stat_unit(SOURCE, path, incremental=False, context=context)






# --------------------------------------------------------------------------- schema
class ToolCall(msgspec.Struct):
    id: str | None = None
    name: str | None = None
    displayName: str | None = None
    args: msgspec.Raw = msgspec.Raw(b"")
    result: msgspec.Raw = msgspec.Raw(b"")
    resultDisplay: msgspec.Raw = msgspec.Raw(b"")
    status: str | None = None


class Thought(msgspec.Struct):
    subject: str | None = None
    description: str | None = None


class ChatMessage(msgspec.Struct):
    id: str | None = None
    timestamp: str | None = None
    type: str | None = None
    content: msgspec.Raw = msgspec.Raw(b"")
    thoughts: list[Thought] | None = None
    toolCalls: list[ToolCall] | None = None
    model: str | None = None


class ChatFile(msgspec.Struct):
    sessionId: str | None = None
    projectHash: str | None = None
    startTime: str | None = None
    lastUpdated: str | None = None
    messages: list[msgspec.Raw] | None = None


MESSAGE = LenientDecoder(ChatMessage)
CHAT = LenientDecoder(ChatFile)


def content_text(raw: msgspec.Raw) -> str:
    """``content`` is a string, or a list of parts (``{"text": ...}``, function calls, ...)."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and "inlineData" in part:
                parts.append("[Image]")
        return "\n".join(p for p in parts if p)
    return as_text(value) or ""


def compact_json(raw: msgspec.Raw) -> str:
    """A raw JSON value re-encoded compactly (the file may be pretty-printed), "" if absent."""
    text = raw_text(raw)
    if not text:
        return ""
    try:
        return msgspec.json.encode(msgspec.json.decode(text)).decode("utf-8")
    except (msgspec.DecodeError, msgspec.EncodeError):
        return text


def _tool_result(call: ToolCall) -> str:
    display = raw_text(call.resultDisplay)
    if display:
        try:
            value = msgspec.json.decode(display)
        except msgspec.DecodeError:
            value = display
        if isinstance(value, str) and value:
            return value
    data = bytes(call.result)
    if not data or data == b"null":
        return ""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")
    outputs = []
    for part in value if isinstance(value, list) else [value]:
        if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            response = part["functionResponse"].get("response")
            if isinstance(response, dict) and "output" in response:
                outputs.append(result_text(response["output"]))
                continue
            outputs.append(as_text(response) or "")
        else:
            outputs.append(result_text(part))
    return "\n".join(o for o in outputs if o)


def parse(unit: SourceUnit) -> ParsedUnit:
    """Read one chat file (``.json`` whole, ``.jsonl`` line by line)."""
    path = unit.path
    issues = ParseIssues()
    header: dict[str, Any] = {}
    raw_messages: list[tuple[bytes, str]] = []
    if path.endswith(".jsonl"):
        for line, end in LineReader(path):
            if not line.strip():
                continue
            _jsonl_line(line, end - len(line) - 1, header, raw_messages, issues)
    else:
        if unit.size > MAX_JSON_FILE_BYTES:
            issues.bad(path, f"chat file larger than {MAX_JSON_FILE_BYTES} bytes; not read")
            return ParsedUnit(None, issues=issues)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            issues.bad(path, f"cannot read: {exc.strerror or exc}")
            return ParsedUnit(None, issues=issues)
        try:
            chat, problem = CHAT.decode(data)
        except LineError as exc:
            issues.bad(path, str(exc))
            return ParsedUnit(None, issues=issues)
        except UnicodeDecodeError:
            try:
                chat, problem = CHAT.decode(data.decode("utf-8", "replace"))
                problem = "invalid UTF-8 replaced" + (f"; {problem}" if problem else "")
            except LineError as exc:
                issues.bad(path, str(exc))
                return ParsedUnit(None, issues=issues)
        if problem:
            issues.bad(path, problem)
        header = {"sessionId": chat.sessionId, "projectHash": chat.projectHash, "startTime": chat.startTime}
        for index, raw in enumerate(chat.messages or []):
            raw_messages.append((bytes(raw), f"message {index}"))
    return _build(unit, header, raw_messages, issues)


def _jsonl_line(line: bytes, offset: int, header: dict[str, Any], out: list[tuple[bytes, str]],
                issues: ParseIssues) -> None:
    where = f"line at byte {offset}"
    try:
        obj = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        issues.bad(where, f"invalid JSON ({exc})")
        return
    if not isinstance(obj, dict):
        issues.bad(where, f"not a JSON object ({type(obj).__name__})")
        return
    if "$rewindTo" in obj:
        issues.skipped_records["$rewindTo"] += 1
        return
    if "$set" in obj:
        update = obj["$set"]
        if isinstance(update, dict):
            for key in ("sessionId", "projectHash", "startTime"):
                if isinstance(update.get(key), str):
                    header[key] = update[key]
            for index, message in enumerate(update.get("messages") or []):
                out.append((msgspec.json.encode(message), f"{where} message {index}"))
        return
    if "type" in obj and ("content" in obj or "id" in obj or "toolCalls" in obj):
        out.append((line, where))
        return
    for key in ("sessionId", "projectHash", "startTime"):
        if isinstance(obj.get(key), str):
            header[key] = obj[key]


def _build(unit: SourceUnit, header: dict[str, Any], raw_messages: list[tuple[bytes, str]],
           issues: ParseIssues) -> ParsedUnit:
    session_id = clean_id(header.get("sessionId") or Path(unit.path).stem)
    project_dir = unit.context.get("project_dir") or Path(unit.path).parent.parent.name
    project_path, project_name = _project(unit, project_dir)
    meta: dict[str, Any] = {"project_hash": header.get("projectHash") or project_dir}
    if unit.context.get("parent_session_id"):
        meta["parent_session_id"] = unit.context["parent_session_id"]
        meta["session_type"] = "subagent"
    session = SessionRecord(session_id, SOURCE, project_path=project_path, project_name=project_name,
                            encoded_dir_name=project_dir, meta=meta)
    last_ts = timestamp_ms(header.get("startTime")) or unit.mtime_ns // 1_000_000
    messages: list[MessageRecord] = []
    seen: set[str] = set()
    for data, where in raw_messages:
        try:
            message, problem = MESSAGE.decode(data)
        except (LineError, UnicodeDecodeError) as exc:
            issues.bad(where, str(exc))
            continue
        if problem:
            issues.bad(where, problem)
        ts = timestamp_ms(message.timestamp) if message.timestamp else None
        if ts is not None:
            last_ts = ts
        record = _message(session, message, data.decode("utf-8", "replace"), last_ts, len(messages), issues)
        if record is None:
            continue
        if record.uuid in seen:
            continue   # a $set rewrite repeats earlier messages
        seen.add(record.uuid)
        messages.append(record)
        if record.model:
            session.model = record.model
    return ParsedUnit(session, messages, issues)


def _project(unit: SourceUnit, project_dir: str) -> tuple[str, str]:
    marker = Path(unit.path).parents[2 if unit.context.get("parent_session_id") else 1] / ".project_root"
    try:
        text = marker.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    if text:
        return text, project_name_of(text) or text
    return f"gemini:{project_dir}", f"Project-{project_dir[:8]}"


def _message(session: SessionRecord, m: ChatMessage, raw: str, ts: int, sequence: int,
             issues: ParseIssues) -> MessageRecord | None:
    text = content_text(m.content)
    full_parts = [text] if text else []
    for thought in m.thoughts or []:
        summary = ": ".join(p for p in (thought.subject, thought.description) if p)
        if summary:
            full_parts.append(f"[Thinking] {summary}")
    tool = None
    for call in m.toolCalls or []:
        name = call.name or call.displayName or "unknown"
        args = compact_json(call.args)
        full_parts.append(f"[Tool: {name}] {args}".rstrip())
        result = _tool_result(call)
        if result:
            full_parts.append(f"{'[Result Error]' if call.status == 'error' else '[Result]'} {result}")
        tool = (call.id, call.name or call.displayName, args or None)
    kind = m.type or ""
    if kind == "user":
        message_type = MessageType.USER
    elif kind in ("gemini", "model", "assistant"):
        message_type = MessageType.ASSISTANT
    elif kind in ("info", "error", "warning"):
        message_type = MessageType.SYSTEM
        full_parts = [f"[{kind}] {text}"] + full_parts[1:] if text else [f"[{kind}]"]
    else:
        issues.unknown_records[kind or "(no type)"] += 1
        message_type = MessageType.SYSTEM
        full_parts = [f"[{kind or 'unknown'}] {preview(raw)}"]
    full = "\n".join(full_parts)
    if not full:
        issues.skipped_records[f"{kind}:empty"] += 1
        return None
    uuid = m.id or synthetic_uuid(session.session_id, kind or "message", raw)
    record = MessageRecord(clean_id(uuid), message_type, text if message_type != MessageType.SYSTEM else "", full,
                           ts, sequence, m.model, raw=raw)
    if tool is not None:
        record.tool_call_id, record.tool_name, record.tool_args = tool
    return record
