"""``sessiondb sync --to postgresql://...``: the mirror's subcommand (found by name by the CLI).

The driver (psycopg) is imported when the command runs; without it the command says
so in one line. Output and exit codes follow the CLI's: 0 ok, 2 usage, 3 database or
server error (one line, never the password).
"""

from __future__ import annotations

import argparse
import sys
import time

EXIT_OK, EXIT_USAGE, EXIT_DATABASE = 0, 2, 3

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any, Protocol

    from .sync import SyncResult

    class Output(Protocol):
        """How the ``sessiondb`` command prints (its ``Output``; the mirror imports no other face)."""

        def error(self, message: str, hint: str | None = None) -> None: ...

        def json(self, value: Any) -> None: ...

        def print(self, *items: Any, **kwargs: Any) -> None: ...


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sync", help="mirror this machine's database into PostgreSQL (one way, incremental, resumable)",
        description="Copies what is new in the local database into a PostgreSQL database shared by several "
                    "machines; search it with `sessiondb search --db postgresql://...`. Credentials come from "
                    "the URL, PG* variables or ~/.pgpass; TLS options go in the URL (?sslmode=verify-full).")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://USER@HOST[:PORT]/DB[?sslmode=...]")
    p.add_argument("--machine", help="name of this machine in the mirror (default: $SESSIONDB_MACHINE or the host name)")
    p.add_argument("--db", metavar="PATH",
                   help="database file (default: $CLAUDE_SESSION_DB_URL or ~/.vimo/db/ai-cli-session.db)")
    p.add_argument("--batch", type=int, default=2000, metavar="N", help="messages per transaction (default 2000)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=cmd_sync)


def cmd_sync(args: argparse.Namespace, out: Output) -> int:
    from ..config import DbConfig
    from ..errors import ConfigError, SessionDBError
    from .connection import is_postgres_url, redact

    if not is_postgres_url(args.to):
        out.error(f"--to must be a PostgreSQL URL, not {redact(args.to)!r}", "postgresql://USER@HOST/DB")
        return EXIT_USAGE
    try:
        config = DbConfig.local(args.db, read_only=True) if args.db else DbConfig.from_env(read_only=True)
    except ConfigError as exc:
        out.error(str(exc), "pass a file path with --db PATH")
        return EXIT_USAGE
    if not config.path.is_file():
        out.error(f"no database at {config.path}", "run `sessiondb collect` first, or pass --db PATH")
        return EXIT_DATABASE
    from .sync import sync

    interactive = not args.json and sys.stderr.isatty()
    started = time.perf_counter()

    def progress(result: SyncResult) -> None:
        if interactive:
            rate = result.messages_sent / max(time.perf_counter() - started, 1e-6)
            sys.stderr.write(f"\r{result.messages_sent:,} messages sent ({rate:,.0f}/s)")
            sys.stderr.flush()

    try:
        result = sync(config.path, args.to, machine=args.machine, batch_size=max(args.batch, 1), progress=progress)
    except ConfigError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except SessionDBError as exc:
        if interactive:
            sys.stderr.write("\n")
        out.error(str(exc))
        return EXIT_DATABASE
    if interactive:
        sys.stderr.write("\n")
    if args.json:
        out.json({**{k: getattr(result, k) for k in (
            "machine", "projects_upserted", "sessions_upserted", "messages_sent", "messages_rechecked",
            "approvals_updated", "batches", "high_water", "restarted", "migrations_applied")},
            "seconds": round(result.seconds, 3), "to": redact(args.to)})
        return EXIT_OK
    rate = result.messages_sent / result.seconds if result.seconds else 0.0
    line = (f"synced {config.path.name} as {result.machine!r} to {redact(args.to)}: {result.messages_sent} new "
            f"messages, {result.messages_rechecked} updated, {result.sessions_upserted} sessions, "
            f"{result.projects_upserted} projects in {result.seconds:.1f} s")
    if result.messages_sent >= 1000:
        line += f" ({rate:,.0f} messages/s)"
    if result.restarted:
        line += "; the database file was replaced since the last sync, so it was sent again from the start"
    out.print(line, markup=False)
    return EXIT_OK

