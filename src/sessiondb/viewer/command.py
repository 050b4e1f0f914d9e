"""``sessiondb serve`` and ``sessiondb export``: registered into the ``sessiondb`` command.

The web stack is imported only when one of these commands runs; if it is missing the
command says so in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE, EXIT_DATABASE = 0, 2, 3
DEFAULT_PORT = 8765
_NEEDS = "starlette, uvicorn, jinja2, markdown-it-py and pygments"

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Subcommands(Protocol):
        """The ``sessiondb`` command's subparsers (what ``add_subparsers`` returned)."""

        def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def register(sub: Subcommands) -> None:
    """Add `serve` and `export` to the `sessiondb` command's subparsers."""
    p = sub.add_parser("serve", help="a local web viewer: search and read sessions in the browser (read-only)",
                       description="Serves a read-only web viewer of the database on the loopback address. "
                                   "It never writes and never takes the writer role, so it runs beside any writer.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; anything else exposes your sessions)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another Host name to answer to (e.g. a name this machine has on the network)")
    p.add_argument("--open", action="store_true", help="open the viewer in the default browser")
    _db_option(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("export", help="write one transcript as a self-contained HTML file or as Markdown")
    p.add_argument("session", help="session id or its first characters")
    p.add_argument("--html", metavar="FILE", help="write HTML here ('-' for standard output)")
    p.add_argument("--markdown", metavar="FILE", help="write Markdown here ('-' for standard output)")
    _db_option(p)
    p.set_defaults(handler=cmd_export)


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH",
                   help="database file (default $CLAUDE_SESSION_DB_URL, else ~/.vimo/db/ai-cli-session.db)")


def _fail(message: str, hint: str | None = None, code: int = EXIT_USAGE) -> int:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return code


def _missing_dependency(exc: ImportError) -> int:
    name = exc.name or str(exc)
    return _fail(f"the viewer needs {_NEEDS} ({name} is missing): pip install 'ai-cli-session-db'",
                 code=EXIT_DATABASE)


def _db_path(args: argparse.Namespace) -> str | None:
    from .. import DbConfig

    config = DbConfig.local(args.db) if args.db else DbConfig.from_env()
    return str(config.path) if config.path.is_file() else None


def cmd_serve(args: argparse.Namespace, out: object = None) -> int:
    try:
        from . import server
    except ImportError as exc:
        return _missing_dependency(exc)
    path = _db_path(args)
    if path is None:
        return _fail("no database at that path", "collect first (`sessiondb collect`) or pass --db PATH",
                     EXIT_DATABASE)
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is not a port number")
    try:
        sock = server.bind(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                     "pick another --port (0 picks a free one)")
    url = server.url_of(sock)
    if not server.is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who can reach this machine on port "
              f"{sock.getsockname()[1]} can read every stored session", file=sys.stderr)

    def ready() -> None:
        print(f"sessiondb viewer on {url}  (read-only: {path}; Ctrl-C stops)", flush=True)
        if args.open:
            import webbrowser
            webbrowser.open(url.replace("0.0.0.0", "127.0.0.1"))

    try:
        server.serve(path, sock, extra_hosts=args.allow_host, on_ready=ready)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("stopped", flush=True)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: object = None) -> int:
    if not args.html and not args.markdown:
        return _fail("say what to write: --html FILE and/or --markdown FILE")
    try:
        from . import export
    except ImportError as exc:
        return _missing_dependency(exc)
    from .. import DbConfig, SessionDB

    path = _db_path(args)
    if path is None:
        return _fail("no database at that path", "collect first (`sessiondb collect`) or pass --db PATH",
                     EXIT_DATABASE)
    with SessionDB.connect(DbConfig.local(path, read_only=True)) as db:
        matches = db.search_sessions_by_prefix(args.session, 2) if args.session else []
        exact = db.get_session_overview(args.session) if args.session else None
        if exact is None:
            if not matches:
                return _fail(f"no session starts with {args.session!r}", "see `sessiondb sessions`", 1)
            if len(matches) > 1:
                return _fail(f"{args.session!r} matches more than one session", "give more characters of the id")
            exact = db.get_session_overview(matches[0].session_id)
            if exact is None:   # removed since it was found
                return _fail(f"no session starts with {args.session!r}", "see `sessiondb sessions`", 1)
        outputs = []
        if args.html:
            outputs.append((args.html, export.transcript_html(db, exact)))
        if args.markdown:
            outputs.append((args.markdown, export.transcript_markdown(db, exact)))
    for target, text in outputs:
        if target == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            continue
        try:
            Path(target).expanduser().write_text(text, encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {target}: {exc.strerror or exc}")
        print(f"wrote {os.fspath(target)}", file=sys.stderr)
    return EXIT_OK
