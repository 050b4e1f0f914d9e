"""The single write path: BEGIN IMMEDIATE, all or nothing, clear errors for faults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import apsw
import pytest
from helpers import add_session, msg

from sessiondb import DatabaseError, DbConfig, PermissionDenied, ReadOnlyError, SessionDB

SRC = Path(__file__).resolve().parents[1] / "src" / "sessiondb"


def test_writes_take_the_write_lock_up_front(db: SessionDB, db_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits for the lock, then fails clearly; nothing half-written."""
    add_session(db, "s", ["before"])
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN IMMEDIATE")
    with SessionDB.connect(DbConfig.local(db_path, busy_timeout_ms=100)) as other:
        with pytest.raises(DatabaseError, match="locked"):
            other.insert_messages("s", [msg("blocked", seq=1)])
        assert other.search("before")  # reads are not blocked in WAL mode
    blocker.execute("ROLLBACK")
    assert db.get_message_by_uuid("blocked") is None


def test_a_failure_inside_a_batch_rolls_back_the_whole_batch(db: SessionDB) -> None:
    add_session(db, "s", ["kept"])
    db._store.connection().execute("CREATE TEMP TRIGGER fail_on_poison BEFORE INSERT ON main.messages "
                             "WHEN new.uuid = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")
    with pytest.raises(DatabaseError, match="poisoned"):
        db.insert_messages("s", [msg("ok-1", seq=1), msg("poison", seq=2), msg("ok-3", seq=3)])
    assert [m.uuid for m in db.list_messages("s")] == ["s-0"]
    assert db.get_session("s").message_count == 1


def test_disk_full_is_a_clear_error_and_loses_nothing(db: SessionDB) -> None:
    add_session(db, "s", ["existing"])
    conn = db._store.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(DatabaseError, match="full"):
        db.insert_messages("s", [msg(f"big-{i}", "x" * 20_000, seq=i + 1) for i in range(20)])
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert [m.uuid for m in db.list_messages("s")] == ["s-0"]
    assert db.integrity_check().ok


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(DatabaseError, match="not a database|corrupt"):
        SessionDB.connect(path)
    assert path.read_bytes().startswith(b"this is not a database")


def test_read_only_handle_reads_and_refuses_writes(db: SessionDB, db_path: Path) -> None:
    pid = add_session(db, "s", ["shared text"])
    with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as reader:
        assert reader.read_only and reader._store.read_value("PRAGMA query_only") == 1
        assert [r.uuid for r in reader.search("shared")] == ["s-0"]
        for write in (lambda: reader.get_or_create_project("x", "/x"), lambda: reader.upsert_session("t", pid),
                      lambda: reader.insert_messages("s", [msg("new")]), lambda: reader.mark_messages_indexed([1]),
                      lambda: reader.update_approval_status("s-0", "approved", 1)):
            with pytest.raises(ReadOnlyError, match="read-only"):
                write()
        assert isinstance(ReadOnlyError("x"), PermissionDenied)
        # A writer elsewhere adds rows; the read-only handle sees them.
        add_session(db, "s2", ["later text"])
        assert [r.uuid for r in reader.search("later")] == ["s2-0"]


def test_read_only_handle_never_creates_a_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "x.db"
    with pytest.raises(DatabaseError, match="not found"):
        SessionDB.connect(DbConfig.local(path, read_only=True))
    assert not path.parent.exists()


def test_connect_does_not_write_when_the_schema_is_current(db: SessionDB, db_path: Path) -> None:
    """Opening must not take the write lock, or readers would queue behind the writer."""
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN IMMEDIATE")
    with SessionDB.connect(DbConfig.local(db_path, busy_timeout_ms=50)) as other:
        assert other.get_stats().project_count == 0
    blocker.execute("ROLLBACK")


def test_one_sqlite_binding_in_the_process() -> None:
    """Two copies of SQLite in one process break each other's POSIX locks."""
    code = "import sys, sessiondb, sessiondb.search, sessiondb.db; print('sqlite3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    offenders = [p.name for p in SRC.rglob("*.py") if "import sqlite3" in p.read_text(encoding="utf-8")]
    assert offenders == []
