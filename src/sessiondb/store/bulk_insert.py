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

from . import cjk_index, rank_index, schema
from .connection import scalar

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

# Where a staged message row holds its uuid and its text (schema.MESSAGE_INSERT_COLUMNS).
_UUID = 1
_CONTENT = rank_index.CONTENT_COLUMN


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


def insert_then_index(conn: apsw.Connection, triggers: list[tuple[str, str]],
                      insert: Callable[[], tuple[Sequence[tuple[Any, ...]], int]]) -> int:
    """Run ``insert`` with the insert ``triggers`` out: it adds message rows in the order
    of the rows it returns (a uuid already stored, or repeated, is skipped) and says how
    many it inserted. Then
    index the new rows as the triggers would have, from the text in memory (reading it
    back would cost as much again), and put the triggers back. Returns how many rows
    were inserted."""
    first_id = int(scalar(conn, "SELECT MAX(id) FROM messages") or 0) + 1
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    rows, inserted = insert()
    if inserted == len(rows):
        # Every row is new: ids were given in order, ending at the last one.
        last = conn.last_insert_rowid()
        new = list(zip(range(last - inserted + 1, last + 1), (row[_CONTENT] for row in rows)))
    else:
        texts: dict[str, str] = {}
        for row in rows:
            texts.setdefault(row[_UUID], row[_CONTENT])
        new = [(message_id, texts[uuid]) for message_id, uuid in
               conn.execute("SELECT id, uuid FROM messages WHERE id >= ? ORDER BY id", (first_id,))]
    conn.executemany("INSERT INTO messages_fts(rowid, content_full) VALUES (?, ?)", new)
    # What the CJK queue's trigger and its drain do, for the rows with CJK text.
    cjk_index.add_rows(conn, new, rank_index.list_cjk_rows)
    for _, sql in triggers:
        conn.execute(sql)
    return inserted
