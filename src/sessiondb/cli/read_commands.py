"""Commands that only read: search, projects, sessions (show is in transcript.py)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from ..models import MessageType, SearchOrder, SearchResult, Session, SessionOverview
from . import transcript
from .common import (EXIT_NOTHING, EXIT_OK, SOURCES, UserError, add_db_option, add_json_option, db_argument,
                     open_db, resolve_project, unique_prefix)
from .output import MARK_CLOSE, MARK_OPEN, Output, highlighted, safe_text, terminal_safe, when
from .timeargs import BadDate, parse_when

_ORDERS = {"score": SearchOrder.SCORE, "newest": SearchOrder.NEWEST, "oldest": SearchOrder.OLDEST}
_ROLE_STYLE = {"user": "bold cyan", "assistant": "bold green", "tool": "bold magenta", "system": "bold blue"}
_PROJECT_HELP = "project id, path, name or part of its path (see `sessiondb projects`)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("search", help="search message text",
                       description='Words are ANDed; "a phrase", prefix*, a OR b, -exclude; CJK text and code '
                                   "identifiers (snake_case, db.py, a/b/c.rs) are found too. Each hit prints the "
                                   "command that opens it in its session.")
    p.add_argument("query", nargs="+", help="what to look for")
    p.add_argument("--project", help=_PROJECT_HELP)
    p.add_argument("--source", choices=SOURCES, help="only sessions of this tool")
    p.add_argument("--role", choices=[t.value for t in MessageType], help="only messages of this role")
    p.add_argument("--since", help="from this time: 2026-01-31, 2026-01-31T09:30, 7d, 12h, today, yesterday")
    p.add_argument("--until", help="up to this time (inclusive), same forms as --since")
    p.add_argument("--session", help="session id or its first characters")
    _machine_option(p)
    p.add_argument("--order", choices=list(_ORDERS), default="score",
                   help="score (best match first), newest or oldest")
    p.add_argument("--limit", type=int, default=20, help="at most this many hits")
    p.add_argument("--offset", type=int, default=0, help="skip this many hits first (paging)")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("projects", help="list projects with their sessions and messages")
    p.add_argument("--limit", type=int, default=100, help="at most this many projects")
    _machine_option(p)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_projects)

    p = sub.add_parser("sessions", help="list sessions, most recent last message first",
                       description="Sessions with their title (custom title, summary, or the first prompt), "
                                   "tool, project, message count and first and last message time, most recent "
                                   "last message first.")
    p.add_argument("--project", help=_PROJECT_HELP)
    p.add_argument("--source", choices=SOURCES, help="only sessions of this tool")
    p.add_argument("--limit", type=int, default=30, help="at most this many sessions")
    p.add_argument("--offset", type=int, default=0, help="skip this many sessions first (paging)")
    _machine_option(p)
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_sessions)

    transcript.register(sub)


def _machine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--machine", help="only this machine's sessions (a PostgreSQL mirror, --db postgresql://...)")


def _machine(db: Any, args: argparse.Namespace) -> dict[str, Any]:
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


def _check_count(value: int, option: str = "--limit") -> int:
    if value < 0:
        raise UserError(f"{option} must not be negative", f"give {option} 0 or more")
    return value


def _why_nothing(query: str) -> str | None:
    """Why a query can match nothing at all, or None when it could match."""
    from ..search.query import parse_query

    if not query.strip():
        return "the query is empty"
    if parse_query(query).is_empty:
        return (f"{query!r} has no word to look for (only operators or punctuation: OR, -, \", *); "
                "search for a word, \"a phrase\" or prefix*")
    return None


def cmd_search(args: argparse.Namespace, out: Output) -> int:
    query = " ".join(args.query)
    since, until = _time_option(args.since, "--since"), _time_option(args.until, "--until", end=True)
    limit, offset = _check_count(args.limit), _check_count(args.offset, "--offset")
    with open_db(args, remote=True) as db:
        project_id = resolve_project(db, args.project) if args.project else None
        if args.session and not db.search_sessions_by_prefix(args.session, 1):
            raise UserError(f"no session matches {args.session!r}", "list sessions with `sessiondb sessions`",
                            EXIT_NOTHING)
        hits = db.search(query, limit=limit, offset=offset, project_id=project_id,
                         source=args.source, role=args.role, since=since, until=until, session_prefix=args.session,
                         order=_ORDERS[args.order], highlight=(MARK_OPEN, MARK_CLOSE), **_machine(db, args))
        # A mirror (PostgreSQL) has no overviews: its hits print without the session title.
        overviews = ({sid: db.get_session_overview(sid) for sid in {h.session_id for h in hits}}
                     if hasattr(db, "get_session_overview") else {})
        prefixes = {sid: unique_prefix(db, sid) for sid in {h.session_id for h in hits}}
    if out.as_json:
        out.json([{**_hit_fields(h, overviews.get(h.session_id)),
                   "snippet": h.snippet.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""),
                   "open": _open_command(prefixes[h.session_id], h.message_id, args)} for h in hits])
        return EXIT_OK if hits else EXIT_NOTHING
    if not hits:
        reason = _why_nothing(query)
        if limit == 0:
            out.note("no matches: --limit 0 asks for none")
        elif reason:
            out.note(f"no matches: {reason}")
        else:
            out.note(f"no matches for {terminal_safe(repr(query))}")
        return EXIT_NOTHING
    for hit in hits:
        overview = overviews.get(hit.session_id)
        header = Text()
        header.append(terminal_safe(hit.project_name or hit.project_path), style="bold")
        header.append(f"  {terminal_safe(hit.source or (overview.source if overview else ''))}", style="dim")
        header.append(f"  {when(hit.timestamp, seconds=True)}  ", style="dim")
        header.append(hit.type, style=_ROLE_STYLE.get(hit.type, ""))
        if overview is not None and overview.title:
            header.append("  " + terminal_safe(overview.title), style="italic")
        out.print(header)
        out.print(Text("  ") + highlighted(hit.snippet))
        out.print(safe_text("  " + _open_command(prefixes[hit.session_id], hit.message_id, args), "dim"))
    return EXIT_OK


def _open_command(prefix: str, message_id: int, args: argparse.Namespace) -> str:
    return f"sessiondb show {prefix} --around {message_id}{db_argument(args)}"


def _hit_fields(hit: SearchResult, overview: SessionOverview | None) -> dict[str, Any]:
    return {"message_id": hit.message_id, "uuid": hit.uuid, "session_id": hit.session_id,
            "project_id": hit.project_id, "project_name": hit.project_name, "project_path": hit.project_path,
            "source": hit.source, "role": hit.type, "timestamp": hit.timestamp, "score": hit.score,
            "session_title": overview.title if overview else None}


def cmd_projects(args: argparse.Namespace, out: Output) -> int:
    with open_db(args, remote=True) as db:
        projects = db.list_projects_with_stats(limit=_check_count(args.limit), **_machine(db, args))
    if out.as_json:
        out.json(projects)
        return EXIT_OK if projects else EXIT_NOTHING
    if not projects:
        out.note("no projects yet: run `sessiondb collect`")
        return EXIT_NOTHING
    out.print(out.table(("id", "project", "source", "sessions", "messages", "last active", "path"),
                        ((p.id, p.name, p.source, f"{p.session_count:,}", f"{p.message_count:,}",
                          when(p.last_active), p.path) for p in projects),
                        right=("id", "sessions", "messages"), styles={"project": "bold", "path": "dim"},
                        cut=("path",)))
    return EXIT_OK


def _span(first: int | None, last: int | None) -> str:
    """``2025-09-14 10:31 – 11:02``, or both dates when they differ."""
    start, end = when(first), when(last)
    if start[:10] == end[:10]:
        return start if start == end else f"{start} – {end[11:]}"
    return f"{start} – {end}"


def cmd_sessions(args: argparse.Namespace, out: Output) -> int:
    limit, offset = _check_count(args.limit), _check_count(args.offset, "--offset")
    with open_db(args, remote=True) as db:
        project_id = resolve_project(db, args.project) if args.project else None
        sessions = db.list_session_overviews(project_id=project_id, source=args.source, limit=limit, offset=offset,
                                             **_machine(db, args))
        details = {s.session_id: db.get_session(s.session_id) for s in sessions} if out.as_json else {}
    if out.as_json:
        out.json([_session_json(s, details.get(s.session_id)) for s in sessions])
        return EXIT_OK if sessions else EXIT_NOTHING
    if not sessions:
        out.note("no sessions" + (" in this project" if project_id is not None else "") +
                 ("" if project_id is not None or args.source else ": run `sessiondb collect`"))
        return EXIT_NOTHING
    short = out.interactive
    rows = []
    for s in sessions:
        name = s.session_id[:8] if short and len(s.session_id) > 12 else s.session_id
        title = s.title or "(no prompt)"
        if s.session_type == "subagent":
            title = "↳ subagent: " + title
        rows.append((name, _span(s.first_message_at, s.last_message_at), f"{s.message_count:,}", s.source,
                     s.project_name, title))
    out.print(out.table(("session", "first – last message", "messages", "source", "project", "title"), rows,
                        right=("messages",), styles={"session": "bold", "first – last message": "dim"},
                        cut=("title", "project")))
    return EXIT_OK


def _session_json(s: SessionOverview, session: Session | None) -> dict[str, Any]:
    """An overview plus the stored row's times. ``created_at``/``updated_at`` are when this
    database first stored and last changed the session row (not times of the conversation:
    those are ``first_message_at`` and ``last_message_at``)."""
    fields = {f: getattr(s, f) for f in ("session_id", "title", "summary", "source", "project_id", "project_name",
                                        "project_path", "message_count", "first_message_at", "last_message_at",
                                        "parent_session_id", "session_type", "model", "cwd")}
    if session is not None:
        fields.update(channel=session.channel, created_at=session.created_at, updated_at=session.updated_at)
    return fields
