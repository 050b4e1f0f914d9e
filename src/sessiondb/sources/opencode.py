"""OpenCode: the JSON storage tree and the newer ``opencode.db``.

Roots: the argument, ``$OPENCODE_PATH``, ``$XDG_DATA_HOME/opencode``, else
``~/.local/share/opencode``. A root may also point at the ``storage`` directory itself.

* JSON storage (OpenCode < 1.2): ``storage/session/<project>/ses_*.json`` (session
  info), ``storage/message/<session>/msg_*.json`` (message info) and
  ``storage/part/<message>/prt_*.json`` (the content). One session is one unit; its
  fingerprint covers the stats of all its message and part files, since parts are
  rewritten in place while a reply streams.
* ``opencode.db`` (OpenCode >= 1.2): tables ``session``, ``message`` and ``part`` with
  JSON in ``data``. Opened read-only with a busy timeout; one session is one unit,
  fingerprinted by the count, newest update and total size of its rows. The file's
  own size and mtime gate the whole database, so a warm rescan does not open it.

Messages are ordered by creation time (then id) and parts by id (ids are time
ordered); the original used directory order. A message without a creation time takes
the session's, else the nearest message's. Text parts are the message text;
``[Thinking] ...`` (reasoning), ``[Tool: NAME] {input}`` with ``[Result] output``,
``[File: name]`` and ``[Patch] files`` go into ``content_full``. A message whose
parts changed since the last collection is updated in the database.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import apsw
import msgspec

from .jsonl import loads
from ..models import MessageType
from . import content
from . import roots as roots_module
from . import tokens
from .base import Recorder, WholeSource
from .databases import SessionStats, database_units, is_gate, json_value, parse_gate
from .records import MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, UsageRecord, \
    clean_id, project_name_of
from .roots import RootSpec

DB_NAME = "opencode.db"
MAX_PART_BYTES = 64 << 20


class OpenCodeSource(WholeSource):
    name = "opencode"
    title = "OpenCode"
    # 2: records without a time take the nearest timed record's (not the file's mtime).
    # 3: token usage and cost of assistant messages.
    parser_version = 3
    channel = None
    roots_spec = RootSpec("OPENCODE_PATH", (("XDG_DATA_HOME", "opencode"),), (".local/share/opencode",))
    file_suffixes = (".json", ".db", ".db-wal")

    # ------------------------------------------------------------------ discovery
    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        """Session units of the JSON tree and of ``opencode.db``. ``known`` maps unit keys to
        their saved state; an unchanged database is not opened."""
        for root in roots:
            storage = storage_dir(root)
            if storage is not None:
                for project in roots_module.list_dir(storage / "session", sort=True):
                    for entry in roots_module.list_dir(project.path, sort=True):
                        if entry.name.startswith("ses_") and entry.name.endswith(".json"):
                            unit = self.json_unit(entry.path, storage)
                            if unit is not None:
                                yield unit
            yield from self.discover_database(root, known or {})

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        """The session unit a changed session, message or part file belongs to."""
        target = Path(os.path.abspath(os.fspath(path)))
        for root in roots:
            storage = storage_dir(root)
            if storage is None:
                continue
            rel = roots_module.is_within(target, storage)
            if rel is None or len(rel.parts) != 3 or not rel.name.endswith(".json"):
                continue
            kind, folder = rel.parts[0], rel.parts[1]
            if kind == "session":
                return self.json_unit(str(target), storage)
            if kind == "message":
                return self._session_unit_by_id(storage, folder)
            if kind == "part":
                info = _read_json(target)
                session_id = info.get("sessionID") if isinstance(info, dict) else None
                if isinstance(session_id, str):
                    return self._session_unit_by_id(storage, session_id)
        return None

    def database_root(self, path: str, roots: Iterable[Path]) -> Path | None:
        """``opencode.db`` (or its ``-wal``/``-shm``) directly in a root: that root."""
        target = Path(os.path.abspath(path))
        if not target.name.startswith(DB_NAME):
            return None
        for root in roots:
            if target.parent == Path(os.path.abspath(root)):
                return target.parent
        return None

    def discover_database(self, root: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        db = root / DB_NAME
        if db.is_file():
            yield from self._db_units(db, known)

    def _session_unit_by_id(self, storage: Path, session_id: str) -> SourceUnit | None:
        if "/" in session_id or session_id in ("", ".", ".."):
            return None
        for project in roots_module.list_dir(storage / "session", sort=True):
            candidate = os.path.join(project.path, f"{session_id}.json")
            if os.path.isfile(candidate):
                return self.json_unit(candidate, storage)
        return None

    def json_unit(self, session_file: str, storage: Path) -> SourceUnit | None:
        """The unit of one session of the JSON tree: its session file, fingerprinted by the
        stats of all its message and part files (parts are rewritten while a reply streams)."""
        unit = self.stat_unit(session_file, context={"storage": str(storage), "session_id": Path(session_file).stem})
        if unit is None:
            return None
        # Order-independent digest of every message and part file's name, size and mtime
        # (listing order is not guaranteed, and sorting thousands of entries costs more).
        fold = [unit.size, unit.mtime_ns, 0, 0]
        for message in roots_module.list_dir(storage / "message" / unit.context["session_id"]):
            if message.name.endswith(".json"):
                _fold(fold, message)
                for part in roots_module.list_dir(storage / "part" / message.name[:-5]):
                    if part.name.endswith(".json"):
                        _fold(fold, part)
        unit.size, unit.mtime_ns, unit.fingerprint = fold[0], fold[1], f"{fold[2]:x}-{fold[3]:x}"
        return unit

    def _db_units(self, db: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        # Each session unit also carries the tables found (filled by ``stats``, which
        # database_units runs before it makes the units from ``context``).
        described: dict[str, Any] = {}

        def stats(conn: apsw.Connection) -> SessionStats:
            described["tables"] = _tables(conn)
            return _session_stats(conn, described["tables"])

        return database_units(self.name, db, known, stats, context=described)

    # ------------------------------------------------------------------ parsing
    def parse(self, unit: SourceUnit) -> ParsedUnit:
        if is_gate(unit):
            return parse_gate(unit)
        if "conn" in unit.context:
            return self._build(*_read_db_session(unit))
        return self._build(*_read_json_session(unit))

    def _build(self, unit: SourceUnit, session_id: str, info: dict[str, Any],
               entries: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] | None,
               issues: ParseIssues) -> ParsedUnit:
        if entries is None:
            return ParsedUnit(None, issues=issues)
        directory = content.text_or_none(info.get("directory"))
        meta: dict[str, Any] = {}
        for key, name in (("title", "title"), ("slug", "slug"), ("version", "version"),
                          ("projectID", "project_id")):
            if content.text_or_none(info.get(key)):
                meta[name] = info[key]
        if content.text_or_none(info.get("parentID")):
            meta["parent_session_id"] = info["parentID"]
            meta["session_type"] = "subagent"
        session = SessionRecord(clean_id(session_id), self.name, project_path=directory,
                                project_name=project_name_of(directory), cwd=directory, meta=meta)
        entries.sort(key=lambda e: (_created(e[1]), e[0]))
        # The session's creation dates the messages before the first that has its own time.
        out = Recorder(session.session_id, timeline=Timeline(_created(info) or None))
        out.issues = issues
        for message_id, info_m, parts in entries:
            record = _message(out, message_id, info_m, parts)
            if record is None:
                continue
            if record.model and record.type == MessageType.ASSISTANT:
                session.model = record.model
            if session.project_path is None:
                path = info_m.get("path")
                cwd = content.text_or_none(path.get("cwd")) if isinstance(path, dict) else None
                if cwd:
                    session.project_path, session.project_name, session.cwd = cwd, project_name_of(cwd), cwd
        if session.project_path is None:
            session.project_path = f"opencode:{content.text_or_none(info.get('projectID')) or 'global'}"
            session.project_name = session.project_path
        return out.parsed(session)


def storage_dir(root: Path) -> Path | None:
    if (root / "storage" / "session").is_dir():
        return root / "storage"
    if (root / "session").is_dir() and (root / "message").is_dir():
        return root
    return None


def _fold(fold: list[int], entry: os.DirEntry[str]) -> None:
    try:
        st = entry.stat()
    except OSError:
        return
    fold[0] += st.st_size
    if st.st_mtime_ns > fold[1]:
        fold[1] = st.st_mtime_ns
    fold[2] += 1
    fold[3] = (fold[3] + zlib.crc32(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode(
        "utf-8", "surrogatepass"))) & 0xFFFFFFFFFFFF






def _read_json(path: str | os.PathLike[str]) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PART_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_PART_BYTES:
        return None
    try:
        return loads(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        try:
            return loads(data.decode("utf-8", "replace"))
        except msgspec.DecodeError:
            return None


# --------------------------------------------------------------------------- opencode.db
def _tables(conn: apsw.Connection) -> dict[str, set[str]]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: {r[1] for r in conn.execute(f"PRAGMA table_info(\"{name}\")")}
            for name in names if name in ("session", "message", "part")}


def _time_column(columns: set[str]) -> str:
    for name in ("time_updated", "updated_at", "time_created", "created_at"):
        if name in columns:
            return name
    return "0"


def _session_stats(conn: apsw.Connection, tables: dict[str, set[str]]) -> dict[str, tuple[int, int, str]]:
    if "message" not in tables or "session_id" not in tables["message"]:
        return {}
    folded: dict[str, list[Any]] = {}
    queries = [f"SELECT session_id, COUNT(*), MAX({_time_column(tables['message'])}), "
               "SUM(length(data)) FROM message GROUP BY session_id"]
    if "part" in tables and "session_id" in tables["part"]:
        queries.append(f"SELECT session_id, COUNT(*), MAX({_time_column(tables['part'])}), "
                       "SUM(length(data)) FROM part GROUP BY session_id")
    elif "part" in tables and "message_id" in tables["part"]:
        queries.append(f"SELECT m.session_id, COUNT(*), MAX(p.{_time_column(tables['part'])}), "
                       "SUM(length(p.data)) FROM part p JOIN message m ON m.id = p.message_id GROUP BY m.session_id")
    for sql in queries:
        for session_id, count, newest, size in conn.execute(sql):
            if not isinstance(session_id, str):
                continue
            entry = folded.setdefault(session_id, [0, 0, []])
            entry[0] += int(count or 0)
            entry[1] = max(entry[1], int(newest or 0) if isinstance(newest, (int, float)) else 0)
            entry[2].append(f"{count}:{newest}:{size}")
    if "session" in tables:
        time_col = _time_column(tables["session"])
        for session_id, updated in conn.execute(f"SELECT id, {time_col} FROM session"):
            if isinstance(session_id, str) and session_id in folded:
                folded[session_id][2].append(f"s:{updated}")
    return {sid: (count, newest * 1_000_000, hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest())
            for sid, (count, newest, parts) in folded.items()}


# --------------------------------------------------------------------------- reading a session
# Each gives (unit, session id, session info, [(message id, message info, parts)] or None, issues).
def _read_json_session(unit: SourceUnit) -> tuple[Any, ...]:
    issues = ParseIssues()
    storage = Path(unit.context["storage"])
    info = _read_json(unit.path)
    if not isinstance(info, dict):
        issues.bad(unit.path, "session file is not a JSON object")
        return unit, unit.context["session_id"], {}, None, issues
    session_id = content.text_or_none(info.get("id")) or unit.context["session_id"]
    entries = []
    for entry in roots_module.list_dir(storage / "message" / session_id, sort=True):
        if not entry.name.endswith(".json"):
            continue
        message = _read_json(entry.path)
        if not isinstance(message, dict):
            issues.bad(entry.path, "message file is not a JSON object")
            continue
        message_id = content.text_or_none(message.get("id")) or entry.name[:-5]
        parts = []
        for part_entry in roots_module.list_dir(storage / "part" / message_id, sort=True):
            if not part_entry.name.endswith(".json"):
                continue
            part = _read_json(part_entry.path)
            if isinstance(part, dict):
                parts.append(part)
            else:
                issues.bad(part_entry.path, "part file is not a JSON object")
        entries.append((message_id, message, parts))
    return unit, session_id, info, entries, issues


def _read_db_session(unit: SourceUnit) -> tuple[Any, ...]:
    issues = ParseIssues()
    conn: apsw.Connection = unit.context["conn"]
    tables: dict[str, set[str]] = unit.context["tables"]
    session_id = unit.context["session_id"]
    try:
        info: dict[str, Any] = {}
        if "session" in tables:
            cursor = conn.execute("SELECT * FROM session WHERE id = ?", (session_id,))
            row = cursor.fetchone()
            if row is not None:
                columns = [d[0] for d in cursor.getdescription()]
                info = _row_info(dict(zip(columns, row)))
        parts_by_message: dict[str, list[dict[str, Any]]] = {}
        if "part" in tables:
            if "session_id" in tables["part"]:
                rows = conn.execute("SELECT id, message_id, data FROM part WHERE session_id = ? ORDER BY id",
                                    (session_id,))
            else:
                rows = conn.execute("SELECT p.id, p.message_id, p.data FROM part p JOIN message m "
                                    "ON m.id = p.message_id WHERE m.session_id = ? ORDER BY p.id", (session_id,))
            for part_id, message_id, data in rows:
                part = json_value(data)
                if not isinstance(part, dict):
                    issues.bad(f"part {part_id}", "data is not a JSON object")
                    continue
                part.setdefault("id", part_id)
                parts_by_message.setdefault(message_id, []).append(part)
        created = next((c for c in ("time_created", "created_at") if c in tables["message"]), None)
        select_created = f", {created}" if created else ", NULL"
        entries = []
        for message_id, data, created_at in conn.execute(
                f"SELECT id, data{select_created} FROM message WHERE session_id = ?", (session_id,)):
            message = json_value(data)
            if not isinstance(message, dict):
                issues.bad(f"message {message_id}", "data is not a JSON object")
                continue
            message.setdefault("id", message_id)
            if created_at is not None and not isinstance(message.get("time"), dict):
                message["time"] = {"created": created_at}
            entries.append((message_id, message, parts_by_message.get(message_id, [])))
    except apsw.Error as exc:
        issues.bad(unit.key, f"cannot read the session: {exc}")
        return unit, session_id, {}, None, issues
    return unit, session_id, info, entries, issues


def _row_info(row: dict[str, Any]) -> dict[str, Any]:
    info = json_value(row.get("data")) if row.get("data") else None
    info = dict(info) if isinstance(info, dict) else {}
    for column, key in (("id", "id"), ("directory", "directory"), ("title", "title"), ("parent_id", "parentID"),
                        ("slug", "slug"), ("version", "version"), ("project_id", "projectID")):
        if row.get(column) is not None:
            info.setdefault(key, row[column])
    created = row.get("time_created", row.get("created_at"))
    if created is not None and not isinstance(info.get("time"), dict):
        info["time"] = {"created": created}
    return info




def _created(message: dict[str, Any]) -> int:
    time = message.get("time")
    value = time.get("created") if isinstance(time, dict) else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _message(out: Recorder, message_id: str, info: dict[str, Any], parts: list[dict[str, Any]]) -> MessageRecord | None:
    """The record of one message and its parts (None when it has no content)."""
    parts = sorted(parts, key=lambda p: str(p.get("id", "")))
    text_parts: list[str] = []
    full_parts: list[str] = []
    tool = None
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            text = content.text_or_none(part.get("text"))
            if text:
                full_parts.append(text)
                if not part.get("synthetic"):
                    text_parts.append(text)
        elif kind == "reasoning":
            text = content.text_or_none(part.get("text"))
            if text:
                full_parts.append(content.thinking(text))
        elif kind == "tool":
            state: dict[str, Any] = part["state"] if isinstance(part.get("state"), dict) else {}
            args = content.as_text(state.get("input")) if state.get("input") is not None else ""
            full_parts.append(content.tool_call(content.text_or_none(part.get("tool")), args))
            output = state.get("output")
            if output is not None:
                full_parts.append(content.tool_result(content.result_text(output),
                                                      error=state.get("status") == "error"))
            elif state.get("status") == "error" and state.get("error") is not None:
                full_parts.append(content.tool_result(content.as_text(state.get("error")) or "", error=True))
            tool = (content.text_or_none(part.get("callID")), content.text_or_none(part.get("tool")), args or None)
        elif kind == "file":
            full_parts.append(content.file(content.text_or_none(part.get("filename")) or content.text_or_none(part.get("url"))))
        elif kind == "patch":
            files = part.get("files")
            names = " ".join(f for f in files if isinstance(f, str)) if isinstance(files, list) else ""
            full_parts.append(content.tagged("Patch", names))
        elif kind == "subtask":
            prompt = content.text_or_none(part.get("prompt")) or content.text_or_none(part.get("description")) or ""
            full_parts.append(content.tagged("Subtask", prompt).rstrip())
    full = "\n".join(full_parts)
    role = info.get("role")
    usage = _usage(message_id, info, parts) if role == "assistant" else None
    if not full:
        out.skip(f"{role}:empty")
        if usage is not None:
            usage.message_uuid, usage.timestamp = clean_id(message_id), _created(info) or None
            out.add_usage(usage)
        return None
    if role == "user":
        kind_type = MessageType.USER
    elif role == "assistant":
        kind_type = MessageType.ASSISTANT
    else:
        kind_type = MessageType.SYSTEM
        out.issues.unknown(f"role:{role}")
    model = content.text_or_none(info.get("modelID"))
    if model is None and isinstance(info.get("model"), dict):
        model = content.text_or_none(info["model"].get("modelID"))
    raw = msgspec.json.encode(info).decode("utf-8", "replace")
    record = out.emit(message_id, kind_type, "\n".join(text_parts), full, raw, at=_created(info) or None,
                      model=model, tool=tool)
    if usage is not None:
        out.add_usage(usage, record)
    return record


def _usage(message_id: str, info: dict[str, Any], parts: list[dict[str, Any]]) -> UsageRecord | None:
    """The tokens of an assistant message: the sum of its ``step-finish`` parts (one per
    model call, each with its tokens and cost), else the message's ``tokens`` and
    ``cost``. OpenCode sets the message's ``tokens`` to the last step's only (its
    ``cost`` is the sum), so the steps are the better count; both share the message's
    key, and the store keeps the larger, so a message read before its step parts were
    written is not counted twice."""
    model = content.text_or_none(info.get("modelID"))
    steps = [tokens.split(p["tokens"], "") for p in parts
             if p.get("type") == "step-finish" and isinstance(p.get("tokens"), dict)]
    found = [u for u in steps if u is not None]
    key = clean_id(message_id)
    if not found:
        return tokens.split(info.get("tokens"), key, model=model, request_id=key, cost=tokens.money(info.get("cost")))
    costs = [tokens.money(p.get("cost")) for p in parts if p.get("type") == "step-finish"]
    known = [c for c in costs if c is not None]
    return UsageRecord(key, input=sum(u.input for u in found), output=sum(u.output for u in found),
                       cache_read=sum(u.cache_read for u in found), cache_write=sum(u.cache_write for u in found),
                       reasoning=sum(u.reasoning for u in found), model=model, request_id=key,
                       cost=sum(known) if known else tokens.money(info.get("cost")))


SOURCE = OpenCodeSource()
