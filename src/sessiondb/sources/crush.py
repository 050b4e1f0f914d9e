"""Crush: ``<project>/.crush/crush.db``, one SQLite database per project.

Roots: the argument, ``$CRUSH_PATH``, ``$CRUSH_GLOBAL_DATA``, ``$XDG_DATA_HOME/crush``,
else ``~/.local/share/crush``. A root may be a project directory (holding ``.crush/``),
a data directory (holding ``crush.db``), or Crush's global data directory, whose
``projects.json`` lists every project Crush was used in with its data directory. The
``.crush/crush.db`` of every project directory the database knows (the working
directories other agents' sessions name) is read as well.

Tables: ``sessions`` (``id``, ``parent_session_id``, ``title``, ``created_at``,
``updated_at``, ...) and ``messages`` (``id``, ``session_id``, ``role``, ``parts``,
``model``, ``provider``, ``created_at`` in seconds, ``is_summary_message``, ...). The
database is opened read-only with a busy timeout; one session is one unit, fingerprinted
by its rows, and the file gates the whole database. Messages are updated in place while
a reply streams, so a changed session is read whole and changed messages are updated.

``parts`` is a JSON list of ``{"type": ..., "data": {...}}``: ``text``, ``reasoning``
(``[Thinking] ...``), ``tool_call`` (``[Tool: NAME] input``), ``tool_result``
(``[Result] ...`` / ``[Result Error] ...``), ``image_url`` and ``binary`` (``[Image]``,
``[File: path]``) and ``finish`` (bookkeeping, not shown). Roles: ``user``,
``assistant``, ``tool`` (results), ``system``. The project is the directory holding
``.crush``; a session with a ``parent_session_id`` (the agent tool's) is a subagent.
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
from .base import Recorder, ToolFields, WholeSource
from .databases import columns, database_units, digest, is_gate, json_value, parse_gate, row_dicts, time_ms
from .records import ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, clean_id, project_name_of
from .roots import RootSpec, dedupe

DB_NAME = "crush.db"
DATA_DIR = ".crush"
PROJECTS_FILE = "projects.json"
MAX_PROJECTS_BYTES = 16 << 20


class CrushSource(WholeSource):
    name = "crush"
    title = "Crush"
    channel = "cli"
    roots_spec = RootSpec("CRUSH_PATH", (("CRUSH_GLOBAL_DATA", ""), ("XDG_DATA_HOME", "crush")),
                          (".local/share/crush",))
    file_suffixes = (".db", ".db-wal")
    project_files = True

    # ------------------------------------------------------------------ discovery
    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        for data_dir, project in self._data_dirs(roots):
            yield from self._units(data_dir, project, known or {})

    def discover_projects(self, projects: Iterable[str], known: Mapping[str, Any] | None = None
                          ) -> Iterator[SourceUnit]:
        for project in sorted(set(projects)):
            if project and os.path.isabs(project):
                yield from self._units(Path(project) / DATA_DIR, project, known or {})

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        return None   # the database's sessions are found through database_root

    def database_root(self, path: str, roots: Iterable[Path]) -> Path | None:
        """``crush.db`` (or its ``-wal``/``-shm``) anywhere: its data directory."""
        target = Path(os.path.abspath(path))
        if target.name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            return target.parent
        return None

    def discover_database(self, root: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        yield from self._units(root, str(root.parent) if root.name == DATA_DIR else None, known)

    def _data_dirs(self, roots: Iterable[Path]) -> list[tuple[Path, str | None]]:
        """Every data directory under the roots, with its project directory when known."""
        found: list[tuple[Path, str | None]] = []
        for root in roots:
            if (root / DB_NAME).is_file():
                found.append((root, str(root.parent) if root.name == DATA_DIR else None))
            if (root / DATA_DIR / DB_NAME).is_file():
                found.append((root / DATA_DIR, str(root)))
            found.extend(_listed_projects(root / PROJECTS_FILE))
        seen = {str(p) for p in dedupe(d for d, _ in found)}
        out = []
        for data_dir, project in found:
            if str(data_dir) in seen:
                seen.discard(str(data_dir))
                out.append((data_dir, project))
        return out

    def _units(self, data_dir: Path, project: str | None, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        db = data_dir / DB_NAME
        if db.is_file():
            yield from database_units(self.name, db, known, _session_stats,
                                      {"project": project or str(data_dir.parent)})

    # ------------------------------------------------------------------ parsing
    def parse(self, unit: SourceUnit) -> ParsedUnit:
        if is_gate(unit):
            return parse_gate(unit)
        conn: apsw.Connection = unit.context["conn"]
        session_id = unit.context["session_id"]
        issues = ParseIssues()
        try:
            tables = columns(conn)
            info: dict[str, Any] = {}
            if "sessions" in tables:
                info = next(row_dicts(conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,))), {})
            rows = list(row_dicts(conn.execute(
                "SELECT * FROM messages WHERE session_id = ? ORDER BY created_at, rowid", (session_id,))))
        except apsw.Error as exc:
            issues.bad(unit.key, f"cannot read the session: {exc}")
            return ParsedUnit(None, issues=issues)
        project = unit.context.get("project") or str(Path(unit.path).parent.parent)
        meta: dict[str, Any] = {}
        if content.text_or_none(info.get("title")):
            meta["title"] = info["title"]
        if content.text_or_none(info.get("parent_session_id")):
            meta["parent_session_id"] = info["parent_session_id"]
            meta["session_type"] = "subagent"
        for key in ("prompt_tokens", "completion_tokens", "cost"):
            if isinstance(info.get(key), (int, float)) and info[key]:
                meta[key] = info[key]
        session = SessionRecord(clean_id(session_id), self.name, project_path=project,
                                project_name=project_name_of(project), cwd=project, meta=meta)
        out = Recorder(session.session_id, timeline=Timeline(time_ms(info.get("created_at"))))
        out.issues = issues
        for row in rows:
            parts = json_value(row.get("parts"))
            if not isinstance(parts, list):
                issues.bad(f"{unit.key} message {row.get('id')}", "parts is not a JSON list")
                continue
            raw = {k: v for k, v in row.items() if k != "parts"}
            raw["parts"] = parts
            model = content.text_or_none(row.get("model"))
            _message(out, str(row.get("id")), content.text_or_none(row.get("role")), parts, time_ms(row.get("created_at")),
                     content.as_text(raw) or "", model, bool(row.get("is_summary_message")))
            if model and row.get("role") == "assistant":
                session.model = model
        return out.parsed(session)


def _listed_projects(path: Path) -> list[tuple[Path, str | None]]:
    """The data directories ``projects.json`` lists (``[]`` when it is absent or unreadable)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PROJECTS_BYTES)
        listing = msgspec.json.decode(data)
    except (OSError, msgspec.DecodeError, UnicodeDecodeError):
        return []
    projects = listing.get("projects") if isinstance(listing, dict) else listing
    found: list[tuple[Path, str | None]] = []
    for entry in projects if isinstance(projects, list) else []:
        if not isinstance(entry, dict):
            continue
        project = content.text_or_none(entry.get("path"))
        data_dir = content.text_or_none(entry.get("data_dir")) or (os.path.join(project, DATA_DIR) if project else None)
        if data_dir and os.path.isabs(data_dir):
            found.append((Path(data_dir), project))
    return found


def _session_stats(conn: apsw.Connection) -> dict[str, tuple[int, int, str]]:
    tables = columns(conn)
    message_columns = tables.get("messages", set())
    if not {"session_id", "parts"} <= message_columns:
        return {}
    updated = "updated_at" if "updated_at" in message_columns else "created_at"
    sessions: dict[str, object] = {}
    if "sessions" in tables:
        wanted = [c for c in ("updated_at", "title", "parent_session_id") if c in tables["sessions"]]
        select = ", ".join(wanted) if wanted else "NULL"
        sessions = {row[0]: row[1:] for row in conn.execute(f"SELECT id, {select} FROM sessions")}
    found: dict[str, tuple[int, int, str]] = {}
    for session_id, count, newest, size, last in conn.execute(
            f"SELECT session_id, COUNT(*), MAX({updated}), SUM(length(parts)), MAX(rowid) FROM messages "
            "GROUP BY session_id"):
        if isinstance(session_id, str) and session_id:
            found[session_id] = (int(count or 0), (time_ms(newest) or 0) * 1_000_000,
                                 digest((count, newest, size, last, sessions.get(session_id))))
    return found


def _message(out: Recorder, uuid: str, role: str | None, parts: list[Any], at: int | None, raw: str,
             model: str | None, summary: bool) -> None:
    text_parts: list[str] = []
    full_parts: list[str] = []
    tool: ToolFields | None = None
    results = 0
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        data: dict[str, Any] = part["data"] if isinstance(part.get("data"), dict) else {}
        if kind == "text":
            text = content.text_or_none(data.get("text"))
            if text:
                text_parts.append(text)
                full_parts.append(text)
        elif kind == "reasoning":
            if content.text_or_none(data.get("thinking")):
                full_parts.append(content.thinking(data["thinking"]))
        elif kind == "tool_call":
            name, args = content.text_or_none(data.get("name")), content.as_text(data.get("input"))
            full_parts.append(content.tool_call(name, args))
            tool = (content.text_or_none(data.get("id")), name, args or None)
        elif kind == "tool_result":
            results += 1
            full_parts.append(content.tool_result(content.result_text(data.get("content")),
                                                  error=data.get("is_error") is True))
            if tool is None:
                tool = (content.text_or_none(data.get("tool_call_id")), content.text_or_none(data.get("name")), None)
        elif kind == "image_url":
            full_parts.append(content.IMAGE)
        elif kind == "binary":
            mime = content.text_or_none(data.get("mime_type")) or ""
            full_parts.append(content.IMAGE if mime.startswith("image/") else content.file(content.text_or_none(data.get("path"))))
        elif kind == "finish":
            reason = content.text_or_none(data.get("reason"))
            if reason in ("error", "canceled", "permission_denied"):
                full_parts.append(content.tagged(f"Finish: {reason}", content.text_or_none(data.get("message")) or ""))
        else:
            out.issues.unknown(f"part:{kind}")
            full_parts.append(content.unknown(str(kind or "part"), content.as_text(part) or ""))
    full = "\n".join(full_parts)
    if not full:
        out.skip(f"{role}:empty")
        return
    if summary:
        kind_type, full = MessageType.SYSTEM, content.tagged("Summary", full)
    elif role == "assistant":
        kind_type = MessageType.ASSISTANT
    elif role == "user":
        kind_type = MessageType.USER
    elif role == "tool" or results:
        kind_type = MessageType.TOOL
    elif role == "system":
        kind_type = MessageType.SYSTEM
    else:
        kind_type = MessageType.SYSTEM
        out.issues.unknown(f"role:{role}")
    out.emit(uuid, kind_type, "\n".join(text_parts), full, raw, at=at,
             model=model if kind_type == MessageType.ASSISTANT else None, tool=tool)





SOURCE = CrushSource()
