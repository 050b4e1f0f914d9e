"""Helpers for the collector, source and reader tests: fixture trees copied into tmp,
and a way to watch which statements a handle runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import apsw

from sessiondb import SessionDB
from sessiondb.sources import ALL_SOURCES

FIXTURES = Path(__file__).parent / "fixtures"
CLAUDE_MAIN = "11111111-1111-4111-8111-111111111111"
CLAUDE_SUMMARY_ONLY = "22222222-2222-4222-8222-222222222222"
CLAUDE_BAD = "33333333-3333-4333-8333-333333333333"
CODEX_MAIN = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CODEX_ARCHIVED = "0198f0e1-d2c3-7b4a-9a8b-7c6d5e4f3a2b"


def copy_tree(name: str, dest: Path) -> Path:
    """Copy ``tests/fixtures/<name>`` to ``dest`` and return it."""
    shutil.copytree(FIXTURES / name, dest)
    return dest


def claude_tree(tmp_path: Path) -> Path:
    """A copy of the Claude fixture; returns the projects root."""
    return copy_tree("claude", tmp_path / "claude") / "projects"


def opencode_tree(tmp_path: Path, *, with_db: bool = True) -> Path:
    """A copy of the OpenCode fixture (JSON storage, plus opencode.db built from SQL)."""
    root = tmp_path / "opencode"
    root.mkdir()
    shutil.copytree(FIXTURES / "opencode" / "storage", root / "storage")
    if with_db:
        conn = apsw.Connection(str(root / "opencode.db"))
        conn.execute((FIXTURES / "opencode" / "opencode-db.sql").read_text())
        conn.close()
    return root


def nowhere(tmp_path: Path) -> str:
    return str(tmp_path / "nowhere")


def only(source: str, root: object, tmp_path: Path) -> dict[str, object]:
    """Root overrides that point every other source at an empty directory."""
    roots: dict[str, object] = {s: nowhere(tmp_path) for s in ALL_SOURCES}
    roots[source] = root
    return roots


class StatementLog:
    """Records every statement the handle's connection executes (apsw exec trace)."""

    def __init__(self, db: SessionDB) -> None:
        self.conn = db._store.connection()
        self.statements: list[str] = []

    def __enter__(self) -> "StatementLog":
        self.before = self.conn.total_changes()
        self.conn.exec_trace = self._trace
        return self

    def _trace(self, cursor: object, sql: str, bindings: object) -> bool:
        self.statements.append(sql.strip())
        return True

    def __exit__(self, *exc: object) -> None:
        self.conn.exec_trace = None
        self.changes = self.conn.total_changes() - self.before

    @property
    def writes(self) -> list[str]:
        verbs = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "CREATE", "DROP")
        return [s for s in self.statements if s.upper().startswith(verbs)]


def rows(db: SessionDB, session_id: str | None = None) -> list[tuple]:
    """Every stored message (of one session) as comparable tuples, in sequence order."""
    conn = db._store.connection()
    sql = ("SELECT session_id, uuid, type, content_text, content_full, timestamp, sequence, source, channel, model, "
           "tool_call_id, tool_name, tool_args, raw FROM messages")
    if session_id is None:
        return list(conn.execute(sql + " ORDER BY session_id, sequence, uuid"))
    return list(conn.execute(sql + " WHERE session_id = ? ORDER BY sequence, uuid", (session_id,)))
