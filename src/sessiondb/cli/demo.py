"""demo: try sessiondb without any sessions of your own.

Builds a database from the sample sessions shipped in the package (one or two of
each of Claude Code, Codex, OpenCode, Gemini CLI, GitHub Copilot CLI,
Qwen Code, Pi, OpenHands and Aider), runs a few searches that show
what the search finds, and prints what to type next.
"""

from __future__ import annotations

import argparse
import shutil
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
                "opencode": SAMPLES / "opencode", "gemini": SAMPLES / "gemini" / "tmp",
                "copilot": SAMPLES / "copilot", "qwen": SAMPLES / "qwen", "pi": SAMPLES / "pi" / "sessions",
                "openhands": SAMPLES / "openhands", "aider": SAMPLES / "aider",
                "cursor": SAMPLES / "cursor" / "User", "cline": SAMPLES / "cline",
                "goose": SAMPLES / "goose" / "sessions", "crush": SAMPLES / "crush" / "notes-api"}
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
    with tempfile.TemporaryDirectory(prefix="sessiondb-demo-samples-") as workdir:
        roots = built_sample_roots(Path(workdir))
        result = Collector(db, roots={k: str(v) for k, v in roots.items()}).collect_all()
    return db, result.messages_inserted


def built_sample_roots(workdir: Path) -> dict[str, Path]:
    """The sample roots. Samples kept in another program's SQLite database ship as SQL
    scripts (``state.vscdb.sql``): those roots are copied under ``workdir`` with each
    script run into the database it names."""
    import apsw

    roots = {}
    for name, root in SAMPLE_ROOTS.items():
        scripts = sorted(root.rglob("*.sql"))
        if not scripts:
            roots[name] = root
            continue
        copy = Path(shutil.copytree(root, workdir / name, ignore=shutil.ignore_patterns("*.sql")))
        for script in scripts:
            target = copy / script.relative_to(root).with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(target))
            try:
                conn.execute(script.read_text(encoding="utf-8"))
            finally:
                conn.close()
        roots[name] = copy
    return roots


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
                 f"sessiondb usage --by model {db_arg}   # tokens and cost",
                 "sessiondb collect          # your own sessions, of every agent found on this machine",
                 'sessiondb search "..."     # then search them (default database ~/.vimo/db/ai-cli-session.db)'):
        out.print(f"  {line}", markup=False)
    return EXIT_OK
