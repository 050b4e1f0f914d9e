"""collect and watch: the commands that write, always as the registered writer."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text

from ..collector import CollectResult, Collector
from ..coordination.types import WriterType
from ..db import SessionDB
from ..errors import DatabaseError, InvalidArgument, SessionDBError
from .common import EXIT_DATABASE, EXIT_OK, EXIT_USAGE, SOURCES, UserError, add_db_option, add_json_option, open_db
from .output import Output, plural
from .progress import CollectProgress

EXIT_INTERRUPTED = 130
WRITER_TYPES = [t.value.replace("_", "-") for t in WriterType]
# `sessiondb collect` as a writer: lowest priority, so it never preempts a daemon or a Kit.
CLI_WRITER, CLI_PRIORITY = "sessiondb_cli", 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .progress import sources_help

    p = sub.add_parser("collect", help="collect new session messages into the database (incremental)",
                       description="Reads what is new in the session files of Claude Code, Codex, OpenCode and "
                                   "Gemini CLI and stores it (a file that did not change is not read again). "
                                   "Shows a progress bar on a terminal and one summary line in a pipe; Ctrl-C "
                                   "keeps what was written, and the next collect goes on from there. Runs as the "
                                   "lowest-priority writer and refuses while another writer is active.",
                       epilog=sources_help())
    p.add_argument("--source", choices=SOURCES, action="append", help="only this source (repeatable; default: all)")
    p.add_argument("--path", action="append", metavar="FILE", help="only this session file (repeatable)")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_collect)

    p = sub.add_parser("watch", help="keep collecting as sessions change; take over when the writer dies",
                       description="Registers as a writer, ingests file changes live, takes over when the current "
                                   "writer dies, and releases the writer role on Ctrl-C or SIGTERM.")
    p.add_argument("--as", dest="writer", default="memex-daemon", metavar="TYPE",
                   help=f"writer type: {', '.join(WRITER_TYPES)} (default memex-daemon), or your own name "
                        "together with --priority")
    p.add_argument("--priority", type=int, help="priority of a writer with your own name (higher preempts)")
    p.add_argument("--source", choices=SOURCES, action="append", help="only this source (repeatable)")
    p.add_argument("--sync-to", metavar="URL", help="keep a PostgreSQL mirror current: sync after each round")
    p.add_argument("--machine", help="this machine's name in the mirror (with --sync-to)")
    p.add_argument("--reconcile", type=float, default=60.0, metavar="SECONDS",
                   help="rescan everything this often, for events the file watcher missed (default 60)")
    add_db_option(p)
    p.set_defaults(handler=cmd_watch)


def _writer_type(text: str, priority: int | None) -> tuple[str, int | None]:
    known = WriterType.from_name(text.replace("-", "_"))
    if known is not None:
        return known.value, priority
    if priority is None:
        raise UserError(f"unknown writer type {text!r}",
                        f"use one of {', '.join(WRITER_TYPES)}, or give your own name with --priority N")
    return text, priority


def _summary(result: CollectResult, seconds: float) -> str:
    mb = result.bytes_read / 2**20
    line = (f"collected {plural(result.messages_inserted, 'new message')} from {plural(result.files_read, 'file')} "
            f"({plural(result.sessions_scanned, 'session')}, {plural(result.projects_scanned, 'project')}; "
            f"{plural(result.files_unchanged, 'file')} unchanged) in {seconds:.1f} s")
    if mb >= 1:
        line += f", {mb / max(seconds, 1e-6):.1f} MB/s"
    if result.error_count:
        line += f"; {plural(result.error_count, 'file')} with problems (first: {result.first_error})"
    return line


def cmd_collect(args: argparse.Namespace, out: Output) -> int:
    from ..coordination.types import Role
    from ..coordination.loop import Coordinator

    with open_db(args, write=True, create=True) as db:
        coordinator = Coordinator(db, CLI_WRITER, priority=CLI_PRIORITY)
        if coordinator.step() is not Role.WRITER:
            writer = db.current_writer()
            who = f"{writer.writer_type} (priority {writer.priority})" if writer else "another program"
            raise UserError(f"{who} is the writer of {db.path}; it collects new sessions itself",
                            "see it with `sessiondb status`, or stop it and run `sessiondb collect` again",
                            EXIT_DATABASE)
        coordinator.start()   # heartbeats while a long collection runs
        try:
            result, seconds = _run_collect(db, args, out)
        except DatabaseError as exc:
            # The release may fail for the same reason (a full disk): the cause is what
            # the user needs to read, not that follow-up.
            with contextlib.suppress(SessionDBError):
                coordinator.stop(release=True)
            raise UserError(f"cannot collect into {db.path}: {exc}", _database_hint(str(exc)),
                            EXIT_DATABASE) from exc
        except BaseException:
            with contextlib.suppress(SessionDBError):
                coordinator.stop(release=True)
            raise
        coordinator.stop(release=True)
    if out.as_json:
        out.json({**_result_fields(result), "seconds": round(seconds, 3)})
    else:
        out.print(_summary(result, seconds))
    return EXIT_OK


def _database_hint(message: str) -> str:
    if "full" in message:
        return "free some disk space and run it again; nothing was half-written"
    if "locked" in message:
        return "another program held the database too long; run it again"
    return "check the file with `sessiondb doctor`"


def _run_collect(db: SessionDB, args: argparse.Namespace, out: Output) -> tuple[CollectResult, float]:
    started = time.monotonic()
    progress = CollectProgress(out)
    collector = Collector(db, on_progress=progress.update)
    try:
        if args.path:
            missing = [p for p in args.path if not os.path.isfile(os.path.expanduser(p))]
            if missing:
                raise UserError(f"no such session file: {missing[0]}", "give the path of a session file",
                                EXIT_USAGE)
            result = collector.collect_paths(args.path)
            if result.files_seen == 0:
                raise UserError(f"{args.path[0] if len(args.path) == 1 else 'none of these files'} is not a "
                                "session file of any known source (claude, codex, opencode, gemini)",
                                "a session file lies in its tool's folder, e.g. ~/.claude/projects/<project>/<id>.jsonl",
                                EXIT_USAGE)
        else:
            progress.start(collector, args.source)
            result = collector.collect_all(args.source)
    except InvalidArgument as exc:
        raise UserError(str(exc)) from exc
    except KeyboardInterrupt:
        progress.stop()
        kept = collector.result
        raise UserError(f"interrupted: kept {plural(kept.messages_inserted, 'new message')} "
                        f"({plural(kept.files_seen, 'file')} looked at, {kept.bytes_read / 2**20:.1f} MB read) "
                        "written before Ctrl-C",
                        "run `sessiondb collect` again to go on: it reads only what is not stored yet",
                        EXIT_INTERRUPTED) from None
    finally:
        progress.stop()
    return result, time.monotonic() - started


def _result_fields(result: CollectResult) -> dict[str, Any]:
    """Every field of the result (and ``first_error``), as JSON values."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    for name, value in fields.items():
        if isinstance(value, Counter):
            fields[name] = dict(value)
    fields["first_error"] = result.first_error
    return fields


def cmd_watch(args: argparse.Namespace, out: Output) -> int:
    from ..coordination.types import Role
    from ..watch import Watcher

    name, priority = _writer_type(args.writer, args.priority)

    def log(message: str, style: str = "") -> None:
        out.print(Text(datetime.now().strftime("%H:%M:%S "), style="dim") + Text(message, style=style))

    def on_role(role: Role) -> None:
        if role is Role.WRITER:
            log(f"this watcher is now the writer ({name})", "bold green")
        else:
            writer = db.current_writer()
            who = f"{writer.writer_type} (priority {writer.priority})" if writer else "another program"
            log(f"reader: {who} is the writer; waiting to take over if it stops", "yellow")

    follower: Any = None   # a mirror follower once --sync-to has started one

    def on_batch(result: CollectResult) -> None:
        if follower is not None and (result.messages_inserted or result.messages_updated):
            follower.poke()
        if result.messages_inserted or result.messages_updated or result.error_count:
            text = (f"collected {plural(result.messages_inserted, 'new message')} from "
                    f"{plural(result.files_read, 'file')}")
            if result.error_count:
                text += f" ({result.error_count} with problems: {result.first_error})"
            log(text)

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    db = open_db(args, write=True, create=True)
    try:
        watcher = Watcher(db, sources=args.source, writer_type=name, priority=priority,
                          reconcile_seconds=max(args.reconcile, 1.0), on_batch=on_batch, on_role_change=on_role)
        roots = ", ".join(str(r) for r in watcher.watched_roots()) or "no source folders yet"
        log(f"watching {roots}")
        log(f"database {db.path}")
        if args.sync_to:
            follower = _mirror_follower(db.path, args, log)
        watcher.start()
        while not stop.wait(0.2):
            if not watcher.running:
                break
        log("stopping")
        watcher.stop()
        if follower is not None:
            follower.stop()
        log("stopped; the writer role is released")
    finally:
        db.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _mirror_follower(path: str, args: argparse.Namespace, log: Callable[..., None]) -> Any:
    """Syncs into the mirror after each round that collected something, on its own thread."""
    from ..archive import is_remote, mirror_follower

    if not is_remote(args.sync_to):
        raise UserError(f"--sync-to takes a PostgreSQL URL, not {args.sync_to.split('@')[-1]!r}",
                        "postgresql://USER@HOST/DB")

    def synced(result: Any) -> None:
        if result.changed:
            log(f"mirrored {result.messages_sent} new messages to {result.machine!r}")

    follower = mirror_follower(path, args.sync_to, machine=args.machine, on_sync=synced,
                               on_error=lambda message: log(f"mirror: {message}", "yellow"))
    log(f"mirroring to {follower.redacted_url}")
    return follower.start()
