"""Property tests: any query string is safe, search agrees with a brute-force oracle,
and any batch of messages round-trips."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from helpers import add_session, msg

from sessiondb import DbConfig, InvalidArgument, MessageInput, MessageType, SearchOrder, SessionDB, parse_query

WORDS = ["alpha", "beta", "gamma", "delta", "db.py", "snake_case", "Gamma2", "数据", "文件", "数据库", "用beta写",
         "x", "42", "héllo"]
SETTINGS = settings(max_examples=int(os.environ.get("SESSIONDB_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _db(tmp: str) -> SessionDB:
    return SessionDB.connect(DbConfig.local(Path(tmp) / "prop.db"))


_shared: dict[str, SessionDB] = {}


def corpus_db() -> SessionDB:
    """One database with a fixed corpus, shared by the query properties."""
    if "db" not in _shared:
        db = _db(tempfile.mkdtemp())
        texts = [" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(1 + i % 5)) for i in range(60)]
        texts += ["数据文件 and alpha", "alpha-beta_gamma.delta", "用python写的 beta", "gamma gamma gamma"]
        add_session(db, "corpus", texts)
        _shared["db"] = db
    return _shared["db"]


query_text = st.text(alphabet=st.sampled_from(list('abcdeglmpt数据文件库用写 "*-_.:()^OR|NOT\\\'\x00é')), max_size=40)


@SETTINGS
@given(st.text(max_size=200))
def test_any_query_string_is_safe(query: str) -> None:
    db = corpus_db()
    for order in SearchOrder.SCORE, SearchOrder.TIME_DESC:
        results = db.search(query, order=order, limit=5)
        assert len(results) <= 5


@SETTINGS
@given(query_text)
def test_any_query_of_operators_is_safe(query: str) -> None:
    assert isinstance(corpus_db().search(query, limit=5), list)


structured_query = st.lists(
    st.tuples(st.sampled_from(["", "-", '"']), st.sampled_from(WORDS + ["alp", "数", "gam"]), st.booleans(),
              st.sampled_from([" ", " OR "])), min_size=1, max_size=4).map(
    lambda parts: "".join(
        (f'{neg}"{w}"' if neg == '"' else f"{neg}{w}") + ("*" if star and neg != '"' else "") + sep
        for neg, w, star, sep in parts).strip().removesuffix("OR").strip())


@SETTINGS
@given(structured_query)
def test_search_agrees_with_a_brute_force_scan(query: str) -> None:
    db = corpus_db()
    parsed = parse_query(query)
    expected = {m.uuid for m in db.list_messages("corpus") if parsed.matches_text(m.content_full)}
    found = {r.uuid for r in db.search(query, limit=1000)}
    assert found == expected, query


text_st = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
message_st = st.builds(
    MessageInput, uuid=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                               max_size=40),
    type=st.sampled_from(list(MessageType)), content_text=text_st, content_full=text_st,
    timestamp=st.integers(-(2 ** 63), 2 ** 63 - 1), sequence=st.integers(-(2 ** 63), 2 ** 63 - 1),
    source=st.none() | st.sampled_from(["claude", "codex"]), raw=st.none() | text_st,
    tool_args=st.none() | text_st)


@settings(max_examples=60, deadline=None)
@given(st.lists(message_st, max_size=25))
def test_any_message_batch_round_trips(batch: list[MessageInput]) -> None:
    with tempfile.TemporaryDirectory() as tmp, _db(tmp) as db:
        pid = db.get_or_create_project("p", "/p")
        db.upsert_session("s", pid)
        first: dict[str, MessageInput] = {}
        for m in batch:
            first.setdefault(m.uuid, m)
        assert db.insert_messages("s", batch) == len(first)
        assert db.insert_messages("s", batch) == 0
        stored = {m.uuid: m for m in db.list_messages("s")}
        assert stored.keys() == first.keys()
        for uuid, original in first.items():
            got = stored[uuid]
            assert (got.type, got.content_text, got.content_full, got.timestamp, got.sequence, got.source, got.raw,
                    got.tool_args) == (original.type, original.content_text, original.content_full,
                                       original.timestamp, original.sequence, original.source, original.raw,
                                       original.tool_args)
        assert db.get_session("s").message_count == len(first)


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=30).filter(lambda t: any(0xD800 <= ord(c) <= 0xDFFF for c in t) or True))
def test_invalid_text_is_refused_without_partial_writes(noise: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, _db(tmp) as db:
        pid = db.get_or_create_project("p", "/p")
        db.upsert_session("s", pid)
        try:
            db.insert_messages("s", [msg("ok"), msg("bad", noise + "\udc80")])
        except InvalidArgument:
            pass
        assert db.list_messages("s") == []
