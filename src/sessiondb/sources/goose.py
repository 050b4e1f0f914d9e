"""Goose: ``<root>/sessions.db`` (Goose >= 1.10) and the older ``<root>/<session>.jsonl``.

Roots (the ``sessions`` directory): the argument, ``$GOOSE_SESSIONS_PATH``,
``$GOOSE_PATH_ROOT/data/sessions``, ``$XDG_DATA_HOME/goose/sessions``, else
``~/.local/share/goose/sessions`` and macOS's
``~/Library/Application Support/Block/goose/sessions``.

* ``sessions.db``: table ``sessions`` (``id``, ``name``/``description``, ``working_dir``,
  ``created_at``, ``session_type``, ``model_config_json``, ...) and ``messages``
  (``message_id``, ``session_id``, ``role``, ``content_json``, ``created_timestamp`` in
  seconds, ...). Opened read-only with a busy timeout; one session is one unit,
  fingerprinted by its rows, and the file gates the whole database.
* ``<session>.jsonl`` (before 1.10): an optional first line of session metadata
  (``working_dir``, ``description``, ...), then one message a line (``role``,
  ``created`` in seconds, ``content``). Goose rewrites the file whole on every save,
  so it is read whole when it changes.

A message's ``content`` is a list of parts tagged by ``type``: ``text``, ``thinking``,
``redactedThinking``, ``image``, ``toolRequest`` (``toolCall.value`` holds name and
arguments, or ``toolCall.error``), ``toolResponse`` (``toolResult.value`` is a list of
contents, or an object with ``content`` and ``isError``), ``toolConfirmationRequest``,
``frontendToolRequest``, ``contextLengthExceeded``, ``summarizationRequested``,
``conversationCompacted`` and ``systemNotification``. A user message holding only tool
responses is a TOOL message. Parts of an unknown type are kept in ``content_full`` as
``[<type>] ...`` and counted as unknown. Sessions of type ``sub_agent`` are subagents.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import apsw
import msgspec

from ..models import MessageType
from . import content
from . import roots as roots_module
from . import tokens
from .base import Recorder, ToolFields, WholeSource
from .databases import columns, database_units, digest, is_gate, json_value, parse_gate, row_dicts, time_ms
from .jsonl import LineReader
from .records import ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, UsageRecord, clean_id, \
    project_name_of
from .roots import RootSpec

DB_NAME = "sessions.db"
MAX_FILE_BYTES = 256 << 20
_KNOWN_NOTICES = ("contextLengthExceeded", "summarizationRequested", "conversationCompacted", "systemNotification")


class GooseSource(WholeSource):
    name = "goose"
    title = "Goose"
    channel = "cli"
    roots_spec = RootSpec("GOOSE_SESSIONS_PATH", (("GOOSE_PATH_ROOT", "data/sessions"),
                                                  ("XDG_DATA_HOME", "goose/sessions")),
                          (".local/share/goose/sessions", "Library/Application Support/Block/goose/sessions"))
    file_suffixes = (".jsonl", ".db", ".db-wal")
    # 2: the session's accumulated token totals.
    parser_version = 2

    # ------------------------------------------------------------------ discovery
    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        for root in roots:
            for entry in roots_module.list_dir(root, sort=True):
                if entry.name.endswith(".jsonl"):
                    unit = self.entry_unit(entry)
                    if unit is not None:
                        yield unit
            yield from self.discover_database(root, known or {})

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        target = Path(os.path.abspath(os.fspath(path)))
        if target.suffix != ".jsonl":
            return None
        for root in roots:
            if target.parent == Path(os.path.abspath(root)):
                return self.stat_unit(str(target))
        return None

    def database_root(self, path: str, roots: Iterable[Path]) -> Path | None:
        """``sessions.db`` (or its ``-wal``) in a root, or in any ``goose/sessions`` directory."""
        target = Path(os.path.abspath(path))
        if target.name not in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            return None
        parent = target.parent
        if any(parent == Path(os.path.abspath(root)) for root in roots) or \
                (parent.name == "sessions" and parent.parent.name in ("goose", "data")):
            return parent
        return None

    def discover_database(self, root: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        db = root / DB_NAME
        if db.is_file():
            yield from database_units(self.name, db, known, _session_stats)

    # ------------------------------------------------------------------ parsing
    def parse(self, unit: SourceUnit) -> ParsedUnit:
        if is_gate(unit):
            return parse_gate(unit)
        if "conn" in unit.context:
            return self._read_db_session(unit)
        return self._read_jsonl(unit)

    def _read_db_session(self, unit: SourceUnit) -> ParsedUnit:
        conn: apsw.Connection = unit.context["conn"]
        session_id = unit.context["session_id"]
        issues = ParseIssues()
        try:
            tables = columns(conn)
            info: dict[str, Any] = {}
            if "sessions" in tables:
                info = next(row_dicts(conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,))), {})
            order = "created_timestamp, id" if "created_timestamp" in tables["messages"] else "rowid"
            rows = list(row_dicts(conn.execute(f"SELECT * FROM messages WHERE session_id = ? ORDER BY {order}",
                                               (session_id,))))
        except apsw.Error as exc:
            issues.bad(unit.key, f"cannot read the session: {exc}")
            return ParsedUnit(None, issues=issues)
        session = self._session(session_id, info)
        out = Recorder(session.session_id, timeline=Timeline(time_ms(info.get("created_at"))))
        out.issues = issues
        for row in rows:
            parts = json_value(row.get("content_json"))
            if not isinstance(parts, list):
                issues.bad(f"{unit.key} message {row.get('id')}", "content_json is not a JSON list")
                continue
            uuid = content.text_or_none(row.get("message_id")) or f"{session.session_id}:{row.get('id')}"
            raw = {k: v for k, v in row.items() if k != "content_json"}
            raw["content"] = parts
            _message(out, uuid, content.text_or_none(row.get("role")), parts, time_ms(row.get("created_timestamp")) or
                     time_ms(row.get("timestamp")), content.as_text(raw) or "", session.model)
        _add_usage(out, session, info)
        return out.parsed(session)

    def _read_jsonl(self, unit: SourceUnit) -> ParsedUnit:
        issues = ParseIssues()
        if unit.size > MAX_FILE_BYTES:
            issues.bad(unit.path, f"file is larger than {MAX_FILE_BYTES >> 20} MB; not read")
            return ParsedUnit(None, issues=issues)
        session_id = clean_id(Path(unit.path).stem)
        info: dict[str, Any] = {}
        entries: list[tuple[dict[str, Any], str]] = []
        for line, end in LineReader(unit.path):
            if not line.strip():
                continue
            where = f"{unit.path}: line at byte {end - len(line) - 1}"
            try:
                value = msgspec.json.decode(line)
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                issues.bad(where, f"invalid JSON ({exc})")
                continue
            if not isinstance(value, dict):
                issues.bad(where, "not a JSON object")
            elif "role" in value or "content" in value:
                entries.append((value, line.decode("utf-8", "replace")))
            elif not info and not entries:
                info = value   # the metadata line
            else:
                issues.bad(where, "neither a message nor the session's metadata")
        session = self._session(session_id, info)
        out = Recorder(session.session_id)
        out.issues = issues
        for index, (message, raw) in enumerate(entries):
            parts = message.get("content")
            if isinstance(parts, str):
                parts = [{"type": "text", "text": parts}]
            if not isinstance(parts, list):
                issues.bad(f"{unit.path}: message {index}", "content is not a list")
                continue
            uuid = content.text_or_none(message.get("id")) or f"{session.session_id}:{index}"
            _message(out, uuid, content.text_or_none(message.get("role")), parts, time_ms(message.get("created")), raw, session.model)
        _add_usage(out, session, info)
        return out.parsed(session)

    def _session(self, session_id: str, info: dict[str, Any]) -> SessionRecord:
        cwd = content.text_or_none(info.get("working_dir"))
        meta: dict[str, Any] = {}
        title = content.text_or_none(info.get("name")) or content.text_or_none(info.get("description"))
        if title:
            meta["title"] = title
        kind = content.text_or_none(info.get("session_type"))
        if kind:
            meta["goose_session_type"] = kind
        parent = content.text_or_none(info.get("parent_session_id")) or content.text_or_none(info.get("parent_id"))
        if parent:
            meta["parent_session_id"] = parent
        if parent or kind in ("sub_agent", "subagent"):
            meta["session_type"] = "subagent"
        for key in ("schedule_id", "provider_name"):
            if content.text_or_none(info.get(key)):
                meta[key] = info[key]
        model = None
        config = json_value(info.get("model_config_json")) if isinstance(info.get("model_config_json"), str) else None
        if isinstance(config, dict):
            model = content.text_or_none(config.get("model_name"))
        project = cwd or "goose:unknown"
        return SessionRecord(clean_id(session_id), self.name, project_path=project,
                             project_name=project_name_of(project), cwd=cwd, model=model, meta=meta)


def _add_usage(out: Recorder, session: SessionRecord, info: dict[str, Any]) -> None:
    """Goose keeps no per-call counts, only the session's running totals
    (``accumulated_input_tokens``, ``accumulated_output_tokens``; the plain
    ``input_tokens``/``output_tokens`` are the last turn's): one row for the session,
    which grows with it. Dated by the session's last update."""
    record = UsageRecord(clean_id(f"session:{session.session_id}"),
                         input=tokens.count(info.get("accumulated_input_tokens")),
                         output=tokens.count(info.get("accumulated_output_tokens")), model=session.model,
                         timestamp=time_ms(info.get("updated_at")))
    if record.total:
        out.add_usage(record)


# --------------------------------------------------------------------------- sessions.db
def _session_stats(conn: apsw.Connection) -> dict[str, tuple[int, int, str]]:
    tables = columns(conn)
    if "content_json" not in tables.get("messages", set()) or "session_id" not in tables["messages"]:
        return {}
    found: dict[str, tuple[int, int, str]] = {}
    updated: dict[str, object] = {}
    if "updated_at" in tables.get("sessions", set()):
        updated = {sid: at for sid, at in conn.execute("SELECT id, updated_at FROM sessions")}
    for session_id, count, last, size, newest in conn.execute(
            "SELECT session_id, COUNT(*), MAX(rowid), SUM(length(content_json)), "
            f"MAX({'created_timestamp' if 'created_timestamp' in tables['messages'] else 0}) "
            "FROM messages GROUP BY session_id"):
        if isinstance(session_id, str) and session_id:
            newest_ms = time_ms(newest) or 0
            found[session_id] = (int(count or 0), newest_ms * 1_000_000,
                                 digest((count, last, size, newest, updated.get(session_id))))
    return found


# --------------------------------------------------------------------------- messages
def _message(out: Recorder, uuid: str, role: str | None, parts: list[Any], at: int | None, raw: str,
             model: str | None) -> None:
    text_parts: list[str] = []
    full_parts: list[str] = []
    tool: ToolFields | None = None
    responses = 0
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            text = content.text_or_none(part.get("text"))
            if text:
                text_parts.append(text)
                full_parts.append(text)
        elif kind == "thinking":
            if content.text_or_none(part.get("thinking")):
                full_parts.append(content.thinking(part["thinking"]))
        elif kind == "redactedThinking":
            full_parts.append(content.tagged("Thinking", "(redacted)"))
        elif kind == "image":
            full_parts.append(content.IMAGE)
        elif kind in ("toolRequest", "frontendToolRequest"):
            call = part.get("toolCall")
            value = call.get("value") if isinstance(call, dict) else None
            if isinstance(value, dict):
                name, args = content.text_or_none(value.get("name")), content.as_text(value.get("arguments"))
            else:
                name, args = None, content.as_text(call.get("error")) if isinstance(call, dict) else None
            full_parts.append(content.tool_call(name, args))
            tool = (content.text_or_none(part.get("id")), name, args or None)
        elif kind == "toolResponse":
            responses += 1
            body, error = _tool_response(part.get("toolResult"))
            full_parts.append(content.tool_result(body, error=error))
            if tool is None:
                tool = (content.text_or_none(part.get("id")), None, None)
        elif kind == "toolConfirmationRequest":
            full_parts.append(content.tagged("Confirm", " ".join(filter(None, (
                content.text_or_none(part.get("toolName")), content.as_text(part.get("arguments")))))))
        elif kind in _KNOWN_NOTICES:
            full_parts.append(content.tagged(kind, content.text_or_none(part.get("msg")) or content.text_or_none(part.get("text")) or ""))
        else:
            out.issues.unknown(f"part:{kind}")
            full_parts.append(content.unknown(str(kind or "part"), content.as_text(part) or ""))
    full = "\n".join(full_parts)
    if not full:
        out.skip(f"{role}:empty")
        return
    if role == "assistant":
        kind_type = MessageType.ASSISTANT
    elif role == "user":
        kind_type = MessageType.TOOL if responses and not text_parts else MessageType.USER
    else:
        kind_type = MessageType.SYSTEM
        out.issues.unknown(f"role:{role}")
    out.emit(uuid, kind_type, "\n".join(text_parts), full, raw, at=at,
             model=model if kind_type == MessageType.ASSISTANT else None, tool=tool)


def _tool_response(result: Any) -> tuple[str, bool]:
    if not isinstance(result, dict):
        return content.as_text(result) or "", False
    if result.get("status") == "error" or "error" in result and "value" not in result:
        return content.as_text(result.get("error")) or "", True
    value = result.get("value")
    if isinstance(value, dict) and "content" in value:   # an MCP CallToolResult (newer Goose)
        return content.result_text(value.get("content")), bool(value.get("isError"))
    return content.result_text(value), False





SOURCE = GooseSource()
