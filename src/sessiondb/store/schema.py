"""The database schema: the original crate's tables (a public contract) plus our own.

The original's tables, columns, types, constraints, index names, ``messages_fts`` and
its triggers are reproduced here (reference §1.3-1.5); other programs read them
directly. Everything this library adds lives in new tables (``messages_cjk*``,
``file_state``) and is recorded in ``schema_migrations`` as version 2 and up, so the
original library, which only knows version 1, opens our files and skips its migration.
"""

from __future__ import annotations

import apsw

from . import cjk_index
from ..timeutil import now_ms

# The columns of a message row as the insert paths stage it (all but id and vector_indexed).
MESSAGE_INSERT_COLUMNS = ("session_id, uuid, type, content_text, content_full, timestamp, sequence, source, channel, "
                          "model, tool_call_id, tool_name, tool_args, raw, approval_status, approval_resolved_at")


# Version 1 is the original's migration (approval columns). Version 2 adds the CJK side
# index and fills in columns missing from old files. Version 3 adds file_state; version
# 4 gives it the parser state (an earlier, pre-release shape is recreated: it only
# remembers read positions, so the next collection rereads those files and dedups).
# Version 5 adds usage (filled by the next collection: the sources' parser versions
# changed with it). Version 6 adds the rank index (sessiondb.store.rank_index); version 7
# its lists of the CJK side index.
LATEST_VERSION = 7

_NOW_MS = "(strftime('%s','now') * 1000)"

ORIGINAL_TABLES = f"""
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'claude',
    encoded_dir_name TEXT,
    created_at INTEGER NOT NULL DEFAULT {_NOW_MS},
    updated_at INTEGER NOT NULL DEFAULT {_NOW_MS}
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    message_count INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER,
    cwd TEXT,
    model TEXT,
    channel TEXT,
    file_mtime INTEGER,
    file_size INTEGER,
    meta TEXT,
    created_at INTEGER NOT NULL DEFAULT {_NOW_MS},
    updated_at INTEGER NOT NULL DEFAULT {_NOW_MS}
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
    channel TEXT,
    model TEXT,
    tool_call_id TEXT,
    tool_name TEXT,
    tool_args TEXT,
    raw TEXT,
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
"""

APPROVAL_INDEXES = """
CREATE INDEX IF NOT EXISTS idx_messages_approval_status ON messages(approval_status)
    WHERE approval_status IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_messages_approval_pending ON messages(session_id, approval_status)
    WHERE approval_status = 'pending';
"""

# messages_au fires only when content_full changes. The original fired it on every
# column update, so approval and vector-index updates rewrote FTS rows for nothing
# (reference §8.2 #20); the index content is the same either way.
ORIGINAL_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content_full, content='messages', content_rowid='id', tokenize='unicode61');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content_full) VALUES (new.id, new.content_full);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_full) VALUES ('delete', old.id, old.content_full);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF content_full ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_full) VALUES ('delete', old.id, old.content_full);
    INSERT INTO messages_fts(rowid, content_full) VALUES (new.id, new.content_full);
END;
"""

WRITER_REGISTRY = """
CREATE TABLE IF NOT EXISTS writer_registry (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    writer_type TEXT NOT NULL,
    writer_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    heartbeat INTEGER NOT NULL,
    registered_at INTEGER NOT NULL
);
"""

_NEW_NON_ASCII = cjk_index.NON_ASCII_SQL.format("new.content_full")
CJK_INDEX = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS messages_cjk USING fts5(
    body, content='', contentless_delete=1, tokenize='unicode61');
CREATE TABLE IF NOT EXISTS messages_cjk_pending (message_id INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS messages_cjk_ai AFTER INSERT ON messages
WHEN {_NEW_NON_ASCII} BEGIN
    INSERT OR IGNORE INTO messages_cjk_pending(message_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS messages_cjk_ad AFTER DELETE ON messages BEGIN
    DELETE FROM messages_cjk WHERE rowid = old.id;
    DELETE FROM messages_cjk_pending WHERE message_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS messages_cjk_au AFTER UPDATE OF content_full ON messages BEGIN
    DELETE FROM messages_cjk WHERE rowid = old.id;
    INSERT OR IGNORE INTO messages_cjk_pending(message_id)
        SELECT new.id WHERE {_NEW_NON_ASCII};
END;
"""

# The rank index (sessiondb.store.rank_index): lists per frequent term, their state, and
# the queue of rewritten or deleted rows (filled by triggers, so by every writer).
def _rank_tables(name: str) -> str:
    """One index's list tables (``{name}_state``, ``_terms``, ``_postings``, ``_dirty``)."""
    return f"""
CREATE TABLE IF NOT EXISTS {name}_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    built_through INTEGER NOT NULL,
    avgdl REAL NOT NULL,
    sampled_rows INTEGER NOT NULL  -- the index's size (rank_index.Lists.size) when the floors were chosen
);
CREATE TABLE IF NOT EXISTS {name}_terms (
    term TEXT PRIMARY KEY,
    floor REAL NOT NULL,
    docs INTEGER NOT NULL,
    listed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {name}_postings (
    term TEXT NOT NULL,
    impact REAL NOT NULL,
    message_id INTEGER NOT NULL,
    tf INTEGER NOT NULL,
    dl INTEGER NOT NULL,
    PRIMARY KEY (term, impact, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {name}_dirty (message_id INTEGER PRIMARY KEY);
"""


RANK_INDEX = _rank_tables("messages_rank") + """
CREATE TRIGGER IF NOT EXISTS messages_rank_au AFTER UPDATE OF content_full ON messages BEGIN
    INSERT OR IGNORE INTO messages_rank_dirty(message_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS messages_rank_ad AFTER DELETE ON messages BEGIN
    INSERT OR IGNORE INTO messages_rank_dirty(message_id) VALUES (old.id);
END;
"""

_OLD_NON_ASCII = cjk_index.NON_ASCII_SQL.format("old.content_full")
# The same for the CJK side index: its rows are the messages with CJK text, so only a
# row whose old text was not pure ASCII can leave it.
CJK_RANK_INDEX = _rank_tables("messages_cjk_rank") + f"""
CREATE TRIGGER IF NOT EXISTS messages_cjk_rank_au AFTER UPDATE OF content_full ON messages
WHEN {_OLD_NON_ASCII} BEGIN
    INSERT OR IGNORE INTO messages_cjk_rank_dirty(message_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS messages_cjk_rank_ad AFTER DELETE ON messages
WHEN {_OLD_NON_ASCII} BEGIN
    INSERT OR IGNORE INTO messages_cjk_rank_dirty(message_id) VALUES (old.id);
END;
"""

RANK_INDEX_OBJECTS = frozenset({"messages_rank_state", "messages_rank_terms", "messages_rank_postings",
                     "messages_rank_dirty", "messages_rank_au", "messages_rank_ad",
                     "messages_cjk_rank_state", "messages_cjk_rank_terms", "messages_cjk_rank_postings",
                     "messages_cjk_rank_dirty", "messages_cjk_rank_au", "messages_cjk_rank_ad"})

# Per source file (or other unit a source reads): what was read, so that a rescan reads
# only what is new. ``path`` is the unit's key: a file path, or ``<database>#<session>``
# for a session inside another program's database. ``byte_offset`` is just past the last
# complete line read; ``prefix_hash`` fingerprints the bytes before it (for units read
# whole: a digest of their files); ``parser_state`` is the parser's JSON state to resume
# an append with; ``bad_lines``/``first_error`` count the lines that could not be used.
FILE_STATE = """
CREATE TABLE IF NOT EXISTS file_state (
    path TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    session_id TEXT,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    prefix_hash TEXT NOT NULL,
    parser_version INTEGER NOT NULL,
    parser_state TEXT,
    bad_lines INTEGER NOT NULL DEFAULT 0,
    first_error TEXT,
    updated_at INTEGER NOT NULL
);
"""

# Columns an old database may lack, added with their schema defaults (reference §8.2 #25:
# the original only migrated the approval columns and failed to open older files).
_ADDABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "projects": (("source", "TEXT NOT NULL DEFAULT 'claude'"), ("encoded_dir_name", "TEXT")),
    "sessions": (("message_count", "INTEGER NOT NULL DEFAULT 0"), ("last_message_at", "INTEGER"),
                 ("cwd", "TEXT"), ("model", "TEXT"), ("channel", "TEXT"), ("file_mtime", "INTEGER"),
                 ("file_size", "INTEGER"), ("meta", "TEXT")),
    "messages": (("source", "TEXT DEFAULT 'claude'"), ("channel", "TEXT"), ("model", "TEXT"),
                 ("tool_call_id", "TEXT"), ("tool_name", "TEXT"), ("tool_args", "TEXT"), ("raw", "TEXT"),
                 ("vector_indexed", "INTEGER DEFAULT 0"), ("approval_status", "TEXT"),
                 ("approval_resolved_at", "INTEGER")),
}

_REQUIRED_OBJECTS = frozenset({
    "schema_migrations", "projects", "sessions", "messages", "writer_registry", "messages_fts",
    "messages_ai", "messages_ad", "messages_au", "messages_cjk", "messages_cjk_pending",
    "messages_cjk_ai", "messages_cjk_ad", "messages_cjk_au", "file_state", "usage",
    "idx_messages_approval_status", "idx_messages_approval_pending",
}) | RANK_INDEX_OBJECTS


# Token counts, one row per model call (see ``store.usage``). ``usage_key`` names the
# call across the source's files (the same call read twice is one row); ``session_id``
# and ``message_uuid`` are the session and message it was first stored with. Counts are
# apart: input without cache, output without reasoning.
USAGE = """
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    usage_key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    message_uuid TEXT,
    request_id TEXT,
    model TEXT,
    timestamp INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    reported_cost REAL,
    UNIQUE (source, usage_key)
);
CREATE INDEX IF NOT EXISTS idx_usage_session ON usage(session_id);
CREATE INDEX IF NOT EXISTS idx_usage_timestamp ON usage(timestamp);
"""


def schema_version(conn: apsw.Connection) -> int:
    """Highest version in ``schema_migrations``; 0 when the table is missing or empty."""
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except apsw.SQLError:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def existing_objects(conn: apsw.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def is_current(conn: apsw.Connection) -> bool:
    """True when nothing needs creating or migrating (so connect needs no write lock)."""
    return schema_version(conn) >= LATEST_VERSION and _REQUIRED_OBJECTS <= existing_objects(conn)


def ensure_schema(conn: apsw.Connection) -> None:
    """Create or upgrade the schema in one ``BEGIN IMMEDIATE`` transaction.

    Idempotent; two processes racing here serialise on the write lock and the second
    finds nothing to do.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        _migrate(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _migrate(conn: apsw.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
    version = schema_version(conn)
    had_messages = "messages" in existing_objects(conn)
    if had_messages and version < 2:
        _add_missing_columns(conn)
    conn.execute(ORIGINAL_TABLES)
    conn.execute(APPROVAL_INDEXES)
    if had_messages and version < 2:
        # Replace the original's every-column update trigger with the content-only one.
        conn.execute("DROP TRIGGER IF EXISTS messages_au")
    conn.execute(ORIGINAL_FTS)
    conn.execute(WRITER_REGISTRY)
    conn.execute(CJK_INDEX)
    if version < 4 and "file_state" in existing_objects(conn):
        if "parser_state" not in {row[1] for row in conn.execute("PRAGMA table_info(file_state)")}:
            conn.execute("DROP TABLE file_state")
    conn.execute(FILE_STATE)
    conn.execute(USAGE)
    conn.execute(RANK_INDEX)
    conn.execute(CJK_RANK_INDEX)
    if had_messages and version < 2:
        # Queue the CJK messages written before this index existed.
        conn.execute("INSERT OR IGNORE INTO messages_cjk_pending(message_id) SELECT id FROM messages "
                     f"WHERE {cjk_index.NON_ASCII_SQL.format('content_full')}")
    applied = now_ms()
    conn.executemany("INSERT OR IGNORE INTO schema_migrations(version, applied_at) VALUES (?, ?)",
                     [(v, applied) for v in range(1, LATEST_VERSION + 1)])


def _add_missing_columns(conn: apsw.Connection) -> None:
    for table, columns in _ADDABLE_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if not present:
            continue
        for name, decl in columns:
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
