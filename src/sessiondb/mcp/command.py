"""``sessiondb mcp``: run the MCP server (stdio by default, ``--http`` for streamable HTTP).

The MCP SDK is imported only when the command runs, so the rest of the ``sessiondb``
command works without it; without it this command says so in one line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_PORT = 8766   # the viewer (`sessiondb serve`) has 8765
EXIT_OK, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 2, 3


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "mcp", help="serve the archive to agents over the Model Context Protocol (read-only)",
        description="An MCP server with the tools search, get_session, list_sessions, list_projects and "
                    "get_stats. Clients start it themselves over stdio (for example `claude mcp add sessiondb -- "
                    "sessiondb mcp`); --http serves streamable HTTP on 127.0.0.1 instead.")
    p.add_argument("--db", metavar="PATH",
                   help="database file (default: $CLAUDE_SESSION_DB_URL or ~/.vimo/db/ai-cli-session.db)")
    p.add_argument("--http", action="store_true", help="serve streamable HTTP at http://127.0.0.1:PORT/mcp")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port for --http (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--max-chars", type=int, default=None, metavar="N",
                   help="size budget of one answer in characters (default 12000, at least 1000)")
    p.set_defaults(handler=cmd_mcp)


def _fail(out: Any, message: str, hint: str | None, code: int) -> int:
    if out is not None and hasattr(out, "error"):
        out.error(message, hint)
    else:
        print(f"error: {message}" + (f" ({hint})" if hint else ""), file=sys.stderr)
    return code


def cmd_mcp(args: argparse.Namespace, out: Any = None) -> int:
    if not 0 <= args.port <= 65535:
        return _fail(out, f"--port must be 0-65535, not {args.port}", None, EXIT_USAGE)
    if args.max_chars is not None and args.max_chars < 1000:
        return _fail(out, f"--max-chars must be at least 1000, not {args.max_chars}", None, EXIT_USAGE)
    try:
        import anyio

        from .server import build_server, serve_http, serve_stdio
        from .tools import DEFAULT_BUDGET
    except ModuleNotFoundError as exc:
        missing = (exc.name or "mcp").split(".")[0]
        return _fail(out, f"`sessiondb mcp` needs the `{missing}` package, which is not installed",
                     "pip install mcp  (or reinstall ai-cli-session-db)", EXIT_UNAVAILABLE)
    server = build_server(args.db, budget=args.max_chars or DEFAULT_BUDGET)
    if not args.http:
        anyio.run(serve_stdio, server)
        return EXIT_OK

    def ready(url: str) -> None:
        print(f"sessiondb MCP server at {url} (read-only; Ctrl-C stops it)", file=sys.stderr, flush=True)

    try:
        anyio.run(serve_http, server, args.port, ready)
    except OSError as exc:
        return _fail(out, f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}",
                     "choose another --port", EXIT_UNAVAILABLE)
    return EXIT_OK
