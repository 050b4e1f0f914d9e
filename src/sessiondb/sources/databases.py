"""Sessions kept in another program's SQLite database (OpenCode's ``opencode.db``,
Goose's ``sessions.db``, Crush's ``crush.db``, Cursor's ``state.vscdb``).

Such a database is opened read-only, with ``query_only`` and a busy timeout, so the
program that owns it is never blocked or changed. Its units are one per session, plus
a *gate*: a unit for the database file itself whose size and mtime (the WAL's
included) let a warm rescan skip the database without opening it. The gate is saved
last, after the sessions it covers; when the database cannot be read, the gate
carries the error and is not saved, so the next collection tries again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import apsw
import msgspec

from ..timeutil import parse_timestamp_ms
from .jsonl import loads
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


# Per session: (row count, newest change in ns, digest of what the rows look like).
SessionStats = dict[str, tuple[int, int, str]]


def database_units(source: str, db: Path, known: Mapping[str, Any],
                   stats: Callable[[apsw.Connection], SessionStats],
                   context: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
    """One unit per session of the database at ``db`` (``<db>#<session>``, fingerprinted by
    ``stats``), then its gate. An unchanged database is not opened; one that cannot be
    opened or read yields only its gate, carrying the first error. Each session unit holds
    the open connection (``context["conn"]``) while it is processed."""
    gate = gate_unit(source, db)
    if gate is None or gate_unchanged(gate, known):
        return
    try:
        conn = open_readonly(db)
    except apsw.Error as exc:
        gate.context["error"] = f"cannot open {db} read-only: {exc}"
        yield gate
        return
    try:
        try:
            found = stats(conn)
        except apsw.Error as exc:
            gate.context["error"] = f"cannot read {db}: {exc}"
            yield gate
            return
        for session_id, (count, newest, digest) in sorted(found.items()):
            yield SourceUnit(source, f"{db}#{session_id}", str(db), count, newest, 0, fingerprint=digest,
                             context={**(context or {}), "conn": conn, "session_id": session_id})
        yield gate
    finally:
        conn.close()


def digest(parts: Iterable[object]) -> str:
    """A short stable digest of the values that change when a session's rows change."""
    return hashlib.blake2b("|".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def columns(conn: apsw.Connection) -> dict[str, set[str]]:
    """Every table of the database with its column names."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: {r[1] for r in conn.execute(f"PRAGMA table_info(\"{name}\")")} for name in names}


def row_dicts(cursor: apsw.Cursor) -> Iterator[dict[str, Any]]:
    """The rows of an executed query as column-name dictionaries."""
    names: list[str] | None = None
    for row in cursor:
        if names is None:
            names = [d[0] for d in cursor.getdescription()]
        yield dict(zip(names, row))


def json_value(data: Any, max_bytes: int | None = None) -> Any:
    """The JSON in a column value (text or blob), None when it is absent, longer than
    ``max_bytes`` or malformed (hostile nesting included: see ``jsonl.loads``)."""
    if not isinstance(data, (bytes, str)) or (max_bytes is not None and len(data) > max_bytes):
        return None
    try:
        return loads(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def time_ms(value: Any) -> int | None:
    """A time column (seconds, milliseconds or a date text) as epoch ms; None unless positive."""
    moment = parse_timestamp_ms(value)
    return moment if moment is not None and moment > 0 else None
