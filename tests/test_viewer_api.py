"""Library queries the viewer needs: message positions, session titles, overview query plans."""

from __future__ import annotations

import json

import apsw
import pytest
from helpers import BASE_TS, add_session, msg

from sessiondb import InvalidArgument, MessageType, SessionDB, SessionInput


def test_message_position_follows_sequence_then_insertion_order(db: SessionDB) -> None:
    add_session(db, "s1", ["a", "b", "c"])
    add_session(db, "s2", ["x"])
    # A message inserted last but with an early sequence sorts before the later ones.
    db.insert_messages("s1", [msg("late-early", "early", seq=1, ts=BASE_TS + 500)])
    order = [m.id for m in db.list_messages("s1")]
    assert [db.get_message_position(mid) for mid in order] == [("s1", i) for i in range(4)]
    assert db.get_message_position(db.list_messages("s2")[0].id) == ("s2", 0)
    assert db.get_message_position(99_999) is None
    with pytest.raises(InvalidArgument):
        db.get_message_position("1")  # type: ignore[arg-type]


def test_session_titles_match_the_overview_titles(db: SessionDB) -> None:
    pid = add_session(db, "prompted", ["   ", "first prompt\n  here"])
    db.insert_messages("prompted", [msg("p-a", "an answer", seq=5, role=MessageType.ASSISTANT)])
    add_session(db, "titled", ["hello"])
    db.upsert_session_full(SessionInput("titled", pid, meta=json.dumps({"title": "Custom title", "summary": "S"})))
    add_session(db, "summarised", ["hello"])
    db.upsert_session_full(SessionInput("summarised", pid, meta=json.dumps({"summary": "A summary"})))
    add_session(db, "silent", ["only the assistant"], role=MessageType.ASSISTANT)
    ids = ["prompted", "titled", "summarised", "silent", "missing"]
    titles = db.get_session_titles(ids)
    assert titles == {"prompted": "first prompt here", "titled": "Custom title", "summarised": "A summary",
                      "silent": ""}
    assert titles == {sid: db.get_session_overview(sid).title for sid in ids if sid != "missing"}
    assert db.get_session_titles([]) == {}


def test_overview_queries_stay_on_the_session_index(db: SessionDB) -> None:
    from sessiondb.store import sessions

    add_session(db, "s", ["x"])
    conn = apsw.Connection(db.path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        plan = " | ".join(str(r[3]) for r in conn.execute(
            "EXPLAIN QUERY PLAN " + sessions._OVERVIEW_SELECT + " WHERE s.session_id = 's'"))
    finally:
        conn.close()
    assert "idx_messages_type" not in plan and "idx_messages_session" in plan, plan
