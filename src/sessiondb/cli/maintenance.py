"""status and doctor: what is in the database, and is it healthy."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, NotRequired, TypedDict

from rich.table import Table
from rich.text import Text

from ..errors import SessionDBError
from .common import EXIT_DATABASE, EXIT_OK, add_db_option, add_json_option, open_db
from .output import Output, human_size, when

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from ..db import SessionDB
    from ..models import IntegrityCheckResult, Stats

# Where one source's files are looked for (``from`` is a keyword, hence this form).
SourceRoot = TypedDict("SourceRoot", {"source": str, "title": str, "path": str, "exists": bool, "from": str})


class Status(TypedDict):
    """Everything ``status`` reports (``status --json`` prints it)."""

    database: str
    size: dict[str, int]
    stats: Stats
    sources: list[dict[str, Any]]
    last_collection: int | None
    writer: dict[str, Any] | None
    roots: list[SourceRoot]


class DoctorReport(TypedDict):
    """What ``doctor`` found (``doctor --json`` prints it, with ``healthy``)."""

    integrity: IntegrityCheckResult
    search_index: IntegrityCheckResult
    cjk_queue: int
    repaired: NotRequired[bool]
    checkpoint: NotRequired[dict[str, int]]


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


def collect_status(db: SessionDB) -> Status:
    """Everything ``status`` reports, as plain data (also used by --json)."""
    per_source = [dataclasses.asdict(counts) for counts in db.source_counts()]
    status: Status = {
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
        return db.check_writer_health().name.lower()
    except SessionDBError as exc:   # status must print even when the registry is odd
        return f"unknown ({exc})"


def _source_roots() -> list[SourceRoot]:
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
              Text(f"{stats.project_count} projects, {stats.session_count} sessions, "
                   f"{stats.message_count} messages"))
    if status["sources"]:
        table = Table(box=None, header_style="bold", padding=(0, 2))
        for column in ("source", "projects", "sessions", "messages"):
            table.add_column(column, justify="left" if column == "source" else "right")
        for row in status["sources"]:
            table.add_row(row["source"], str(row["projects"]), str(row["sessions"]), str(row["messages"]))
        out.print(table)
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
    for root in status["roots"]:
        mark = Text("found   " if root["exists"] else "missing ", style="green" if root["exists"] else "dim")
        out.print(Text(f"  {root['source']:9}", style="bold") + mark + Text(root["path"]))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, out: Output) -> int:
    with open_db(args, write=True) as db:
        report: DoctorReport = {"integrity": db.integrity_check(), "search_index": db.fts_integrity_check(),
                                "cjk_queue": db.cjk_queue_length()}
        if args.repair:
            db.rebuild_search_index()
            report["repaired"] = True
            report["search_index"] = db.fts_integrity_check()
        report["checkpoint"] = dict(zip(("busy", "wal_pages", "checkpointed"), db.checkpoint("TRUNCATE")))
    healthy = report["integrity"].ok and report["search_index"].ok
    if out.as_json:
        out.json({**report, "healthy": healthy})
        return EXIT_OK if healthy else EXIT_DATABASE
    for label, result in (("integrity", report["integrity"]), ("search index", report["search_index"])):
        mark = Text("ok   ", style="bold green") if result.ok else Text("FAIL ", style="bold red")
        out.print(mark + Text(label) + (Text(f": {result.message}", style="red") if not result.ok else Text()))
    if report["cjk_queue"]:
        out.print(Text(f"note {report['cjk_queue']} messages wait for the CJK index (a writer indexes them)"))
    cp = report["checkpoint"]
    out.print(Text("ok   ", style="bold green") + Text(f"WAL checkpoint ({cp['checkpointed']} pages written back)"))
    if report.get("repaired"):
        out.print(Text("ok   ", style="bold green") + Text("indexes rebuilt"))
    if not healthy:
        out.error("the database has problems", "run `sessiondb doctor --repair`; if integrity still fails, "
                                               "restore the file from a backup")
        return EXIT_DATABASE
    return EXIT_OK
