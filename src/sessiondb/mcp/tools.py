"""The tools themselves: each checks its arguments, asks the Python API, and returns a
bounded answer as compact text plus structured content.

Nothing here imports the MCP SDK, so the tools can be called (and benchmarked) as plain
functions: ``Tools(Archive(path)).call("search", {"query": "lock"})``.
"""

from __future__ import annotations

import json
import os
import posixpath
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sessiondb import (ConfigError, DbConfig, InvalidArgument, Message, MessageType, Project, SearchOrder,
                       SessionDB, SessionDBError, SessionOverview)

from . import schemas
from .arguments import ToolError, check_arguments, iso_time, make_cursor, parse_time, read_cursor

DEFAULT_BUDGET = 12_000     # characters of text per answer: a few thousand tokens of an agent's context
MARKS = ("«", "»")
_ORDERS = {"score": SearchOrder.SCORE, "newest": SearchOrder.NEWEST, "oldest": SearchOrder.OLDEST}
_SUMMARY_CHARS = 160


@dataclass
class Answer:
    """What a tool returns: text for the model, the same facts as structured content."""

    text: str
    data: dict[str, Any]
    is_error: bool = False


class Archive:
    """The database, opened read-only on first use; a missing file is a tool error until
    it appears (the server may start before the first ``sessiondb collect``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._db: SessionDB | None = None
        self.config_error: str | None = None
        self.config: DbConfig | None
        try:
            self.config = DbConfig.local(path, read_only=True) if path else DbConfig.from_env(read_only=True)
            self.path = str(self.config.path)
        except ConfigError as exc:
            self.config, self.path, self.config_error = None, str(path or ""), str(exc)

    def db(self) -> SessionDB:
        with self._lock:
            if self._db is not None:
                return self._db
            if self.config is None:
                raise ToolError(f"the database setting is not usable: {self.config_error}")
            if not Path(self.path).is_file():
                raise ToolError(f"no session database at {self.path}: run `sessiondb collect` to build it, or "
                                "start the server with --db PATH")
            self._db = SessionDB.connect(self.config)
            return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


@dataclass
class _Page:
    """Items added while they fit in the budget (the first always does, shortened if need be)."""

    budget: int
    lines: list[str] = field(default_factory=list)
    used: int = 0
    full: bool = False

    def room(self) -> int:
        return self.budget - self.used

    def add(self, text: str, item: dict[str, Any]) -> bool:
        """Add an item's text line; its cost is the larger of the text and its structured form,
        so that neither half of the answer outgrows the budget."""
        if self.full:
            return False
        cost = max(len(text), len(json.dumps(item, ensure_ascii=False))) + 1
        if self.lines and self.used + cost > self.budget:
            self.full = True
            return False
        self.lines.append(text)
        self.used += cost
        return True


def _reserve(head: str, envelope: dict[str, Any]) -> int:
    """Room to keep for what surrounds the items: the text's head and notes, the structured
    content's other fields (a cursor included), whichever is larger."""
    return max(len(head), len(json.dumps(envelope, ensure_ascii=False))) + 300


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[:max(limit, 1)].rstrip() + f"… [+{len(text) - limit} chars]", True


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _norm_path(path: str) -> str:
    cleaned = posixpath.normpath(path.strip()) if path.strip() else ""
    return "/" if cleaned == "//" else cleaned


class Tools:
    """The five tools over one archive."""

    def __init__(self, archive: Archive, *, budget: int = DEFAULT_BUDGET) -> None:
        self.archive = archive
        self.budget = max(1000, budget)
        self._handlers: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "search": self.search, "get_session": self.get_session, "list_sessions": self.list_sessions,
            "list_projects": self.list_projects, "get_stats": self.get_stats}

    def call(self, name: str, arguments: Any) -> Answer:
        """Run a tool; every failure the agent can act on comes back as an error answer."""
        tool = schemas.BY_NAME.get(name)
        if tool is None:
            raise KeyError(name)
        try:
            return self._handlers[name](check_arguments(tool["inputSchema"], arguments))
        except (ToolError, InvalidArgument) as exc:
            return Answer(f"Error: {exc}", {"error": str(exc)}, is_error=True)
        except SessionDBError as exc:
            return Answer(f"Error: database: {exc}", {"error": f"database: {exc}"}, is_error=True)

    # ------------------------------------------------------------------ shared
    def _project_scope(self, db: SessionDB, args: dict[str, Any]) -> dict[str, Any] | None:
        """The project selected by ``cwd`` or ``project``, as a small dict; None for all."""
        if "cwd" in args and "project" in args:
            raise ToolError("give cwd or project, not both")
        if "cwd" in args:
            return _project_dict(self._project_for_cwd(db, args["cwd"]))
        if "project" in args:
            return _project_dict(self._project_by_text(db, args["project"]))
        return None

    @staticmethod
    def _project_for_cwd(db: SessionDB, cwd: str) -> Project:
        target = _norm_path(cwd)
        if not target.startswith("/"):
            raise ToolError(f"cwd must be an absolute path, not {cwd[:80]!r}")
        best = None
        for project in db.list_projects():
            path = _norm_path(project.path)
            if path and (target == path or target.startswith(path.rstrip("/") + "/")):
                if best is None or len(path) > len(_norm_path(best.path)):
                    best = project
        if best is None:
            raise ToolError(f"no stored sessions for {target} or any directory above it; list_projects shows the "
                            "projects that have sessions (or search without cwd)")
        return best

    @staticmethod
    def _project_by_text(db: SessionDB, text: str) -> Project:
        value = text.strip()
        if not value:
            raise ToolError("project must not be empty")
        if value.isdigit() and len(value) < 19:
            found = db.get_project(int(value))
            if found:
                return found
        exact = db.get_project_by_path(value) or db.get_project_by_path(_norm_path(value))
        if exact:
            return exact
        projects = db.list_projects()
        lowered = value.lower()
        for candidates in ([p for p in projects if p.name == value],
                           [p for p in projects if p.name.lower() == lowered],
                           [p for p in projects if lowered in p.path.lower()]):
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                listed = ", ".join(f"{p.id} {p.path}" for p in candidates[:5])
                raise ToolError(f"project {value[:80]!r} matches {len(candidates)} projects ({listed}"
                                f"{', ...' if len(candidates) > 5 else ''}); pass its id or full path")
        raise ToolError(f"no project matches {value[:80]!r}; list_projects shows them")

    @staticmethod
    def _limit(tool: str, args: dict[str, Any], notes: list[str]) -> int:
        default, cap = schemas.LIMITS[tool]
        limit: int = args.get("limit", default)
        if limit > cap:
            notes.append(f"limit reduced to {cap}")
            limit = cap
        return limit

    @staticmethod
    def _resolve_session(db: SessionDB, text: str) -> SessionOverview:
        value = text.strip()
        overview = db.get_session_overview(value) if value else None
        if overview is not None:
            return overview
        found = db.search_sessions_by_prefix(value, 2) if value else []
        if not found:
            raise ToolError(f"no session {value[:80]!r}: use a session_id from search or list_sessions")
        if len(found) > 1:
            raise ToolError(f"{value[:80]!r} is the start of several sessions ({found[0].session_id}, "
                            f"{found[1].session_id}, ...): give more of the id")
        overview = db.get_session_overview(found[0].session_id)
        if overview is None:   # deleted between the two reads
            raise ToolError(f"no session {value[:80]!r}")
        return overview

    # ------------------------------------------------------------------ search
    def search(self, args: dict[str, Any]) -> Answer:
        db = self.archive.db()
        notes: list[str] = []
        limit = self._limit("search", args, notes)
        offset = read_cursor("search", args) or 0
        scope = self._project_scope(db, args)
        since = parse_time("since", args["since"]) if "since" in args else None
        until = parse_time("until", args["until"], end=True) if "until" in args else None
        snippet_chars = min(args.get("snippet_chars", 200), 1000)
        order = args.get("order", "score")
        hits = db.search(args["query"], limit=limit + 1, offset=offset,
                         project_id=scope["id"] if scope else None, source=args.get("source"),
                         role=args.get("role"), since=since, until=until, session_prefix=args.get("session"),
                         order=_ORDERS[order], highlight=MARKS, snippet_chars=snippet_chars)
        more = len(hits) > limit
        hits = hits[:limit]
        page = _Page(self.budget - _reserve(f"{args['query']!r} {scope['path'] if scope else ''}",
                                            {"query": args["query"], "project": scope, "notes": notes}))
        results = []
        for n, hit in enumerate(hits, start=offset + 1):
            snippet = _one_line(hit.snippet)
            line = (f"[{n}] {hit.project_name or hit.project_path} · {hit.source or '?'} · session {hit.session_id}"
                    f" · message {hit.message_id} · {hit.type} · {iso_time(hit.timestamp) or '?'}\n    {snippet}")
            item = {"message_id": hit.message_id, "session_id": hit.session_id, "project_id": hit.project_id,
                    "project": hit.project_name, "project_path": hit.project_path, "source": hit.source,
                    "role": hit.type, "time": iso_time(hit.timestamp), "timestamp_ms": hit.timestamp,
                    "score": round(hit.score, 4), "snippet": snippet}
            if not page.add(line, item):
                break
            results.append(item)
        next_offset = offset + len(results) if (more or len(results) < len(hits)) else None
        cursor = make_cursor("search", args, next_offset) if next_offset is not None else None
        where = f" in {scope['path']}" if scope else ""
        if not results:
            head = (f"No matches for {args['query']!r}{where}" +
                    (" past this cursor." if offset else ". Try fewer or other words, a prefix*, or fewer filters."))
        else:
            head = (f"Hits {offset + 1}-{offset + len(results)} for {args['query']!r}{where}, {order} order"
                    + (f"; more with cursor {cursor!r}" if cursor else "") + ":")
        text = "\n".join([head, *page.lines, *(f"({n})" for n in notes)])
        return Answer(text, {"query": args["query"], "order": order, "project": scope, "results": results,
                             "next_cursor": cursor, "notes": notes})

    # ------------------------------------------------------------------ get_session
    def get_session(self, args: dict[str, Any]) -> Answer:
        db = self.archive.db()
        notes: list[str] = []
        limit = self._limit("get_session", args, notes)
        overview = self._resolve_session(db, args["session"])
        sid, total = overview.session_id, overview.message_count
        if "around_message_id" in args and "offset" in args:
            raise ToolError("give around_message_id or offset, not both")
        start = read_cursor("get_session", args)
        if start is None:
            if "around_message_id" in args:
                found = db.get_message_position(args["around_message_id"])
                if found is None or found[0] != sid:
                    raise ToolError(f"message {args['around_message_id']} is not in session {sid}"
                                    + (f" (it is in {found[0]})" if found else ""))
                start = max(0, found[1] - limit // 3)
            elif "offset" in args:
                start = args["offset"] if args["offset"] >= 0 else max(0, total + args["offset"])
            else:
                start = 0
        include_tools = args.get("include_tools", False)
        per_message = min(args.get("max_message_chars", 2000), self.budget)
        head = _session_header(overview)
        page = _Page(self.budget - _reserve(head, {"session": _overview_dict(overview), "notes": notes}))
        messages = db.list_messages(sid, limit=limit, offset=start) if start < total or total == 0 else []
        shown = []
        for position, message in enumerate(messages, start=start):
            body, shortened = _message_text(message, include_tools)
            body, cut = _cut(body, min(per_message, max(page.room() - 400, 200)))
            line = (f"#{position} [message {message.id}] {message.type.value}"
                    f"{' ' + message.tool_name if message.tool_name else ''} · {iso_time(message.timestamp) or '?'}"
                    + ("".join(f"\n  {part}" for part in body.split("\n")) if body else "\n  (empty)"))
            item = {"message_id": message.id, "position": position, "role": message.type.value,
                    "time": iso_time(message.timestamp), "tool_name": message.tool_name, "model": message.model,
                    "text": body, "shortened": shortened or cut}
            if not page.add(line, item):
                break
            shown.append(item)
        end = start + len(shown)
        cursor = make_cursor("get_session", args, end) if end < total and shown else None
        if shown:
            span = (f"Messages {start}-{end - 1} of {total}"
                    + ("" if include_tools else " (tool calls and results shortened; include_tools shows them)")
                    + (f"; more with cursor {cursor!r}" if cursor else "; end of session") + ":")
        elif total == 0:
            span = "The session has no stored messages."
        else:
            span = f"No messages at position {start}: the session has {total} (positions 0-{total - 1})."
        text = "\n".join([head, span, *page.lines, *(f"({n})" for n in notes)])
        return Answer(text, {"session": _overview_dict(overview), "messages": shown, "start": start, "total": total,
                             "next_cursor": cursor, "notes": notes})

    # ------------------------------------------------------------------ list_sessions
    def list_sessions(self, args: dict[str, Any]) -> Answer:
        db = self.archive.db()
        notes: list[str] = []
        limit = self._limit("list_sessions", args, notes)
        offset = read_cursor("list_sessions", args) or 0
        scope = self._project_scope(db, args)
        found = db.list_session_overviews(project_id=scope["id"] if scope else None, source=args.get("source"),
                                          limit=limit + 1, offset=offset)
        more = len(found) > limit
        found = found[:limit]
        page = _Page(self.budget - _reserve(scope["path"] if scope else "", {"project": scope, "notes": notes}))
        sessions = []
        for overview in found:
            kind = f" · {overview.session_type} of {overview.parent_session_id}" if overview.parent_session_id else ""
            line = (f"{overview.session_id} · {iso_time(overview.last_message_at) or '?'} · "
                    f"{_count(overview.message_count, 'message')} · {overview.source} · "
                    f"{overview.project_name}{kind}\n"
                    f"    {overview.title or '(untitled)'}")
            item = _overview_dict(overview)
            if not page.add(line, item):
                break
            sessions.append(item)
        next_offset = offset + len(sessions) if (more or len(sessions) < len(found)) else None
        cursor = make_cursor("list_sessions", args, next_offset) if next_offset is not None else None
        where = f" of {scope['path']}" if scope else ""
        if sessions:
            head = (f"Sessions {offset + 1}-{offset + len(sessions)}{where}, most recent first"
                    + (f"; more with cursor {cursor!r}" if cursor else "") + ":")
        else:
            head = f"No sessions{where}" + (" past this cursor." if offset else ".")
        text = "\n".join([head, *page.lines, *(f"({n})" for n in notes)])
        return Answer(text, {"project": scope, "sessions": sessions, "next_cursor": cursor, "notes": notes})

    # ------------------------------------------------------------------ list_projects
    def list_projects(self, args: dict[str, Any]) -> Answer:
        db = self.archive.db()
        notes: list[str] = []
        limit = self._limit("list_projects", args, notes)
        offset = read_cursor("list_projects", args) or 0
        projects = db.list_projects_with_stats(limit=None)
        if "contains" in args:
            needle = args["contains"].lower()
            projects = [p for p in projects if needle in p.name.lower() or needle in p.path.lower()]
        if "source" in args:
            projects = [p for p in projects if p.source == args["source"]]
        window = projects[offset:offset + limit]
        page = _Page(self.budget - _reserve("", {"notes": notes}))
        listed = []
        for p in window:
            line = (f"{p.id} · {p.name} · {p.path} · {p.source} · {_count(p.session_count, 'session')} · "
                    f"{_count(p.message_count, 'message')} · last {iso_time(p.last_active) or '?'}")
            item = {"id": p.id, "name": p.name, "path": p.path, "source": p.source,
                    "session_count": p.session_count, "message_count": p.message_count,
                    "last_active": iso_time(p.last_active)}
            if not page.add(line, item):
                break
            listed.append(item)
        end = offset + len(listed)
        cursor = make_cursor("list_projects", args, end) if end < len(projects) and listed else None
        if listed:
            head = (f"Projects {offset + 1}-{end} of {len(projects)} (id · name · path · source · counts · last "
                    "active)" + (f"; more with cursor {cursor!r}" if cursor else "") + ":")
        else:
            head = "No projects match." if projects or args.get("contains") or args.get("source") else \
                "No projects yet: nothing has been collected."
        text = "\n".join([head, *page.lines, *(f"({n})" for n in notes)])
        return Answer(text, {"projects": listed, "total": len(projects), "next_cursor": cursor})

    # ------------------------------------------------------------------ get_stats
    def get_stats(self, args: dict[str, Any]) -> Answer:
        db = self.archive.db()
        stats = db.get_stats()
        per_source: dict[str, dict[str, int]] = {}
        sources: list[dict[str, Any]]
        for p in db.list_projects_with_stats(limit=None):
            row = per_source.setdefault(p.source or "?", {"projects": 0, "sessions": 0, "messages": 0})
            row["projects"] += 1
            row["sessions"] += p.session_count
            row["messages"] += p.message_count
        sources = [{"source": name, **counts} for name, counts in
                   sorted(per_source.items(), key=lambda item: -item[1]["messages"])]
        newest = db.list_session_overviews(limit=1)
        newest_time = iso_time(newest[0].last_message_at) if newest else None
        try:
            size = os.path.getsize(self.archive.path)
        except OSError:
            size = None
        lines = [f"{_count(stats.message_count, 'message')} in {_count(stats.session_count, 'session')} of "
                 f"{_count(stats.project_count, 'project')}; newest message {newest_time or 'none'}; "
                 f"database {self.archive.path}"
                 + (f" ({size / 1e6:.1f} MB)" if size is not None else "")]
        lines += [f"  {s['source']}: {_count(s['projects'], 'project')}, {_count(s['sessions'], 'session')}, "
                  f"{_count(s['messages'], 'message')}" for s in sources]
        return Answer("\n".join(lines), {"database": self.archive.path, "size_bytes": size,
                                         "projects": stats.project_count, "sessions": stats.session_count,
                                         "messages": stats.message_count, "sources": sources,
                                         "newest_message": newest_time})

    # ------------------------------------------------------------------ for resources
    def transcript(self, session_id: str) -> str:
        """The first page of a session as text (what the session resource shows)."""
        answer = self.call("get_session", {"session": session_id})
        if answer.is_error:
            raise ToolError(answer.data["error"])
        return answer.text

    def recent_sessions(self, offset: int, limit: int) -> list[SessionOverview]:
        return self.archive.db().list_session_overviews(limit=limit, offset=offset)


def _project_dict(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "path": project.path, "source": project.source}


def _overview_dict(o: SessionOverview) -> dict[str, Any]:
    return {"session_id": o.session_id, "title": o.title, "project_id": o.project_id, "project": o.project_name,
            "project_path": o.project_path, "source": o.source, "message_count": o.message_count,
            "first_time": iso_time(o.first_message_at), "last_time": iso_time(o.last_message_at), "model": o.model,
            "cwd": o.cwd, "parent_session_id": o.parent_session_id, "session_type": o.session_type}


def _session_header(o: SessionOverview) -> str:
    parts = [f"Session {o.session_id}", repr(o.title) if o.title else "(untitled)",
             f"{o.project_name} ({o.project_path})", o.source, f"{o.message_count} messages",
             f"{iso_time(o.first_message_at) or '?'} to {iso_time(o.last_message_at) or '?'}"]
    if o.model:
        parts.append(o.model)
    if o.parent_session_id:
        parts.append(f"{o.session_type or 'child'} of {o.parent_session_id}")
    return " · ".join(parts)


def _message_text(m: Message, include_tools: bool) -> tuple[str, bool]:
    """A message's text, and whether tool parts were shortened to one line."""
    if include_tools:
        return (m.content_full or m.content_text or "").strip(), False
    full = (m.content_full or "").strip()
    text = (m.content_text or "").strip()
    if m.type is MessageType.TOOL or (not text and full):
        summary, cut = _cut(_one_line(full), _SUMMARY_CHARS)
        return summary, cut or len(full) > len(summary)
    if m.tool_name:
        args = _one_line(m.tool_args or "")
        call, _ = _cut(f"[Tool: {m.tool_name}] {args}".rstrip(), _SUMMARY_CHARS)
        return (text + "\n" + call).strip(), True
    return text, len(full) > len(text)
