"""The original crate's DDL and SQL, written from its documented schema (reference §1,
§2.4, §4) independently of sessiondb.schema, to check the two interoperate.

``ORIGINAL_DDL`` is the schema at the compatibility commit; ``LEGACY_DDL`` an older
file without the approval columns (migration 001 adds them).
"""

from __future__ import annotations

import apsw

_TS = "(strftime('%s','now') * 1000)"

ORIGINAL_DDL = f"""
CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'claude',
    encoded_dir_name TEXT,
    created_at INTEGER NOT NULL DEFAULT {_TS},
    updated_at INTEGER NOT NULL DEFAULT {_TS}
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,        -- 会话 ID
    project_id INTEGER NOT NULL REFERENCES projects(id),
    message_count INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER,
    cwd TEXT, model TEXT, channel TEXT,
    file_mtime INTEGER, file_size INTEGER, meta TEXT,
    created_at INTEGER NOT NULL DEFAULT {_TS},
    updated_at INTEGER NOT NULL DEFAULT {_TS}
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    content_text TEXT NOT NULL,
    content_full TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    source TEXT DEFAULT 'claude',
    channel TEXT, model TEXT, tool_call_id TEXT, tool_name TEXT, tool_args TEXT, raw TEXT,
    vector_indexed INTEGER DEFAULT 0,
    approval_status TEXT,
    approval_resolved_at INTEGER,
    FOREIGN KEY (session_id) REFERENCES sessions(session_id)
);
CREATE INDEX IF NOT EXISTS idx_projects_path ON projects(path);
CREATE INDEX IF NOT EXISTS idx_sessions_project ON sessions(project_id);
CREATE INDEX IF NOT EXISTS idx_sessions_updated ON sessions(updated_at DESC);
CREATE INDEX IF NOT EXISTS idx_sessions_last_message ON sessions(last_message_at);
CREATE INDEX IF NOT EXISTS idx_messages_session ON messages(session_id);
CREATE INDEX IF NOT EXISTS idx_messages_timestamp ON messages(timestamp);
CREATE INDEX IF NOT EXISTS idx_messages_uuid ON messages(uuid);
CREATE INDEX IF NOT EXISTS idx_messages_type ON messages(type);
CREATE INDEX IF NOT EXISTS idx_messages_vector_indexed ON messages(vector_indexed);
CREATE INDEX IF NOT EXISTS idx_messages_approval_status ON messages(approval_status) WHERE approval_status IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_messages_approval_pending ON messages(session_id, approval_status) WHERE approval_status = 'pending';
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content_full, content='messages', content_rowid='id', tokenize='unicode61');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content_full) VALUES (new.id, new.content_full);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content_full) VALUES('delete', old.id, old.content_full);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content_full) VALUES('delete', old.id, old.content_full);
  INSERT INTO messages_fts(rowid, content_full) VALUES (new.id, new.content_full);
END;
CREATE TABLE IF NOT EXISTS writer_registry (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    writer_type TEXT NOT NULL,
    writer_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    heartbeat INTEGER NOT NULL,
    registered_at INTEGER NOT NULL
);
"""

LEGACY_DDL = (ORIGINAL_DDL
              .replace("    approval_status TEXT,\n    approval_resolved_at INTEGER,\n", "")
              .replace("CREATE INDEX IF NOT EXISTS idx_messages_approval_status ON messages(approval_status) "
                       "WHERE approval_status IS NOT NULL;\n", "")
              .replace("CREATE INDEX IF NOT EXISTS idx_messages_approval_pending ON messages(session_id, "
                       "approval_status) WHERE approval_status = 'pending';\n", ""))


class OriginalClient:
    """What the original library does on a connection, statement for statement."""

    def __init__(self, path: str) -> None:
        self.conn = apsw.Connection(path)
        self.conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; "
                          "PRAGMA foreign_keys=ON")
        self._migrate()
        self.conn.execute(ORIGINAL_DDL)

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                          "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        current = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
        if current >= 1:
            return
        with self.conn:
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "messages" in tables:
                cols = {r[1] for r in self.conn.execute("PRAGMA table_info(messages)")}
                if "approval_status" not in cols:
                    self.conn.execute("ALTER TABLE messages ADD COLUMN approval_status TEXT")
                if "approval_resolved_at" not in cols:
                    self.conn.execute("ALTER TABLE messages ADD COLUMN approval_resolved_at INTEGER")
            self.conn.execute("INSERT OR REPLACE INTO schema_migrations(version, applied_at) VALUES (1, 0)")

    def get_or_create_project(self, name: str, path: str, source: str) -> int:
        row = self.conn.execute("SELECT id FROM projects WHERE path = ?", (path,)).fetchone()
        if row:
            self.conn.execute("UPDATE projects SET updated_at = 2 WHERE id = ?", (row[0],))
            return row[0]
        self.conn.execute("INSERT INTO projects(name, path, source, encoded_dir_name, created_at, updated_at) "
                          "VALUES (?, ?, ?, NULL, 1, 1)", (name, path, source))
        return self.conn.last_insert_rowid()

    def upsert_session(self, session_id: str, project_id: int) -> None:
        self.conn.execute("INSERT INTO sessions(session_id, project_id, created_at, updated_at) VALUES (?, ?, 1, 1) "
                          "ON CONFLICT(session_id) DO UPDATE SET updated_at = excluded.updated_at",
                          (session_id, project_id))

    def insert_messages(self, session_id: str, rows: list[tuple[str, str, str, int, int]]) -> int:
        """rows: (uuid, type, content, timestamp, sequence); per-row errors swallowed as the original did."""
        inserted = 0
        with self.conn:
            for uuid, mtype, content, ts, seq in rows:
                try:
                    self.conn.execute(
                        "INSERT INTO messages (session_id, uuid, type, content_text, content_full, timestamp, "
                        "sequence, source, channel, model, tool_call_id, tool_name, tool_args, raw, "
                        "approval_status, approval_resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, "
                        "NULL, NULL, NULL, NULL, NULL, NULL) ON CONFLICT(uuid) DO NOTHING",
                        (session_id, uuid, mtype, content, content, ts, seq))
                    inserted += self.conn.changes()
                except apsw.Error:
                    pass
            self.conn.execute("UPDATE sessions SET message_count = (SELECT COUNT(*) FROM messages WHERE "
                              "session_id = ?1), updated_at = 3 WHERE session_id = ?1", (session_id,))
        return inserted

    def search(self, query: str) -> list[int]:
        escaped = " OR ".join('"' + w.replace('"', '""') + '"' for w in query.split())
        return [r[0] for r in self.conn.execute(
            "SELECT m.id FROM messages_fts JOIN messages m ON messages_fts.rowid = m.id "
            "JOIN sessions s ON m.session_id = s.session_id JOIN projects p ON s.project_id = p.id "
            "WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts)", (escaped,))]

    def update_approval_by_tool_call_id(self, tool_call_id: str, status: str, resolved_at: int) -> int:
        self.conn.execute("UPDATE messages SET approval_status = ?, approval_resolved_at = ? WHERE tool_call_id = ?",
                          (status, resolved_at, tool_call_id))
        return self.conn.changes()

    def close(self) -> None:
        self.conn.close()
