"""status and doctor: what is in the database, and is it healthy."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any

from rich.text import Text

from ..db import SessionDB
from ..errors import SessionDBError
from ..models import IntegrityCheckResult
from .common import EXIT_DATABASE, EXIT_OK, UserError, add_db_option, add_json_option, db_config, open_db, write_problem
from .output import Output, human_size, plural, safe_text, when


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="database, sources, writer and last collection at a glance")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("doctor", help="check integrity and the search index; --repair rebuilds the indexes")
    p.add_argument("--repair", action="store_true", help="rebuild the full-text indexes and the SQLite indexes")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_doctor)


def _file_sizes(path: str) -> dict[str, int]:
    return {suffix or "db": os.path.getsize(path + suffix) for suffix in ("", "-wal", "-shm")
            if os.path.exists(path + suffix)}


def collect_status(db: SessionDB) -> dict[str, Any]:
    """Everything ``status`` reports, as plain data (also used by --json)."""
    per_source = [dataclasses.asdict(counts) for counts in db.source_counts()]
    status: dict[str, Any] = {
        "database": db.path,
        "size": _file_sizes(db.path),
        "stats": db.get_stats(),
        "sources": per_source,
        "last_collection": db.last_collection_at(),
        "writer": None,
        "roots": [],
    }
    writer = db.current_writer()
    if writer is not None:
        status["writer"] = {**dataclasses.asdict(writer), "health": _health(db)}
    status["roots"] = _source_roots()
    return status


def _health(db: SessionDB) -> str:
    """One look at the writer: alive, timeout (its process is gone) or released."""
    try:
        return str(db.check_writer_health().name.lower())
    except SessionDBError as exc:   # status must print even when the registry is odd
        return f"unknown ({exc})"


def _source_roots() -> list[dict[str, Any]]:
    from ..sources import SOURCES

    return [{"source": name, "title": source.title, "path": str(root), "exists": root.exists(),
             "from": source.describe_roots()}
            for name, source in SOURCES.items() for root in source.resolve_roots(None)]


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    with open_db(args) as db:
        status = collect_status(db)
    if out.as_json:
        out.json(status)
        return EXIT_OK
    stats = status["stats"]
    out.print(Text("database  ", style="bold") + Text(status["database"]))
    sizes = ", ".join(f"{k} {human_size(v)}" for k, v in status["size"].items())
    out.print(Text(f"          {sizes}", style="dim"))
    out.print(Text("contents  ", style="bold") +
              Text(f"{plural(stats.project_count, 'project')}, {plural(stats.session_count, 'session')}, "
                   f"{plural(stats.message_count, 'message')}"))
    if status["sources"]:
        out.print(out.table(("source", "projects", "sessions", "messages"),
                            ((row["source"], f"{row['projects']:,}", f"{row['sessions']:,}", f"{row['messages']:,}")
                             for row in status["sources"]), right=("projects", "sessions", "messages")))
    writer = status["writer"]
    line = Text("writer    ", style="bold")
    if writer:
        line.append(f"{writer['writer_type']} (priority {writer['priority']}), heartbeat {when(writer['heartbeat'])}")
        if writer.get("health"):
            line.append(f", {writer['health']}")
    else:
        line.append("none registered")
    out.print(line)
    out.print(Text("collected ", style="bold") + Text(when(status["last_collection"])
                                                        if status["last_collection"] else "never"))
    width = max((len(root["source"]) for root in status["roots"]), default=0) + 1
    for root in status["roots"]:
        mark = Text("found   " if root["exists"] else "missing ", style="green" if root["exists"] else "dim")
        out.print(Text(f"  {root['source']:{width}}", style="bold") + mark + Text(root["path"]))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, out: Output) -> int:
    read_only = write_problem(db_config(args, read_only=True).path)
    if read_only and args.repair:
        raise UserError(f"cannot repair {db_config(args, read_only=True).path}: {read_only}",
                        "copy the file somewhere you can write, repair the copy (--db COPY) and put it back",
                        EXIT_DATABASE)
    with open_db(args, write=not read_only) as db:
        search: IntegrityCheckResult | None = db.fts_integrity_check()
        if read_only and search is not None and not search.ok and "readonly" in search.message.replace("-", "").replace(" ", ""):
            search = None   # SQLite phrases this check as a write: it cannot run here, which is no fault
        report: dict[str, Any] = {"integrity": db.integrity_check(), "search_index": search,
                  "cjk_queue": db.cjk_queue_length(), "read_only": read_only}
        if args.repair:
            db.rebuild_search_index()
            report["repaired"] = True
            report["search_index"] = db.fts_integrity_check()
        if not read_only:
            report["checkpoint"] = dict(zip(("busy", "wal_pages", "checkpointed"), db.checkpoint("TRUNCATE")))
    healthy = report["integrity"].ok and (report["search_index"] is None or report["search_index"].ok)
    if out.as_json:
        out.json({**report, "healthy": healthy})
        return EXIT_OK if healthy else EXIT_DATABASE
    if read_only:
        out.print(Text("note ", style="bold yellow") + Text(f"read-only: {read_only}; checked without writing"))
    labels = (("integrity", report["integrity"]), ("search index", report["search_index"]))
    for label, result in labels:
        if result is None:
            out.print(Text("skip ", style="bold yellow") + Text(f"{label}: SQLite cannot run this check on a "
                                                               "read-only file"))
            continue
        mark = Text("ok   ", style="bold green") if result.ok else Text("FAIL ", style="bold red")
        out.print(mark + Text(label) + (safe_text(f": {result.message}", "red") if not result.ok else Text()))
    if report["cjk_queue"]:
        out.print(Text(f"note {plural(report['cjk_queue'], 'message')} wait for the CJK index (a writer indexes "
                       "them)"))
    if "checkpoint" in report:
        cp = report["checkpoint"]
        out.print(Text("ok   ", style="bold green") +
                  Text(f"WAL checkpoint ({plural(cp['checkpointed'], 'page')} written back)"))
    if report.get("repaired"):
        out.print(Text("ok   ", style="bold green") + Text("indexes rebuilt"))
    if not healthy:
        if report.get("repaired") or report["integrity"].ok is False and read_only:
            hint = ("restore the file from a backup, or move it away and run `sessiondb collect` to build it again "
                    "from the session files")
        elif not report["integrity"].ok:
            hint = ("run `sessiondb doctor --repair` (it rebuilds the indexes); if integrity still fails, restore "
                    "the file from a backup")
        else:
            hint = "run `sessiondb doctor --repair` to rebuild the search index"
        out.error("the database has problems", hint)
        return EXIT_DATABASE
    return EXIT_OK
