"""Page handlers. Each one reads through the public API and renders a template."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import overload
from urllib.parse import urlencode, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from .. import MessageType, SearchOrder, SessionDB, SessionDBError, SessionOverview
from . import export, rendering
from .templating import render
from .transcript import PAGE_SIZE, PAIR_WINDOW
from .views import SOURCES, clamp_limit, file_sizes, human_size, source_counts, transcript_page

ORDERS = {"relevance": SearchOrder.SCORE, "newest": SearchOrder.NEWEST, "oldest": SearchOrder.OLDEST}
LIST_PAGE = 50
SEARCH_PAGE = 20


@dataclass
class Context:
    db: SessionDB
    stopping: Callable[[], bool]
    live_interval: float

    def bind(self, handler: Callable[[Context, Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                return handler(self, request)
            except SessionDBError as exc:
                return _page_error(503, "Database error", str(exc))
        endpoint.__name__ = handler.__name__
        return endpoint

    def bind_async(self, handler: Callable[[Context, Request], Awaitable[Response]]
                   ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(self, request)
        endpoint.__name__ = handler.__name__
        return endpoint


@overload
def _int(request: Request, name: str, default: int, minimum: int = 0) -> int: ...


@overload
def _int(request: Request, name: str, default: None = None, minimum: int = 0) -> int | None: ...


def _int(request: Request, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return default
    try:
        return max(int(value), minimum)
    except ValueError:
        return default


def _date_ms(value: str, *, end: bool = False) -> int | None:
    """``YYYY-MM-DD`` as local time in ms (its start, or the last ms of the day)."""
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return int(day.timestamp() * 1000) - (1 if end else 0)


def _html(name: str, status: int = 200, **context: object) -> HTMLResponse:
    context.setdefault("nav", "")
    return HTMLResponse(render(name, **context), status_code=status, headers={"cache-control": "no-store"})


def _page_error(status: int, title: str, message: str) -> HTMLResponse:
    return _html("error.html", status, title=title, message=message)


async def not_found(request: Request, exc: Exception) -> Response:
    return _page_error(404, "Not found", "There is nothing at this address.")


async def not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("This viewer only reads: GET and HEAD are the only methods.\n", status_code=405,
                             headers={"allow": "GET, HEAD"})


def message_link(session_id: str) -> Callable[[int], str]:
    base = f"/session/{quote(session_id, safe='')}"
    return lambda mid: f"{base}?at={mid}#m-{mid}"


# ---------------------------------------------------------------------------- search
def search_page(ctx: Context, request: Request) -> Response:
    params = request.query_params
    q = params.get("q", "").strip()
    project = _int(request, "project")
    source = params.get("source", "") if params.get("source", "") in SOURCES else ""
    role = params.get("role", "") if params.get("role", "") in {t.value for t in MessageType} else ""
    since, until = params.get("since", "").strip(), params.get("until", "").strip()
    order = params.get("order", "relevance") if params.get("order") in ORDERS else "relevance"
    offset = _int(request, "offset", 0)
    db = ctx.db
    hits, titles, error, elapsed = [], {}, "", 0.0
    since_ms = _date_ms(since) if since else None
    until_ms = _date_ms(until, end=True) if until else None
    if (since and since_ms is None) or (until and until_ms is None):
        error = "Dates are YYYY-MM-DD."
    elif q:
        started = time.perf_counter()
        hits = db.search(q, limit=SEARCH_PAGE, offset=offset, project_id=project, source=source or None,
                         role=role or None, since=since_ms, until=until_ms, order=ORDERS[order],
                         highlight=(rendering.MARK_OPEN, rendering.MARK_CLOSE))
        elapsed = (time.perf_counter() - started) * 1000
        if hits:
            titles = db.get_session_titles(list(dict.fromkeys(h.session_id for h in hits)))
    filters = {"project": project, "source": source, "role": role, "since": since, "until": until,
               "order": order}

    def page_url(new_offset: int) -> str:
        query = {k: v for k, v in {"q": q, **filters}.items() if v not in (None, "")}
        if new_offset:
            query["offset"] = new_offset
        return "/search?" + urlencode(query)

    recent = [] if q else db.list_session_overviews(limit=10)
    return _html("search.html", nav="search", q=q, quick_q="", f=filters, hits=hits, titles=titles,
                 error=error, elapsed_ms=elapsed, offset=offset, limit=SEARCH_PAGE, page_url=page_url,
                 projects=sorted(db.list_projects(), key=lambda p: p.name.lower()), sources=SOURCES,
                 roles=[t.value for t in MessageType], orders=list(ORDERS), recent=recent)


# ---------------------------------------------------------------------------- lists
def sessions_page(ctx: Context, request: Request) -> Response:
    project_id = _int(request, "project")
    source = request.query_params.get("source", "")
    source = source if source in SOURCES else ""
    offset = _int(request, "offset", 0)
    project = ctx.db.get_project(project_id) if project_id is not None else None
    sessions = ctx.db.list_session_overviews(project_id=project.id if project else None, source=source or None,
                                             limit=LIST_PAGE, offset=offset)

    def page_url(new_offset: int) -> str:
        query = {k: v for k, v in {"project": project.id if project else None, "source": source}.items() if v}
        if new_offset:
            query["offset"] = new_offset
        return "/sessions" + ("?" + urlencode(query) if query else "")

    return _html("sessions.html", nav="sessions", sessions=sessions, project=project, source=source,
                 sources=SOURCES, offset=offset, limit=LIST_PAGE, page_url=page_url)


def projects_page(ctx: Context, request: Request) -> Response:
    offset = _int(request, "offset", 0)
    projects = ctx.db.list_projects_with_stats(limit=LIST_PAGE, offset=offset)
    return _html("projects.html", nav="projects", projects=projects, offset=offset, limit=LIST_PAGE,
                 page_url=lambda o: "/projects" + (f"?offset={o}" if o else ""))


def status_page(ctx: Context, request: Request) -> Response:
    db = ctx.db
    writer = db.current_writer()
    try:
        health = db.check_writer_health().name.lower() if writer else "none"
    except SessionDBError as exc:
        health = f"unknown ({exc})"
    newest = db.list_session_overviews(limit=1)
    return _html("status.html", nav="status", stats=db.get_stats(), path=db.path, sizes=file_sizes(db.path),
                 human_size=human_size, writer=writer, health=health, sources=source_counts(db),
                 newest=newest[0].last_message_at if newest else None)


# ---------------------------------------------------------------------------- transcript
def _overview(ctx: Context, request: Request) -> SessionOverview | None:
    sid = request.path_params["sid"]
    overview = ctx.db.get_session_overview(sid)
    if overview is None:
        resolved = ctx.db.resolve_session_id(sid) if sid else None
        overview = ctx.db.get_session_overview(resolved) if resolved else None
    return overview


def session_page(ctx: Context, request: Request) -> Response:
    overview = _overview(ctx, request)
    if overview is None:
        return _page_error(404, "No such session", "No stored session has this id.")
    db = ctx.db
    limit = clamp_limit(_int(request, "limit"))
    offset = _int(request, "offset", 0)
    at = _int(request, "at")
    if at is not None:
        position = db.get_message_position(at)
        if position is not None and position[0] == overview.session_id:
            # Start early enough that a tool result's call (at most PAIR_WINDOW before it,
            # where the result is shown) is on the page, with some context above.
            offset = max(0, position[1] - min(PAIR_WINDOW, limit - 1))
    page = transcript_page(db, overview, offset, limit)
    parent = db.get_session_overview(overview.parent_session_id) if overview.parent_session_id else None
    return _html("session.html", o=overview, page=page, parent=parent, children=page.children, live=True,
                 link=message_link(overview.session_id),
                 child_link=lambda sid: f"/session/{quote(sid, safe='')}")


def session_fragment(ctx: Context, request: Request) -> Response:
    overview = _overview(ctx, request)
    if overview is None:
        return PlainTextResponse("No such session\n", status_code=404)
    limit = clamp_limit(_int(request, "limit"), PAGE_SIZE)
    page = transcript_page(ctx.db, overview, _int(request, "offset", 0), limit,
                           tail=request.query_params.get("tail") == "1")
    return HTMLResponse(render("fragment.html", page=page, link=message_link(overview.session_id),
                               child_link=lambda sid: f"/session/{quote(sid, safe='')}"),
                        headers={"cache-control": "no-store"})


def export_html(ctx: Context, request: Request) -> Response:
    overview = _overview(ctx, request)
    if overview is None:
        return _page_error(404, "No such session", "No stored session has this id.")
    body = export.transcript_html(ctx.db, overview)
    return Response(body, media_type="text/html; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{export.file_stem(overview)}.html"'})


def export_markdown(ctx: Context, request: Request) -> Response:
    overview = _overview(ctx, request)
    if overview is None:
        return PlainTextResponse("No such session\n", status_code=404)
    body = export.transcript_markdown(ctx.db, overview)
    return Response(body, media_type="text/markdown; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{export.file_stem(overview)}.md"'})


# ---------------------------------------------------------------------------- live updates
async def session_events(ctx: Context, request: Request) -> Response:
    """Server-sent events: ``count`` with the session's message count whenever it changes."""
    sid = request.path_params["sid"]
    db = ctx.db
    if await run_in_threadpool(db.get_session_overview, sid) is None:
        return PlainTextResponse("No such session\n", status_code=404)

    async def stream() -> AsyncIterator[str]:
        last = None
        quiet = 0.0
        yield "retry: 2000\n\n"
        while not ctx.stopping():
            count = await run_in_threadpool(db.get_session_message_count, sid)
            if count != last:
                last = count
                quiet = 0.0
                yield f"event: count\ndata: {json.dumps({'total': count})}\n\n"
            elif quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            # Short sleeps, so that a shutting-down server is not held up by open streams.
            waited = 0.0
            while waited < ctx.live_interval and not ctx.stopping():
                await asyncio.sleep(0.1)
                waited += 0.1
            quiet += waited

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
