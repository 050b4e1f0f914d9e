"""The ASGI application: routes, the Host check and the security headers.

Every endpoint is a GET that reads; the only files served are the ones in
``viewer/static`` (kept in memory, looked up by exact name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import SessionDB
from . import routes
from .templating import STATIC_FILES, static_file

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def host_name(value: str) -> str:
    """The name part of a Host header (``[::1]:8000`` -> ``::1``), lowercased."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class GuardMiddleware:
    """Refuses foreign Host headers (DNS rebinding) and adds the security headers."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.allowed:
            response = PlainTextResponse("This viewer answers only to its own address (Host header refused).\n",
                                         status_code=421)
            await self._secured(response)(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_secured)

    @staticmethod
    def _secured(response: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response


def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        return PlainTextResponse("Not found\n", status_code=404)
    return Response(static_file(name), media_type=STATIC_FILES[name],
                    headers={"cache-control": "no-cache"})


def create_app(db: SessionDB, *, allowed_hosts: Iterable[str] = LOOPBACK_NAMES,
               stopping: Callable[[], bool] = lambda: False, live_interval: float = 1.0) -> GuardMiddleware:
    """The viewer over an open (read-only) handle.

    ``stopping`` tells long-lived event streams that the server is shutting down;
    ``live_interval`` is how often they look for new messages, in seconds.
    """
    context = routes.Context(db, stopping, live_interval)
    app = Starlette(routes=[
        Route("/", context.bind(routes.search_page)),
        Route("/search", context.bind(routes.search_page)),
        Route("/sessions", context.bind(routes.sessions_page)),
        Route("/projects", context.bind(routes.projects_page)),
        Route("/status", context.bind(routes.status_page)),
        Route("/session/{sid}", context.bind(routes.session_page)),
        Route("/session/{sid}/messages", context.bind(routes.session_fragment)),
        Route("/session/{sid}/export.html", context.bind(routes.export_html)),
        Route("/session/{sid}/export.md", context.bind(routes.export_markdown)),
        Route("/events/session/{sid}", context.bind_async(routes.session_events)),
        Route("/static/{name}", _static),
    ], exception_handlers={404: routes.not_found, 405: routes.not_allowed})
    return GuardMiddleware(app, allowed_hosts)
