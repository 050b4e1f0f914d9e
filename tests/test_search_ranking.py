"""Score order is FTS5's bm25(), exactly: the rank index finds the true best matches.

The database is big enough that ranking only the newest matches would be wrong (the
best matches are the oldest rows), with small list sizes so that the lists, their
floors, trimming and the fallbacks all come into play. Rows are also written the
way the original library writes them (plain SQL through its triggers), rewritten,
deleted, and written by a process killed in the middle of its transaction.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from sessiondb import DbConfig, MessageInput, MessageType, SearchOrder, SessionDB
from sessiondb.search.plans import SearchFilters
from sessiondb.search.query import parse_query
from sessiondb.search import topk
from sessiondb.search.topk import stretched
from sessiondb.store import rank_index

BASE_TS = 1_735_689_600_000
COMMON = "the file error session test data query index value code path build".split()
WORDS = COMMON + [f"w{i}" for i in range(400)]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(WORDS))]
SMALL_LISTS = {"MIN_DOCS": 40, "LIST_ROWS": 150, "SAMPLE_ROWS": 800, "EXTEND_PER_WRITE": 700}


def _message(rng: random.Random, old: bool) -> str:
    # Old rows are short and repeat words: they score best, and sit furthest from the newest.
    n = rng.randint(2, 6) if old else rng.randint(8, 60)
    words = rng.choices(WORDS, WEIGHTS, k=n)
    if old:
        words += words[:2]
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), "parse_session_file")
    return " ".join(words)


def _fill(db: SessionDB, sessions: int = 40, per_session: int = 110, seed: int = 5) -> None:
    rng = random.Random(seed)
    projects = [db.get_or_create_project(f"p{i}", f"/work/p{i}", "claude" if i % 2 else "codex")
                for i in range(4)]
    for s in range(sessions):
        sid = f"s{s:03d}"
        db.upsert_session(sid, projects[s % len(projects)])
        old = s < 6
        rows = [MessageInput(f"{sid}:{i}", MessageType.USER if i % 3 == 0 else MessageType.ASSISTANT,
                             body := _message(rng, old), body, BASE_TS + s * 10_000_000 + i * 1000, i)
                for i in range(per_session)]
        if s == 7:
            rows.append(MessageInput(f"{sid}:cjk", MessageType.USER, "我想用the file方式存储", "我想用the file方式存储",
                                     BASE_TS + s * 10_000_000 + 999_000, per_session))
        db.insert_messages(sid, rows)


@pytest.fixture
def small_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SMALL_LISTS.items():
        monkeypatch.setattr(rank_index, name, value)


@pytest.fixture
def ranked(tmp_path: Path, small_lists: None) -> Iterator[SessionDB]:
    db = SessionDB.connect(DbConfig.local(tmp_path / "ranked.db"))
    _fill(db)
    yield db
    db.close()


def exact_top(db: SessionDB, query: str, limit: int = 20, **filters: object) -> list[tuple[int, float]]:
    """FTS5's bm25() over every match of each index, the better score where a row is in
    both, ties to the newer row. With an exclusion, rows with CJK text are the side index's."""
    parsed = parse_query(query)
    where = SearchFilters(**filters)  # type: ignore[arg-type]
    conn = db._store.connection()
    best: dict[int, float] = {}
    for index in ([] if parsed.requires_cjk else ["messages_fts"]) + ["messages_cjk"]:
        only = (" AND m.id NOT IN (SELECT rowid FROM messages_cjk UNION SELECT message_id FROM messages_cjk_pending)"
                if index == "messages_fts" and parsed.negative else "")
        sql = (f"SELECT {index}.rowid, bm25({index}) FROM {index} CROSS JOIN messages m ON m.id = {index}.rowid "
               f"WHERE {index} MATCH ? AND {where.sql}{only}")
        for rowid, score in conn.execute(sql, [parsed.fts(cjk_index=index == "messages_cjk"), *where.params]):
            if rowid not in best or score < best[rowid]:
                best[rowid] = score
    return sorted(best.items(), key=lambda item: (item[1], -item[0]))[:limit]


def assert_exact(db: SessionDB, query: str, limit: int = 20, **filters: object) -> list[str]:
    search_args = {"project_id": filters.get("project_id"), "role": filters.get("role"),
                   "since": filters.get("since_ms"), "source": filters.get("source"),
                   "session_prefix": filters.get("session_prefix")}
    got = db.search(query, limit=limit, **search_args)  # type: ignore[arg-type]
    want = exact_top(db, query, limit, **filters)
    assert [r.message_id for r in got] == [rowid for rowid, _ in want], (query, db.last_search_plans)
    for result, (_, score) in zip(got, want):
        assert result.score == pytest.approx(score, rel=1e-9, abs=1e-15)
    return list(db.last_search_plans)


QUERIES = ["the", "file", "w3", "w40", "file error", "the file", '"the file"', "session_file", "sess*",
           "t*", "file OR w40", "error -the", "w3 w5 w7", '"w1 w2"', "parse_session_file the"]


def test_best_matches_are_old_so_a_newest_window_would_miss_them(ranked: SessionDB) -> None:
    conn = ranked._store.connection()
    matches = conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'the'").fetchone()[0]
    assert matches > 2000
    newest_500 = {r[0] for r in conn.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'the' ORDER BY rowid DESC LIMIT 500")}
    assert not {rowid for rowid, _ in exact_top(ranked, "the")} & newest_500


@pytest.mark.parametrize("query", QUERIES)
def test_score_order_is_exact_bm25(ranked: SessionDB, query: str) -> None:
    assert_exact(ranked, query)
    assert_exact(ranked, query, limit=3)


def test_the_lists_answer_common_words_and_pairs(ranked: SessionDB) -> None:
    for query in ["the", "file", '"the file"', "sess*", "error -the", "w3 OR w40"]:
        plans = assert_exact(ranked, query)
        assert plans[0].startswith("messages_fts:lists"), (query, plans)


@pytest.mark.parametrize("costs", [(0.0, 1e9), (1e9, 0.0)], ids=["every word by a pass", "rows from text"])
def test_a_prefix_alone_counts_its_words_by_pass_or_from_text(ranked: SessionDB, monkeypatch: pytest.MonkeyPatch,
                                                              costs: tuple[float, float]) -> None:
    # A prefix's listed rows lack some of its words' counts: one FTS5 pass finds them, or
    # the rows are scored from their text; either way the result is the exact one.
    monkeypatch.setattr(topk, "PASS_COST_US", costs[0])
    monkeypatch.setattr(topk, "TEXT_COST_US", costs[1])
    for query in ["t*", "sess*", "f*", "w1*"]:
        for limit in (20, 3):
            plans = assert_exact(ranked, query, limit)
            if query in ("t*", "sess*"):
                assert plans[0].startswith("messages_fts:lists"), (query, plans)


@pytest.mark.parametrize("filters", [
    {"role": "user"}, {"project_id": 2}, {"source": "codex"}, {"since_ms": BASE_TS + 30 * 10_000_000},
    {"session_prefix": "s00"}, {"role": "assistant", "project_id": 1},
])
def test_filters_keep_score_order_exact(ranked: SessionDB, filters: dict[str, object]) -> None:
    for query in ["the", "file error", "the file", "w40", "sess*"]:
        assert_exact(ranked, query, **filters)


def test_offset_pages_follow_the_exact_order(ranked: SessionDB) -> None:
    want = [rowid for rowid, _ in exact_top(ranked, "file", 30)]
    page = ranked.search("file", limit=10, offset=20)
    assert [r.message_id for r in page] == want[20:30]


def test_cjk_rows_rank_beside_the_others(ranked: SessionDB) -> None:
    assert_exact(ranked, "方式")
    assert_exact(ranked, "方式 the")


def _original_writer(db: SessionDB) -> apsw.Connection:
    """A connection that writes as the original library does: rows only, through the triggers."""
    return apsw.Connection(str(db._store.path))


def _insert_raw(conn: apsw.Connection, session: str, uuid: str, text: str, ts: int) -> int:
    conn.execute("INSERT INTO messages(session_id, uuid, type, content_text, content_full, timestamp, sequence, "
                 "source) VALUES (?, ?, 'user', ?, ?, ?, 0, 'claude')", (session, uuid, text, text, ts))
    return conn.last_insert_rowid()


def test_rows_written_without_the_library_are_ranked(ranked: SessionDB) -> None:
    other = _original_writer(ranked)
    best = _insert_raw(other, "s010", "foreign-1", " ".join(["error"] * 8), BASE_TS)
    _insert_raw(other, "s011", "foreign-2", "file error value", BASE_TS + 1)
    state = rank_index.state(ranked._store.connection())
    assert state is not None and state.built_through < best  # not in the lists: the tail
    for query in ["error", "file error", "error -the", "err*"]:
        assert_exact(ranked, query)
    assert ranked.search("error", limit=1)[0].message_id == best
    ranked.catch_up_search_index()  # this library's writer extends the lists over them
    state = rank_index.state(ranked._store.connection())
    assert state is not None and state.built_through >= best
    for query in ["error", "file error", "error -the", "err*"]:
        assert_exact(ranked, query)
    other.close()


def test_rewritten_and_deleted_rows(ranked: SessionDB) -> None:
    top = [rowid for rowid, _ in exact_top(ranked, "the", 3)]
    other = _original_writer(ranked)
    other.execute("UPDATE messages SET content_full = 'nothing here', content_text = 'x' WHERE id = ?", (top[0],))
    other.execute("DELETE FROM messages WHERE id = ?", (top[1],))
    late = int(other.execute("SELECT MAX(id) FROM messages WHERE id < ?", (top[2],)).fetchone()[0])
    other.execute("UPDATE messages SET content_full = ? WHERE id = ?", (" ".join(["the"] * 8), late))
    assert ranked._store.read_value("SELECT COUNT(*) FROM messages_rank_dirty") == 3  # 2 rewritten, 1 deleted
    got = [r.message_id for r in ranked.search("the", limit=20)]
    assert top[0] not in got and top[1] not in got and got[0] == late
    for query in ["the", "nothing", "the file", "t*"]:
        assert_exact(ranked, query)
    # A rebuild forgets the old postings and starts over with the current rows.
    ranked.rebuild_search_index()
    assert ranked._store.read_value("SELECT COUNT(*) FROM messages_rank_dirty") == 0
    for query in ["the", "nothing", "the file"]:
        assert_exact(ranked, query)
    other.close()


def test_more_writes_trim_the_lists_and_keep_them_exact(ranked: SessionDB) -> None:
    conn = ranked._store.connection()
    pid = ranked.get_or_create_project("late", "/late")
    rng = random.Random(9)
    for s in range(6):
        sid = f"late{s}"
        ranked.upsert_session(sid, pid)
        ranked.insert_messages(sid, [MessageInput(f"{sid}:{i}", MessageType.USER, b := _message(rng, True), b,
                                                  BASE_TS + i, i) for i in range(150)])
    listed = conn.execute("SELECT MAX(listed) FROM messages_rank_terms").fetchone()[0]
    assert listed <= 2 * rank_index.LIST_ROWS
    postings = conn.execute("SELECT COUNT(*) FROM messages_rank_postings p JOIN messages_rank_terms t "
                            "ON t.term = p.term WHERE p.impact <= t.floor").fetchone()[0]
    assert postings == 0  # every listed row beats its floor
    for query in QUERIES:
        assert_exact(ranked, query)


def _lists(conn: apsw.Connection) -> tuple[dict[str, tuple[float, int, int]], dict[str, dict[int, float]]]:
    terms = {t: (floor, docs, listed) for t, floor, docs, listed in
             conn.execute("SELECT term, floor, docs, listed FROM messages_rank_terms")}
    postings: dict[str, dict[int, float]] = {t: {} for t in terms}
    for term, message_id, value in conn.execute("SELECT term, message_id, impact FROM messages_rank_postings"):
        postings[term][message_id] = value
    return terms, postings


def test_a_small_index_computes_its_lists_from_its_rows_as_fts5_would_rank_them(
        ranked: SessionDB, monkeypatch: pytest.MonkeyPatch) -> None:
    if rank_index._compiled() is None:
        pytest.skip("sessiondb._rankscan was not built (no C compiler)")
    # The same lists built twice over the same rows: read from FTS5 term by term, then
    # computed from the rows' text in one pass (what an index this small gets).
    conn = ranked._store.connection()
    direct = rank_index.DIRECT_ROWS
    with ranked._store.write():
        monkeypatch.setattr(rank_index, "DIRECT_ROWS", 0)
        rank_index.rebuild(conn)
        read_terms, read = _lists(conn)
        monkeypatch.setattr(rank_index, "DIRECT_ROWS", direct)
        rank_index.rebuild(conn)
        terms, computed = _lists(conn)
    assert len(terms) > 50 and terms.keys() == read_terms.keys()
    conn.register_fts5_function("test_tf_dl", rank_index._tf_dl)  # type: ignore[arg-type]
    avgdl = rank_index.state(conn).avgdl  # type: ignore[union-attr]
    for term, (floor, docs, listed) in terms.items():
        expr = '"' + term.replace('"', '""') + '"'
        exact = {rowid: rank_index.impact(packed >> 32, packed & 0xFFFFFFFF, avgdl) for rowid, packed in conn.execute(
            "SELECT rowid, test_tf_dl(messages_fts) FROM messages_fts WHERE messages_fts MATCH ?", (expr,))}
        assert docs == len(exact) == read_terms[term][1], term
        assert listed == len(computed[term]) <= rank_index._list_size(docs), term
        if docs <= rank_index._list_size(docs):
            assert listed == docs and floor == 0.0, term   # every row with the term is listed
        # Each listed row's impact is its exact one, above the floor; every other row is at most the floor.
        assert all(value == exact[rowid] and value > floor for rowid, value in computed[term].items()), term
        assert all(value <= floor for rowid, value in exact.items() if rowid not in computed[term]), term
        # At least the rows FTS5's ranking lists (it cannot see past its size-th row): a floor as tight or tighter.
        assert read[term].items() <= computed[term].items(), term
        assert floor <= read_terms[term][0], term
    for query in QUERIES:
        assert_exact(ranked, query)


def test_queries_of_several_words_are_proven_from_the_lists(ranked: SessionDB) -> None:
    # Every row of the words' lists is scored, and the floors bound all the others.
    for query in ["the w3", "file w40", "file w40 -w3", "w40 w3 OR the", "sess* w40", "sess*"]:
        plans = assert_exact(ranked, query)
        assert plans[0].startswith("messages_fts:lists"), (query, plans)


def test_a_floor_still_bounds_its_rows_after_the_average_row_length_grew() -> None:
    # What the search's proof rests on: a row at or below a list's floor when the floor
    # was chosen scores at most f(stretched(floor, drift)) now, for one word and for the
    # words of a prefix together (their counts add up in one row).
    top = rank_index.K1 + 1.0
    rng = random.Random(3)
    closest = float("inf")
    for _ in range(20_000):
        avgdl, drift = rng.uniform(5, 400), rng.uniform(1.0, 1.1)
        dl = rng.randint(1, 2000)
        counts = [rng.randint(1, max(1, dl // 3)) for _ in range(rng.randint(1, 3))]
        then = [rank_index.impact(tf, dl, avgdl) for tf in counts]
        now = rank_index.impact(sum(counts), dl, avgdl * drift)
        x = sum(stretched(h, drift) for h in then)
        bound = top * x / (x + 1)
        assert now <= bound * (1 + 1e-12), (counts, dl, avgdl, drift)
        if len(counts) == 1 and drift > 1.05:
            closest = min(closest, bound - now)
            # Without the stretch the old impact is no bound: the row now scores more.
            assert now > then[0]
    assert closest < 1e-3   # and the bound is tight, not merely safe


def test_a_prefix_counts_its_rare_words_beside_its_listed_ones(ranked: SessionDB) -> None:
    # "session" has a list, "sessionx" is too rare for one: a row with both, once and
    # four times, scores for sess* far above anything the list of "session" bounds.
    pid = ranked.get_or_create_project("rare", "/rare")
    ranked.upsert_session("rare", pid)
    text = "session sessionx sessionx sessionx sessionx"
    ranked.insert_messages("rare", [MessageInput("rare:0", MessageType.USER, text, text, BASE_TS, 0)])
    conn = ranked._store.connection()
    assert conn.execute("SELECT 1 FROM messages_rank_terms WHERE term = 'session'").fetchone()
    assert not conn.execute("SELECT 1 FROM messages_rank_terms WHERE term = 'sessionx'").fetchone()
    plans = assert_exact(ranked, "sess*")
    assert plans[0].startswith("messages_fts:lists"), plans
    newest = conn.execute("SELECT MAX(id) FROM messages").fetchone()[0]
    assert ranked.search("sess*", limit=1)[0].message_id == newest


def test_longer_rows_since_the_lists_were_built_keep_them_exact(ranked: SessionDB) -> None:
    # The lists' impacts use the average row length of when their floors were chosen;
    # long rows raise it (by less than a rebuild needs), and rows in no list may now
    # score above the floors they were under: the search's bounds stretch with it.
    conn = ranked._store.connection()
    before = rank_index.state(conn)
    assert before is not None
    pid = ranked.get_or_create_project("long", "/long")
    rng = random.Random(11)
    for s in range(3):
        sid = f"long{s}"
        ranked.upsert_session(sid, pid)
        ranked.insert_messages(sid, [MessageInput(f"{sid}:{i}", MessageType.USER, b := " ".join(
            rng.choices(WORDS, WEIGHTS, k=rng.randint(60, 90))), b, BASE_TS + i, i) for i in range(60)])
    after = rank_index.state(conn)
    rows, tokens = rank_index.fts_totals(conn)
    assert after is not None and after.avgdl == before.avgdl   # the lists were not rebuilt
    assert tokens / rows > 1.02 * after.avgdl                  # but the rows grew longer
    for query in ["the", "file error", "the file", "sess*", "error OR file", '"the file"']:
        assert_exact(ranked, query)


def test_a_large_table_lists_newly_frequent_terms_a_few_per_write(
        ranked: SessionDB, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past AUTO_REBUILD_MAX the lists are never built again by themselves, but a doubled
    # table still gets lists for its newly frequent terms: as many per write as fit in
    # NEW_LISTS_SECONDS (here one each), so that no write transaction grows long.
    monkeypatch.setattr(rank_index, "AUTO_REBUILD_MAX", 0)
    monkeypatch.setattr(rank_index, "NEW_LISTS_SECONDS", 0.0)
    conn = ranked._store.connection()
    sampled = rank_index.state(conn).sampled_rows  # type: ignore[union-attr]
    pid = ranked.get_or_create_project("novel", "/novel")
    rng = random.Random(13)
    counts = [conn.execute("SELECT COUNT(*) FROM messages_rank_terms").fetchone()[0]]
    s = 0
    while rank_index.state(conn).sampled_rows == sampled:  # type: ignore[union-attr]  # until all are listed
        sid = f"novel{s}"
        ranked.upsert_session(sid, pid)
        counts.append(conn.execute("SELECT COUNT(*) FROM messages_rank_terms").fetchone()[0])
        rows = 400 if conn.execute("SELECT MAX(id) FROM messages").fetchone()[0] < 2 * sampled else 1
        ranked.insert_messages(sid, [MessageInput(f"{sid}:{i}", MessageType.USER, b := "novel " + _message(rng, False),
                                                  b, BASE_TS + i, i) for i in range(rows)])
        counts.append(conn.execute("SELECT COUNT(*) FROM messages_rank_terms").fetchone()[0])
        s += 1
        assert s < 500, counts[-10:]
    steps = [b - a for a, b in zip(counts, counts[1:])]
    assert max(steps) == 1 and sum(steps) > 1, steps   # one list per write, over several writes
    assert conn.execute("SELECT COUNT(*) FROM messages_rank_terms WHERE term IN ('novel', 'novel the')"
                        ).fetchone()[0] == 2
    for query in ["novel", "novel the", '"novel the"', "the", "file error"]:
        assert_exact(ranked, query)


def test_writer_killed_in_the_middle_of_extending_the_lists(ranked: SessionDB, tmp_path: Path) -> None:
    path = ranked._store.path
    script = textwrap.dedent(f"""
        import os
        from sessiondb import DbConfig, MessageInput, MessageType, SessionDB
        from sessiondb.store import rank_index
        real = rank_index._store_postings
        def dying(*args):
            real(*args)
            os._exit(9)  # killed with the lists half extended, inside the transaction
        rank_index._store_postings = dying
        db = SessionDB.connect(DbConfig.local({str(path)!r}))
        db.upsert_session("killed", 1)
        db.insert_messages("killed", [MessageInput(f"killed:{{i}}", MessageType.USER, "error " * (1 + i % 3),
                                                   "error " * (1 + i % 3), 1, i) for i in range(400)])
        print("not killed")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stdout + done.stderr
    conn = ranked._store.connection()
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE session_id = 'killed'").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for query in ["error", "the", "file error"]:
        assert_exact(ranked, query)
    ranked.upsert_session("after", 1)
    ranked.insert_messages("after", [MessageInput("after:0", MessageType.USER, "error error", "error error", 1, 0)])
    for query in ["error", "file error"]:
        assert_exact(ranked, query)


def test_a_database_without_lists_ranks_exhaustively(tmp_path: Path) -> None:
    db = SessionDB.connect(DbConfig.local(tmp_path / "few.db"))
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [MessageInput(f"s:{i}", MessageType.USER, f"alpha {'beta ' * (i % 4)}",
                                          f"alpha {'beta ' * (i % 4)}", BASE_TS + i, i) for i in range(50)])
    assert rank_index.state(db._store.connection()) is None  # too few rows for any list
    assert_exact(db, "beta")
    assert db.last_search_plans[0] == "messages_fts:exhaustive"
    assert [r.message_id for r in db.search("beta", order=SearchOrder.TIME_DESC, limit=1)] == [50]
    db.close()


def test_rows_written_through_the_c_abi_are_ranked_and_indexed(ranked: SessionDB, tmp_path: Path) -> None:
    from capi_helpers import isolated_env, library_path

    script = textwrap.dedent(f"""
        import ctypes, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from ctypes_smoke import MessageInputC, load
        lib = load({str(library_path())!r}, pydll=False)
        assert lib.session_db_initialize() == 0
        handle = ctypes.c_void_p()
        assert lib.session_db_connect({str(ranked._store.path)!r}.encode(), ctypes.byref(handle)) == 0
        assert lib.session_db_upsert_session(handle, b"c-abi", 1) == 0
        texts = [b"file file file file file file", b"error value", b"the file error", b"sessions of file"]
        batch = (MessageInputC * len(texts))(*[MessageInputC(f"c-abi:{{i}}".encode(), 0, t, 5 + i, i)
                                               for i, t in enumerate(texts)])
        inserted = ctypes.c_size_t()
        assert lib.session_db_insert_messages(handle, b"c-abi", batch, len(texts), ctypes.byref(inserted)) == 0
        assert inserted.value == len(texts)
        lib.session_db_close(handle)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=isolated_env(tmp_path))
    assert done.returncode == 0 and "ok" in done.stdout, done.stdout + done.stderr[-3000:]
    conn = ranked._store.connection()
    newest = conn.execute("SELECT MAX(id) FROM messages WHERE session_id = 'c-abi'").fetchone()[0]
    state = rank_index.state(conn)
    assert state is not None and state.built_through >= newest  # the C ABI's writer extended the lists
    first = conn.execute("SELECT MIN(id) FROM messages WHERE session_id = 'c-abi'").fetchone()[0]
    assert ranked.search("file", limit=1)[0].message_id == first
    for query in ["file", "file error", "the file", "sess*", "error -the"]:
        assert_exact(ranked, query)


def _lists_hold_every_row_above_their_floor(conn: apsw.Connection) -> None:
    """The lists' invariant, checked against FTS5 itself: each listed term's list holds
    every covered row whose impact beats the term's floor, and no other, and counts the
    covered rows that contain the term."""
    through, avgdl = conn.execute("SELECT built_through, avgdl FROM messages_rank_state").fetchone()
    conn.register_fts5_function("test_tf_dl", rank_index._tf_dl)
    for term, floor in conn.execute("SELECT term, floor FROM messages_rank_terms").fetchall():
        want = {rowid for rowid, packed in conn.execute(
            "SELECT rowid, test_tf_dl(messages_fts) FROM messages_fts WHERE messages_fts MATCH ? AND rowid <= ?",
            ('"' + term + '"', through))
            if rank_index.impact(packed >> 32, packed & 0xFFFFFFFF, avgdl) > floor}
        got = {r[0] for r in conn.execute("SELECT message_id FROM messages_rank_postings WHERE term = ?", (term,))}
        assert got == want, term
        # Its count of rows is exact: a search takes BM25 weights from it.
        docs = conn.execute("SELECT docs FROM messages_rank_terms WHERE term = ?", (term,)).fetchone()[0]
        assert docs == conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ? AND rowid <= ?",
                                    ('"' + term + '"', through)).fetchone()[0], term


@pytest.mark.parametrize("writer_scans", ["compiled", "in Python"])
@pytest.mark.parametrize("balance", ["worker", "writer"])
def test_a_collection_read_in_a_worker_process_brings_the_rows_postings(
        tmp_path: Path, small_lists: None, monkeypatch: pytest.MonkeyPatch, balance: str, writer_scans: str) -> None:
    """A large collection's worker computes each row's postings as it reads (under the
    lists the writer last had, sent to it after each batch; rows read before terms were
    listed are scanned again, or the new terms read from FTS5): the writer is left only
    the rows read before the first lists, and
    the lists end exactly as they must. The sessions the worker leaves to the writer (as
    the writer waits for it: here all of them) are tokenized there, and the lists still
    end exactly as they must."""
    from collect_helpers import FIXTURES  # noqa: F401  # the helpers' path setup
    from fault_helpers import claude_line

    from sessiondb import collector as collector_module
    from sessiondb.collector import Collector
    from sessiondb.session_files import encode_project_path

    rng = random.Random(11)
    root = tmp_path / "claude"
    total = 0
    for s in range(60):
        project = f"/work/p{s % 3}"
        directory = root / encode_project_path(project)
        directory.mkdir(parents=True, exist_ok=True)
        lines = [claude_line(f"w{s:03d}", i, _message(rng, s < 5), project=project) for i in range(300)]
        (directory / f"w{s:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(lines)
    # The processes' waits move the share: pinned here to all sessions in the worker, or none.
    monkeypatch.setattr(collector_module, "_FIRST_SHARE", 1.0 if balance == "worker" else 0.0)
    monkeypatch.setattr(collector_module, "_SHARE_STEP", 0.0)
    if writer_scans == "in Python":   # as installed without a C compiler: terms listed late come from FTS5
        monkeypatch.setattr(rank_index, "_rankscan", False)
    left_to_writer = []
    take_read_postings = rank_index.take_read_postings
    monkeypatch.setattr(rank_index, "take_read_postings",
                        lambda conn, first_id, rows, parts, snapshots: left_to_writer.append(
                            sum(count for read, count in parts if read is None))
                        or take_read_postings(conn, first_id, rows, parts, snapshots))
    empty = tmp_path / "none"
    db = SessionDB.connect(DbConfig.local(tmp_path / "worker.db"))
    pids = set()
    collector = Collector(db, roots={"claude": root, "codex": empty, "opencode": empty, "gemini": empty},
                          parse_worker=True, batch_messages=600, batch_bytes=64 << 10,
                          on_progress=lambda result: pids.add(collector.parse_worker_pid))
    assert collector.collect_all().messages_inserted == total
    assert any(pids)
    conn = db._store.connection()
    assert conn.execute("SELECT built_through FROM messages_rank_state").fetchone()[0] == total
    assert conn.execute("SELECT COUNT(*) FROM messages_rank_terms WHERE instr(term, ' ')").fetchone()[0] > 0
    if balance == "worker":
        assert sum(left_to_writer) < total / 3, (sum(left_to_writer), total)
    else:
        assert collector._rank_share == 0.0
        assert sum(left_to_writer) > total / 2, (sum(left_to_writer), total)
    _lists_hold_every_row_above_their_floor(conn)
    for query in QUERIES:
        assert_exact(db, query)
    db.close()
