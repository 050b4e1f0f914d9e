"""Cline (and Roo Code, Kilo Code): ``<root>/tasks/<task id>/api_conversation_history.json``.

Roots: the argument, ``$CLINE_PATH``, else the extension's storage in every editor's
user folder: ``globalStorage/saoudrizwan.claude-dev`` (Cline),
``globalStorage/rooveterinaryinc.roo-cline`` (Roo Code) and
``globalStorage/kilocode.kilo-code`` (Kilo Code) under ``~/.config/{Code, Code -
Insiders, Cursor, VSCodium}/User`` and macOS's ``~/Library/Application Support/...``,
and the Cline CLI's ``~/.cline/data``.

One task is one unit. ``api_conversation_history.json`` is the conversation as sent to
the model: a JSON array of ``{"role", "content"}`` (a string or Anthropic blocks:
``text``, ``image``, ``tool_use``, ``tool_result``, ``thinking``, ``reasoning``), newer
versions with ``ts``. The file is rewritten whole as the task goes on (and truncated on
a checkpoint restore), so a changed task is read whole, its messages keyed by position:
a message whose text changed is updated, nothing is duplicated. ``ui_messages.json``
(what the panel shows, each with ``ts``) dates the messages that have no ``ts``: a
message takes the time of the first panel message shown while it was the next one
(``conversationHistoryIndex`` one below its position), or, for older versions without that index, the
``api_req_started`` of its request. ``task_metadata.json`` gives the model
(``model_usage``); Roo's ``history_item.json`` the title, workspace and parent task.
The working directory is read from the environment details Cline adds to the first
user message; the title is the ``<task>``.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from ..timeutil import parse_timestamp_ms
from . import content
from . import roots as roots_module
from .base import Recorder, ToolFields, WholeSource
from .records import ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, clean_id, project_name_of
from .roots import RootSpec

HISTORY = "api_conversation_history.json"
UI_MESSAGES = "ui_messages.json"
METADATA = "task_metadata.json"
HISTORY_ITEM = "history_item.json"
TASK_FILES = (HISTORY, UI_MESSAGES, METADATA, HISTORY_ITEM)
MAX_FILE_BYTES = 256 << 20
EXTENSIONS = {"saoudrizwan.claude-dev": "cline", "rooveterinaryinc.roo-cline": "roo-code",
              "kilocode.kilo-code": "kilo-code"}
_EDITORS = ("Code", "Code - Insiders", "Cursor", "VSCodium")
_HOMES = tuple(f"{base}/{editor}/User/globalStorage/{extension}"
               for base in (".config", "Library/Application Support") for editor in _EDITORS for extension in EXTENSIONS)
_CWD = re.compile(r"# Current (?:Working|Workspace) Directory \(([^)\n]+)\)")
_ENVIRONMENT = re.compile(r"\s*<environment_details>.*?(?:</environment_details>|\Z)\s*", re.S)
_TASK = re.compile(r"<task>\s*(.*?)\s*(?:</task>|\Z)", re.S)
TITLE_CHARS = 200


class ClineSource(WholeSource):
    name = "cline"
    title = "Cline / Roo Code"
    channel = "code"
    roots_spec = RootSpec("CLINE_PATH", (), (*_HOMES, ".cline/data"))
    file_suffixes = (".json",)

    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        for root in roots:
            tasks = root / "tasks" if (root / "tasks").is_dir() else root
            for entry in roots_module.list_dir(tasks, sort=True):
                if roots_module.is_dir(entry):
                    unit = self.task_unit(Path(entry.path))
                    if unit is not None:
                        yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        """Any file of a task folder (``.../tasks/<id>/<file>.json``), inside the roots or not."""
        target = Path(os.path.abspath(os.fspath(path)))
        if target.name in TASK_FILES and target.parent.parent.name == "tasks":
            return self.task_unit(target.parent)
        return None

    def task_unit(self, task: Path) -> SourceUnit | None:
        """The unit of one task folder: its history file, fingerprinted by all its files."""
        unit = self.stat_unit(str(task / HISTORY), context={"task": str(task)})
        if unit is None:
            return None
        fold = 0
        for name in TASK_FILES[1:]:
            try:
                st = os.stat(task / name)
            except OSError:
                continue
            unit.size += st.st_size
            unit.mtime_ns = max(unit.mtime_ns, st.st_mtime_ns)
            fold = zlib.crc32(f"{name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode(), fold)
        unit.fingerprint = f"{fold:x}"
        return unit

    def parse(self, unit: SourceUnit) -> ParsedUnit:
        task = Path(unit.context.get("task") or Path(unit.path).parent)
        issues = ParseIssues()
        history = _read_json(task / HISTORY, issues, required=True)
        if not isinstance(history, list):
            if history is not None:
                issues.bad(str(task / HISTORY), "not a JSON array")
            return ParsedUnit(None, issues=issues)
        ui = _read_json(task / UI_MESSAGES, issues)
        metadata = _read_json(task / METADATA, issues)
        item = _read_json(task / HISTORY_ITEM, issues)
        item = item if isinstance(item, dict) else {}
        session_id = clean_id(task.name)
        times = _times_from_ui(ui if isinstance(ui, list) else [], history)
        models = _models(metadata)
        start = parse_timestamp_ms(item.get("ts")) or (times.get(0) if times else None) or _task_time(task.name)
        out = Recorder(session_id, timeline=Timeline(start))
        out.issues = issues
        cwd = content.text_or_none(item.get("workspace"))
        title = content.text_or_none(item.get("task"))
        model = None
        for index, message in enumerate(history):
            raw = content.as_text(message) or ""
            if not isinstance(message, dict):
                issues.bad(f"{task / HISTORY}: message {index}", "not a JSON object")
                continue
            at = parse_timestamp_ms(message.get("ts")) or times.get(index)
            record = _message(out, f"{session_id}:{index}", message, raw, at, models)
            if record is None:
                continue
            if record.type == MessageType.USER:
                found = _CWD.search(record.content_full)
                cwd = cwd or (found.group(1).strip() if found else None)
                task_text = _TASK.search(record.content_full)
                title = title or _first_line(task_text.group(1) if task_text else record.content_text)
            elif record.model:
                model = record.model
        meta: dict[str, Any] = {}
        if title:
            meta["title"] = title
        extension = next((label for ext, label in EXTENSIONS.items() if ext in str(task)), None)
        if extension:
            meta["extension"] = extension
        parent = content.text_or_none(item.get("parentTaskId"))
        if parent:
            meta["parent_session_id"] = parent
            meta["session_type"] = "subagent"
        if content.text_or_none(item.get("rootTaskId")) and item.get("rootTaskId") != parent:
            meta["root_session_id"] = item["rootTaskId"]
        project = cwd or f"cline:{task.parent.parent.name}"
        session = SessionRecord(session_id, self.name, project_path=project, project_name=project_name_of(project),
                                cwd=cwd, model=model or (models[-1][1] if models else None), meta=meta)
        return out.parsed(session)


def _read_json(path: Path, issues: ParseIssues, *, required: bool = False) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if required:
            issues.bad(str(path), "missing")
        return None
    except OSError as exc:
        issues.bad(str(path), f"cannot read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        issues.bad(str(path), f"larger than {MAX_FILE_BYTES >> 20} MB; not read")
        return None
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        issues.bad(str(path), f"invalid JSON ({exc})")
        return None


def _times_from_ui(ui: list[Any], history: list[Any]) -> dict[int, int]:
    """Times of the history messages from the panel's messages (see the module docstring)."""
    times: dict[int, int] = {}
    indexed = False
    requests: list[int] = []
    first: int | None = None
    for entry in ui:
        if not isinstance(entry, dict):
            continue
        at = parse_timestamp_ms(entry.get("ts"))
        if at is None:
            continue
        index = entry.get("conversationHistoryIndex")
        if isinstance(index, int) and not isinstance(index, bool):
            indexed = True
            times[index + 1] = min(times.get(index + 1, at), at)
        if entry.get("say") == "api_req_started":
            requests.append(at)
        first = at if first is None else first
    if first is not None:
        times.setdefault(0, first)   # the task's own text is the panel's first message
    if not indexed:
        assistants = [i for i, m in enumerate(history) if isinstance(m, dict) and m.get("role") == "assistant"]
        for index, at in zip(assistants, requests):
            times[index] = at
    return times


def _models(metadata: Any) -> list[tuple[int, str]]:
    """``(time, model id)`` of each model change the task's metadata lists, oldest first."""
    usage = metadata.get("model_usage") if isinstance(metadata, dict) else None
    found = []
    for entry in usage if isinstance(usage, list) else []:
        if isinstance(entry, dict) and content.text_or_none(entry.get("model_id")):
            found.append((parse_timestamp_ms(entry.get("ts")) or 0, entry["model_id"]))
    return sorted(found)


def _model_at(models: list[tuple[int, str]], at: int | None) -> str | None:
    if not models:
        return None
    if at is None:
        return models[-1][1]
    chosen = models[0][1]
    for when, model in models:
        if when <= at:
            chosen = model
    return chosen


def _message(out: Recorder, uuid: str, message: dict[str, Any], raw: str, at: int | None,
             models: list[tuple[int, str]]) -> Any:
    role = message.get("role")
    blocks = message.get("content")
    if isinstance(blocks, str):
        blocks = [{"type": "text", "text": blocks}]
    text_parts: list[str] = []
    full_parts: list[str] = []
    tool: ToolFields | None = None
    results = 0
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            text = content.text_or_none(block.get("text"))
            if text:
                full_parts.append(text)
                shown = _ENVIRONMENT.sub("\n", text).strip()
                if shown:
                    text_parts.append(shown)
        elif kind in ("thinking", "reasoning"):
            thought = content.text_or_none(block.get("thinking")) or content.text_or_none(block.get("text"))
            if thought:
                full_parts.append(content.thinking(thought))
        elif kind == "redacted_thinking":
            full_parts.append(content.tagged("Thinking", "(redacted)"))
        elif kind == "image":
            full_parts.append(content.IMAGE)
        elif kind == "document":
            full_parts.append(content.DOCUMENT)
        elif kind == "tool_use":
            name, args = content.text_or_none(block.get("name")), content.as_text(block.get("input"))
            full_parts.append(content.tool_call(name, args))
            tool = (content.text_or_none(block.get("id")), name, args or None)
        elif kind == "tool_result":
            results += 1
            full_parts.append(content.tool_result(content.result_text(block.get("content")),
                                                  error=block.get("is_error") is True))
            if tool is None:
                tool = (content.text_or_none(block.get("tool_use_id")), None, None)
        else:
            out.issues.unknown(f"block:{kind}")
            full_parts.append(content.unknown(str(kind or "block"), content.as_text(block) or ""))
    full = "\n".join(full_parts)
    if not full:
        out.skip(f"{role}:empty")
        return None
    model = None
    if role == "assistant":
        kind_type = MessageType.ASSISTANT
        model = content.text_or_none(message.get("model")) or _model_at(models, at)
    elif role == "user":
        kind_type = MessageType.TOOL if results and not text_parts else MessageType.USER
    else:
        kind_type = MessageType.SYSTEM
        out.issues.unknown(f"role:{role}")
    if message.get("isSummary"):
        kind_type, full = MessageType.SYSTEM, content.tagged("Summary", full)
    return out.emit(uuid, kind_type, "\n".join(text_parts), full, raw, at=at, model=model, tool=tool)


def _task_time(task_id: str) -> int | None:
    """Cline names a task after the time it started (epoch ms)."""
    return int(task_id) if task_id.isdigit() and 12 <= len(task_id) <= 14 else None


def _first_line(text: str) -> str | None:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return content.preview(line, TITLE_CHARS) if line else None



SOURCE = ClineSource()
