"""The PostgreSQL mirror: sync throughput, and search latency on the mirror.

    python bench/build_search_db.py --messages 200000 --out bench/out/search-200k.db
    python bench/mirror_bench.py --db bench/out/search-200k.db                 # a throwaway local server
    python bench/mirror_bench.py --db bench/out/search-1m.db --url postgresql://me@localhost/bench

Without ``--url`` it starts a throwaway cluster (initdb/pg_ctl, as the tests do) in a
temp directory. It syncs the whole database into a fresh mirror database (cold: every
message through binary COPY and the upsert), then once more with nothing new (warm),
then runs the search benchmark's query mix (bench/search_bench.py) on the mirror, top
20, several rounds, printing each query's median and p50/p99 over all calls, and the
same mix on the local file for comparison. ``--compare-index`` also measures the
alternative full-text index (``pg_trgm`` on the token text) on a sample: insert
cost and query time against the chosen ``tsvector`` of tokens.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from search_bench import query_mix  # noqa: E402

from sessiondb import DbConfig, SessionDB  # noqa: E402
from sessiondb.mirror import RemoteArchive, sync  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def remote_kwargs(local: SessionDB, remote: RemoteArchive, kwargs: dict, machine: str) -> dict:
    kwargs = dict(kwargs)
    if "project_id" in kwargs:
        kwargs["project_id"] = remote.get_project_by_path(local.get_project(kwargs["project_id"]).path,
                                                          machine=machine).id
    return kwargs


def time_mix(label: str, handle, mix: list[tuple[str, str, dict]], rounds: int) -> list[float]:
    for _, q, kw in mix:  # warm caches
        handle.search(q, **kw)
    every: list[float] = []
    print(f"\n{label}: {len(mix)} queries x {rounds} rounds, top 20")
    print(f"{'query':34} {'median ms':>9} {'max ms':>8} {'hits':>5}")
    for name, q, kw in mix:
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            hits = handle.search(q, **kw)
            times.append((time.perf_counter() - t0) * 1000)
        every += times
        print(f"{name:34} {statistics.median(times):9.1f} {max(times):8.1f} {len(hits):5}")
    print(f"all {len(every)} calls: p50 {percentile(every, 0.5):.1f} ms, p99 {percentile(every, 0.99):.1f} ms")
    return every


def compare_index(url: str, sample: int) -> None:
    """Fill cost and query time of the two candidate indexes on the same rows: the chosen
    tsvector of tokens (GIN, then strpos) and a pg_trgm index on the token text (LIKE)."""
    import psycopg
    queries = [(" the ", "'the'"), (" session file ", "'session' & 'file'"), (" sess", "'sess':*"),
               (" src sessiondb db py ", "'src' & 'sessiondb' & 'db' & 'py'")]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("DROP TABLE IF EXISTS bench_trgm, bench_tsv")
        for table, index in (("bench_trgm", "USING gin (search_text gin_trgm_ops)"),
                             ("bench_tsv", "USING gin (search_vector)")):
            conn.execute(f"CREATE TABLE {table} AS SELECT * FROM messages WHERE false")
            conn.execute(f"CREATE INDEX ON {table} {index}")
            t0 = time.perf_counter()
            conn.execute(f"INSERT INTO {table} SELECT * FROM messages ORDER BY id LIMIT %s", (sample,))
            elapsed = time.perf_counter() - t0
            size = conn.execute("SELECT pg_size_pretty(pg_indexes_size(%s::regclass))", (table,)).fetchone()[0]
            print(f"{table}: insert {sample:,} rows {elapsed:.1f} s ({sample / elapsed:,.0f} rows/s), index {size}")
        for needle, tsquery in queries:
            for table, cond, params in (
                    ("bench_trgm", "search_text LIKE %s", ("%" + needle + "%",)),
                    ("bench_tsv", "search_vector @@ %s::tsquery AND strpos(search_text, %s) > 0", (tsquery, needle))):
                t0 = time.perf_counter()
                n = conn.execute(f"SELECT count(*) FROM {table} WHERE {cond}", params).fetchone()[0]
                print(f"  {table:10} {needle!r:24} {n:7} matches {(time.perf_counter() - t0) * 1000:8.1f} ms")
        conn.execute("DROP TABLE bench_trgm, bench_tsv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="bench/out/search-200k.db")
    ap.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway local cluster)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--compare-index", type=int, default=0, metavar="ROWS",
                    help="also compare the tsvector index with pg_trgm on this many rows")
    ap.add_argument("--skip-local", action="store_true", help="do not time the local search for comparison")
    args = ap.parse_args()

    cluster = None
    url = args.url
    if url is None:
        from pg_server import Cluster
        cluster = Cluster()
        url = cluster.url(cluster.new_database())
    try:
        local = SessionDB.connect(DbConfig.local(args.db, read_only=True))
        total = local.get_stats().message_count
        print(f"{args.db}: {total:,} messages")
        t0 = time.perf_counter()
        cold = sync(args.db, url, machine="bench", batch_size=args.batch)
        elapsed = time.perf_counter() - t0
        print(f"cold sync: {cold.messages_sent:,} messages in {elapsed:.1f} s = "
              f"{cold.messages_sent / elapsed:,.0f} messages/s ({cold.batches} batches of {args.batch})")
        warm = sync(args.db, url, machine="bench", batch_size=args.batch)
        print(f"warm sync, nothing new: {warm.seconds * 1000:.0f} ms, {warm.changed} rows written")

        remote = RemoteArchive(url)
        mix = query_mix(local)
        remote_mix = [(name, q, remote_kwargs(local, remote, kw, "bench")) for name, q, kw in mix]
        time_mix("mirror (PostgreSQL)", remote, remote_mix, args.rounds)
        if not args.skip_local:
            time_mix("local (SQLite)", local, mix, args.rounds)
        if args.compare_index:
            compare_index(url, args.compare_index)
        remote.close()
        local.close()
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
