"""Each data and SQL bug of the original crate (reference §8.2), and what we decided.

One test per decision, named after the bug, so the choice stays visible."""

from __future__ import annotations

import json

import pytest
from helpers import add_session, msg

from sessiondb import ConflictError, NotFoundError, SessionDB, SessionInput, VectorIndexState


def test_11_list_sessions_by_project_path_works_on_a_new_database(db: SessionDB) -> None:
    pid = add_session(db, "main-1", ["x"], project="/work/p")
    db.get_or_create_project_with_encoded("p", "/work/p", "claude", "-work-p")
    db.upsert_session("agent-abc", pid)
    [row] = db.list_sessions_by_project_path("/work/p")
    assert (row.session_id, row.project_path, row.encoded_dir_name, row.message_count) == ("main-1", "/work/p",
                                                                                          "-work-p", 1)


def test_12_upsert_session_full_without_message_count_works(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session_full(SessionInput("s", pid, cwd="/p"))
    db.upsert_session_full(SessionInput("s", pid, model="m"))
    assert db.get_session("s").model == "m"


def test_13_inserting_into_a_missing_session_is_an_error_not_zero(db: SessionDB) -> None:
    with pytest.raises(NotFoundError, match="upsert it"):
        db.insert_messages("missing", [msg("u")])


def test_14_uuids_stay_globally_unique_and_the_first_copy_wins(db: SessionDB) -> None:
    """The schema contract keeps uuid UNIQUE; a resumed session repeats earlier lines
    with the same uuid, which are the same messages, so they stay with the first session."""
    add_session(db, "first", ["original line"])
    pid = db.get_or_create_project("demo", "/work/demo")
    db.upsert_session("resumed", pid)
    assert db.insert_messages("resumed", [msg("first-0", "original line"), msg("r-1", "new", seq=1)]) == 1
    assert db.get_message_by_uuid("first-0").session_id == "first"


def test_15_message_count_always_means_stored_messages(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session_full(SessionInput("s", pid, message_count=57))
    assert db.get_session("s").message_count == 0
    db.insert_messages("s", [msg("a"), msg("b", seq=1)])
    db.upsert_session_full(SessionInput("s", pid, message_count=99))
    assert db.get_session("s").message_count == 2


def test_16_scan_checkpoint_never_moves_backwards(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.scan_session_incremental("s", pid, [msg("late", ts=5_000_000), msg("early", ts=4_990_000, seq=1)])
    assert db.get_scan_checkpoint("s") == 5_000_000


def test_17_one_timestamp_parser_that_never_invents_now() -> None:
    from sessiondb.timeutil import parse_timestamp_ms
    assert parse_timestamp_ms("2026-01-21T06:51:29.630Z") == 1768978289630
    assert parse_timestamp_ms("1768978289630") == 1768978289630
    assert parse_timestamp_ms(1768978289) == 1768978289000
    assert parse_timestamp_ms("2026-01-21T06:51:29.6309999+00:00") == 1768978289630
    assert parse_timestamp_ms("invalid-date") is None
    assert parse_timestamp_ms(None) is None


def test_18_delete_project_refuses_while_sessions_exist_and_dedup_merges(db: SessionDB) -> None:
    pid = add_session(db, "s", ["x"], project="/a/b")
    with pytest.raises(ConflictError, match="update_sessions_project_id"):
        db.delete_project(pid)
    dup = db.get_or_create_project("b", "/a/b/")
    db.upsert_session("s2", dup)
    merged, removed = db.deduplicate_projects()
    assert (merged, removed) == (1, [dup])
    assert db.get_session("s2").project_id == pid
    empty = db.get_or_create_project("e", "/empty")
    assert db.delete_project(empty)


def test_19_failed_vector_indexing_reads_as_failed_not_indexed(db: SessionDB) -> None:
    add_session(db, "s", ["x"])
    db.mark_message_index_failed(1)
    assert db.list_messages("s")[0].vector_indexed is VectorIndexState.FAILED


def test_20_flag_updates_leave_the_fts_index_alone(db: SessionDB) -> None:
    add_session(db, "s", ["searchable text"])
    before = db._store.read_value("SELECT COUNT(*) FROM messages_fts_data")
    for _ in range(20):
        db.mark_messages_indexed([1])
        db.update_approval_status("s-0", "pending", 0)
    assert db._store.read_value("SELECT COUNT(*) FROM messages_fts_data") == before


def test_21_id_lists_are_not_limited_by_sql_variables(db: SessionDB) -> None:
    add_session(db, "s", ["a", "b"])
    ids = list(range(1, 40_001))
    assert db.mark_messages_indexed(ids) == 2
    assert len(db.get_messages_by_ids(ids)) == 2
    assert db.batch_update_approval_status([f"s-{i}" for i in range(40_000)], "approved", 1) == 2


def test_24_get_or_create_project_is_one_atomic_statement(db: SessionDB) -> None:
    ids = {db.get_or_create_project("p", "/same") for _ in range(5)}
    assert len(ids) == 1


def test_26_foreign_keys_are_enforced_on_every_connection(db: SessionDB) -> None:
    assert db._store.read_value("PRAGMA foreign_keys") == 1


def test_28_empty_query_returns_empty_not_an_error(db: SessionDB) -> None:
    add_session(db, "s", ["x"])
    assert db.search("") == [] and db.search("   ") == []


def test_29_30_user_wildcards_and_operators_are_literal(db: SessionDB) -> None:
    add_session(db, "s", ["100% done_now", "abc"])
    assert [r.uuid for r in db.search("100%")] == ["s-0"]
    assert db.search("a_c") == []


def test_31_equal_scores_have_a_deterministic_order(db: SessionDB) -> None:
    add_session(db, "s", ["same text"] * 5)
    orders = {json.dumps([r.uuid for r in db.search("same")]) for _ in range(3)}
    assert len(orders) == 1
