"""Pi (the pi coding agent): ``<root>/--<encoded cwd>--/<time>_<session>.jsonl``, an
append-only tree of entries, one a line.

Roots: the argument, ``$PI_PATH``, ``$PI_CODING_AGENT_DIR/sessions``, else
``~/.pi/agent/sessions``.

The first line is the header ``{"type": "session", "version", "id", "timestamp",
"cwd", "parentSession"}``; every later entry has ``type``, ``id``, ``parentId`` and
``timestamp``. Formats handled: version 1 (entries without ids, compaction by
``firstKeptEntryIndex``), version 2 (``id``/``parentId`` tree, ``hookMessage`` role)
and version 3 (``custom`` role). Entries from abandoned branches are kept too: the
database is an archive of everything written.

* ``message`` entries by ``message.role``: ``user`` USER; ``assistant`` ASSISTANT with
  its model (text, ``[Thinking] ...``, ``[Tool: NAME] {arguments}``); ``toolResult``
  TOOL ``[Result] ...`` (``[Result Error]`` when ``isError``); ``bashExecution`` (a
  command the user ran) USER ``[Tool: bash] command`` and its output; ``custom`` /
  ``hookMessage``, ``branchSummary``, ``compactionSummary`` SYSTEM.
* ``compaction`` and ``branch_summary``: SYSTEM ``[Compacted Summary]`` /
  ``[Branch Summary]``; ``custom_message``: SYSTEM; ``session_info``: ``meta.title``;
  ``model_change``: the model; ``thinking_level_change``, ``label`` and ``custom``
  (extension state): counted as skipped; anything else SYSTEM, counted unknown.

A session forked from another (``parentSession``, the parent's file) has
``meta.parent_session_id`` and ``meta.session_type`` ``fork``.
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
from .records import SessionRecord, SourceUnit, UsageRecord, clean_id, project_name_of
from .roots import RootSpec

SKIPPED_TYPES = frozenset({"thinking_level_change", "label", "custom"})


class Entry(msgspec.Struct):
    type: str | None = None
    id: str | None = None
    parentId: str | None = None
    timestamp: str | None = None
    version: int | None = None
    cwd: str | None = None
    parentSession: str | None = None
    branchedFrom: str | None = None
    message: dict[str, Any] | None = None
    summary: str | None = None
    provider: str | None = None
    modelId: str | None = None
    name: str | None = None
    customType: str | None = None
    content: msgspec.Raw = msgspec.Raw(b"")


DECODER = LenientDecoder(Entry)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def session_id_from_name(path: str) -> str:
    """``2025-01-01T10-00-00-000Z_<id>.jsonl`` -> ``<id>`` (else the file stem)."""
    name = Path(path).name
    stem = name[:-len(".jsonl")] if name.endswith(".jsonl") else name
    return stem.split("_", 1)[1] if "_" in stem else stem


class Blocks:
    """The text, full text and first tool call of a pi content value."""

    def __init__(self, value: Any) -> None:
        self.text: list[str] = []
        self.full: list[str] = []
        self.call: ToolFields | None = None
        if isinstance(value, str):
            value = [{"type": "text", "text": value}]
        for block in value if isinstance(value, list) else []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and _text(block.get("text")):
                self.text.append(block["text"])
                self.full.append(block["text"])
            elif kind == "thinking" and _text(block.get("thinking")):
                self.full.append(content.thinking(block["thinking"]))
            elif kind == "toolCall":
                name = _text(block.get("name")) or None
                args = content.as_text(block.get("arguments")) or ""
                self.full.append(content.tool_call(name, args))
                if self.call is None:
                    self.call = (_text(block.get("id")) or None, name, args or None)
            elif kind == "image":
                self.full.append(content.IMAGE)


class PiParser(LineParser):
    """The entries of one session file (see the module docstring)."""

    decoder = DECODER
    carried = ("sid",)
    sid: str | None = None

    @property
    def session_id(self) -> str:
        if self.sid is None:
            self.sid = clean_id(session_id_from_name(self.unit.path))
        return self.sid

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.sid = value

    def session(self) -> SessionRecord:
        project = self.cwd or _decode_dir(self.unit.context.get("project_dir"))
        return SessionRecord(self.session_id, self.source.name, project_path=project,
                             project_name=project_name_of(project),
                             encoded_dir_name=self.unit.context.get("project_dir"), cwd=self.cwd, model=self.model,
                             meta=dict(self.meta))

    def convert(self, entry: Entry, raw: str) -> None:
        kind = entry.type or "(no type)"
        at = own_time(entry.timestamp)
        if kind == "session":
            self._header(entry, at)
            return
        uuid = entry.id or self.synthetic_uuid(kind, raw)
        if kind == "message":
            self._message(entry, uuid, raw, at)
        elif kind in ("compaction", "branch_summary"):
            tag = "Compacted Summary" if kind == "compaction" else "Branch Summary"
            summary = entry.summary or ""
            self.emit(uuid, MessageType.SYSTEM, summary, content.tagged(tag, summary, "\n"), raw, at=at)
        elif kind == "custom_message":
            blocks = Blocks(content.decode_raw(entry.content))
            self.emit(uuid, MessageType.SYSTEM, "\n".join(blocks.text),
                      content.tagged(f"custom:{entry.customType or 'message'}", "\n".join(blocks.full)), raw, at=at)
        elif kind == "session_info":
            if entry.name:
                self.meta["title"] = entry.name
            self.emit(uuid, MessageType.SYSTEM, entry.name or "", content.tagged("Title", entry.name or ""), raw,
                      at=at)
        elif kind == "model_change":
            self.observe_time(entry.timestamp)
            if entry.modelId:
                self.model = entry.modelId
            self.skip(kind)
        elif kind in SKIPPED_TYPES:
            self.observe_time(entry.timestamp)
            self.skip(kind)
        else:
            self.unknown(kind, raw, uuid=entry.id, at=at)

    def _header(self, entry: Entry, at: int | None) -> None:
        if at is not None:
            self.timeline.observe(at)
        if entry.id and self.sid is None:
            self.sid = clean_id(entry.id)
        if entry.cwd and self.cwd is None:
            self.cwd = entry.cwd
        if entry.version is not None:
            self.meta["format_version"] = entry.version
        parent = entry.parentSession or entry.branchedFrom
        if parent and "parent_session_id" not in self.meta:
            self.meta["parent_session_id"] = session_id_from_name(parent)
            self.meta["session_type"] = "fork"

    def _message(self, entry: Entry, uuid: str, raw: str, at: int | None) -> None:
        message = entry.message or {}
        if at is None:
            at = own_time(message.get("timestamp"))
        role = _text(message.get("role")) or "(no role)"
        if role in ("user", "assistant"):
            blocks = Blocks(message.get("content"))
            full = "\n".join(blocks.full)
            if not full:
                self.skip(f"{role}:empty")
                usage = _usage(message, uuid, _text(message.get("model")) or self.model, at) \
                    if role == "assistant" else None
                if usage is not None:
                    self.add_usage(usage)
                return
            if role == "user":
                self.emit(uuid, MessageType.USER, "\n".join(blocks.text), full, raw, at=at)
                return
            model = _text(message.get("model")) or self.model
            if _text(message.get("model")):
                self.model = message["model"]
            if _text(message.get("errorMessage")):
                full = "\n".join([full, content.tagged("Error", message["errorMessage"])])
            record = self.emit(uuid, MessageType.ASSISTANT, "\n".join(blocks.text), full, raw, at=at, model=model,
                               tool=blocks.call)
            usage = _usage(message, uuid, model, at)
            if usage is not None:
                self.add_usage(usage, record)
        elif role == "toolResult":
            body = "\n".join(Blocks(message.get("content")).full)
            self.emit(uuid, MessageType.TOOL, "", content.tool_result(body.rstrip(), error=message.get("isError") is True),
                      raw, at=at, tool=(_text(message.get("toolCallId")) or None, _text(message.get("toolName")) or None,
                                        None))
        elif role == "bashExecution":
            command = _text(message.get("command"))
            output = _text(message.get("output")).rstrip()
            failed = message.get("exitCode") not in (0, None) or message.get("cancelled") is True
            full = "\n".join([content.tool_call("bash", command), content.tool_result(output, error=failed)])
            self.emit(uuid, MessageType.USER, "", full, raw, at=at, tool=(None, "bash", command or None))
        elif role in ("custom", "hookMessage", "branchSummary", "compactionSummary"):
            if role in ("branchSummary", "compactionSummary"):
                text = _text(message.get("summary"))
                tag = "Branch Summary" if role == "branchSummary" else "Compacted Summary"
                self.emit(uuid, MessageType.SYSTEM, text, content.tagged(tag, text, "\n"), raw, at=at)
            else:
                blocks = Blocks(message.get("content"))
                self.emit(uuid, MessageType.SYSTEM, "\n".join(blocks.text),
                          content.tagged(f"custom:{_text(message.get('customType')) or role}", "\n".join(blocks.full)),
                          raw, at=at)
        else:
            self.unknown(f"message:{role}", raw, uuid=entry.id, at=at, tag=f"message:{role}")


def _usage(message: dict[str, Any], uuid: str, model: str | None, at: int | None) -> UsageRecord | None:
    """An assistant message's ``usage``: ``input`` (without cache), ``output``,
    ``cacheRead``, ``cacheWrite`` and the cost Pi worked out (``cost.total``)."""
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    cost = usage.get("cost")
    record = UsageRecord(clean_id(uuid), input=tokens.count(usage.get("input")), output=tokens.count(usage.get("output")),
                         cache_read=tokens.count(usage.get("cacheRead")),
                         cache_write=tokens.count(usage.get("cacheWrite")), model=model, message_uuid=clean_id(uuid),
                         timestamp=at, cost=tokens.money(cost.get("total")) if isinstance(cost, dict) else None)
    return record if record.total else None


def _decode_dir(name: str | None) -> str | None:
    """``--home-dev-shop--`` -> ``/home/dev/shop`` (lossy, for sessions without a cwd)."""
    if not name:
        return None
    inner = name.strip("-")
    return "/" + inner.replace("-", "/") if inner else name


class PiSource(LineSource):
    name = "pi"
    title = "Pi"
    # 2: token usage of assistant messages.
    parser_version = 2
    channel = "cli"
    roots_spec = RootSpec("PI_PATH", (("PI_CODING_AGENT_DIR", "sessions"),), (".pi/agent/sessions",))
    parser = PiParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for project in roots_module.list_dir(root, sort=True):
                if project.name.startswith(".") or not roots_module.is_dir(project):
                    continue
                for entry in roots_module.list_dir(project.path, sort=True):
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
            if rel is not None and len(rel.parts) == 2:
                return self.stat_unit(str(target), context={"project_dir": rel.parts[0]})
        # A session file outside the roots, recognised by its folder name.
        folder = target.parent.name
        if len(folder) > 4 and folder.startswith("--") and folder.endswith("--") and "_" in target.name:
            return self.stat_unit(str(target), context={"project_dir": folder})
        return None


SOURCE = PiSource()
