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
dialogue text. A line without a ``timestamp`` (``summary`` and ``custom-title`` lines at
the top of a file) takes the nearest timed line's time; a summary that comes before any
names the message its ``leafUuid`` links to, whose time it takes if the file has none. Subagent transcripts (legacy ``agent-*.jsonl`` beside the sessions and
``<session>/subagents/agent-*.jsonl``) are sessions of their own whose
``meta.parent_session_id`` names the parent.
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
from . import tokens
from .base import LineParser, LineSource, ToolFields, own_time
from .jsonl import LineReader, loads
from .lenient import LenientDecoder, LineError
from .records import SessionRecord, SourceUnit, UsageRecord, clean_id, project_name_of
from .roots import RootSpec

EXTENSION = ".jsonl"
SKIPPED_TYPES = frozenset({"file-history-snapshot", "progress", "queue-operation", "last-prompt"})
_SYNTHETIC_MODEL = "<synthetic>"


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
    usage: msgspec.Raw = msgspec.Raw(b"")


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
    requestId: str | None = None


DECODER = LenientDecoder(Line)


class ClaudeParser(LineParser):
    """The lines of one session file (see the module docstring)."""

    decoder = DECODER
    carried = ("project_guessed",)
    project_guessed = False   # the project came from a sibling file or the directory name

    def __init__(self, source: LineSource, unit: SourceUnit, carry: Mapping[str, Any] | None = None) -> None:
        super().__init__(source, unit, carry)
        context = unit.context
        self.session_id: str = context.get("session_id") or Path(unit.path).stem
        self.encoded_dir_name: str | None = context.get("encoded_dir_name")
        if context.get("parent_session_id"):
            self.meta.setdefault("parent_session_id", context["parent_session_id"])
            self.meta.setdefault("session_type", "subagent")
        elif self.session_id.startswith("agent-"):
            self.meta.setdefault("session_type", "subagent")
        self._guessed_project: str | None = None
        self._agent_meta_read = "agent_type" in self.meta

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
        return SessionRecord(self.session_id, self.source.name, project_path=project_path,
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
                data = loads(handle.read(1 << 16))
        except (OSError, msgspec.DecodeError):
            return
        if isinstance(data, dict) and isinstance(data.get("agentType"), str):
            self.meta["agent_type"] = data["agentType"]

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

    # ------------------------------------------------------------------ records
    def convert(self, entry: Line, raw: str) -> None:
        kind = entry.type
        at = own_time(entry.timestamp)
        self._note_session(entry)
        if kind in ("user", "assistant", "message"):
            self._conversation(entry, raw, at)
        elif kind == "system":
            self._system(entry, raw, at)
        elif kind == "summary":
            text = entry.summary or ""
            if entry.summary is not None:
                self.meta["summary"] = text
                if entry.leafUuid:
                    self.meta["summary_leaf_uuid"] = entry.leafUuid
            self.emit(entry.uuid or self.synthetic_uuid("summary", raw), MessageType.SYSTEM, text,
                      content.tagged("Summary", text), raw, at=at, link=entry.leafUuid)
        elif kind == "custom-title":
            title = entry.customTitle or ""
            if entry.customTitle is not None:
                self.meta["title"] = title
            self.emit(entry.uuid or self.synthetic_uuid("title", raw), MessageType.SYSTEM, title,
                      content.tagged("Title", title), raw, at=at)
        elif kind in SKIPPED_TYPES:
            self.skip(kind)
        else:
            self.unknown(kind or "(no type)", raw, uuid=entry.uuid, at=at)

    def _system(self, entry: Line, raw: str, at: int | None) -> None:
        subtype = entry.subtype or "message"
        body = content.result_text(entry.content)
        if subtype == "compact_boundary":
            details = content.raw_text(entry.compactMetadata)
            body = f"{body or 'Conversation compacted'}{' ' + details if details else ''}"
        elif not body and entry.level:
            body = entry.level
        self.emit(entry.uuid or self.synthetic_uuid("system", raw), MessageType.SYSTEM, "",
                  content.tagged(f"system:{subtype}", body).rstrip(), raw, at=at)

    def _conversation(self, entry: Line, raw: str, at: int | None) -> None:
        message = entry.message
        role = entry.type if entry.type != "message" else (message.role if message else None)
        blocks = message.content if message is not None else None
        text_parts: list[str] = []
        full_parts: list[str] = []
        tool: ToolFields | None = None
        result_id: str | None = None
        has_text = False
        if isinstance(blocks, str):
            if blocks:
                text_parts.append(blocks)
                full_parts.append(blocks)
                has_text = True
        elif blocks:
            for block in blocks:
                kind = block.type
                if kind == "text":
                    if block.text:
                        text_parts.append(block.text)
                        full_parts.append(block.text)
                        has_text = True
                elif kind == "tool_use":
                    args = content.raw_text(block.input)
                    full_parts.append(content.tool_call(block.name, args))
                    tool = (block.id, block.name, args or None)
                elif kind == "tool_result":
                    full_parts.append(content.tool_result(content.result_text(block.content),
                                                          error=bool(block.is_error)))
                    if result_id is None:
                        result_id = block.tool_use_id
                elif kind == "thinking":
                    if block.thinking:
                        full_parts.append(content.thinking(block.thinking))
                elif kind == "image":
                    full_parts.append(content.IMAGE)
                elif kind == "document":
                    full_parts.append(content.DOCUMENT)
        full = "\n".join(full_parts)
        usage = _usage(entry, at) if role == "assistant" else None
        if not full:
            self.skip(f"{entry.type}:empty")
            if usage is not None:
                self.add_usage(usage)
            return
        text = "\n".join(text_parts)
        uuid = entry.uuid or self.synthetic_uuid(role or "message", raw)
        model = message.model if message is not None else None
        if role == "assistant":
            if model and model != _SYNTHETIC_MODEL:
                self.model = model
            record = self.emit(uuid, MessageType.ASSISTANT, text, full, raw, at=at, model=model, tool=tool)
            if usage is not None:
                self.add_usage(usage, record)
        elif role == "user":
            if entry.isCompactSummary:
                self.emit(uuid, MessageType.SYSTEM, text, content.tagged("Compact Summary", full), raw, at=at)
            elif result_id is not None and not has_text:
                self.emit(uuid, MessageType.TOOL, "", full, raw, at=at, tool=(result_id, None, None))
            elif entry.isMeta:
                self.emit(uuid, MessageType.SYSTEM, text, full, raw, at=at)
            else:
                self.emit(uuid, MessageType.USER, text, full, raw, at=at)
        else:
            self.emit(uuid, MessageType.SYSTEM, text, full, raw, at=at, model=model, tool=tool)


def _usage(entry: Line, at: int | None) -> UsageRecord | None:
    """The tokens of an assistant line's API response. The lines of one streamed response
    share ``message.id`` and ``requestId`` and repeat its usage as it grows; a replayed
    line (compaction, a resumed session's copied prefix) repeats it too. All of them get
    the same key: the message id, else the request id (older files lack it), else the
    line's own uuid."""
    message = entry.message
    body = bytes(message.usage) if message is not None else b""
    if message is None or not body or body == b"null" or message.model == _SYNTHETIC_MODEL:
        return None
    try:
        data = loads(body)
    except (msgspec.DecodeError, ValueError):
        return None
    request = entry.requestId or message.id or None
    if message.id:
        key = f"msg:{message.id}"
    elif entry.requestId:
        key = f"req:{entry.requestId}"
    elif entry.uuid:
        key = f"line:{entry.uuid}"
    else:
        return None
    return tokens.anthropic(data, clean_id(key), model=message.model, request_id=clean_id(request) if request else None,
                            message_uuid=clean_id(entry.uuid) if entry.uuid else None, timestamp=at)


# --------------------------------------------------------------------------- the source
class ClaudeSource(LineSource):
    name = "claude"
    title = "Claude Code"
    # 2: records without a time take the nearest timed record's (not the file's mtime).
    # 3: token usage of assistant lines.
    parser_version = 3
    channel = "code"
    roots_spec = RootSpec("CLAUDE_PROJECTS_PATH", (("CLAUDE_CONFIG_DIR", "projects"),),
                          (".claude/projects", ".config/claude/projects"))
    parser = ClaudeParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        """Every session file under the roots: main sessions, legacy agent files and
        ``<session>/subagents/*.jsonl``. Only directory listings and stats, no reads."""
        for root in roots:
            for project in roots_module.list_dir(root):
                if project.name.startswith(".") or not roots_module.is_dir(project):
                    continue
                for entry in roots_module.list_dir(project.path):
                    name = entry.name
                    if _is_session_file(name):
                        unit = self.entry_unit(entry, _context(name, project.name, None))
                        if unit is not None:
                            yield unit
                    elif not name.startswith(".") and roots_module.is_dir(entry):
                        for sub in roots_module.list_dir(os.path.join(entry.path, "subagents")):
                            if _is_session_file(sub.name):
                                unit = self.entry_unit(sub, _context(sub.name, project.name, name))
                                if unit is not None:
                                    yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        for root in roots:
            rel = roots_module.is_within(path, root)
            if rel is None or not rel.name.endswith(EXTENSION):
                continue
            parts = rel.parts
            if len(parts) == 2:
                return self.stat_unit(os.path.join(root, *parts), context=_context(parts[-1], parts[0], None))
            if len(parts) == 4 and parts[2] == "subagents":
                return self.stat_unit(os.path.join(root, *parts), context=_context(parts[-1], parts[0], parts[1]))
        return None


def _is_session_file(name: str) -> bool:
    return name.endswith(EXTENSION) and len(name) > len(EXTENSION)


def _context(name: str, encoded: str, parent: str | None) -> dict[str, Any]:
    session_id = name[:-len(EXTENSION)]
    while session_id.endswith(EXTENSION):
        session_id = session_id[:-len(EXTENSION)]
    context: dict[str, Any] = {"session_id": session_id, "encoded_dir_name": encoded}
    if parent is not None:
        context["parent_session_id"] = parent
    return context


SOURCE = ClaudeSource()


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
