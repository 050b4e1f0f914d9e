"""demo: try sessiondb without any sessions of your own.

Builds a database from the sample sessions shipped in the package (one or two of
each of Claude Code, Codex, OpenCode and Gemini CLI), runs a few searches that show
what the search finds, and prints what to type next.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.text import Text

from ..collector import Collector
from ..config import DbConfig
from ..db import SessionDB
from .common import EXIT_OK, UserError
from .output import MARK_CLOSE, MARK_OPEN, Output, highlighted, when

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_ROOTS = {"claude": SAMPLES / "claude" / "projects", "codex": SAMPLES / "codex",
                "opencode": SAMPLES / "opencode", "gemini": SAMPLES / "gemini" / "tmp"}
QUERIES = (
    ("words, all of them", "database locked"),
    ("a phrase", '"token bucket"'),
    ("a code identifier", "parse_order_total"),
    ("Chinese inside a sentence", "结账测试"),
    ("Japanese", "ネットワーク"),
    ("prefix and exclusion", "reconnect* -test"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="build a sample database from bundled sessions and search it")
    p.add_argument("--db", metavar="PATH", help="where to write the demo database (default: a new temp folder)")
    p.set_defaults(handler=cmd_demo)


def build_demo_db(path: Path) -> tuple[SessionDB, int]:
    if not SAMPLES.is_dir():
        raise UserError(f"the sample sessions are missing from this installation ({SAMPLES})",
                        "reinstall the package: pip install --force-reinstall ai-cli-session-db")
    db = SessionDB.connect(DbConfig.local(path))
    result = Collector(db, roots={k: str(v) for k, v in SAMPLE_ROOTS.items()}).collect_all()
    return db, result.messages_inserted


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    path = Path(args.db).expanduser() if args.db else Path(tempfile.mkdtemp(prefix="sessiondb-demo-")) / "demo.db"
    if path.exists():
        raise UserError(f"{path} already exists", "pass a new path with --db, or leave --db out")
    started = time.monotonic()
    db, inserted = build_demo_db(path)
    with db:
        stats = db.get_stats()
        sources = ", ".join(sorted({p.source for p in db.list_projects()}))
        out.print(Text("sessiondb demo", style="bold"))
        out.print(f"Collected {inserted} messages of {stats.session_count} sample sessions in "
                  f"{stats.project_count} projects ({sources}) in {time.monotonic() - started:.2f} s")
        out.print(Text(f"database: {path}", style="dim"))
        for label, query in QUERIES:
            out.print()
            out.print(Text("search ", style="bold") + Text(query, style="bold cyan") + Text(f"   ({label})", style="dim"))
            for hit in db.search(query, limit=2, highlight=(MARK_OPEN, MARK_CLOSE), snippet_chars=110):
                head = Text(f"  {hit.project_name}  {hit.session_id[:8]}  {when(hit.timestamp)}  {hit.type}",
                            style="dim")
                out.print(head)
                out.print(Text("    ") + highlighted(hit.snippet))
        session = db.get_sessions(limit=1)[0].session_id
    out.print()
    out.print(Text("Try next:", style="bold"))
    db_arg = f"--db {path}"
    for line in (f'sessiondb search "busy_timeout OR backoff" {db_arg}',
                 f"sessiondb show {session[:8]} {db_arg}",
                 f"sessiondb projects {db_arg}",
                 "sessiondb collect          # your own Claude Code, Codex, OpenCode and Gemini CLI sessions",
                 'sessiondb search "..."     # then search them (default database ~/.vimo/db/ai-cli-session.db)'):
        out.print(f"  {line}", markup=False)
    return EXIT_OK
