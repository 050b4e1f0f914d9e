"""A large batch of new messages indexed once, instead of row by row by the insert triggers.

The schema's AFTER INSERT triggers (``messages_ai`` into ``messages_fts``,
``messages_cjk_ai`` into the CJK queue) are a public contract: every writer, the
original library included, relies on them. For a large batch, inside the writer's own
transaction, the collector's write path takes them out for the length of its INSERT,
then does their work in one statement each (``messages_fts`` for the new ids, the CJK
index directly instead of through its queue) and puts them back before the transaction
commits. No other connection ever sees the schema without them (they read the last
commit; the writer holds the write lock), and a failure rolls the whole change back.
Each row through a trigger costs the same work plus a trigger program per row, and, when
rows come one statement at a time, an FTS5 flush per statement; this path is what
plain SQLite needs for the same rows.

Only triggers exactly as this schema creates them are taken out; a database whose
insert triggers differ (another program added or changed one) keeps the row-by-row path.
"""

from __future__ import annotations

import functools
import re

import apsw

from . import cjk_index, schema
from .connection import scalar

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable


def _normal(sql: str) -> str:
    return " ".join(sql.replace("IF NOT EXISTS ", "").split()).rstrip(";")


@functools.cache
def _expected() -> dict[str, str]:
    """The insert triggers on ``messages`` this schema creates, by name (normalised SQL)."""
    found = {}
    for text in (schema.ORIGINAL_FTS, schema.CJK_INDEX):
        for match in re.finditer(r"CREATE TRIGGER IF NOT EXISTS (\w+) AFTER INSERT ON messages\b.*?END;", text,
                                 re.S):
            found[match.group(1)] = _normal(match.group(0))
    return found


def insert_triggers(conn: apsw.Connection) -> list[tuple[str, str]] | None:
    """The insert triggers of ``messages`` (name, SQL) when they are exactly this schema's,
    else None (then they must run row by row)."""
    expected = _expected()
    found = []
    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                  "AND tbl_name = 'messages'"):
        normal = _normal(sql or "")
        if name in expected:
            if normal != expected[name]:
                return None
            found.append((name, sql))
        elif re.search(r"\bINSERT\s+ON\b", normal, re.I):
            return None   # someone else's insert trigger: keep the row-by-row path
    return found if len(found) == len(expected) else None


def insert_then_index(conn: apsw.Connection, triggers: list[tuple[str, str]], insert: Callable[[], None]) -> None:
    """Run ``insert`` (which adds rows to ``messages``) with the insert ``triggers`` out,
    then index the new rows as they would have and put the triggers back."""
    first_id = int(scalar(conn, "SELECT MAX(id) FROM messages") or 0) + 1
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    insert()
    conn.execute("INSERT INTO messages_fts(rowid, content_full) SELECT id, content_full FROM messages "
                 "WHERE id >= ?", (first_id,))
    # What the queue's trigger and its drain do, for rows with CJK text (the SQL test
    # first: most rows are pure ASCII and never reach the Python function).
    conn.execute("INSERT INTO messages_cjk(rowid, body) SELECT id, sessiondb_spaced_cjk(content_full) "
                 f"FROM messages WHERE id >= ? AND {cjk_index.NON_ASCII_SQL.format('content_full')} "
                 "AND sessiondb_has_cjk(content_full)", (first_id,))
    for _, sql in triggers:
        conn.execute(sql)
