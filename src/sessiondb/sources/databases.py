"""Sessions kept in another program's SQLite database (OpenCode's ``opencode.db``).

Such a database is opened read-only, with ``query_only`` and a busy timeout, so the
program that owns it is never blocked or changed. Its units are one per session, plus
a *gate*: a unit for the database file itself whose size and mtime (the WAL's
included) let a warm rescan skip the database without opening it. The gate is saved
last, after the sessions it covers; when the database cannot be read, the gate
carries the error and is not saved, so the next collection tries again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import apsw

from .records import ParsedUnit, ParseIssues, SourceUnit

BUSY_TIMEOUT_MS = 2000


def open_readonly(path: Path) -> apsw.Connection:
    """Another program's database: read-only, ``query_only``, with a busy timeout."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.execute("PRAGMA query_only=ON")
    return conn


def gate_unit(source: str, db: Path) -> SourceUnit | None:
    """The gate of the database at ``db`` (None when it is gone)."""
    try:
        st = db.stat()
    except OSError:
        return None
    size, mtime = st.st_size, st.st_mtime_ns
    try:
        wal = os.stat(f"{db}-wal")
        size, mtime = size + wal.st_size, max(mtime, wal.st_mtime_ns)
    except OSError:
        pass
    return SourceUnit(source, str(db), str(db), size, mtime, st.st_ino, context={"gate": True})


def gate_unchanged(gate: SourceUnit, known: Mapping[str, Any]) -> bool:
    """Whether the database is as it was when its gate was last saved."""
    saved = known.get(gate.key)
    return saved is not None and (saved.size, saved.mtime_ns, saved.inode) == (gate.size, gate.mtime_ns, gate.inode)


def is_gate(unit: SourceUnit) -> bool:
    return bool(unit.context.get("gate"))


def parse_gate(unit: SourceUnit) -> ParsedUnit:
    """A gate holds no session; it reports the error that kept its database from being read."""
    issues = ParseIssues()
    if unit.context.get("error"):
        issues.bad(unit.path, unit.context["error"])
    return ParsedUnit(None, issues=issues)
