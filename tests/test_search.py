"""Search: the query language, CJK and code text, filters, orders, snippets and plans."""

from __future__ import annotations

import pytest
from helpers import BASE_TS, add_session, msg

from sessiondb import MessageType, SearchOrder, SessionDB, parse_query
from sessiondb.search import plans as search_plans


@pytest.fixture
def corpus(db: SessionDB) -> SessionDB:
    add_session(db, "s-en", [
        "the database is locked again",                      # 0
        "open the database file and read it",                # 1
        "call parse_session_file on src/sessiondb/db.py",    # 2
        "SessionDB.connect returns a handle",                # 3
        "heartbeat interval and heartbeats missed",          # 4
        "use the --env flag for the writer",                 # 5
    ], project="/work/alpha")
    add_session(db, "s-zh", [
        "我想用单文件方式存储会话数据",                          # 0
        "我用python写的代码，数据库被锁了",                     # 1
        "日本語のテキストと한국어 텍스트",                        # 2
    ], project="/work/beta", source="codex", start_ts=BASE_TS + 100_000)
    return db


def uuids(results) -> list[str]:
    return [r.uuid for r in results]


@pytest.mark.parametrize("query, expected", [
    ("database", {"s-en-0", "s-en-1"}),
    ("database locked", {"s-en-0"}),                 # AND
    ('"database file"', {"s-en-1"}),                 # phrase
    ('"file database"', set()),
    ("heartbeat*", {"s-en-4"}),                      # prefix
    ("heartbeat", {"s-en-4"}),
    ("locked OR handle", {"s-en-0", "s-en-3"}),      # OR
    ("database -locked", {"s-en-1"}),                # exclude
    ("database NOT locked", {"s-en-1"}),
    ("--env", {"s-en-5"}),                           # a flag, not an exclusion
    ("parse_session_file", {"s-en-2"}),              # snake_case
    ("session_file", {"s-en-2"}),                    # snake_case part
    ("db.py", {"s-en-2"}),                           # dotted
    ("src/sessiondb/db.py", {"s-en-2"}),             # path
    ("SessionDB.connect", {"s-en-3"}),
    ("DATABASE", {"s-en-0", "s-en-1"}),              # case folded
])
def test_query_language(corpus: SessionDB, query: str, expected: set[str]) -> None:
    assert set(uuids(corpus.search(query))) == expected


@pytest.mark.parametrize("query, expected", [
    ("单文件", {"s-zh-0"}),          # inside a longer run of characters
    ("文件", {"s-zh-0"}),            # two characters
    ("存", {"s-zh-0"}),              # one character
    ("会话数据", {"s-zh-0"}),
    ("python", {"s-zh-1"}),          # a latin word glued to CJK text
    ("数据库 python", {"s-zh-1"}),
    ("数据", {"s-zh-0", "s-zh-1"}),
    ("单文件 OR 锁了", {"s-zh-0", "s-zh-1"}),
    ("数据 -锁", {"s-zh-0"}),
    ("テキスト", {"s-zh-2"}),        # Japanese
    ("텍스트", {"s-zh-2"}),          # Korean
    ("文件夹", set()),
])
def test_cjk_substrings(corpus: SessionDB, query: str, expected: set[str]) -> None:
    assert set(uuids(corpus.search(query))) == expected


def test_cjk_messages_written_by_others_are_found_before_and_after_indexing(corpus: SessionDB) -> None:
    conn = corpus._store.connection()
    conn.execute("INSERT INTO messages(session_id, uuid, type, content_text, content_full, timestamp, sequence) "
                 "VALUES ('s-zh', 'foreign', 'user', 'x', '外部程序写入的消息', 1, 99)")
    assert corpus._store.read_value("SELECT COUNT(*) FROM messages_cjk_pending") == 1
    assert uuids(corpus.search("程序写")) == ["foreign"]
    assert corpus.catch_up_search_index() == 1
    assert corpus._store.read_value("SELECT COUNT(*) FROM messages_cjk_pending") == 0
    assert uuids(corpus.search("程序写")) == ["foreign"]


@pytest.mark.parametrize("query", ["", "   ", "***", "-", "\"", "(((", "OR", "AND OR NOT", "-database", 'NEAR(a b)',
                                   "a:b", "^start", "col:value", "\x00", "'; DROP TABLE messages; --"])
def test_odd_queries_never_raise(corpus: SessionDB, query: str) -> None:
    for order in SearchOrder:
        assert isinstance(corpus.search(query, order=order), list)
    assert corpus.get_stats().message_count == 9


def test_filters(corpus: SessionDB) -> None:
    alpha = corpus.get_project_by_path("/work/alpha").id
    assert set(uuids(corpus.search("数据 OR database", project_id=alpha))) == {"s-en-0", "s-en-1"}
    assert set(uuids(corpus.search("数据 OR database", source="codex"))) == {"s-zh-0", "s-zh-1"}
    assert set(uuids(corpus.search("database", session_prefix="s-e"))) == {"s-en-0", "s-en-1"}
    assert uuids(corpus.search("database", session_prefix="s-zh")) == []
    assert uuids(corpus.search("database", since=BASE_TS + 1000, until=BASE_TS + 1000)) == ["s-en-1"]
    assert uuids(corpus.search("database", role="assistant")) == []
    assert set(uuids(corpus.search("database", role=MessageType.USER))) == {"s-en-0", "s-en-1"}


def test_orders(corpus: SessionDB) -> None:
    assert uuids(corpus.search("database OR 数据", order=SearchOrder.NEWEST)) == ["s-zh-1", "s-zh-0", "s-en-1",
                                                                                "s-en-0"]
    assert uuids(corpus.search("database OR 数据", order=SearchOrder.OLDEST)) == ["s-en-0", "s-en-1", "s-zh-0",
                                                                                "s-zh-1"]
    scored = corpus.search("heartbeat OR database")
    assert all(a.score <= b.score for a, b in zip(scored, scored[1:]))


def test_score_prefers_more_occurrences(db: SessionDB) -> None:
    add_session(db, "s", ["lock once here among several other words", "lock lock lock"])
    assert uuids(db.search("lock"))[0] == "s-1"


def test_limit_and_offset(db: SessionDB) -> None:
    add_session(db, "s", [f"item number {i}" for i in range(30)])
    everything = uuids(db.search("item", limit=30, order=SearchOrder.OLDEST))
    assert len(everything) == 30
    assert uuids(db.search("item", limit=10, offset=10, order=SearchOrder.OLDEST)) == everything[10:20]
    assert db.search("item", limit=0) == []


def test_snippets_and_highlight_markers(corpus: SessionDB) -> None:
    [hit] = corpus.search("parse_session_file", highlight=("[", "]"))
    assert "[parse_session_file]" in hit.snippet
    [hit] = corpus.search("单文件")
    assert "<mark>单文件</mark>" in hit.snippet
    assert hit.project_name == "beta" and hit.project_path == "/work/beta" and hit.type == "user"
    assert hit.content_full == "我想用单文件方式存储会话数据"


def test_long_snippets_are_cut_around_the_match(db: SessionDB) -> None:
    text = " ".join(["filler"] * 200) + " needle " + " ".join(["tail"] * 200)
    add_session(db, "s", [text])
    [hit] = db.search("needle", snippet_chars=60)
    assert hit.snippet.startswith("...") and hit.snippet.endswith("...")
    assert "<mark>needle</mark>" in hit.snippet and len(hit.snippet) < 100


def test_original_entry_points(corpus: SessionDB) -> None:
    alpha = corpus.get_project_by_path("/work/alpha").id
    assert len(corpus.search_fts("database", 1)) == 1
    assert set(uuids(corpus.search_fts_with_project("database", 10, alpha))) == {"s-en-0", "s-en-1"}
    assert uuids(corpus.search_fts_with_options("database", 10, None, SearchOrder.TIME_ASC)) == ["s-en-0", "s-en-1"]
    assert uuids(corpus.search_fts_full("database", 10, None, SearchOrder.TIME_DESC, BASE_TS, BASE_TS)) == ["s-en-0"]


def test_time_order_is_exact_beyond_the_window(db: SessionDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Insertion order differs from message time; newest-first must follow time."""
    monkeypatch.setattr(search_plans, "RANK_WINDOW", 5)
    pid = db.get_or_create_project("p", "/p")
    for s in range(6):  # sessions inserted newest first
        db.upsert_session(f"s{s}", pid)
        db.insert_messages(f"s{s}", [msg(f"s{s}-{i}", "common word", seq=i, ts=BASE_TS - s * 10_000 + i)
                                     for i in range(5)])
    newest = uuids(db.search("common", limit=3, order=SearchOrder.NEWEST))
    assert newest == ["s0-4", "s0-3", "s0-2"]
    oldest = uuids(db.search("common", limit=3, order=SearchOrder.OLDEST))
    assert oldest == ["s5-0", "s5-1", "s5-2"]
    assert any(p.endswith((":time", ":full")) for p in db.last_search_plans)


def test_small_project_filter_uses_session_ranges(corpus: SessionDB) -> None:
    alpha = corpus.get_project_by_path("/work/alpha").id
    corpus.search("database", project_id=alpha)
    assert corpus.last_search_plans[0] == "messages_fts:filter"


def test_parse_query_structure() -> None:
    q = parse_query('alpha "beta gamma" delta* x OR y -zeta NOT eta')
    assert [tuple(t.text for t in c.terms) for c in q.positive] == [("alpha",), ("beta gamma",), ("delta",),
                                                                    ("x", "y")]
    assert [c.terms[0].text for c in q.negative] == ["zeta", "eta"]
    assert q.positive[2].terms[0].prefix
    assert parse_query("").is_empty and parse_query("-only").is_empty
    assert parse_query("数据").requires_cjk and not parse_query("数据 OR data").requires_cjk
