"""Qwen Code: ``<root>/projects/<encoded cwd>/chats/<session>.jsonl`` (earlier versions:
``<root>/tmp/<project hash>/chats/<session>.jsonl``), one chat record a line.

Roots: the argument, ``$QWEN_PATH``, ``$QWEN_RUNTIME_DIR``, ``$QWEN_HOME``, else ``~/.qwen``.

A record is a Claude-like envelope (``uuid``, ``parentUuid``, ``sessionId``,
``timestamp``, ``type``, ``cwd``, ``version``, ``gitBranch``) around a Gemini-style
``message`` (``{"role", "parts": [...]}``). Formats handled: the first chat recording
(``user``/``assistant``/``tool_result`` records under ``tmp/``), and later ones with
``system`` records (``subtype`` ``chat_compression``, ``slash_command``,
``ui_telemetry``, ``at_command``, ``custom_title``, ``notification``, ``cron``,
``mid_turn_user_message``, ``rewind``, ...), subagent records (``agentId``,
``isSidechain``) and forks (``forkedFrom``), under ``projects/``.

* ``user``: USER text (``[Image]``, ``[File: name]`` for inline and file data);
* ``assistant``: ASSISTANT with ``model``: text, ``[Thinking] ...`` for thought parts,
  ``[Tool: NAME] {args}`` for each function call;
* ``tool_result``: TOOL ``[Result] <output>`` (``[Result Error]`` when it failed);
* ``system``: ``chat_compression`` is SYSTEM ``[Compacted Summary]``, ``custom_title``
  sets ``meta.title``, ``mid_turn_user_message`` is USER, telemetry and attribution
  snapshots (token counts, repeated state) are counted as skipped, the others SYSTEM
  ``[<subtype>] ...``; anything else is SYSTEM, counted unknown.

Records with an ``agentId`` are a subagent's: stored as the session
``<session>:<agentId>`` whose ``meta.parent_session_id`` names the main session.
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
from .base import LineParser, LineSource, ToolFields, own_time
from .lenient import LenientDecoder
from .records import MessageRecord, SessionRecord, SourceUnit, UsageRecord, clean_id, project_name_of
from .roots import RootSpec

FOLDERS = ("projects", "tmp")
SKIPPED_SUBTYPES = frozenset({"ui_telemetry", "attribution_snapshot", "agent_bootstrap"})


# --------------------------------------------------------------------------- line schema
class Message(msgspec.Struct):
    role: str | None = None
    parts: list[Any] | None = None


class Record(msgspec.Struct):
    uuid: str | None = None
    parentUuid: str | None = None
    sessionId: str | None = None
    timestamp: str | None = None
    type: str | None = None
    subtype: str | None = None
    cwd: str | None = None
    version: str | None = None
    gitBranch: str | None = None
    message: Message | None = None
    model: str | None = None
    toolCallResult: dict[str, Any] | None = None
    systemPayload: dict[str, Any] | None = None
    agentId: str | None = None
    agentName: str | None = None
    forkedFrom: dict[str, Any] | None = None
    usageMetadata: msgspec.Raw = msgspec.Raw(b"")


DECODER = LenientDecoder(Record)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def function_response_text(response: Any) -> tuple[str, bool]:
    """The output of a ``functionResponse`` (``{"output": ...}`` or ``{"error": ...}``)."""
    if isinstance(response, dict):
        if "error" in response and response["error"]:
            return content.result_text(response["error"]), True
        if "output" in response:
            return content.result_text(response["output"]), False
        if "llmContent" in response:
            return content.result_text(response["llmContent"]), False
    return content.result_text(response), False


class Parts:
    """The text, full text and tool fields of a list of Gemini-style parts."""

    def __init__(self, parts: list[Any] | None) -> None:
        self.text: list[str] = []
        self.full: list[str] = []
        self.call: ToolFields | None = None
        self.result_id: str | None = None
        self.error = False
        for part in parts or []:
            if not isinstance(part, dict):
                continue
            text = _text(part.get("text"))
            if part.get("thought") is True:
                if text:
                    self.full.append(content.thinking(text))
            elif text:
                self.text.append(text)
                self.full.append(text)
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                name = _text(call.get("name")) or None
                args = content.as_text(call.get("args")) or ""
                self.full.append(content.tool_call(name, args))
                if self.call is None:
                    self.call = (_text(call.get("id")) or None, name, args or None)
            elif isinstance(part.get("functionResponse"), dict):
                response = part["functionResponse"]
                body, failed = function_response_text(response.get("response"))
                self.full.append(content.tool_result(body.rstrip(), error=failed))
                self.error = self.error or failed
                if self.result_id is None:
                    self.result_id = _text(response.get("id")) or None
            elif "inlineData" in part:
                self.full.append(content.IMAGE)
            elif isinstance(part.get("fileData"), dict):
                self.full.append(content.file(_text(part["fileData"].get("fileUri"))))


class QwenParser(LineParser):
    """The records of one chat file (see the module docstring)."""

    decoder = DECODER
    carried = ("sid",)
    sid: str | None = None

    @property
    def session_id(self) -> str:
        if self.sid is None:
            name = Path(self.unit.path).name
            self.sid = clean_id(name[:-len(".jsonl")] if name.endswith(".jsonl") else name)
        return self.sid

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.sid = value

    def session(self) -> SessionRecord:
        return SessionRecord(self.session_id, self.source.name, project_path=self.cwd,
                             project_name=project_name_of(self.cwd), encoded_dir_name=self.unit.context.get("project_dir"),
                             cwd=self.cwd, model=self.model, meta=dict(self.meta))

    def convert(self, entry: Record, raw: str) -> None:
        if self.sid is None and entry.sessionId:
            self.sid = clean_id(entry.sessionId)
        if entry.cwd and self.cwd is None:
            self.cwd = entry.cwd
        for key, value in (("git_branch", entry.gitBranch), ("version", entry.version)):
            if value and self.meta.get(key) != value:
                self.meta[key] = value
        if isinstance(entry.forkedFrom, dict) and _text(entry.forkedFrom.get("sessionId")):
            self.meta.setdefault("forked_from_session_id", entry.forkedFrom["sessionId"])
        at = own_time(entry.timestamp)
        kind = entry.type or "(no type)"
        uuid = entry.uuid or self.synthetic_uuid(kind, raw)
        record: MessageRecord | None = None
        if kind in ("user", "assistant", "tool_result"):
            record = self._conversation(kind, entry, uuid, raw, at)
        elif kind == "system":
            record = self._system(entry, uuid, raw, at)
        else:
            record = self.unknown(kind, raw, uuid=entry.uuid, at=at)
        if kind == "assistant":
            usage = _usage(entry, uuid, at, self.model)
            if usage is not None:
                self.add_usage(usage, record)
        if record is not None and entry.agentId:
            self.assign_child(record, entry.agentId)

    def _conversation(self, kind: str, entry: Record, uuid: str, raw: str, at: int | None) -> MessageRecord | None:
        parts = Parts(entry.message.parts if entry.message else None)
        text = "\n".join(parts.text)
        if kind == "assistant":
            if entry.model and not entry.agentId:
                self.model = entry.model
            full = "\n".join(parts.full)
            if not full:
                self.skip("assistant:empty")
                return None
            return self.emit(uuid, MessageType.ASSISTANT, text, full, raw, at=at, model=entry.model or self.model,
                             tool=parts.call)
        if kind == "tool_result" or (parts.result_id is not None and not text):
            return self._tool_result(entry, parts, uuid, raw, at)
        full = "\n".join(parts.full)
        if not full:
            self.skip(f"{kind}:empty")
            return None
        return self.emit(uuid, MessageType.USER, text, full, raw, at=at)

    def _tool_result(self, entry: Record, parts: Parts, uuid: str, raw: str, at: int | None) -> MessageRecord:
        info = entry.toolCallResult or {}
        full = "\n".join(parts.full)
        failed = parts.error or info.get("status") == "error" or bool(info.get("error"))
        if not full:
            display = info.get("resultDisplay")
            body = display if isinstance(display, str) else content.as_text(display) or ""
            if info.get("error"):
                body = "\n".join(p for p in (body, content.as_text(info["error"]) or "") if p)
            full = content.tool_result(body.rstrip(), error=failed)
        call_id = parts.result_id or _text(info.get("callId")) or None
        return self.emit(uuid, MessageType.TOOL, "", full, raw, at=at, tool=(call_id, None, None))

    def _system(self, entry: Record, uuid: str, raw: str, at: int | None) -> MessageRecord | None:
        subtype = entry.subtype or "message"
        payload = entry.systemPayload or {}
        if subtype in SKIPPED_SUBTYPES:
            self.observe_time(entry.timestamp)
            self.skip(f"system:{subtype}")
            return None
        if subtype == "custom_title":
            title = _text(payload.get("customTitle"))
            if title:
                self.meta["title"] = title
            return self.emit(uuid, MessageType.SYSTEM, title, content.tagged("Title", title), raw, at=at)
        if subtype == "chat_compression":
            summary = _text(payload.get("summary"))
            return self.emit(uuid, MessageType.SYSTEM, summary, content.tagged("Compacted Summary", summary, "\n"),
                             raw, at=at)
        if subtype == "mid_turn_user_message" and entry.message is not None:
            parts = Parts(entry.message.parts)
            text = "\n".join(parts.text)
            if parts.full:
                return self.emit(uuid, MessageType.USER, text, "\n".join(parts.full), raw, at=at)
        body = ""
        if subtype == "slash_command":
            body = _text(payload.get("rawCommand"))
            if payload.get("phase") == "result":
                body = f"{body} (result)".strip()
        elif subtype == "at_command":
            files = payload.get("filesRead")
            body = " ".join(p for p in (_text(payload.get("userText")), _text(payload.get("message"))) if p)
            if isinstance(files, list):
                body = "\n".join([body] + [content.file(_text(f)) for f in files if _text(f)]).strip()
        elif subtype == "notification":
            body = _text(payload.get("displayText"))
        elif subtype == "rewind":
            body = content.as_text(payload.get("truncatedCount")) or ""
        elif entry.message is not None:
            body = "\n".join(Parts(entry.message.parts).full)
        else:
            if subtype not in ("cron", "agent_launch_prompt", "message"):
                return self.unknown(f"system:{subtype}", raw, uuid=entry.uuid, at=at, tag=f"system:{subtype}")
            body = content.as_text(payload) or "" if payload else ""
        return self.emit(uuid, MessageType.SYSTEM, "", content.tagged(f"system:{subtype}", body), raw, at=at)


# --------------------------------------------------------------------------- the source
def _usage(entry: Record, uuid: str, at: int | None, model: str | None) -> UsageRecord | None:
    """An assistant record's ``usageMetadata`` (the Gemini API's counts), keyed by its uuid."""
    data = content.raw_value(entry.usageMetadata)
    if data is None:
        return None
    return tokens.google(data, clean_id(uuid), model=entry.model or model, message_uuid=clean_id(uuid), timestamp=at)


class QwenSource(LineSource):
    name = "qwen"
    title = "Qwen Code"
    # 2: token usage of assistant records.
    parser_version = 2
    channel = "cli"
    roots_spec = RootSpec("QWEN_PATH", (("QWEN_RUNTIME_DIR", ""), ("QWEN_HOME", "")), (".qwen",))
    parser = QwenParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for folder in FOLDERS:
                for project in roots_module.list_dir(root / folder, sort=True):
                    if project.name.startswith(".") or not roots_module.is_dir(project):
                        continue
                    for entry in roots_module.list_dir(os.path.join(project.path, "chats"), sort=True):
                        if entry.name.endswith(".jsonl") and not entry.name.startswith("."):
                            unit = self.entry_unit(entry, {"project_dir": project.name})
                            if unit is not None:
                                yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        target = Path(os.path.abspath(os.fspath(path)))
        if not target.name.endswith(".jsonl"):
            return None
        for root in roots:
            rel = roots_module.is_within(target, root)
            if rel is not None and len(rel.parts) == 4 and rel.parts[0] in FOLDERS and rel.parts[2] == "chats":
                return self.stat_unit(str(target), context={"project_dir": rel.parts[1]})
        # A chat file outside the roots, recognised by its layout.
        if target.parent.name == "chats" and target.parent.parent.parent.name in FOLDERS \
                and target.parent.parent.parent.parent.name == ".qwen":
            return self.stat_unit(str(target), context={"project_dir": target.parent.parent.name})
        return None


SOURCE = QwenSource()
