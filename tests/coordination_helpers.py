"""Helpers for the writer-coordination tests: clocks, handles, the original protocol."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import apsw

from sessiondb import Clock, CoordinationConfig, DbConfig, MessageInput, MessageType, SessionDB

WALL_START = 1_760_000_000_000


class ManualClock(Clock):
    """Both clocks under the test's control: ``advance`` moves time, ``jump_wall`` only the wall clock."""

    def __init__(self, wall: int = WALL_START, mono: int = 1_000_000) -> None:
        self.wall = wall
        self.mono = mono

    def wall_ms(self) -> int:
        return self.wall

    def monotonic_ms(self) -> int:
        return self.mono

    def advance(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms

    def jump_wall(self, ms: int) -> None:
        self.wall += ms


def coord(heartbeat_ms: int = 100, timeout_ms: int = 500, confirm: int = 3) -> CoordinationConfig:
    return CoordinationConfig(heartbeat_interval_ms=heartbeat_ms, timeout_ms=timeout_ms, confirm_count=confirm)


def open_handle(path: str | os.PathLike[str], *, clock: Clock | None = None, busy_timeout_ms: int = 5000,
                **timing: int) -> SessionDB:
    db = SessionDB.connect(DbConfig.local(path, busy_timeout_ms=busy_timeout_ms, coordination=coord(**timing)))
    if clock is not None:
        db.clock = clock
    return db


def batch(db: SessionDB, session: str, prefix: str, n: int = 3) -> int:
    """Project, session and n messages in one write transaction; returns how many were new."""
    messages = [MessageInput(uuid=f"{prefix}-{i}", type=MessageType.USER, content_text=f"{prefix} {i}",
                             content_full=f"{prefix} {i}", timestamp=WALL_START + i, sequence=i)
                for i in range(n)]
    with db._store.write():
        pid = db.get_or_create_project("demo", "/work/demo", "claude")
        db.upsert_session(session, pid)
        return db.insert_messages(session, messages)


def count_messages(path: str | os.PathLike[str], prefix: str) -> int:
    """Rows whose uuid starts with ``prefix``, read with a separate plain connection."""
    conn = apsw.Connection(str(path))
    try:
        return conn.execute("SELECT COUNT(*) FROM messages WHERE uuid LIKE ? || '-%'", (prefix,)).fetchone()[0]
    finally:
        conn.close()


def registry(path: str | os.PathLike[str]) -> tuple | None:
    conn = apsw.Connection(str(path))
    try:
        return conn.execute("SELECT writer_type, writer_id, priority, heartbeat, registered_at "
                            "FROM writer_registry WHERE id = 1").fetchone()
    finally:
        conn.close()


def lock_files(path: str | os.PathLike[str]) -> list[str]:
    db = Path(path)
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + ".writer-"))


class OriginalCoordinator:
    """The original Rust library's coordination statements (reference §3.4), verbatim in
    meaning: wall-clock heartbeats, a strict ``now - heartbeat > timeout`` rule, no lock file."""

    def __init__(self, path: str | os.PathLike[str], writer_type: str, priority: int,
                 timeout_ms: int = 30_000) -> None:
        self.conn = apsw.Connection(str(path))
        self.conn.set_busy_timeout(5000)
        self.writer_type = writer_type
        self.priority = priority
        self.timeout_ms = timeout_ms
        self.writer_id = str(uuid.uuid4())

    def try_register(self, now: int) -> bool:
        self.conn.execute(
            "INSERT INTO writer_registry (id, writer_type, writer_id, priority, heartbeat, registered_at) "
            "VALUES (1, :type, :id, :prio, :now, :now) "
            "ON CONFLICT(id) DO UPDATE SET writer_type=excluded.writer_type, writer_id=excluded.writer_id, "
            "priority=excluded.priority, heartbeat=excluded.heartbeat, registered_at=excluded.registered_at "
            "WHERE (:now - writer_registry.heartbeat) > :timeout OR excluded.priority > writer_registry.priority",
            {"type": self.writer_type, "id": self.writer_id, "prio": self.priority, "now": now,
             "timeout": self.timeout_ms})
        return self.conn.changes() > 0

    def heartbeat(self, now: int) -> bool:
        self.conn.execute("UPDATE writer_registry SET heartbeat = ? WHERE id = 1 AND writer_id = ?",
                          (now, self.writer_id))
        return self.conn.changes() == 1

    def release(self) -> None:
        self.conn.execute("DELETE FROM writer_registry WHERE id = 1 AND writer_id = ?", (self.writer_id,))

    def check_health(self, now: int) -> str:
        row = self.conn.execute("SELECT heartbeat, writer_id FROM writer_registry WHERE id = 1").fetchone()
        if row is None:
            return "released"
        return "timeout" if now - row[0] > self.timeout_ms else "alive"

    def try_takeover(self, now: int) -> bool:
        self.conn.execute("UPDATE writer_registry SET writer_type = ?, writer_id = ?, priority = ?, heartbeat = ?, "
                          "registered_at = ? WHERE id = 1 AND (? - heartbeat) > ?",
                          (self.writer_type, self.writer_id, self.priority, now, now, now, self.timeout_ms))
        if self.conn.changes():
            return True
        if self.conn.execute("SELECT COUNT(*) FROM writer_registry WHERE id = 1").fetchone()[0] == 0:
            self.conn.execute("INSERT INTO writer_registry (id, writer_type, writer_id, priority, heartbeat, "
                              "registered_at) VALUES (1, ?, ?, ?, ?, ?)",
                              (self.writer_type, self.writer_id, self.priority, now, now))
            return True
        return False

    def write_message(self, session: str, uuid_: str) -> None:
        """A write as the original makes it: no look at the registry at all."""
        self.conn.execute("INSERT OR IGNORE INTO projects(name, path, source, created_at, updated_at) "
                          "VALUES ('demo', '/work/demo', 'claude', 1, 1)")
        pid = self.conn.execute("SELECT id FROM projects WHERE path = '/work/demo'").fetchone()[0]
        self.conn.execute("INSERT OR IGNORE INTO sessions(session_id, project_id, created_at, updated_at) "
                          "VALUES (?, ?, 1, 1)", (session, pid))
        self.conn.execute("INSERT INTO messages(session_id, uuid, type, content_text, content_full, timestamp, "
                          "sequence) VALUES (?, ?, 'user', 'x', 'x', 1, 0)", (session, uuid_))

    def close(self) -> None:
        self.conn.close()
