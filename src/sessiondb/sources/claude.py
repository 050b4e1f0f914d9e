"""Claude Code: ``<root>/<encoded project dir>/<session id>.jsonl``, one JSON record a line.

Roots: the argument, ``$CLAUDE_PROJECTS_PATH``, else ``<dir>/projects`` for each dir of
``$CLAUDE_CONFIG_DIR`` (comma-separated), else ``~/.claude/projects`` and
``~/.config/claude/projects``.

What becomes a message (``type`` of the line):

* ``user``: the human's text (USER); a line of only ``tool_result`` blocks is a TOOL
  message; ``isMeta`` expansions of slash commands are SYSTEM; a compact summary
  (``isCompactSummary``) is SYSTEM ``[Compact Summary] ...``.
* ``assistant``: ASSISTANT, model from ``message.model``. Streamed responses arrive as
  several lines sharing ``message.id``, one content block each; each line is its own
  message (its own uuid), in file order.
* ``system`` (hooks, compact boundaries, API errors, ...): SYSTEM ``[system:<subtype>] ...``.
* ``summary`` and ``custom-title``: session metadata (``meta.summary``, ``meta.title``)
  and a SYSTEM message, so the text is searchable and the line kept.
* ``file-history-snapshot``, ``progress``, ``queue-operation``, ``last-prompt``:
  bookkeeping that repeats other lines; counted as skipped.
* anything else: a SYSTEM ``[<type>] ...`` message with the raw line, counted as unknown.

``content_full`` holds text, ``[Thinking] ...``, ``[Tool: NAME] {input}``,
``[Result] ...`` / ``[Result Error] ...``, ``[Image]``; ``content_text`` only the
dialogue text. Subagent transcripts (legacy ``agent-*.jsonl`` beside the sessions and
``<session>/subagents/agent-*.jsonl``) are sessions of their own whose
``meta.parent_session_id`` names the parent.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..models import MessageType
from . import roots as roots_module
from .jsonl import LineReader, timestamp_ms
from .lenient import LenientDecoder, LineError, as_text, decode_line
from .records import (SOURCE_CLAUDE, MessageRecord, ParseIssues, SessionRecord, SourceUnit, clean_id, preview,
                      project_name_of, stat_unit, synthetic_uuid)

SOURCE = SOURCE_CLAUDE
# Bump when the rows produced from the same bytes change: every file is read again.
PARSER_VERSION = 1
EXTENSION = ".jsonl"
SKIPPED_TYPES = frozenset({"file-history-snapshot", "progress", "queue-operation", "last-prompt"})
_SYNTHETIC_MODEL = "<synthetic>"


# --------------------------------------------------------------------------- roots
# The environment variables default_roots reads, in order (for help texts).
ROOT_VARIABLES = ("CLAUDE_PROJECTS_PATH", "CLAUDE_CONFIG_DIR")


def default_roots() -> list[Path]:
    direct = roots_module.split_env("CLAUDE_PROJECTS_PATH")
    if direct:
        return direct
    config_dirs = roots_module.split_env("CLAUDE_CONFIG_DIR")
    if config_dirs:
        return [d / "projects" for d in config_dirs]
    home = roots_module.home()
    return [home / ".claude" / "projects", home / ".config" / "claude" / "projects"]


def resolve_roots(roots: Any = None) -> list[Path]:
    return roots_module.dedupe(roots_module.explicit(roots) or default_roots())


# --------------------------------------------------------------------------- discovery
def discover(roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
    """Every session file under the roots: main sessions, legacy agent files and
    ``<session>/subagents/*.jsonl``. Only directory listings and stats, no reads."""
    for root in roots:
        for project in roots_module.list_dir(root):
            if project.name.startswith(".") or not roots_module.is_dir(project):
                continue
            for entry in roots_module.list_dir(project.path):
                name = entry.name
                if name.endswith(EXTENSION) and len(name) > len(EXTENSION):
                    unit = _unit(entry, project.name, None)
                    if unit is not None:
                        yield unit
                elif not name.startswith(".") and roots_module.is_dir(entry):
                    for sub in roots_module.list_dir(os.path.join(entry.path, "subagents")):
                        if sub.name.endswith(EXTENSION) and len(sub.name) > len(EXTENSION):
                            unit = _unit(sub, project.name, name)
                            if unit is not None:
                                yield unit


def unit_for_path(path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
    """The unit of one file, without listing anything else (for file events)."""
    for root in roots:
        rel = roots_module.is_within(path, root)
        if rel is None or not rel.name.endswith(EXTENSION):
            continue
        parts = rel.parts
        if len(parts) == 2:
            return stat_unit(SOURCE, os.path.join(root, *parts), incremental=True,
                             context=_context(parts[-1], parts[0], None))
        if len(parts) == 4 and parts[2] == "subagents":
            return stat_unit(SOURCE, os.path.join(root, *parts), incremental=True,
                             context=_context(parts[-1], parts[0], parts[1]))
    return None


def _unit(entry: os.DirEntry, encoded: str, parent: str | None) -> SourceUnit | None:
    try:
        st = entry.stat()
    except OSError:
        return None
    if not stat_module.S_ISREG(st.st_mode):
        return None
    return SourceUnit(SOURCE, entry.path, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, incremental=True,
                      context=_context(entry.name, encoded, parent))



def _context(name: str, encoded: str, parent: str | None) -> dict[str, Any]:
    session_id = name[:-len(EXTENSION)]
    while session_id.endswith(EXTENSION):
        session_id = session_id[:-len(EXTENSION)]
    context: dict[str, Any] = {"session_id": session_id, "encoded_dir_name": encoded}
    if parent is not None:
        context["parent_session_id"] = parent
    return context






# --------------------------------------------------------------------------- line schema
class Block(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    thinking: str | None = None
    id: str | None = None
    name: str | None = None
    input: msgspec.Raw = msgspec.Raw(b"")
    tool_use_id: str | None = None
    content: msgspec.Raw = msgspec.Raw(b"")
    is_error: bool | None = None


class Message(msgspec.Struct):
    id: str | None = None
    role: str | None = None
    model: str | None = None
    content: str | list[Block] | None = None


class Line(msgspec.Struct):
    type: str | None = None
    uuid: str | None = None
    timestamp: str | None = None
    cwd: str | None = None
    sessionId: str | None = None
    message: Message | None = None
    isMeta: bool | None = None
    isCompactSummary: bool | None = None
    isSidechain: bool | None = None
    agentId: str | None = None
    subtype: str | None = None
    content: msgspec.Raw = msgspec.Raw(b"")
    level: str | None = None
    summary: str | None = None
    leafUuid: str | None = None
    customTitle: str | None = None
    compactMetadata: msgspec.Raw = msgspec.Raw(b"")
    gitBranch: str | None = None
    version: str | None = None


DECODER = LenientDecoder(Line)


def raw_text(raw: msgspec.Raw) -> str:
    """The JSON text of a raw field ("" when absent or null)."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    return data.decode("utf-8", "replace")


def result_text(raw: msgspec.Raw | Any) -> str:
    """Text of a tool result: a string as is, text blocks joined, images as ``[Image]``."""
    if isinstance(raw, msgspec.Raw):
        data = bytes(raw)
        if not data or data == b"null":
            return ""
        try:
            value = msgspec.json.decode(data)
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
                    parts.append("[Image]")
                else:
                    parts.append(as_text(item) or "")
            else:
                parts.append(as_text(item) or "")
        return "\n".join(parts)
    return as_text(value) or ""


# --------------------------------------------------------------------------- parser
class Parser:
    """Turns the lines of one session file into records, one line at a time.

    ``carry`` is the state saved after the previous read of the same file (timestamp of
    the last message, next sequence number, what is known of the session), so reading
    an append gives exactly the rows reading the whole file would.
    """

    source = SOURCE
    version = PARSER_VERSION

    def __init__(self, unit: SourceUnit, carry: dict[str, Any] | None = None) -> None:
        self.unit = unit
        context = unit.context
        self.session_id: str = context.get("session_id") or Path(unit.path).stem
        self.encoded_dir_name: str | None = context.get("encoded_dir_name")
        carry = carry or {}
        self.last_ts: int = carry.get("ts") or unit.mtime_ns // 1_000_000
        self.sequence: int = carry.get("seq", 0)
        self.cwd: str | None = carry.get("cwd")
        self.model: str | None = carry.get("model")
        self.meta: dict[str, Any] = dict(carry.get("meta") or {})
        self.project_guessed: bool = carry.get("guess", False)
        self.reassign_project = False
        if context.get("parent_session_id"):
            self.meta.setdefault("parent_session_id", context["parent_session_id"])
            self.meta.setdefault("session_type", "subagent")
        elif self.session_id.startswith("agent-"):
            self.meta.setdefault("session_type", "subagent")
        self.messages: list[MessageRecord] = []
        self.issues = ParseIssues()
        self._guessed_project: str | None = None
        self._agent_meta_read = "agent_type" in self.meta

    # ------------------------------------------------------------------ state
    def carry(self) -> dict[str, Any]:
        return {"ts": self.last_ts, "seq": self.sequence, "cwd": self.cwd, "model": self.model,
                "meta": self.meta, "guess": self.project_guessed}

    def take_messages(self) -> list[MessageRecord]:
        out, self.messages = self.messages, []
        return out

    def session(self) -> SessionRecord:
        project_path = self.cwd
        if project_path is None:
            if self._guessed_project is None:
                self._guessed_project = self._guess_project()
            project_path = self._guessed_project
            self.project_guessed = True
        if self.meta.get("session_type") == "subagent" and not self._agent_meta_read:
            self._agent_meta_read = True
            self._read_agent_meta()
        return SessionRecord(self.session_id, SOURCE, project_path=project_path,
                             project_name=project_name_of(project_path), encoded_dir_name=self.encoded_dir_name,
                             cwd=self.cwd, model=self.model, meta=dict(self.meta))

    def _guess_project(self) -> str:
        """A file without any cwd (a summary-only file): the cwd recorded by its parent or
        a sibling session of the same directory, else the directory name itself (as the
        original's reader did)."""
        directory = Path(self.unit.path).parent
        candidates: list[Path] = []
        parent = self.meta.get("parent_session_id")
        if self.unit.context.get("parent_session_id"):
            directory = directory.parent.parent
        if parent:
            candidates.append(directory / f"{parent}{EXTENSION}")
        siblings = sorted(p for p in directory.glob(f"*{EXTENSION}") if p != Path(self.unit.path))[:20]
        candidates.extend(siblings)
        for candidate in candidates:
            cwd = first_cwd(candidate)
            if cwd:
                return cwd
        return self.encoded_dir_name or str(directory)

    def _read_agent_meta(self) -> None:
        meta_path = self.unit.path[:-len(EXTENSION)] + ".meta.json"
        try:
            with open(meta_path, "rb") as handle:
                data = msgspec.json.decode(handle.read(1 << 16))
        except (OSError, msgspec.DecodeError):
            return
        if isinstance(data, dict) and isinstance(data.get("agentType"), str):
            self.meta["agent_type"] = data["agentType"]

    # ------------------------------------------------------------------ lines
    def feed(self, line: bytes, offset: int) -> None:
        """Parse one line (without its newline); ``offset`` is where it starts, for errors."""
        if not line or line.isspace():
            return
        decoded = decode_line(DECODER, line, offset, self.issues)
        if decoded is None:
            return
        entry, text = decoded
        self._convert(entry, text)

    def _timestamp(self, entry: Line) -> int:
        ts = timestamp_ms(entry.timestamp) if entry.timestamp is not None else None
        if ts is None:
            return self.last_ts
        self.last_ts = ts
        return ts

    def _emit(self, uuid: str, kind: MessageType, text: str, full: str, ts: int, raw: str, *,
              model: str | None = None, tool: tuple[str | None, str | None, str | None] | None = None) -> None:
        record = MessageRecord(clean_id(uuid), kind, text, full, ts, self.sequence, model,
                               raw=raw)
        if tool is not None:
            record.tool_call_id, record.tool_name, record.tool_args = tool
        self.messages.append(record)
        self.sequence += 1

    def _note_session(self, entry: Line) -> None:
        if entry.cwd and self.cwd is None:
            self.cwd = entry.cwd
            if self.project_guessed:
                self.reassign_project = True
                self.project_guessed = False
        for key, value in (("git_branch", entry.gitBranch), ("version", entry.version)):
            if value and self.meta.get(key) != value:
                self.meta[key] = value
        if entry.agentId and self.meta.get("agent_id") != entry.agentId and (
                entry.isSidechain or self.meta.get("session_type") == "subagent"):
            self.meta["agent_id"] = entry.agentId
        if (entry.sessionId and entry.sessionId != self.session_id and self.session_id.startswith("agent-")
                and "parent_session_id" not in self.meta):
            # Legacy agent files carry their parent's session id in every line.
            self.meta["parent_session_id"] = entry.sessionId

    def _convert(self, entry: Line, raw: str) -> None:
        kind = entry.type
        self._note_session(entry)
        if kind in ("user", "assistant", "message"):
            self._conversation(entry, raw)
        elif kind == "system":
            self._system(entry, raw)
        elif kind == "summary":
            text = entry.summary or ""
            if entry.summary is not None:
                self.meta["summary"] = text
                if entry.leafUuid:
                    self.meta["summary_leaf_uuid"] = entry.leafUuid
            self._emit(entry.uuid or synthetic_uuid(self.session_id, "summary", raw), MessageType.SYSTEM, text,
                       f"[Summary] {text}", self._timestamp(entry), raw)
        elif kind == "custom-title":
            title = entry.customTitle or ""
            if entry.customTitle is not None:
                self.meta["title"] = title
            self._emit(entry.uuid or synthetic_uuid(self.session_id, "title", raw), MessageType.SYSTEM, title,
                       f"[Title] {title}", self._timestamp(entry), raw)
        elif kind in SKIPPED_TYPES:
            self.issues.skipped_records[kind] += 1
        else:
            label = kind if kind else "(no type)"
            self.issues.unknown_records[label] += 1
            self._emit(entry.uuid or synthetic_uuid(self.session_id, "unknown", raw), MessageType.SYSTEM, "",
                       f"[{label}] {preview(raw)}", self._timestamp(entry), raw)

    def _system(self, entry: Line, raw: str) -> None:
        subtype = entry.subtype or "message"
        body = result_text(entry.content)
        if subtype == "compact_boundary":
            details = raw_text(entry.compactMetadata)
            body = f"{body or 'Conversation compacted'}{' ' + details if details else ''}"
        elif not body and entry.level:
            body = entry.level
        self._emit(entry.uuid or synthetic_uuid(self.session_id, "system", raw), MessageType.SYSTEM, "",
                   f"[system:{subtype}] {body}".rstrip(), self._timestamp(entry), raw)

    def _conversation(self, entry: Line, raw: str) -> None:
        message = entry.message
        role = entry.type if entry.type != "message" else (message.role if message else None)
        content = message.content if message is not None else None
        text_parts: list[str] = []
        full_parts: list[str] = []
        tool: tuple[str | None, str | None, str | None] | None = None
        result_id: str | None = None
        has_text = False
        if isinstance(content, str):
            if content:
                text_parts.append(content)
                full_parts.append(content)
                has_text = True
        elif content:
            for block in content:
                kind = block.type
                if kind == "text":
                    if block.text:
                        text_parts.append(block.text)
                        full_parts.append(block.text)
                        has_text = True
                elif kind == "tool_use":
                    args = raw_text(block.input)
                    full_parts.append(f"[Tool: {block.name or 'unknown'}] {args}")
                    tool = (block.id, block.name, args or None)
                elif kind == "tool_result":
                    label = "[Result Error]" if block.is_error else "[Result]"
                    full_parts.append(f"{label} {result_text(block.content)}")
                    if result_id is None:
                        result_id = block.tool_use_id
                elif kind == "thinking":
                    if block.thinking:
                        full_parts.append(f"[Thinking] {block.thinking}")
                elif kind == "image":
                    full_parts.append("[Image]")
                elif kind == "document":
                    full_parts.append("[Document]")
        full = "\n".join(full_parts)
        if not full:
            self.issues.skipped_records[f"{entry.type}:empty"] += 1
            return
        text = "\n".join(text_parts)
        ts = self._timestamp(entry)
        uuid = entry.uuid or synthetic_uuid(self.session_id, role or "message", raw)
        model = message.model if message is not None else None
        if role == "assistant":
            if model and model != _SYNTHETIC_MODEL:
                self.model = model
            self._emit(uuid, MessageType.ASSISTANT, text, full, ts, raw, model=model, tool=tool)
        elif role == "user":
            if entry.isCompactSummary:
                self._emit(uuid, MessageType.SYSTEM, text, f"[Compact Summary] {full}", ts, raw)
            elif result_id is not None and not has_text:
                self._emit(uuid, MessageType.TOOL, "", full, ts, raw, tool=(result_id, None, None))
            elif entry.isMeta:
                self._emit(uuid, MessageType.SYSTEM, text, full, ts, raw)
            else:
                self._emit(uuid, MessageType.USER, text, full, ts, raw)
        else:
            self._emit(uuid, MessageType.SYSTEM, text, full, ts, raw, model=model, tool=tool)


# --------------------------------------------------------------------------- small reads
def first_cwd(path: str | os.PathLike[str], *, max_lines: int = 50, user_only: bool = False) -> str | None:
    """The ``cwd`` of the first line that has one (of the first ``user`` line with
    ``user_only``), reading at most ``max_lines`` non-blank lines; None if none."""
    seen = 0
    try:
        for line, _ in LineReader(path, block_size=1 << 16):
            if not line.strip():
                continue
            seen += 1
            if seen > max_lines:
                break
            if b'"cwd"' not in line:
                continue
            try:
                entry, _ = DECODER.decode(line)
            except LineError:
                continue
            if user_only and entry.type != "user":
                continue
            if entry.cwd:
                return entry.cwd
    except (OSError, UnicodeDecodeError):
        return None
    return None
