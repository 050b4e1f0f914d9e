"""Projects, sessions and messages: what the original's API did, on real database files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers import BASE_TS, add_session, msg

from sessiondb import (ApprovalStatus, DbConfig, InvalidArgument, MessageType, NotFoundError, SessionDB,
                       SessionInput, VectorIndexState)


def test_reopening_keeps_data(db_path: Path) -> None:
    with SessionDB.connect(db_path) as db:
        add_session(db, "s1", ["one", "two"])
    with SessionDB.connect(db_path) as db:
        assert db.get_stats().message_count == 2


def test_project_get_or_create_is_stable(db: SessionDB) -> None:
    first = db.get_or_create_project("demo", "/work/demo", "claude")
    again = db.get_or_create_project("renamed", "/work/demo", "codex")
    assert first == again
    [project] = db.list_projects()
    assert (project.name, project.source) == ("demo", "claude")  # the first writer's name and source stay
    other = db.get_or_create_project("demo", "/work/other demo-1.x", "claude")
    assert other != first
    assert db.get_project_by_path("/work/other demo-1.x").id == other
    assert db.get_project(first).path == "/work/demo"
    assert db.get_project(999) is None


def test_project_encoded_dir_name_is_filled_in_later(db: SessionDB) -> None:
    pid = db.get_or_create_project("demo", "/work/demo")
    db.get_or_create_project_with_encoded("demo", "/work/demo", "claude", "-work-demo")
    db.get_or_create_project("demo", "/work/demo")  # None keeps the stored value
    assert db.get_project(pid).encoded_dir_name == "-work-demo"


def test_get_or_create_project_is_atomic_across_connections(db_path: Path) -> None:
    handles = [SessionDB.connect(db_path) for _ in range(4)]
    ids: list[int] = []
    errors: list[BaseException] = []

    def create(h: SessionDB) -> None:
        try:
            for i in range(30):
                ids.append(h.get_or_create_project(f"p{i}", f"/race/{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 30
    for h in handles:
        h.close()


def test_projects_with_stats(db: SessionDB) -> None:
    pid = add_session(db, "a", ["x", "y"], project="/p1")
    add_session(db, "b", ["z"], project="/p1")
    db.get_or_create_project("empty", "/p2")
    stats = {p.path: p for p in db.list_projects_with_stats()}
    assert (stats["/p1"].session_count, stats["/p1"].message_count) == (2, 3)
    assert stats["/p1"].id == pid and stats["/p1"].last_active is not None
    assert (stats["/p2"].session_count, stats["/p2"].message_count, stats["/p2"].last_active) == (0, 0, None)
    assert [p.path for p in db.list_projects_with_stats()] == ["/p1", "/p2"]  # no activity sorts last
    assert len(db.list_projects_with_stats(limit=1, offset=1)) == 1


def test_sessions(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    for sid in ("s1", "s2", "s3"):
        db.upsert_session(sid, pid)
    before = db.get_session("s1").updated_at
    db.upsert_session("s1", pid)
    assert db.get_session("s1").updated_at >= before
    assert {s.session_id for s in db.list_sessions(pid)} == {"s1", "s2", "s3"}
    assert db.session_exists("s2") and not db.session_exists("nope")
    assert db.get_session("s1").message_count == 0
    assert [s.session_id for s in db.get_sessions(pid, limit=1)] == [db.list_sessions(pid)[0].session_id]


def test_an_existing_session_keeps_its_project(db: SessionDB) -> None:
    p1 = db.get_or_create_project("a", "/a")
    p2 = db.get_or_create_project("b", "/b")
    db.upsert_session("s", p1)
    db.upsert_session("s", p2)
    assert db.get_session("s").project_id == p1


def test_session_for_unknown_project_is_a_clear_error(db: SessionDB) -> None:
    with pytest.raises(NotFoundError, match="project 42"):
        db.upsert_session("s", 42)


def test_upsert_session_full_coalesces(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session_full(SessionInput("s", pid, cwd="/p", model="m1", channel="code", file_mtime=5, file_size=9,
                                        meta='{"k":1}'))
    db.upsert_session_full(SessionInput("s", pid, model="m2"))
    s = db.get_session("s")
    assert (s.cwd, s.model, s.channel, s.file_mtime, s.file_size, s.meta) == ("/p", "m2", "code", 5, 9, '{"k":1}')


def test_scan_checkpoint(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    assert db.get_scan_checkpoint("s") is None
    assert db.update_session_last_message("s", 1_234_567_890)
    assert db.get_scan_checkpoint("s") == 1_234_567_890
    assert not db.update_session_last_message("unknown", 1)
    assert db.get_scan_checkpoint("unknown") is None


def test_insert_messages_dedups_by_uuid(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    batch = [msg(f"u{i}", f"text {i}", seq=i) for i in range(3)]
    assert db.insert_messages("s", batch) == 3
    assert db.insert_messages("s", batch) == 0
    assert len(db.list_messages("s")) == 3
    assert db.get_session("s").message_count == 3


def test_duplicates_inside_one_batch_keep_the_first(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    assert db.insert_messages("s", [msg("u", "first"), msg("u", "second")]) == 1
    assert db.list_messages("s")[0].content_full == "first"


def test_list_messages_pagination_and_order(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [msg(f"u{i}", seq=i) for i in reversed(range(10))])
    pages = [db.list_messages("s", limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert pages[0][0].sequence == 0 and pages[1][0].sequence == 3
    assert [m.sequence for m in db.list_messages("s", desc=True)][:2] == [9, 8]
    assert db.list_messages("s", limit=0) == []
    assert db.list_messages("unknown") == []


def test_message_fields_round_trip(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    original = msg("u1", "中文 العربية 🎉", role=MessageType.ASSISTANT, source="codex", channel="cli", model="gpt",
                   tool_call_id="call_1", tool_name="shell", tool_args='{"cmd":"ls"}', raw='{"line":1}',
                   approval_status=ApprovalStatus.PENDING, approval_resolved_at=0)
    db.insert_messages("s", [original])
    [stored] = db.list_messages("s")
    for field in ("uuid", "type", "content_text", "content_full", "timestamp", "sequence", "source", "channel",
                  "model", "tool_call_id", "tool_name", "tool_args", "raw", "approval_status",
                  "approval_resolved_at"):
        assert getattr(stored, field) == getattr(original, field), field
    assert stored.vector_indexed is VectorIndexState.NOT_INDEXED


def test_large_batch_and_long_content(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    assert db.insert_messages("s", [msg(f"u{i}", seq=i) for i in range(1000)]) == 1000
    big = "x" * 100 * 1024
    db.upsert_session("big", pid)
    db.insert_messages("big", [msg("huge", big)])
    assert db.list_messages("big")[0].content_full == big
    assert db.get_stats().message_count == 1001


def test_empty_content_and_empty_batch(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    assert db.insert_messages("s", []) == 0
    assert db.insert_messages("s", [msg("u", "")]) == 1
    assert db.list_messages("s")[0].content_full == ""


def test_invalid_message_fails_the_whole_batch(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    with pytest.raises(InvalidArgument, match="uuid"):
        db.insert_messages("s", [msg("ok"), msg("")])
    with pytest.raises(InvalidArgument, match="Unicode"):
        db.insert_messages("s", [msg("ok"), msg("bad", "lone \udcff surrogate")])
    assert db.list_messages("s") == []


def test_session_counters_follow_inserts(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [msg("a", ts=BASE_TS + 50), msg("b", ts=BASE_TS + 10, seq=1)])
    s = db.get_session("s")
    assert (s.message_count, s.last_message_at) == (2, BASE_TS + 50)
    assert db.get_session_message_count("s") == 2
    assert db.get_session_latest_timestamp("s") == BASE_TS + 50


def test_scan_session_incremental(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    first = [msg(f"u{i}", ts=1_000_000 + i * 1000, seq=i) for i in range(5)]
    assert db.scan_session_incremental("s", pid, first) == 5
    assert db.get_scan_checkpoint("s") == 1_004_000
    # Within the 60 s safety margin: old uuids deduplicated, new one inserted.
    assert db.scan_session_incremental("s", pid, [msg("u4", ts=1_004_000), msg("new", ts=970_000, seq=6)]) == 1
    assert db.scan_session_incremental("s", pid, [msg("ancient", ts=1)]) == 0
    assert db.get_scan_checkpoint("s") == 1_004_000


def test_resolve_session_id_by_prefix(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    for sid in ("abc-111", "abd-222", "a%c-333"):
        db.upsert_session(sid, pid)
    assert db.resolve_session_id("abc") == "abc-111"
    assert db.resolve_session_id("a%") == "a%c-333"  # % is literal, not a wildcard
    assert db.resolve_session_id("zzz") is None
    assert {s.session_id for s in db.search_sessions_by_prefix("ab")} == {"abc-111", "abd-222"}


def test_vector_index_bookkeeping(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [msg(f"a{i}", role=MessageType.ASSISTANT, seq=i) for i in range(4)] + [msg("u", seq=9)])
    assert db.count_unindexed_messages() == 4
    ids = [m.id for m in db.get_unindexed_messages(limit=10)]
    assert db.mark_messages_indexed(ids[:2]) == 2
    assert db.mark_message_index_failed(ids[2]) == 1
    assert [m.vector_indexed for m in db.get_failed_indexed_messages()] == [VectorIndexState.FAILED]
    assert db.count_failed_indexed_messages() == 1
    assert db.count_unindexed_messages() == 1
    assert db.reset_failed_indexed_messages() == 1
    assert db.count_unindexed_messages() == 2
    assert db.mark_messages_indexed([]) == 0


def test_approval_status(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    db.upsert_session("s", pid)
    db.insert_messages("s", [msg("t1", tool_call_id="call-9", seq=0), msg("t2", tool_call_id="call-9", seq=1),
                             msg("t3", seq=2)])
    assert db.update_approval_status_by_tool_call_id("call-9", ApprovalStatus.PENDING, 0) == 2
    assert [m.uuid for m in db.get_pending_approvals("s")] == ["t1", "t2"]
    assert db.count_pending_approvals() == 2 and db.count_pending_approvals("s") == 2
    assert db.update_approval_status("t1", "APPROVED", 77) == 1
    assert db.get_message_by_uuid("t1").approval_status is ApprovalStatus.APPROVED
    assert db.batch_update_approval_status(["t2", "t3"], ApprovalStatus.REJECTED, 78) == 2
    assert db.count_pending_approvals("s") == 0
    with pytest.raises(InvalidArgument):
        db.update_approval_status("t1", "maybe", 1)


def test_stats_and_maintenance(db: SessionDB) -> None:
    add_session(db, "a", ["1", "2"], project="/x")
    add_session(db, "b", ["3"], project="/y")
    stats = db.get_stats()
    assert (stats.project_count, stats.session_count, stats.message_count) == (2, 2, 3)
    assert db.quick_check().ok and db.integrity_check().ok and db.fts_integrity_check().ok
    busy, _, _ = db.checkpoint("TRUNCATE")
    assert busy == 0
    with pytest.raises(ValueError):
        db.checkpoint("SOMETIMES")
    db.rebuild_search_index()
    assert [r.uuid for r in db.search("3")] == ["b-0"]


def test_closed_handle_raises_and_close_twice_is_fine(db_path: Path) -> None:
    db = SessionDB.connect(DbConfig.local(db_path))
    db.close()
    db.close()
    with pytest.raises(Exception, match="closed"):
        db.get_stats()


def test_handle_is_usable_from_many_threads(db: SessionDB) -> None:
    pid = db.get_or_create_project("p", "/p")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            db.upsert_session(f"s{n}", pid)
            for i in range(20):
                db.insert_messages(f"s{n}", [msg(f"{n}-{i}", f"thread {n} message {i}", seq=i)])
                db.search(f"thread {n}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.get_stats().message_count == 80
