"""OpenHands: one event per file, ``<root>/sessions/<session>/events/<n>.json`` (and
the CLI's ``<root>/conversations/<id>/events/*.json``), and exported trajectories
(one JSON file holding a list of events, or ``{"trajectory": [...]}``).

Roots: the argument, ``$OPENHANDS_PATH``, ``$OPENHANDS_PERSISTENCE_DIR``, else
``~/.openhands``. A trajectory is read from wherever ``collect --path`` names it, or
from ``<root>/trajectories/*.json``.

Formats handled:

* the event stream of OpenHands 0.x: ``{"id", "timestamp", "source", "message",
  "action", "args"}`` for actions and ``{"id", "timestamp", "source", "observation",
  "content", "extras"}`` for observations, ``tool_call_metadata`` linking a tool
  action to the model's call; ``metadata.json`` beside ``events/`` gives the title and
  model;
* the event files of the OpenHands CLI/SDK 1.x: ``{"kind": "MessageEvent" |
  "ActionEvent" | "ObservationEvent" | ..., "id", "timestamp", "source"}``, with
  ``base_state.json`` giving the model and workspace.

``message`` actions (and ``MessageEvent``) are USER or ASSISTANT by their source;
other actions are ASSISTANT ``[Tool: <action>] {args}`` (``think`` and the agent's
thought as ``[Thinking] ...``); observations are TOOL ``[Result] ...`` (``error``
observations ``[Result Error]``); the system prompt, state changes and condensations
are SYSTEM (state changes counted as skipped); any other event is SYSTEM, counted
unknown. A session directory is one unit, fingerprinted by the stats of its event
files, read whole when it changes (event files are never rewritten, so nothing
stored changes, and new events are added).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import content
from . import roots as roots_module
from .base import Recorder, ToolFields, WholeSource, own_time
from .records import MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, clean_id, project_name_of
from .roots import RootSpec

SESSION_FOLDERS = ("sessions", "conversations")
TRAJECTORIES = "trajectories"
MAX_EVENT_BYTES = 64 << 20
MAX_TRAJECTORY_BYTES = 256 << 20
SKIPPED_OBSERVATIONS = frozenset({"agent_state_changed", "null"})
SKIPPED_ACTIONS = frozenset({"change_agent_state", "null"})
SKIPPED_KINDS = frozenset({"ConversationStateUpdateEvent", "PauseEvent", "TokenEvent"})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _event_key(name: str) -> tuple[int, str]:
    stem = name[:-len(".json")]
    return (int(stem), name) if stem.isdigit() else (1 << 62, name)


def _read_json(path: str, issues: ParseIssues, limit: int) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        issues.bad(path, f"cannot read: {exc.strerror or exc}")
        return None
    if len(data) > limit:
        issues.bad(path, f"file larger than {limit} bytes; not read")
        return None
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        try:
            return msgspec.json.decode(data.decode("utf-8", "replace"))
        except msgspec.DecodeError as exc:
            issues.bad(path, f"invalid JSON ({exc})")
            return None


def _optional_json(path: str) -> dict[str, Any]:
    value = _read_json(path, ParseIssues(), 1 << 20) if os.path.isfile(path) else None
    return value if isinstance(value, dict) else {}


def trajectory_events(value: Any) -> list[Any] | None:
    """The events of an exported trajectory (a list, or an object holding one), else None."""
    if isinstance(value, dict):
        for key in ("trajectory", "events", "history"):
            if isinstance(value.get(key), list):
                return list(value[key])
        return None
    return value if isinstance(value, list) else None


class OpenHandsSource(WholeSource):
    name = "openhands"
    title = "OpenHands"
    parser_version = 1
    channel = None
    roots_spec = RootSpec("OPENHANDS_PATH", (("OPENHANDS_PERSISTENCE_DIR", ""),), (".openhands",))
    file_suffixes = (".json",)

    # ------------------------------------------------------------------ discovery
    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for folder in SESSION_FOLDERS:
                for entry in roots_module.list_dir(root / folder, sort=True):
                    if not entry.name.startswith(".") and roots_module.is_dir(entry):
                        unit = self.session_unit(entry.path)
                        if unit is not None:
                            yield unit
            for entry in roots_module.list_dir(root / TRAJECTORIES, sort=True):
                if entry.name.endswith(".json"):
                    unit = self.entry_unit(entry, {"trajectory": True})
                    if unit is not None:
                        yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        target = Path(os.path.abspath(os.fspath(path)))
        if target.name in ("metadata.json", "base_state.json") or (
                target.parent.name == "events" and target.name.endswith(".json")):
            session = target.parent if target.parent.name != "events" else target.parent.parent
            if session.parent.name in SESSION_FOLDERS:
                return self.session_unit(str(session))
            return None
        if target.is_dir() and target.parent.name in SESSION_FOLDERS:
            return self.session_unit(str(target))
        if target.name.endswith(".json") and _looks_like_trajectory(target):
            return self.stat_unit(str(target), context={"trajectory": True})
        return None

    def session_unit(self, directory: str) -> SourceUnit | None:
        """A session folder: its events, fingerprinted by the stats of every event file."""
        events = os.path.join(directory, "events")
        try:
            st = os.stat(events)
        except OSError:
            return None
        fold = [0, st.st_mtime_ns, 0, 0]
        for entry in roots_module.list_dir(events):
            if entry.name.endswith(".json"):
                try:
                    est = entry.stat()
                except OSError:
                    continue
                fold[0] += est.st_size
                fold[1] = max(fold[1], est.st_mtime_ns)
                fold[2] += 1
                fold[3] = (fold[3] + zlib.crc32(f"{entry.name}:{est.st_size}:{est.st_mtime_ns}".encode(
                    "utf-8", "surrogatepass"))) & 0xFFFFFFFFFFFF
        for extra in ("metadata.json", "base_state.json"):
            try:
                est = os.stat(os.path.join(directory, extra))
            except OSError:
                continue
            fold[0] += est.st_size
            fold[1] = max(fold[1], est.st_mtime_ns)
        return SourceUnit(self.name, directory, directory, fold[0], fold[1], st.st_ino,
                          fingerprint=f"{fold[2]:x}-{fold[3]:x}", context={"session_dir": directory})

    # ------------------------------------------------------------------ parsing
    def parse(self, unit: SourceUnit) -> ParsedUnit:
        issues = ParseIssues()
        if unit.context.get("trajectory"):
            value = _read_json(unit.path, issues, MAX_TRAJECTORY_BYTES)
            events = trajectory_events(value) if value is not None else None
            if events is None:
                if value is not None:
                    issues.bad(unit.path, "not an OpenHands trajectory (a list of events)")
                return ParsedUnit(None, issues=issues)
            session_id = Path(unit.path).stem
            if isinstance(value, dict) and _text(value.get("session_id") or value.get("id")):
                session_id = _text(value.get("session_id") or value.get("id"))
            return self._build(clean_id(session_id), [(f"{unit.path}[{i}]", e) for i, e in enumerate(events)],
                               {}, issues, trajectory=unit.path)
        directory = unit.path
        events_dir = os.path.join(directory, "events")
        names = sorted((e.name for e in roots_module.list_dir(events_dir) if e.name.endswith(".json")),
                       key=_event_key)
        events = [(os.path.join(events_dir, n), _read_json(os.path.join(events_dir, n), issues, MAX_EVENT_BYTES))
                  for n in names]
        info = _optional_json(os.path.join(directory, "metadata.json"))
        info.update(_optional_json(os.path.join(directory, "base_state.json")))
        session_id = _text(info.get("conversation_id")) or _text(info.get("id")) or Path(directory).name
        return self._build(clean_id(session_id), [(p, e) for p, e in events if e is not None], info, issues)

    def _build(self, session_id: str, events: list[tuple[str, Any]], info: dict[str, Any], issues: ParseIssues,
               trajectory: str | None = None) -> ParsedUnit:
        meta: dict[str, Any] = {}
        if _text(info.get("title")):
            meta["title"] = info["title"]
        if _text(info.get("selected_repository")):
            meta["repository"] = info["selected_repository"]
        if trajectory:
            meta["trajectory_file"] = trajectory
        if _text(info.get("parent_conversation_id")):
            meta["parent_session_id"] = info["parent_conversation_id"]
            meta["session_type"] = "subagent"
        model = _model(info)
        cwd = _workspace(info)
        out = Recorder(session_id)
        out.issues = issues
        for where, event in events:
            if not isinstance(event, dict):
                issues.bad(where, f"not a JSON object ({type(event).__name__})")
                continue
            raw = content.as_text(event) or ""
            record = _event(out, event, raw, model)
            if record is not None and record.model:
                model = record.model
            cwd = cwd or _event_cwd(event)
        session = SessionRecord(session_id, self.name, project_path=cwd, project_name=project_name_of(cwd), cwd=cwd,
                                model=model, meta=meta)
        return out.parsed(session)


def _looks_like_trajectory(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).lstrip()
    except OSError:
        return False
    return head[:1] in (b"[", b"{") and (b'"action"' in head or b'"observation"' in head or b'"kind"' in head)


def _model(info: dict[str, Any]) -> str | None:
    agent = info.get("agent")
    llm = agent.get("llm") if isinstance(agent, dict) else None
    for value in (llm.get("model") if isinstance(llm, dict) else None, info.get("llm_model")):
        if _text(value):
            return str(value)
    return None


def _workspace(info: dict[str, Any]) -> str | None:
    workspace = info.get("workspace")
    if isinstance(workspace, dict):
        for key in ("working_dir", "cwd", "path", "root", "mount_path"):
            if _text(workspace.get(key)):
                return str(workspace[key])
    return None


def _event_cwd(event: dict[str, Any]) -> str | None:
    for holder in (event.get("extras"), event.get("observation")):
        metadata = holder.get("metadata") if isinstance(holder, dict) else None
        if isinstance(metadata, dict) and _text(metadata.get("working_dir")):
            return str(metadata["working_dir"])
    return None


def _uuid(out: Recorder, event: dict[str, Any], raw: str) -> str:
    ident = event.get("id")
    if isinstance(ident, (int, str)) and not isinstance(ident, bool) and str(ident):
        return f"{out.session_id}:{ident}"
    return out.synthetic_uuid("event", raw)


def _tool_call_id(event: dict[str, Any]) -> str | None:
    meta = event.get("tool_call_metadata")
    if isinstance(meta, dict) and _text(meta.get("tool_call_id")):
        return str(meta["tool_call_id"])
    return _text(event.get("tool_call_id")) or None


def _event(out: Recorder, event: dict[str, Any], raw: str, model: str | None) -> MessageRecord | None:
    at = own_time(event.get("timestamp"))
    uuid = _uuid(out, event, raw)
    sdk = isinstance(event.get("action"), dict) or isinstance(event.get("observation"), dict)
    if sdk or ("kind" in event and "action" not in event and "observation" not in event):
        return _sdk_event(out, event, uuid, raw, at, model)
    source = _text(event.get("source"))
    if "action" in event:
        action = _text(event.get("action")) or "(no action)"
        args = _dict(event.get("args"))
        if action in SKIPPED_ACTIONS:
            out.observe_time(event.get("timestamp"))
            out.skip(f"action:{action}")
            return None
        if action == "message":
            text = _text(args.get("content")) or _text(event.get("message"))
            full = "\n".join([text] + [content.IMAGE for _ in args.get("image_urls") or []]).strip()
            kind = MessageType.USER if source == "user" else MessageType.ASSISTANT
            if not full:
                out.skip("action:message:empty")
                return None
            return out.emit(uuid, kind, text, full, raw, at=at, model=model if kind == MessageType.ASSISTANT else None)
        if action == "system":
            text = _text(args.get("content"))
            return out.emit(uuid, MessageType.SYSTEM, "", content.tagged("System Prompt", text, "\n"), raw, at=at)
        if action in ("condensation", "condensation_request"):
            summary = _text(args.get("summary"))
            return out.emit(uuid, MessageType.SYSTEM, summary, content.tagged("Condensation", summary, "\n"), raw,
                            at=at)
        thought = _text(args.get("thought"))
        if action == "think":
            return out.emit(uuid, MessageType.ASSISTANT, "", content.thinking(thought), raw, at=at, model=model)
        if action == "finish":
            text = _text(args.get("final_thought")) or _text(args.get("outputs")) or _text(event.get("message"))
            return out.emit(uuid, MessageType.ASSISTANT, text, content.tagged("Finish", text), raw, at=at, model=model)
        call_args = {k: v for k, v in args.items() if k not in ("thought",) and v not in (None, "", [], {})}
        args_text = content.as_text(call_args) or ""
        parts = [content.thinking(thought)] if thought else []
        parts.append(content.tool_call(action, args_text))
        tool: ToolFields = (_tool_call_id(event), action, args_text or None)
        kind = MessageType.USER if source == "user" else MessageType.ASSISTANT
        return out.emit(uuid, kind, "", "\n".join(parts), raw, at=at, model=model if kind != MessageType.USER else None,
                        tool=tool)
    if "observation" in event:
        observation = _text(event.get("observation")) or "(no observation)"
        if observation in SKIPPED_OBSERVATIONS:
            out.observe_time(event.get("timestamp"))
            out.skip(f"observation:{observation}")
            return None
        body = _text(event.get("content")) or _text(event.get("message"))
        extras = _dict(event.get("extras"))
        failed = observation in ("error", "user_rejected")
        metadata = extras.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("exit_code"), int) and metadata["exit_code"] not in (
                0, -1):
            failed = True
        return out.emit(uuid, MessageType.TOOL, "", content.tool_result(body.rstrip(), error=failed), raw, at=at,
                        tool=(_tool_call_id(event), observation, None))
    return out.unknown(_text(event.get("kind")) or "(no type)", raw, uuid=uuid, at=at)


def _sdk_event(out: Recorder, event: dict[str, Any], uuid: str, raw: str, at: int | None,
               model: str | None) -> MessageRecord | None:
    """An event file of the OpenHands CLI/SDK 1.x (``kind`` names the event)."""
    kind = _text(event.get("kind")) or "(no kind)"
    if kind in SKIPPED_KINDS:
        out.observe_time(event.get("timestamp"))
        out.skip(kind)
        return None
    if kind == "MessageEvent":
        message = _dict(event.get("llm_message"))
        role = _text(message.get("role"))
        text = content.result_text(message.get("content"))
        if not text:
            out.skip("MessageEvent:empty")
            return None
        kinds = {"user": MessageType.USER, "assistant": MessageType.ASSISTANT}
        message_type = kinds.get(role, MessageType.SYSTEM)
        return out.emit(uuid, message_type, text if message_type != MessageType.SYSTEM else "", text, raw, at=at,
                        model=model if message_type == MessageType.ASSISTANT else None)
    if kind == "ActionEvent":
        call = _dict(event.get("tool_call"))
        name = _text(event.get("tool_name")) or _text(call.get("name")) or None
        args = _text(call.get("arguments")) or content.as_text(event.get("action")) or ""
        parts = []
        thought = content.result_text(event.get("thought"))
        if thought:
            parts.append(thought)
        if _text(event.get("reasoning_content")):
            parts.append(content.thinking(event["reasoning_content"]))
        parts.append(content.tool_call(name, args))
        return out.emit(uuid, MessageType.ASSISTANT, thought, "\n".join(parts), raw, at=at, model=model,
                        tool=(_tool_call_id(event), name, args or None))
    if kind in ("ObservationEvent", "AgentErrorEvent", "UserRejectObservation"):
        observation = event.get("observation")
        body = content.result_text(observation.get("content")) if isinstance(observation, dict) else ""
        body = body or _text(event.get("error")) or _text(event.get("rejection_reason"))
        failed = kind != "ObservationEvent" or (isinstance(observation, dict) and observation.get("is_error") is True)
        return out.emit(uuid, MessageType.TOOL, "", content.tool_result(body.rstrip(), error=failed), raw, at=at,
                        tool=(_tool_call_id(event), _text(event.get("tool_name")) or None, None))
    if kind in ("SystemPromptEvent", "Condensation", "CondensationSummaryEvent"):
        prompt = event.get("system_prompt")
        text = (prompt.get("text") if isinstance(prompt, dict) else None) or _text(event.get("summary"))
        return out.emit(uuid, MessageType.SYSTEM, "", content.tagged(kind, _text(text), "\n"), raw, at=at)
    return out.unknown(kind, raw, uuid=uuid, at=at)


SOURCE = OpenHandsSource()
