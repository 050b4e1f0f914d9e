"""The database file is shared with the original library: both directions must work."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest
from helpers import add_session, msg
from original_schema import LEGACY_DDL, ORIGINAL_DDL, OriginalClient

from sessiondb import DbConfig, MessageType, SessionDB
from sessiondb.store.schema import LATEST_VERSION

ORIGINAL_TABLES = ("projects", "sessions", "messages", "writer_registry", "schema_migrations")
ORIGINAL_INDEXES = ("idx_projects_path", "idx_sessions_project", "idx_sessions_updated", "idx_sessions_last_message",
                    "idx_messages_session", "idx_messages_timestamp", "idx_messages_uuid", "idx_messages_type",
                    "idx_messages_vector_indexed", "idx_messages_approval_status", "idx_messages_approval_pending")


def _shape(conn: apsw.Connection) -> dict[str, object]:
    """Everything about the original tables another program could depend on."""
    shape: dict[str, object] = {}
    for table in ORIGINAL_TABLES:
        shape[f"{table}.columns"] = [tuple(r[1:]) for r in conn.execute(f"PRAGMA table_xinfo({table})")]
        shape[f"{table}.fks"] = [tuple(r[2:5]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")]
        shape[f"{table}.indexes"] = sorted(
            (r[1], r[2], r[3], r[4], tuple(c[2] for c in conn.execute(f"PRAGMA index_xinfo('{r[1]}')") if c[1] >= 0))
            for r in conn.execute(f"PRAGMA index_list({table})"))
    shape["fts"] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()[0]
    shape["check"] = "CHECK (id = 1)" in conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'writer_registry'").fetchone()[0]
    return shape


def _original_db(path: Path, ddl: str = ORIGINAL_DDL) -> apsw.Connection:
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(ddl)
    return conn


def test_new_database_has_the_original_tables_columns_and_indexes(tmp_path: Path, db: SessionDB) -> None:
    reference = _original_db(tmp_path / "reference.db")
    ours = apsw.Connection(db.path)
    assert _shape(ours) == _shape(reference)
    names = {r[0] for r in ours.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(ORIGINAL_INDEXES) <= names
    triggers = {r[0] for r in ours.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"messages_ai", "messages_ad", "messages_au"} <= triggers


def test_every_connection_gets_the_pragmas(db: SessionDB) -> None:
    conn = db._store.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_are_recorded(db: SessionDB) -> None:
    versions = [r[0] for r in db._store.read("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_database_made_by_the_original_opens_upgrades_and_works(tmp_path: Path) -> None:
    path = tmp_path / "original.db"
    original = OriginalClient(str(path))
    pid = original.get_or_create_project("demo", "/work/demo", "claude")
    original.upsert_session("s-orig", pid)
    assert original.insert_messages("s-orig", [
        ("u1", "user", "how do I open the database file", 1_700_000_000_000, 0),
        ("u2", "assistant", "我想用单文件方式存储会话", 1_700_000_001_000, 1),
    ]) == 2
    original.close()

    with SessionDB.connect(DbConfig.local(path)) as db:
        assert db.get_stats().message_count == 2
        assert [r.uuid for r in db.search("database")] == ["u1"]
        # Written before the CJK index existed: found by substring all the same.
        assert [r.uuid for r in db.search("单文件")] == ["u2"]
        db.insert_messages("s-orig", [msg("u3", "a newer message about the database", seq=2)])
        assert {r.uuid for r in db.search("database")} == {"u1", "u3"}
        assert db.get_session("s-orig").message_count == 3
        versions = [r[0] for r in db._store.read("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == list(range(1, LATEST_VERSION + 1))


def test_legacy_database_without_approval_columns_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    conn = _original_db(path, LEGACY_DDL)
    conn.execute("INSERT INTO projects(name, path) VALUES ('old', '/old')")
    conn.execute("INSERT INTO sessions(session_id, project_id) VALUES ('s-old', 1)")
    conn.execute("INSERT INTO messages(session_id, uuid, type, content_text, content_full, timestamp, sequence) "
                 "VALUES ('s-old', 'u-old', 'user', 'legacy text', 'legacy text', 1, 0)")
    conn.close()

    with SessionDB.connect(DbConfig.local(path)) as db:
        columns = {r[1] for r in db._store.read("PRAGMA table_info(messages)")}
        assert {"approval_status", "approval_resolved_at"} <= columns
        assert db.update_approval_status("u-old", "approved", 5) == 1
        assert db.get_message_by_uuid("u-old").approval_status.value == "approved"
        assert [r.uuid for r in db.search("legacy")] == ["u-old"]


def test_older_database_missing_indexed_columns_opens(tmp_path: Path) -> None:
    """The original failed to open files whose messages table lacked vector_indexed."""
    path = tmp_path / "older.db"
    conn = apsw.Connection(str(path))
    conn.execute("""
        CREATE TABLE projects (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            created_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL UNIQUE,
            project_id INTEGER NOT NULL REFERENCES projects(id), message_count INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
            uuid TEXT NOT NULL UNIQUE, type TEXT NOT NULL, content_text TEXT NOT NULL, content_full TEXT NOT NULL,
            timestamp INTEGER NOT NULL, sequence INTEGER NOT NULL);
        INSERT INTO projects(path, name) VALUES ('/p', 'p');
        INSERT INTO sessions(session_id, project_id) VALUES ('s', 1);
        INSERT INTO messages(session_id, uuid, type, content_text, content_full, timestamp, sequence)
            VALUES ('s', 'u', 'user', 'kept text', 'kept text', 1, 0);
    """)
    conn.close()
    with SessionDB.connect(DbConfig.local(path)) as db:
        assert db.get_unindexed_messages() == []
        assert db.list_messages("s")[0].content_full == "kept text"
        assert db.list_projects()[0].source == "claude"


def test_our_database_works_for_a_program_that_only_knows_the_original(db: SessionDB) -> None:
    pid = add_session(db, "s-ours", ["written by sessiondb about sqlite"])
    db.close()
    original = OriginalClient(db.path)  # runs its migration check and full DDL: both no-ops
    assert original.search("sqlite") == [1]
    original.upsert_session("s-rust", pid)
    assert original.insert_messages("s-rust", [("r1", "assistant", "written by the rust library sqlite", 5, 0),
                                               ("r2", "assistant", "中文内容由原版写入", 6, 1)]) == 2
    assert original.update_approval_by_tool_call_id("none", "approved", 1) == 0
    original.close()

    with SessionDB.connect(DbConfig.local(db.path)) as again:
        assert {r.uuid for r in again.search("sqlite")} == {"s-ours-0", "r1"}
        assert [r.uuid for r in again.search("原版")] == ["r2"]
        assert again.catch_up_search_index() == 1
        assert [r.uuid for r in again.search("原版")] == ["r2"]
        assert again.fts_integrity_check().ok
        assert again.integrity_check().ok


def test_update_trigger_only_rewrites_fts_when_content_changes(db: SessionDB) -> None:
    """messages_au fired on every column update in the original (reference §8.2 #20)."""
    sql = db._store.read_value("SELECT sql FROM sqlite_master WHERE name = 'messages_au'")
    assert "UPDATE OF content_full" in sql
    add_session(db, "s", ["approval target"])
    db.mark_messages_indexed([1])
    db.update_approval_status("s-0", "approved", 1)
    conn = db._store.connection()
    conn.execute("UPDATE messages SET content_full = 'rewritten body' WHERE uuid = 's-0'")
    assert [r.uuid for r in db.search("rewritten")] == ["s-0"]
    assert db.search("approval") == []
    assert db.fts_integrity_check().ok


@pytest.mark.parametrize("role", list(MessageType))
def test_message_types_are_stored_as_the_original_strings(db: SessionDB, role: MessageType) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [msg("u", "x", role=role)])
    assert db._store.read_value("SELECT type FROM messages") == role.value
