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
``error`` and ``warning`` -> SYSTEM; anything else is SYSTEM and counted as unknown. A
message without a ``timestamp`` takes the previous message's time (the chat's
``startTime`` for the first ones), else the next one's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import content
from . import roots as roots_module
from . import tokens
from .base import Recorder, WholeSource, own_time
from .jsonl import LineReader, loads
from .lenient import LenientDecoder, LineError, decode_file
from .records import MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, UsageRecord, clean_id, \
    project_name_of
from .roots import RootSpec

_SUFFIXES = (".json", ".jsonl")
# A chat file is read whole; beyond this it is refused (a clear error) to bound memory.
MAX_JSON_FILE_BYTES = 256 << 20


class GeminiSource(WholeSource):
    name = "gemini"
    title = "Gemini CLI"
    # 2: records without a time take the nearest timed record's (not the file's mtime).
    # 3: token usage of replies.
    parser_version = 3
    channel = "cli"
    roots_spec = RootSpec("GEMINI_TMP_PATH", (("GEMINI_CLI_HOME", ".gemini/tmp"),), (".gemini/tmp",))
    file_suffixes = (".json", ".jsonl")

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for project in roots_module.list_dir(root, sort=True):
                if project.name.startswith(".") or project.name == "bin" or not roots_module.is_dir(project):
                    continue
                chats = os.path.join(project.path, "chats")
                for entry in roots_module.list_dir(chats, sort=True):
                    if _is_chat(entry.name):
                        unit = self._unit(entry.path, project.name, None)
                        if unit:
                            yield unit
                    elif roots_module.is_dir(entry) and not entry.name.startswith("."):
                        for sub in roots_module.list_dir(entry.path, sort=True):
                            if _is_chat(sub.name):
                                unit = self._unit(sub.path, project.name, entry.name)
                                if unit:
                                    yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        for root in roots:
            rel = roots_module.is_within(path, root)
            if rel is None or not _is_chat(rel.name):
                continue
            parts = rel.parts
            if len(parts) == 3 and parts[1] == "chats":
                return self._unit(os.path.join(root, *parts), parts[0], None)
            if len(parts) == 4 and parts[1] == "chats":
                return self._unit(os.path.join(root, *parts), parts[0], parts[2])
        return None

    def _unit(self, path: str, project: str, parent: str | None) -> SourceUnit | None:
        context: dict[str, Any] = {"project_dir": project}
        if parent:
            context["parent_session_id"] = parent
        return self.stat_unit(path, context=context)

    def parse(self, unit: SourceUnit) -> ParsedUnit:
        """Read one chat file (``.json`` whole, ``.jsonl`` line by line)."""
        issues = ParseIssues()
        if unit.path.endswith(".jsonl"):
            header: dict[str, Any] = {}
            raw_messages: list[tuple[bytes, str]] = []
            for line, end in LineReader(unit.path):
                if line.strip():
                    _jsonl_line(line, end - len(line) - 1, header, raw_messages, issues)
            return self._build(unit, header, raw_messages, issues)
        chat = decode_file(CHAT, unit.path, issues, size=unit.size, max_bytes=MAX_JSON_FILE_BYTES)
        if chat is None:
            return ParsedUnit(None, issues=issues)
        header = {"sessionId": chat.sessionId, "projectHash": chat.projectHash, "startTime": chat.startTime}
        return self._build(unit, header, [(bytes(raw), f"message {i}") for i, raw in enumerate(chat.messages or [])],
                           issues)

    def _build(self, unit: SourceUnit, header: dict[str, Any], raw_messages: list[tuple[bytes, str]],
               issues: ParseIssues) -> ParsedUnit:
        session_id = clean_id(header.get("sessionId") or Path(unit.path).stem)
        project_dir = unit.context.get("project_dir") or Path(unit.path).parent.parent.name
        project_path, project_name = _project(unit, project_dir)
        meta: dict[str, Any] = {"project_hash": header.get("projectHash") or project_dir}
        if unit.context.get("parent_session_id"):
            meta["parent_session_id"] = unit.context["parent_session_id"]
            meta["session_type"] = "subagent"
        session = SessionRecord(session_id, self.name, project_path=project_path, project_name=project_name,
                                encoded_dir_name=project_dir, meta=meta)
        # The chat's start time dates the messages before the first that has its own.
        out = Recorder(session_id, timeline=Timeline(own_time(header.get("startTime"))))
        out.issues = issues
        seen: set[str] = set()
        for data, where in raw_messages:
            try:
                message, problem = MESSAGE.decode(data)
            except (LineError, UnicodeDecodeError) as exc:
                issues.bad(where, str(exc))
                continue
            if problem:
                issues.bad(where, problem)
            record = _message(out, message, data.decode("utf-8", "replace"), seen)
            if record is not None and record.model:
                session.model = record.model
        return out.parsed(session)


def _is_chat(name: str) -> bool:
    return name.startswith("session-") and name.endswith(_SUFFIXES)


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
    tokens: msgspec.Raw = msgspec.Raw(b"")


class ChatFile(msgspec.Struct):
    sessionId: str | None = None
    projectHash: str | None = None
    startTime: str | None = None
    lastUpdated: str | None = None
    messages: list[msgspec.Raw] | None = None


MESSAGE = LenientDecoder(ChatMessage)
CHAT = LenientDecoder(ChatFile, salvage_deep=True)


def content_text(raw: msgspec.Raw) -> str:
    """``content`` is a string, or a list of parts (``{"text": ...}``, function calls, ...)."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    try:
        value = loads(data)
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
                parts.append(content.IMAGE)
        return "\n".join(p for p in parts if p)
    return content.as_text(value) or ""


def compact_json(raw: msgspec.Raw) -> str:
    """A raw JSON value re-encoded compactly (the file may be pretty-printed), "" if absent."""
    text = content.raw_text(raw)
    if not text:
        return ""
    try:
        return msgspec.json.encode(loads(text)).decode("utf-8")
    except (msgspec.DecodeError, msgspec.EncodeError):
        return text


def _tool_result(call: ToolCall) -> str:
    display = content.raw_text(call.resultDisplay)
    if display:
        try:
            value = loads(display)
        except msgspec.DecodeError:
            value = display
        if isinstance(value, str) and value:
            return value
    data = bytes(call.result)
    if not data or data == b"null":
        return ""
    try:
        value = loads(data)
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")
    outputs = []
    for part in value if isinstance(value, list) else [value]:
        if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            response = part["functionResponse"].get("response")
            if isinstance(response, dict) and "output" in response:
                outputs.append(content.result_text(response["output"]))
                continue
            outputs.append(content.as_text(response) or "")
        else:
            outputs.append(content.result_text(part))
    return "\n".join(o for o in outputs if o)


def _jsonl_line(line: bytes, offset: int, header: dict[str, Any], out: list[tuple[bytes, str]],
                issues: ParseIssues) -> None:
    where = f"line at byte {offset}"
    try:
        obj = loads(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        issues.bad(where, f"invalid JSON ({exc})")
        return
    if not isinstance(obj, dict):
        issues.bad(where, f"not a JSON object ({type(obj).__name__})")
        return
    if "$rewindTo" in obj:
        issues.skip("$rewindTo")
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


def _project(unit: SourceUnit, project_dir: str) -> tuple[str, str]:
    marker = Path(unit.path).parents[2 if unit.context.get("parent_session_id") else 1] / ".project_root"
    try:
        text = marker.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    if text:
        return text, project_name_of(text) or text
    return f"gemini:{project_dir}", f"Project-{project_dir[:8]}"


def _message(out: Recorder, m: ChatMessage, raw: str, seen: set[str]) -> MessageRecord | None:
    """The record of one chat message (None for an empty one or a repeat)."""
    kind = m.type or ""
    uuid = clean_id(m.id or out.synthetic_uuid(kind or "message", raw))
    if uuid in seen:
        return None   # a $set rewrite repeats earlier messages
    at = own_time(m.timestamp or None)
    if kind not in ("user", "gemini", "model", "assistant", "info", "error", "warning"):
        seen.add(uuid)
        return out.unknown(kind or "(no type)", raw, uuid=uuid, at=at, tag=kind or "unknown", model=m.model)
    text = content_text(m.content)
    full_parts = [text] if text else []
    for thought in m.thoughts or []:
        summary = ": ".join(p for p in (thought.subject, thought.description) if p)
        if summary:
            full_parts.append(content.thinking(summary))
    tool = None
    for call in m.toolCalls or []:
        args = compact_json(call.args)
        full_parts.append(content.tool_call(call.name or call.displayName, args))
        result = _tool_result(call)
        if result:
            full_parts.append(content.tool_result(result, error=call.status == "error"))
        tool = (call.id, call.name or call.displayName, args or None)
    if kind == "user":
        message_type = MessageType.USER
    elif kind in ("info", "error", "warning"):
        message_type = MessageType.SYSTEM
        full_parts = [content.tagged(kind, text)] + full_parts[1:] if text else [content.tagged(kind)]
    else:
        message_type = MessageType.ASSISTANT
    full = "\n".join(full_parts)
    usage = _usage(m, uuid, at) if message_type == MessageType.ASSISTANT else None
    if not full:
        out.skip(f"{kind}:empty")
        if usage is not None:
            out.add_usage(usage)
        return None
    seen.add(uuid)
    record = out.emit(uuid, message_type, text if message_type != MessageType.SYSTEM else "", full, raw, at=at,
                      model=m.model, tool=tool)
    if usage is not None:
        out.add_usage(usage, record)
    return record


def _usage(m: ChatMessage, uuid: str, at: int | None) -> UsageRecord | None:
    """A reply's ``tokens`` (one model call; keyed by the message's id)."""
    data = content.raw_value(m.tokens)
    if data is None:
        return None
    return tokens.google(data, uuid, model=m.model, request_id=m.id or None, message_uuid=uuid, timestamp=at)


SOURCE = GeminiSource()
