"""GitHub Copilot CLI: ``<root>/session-state/<session>/events.jsonl`` (and the earlier
flat ``<root>/session-state/<session>.jsonl``), one typed event a line.

Roots: the argument, ``$COPILOT_PATH``, ``$COPILOT_HOME``, else ``~/.copilot``.

Every line is ``{"type", "data", "id", "timestamp", "parentId"}`` (plus ``agentId`` on
the events of a subagent). Formats handled: the session-state format since CLI
0.0.342 (``session.start`` without a working directory), and later ones whose
``session.start``/``session.resume`` carry ``context.cwd`` and whose session folder
has a ``workspace.yaml`` (``name:`` is the title, ``cwd:`` the working directory).

* ``user.message``: USER (attachments as ``[File: path]``); skill contexts are SYSTEM.
* ``assistant.message``: ASSISTANT with the model in use, ``[Thinking] ...`` for its
  reasoning text and ``[Tool: NAME] {arguments}`` for each tool request;
  ``assistant.reasoning``: ASSISTANT ``[Thinking] ...``.
* ``tool.execution_complete``: TOOL ``[Result] ...`` / ``[Result Error] ...``;
  ``tool.user_requested`` (a command the user ran): USER ``[Tool: NAME] args``.
* ``session.info``/``warning``/``error``, ``abort``, ``system.message``,
  ``session.compaction_complete`` (its summary), ``subagent.*`` and
  ``skill.invoked``: SYSTEM ``[<type>] ...``.
* ``session.title_changed``: ``meta.title`` and a SYSTEM ``[Title]`` message;
  ``session.model_change``: the model of later messages.
* bookkeeping that repeats other events (``tool.execution_start``, turn starts and
  ends, usage, hooks, ...): counted as skipped; any other type: SYSTEM, counted unknown.

Events with an ``agentId`` belong to a subagent: they are stored as the session
``<session>:<agentId>`` whose ``meta.parent_session_id`` names the main session.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import content
from . import roots as roots_module
from .base import LineParser, LineSource, ToolFields, own_time
from .lenient import LenientDecoder
from .records import MessageRecord, SessionRecord, SourceUnit, clean_id, project_name_of
from .roots import RootSpec

STATE_DIR = "session-state"
EVENTS = "events.jsonl"
# A workspace.yaml beyond this is not read (it is a few lines).
MAX_WORKSPACE_BYTES = 1 << 16

SKIPPED_TYPES = frozenset({
    "tool.execution_start", "tool.execution_partial_result", "tool.execution_progress",
    "assistant.turn_start", "assistant.turn_end", "assistant.usage", "assistant.intent", "assistant.idle",
    "assistant.message_start", "assistant.message_delta", "assistant.reasoning_delta",
    "assistant.streaming_delta", "assistant.tool_call_delta", "session.idle", "session.usage_info",
    "session.usage_checkpoint", "session.compaction_start", "session.truncation", "session.shutdown",
    "session.start", "session.resume", "session.context_changed", "session.mode_changed",
    "session.model_change", "session.todos_changed", "session.plan_changed", "session.workspace_file_changed",
    "pending_messages.modified", "hook.start", "hook.end", "hook.progress", "permission.requested",
    "permission.completed", "session.tools_updated", "session.skills_loaded", "session.mcp_servers_loaded",
    "session.mcp_server_status_changed", "session.custom_agents_updated", "session.extensions_loaded",
    "session.background_tasks_changed", "commands.changed", "capabilities.changed", "session.binary_asset",
})
SYSTEM_TYPES = frozenset({
    "session.info", "session.warning", "session.error", "abort", "system.message", "system.notification",
    "session.compaction_complete", "session.handoff", "session.snapshot_rewind", "session.context_cleared",
    "session.task_complete", "subagent.started", "subagent.completed", "subagent.failed", "subagent.selected",
    "custom_agent.started", "custom_agent.completed", "custom_agent.failed", "custom_agent.selected",
    "skill.invoked", "model.call_failure",
})


# --------------------------------------------------------------------------- line schema
class Event(msgspec.Struct):
    type: str | None = None
    id: str | None = None
    timestamp: str | None = None
    parentId: str | None = None
    agentId: str | None = None
    data: dict[str, Any] | None = None


DECODER = LenientDecoder(Event)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _args(value: Any) -> str:
    """Tool arguments as text: a string as written, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else content.as_text(value) or ""


class CopilotParser(LineParser):
    """The events of one session file (see the module docstring)."""

    decoder = DECODER
    carried = ("sid", "workspace_read", "workspace_cwd")
    sid: str | None = None
    workspace_read = False
    workspace_cwd: str | None = None   # from workspace.yaml, when no event names the cwd

    def __init__(self, source: LineSource, unit: SourceUnit, carry: Mapping[str, Any] | None = None) -> None:
        super().__init__(source, unit, carry)
        if not self.workspace_read:
            self.workspace_read = True
            self._read_workspace()

    @property
    def session_id(self) -> str:
        if self.sid is None:
            self.sid = clean_id(self.unit.context.get("session_id") or _session_id_from_path(self.unit.path))
        return self.sid

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.sid = value

    def session(self) -> SessionRecord:
        project = self.cwd or self.workspace_cwd
        return SessionRecord(self.session_id, self.source.name, project_path=project,
                             project_name=project_name_of(project), cwd=project, model=self.model,
                             meta=dict(self.meta))

    def _read_workspace(self) -> None:
        """``workspace.yaml`` beside ``events.jsonl``: ``name:`` and ``cwd:`` lines."""
        if Path(self.unit.path).name != EVENTS:
            return
        try:
            with open(os.path.join(os.path.dirname(self.unit.path), "workspace.yaml"), "rb") as handle:
                text = handle.read(MAX_WORKSPACE_BYTES).decode("utf-8", "replace")
        except OSError:
            return
        for line in text.splitlines():
            key, _, value = line.partition(":")
            value = value.strip().strip("'\"")
            if key == "name" and value:
                self.meta.setdefault("title", value)
            elif key == "cwd" and value:
                self.workspace_cwd = value

    # ------------------------------------------------------------------ records
    def convert(self, event: Event, raw: str) -> None:
        kind = event.type or "(no type)"
        data = event.data or {}
        at = own_time(event.timestamp)
        uuid = event.id or self.synthetic_uuid(kind, raw)
        if kind in ("session.start", "session.resume", "session.context_changed"):
            self._session_event(kind, data)
        if kind == "session.model_change" and _text(data.get("newModel")):
            self.model = data["newModel"]
        record: MessageRecord | None = None
        if kind == "user.message":
            record = self._user(uuid, data, raw, at)
        elif kind == "assistant.message":
            record = self._assistant(uuid, data, raw, at)
        elif kind == "assistant.reasoning":
            text = _text(data.get("content"))
            if text:
                record = self.emit(uuid, MessageType.ASSISTANT, "", content.thinking(text), raw, at=at,
                                   model=self.model)
            else:
                self.skip("assistant.reasoning:empty")
        elif kind == "tool.execution_complete":
            record = self._tool_result(uuid, data, raw, at)
        elif kind == "tool.user_requested":
            name, args = _text(data.get("toolName")) or None, _args(data.get("arguments"))
            record = self.emit(uuid, MessageType.USER, "", content.tool_call(name, args), raw, at=at,
                               tool=(_text(data.get("toolCallId")) or None, name, args or None))
        elif kind == "session.title_changed":
            title = _text(data.get("title"))
            if title:
                self.meta["title"] = title
            record = self.emit(uuid, MessageType.SYSTEM, title, content.tagged("Title", title), raw, at=at)
        elif kind in SYSTEM_TYPES:
            record = self._system(uuid, kind, data, raw, at)
        elif kind in SKIPPED_TYPES:
            self.observe_time(event.timestamp)
            self.skip(kind)
        else:
            record = self.unknown(kind, raw, uuid=event.id, at=at)
        if record is not None and event.agentId:
            self.assign_child(record, event.agentId)

    def _session_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "session.start":
            if self.sid is None and _text(data.get("sessionId")):
                self.sid = clean_id(data["sessionId"])
            for key, name in (("copilotVersion", "copilot_version"), ("producer", "producer")):
                if _text(data.get(key)) and name not in self.meta:
                    self.meta[name] = data[key]
        if _text(data.get("selectedModel")) and self.model is None:
            self.model = data["selectedModel"]
        context = data.get("context") if kind != "session.context_changed" else data
        if isinstance(context, dict):
            if _text(context.get("cwd")) and self.cwd is None:
                self.cwd = context["cwd"]
            for key, name in (("branch", "git_branch"), ("repository", "repository")):
                if _text(context.get(key)) and name not in self.meta:
                    self.meta[name] = context[key]

    def _user(self, uuid: str, data: dict[str, Any], raw: str, at: int | None) -> MessageRecord | None:
        text = _text(data.get("content"))
        parts = [text] if text else []
        for attachment in data.get("attachments") or []:
            if isinstance(attachment, dict):
                parts.append(content.file(_text(attachment.get("path")) or _text(attachment.get("displayName"))))
        full = "\n".join(parts)
        if not full:
            self.skip("user.message:empty")
            return None
        synthetic = _text(data.get("source")).startswith("skill-") or text.startswith("<skill-context")
        return self.emit(uuid, MessageType.SYSTEM if synthetic else MessageType.USER, text, full, raw, at=at)

    def _assistant(self, uuid: str, data: dict[str, Any], raw: str, at: int | None) -> MessageRecord | None:
        model = _text(data.get("model")) or self.model
        text = _text(data.get("content"))
        parts = [text] if text else []
        reasoning = _text(data.get("reasoningText"))
        if reasoning:
            parts.insert(0, content.thinking(reasoning))
        tool: ToolFields | None = None
        for request in data.get("toolRequests") or []:
            if not isinstance(request, dict):
                continue
            name, args = _text(request.get("name")) or None, _args(request.get("arguments"))
            parts.append(content.tool_call(name, args))
            if tool is None:
                tool = (_text(request.get("toolCallId")) or None, name, args or None)
        full = "\n".join(parts)
        if not full:
            self.skip("assistant.message:empty")
            return None
        return self.emit(uuid, MessageType.ASSISTANT, text, full, raw, at=at, model=model, tool=tool)

    def _tool_result(self, uuid: str, data: dict[str, Any], raw: str, at: int | None) -> MessageRecord:
        result, error = data.get("result"), data.get("error")
        body = ""
        if isinstance(result, dict):
            body = _text(result.get("detailedContent")) or _text(result.get("content"))
        elif result is not None:
            body = content.result_text(result)
        failed = data.get("success") is False
        if isinstance(error, dict) and _text(error.get("message")):
            body = "\n".join(p for p in (body, error["message"]) if p)
            failed = True
        return self.emit(uuid, MessageType.TOOL, "", content.tool_result(body.rstrip(), error=failed), raw, at=at,
                         tool=(_text(data.get("toolCallId")) or None, None, None))

    def _system(self, uuid: str, kind: str, data: dict[str, Any], raw: str, at: int | None) -> MessageRecord:
        if kind == "session.compaction_complete":
            body = _text(data.get("summaryContent")) or _text(data.get("error"))
            return self.emit(uuid, MessageType.SYSTEM, body, content.tagged("Compacted Summary", body, "\n"), raw,
                             at=at)
        if kind.startswith(("subagent.", "custom_agent.")):
            name = _text(data.get("agentDisplayName")) or _text(data.get("agentName"))
            body = " ".join(p for p in (name, _text(data.get("agentDescription")), _text(data.get("error"))) if p)
            return self.emit(uuid, MessageType.SYSTEM, "", content.tagged(kind, body), raw, at=at,
                             tool=(_text(data.get("toolCallId")) or None, None, None))
        body = (_text(data.get("message")) or _text(data.get("content")) or _text(data.get("reason"))
                or _text(data.get("summary")) or _text(data.get("name")))
        return self.emit(uuid, MessageType.SYSTEM, "", content.tagged(kind, body), raw, at=at)


def _session_id_from_path(path: str) -> str:
    name = Path(path).name
    if name == EVENTS:
        return Path(path).parent.name
    return name[:-len(".jsonl")] if name.endswith(".jsonl") else name


# --------------------------------------------------------------------------- the source
class CopilotSource(LineSource):
    name = "copilot"
    title = "GitHub Copilot CLI"
    parser_version = 1
    channel = "cli"
    roots_spec = RootSpec("COPILOT_PATH", (("COPILOT_HOME", ""),), (".copilot",))
    parser = CopilotParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            state = root / STATE_DIR
            for entry in roots_module.list_dir(state, sort=True):
                if entry.name.startswith("."):
                    continue
                if roots_module.is_dir(entry):
                    unit = self.stat_unit(os.path.join(entry.path, EVENTS), context={"session_id": entry.name})
                elif entry.name.endswith(".jsonl") and not os.path.isfile(
                        os.path.join(state, entry.name[:-len(".jsonl")], EVENTS)):
                    # The flat layout; once a session has a folder, its folder is the one written.
                    unit = self.entry_unit(entry, {"session_id": entry.name[:-len(".jsonl")]})
                else:
                    continue
                if unit is not None:
                    yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        target = Path(os.path.abspath(os.fspath(path)))
        for root in roots:
            rel = roots_module.is_within(target, root / STATE_DIR)
            if rel is not None and _is_session_path(rel.parts):
                return self.stat_unit(str(target), context={"session_id": _session_id_from_path(str(target))})
        # A session file outside the roots, recognised by its layout.
        if target.name == EVENTS and target.parent.parent.name == STATE_DIR:
            return self.stat_unit(str(target), context={"session_id": target.parent.name})
        return None


def _is_session_path(parts: tuple[str, ...]) -> bool:
    return (len(parts) == 2 and parts[1] == EVENTS) or (len(parts) == 1 and parts[0].endswith(".jsonl"))


SOURCE = CopilotSource()
