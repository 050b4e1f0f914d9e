"""Search latency on the seeded 1M-message database (build it with build_search_db.py).

    python bench/search_bench.py --db bench/out/search-1m.db

Runs a fixed query mix (rare and very common terms, phrase, prefix, CJK, code
tokens, with and without filters, every order), top 20 each, several rounds, and
prints each query's median and the p50/p99 over all calls. Timings are wall clock
on whatever machine runs it: compare runs made side by side.

Beside each score-order query it prints the overlap of the top 20 with the exact
top 20 (untimed): FTS5's ``bm25()`` over every match of the same expression and
filters, in each index the search uses (``messages_fts``, and ``messages_cjk``
when the database has CJK text), the better score where a row is in both, ties to
the newer row. ``--explain-exhaustive`` also times that exhaustive ranking per query.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import TextGenerator  # noqa: E402

from sessiondb import DbConfig, SearchOrder, SessionDB  # noqa: E402
from sessiondb.search.plans import SearchFilters  # noqa: E402
from sessiondb.search.query import parse_query  # noqa: E402

_FILTER_ARGS = {"project_id": "project_id", "source": "source", "role": "role", "since": "since_ms",
                "until": "until_ms", "session_prefix": "session_prefix"}


def exact_top(db: SessionDB, query: str, limit: int = 20, **kw: object) -> tuple[list[int], float]:
    """The exact top ``limit`` in score order, and the seconds it took to rank every match."""
    parsed = parse_query(query)
    filters = SearchFilters(**{_FILTER_ARGS[k]: v for k, v in kw.items() if k in _FILTER_ARGS})
    conn = db._store.connection()
    best: dict[int, float] = {}
    indexes = [] if parsed.requires_cjk else ["messages_fts"]
    if db._store.has_cjk_index:
        indexes.append("messages_cjk")
    t0 = time.perf_counter()
    for index in indexes:
        # With an exclusion, the rows with CJK text are the side index's (README, Search).
        only = (" AND m.id NOT IN (SELECT rowid FROM messages_cjk UNION SELECT message_id FROM messages_cjk_pending)"
                if index == "messages_fts" and parsed.negative and db._store.has_cjk_index else "")
        sql = (f"SELECT {index}.rowid, bm25({index}) FROM {index} CROSS JOIN messages m ON m.id = {index}.rowid "
               f"WHERE {index} MATCH ? AND {filters.sql}{only}")
        for rowid, score in conn.execute(sql, [parsed.fts(cjk_index=index == "messages_cjk"), *filters.params]):
            if rowid not in best or score < best[rowid]:
                best[rowid] = score
    return sorted(best, key=lambda r: (best[r], -r))[:limit], time.perf_counter() - t0


def query_mix(db: SessionDB) -> list[tuple[str, str, dict]]:
    text = TextGenerator(42)  # the builder's seed: same vocabulary
    rare = text.words[40_000]
    mid = text.words[400]
    cjk2 = next(w for w in text.cjk_words if len(w) == 2)
    cjk4 = next(w for w in text.cjk_words if len(w) == 4)
    projects = db.list_projects_with_stats(limit=None)
    big = max(projects, key=lambda p: p.message_count)
    small = min(projects, key=lambda p: p.message_count)
    session = db.get_sessions(limit=1)[0].session_id
    newest = db._store.read_value("SELECT MAX(timestamp) FROM messages")
    month = 30 * 24 * 3600 * 1000
    return [
        ("rare term", rare, {}),
        ("mid term", mid, {}),
        ("very common term", "the", {}),
        ("two common terms", "file error", {}),
        ("common phrase", '"the file"', {}),
        ("prefix", "sess*", {}),
        ("OR of terms", f"{rare} OR {mid}", {}),
        ("exclusion", "error -the", {}),
        ("code: snake_case part", "session_file", {}),
        ("code: path", "src/sessiondb/db.py", {}),
        ("code: dotted", "SessionDB.connect", {}),
        ("CJK 2 chars", cjk2, {}),
        ("CJK 4 chars", cjk4, {}),
        ("CJK + latin", f"{cjk2} the", {}),
        ("common, newest first", "the", {"order": SearchOrder.TIME_DESC}),
        ("rare, oldest first", rare, {"order": SearchOrder.TIME_ASC}),
        ("common, big project", "the", {"project_id": big.id}),
        ("common, small project", "error", {"project_id": small.id}),
        ("common, one session", "the", {"session_prefix": session[:8]}),
        ("common, role user", "file", {"role": "user"}),
        ("common, last 30 days", "error", {"since": newest - month}),
        ("mid, source codex", mid, {"source": "codex"}),
        ("common, last 30 days, newest", "the", {"since": newest - month, "order": SearchOrder.TIME_DESC}),
        ("CJK, project", cjk2, {"project_id": big.id}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="bench/out/search-1m.db")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--explain-exhaustive", action="store_true",
                    help="also print how long ranking every match takes (FTS5 bm25) per query")
    args = ap.parse_args()
    db = SessionDB.connect(DbConfig.local(args.db, read_only=True))
    total = db.get_stats().message_count
    mix = query_mix(db)
    for _, q, kw in mix:  # warm the page cache
        db.search(q, **kw)
    all_ms: list[float] = []
    print(f"{total:,} messages, {len(mix)} queries x {args.rounds} rounds, top 20\n")
    overlaps: list[float] = []
    extra = f" {'exh. ms':>8}" if args.explain_exhaustive else ""
    print(f"{'query':34} {'median ms':>9} {'max ms':>8} {'hits':>5} {'overlap':>7}{extra}  plan")
    for label, q, kw in mix:
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            hits = db.search(q, limit=20, **kw)
            times.append((time.perf_counter() - t0) * 1000)
        all_ms.extend(times)
        overlap, exhaustive = "", ""
        if kw.get("order", SearchOrder.SCORE) is SearchOrder.SCORE:
            exact, seconds = exact_top(db, q, 20, **kw)
            share = len(set(exact) & {h.message_id for h in hits}) / len(exact) if exact else 1.0
            overlaps.append(share)
            overlap = f"{share:.2f}"
            exhaustive = f" {seconds * 1000:8.1f}" if args.explain_exhaustive else ""
        elif args.explain_exhaustive:
            exhaustive = f" {'':8}"
        print(f"{label:34} {statistics.median(times):9.2f} {max(times):8.2f} {len(hits):5d} {overlap:>7}{exhaustive}  "
              f"{','.join(db.last_search_plans)}")
    all_ms.sort()
    p50 = all_ms[len(all_ms) // 2]
    p99 = all_ms[min(len(all_ms) - 1, int(len(all_ms) * 0.99))]
    print(f"\nall {len(all_ms)} calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms (targets: p50 <= 5 ms, p99 <= 50 ms)")
    if overlaps:
        print(f"score order, overlap with the exact top 20: mean {statistics.mean(overlaps):.2f}, "
              f"min {min(overlaps):.2f} over {len(overlaps)} queries (targets: mean >= 0.9, each >= 0.7)")


if __name__ == "__main__":
    main()
