"""Session overviews: title, source, counts and times as a person recognises a session."""

from __future__ import annotations

import json

from helpers import BASE_TS, add_session, msg

from sessiondb import MessageType, SessionDB, SessionInput


def test_title_falls_back_from_custom_title_to_summary_to_first_prompt(db: SessionDB) -> None:
    pid = add_session(db, "s-prompt", ["   ", "  fix the\n  flaky test  "])
    add_session(db, "s-summary", ["hello"], start_ts=BASE_TS + 10_000)
    add_session(db, "s-title", ["hello"], start_ts=BASE_TS + 20_000)
    db.upsert_session_full(SessionInput("s-summary", pid, meta=json.dumps({"summary": "Summary text"})))
    db.upsert_session_full(SessionInput("s-title", pid, meta=json.dumps({"title": "Custom", "summary": "S"})))
    titles = {o.session_id: o.title for o in db.list_session_overviews()}
    assert titles == {"s-prompt": "fix the flaky test", "s-summary": "Summary text", "s-title": "Custom"}


def test_overviews_are_newest_first_with_counts_times_and_source(db: SessionDB) -> None:
    add_session(db, "old", ["a", "b", "c"], start_ts=BASE_TS)
    add_session(db, "new", ["x"], project="/work/other", source="codex", start_ts=BASE_TS + 99_000)
    db.insert_messages("new", [msg("new-late", "y", seq=1, ts=BASE_TS + 200_000, role=MessageType.ASSISTANT,
                                   source="codex")])
    first, second = db.list_session_overviews()
    assert (first.session_id, first.message_count, first.first_message_at, first.last_message_at) == \
        ("new", 2, BASE_TS + 99_000, BASE_TS + 200_000)
    assert (second.session_id, second.message_count, second.project_path) == ("old", 3, "/work/demo")
    assert [o.session_id for o in db.list_session_overviews(source="codex")] == ["new"]
    assert [o.session_id for o in db.list_session_overviews(limit=1, offset=1)] == ["old"]
    assert db.get_session_overview("old") == second
    assert db.get_session_overview("missing") is None


def test_children_of_a_session_and_a_broken_meta(db: SessionDB) -> None:
    pid = add_session(db, "parent", ["go"])
    add_session(db, "child", ["sub"])
    db.upsert_session_full(SessionInput("child", pid, meta=json.dumps(
        {"parent_session_id": "parent", "session_type": "subagent"})))
    add_session(db, "broken", ["x"])
    db.upsert_session_full(SessionInput("broken", pid, meta="{not json"))
    [child] = db.list_session_overviews(parent_session_id="parent")
    assert (child.session_id, child.parent_session_id, child.session_type) == ("child", "parent", "subagent")
    assert db.get_session_overview("broken").title == "x"
