"""Codex CLI: rollout files ``sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl`` and
``archived_sessions/rollout-*.jsonl`` under ``$CODEX_HOME`` (default ``~/.codex``).

Roots: the argument, ``$CODEX_PATH``, ``$CODEX_HOME``, else ``~/.codex``. Files are
found by scanning (``history.jsonl`` misses sessions when history is off, and for
archived or ``codex exec`` runs). Compressed ``.jsonl.zst`` rollouts are not read.

A line is ``{"timestamp", "type", "payload"}``. The session id is the id in the
rollout's ``session_meta`` (falling back to the uuid at the end of the file name);
``turn_context`` gives the model. ``response_item`` payloads become messages:

* ``message``: ``user`` USER (injected ``<environment_context>`` / AGENTS.md
  instructions are SYSTEM), ``assistant`` ASSISTANT, ``developer``/``system`` SYSTEM;
* ``reasoning``: ASSISTANT ``[Thinking] <summary>`` (encrypted-only items are skipped);
* ``function_call`` / ``custom_tool_call`` / ``local_shell_call`` / ``web_search_call``:
  ASSISTANT ``[Tool: NAME] <arguments>`` with ``call_id``, name and arguments;
* ``function_call_output`` / ``custom_tool_call_output``: TOOL ``[Result] <output>``.

``compacted`` lines are SYSTEM ``[Compacted Summary]``. ``event_msg`` lines repeat the
response items (plus token counts) and are counted as skipped. Timestamps are
converted to milliseconds (the original stored the collection time instead).
"""

from __future__ import annotations

import os
import re
import stat as stat_module
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import roots as roots_module
from .claude import raw_text, result_text
from .jsonl import timestamp_ms
from .lenient import LenientDecoder, LineError, decode_line
from .records import (SOURCE_CODEX, MessageRecord, ParseIssues, SessionRecord, SourceUnit, clean_id, preview,
                      project_name_of, synthetic_uuid)

SOURCE = SOURCE_CODEX
PARSER_VERSION = 1
_ROLLOUT = re.compile(r"^rollout-.*\.jsonl$")
_UUID_TAIL = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
_INJECTED_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions",
                      "<permissions instructions>")
_SKIPPED_ITEMS = frozenset({"ghost_snapshot"})


# The environment variables default_roots reads, in order (for help texts).
ROOT_VARIABLES = ("CODEX_PATH", "CODEX_HOME")


def default_roots() -> list[Path]:
    for name in ("CODEX_PATH", "CODEX_HOME"):
        found = roots_module.split_env(name)
        if found:
            return found
    return [roots_module.home() / ".codex"]


def resolve_roots(roots: Any = None) -> list[Path]:
    return roots_module.dedupe(roots_module.explicit(roots) or default_roots())


def discover(roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
    for root in roots:
        yield from _walk(root / "sessions", root)
        yield from _walk(root / "archived_sessions", root)


def _walk(directory: Path, root: Path) -> Iterator[SourceUnit]:
    stack = [str(directory)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir():
                    if not entry.name.startswith("."):
                        stack.append(entry.path)
                    continue
                if not _ROLLOUT.match(entry.name):
                    continue
                st = entry.stat()
            except OSError:
                continue
            if stat_module.S_ISREG(st.st_mode):
                yield SourceUnit(SOURCE, entry.path, entry.path, st.st_size, st.st_mtime_ns, st.st_ino,
                                 incremental=True, context={"root": str(root)})


def unit_for_path(path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
    for root in roots:
        rel = roots_module.is_within(path, root)
        if rel is None or not rel.parts or rel.parts[0] not in ("sessions", "archived_sessions"):
            continue
        if not _ROLLOUT.match(rel.name):
            return None
        full = os.path.join(root, *rel.parts)
        try:
            st = os.stat(full)
        except OSError:
            return None
        if not stat_module.S_ISREG(st.st_mode):
            return None
        return SourceUnit(SOURCE, full, full, st.st_size, st.st_mtime_ns, st.st_ino, incremental=True,
                          context={"root": str(root)})
    return None


def session_id_from_name(path: str) -> str:
    """``rollout-2025-09-01T10-00-00-<uuid>.jsonl`` -> ``<uuid>`` (else the file stem)."""
    stem = Path(path).name[:-len(".jsonl")] if path.endswith(".jsonl") else Path(path).stem
    match = _UUID_TAIL.search(stem)
    return match.group(1) if match else stem


# --------------------------------------------------------------------------- line schema
class ContentItem(msgspec.Struct):
    type: str | None = None
    text: str | None = None


class Payload(msgspec.Struct):
    type: str | None = None
    id: str | None = None
    timestamp: str | None = None
    cwd: str | None = None
    originator: str | None = None
    cli_version: str | None = None
    model_provider: str | None = None
    source: msgspec.Raw = msgspec.Raw(b"")
    git: msgspec.Raw = msgspec.Raw(b"")
    model: str | None = None
    role: str | None = None
    content: str | list[ContentItem] | None = None
    summary: list[ContentItem] | str | None = None
    name: str | None = None
    arguments: str | None = None
    call_id: str | None = None
    input: str | None = None
    output: msgspec.Raw = msgspec.Raw(b"")
    action: msgspec.Raw = msgspec.Raw(b"")
    message: str | None = None
    instructions: str | None = None


class Envelope(msgspec.Struct):
    timestamp: str | None = None
    type: str | None = None
    payload: Payload | None = None
    record_type: str | None = None
    id: str | None = None


ENVELOPE = LenientDecoder(Envelope)
PAYLOAD = LenientDecoder(Payload)
_ITEM_TYPES = frozenset({"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
                         "custom_tool_call_output", "local_shell_call", "web_search_call", "ghost_snapshot"})


def output_text(raw: msgspec.Raw) -> str:
    """Tool output: Codex stores ``{"output": ..., "metadata": ...}`` as a JSON string."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")
    if isinstance(value, str) and value.startswith("{") and '"output"' in value:
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value
    if isinstance(value, dict) and "output" in value:
        value = value["output"]
    return result_text(value)


class Parser:
    """Turns the lines of one rollout file into records (see :class:`claude.Parser`)."""

    source = SOURCE
    version = PARSER_VERSION

    def __init__(self, unit: SourceUnit, carry: dict[str, Any] | None = None) -> None:
        self.unit = unit
        carry = carry or {}
        self.session_id: str | None = carry.get("sid")
        self.last_ts: int = carry.get("ts") or unit.mtime_ns // 1_000_000
        self.sequence: int = carry.get("seq", 0)
        self.cwd: str | None = carry.get("cwd")
        self.model: str | None = carry.get("model")
        self.meta: dict[str, Any] = dict(carry.get("meta") or {})
        self.messages: list[MessageRecord] = []
        self.issues = ParseIssues()
        self.reassign_project = False

    def carry(self) -> dict[str, Any]:
        return {"sid": self.session_id, "ts": self.last_ts, "seq": self.sequence, "cwd": self.cwd,
                "model": self.model, "meta": self.meta}

    def take_messages(self) -> list[MessageRecord]:
        out, self.messages = self.messages, []
        return out

    def _sid(self) -> str:
        if self.session_id is None:
            self.session_id = session_id_from_name(self.unit.path)
        return self.session_id

    def session(self) -> SessionRecord:
        root = self.unit.context.get("root")
        project = self.cwd or (os.path.join(root, "sessions") if root else str(Path(self.unit.path).parent))
        return SessionRecord(self._sid(), SOURCE, project_path=project, project_name=project_name_of(project),
                             cwd=self.cwd, model=self.model, meta=dict(self.meta))

    # ------------------------------------------------------------------ lines
    def feed(self, line: bytes, offset: int) -> None:
        if not line or line.isspace():
            return
        decoded = decode_line(ENVELOPE, line, offset, self.issues)
        if decoded is None:
            return
        env, text = decoded
        ts = timestamp_ms(env.timestamp) if env.timestamp is not None else None
        if ts is not None:
            self.last_ts = ts
        ts = self.last_ts
        kind = env.type
        payload = env.payload
        if payload is None and env.record_type is not None:
            self.issues.skipped_records[f"record_type:{env.record_type}"] += 1
            return
        if payload is None and kind in _ITEM_TYPES:
            # Oldest rollouts: bare response items, one a line.
            try:
                payload, _ = PAYLOAD.decode(text)
            except LineError:
                payload = None
            self._item(payload, text, ts)
            return
        if payload is None and kind is None and env.id is not None:
            # Oldest rollouts: a bare ``{id, timestamp, instructions}`` header line.
            self._session_meta(Payload(id=env.id), text)
            return
        if kind == "session_meta" and payload is not None:
            self._session_meta(payload, text)
        elif kind == "turn_context" and payload is not None:
            if payload.model and payload.model != self.model:
                self.model = payload.model
            if payload.cwd and self.cwd is None:
                self.cwd = payload.cwd
        elif kind == "response_item":
            self._item(payload, text, ts)
        elif kind == "compacted":
            summary = payload.message if payload is not None and payload.message else ""
            self._emit(synthetic_uuid(self._sid(), "compacted", text), MessageType.SYSTEM, summary,
                       f"[Compacted Summary]\n{summary}", ts, text)
        elif kind == "event_msg":
            self.issues.skipped_records[f"event_msg:{payload.type if payload else None}"] += 1
        else:
            label = kind or "(no type)"
            self.issues.unknown_records[label] += 1
            self._emit(synthetic_uuid(self._sid(), "unknown", text), MessageType.SYSTEM, "",
                       f"[{label}] {preview(text)}", ts, text)

    def _session_meta(self, payload: Payload, raw: str) -> None:
        if self.session_id is None and payload.id:
            self.session_id = clean_id(payload.id)
        if payload.cwd and self.cwd is None:
            self.cwd = payload.cwd
        for key, value in (("cli_version", payload.cli_version), ("originator", payload.originator),
                           ("model_provider", payload.model_provider)):
            if value and key not in self.meta:
                self.meta[key] = value
        source = raw_text(payload.source)
        if source and "session_source" not in self.meta:
            try:
                self.meta["session_source"] = msgspec.json.decode(source)
            except msgspec.DecodeError:
                self.meta["session_source"] = source
        git = raw_text(payload.git)
        if git and "git" not in self.meta:
            try:
                self.meta["git"] = msgspec.json.decode(git)
            except msgspec.DecodeError:
                self.meta["git"] = git

    def _emit(self, uuid: str, kind: MessageType, text: str, full: str, ts: int, raw: str, *,
              model: str | None = None, tool: tuple[str | None, str | None, str | None] | None = None) -> None:
        record = MessageRecord(clean_id(uuid), kind, text, full, ts, self.sequence, model, raw=raw)
        if tool is not None:
            record.tool_call_id, record.tool_name, record.tool_args = tool
        self.messages.append(record)
        self.sequence += 1

    def _item(self, p: Payload | None, raw: str, ts: int) -> None:
        kind = p.type if p is not None else None
        sid = self._sid()
        if p is None or kind is None:
            self.issues.unknown_records["response_item:(no type)"] += 1
            self._emit(synthetic_uuid(sid, "unknown", raw), MessageType.SYSTEM, "",
                       f"[response_item] {preview(raw)}", ts, raw)
            return
        if kind == "message":
            parts = []
            if isinstance(p.content, str):
                parts.append(p.content)
            elif p.content:
                for item in p.content:
                    if item.type in ("input_text", "output_text", "text") and item.text:
                        parts.append(item.text)
                    elif item.type == "input_image":
                        parts.append("[Image]")
            text = "\n".join(parts)
            if not text:
                self.issues.skipped_records["message:empty"] += 1
                return
            role = p.role or "user"
            uuid = p.id or synthetic_uuid(sid, f"message:{role}", raw)
            if role == "assistant":
                self._emit(uuid, MessageType.ASSISTANT, text, text, ts, raw, model=self.model)
            elif role == "user" and not text.lstrip().startswith(_INJECTED_PREFIXES):
                self._emit(uuid, MessageType.USER, text, text, ts, raw)
            else:
                self._emit(uuid, MessageType.SYSTEM, text, text, ts, raw)
        elif kind == "reasoning":
            parts = [i.text for i in p.summary if i.text] if isinstance(p.summary, list) else []
            if isinstance(p.content, list):
                parts.extend(i.text for i in p.content if i.text)
            if not parts:
                self.issues.skipped_records["reasoning:empty"] += 1
                return
            self._emit(p.id or synthetic_uuid(sid, "reasoning", raw), MessageType.ASSISTANT, "",
                       "[Thinking] " + "\n".join(parts), ts, raw, model=self.model)
        elif kind in ("function_call", "custom_tool_call"):
            args = p.arguments if kind == "function_call" else p.input
            if args is None:
                args = p.arguments if p.arguments is not None else p.input
            name = p.name or "unknown"
            self._emit(p.call_id or p.id or synthetic_uuid(sid, kind, raw), MessageType.ASSISTANT, "",
                       f"[Tool: {name}] {args or ''}".rstrip(), ts, raw, model=self.model,
                       tool=(p.call_id or p.id, p.name, args))
        elif kind in ("local_shell_call", "web_search_call"):
            action = raw_text(p.action)
            name = kind[:-len("_call")]
            self._emit(p.call_id or p.id or synthetic_uuid(sid, kind, raw), MessageType.ASSISTANT, "",
                       f"[Tool: {name}] {action}".rstrip(), ts, raw, model=self.model,
                       tool=(p.call_id or p.id, name, action or None))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            body = output_text(p.output)
            self._emit(synthetic_uuid(sid, kind, raw), MessageType.TOOL, "", f"[Result] {body}".rstrip(), ts, raw,
                       tool=(p.call_id, None, None))
        elif kind in _SKIPPED_ITEMS:
            self.issues.skipped_records[kind] += 1
        else:
            label = f"response_item:{kind}"
            self.issues.unknown_records[label] += 1
            self._emit(synthetic_uuid(sid, "unknown", raw), MessageType.SYSTEM, "",
                       f"[{label}] {preview(raw)}", ts, raw)
