"""The SQLite floor of a cold ingest: how fast plain SQLite builds the same database.

    python bench/sqlite_floor.py --from bench/out/ingest.db --db bench/out/floor.db

Reads every row a collection stored (projects, sessions, messages, file states, token
counts, the rank index's final rows, and the CJK side index's text, spaced as the
library spaces it) into memory first, untimed.
Then, timed, builds the same tables, indexes and full-text content in a new database
with the library's schema and connection settings (16 KiB pages, WAL,
synchronous=NORMAL), triggers off, bulk inserts in id order into the indexed tables,
by two routes, and reports the faster:

- one transaction, one FTS5 ``rebuild`` at the end, the CJK side index filled with
  one statement;
- batches of about BATCH_BYTES of text, each in its own transaction: the messages, then
  their FTS5 content with one ``INSERT ... SELECT`` and their CJK text. On files with
  long messages this is the faster one (one transaction over 700 MB of text took 1.6x
  as long: its WAL grows past the page cache).

No faster plain route was found: creating the indexes after the load instead
(``--indexes-after``, one transaction) is printed for comparison.

``ingest_bench.py cold`` runs this in a child process after its collection, so both
are measured in the same run on the same rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import apsw  # noqa: E402

from sessiondb import DbConfig, SessionDB  # noqa: E402
from sessiondb.store import cjk_index  # noqa: E402

TABLES = ("projects", "sessions", "messages", "file_state", "usage")
# The rank index's tables, where the collection built them: plain SQLite inserts their
# final rows, in key order (the fastest route; the library computes them as it goes).
RANK_TABLES = {"messages_rank_state": "id", "messages_rank_terms": "term",
               "messages_rank_postings": "term, impact, message_id"}
# The FTS5 buffer a bulk build is given (SQLite's default is 1 MiB); the faster of the
# two is the floor, so try both on a small run if in doubt.
FTS_HASH_BYTES = 16 << 20
# Text per transaction of the batched route.
BATCH_BYTES = 64 << 20


def load_rows(source: Path) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    conn = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    out = {}
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in TABLES + tuple(t for t in RANK_TABLES if t in present):
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        order = f"ORDER BY {RANK_TABLES[table]}" if table in RANK_TABLES else "ORDER BY id" if "id" in columns else ""
        out[table] = (columns, list(conn.execute(f"SELECT {', '.join(columns)} FROM {table} {order}")))
    conn.close()
    return out


def build(rows: dict[str, tuple[list[str], list[tuple[object, ...]]]], target: Path, *,
          indexes_after: bool = False, batch_bytes: int | None = None) -> dict[str, object]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    SessionDB.connect(DbConfig.local(target)).close()   # the library's schema, empty
    conn = apsw.Connection(str(target))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-32768")
    triggers = list(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    indexes = list(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    if indexes_after:
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
    messages = rows["messages"][1]
    content = rows["messages"][0].index("content_full")
    # Untimed: the CJK index's text, made as the library makes it.
    cjk = [(row[0], cjk_index.spaced_cjk(row[content])) for row in messages if cjk_index.has_cjk(row[content])]
    message_count = len(messages)

    started = time.perf_counter()
    cpu = time.process_time()
    if batch_bytes is not None:
        _batched(conn, rows, dict(cjk), batch_bytes, triggers)
        return _timed(conn, started, cpu, message_count, len(cjk), route="batched")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)", (FTS_HASH_BYTES,))
    _insert_tables(conn, rows, (t for t in rows if t in TABLES or t in RANK_TABLES))
    if indexes_after:
        for _, sql in indexes:
            conn.execute(sql)
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    conn.executemany("INSERT INTO messages_cjk(rowid, body) VALUES (?, ?)", cjk)
    conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)", (1 << 20,))
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    return _timed(conn, started, cpu, message_count, len(cjk), route="one transaction", indexes_after=indexes_after)


def _batched(conn: apsw.Connection, rows: dict[str, tuple[list[str], list[tuple[object, ...]]]],
             cjk: dict[object, str], batch_bytes: int, triggers: list[tuple[str, str]]) -> None:
    """The batched route: the other tables first, then the messages a batch per transaction."""
    conn.execute("BEGIN IMMEDIATE")
    _insert_tables(conn, rows, (t for t in rows if t != "messages" and (t in TABLES or t in RANK_TABLES)))
    conn.execute("COMMIT")
    columns, messages = rows["messages"]
    content, ident = columns.index("content_full"), columns.index("id")
    insert = _insert_sql("messages", columns)
    at = 0
    while at < len(messages):
        end, size = at, 0
        while end < len(messages) and size < batch_bytes:
            size += len(messages[end][content] or "")  # type: ignore[arg-type]
            end += 1
        batch = messages[at:end]
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)", (FTS_HASH_BYTES,))
        conn.executemany(insert, batch)
        conn.execute("INSERT INTO messages_fts(rowid, content_full) SELECT id, content_full FROM messages "
                     "WHERE id BETWEEN ? AND ?", (batch[0][ident], batch[-1][ident]))
        conn.executemany("INSERT INTO messages_cjk(rowid, body) VALUES (?, ?)",
                         [(row[ident], cjk[row[ident]]) for row in batch if row[ident] in cjk])
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', ?)", (1 << 20,))
        conn.execute("COMMIT")
        at = end
    conn.execute("BEGIN IMMEDIATE")
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _insert_tables(conn: apsw.Connection, rows: dict[str, tuple[list[str], list[tuple[object, ...]]]],
                   tables: Iterable[str]) -> None:
    for table in tables:
        columns, values = rows[table]
        conn.executemany(_insert_sql(table, columns), values)


def _timed(conn: apsw.Connection, started: float, cpu: float, message_count: int, cjk_rows: int,
           **extra: object) -> dict[str, object]:
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    conn.close()
    return {"messages": message_count, "cjk_rows": cjk_rows, "seconds": round(elapsed, 2), "cpu_s": round(cpu, 2),
            "rows_per_s": round(message_count / elapsed), **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, required=True, help="a database a collection built")
    parser.add_argument("--db", type=Path, required=True, help="the database to build (replaced)")
    parser.add_argument("--indexes-after", action="store_true", help="also time creating the indexes after the load")
    args = parser.parse_args()
    rows = load_rows(args.source)
    routes = [build(rows, args.db), build(rows, args.db, batch_bytes=BATCH_BYTES)]
    result = dict(min(routes, key=lambda r: float(r["seconds"])))  # type: ignore[arg-type]
    result["routes"] = {str(r["route"]): r["seconds"] for r in routes}
    if args.indexes_after:
        result["indexes_after_seconds"] = build(rows, args.db, indexes_after=True)["seconds"]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
