"""Commands that only read: search, projects, sessions, show."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from ..models import MessageType, SearchOrder
from ..sources import ALL_SOURCES
from .common import (EXIT_NOTHING, EXIT_OK, UserError, add_db_option, add_json_option, open_db, resolve_project,
                     resolve_session)
from .output import MARK_CLOSE, MARK_OPEN, Output, highlighted, when
from .timeargs import BadDate, parse_when

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    from ..models import SearchResult, Session
    from .common import SessionReader

_ORDERS = {"score": SearchOrder.SCORE, "newest": SearchOrder.NEWEST, "oldest": SearchOrder.OLDEST}
_ROLE_STYLE = {"user": "bold cyan", "assistant": "bold green", "tool": "bold magenta", "system": "bold blue"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("search", help="search message text",
                       description='Words are ANDed; "a phrase", prefix*, a OR b, -exclude; CJK text and code '
                                   "identifiers (snake_case, db.py, a/b/c.rs) are found too.")
    p.add_argument("query", nargs="+", help="what to look for")
    p.add_argument("--project", help="project id, path, name or part of its path")
    p.add_argument("--source", choices=list(ALL_SOURCES))
    p.add_argument("--role", choices=[t.value for t in MessageType])
    p.add_argument("--since", help="from this time: 2026-01-31, 2026-01-31T09:30, 7d, 12h, today, yesterday")
    p.add_argument("--until", help="up to this time (inclusive), same forms as --since")
    p.add_argument("--session", help="session id or its first characters")
    _machine_option(p)
    p.add_argument("--order", choices=list(_ORDERS), default="score")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("projects", help="list projects with their sessions and messages")
    p.add_argument("--limit", type=int, default=100)
    _machine_option(p)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_projects)

    p = sub.add_parser("sessions", help="list sessions, most recent first")
    p.add_argument("--project", help="project id, path, name or part of its path")
    p.add_argument("--limit", type=int, default=30)
    _machine_option(p)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_sessions)

    p = sub.add_parser("show", help="print a session's transcript")
    p.add_argument("session", help="session id or its first characters")
    p.add_argument("--raw", action="store_true", help="print the source lines as stored")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_show)


def _machine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", help="only this machine's sessions (a PostgreSQL mirror, --db postgresql://...)")


def _machine(db: SessionReader, args: argparse.Namespace) -> dict[str, Any]:
    """``machine=`` for an archive of several machines; a local file is one machine."""
    if not getattr(args, "machine", None):
        return {}
    if not hasattr(db, "machines"):
        raise UserError("--machine needs a mirror of several machines", "pass --db postgresql://USER@HOST/DB")
    return {"machine": args.machine}


def _time_option(value: str | None, option: str, *, end: bool = False) -> int | None:
    if value is None:
        return None
    try:
        return parse_when(value, end_of_day=end)
    except BadDate as exc:
        raise UserError(f"{option}: {exc}", "use 2026-01-31, 2026-01-31T09:30, 7d, 12h, today or yesterday") from exc


def _check_limit(value: int) -> int:
    if value < 0:
        raise UserError("--limit must not be negative")
    return value


def cmd_search(args: argparse.Namespace, out: Output) -> int:
    query = " ".join(args.query)
    since, until = _time_option(args.since, "--since"), _time_option(args.until, "--until", end=True)
    with open_db(args, remote=True) as db:
        project_id = resolve_project(db, args.project) if args.project else None
        hits = db.search(query, limit=_check_limit(args.limit), offset=max(args.offset, 0), project_id=project_id,
                         source=args.source, role=args.role, since=since, until=until, session_prefix=args.session,
                         order=_ORDERS[args.order], highlight=(MARK_OPEN, MARK_CLOSE), **_machine(db, args))
    if out.as_json:
        out.json([{**_hit_fields(h), "snippet": h.snippet.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")}
                  for h in hits])
        return EXIT_OK if hits else EXIT_NOTHING
    if not hits:
        out.errors.print(f"no matches for {query!r}", style="dim")
        return EXIT_NOTHING
    for hit in hits:
        header = Text()
        header.append(hit.project_name or hit.project_path, style="bold")
        header.append(f"  {hit.session_id[:8]}  {when(hit.timestamp)}  ", style="dim")
        header.append(hit.type, style=_ROLE_STYLE.get(hit.type, ""))
        out.print(header)
        out.print(Text("  ") + highlighted(hit.snippet))
    return EXIT_OK


def _hit_fields(hit: SearchResult) -> dict[str, object]:
    return {"message_id": hit.message_id, "uuid": hit.uuid, "session_id": hit.session_id,
            "project_id": hit.project_id, "project_name": hit.project_name, "project_path": hit.project_path,
            "source": hit.source, "role": hit.type, "timestamp": hit.timestamp, "score": hit.score}


def cmd_projects(args: argparse.Namespace, out: Output) -> int:
    with open_db(args, remote=True) as db:
        projects = db.list_projects_with_stats(limit=_check_limit(args.limit), **_machine(db, args))
    if out.as_json:
        out.json(projects)
        return EXIT_OK if projects else EXIT_NOTHING
    if not projects:
        out.errors.print("no projects yet: run `sessiondb collect`", style="dim")
        return EXIT_NOTHING
    table = Table(box=None, header_style="bold")
    for column in ("id", "project", "source", "sessions", "messages", "last active", "path"):
        table.add_column(column, justify="right" if column in ("id", "sessions", "messages") else "left")
    for p in projects:
        table.add_row(str(p.id), p.name, p.source, str(p.session_count), str(p.message_count), when(p.last_active),
                      p.path)
    out.print(table)
    return EXIT_OK


def cmd_sessions(args: argparse.Namespace, out: Output) -> int:
    with open_db(args, remote=True) as db:
        project_id = resolve_project(db, args.project) if args.project else None
        sessions = db.get_sessions(project_id, limit=_check_limit(args.limit), **_machine(db, args))
        names = {p.id: p.name for p in db.list_projects()}
    if out.as_json:
        out.json([{**_session_fields(s), "project_name": names.get(s.project_id)} for s in sessions])
        return EXIT_OK if sessions else EXIT_NOTHING
    if not sessions:
        out.errors.print("no sessions", style="dim")
        return EXIT_NOTHING
    table = Table(box=None, header_style="bold")
    for column in ("session", "project", "messages", "last message", "model"):
        table.add_column(column, justify="right" if column == "messages" else "left")
    for s in sessions:
        table.add_row(s.session_id, names.get(s.project_id, "?"), str(s.message_count), when(s.last_message_at),
                      s.model or "")
    out.print(table)
    return EXIT_OK


def _session_fields(s: Session) -> dict[str, object]:
    return {f: getattr(s, f) for f in ("session_id", "project_id", "message_count", "last_message_at", "cwd",
                                       "model", "channel", "created_at", "updated_at")}


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    with open_db(args, remote=True) as db:
        session_id = resolve_session(db, args.session)
        session = db.get_session(session_id)
        if session is None:   # removed since it was resolved
            raise UserError(f"no session matches {args.session!r}", "list sessions with `sessiondb sessions`",
                            EXIT_NOTHING)
        project = db.get_project(session.project_id)
        messages = db.list_messages(session_id, limit=args.limit)
    if out.as_json:
        out.json({"session": _session_fields(session), "project": project, "messages": messages})
        return EXIT_OK
    if args.raw:
        for m in messages:
            out.console.print(m.raw if m.raw is not None else m.content_full, markup=False, highlight=False)
        return EXIT_OK
    title = Text(session_id, style="bold")
    if project:
        title.append(f"  {project.name}  {project.path}", style="dim")
    out.print(title)
    details = [f"{len(messages)} messages", session.model or "", session.cwd or ""]
    out.print(Text("  ".join(d for d in details if d), style="dim"))
    for m in messages:
        out.print()
        header = Text(when(m.timestamp) + "  ", style="dim")
        header.append(m.type.value, style=_ROLE_STYLE.get(m.type.value, ""))
        if m.tool_name:
            header.append(f"  {m.tool_name}", style="magenta")
        if m.model and m.type is MessageType.ASSISTANT:
            header.append(f"  {m.model}", style="dim")
        out.print(header)
        out.print(Text(m.content_full or m.content_text))
    return EXIT_OK
