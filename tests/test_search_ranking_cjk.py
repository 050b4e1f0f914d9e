"""Score order over the CJK side index is exact too, from its own rank lists.

The side index holds the messages with CJK text, each CJK character a token, so a CJK
word is a phrase of characters and a Latin word glued to CJK text is a word of its own.
Its lists are kept by this library's writer as it drains the queue (in any order of
ids), so they must stay exact for rows queued by the original library, drained later,
rewritten, deleted, and after a rebuild.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from sessiondb import DbConfig, MessageInput, MessageType, SessionDB
from sessiondb.store import rank_index
from test_search_ranking import (BASE_TS, _insert_raw, _original_writer, assert_exact, exact_top,  # noqa: F401
                                 small_lists)

# A few CJK characters, so that characters and pairs of them are frequent.
HAN = "数据库文件方式存储会话搜索错误测试"
LATIN = "the file error session test data query index".split()


def _cjk_message(rng: random.Random, short: bool) -> str:
    parts = []
    for _ in range(rng.randint(1, 3) if short else rng.randint(4, 14)):
        word = "".join(rng.choices(HAN, k=rng.randint(1, 4)))
        pick = rng.random()
        if pick < 0.3:
            word += rng.choice(LATIN)               # glued: one token in messages_fts
        elif pick < 0.5:
            word += " " + rng.choice(LATIN)
        parts.append(word)
    if short:
        parts += parts[:1]
    return "，".join(parts)


def _fill(db: SessionDB, sessions: int = 24, per_session: int = 60, seed: int = 11, prefix: str = "c") -> None:
    rng = random.Random(seed)
    projects = [db.get_or_create_project(f"c{i}", f"/work/c{i}", "claude" if i % 2 else "codex") for i in range(3)]
    for s in range(sessions):
        sid = f"{prefix}{s:03d}"
        db.upsert_session(sid, projects[s % len(projects)])
        rows = []
        for i in range(per_session):
            body = _cjk_message(rng, short=s < 4) if i % 4 else " ".join(rng.choices(LATIN, k=rng.randint(3, 20)))
            rows.append(MessageInput(f"{sid}:{i}", MessageType.USER if i % 3 == 0 else MessageType.ASSISTANT,
                                     body, body, BASE_TS + s * 10_000_000 + i * 1000, i))
        db.insert_messages(sid, rows)


@pytest.fixture
def cjk_ranked(tmp_path: Path, small_lists: None) -> Iterator[SessionDB]:
    db = SessionDB.connect(DbConfig.local(tmp_path / "cjk.db"))
    _fill(db)
    yield db
    db.close()


QUERIES = ["数据", "文件方式", "存储", "数据库文件", "the", "file", "error -the", "sess*", "数据 the",
           "方式 OR 搜索", "数据 -错误", '"file error"', "数*"]


def _cjk_lists_hold_every_row_above_their_floor(conn: apsw.Connection) -> None:
    """The side index's lists against FTS5 itself: each list holds exactly the rows whose
    impact beats its floor, and counts every row containing its term."""
    through, avgdl = conn.execute("SELECT built_through, avgdl FROM messages_cjk_rank_state").fetchone()
    # They cover every row of the index: none is left to rank past them.
    assert through == conn.execute("SELECT rowid FROM messages_cjk ORDER BY rowid DESC LIMIT 1").fetchone()[0]
    conn.register_fts5_function("test_tf_dl", rank_index._tf_dl)
    terms = conn.execute("SELECT term, floor, docs FROM messages_cjk_rank_terms").fetchall()
    assert any(" " in term for term, _, _ in terms) and any(floor > 0 for _, floor, _ in terms)
    for term, floor, docs in terms:
        found = {rowid: packed for rowid, packed in conn.execute(
            "SELECT rowid, test_tf_dl(messages_cjk) FROM messages_cjk WHERE messages_cjk MATCH ? AND rowid <= ?",
            ('"' + term + '"', through))}
        want = {rowid for rowid, packed in found.items()
                if rank_index.impact(packed >> 32, packed & 0xFFFFFFFF, avgdl) > floor}
        got = {r[0] for r in conn.execute("SELECT message_id FROM messages_cjk_rank_postings WHERE term = ?",
                                          (term,))}
        assert got == want, term
        assert docs == len(found), term


def test_the_side_index_has_lists_and_they_are_exact(cjk_ranked: SessionDB) -> None:
    conn = cjk_ranked._store.connection()
    assert rank_index.state(conn, rank_index.CJK) is not None
    _cjk_lists_hold_every_row_above_their_floor(conn)


@pytest.mark.parametrize("query", QUERIES)
def test_score_order_over_the_side_index_is_exact_bm25(cjk_ranked: SessionDB, query: str) -> None:
    assert_exact(cjk_ranked, query)
    assert_exact(cjk_ranked, query, limit=3)


def test_the_side_index_is_ranked_from_its_lists(cjk_ranked: SessionDB) -> None:
    for query in ["数据", "存储", "the", "file", "数据 the", "sess*"]:
        plans = assert_exact(cjk_ranked, query)
        assert "messages_cjk:lists" in ",".join(plans), (query, plans)


@pytest.mark.parametrize("filters", [{"role": "user"}, {"project_id": 2}, {"source": "codex"},
                                     {"since_ms": BASE_TS + 12 * 10_000_000}])
def test_filters_keep_the_side_index_exact(cjk_ranked: SessionDB, filters: dict[str, object]) -> None:
    for query in ["数据", "文件方式", "the", "file error"]:
        assert_exact(cjk_ranked, query, **filters)


def test_rows_queued_by_another_program_are_listed_when_drained(cjk_ranked: SessionDB) -> None:
    other = _original_writer(cjk_ranked)
    best = _insert_raw(other, "c010", "foreign-1", "存储存储存储存储", BASE_TS)
    _insert_raw(other, "c011", "foreign-2", "数据库the存储", BASE_TS + 1)
    conn = cjk_ranked._store.connection()
    assert conn.execute("SELECT COUNT(*) FROM messages_cjk_pending").fetchone()[0] == 2
    for query in ["存储", "数据 the", "the"]:
        assert_exact(cjk_ranked, query)  # queued: found by scanning the queue
    # A write of this library drains the queue; its older rows are listed as they go in.
    cjk_ranked.insert_messages("c001", [MessageInput("c001:late", MessageType.USER, "数据 late", "数据 late",
                                                     BASE_TS + 5, 99)])
    assert conn.execute("SELECT COUNT(*) FROM messages_cjk_pending").fetchone()[0] == 0
    assert conn.execute("SELECT 1 FROM messages_cjk_rank_postings WHERE message_id = ?", (best,)).fetchone()
    assert cjk_ranked.search("存储", limit=1)[0].message_id == best
    for query in QUERIES:
        assert_exact(cjk_ranked, query)
    _cjk_lists_hold_every_row_above_their_floor(conn)
    other.close()


def test_rewritten_and_deleted_rows_of_the_side_index(cjk_ranked: SessionDB) -> None:
    top = [rowid for rowid, _ in exact_top(cjk_ranked, "数据", 3)]
    other = _original_writer(cjk_ranked)
    other.execute("UPDATE messages SET content_full = 'no cjk here' WHERE id = ?", (top[0],))
    other.execute("DELETE FROM messages WHERE id = ?", (top[1],))
    other.execute("UPDATE messages SET content_full = '错误错误' WHERE id = ?", (top[2],))
    conn = cjk_ranked._store.connection()
    assert conn.execute("SELECT COUNT(*) FROM messages_cjk_rank_dirty").fetchone()[0] == 3
    got = [r.message_id for r in cjk_ranked.search("数据", limit=20)]
    assert not set(top) & set(got)
    for query in ["数据", "错误", "the", "数据 the"]:
        assert_exact(cjk_ranked, query)
    cjk_ranked.catch_up_search_index()   # the rewritten row is indexed again from its new text
    for query in ["数据", "错误", "the"]:
        assert_exact(cjk_ranked, query)
    cjk_ranked.rebuild_search_index()
    assert conn.execute("SELECT COUNT(*) FROM messages_cjk_rank_dirty").fetchone()[0] == 0
    _cjk_lists_hold_every_row_above_their_floor(conn)
    for query in QUERIES:
        assert_exact(cjk_ranked, query)
    other.close()


def test_a_growing_side_index_samples_again_and_stays_exact(cjk_ranked: SessionDB) -> None:
    conn = cjk_ranked._store.connection()
    before = rank_index.state(conn, rank_index.CJK)
    assert before is not None
    _fill(cjk_ranked, sessions=30, per_session=60, seed=12, prefix="d")   # the side index more than doubles
    after = rank_index.state(conn, rank_index.CJK)
    assert after is not None and after.sampled_rows > before.sampled_rows
    _cjk_lists_hold_every_row_above_their_floor(conn)
    for query in QUERIES:
        assert_exact(cjk_ranked, query)
