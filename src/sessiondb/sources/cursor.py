"""Cursor: conversations in the editor's ``state.vscdb`` SQLite databases.

Roots (Cursor's ``User`` folder): the argument, ``$CURSOR_PATH``,
``$XDG_CONFIG_HOME/Cursor/User``, else ``~/.config/Cursor/User`` and macOS's
``~/Library/Application Support/Cursor/User``.

* ``globalStorage/state.vscdb``, table ``cursorDiskKV``: ``composerData:<composer>``
  holds a conversation (``name``, ``createdAt``, ``modelConfig``); its messages
  ("bubbles", ``type`` 1 user, 2 assistant) are inline in ``conversation`` (format
  versions 1 and 2) or, from version 3 on, listed in ``fullConversationHeadersOnly``
  and stored one per key as ``bubbleId:<composer>:<bubble>``. A bubble has ``text``,
  ``thinking``, ``toolFormerData`` (a tool call with ``name``, ``rawArgs``/``params``,
  ``result`` and ``status``), ``modelInfo`` and its own time (``createdAt`` or
  ``timingInfo.clientStartTime``).
* ``workspaceStorage/<hash>/state.vscdb``, table ``ItemTable``: ``composer.composerData``
  lists the workspace's composers (which gives their project, the folder named in
  ``workspace.json``; older versions kept the conversations inline there too), and
  ``workbench.panel.aichat.view.aichat.chatdata`` the older chat panel's tabs
  (``bubbles`` of type ``user``/``ai``), one session per tab.

The databases belong to a running Cursor: they are opened read-only with a busy timeout,
each gated by its size and mtime. One conversation is one unit, fingerprinted by the
size of its values, and read whole when it changes: values are rewritten in place, so
changed messages are updated and none is duplicated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import apsw
import msgspec

from ..models import MessageType
from . import content
from . import roots as roots_module
from .base import Recorder, ToolFields, WholeSource
from .databases import database_units, digest, is_gate, json_value, open_readonly, parse_gate, time_ms
from .records import ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, clean_id, project_name_of
from .roots import RootSpec

DB_NAME = "state.vscdb"
COMPOSERS_KEY = "composer.composerData"
CHAT_KEY = "workbench.panel.aichat.view.aichat.chatdata"
MAX_VALUE_BYTES = 64 << 20


class CursorSource(WholeSource):
    name = "cursor"
    title = "Cursor"
    channel = "code"
    roots_spec = RootSpec("CURSOR_PATH", (("XDG_CONFIG_HOME", "Cursor/User"),),
                          (".config/Cursor/User", "Library/Application Support/Cursor/User"))
    file_suffixes = (".vscdb", ".vscdb-wal")

    # ------------------------------------------------------------------ discovery
    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        for root in roots:
            for workspace in roots_module.list_dir(root / "workspaceStorage", sort=True):
                yield from self.discover_database(Path(workspace.path), known or {})
            yield from self.discover_database(root / "globalStorage", known or {})

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        return None   # conversations are found through database_root

    def database_root(self, path: str, roots: Iterable[Path]) -> Path | None:
        """A ``state.vscdb`` (or its ``-wal``) of Cursor: its folder."""
        target = Path(os.path.abspath(path))
        if target.name not in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            return None
        folder = target.parent
        if folder.name == "globalStorage" or folder.parent.name == "workspaceStorage":
            return folder
        return None

    def discover_database(self, root: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        db = root / DB_NAME
        if not db.is_file():
            return
        if root.name == "globalStorage":
            yield from database_units(self.name, db, known, _global_stats,
                                      {"kind": "global", "workspaces": _LazyWorkspaces(root.parent)})
        else:
            yield from database_units(self.name, db, known, _workspace_stats,
                                      {"kind": "workspace", "folder": _workspace_folder(root)})

    # ------------------------------------------------------------------ parsing
    def parse(self, unit: SourceUnit) -> ParsedUnit:
        if is_gate(unit):
            return parse_gate(unit)
        conn: apsw.Connection = unit.context["conn"]
        key: str = unit.context["session_id"]
        issues = ParseIssues()
        try:
            if unit.context["kind"] == "global":
                composer = _value(conn, "cursorDiskKV", f"composerData:{key}")
                if not isinstance(composer, dict):
                    issues.bad(unit.key, "composerData is not a JSON object")
                    return ParsedUnit(None, issues=issues)
                bubbles = _composer_bubbles(conn, key, composer, issues)
                folder = unit.context["workspaces"].get().get(key)
                return self._composer(key, composer, bubbles, folder, issues)
            kind, _, ident = key.partition(":")
            value = _value(conn, "ItemTable", COMPOSERS_KEY if kind == "composer" else CHAT_KEY)
        except apsw.Error as exc:
            issues.bad(unit.key, f"cannot read the conversation: {exc}")
            return ParsedUnit(None, issues=issues)
        folder = unit.context.get("folder")
        if kind == "composer":
            composer = next((c for c in _list(value, "allComposers") if c.get("composerId") == ident), None)
            if composer is None:
                return ParsedUnit(None, issues=issues)
            bubbles = [b for b in composer.get("conversation") or [] if isinstance(b, dict)]
            return self._composer(ident, composer, bubbles, folder, issues)
        tab = next((t for t in _list(value, "tabs") if t.get("tabId") == ident), None)
        if tab is None:
            return ParsedUnit(None, issues=issues)
        return self._chat_tab(ident, tab, folder, issues)

    def _composer(self, composer_id: str, composer: dict[str, Any], bubbles: list[dict[str, Any]],
                  folder: str | None, issues: ParseIssues) -> ParsedUnit:
        meta: dict[str, Any] = {}
        if content.text_or_none(composer.get("name")):
            meta["title"] = composer["name"]
        for key, name in (("unifiedMode", "mode"), ("_v", "format_version")):
            if composer.get(key) is not None:
                meta[name] = composer[key]
        config = composer.get("modelConfig")
        model = content.text_or_none(config.get("modelName")) if isinstance(config, dict) else None
        project = folder or "cursor:global"
        session = SessionRecord(clean_id(composer_id), self.name, project_path=project,
                                project_name=project_name_of(project), cwd=folder, model=model, meta=meta)
        out = Recorder(session.session_id, timeline=Timeline(time_ms(composer.get("createdAt"))))
        out.issues = issues
        for index, bubble in enumerate(bubbles):
            record = _bubble(out, session.session_id, index, bubble, model)
            if record is not None and record.model:
                session.model = record.model
        return out.parsed(session)

    def _chat_tab(self, tab_id: str, tab: dict[str, Any], folder: str | None, issues: ParseIssues) -> ParsedUnit:
        meta: dict[str, Any] = {"mode": "chat"}
        if content.text_or_none(tab.get("chatTitle")):
            meta["title"] = tab["chatTitle"]
        project = folder or "cursor:global"
        session = SessionRecord(clean_id(tab_id), self.name, project_path=project,
                                project_name=project_name_of(project), cwd=folder, meta=meta)
        # The tab keeps only its last send time: it dates the messages that have none.
        out = Recorder(session.session_id, timeline=Timeline(time_ms(tab.get("lastSendTime"))))
        out.issues = issues
        for index, bubble in enumerate(tab.get("bubbles") or []):
            if isinstance(bubble, dict):
                record = _bubble(out, session.session_id, index, bubble, None)
                if record is not None and record.model:
                    session.model = record.model
        return out.parsed(session)


class _LazyWorkspaces:
    """Composer id -> workspace folder, read from the workspace databases on first use."""

    def __init__(self, user_dir: Path) -> None:
        self.user_dir = user_dir
        self.found: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self.found is None:
            self.found = {}
            for workspace in roots_module.list_dir(self.user_dir / "workspaceStorage", sort=True):
                folder = _workspace_folder(Path(workspace.path))
                db = Path(workspace.path) / DB_NAME
                if folder is None or not db.is_file():
                    continue
                try:
                    conn = open_readonly(db)
                    try:
                        value = _value(conn, "ItemTable", COMPOSERS_KEY)
                    finally:
                        conn.close()
                except apsw.Error:
                    continue   # this workspace's database is locked or damaged: its own gate reports it
                for composer in _list(value, "allComposers"):
                    if content.text_or_none(composer.get("composerId")):
                        self.found.setdefault(composer["composerId"], folder)
        return self.found


# --------------------------------------------------------------------------- reading the databases
def _tables(conn: apsw.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _value(conn: apsw.Connection, table: str, key: str) -> Any:
    if table not in _tables(conn):
        return None
    row = conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
    return json_value(row[0], MAX_VALUE_BYTES) if row else None


def _global_stats(conn: apsw.Connection) -> dict[str, tuple[int, int, str]]:
    if "cursorDiskKV" not in _tables(conn):
        return {}
    found: dict[str, list[Any]] = {}
    for key, size in conn.execute("SELECT key, length(value) FROM cursorDiskKV WHERE key LIKE 'composerData:%'"):
        if isinstance(key, str) and len(key) > 13:
            found[key[13:]] = [1, size, 0]
    for composer, count, size in conn.execute(
            "SELECT substr(key, 10, instr(substr(key, 10), ':') - 1), COUNT(*), SUM(length(value)) "
            "FROM cursorDiskKV WHERE key LIKE 'bubbleId:%:%' GROUP BY 1"):
        if composer in found:
            found[composer][0] += int(count or 0)
            found[composer][2] = size
    return {cid: (count, 0, digest((count, size, bubbles))) for cid, (count, size, bubbles) in found.items()}


def _workspace_stats(conn: apsw.Connection) -> dict[str, tuple[int, int, str]]:
    found: dict[str, tuple[int, int, str]] = {}
    for composer in _list(_value(conn, "ItemTable", COMPOSERS_KEY), "allComposers"):
        conversation = composer.get("conversation")
        if content.text_or_none(composer.get("composerId")) and isinstance(conversation, list) and conversation:
            found[f"composer:{composer['composerId']}"] = (len(conversation), 0, digest(
                (len(conversation), len(content.as_text(composer) or ""))))
    for tab in _list(_value(conn, "ItemTable", CHAT_KEY), "tabs"):
        bubbles = tab.get("bubbles")
        if content.text_or_none(tab.get("tabId")) and isinstance(bubbles, list) and bubbles:
            found[f"chat:{tab['tabId']}"] = (len(bubbles), 0, digest((len(bubbles), len(content.as_text(tab) or ""))))
    return found


def _composer_bubbles(conn: apsw.Connection, composer_id: str, composer: dict[str, Any],
                      issues: ParseIssues) -> list[dict[str, Any]]:
    """The composer's bubbles in conversation order: inline (v1, v2) or one key each (v3+)."""
    inline = composer.get("conversation")
    if isinstance(inline, list) and inline:
        return [b for b in inline if isinstance(b, dict)]
    stored: dict[str, Any] = {}
    prefix = f"bubbleId:{composer_id}:"
    for key, value in conn.execute("SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?",
                                   (prefix, prefix[:-1] + ";")):
        bubble = json_value(value, MAX_VALUE_BYTES)
        if isinstance(bubble, dict):
            stored[key[len(prefix):]] = bubble
        else:
            issues.bad(key, "bubble is not a JSON object")
    ordered = []
    for header in composer.get("fullConversationHeadersOnly") or []:
        if isinstance(header, dict) and header.get("bubbleId") in stored:
            ordered.append(stored.pop(header["bubbleId"]))
    # Bubbles the headers do not list (yet) follow, by their own time.
    ordered.extend(sorted(stored.values(), key=lambda b: _bubble_time(b) or 0))
    return ordered


def _workspace_folder(workspace: Path) -> str | None:
    """The folder a workspace storage belongs to (``workspace.json``: ``folder``, a file URI)."""
    try:
        with open(workspace / "workspace.json", "rb") as handle:
            info = msgspec.json.decode(handle.read(1 << 20))
    except (OSError, msgspec.DecodeError, UnicodeDecodeError):
        return None
    uri = info.get("folder") or info.get("workspace") if isinstance(info, dict) else None
    if not isinstance(uri, str):
        return None
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "vscode-remote", "") and parsed.path else None


# --------------------------------------------------------------------------- messages
def _bubble(out: Recorder, session_id: str, index: int, bubble: dict[str, Any], model: str | None) -> Any:
    kind = bubble.get("type")
    text = content.text_or_none(bubble.get("text")) or content.text_or_none(bubble.get("rawText")) or ""
    full_parts = [text] if text else []
    thinking = bubble.get("thinking")
    if isinstance(thinking, dict) and content.text_or_none(thinking.get("text")):
        full_parts.insert(0, content.thinking(thinking["text"]))
    tool: ToolFields | None = None
    former = bubble.get("toolFormerData")
    if isinstance(former, dict) and (former.get("name") or former.get("tool") is not None):
        name = content.text_or_none(former.get("name")) or f"tool-{former.get('tool')}"
        args = _compact(former.get("rawArgs") if former.get("rawArgs") is not None else former.get("params"))
        full_parts.append(content.tool_call(name, args))
        result = former.get("result")
        if result is not None and result != "":
            full_parts.append(content.tool_result(content.result_text(_decoded_text(result)),
                                                  error=former.get("status") == "error"))
        tool = (content.text_or_none(former.get("toolCallId")), name, args or None)
    for image in bubble.get("images") or []:
        if image:
            full_parts.append(content.IMAGE)
    full = "\n".join(full_parts)
    uuid = content.text_or_none(bubble.get("bubbleId")) or content.text_or_none(bubble.get("id")) or f"{session_id}:{index}"
    raw = content.as_text(bubble) or ""
    if not full:
        out.skip(f"bubble:{kind}:empty")
        return None
    at = _bubble_time(bubble)
    info = bubble.get("modelInfo")
    bubble_model = (content.text_or_none(info.get("modelName")) if isinstance(info, dict) else None) or content.text_or_none(
        bubble.get("modelType")) or model
    if kind in (1, "user"):
        return out.emit(uuid, MessageType.USER, text, full, raw, at=at)
    if kind in (2, "ai", "assistant"):
        return out.emit(uuid, MessageType.ASSISTANT, text, full, raw, at=at, model=bubble_model, tool=tool)
    return out.unknown(f"bubble:{kind}", raw, uuid=uuid, at=at, tag=f"bubble {kind}")


def _bubble_time(bubble: dict[str, Any]) -> int | None:
    timing = bubble.get("timingInfo")
    start = timing.get("clientStartTime") if isinstance(timing, dict) else None
    return time_ms(bubble.get("createdAt")) or time_ms(start) or time_ms(bubble.get("timestamp"))


def _compact(value: Any) -> str:
    """Arguments as compact JSON (they are often JSON text)."""
    decoded = _decoded_text(value)
    return content.as_text(decoded) or ""


def _decoded_text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value
    return value


def _list(value: Any, key: str) -> list[dict[str, Any]]:
    items = value.get(key) if isinstance(value, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []





SOURCE = CursorSource()
