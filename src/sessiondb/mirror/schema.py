"""The PostgreSQL schema of the mirror, created and upgraded by versioned migrations.

Every row is keyed by the machine it came from plus the natural key it has in that
machine's SQLite file (a project's path, a session's id, a message's uuid), so any
number of machines share one database and a re-sent row replaces itself. Rows also
carry their SQLite id (``local_id``) for ordering ties the way the local search does.

``messages.search_text`` is the message as the local search sees it: the tokens of
``content_full`` (runs of letters and digits, each CJK character on its own), case-
and accent-folded, joined by single spaces, with a space at each end. A word is then
the substring ``" word "``, a phrase ``" a b "``, a prefix ``" pre"`` and a CJK
substring ``" 文 件 "``: exactly the local semantics. ``search_vector`` holds the same
tokens, distinct, as a ``tsvector`` built by sessiondb (not by PostgreSQL's parser,
whose token rules differ), under a GIN index: it finds the candidate rows (every token
of a term present), and ``strpos`` on ``search_text`` decides. A message with too many
distinct tokens for a ``tsvector`` (1 MB) has none and is always a candidate. (A
``pg_trgm`` index on ``search_text`` was measured too: several times the candidates,
each rechecked with ``LIKE`` over the whole text; see ``bench/mirror_bench.py``.)

Migrations run in one transaction under an advisory lock, so two machines syncing at
once for the first time do not race; each applied version is a row in
``sessiondb_mirror_migrations``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

# Arbitrary constant: the advisory lock that serialises migrations.
MIGRATION_LOCK = 0x5e55_10db

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "machines, projects, sessions, messages", """
CREATE TABLE machines (
    machine TEXT PRIMARY KEY,
    database_path TEXT,
    messages_high_water BIGINT NOT NULL DEFAULT 0,
    high_water_uuid TEXT,
    first_synced_at BIGINT,
    last_synced_at BIGINT,
    sessiondb_version TEXT
);
CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    machine TEXT NOT NULL REFERENCES machines(machine) ON DELETE CASCADE,
    local_id BIGINT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'claude',
    encoded_dir_name TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (machine, path)
);
CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    machine TEXT NOT NULL REFERENCES machines(machine) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    local_id BIGINT NOT NULL,
    project_id BIGINT REFERENCES projects(id),
    message_count BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT,
    cwd TEXT,
    model TEXT,
    channel TEXT,
    file_mtime BIGINT,
    file_size BIGINT,
    meta TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (machine, session_id)
);
CREATE INDEX sessions_updated ON sessions (updated_at DESC, id DESC);
CREATE INDEX sessions_project ON sessions (project_id);
CREATE INDEX sessions_id_prefix ON sessions (session_id text_pattern_ops);
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    machine TEXT NOT NULL REFERENCES machines(machine) ON DELETE CASCADE,
    uuid TEXT NOT NULL,
    local_id BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content_text TEXT NOT NULL,
    content_full TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    sequence BIGINT NOT NULL,
    source TEXT,
    channel TEXT,
    model TEXT,
    tool_call_id TEXT,
    tool_name TEXT,
    tool_args TEXT,
    raw TEXT,
    approval_status TEXT,
    approval_resolved_at BIGINT,
    search_text TEXT NOT NULL,
    search_vector TSVECTOR,
    token_count INTEGER NOT NULL,
    digest BYTEA NOT NULL,
    UNIQUE (machine, uuid)
);
CREATE INDEX messages_session ON messages (machine, session_id, sequence, local_id);
CREATE INDEX messages_time ON messages (timestamp, machine, local_id);
CREATE INDEX messages_approval ON messages (machine, uuid) WHERE approval_status IS NOT NULL;
"""),
    (2, "full-text index over the search tokens", """
CREATE INDEX messages_search ON messages USING gin (search_vector);
CREATE INDEX messages_unindexed ON messages (id) WHERE search_vector IS NULL;
"""),
)

LATEST_VERSION = MIGRATIONS[-1][0]


def migrate(conn: Connection[TupleRow]) -> list[int]:
    """Apply the missing migrations; returns the versions applied now (empty if current)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS sessiondb_mirror_migrations ("
                     "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        done = {row[0] for row in conn.execute("SELECT version FROM sessiondb_mirror_migrations")}
        applied = []
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO sessiondb_mirror_migrations(version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(version)
    return applied


def current_version(conn: Connection[TupleRow]) -> int:
    """The highest applied version, 0 for a database the mirror has never touched."""
    exists = conn.execute("SELECT to_regclass('sessiondb_mirror_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return 0
    latest = conn.execute("SELECT COALESCE(MAX(version), 0) FROM sessiondb_mirror_migrations").fetchone()
    return 0 if latest is None else int(latest[0])
