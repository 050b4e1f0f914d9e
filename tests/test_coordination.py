"""Writer coordination on one database file, several handles in this process.

Each handle holds its own lock file through its own open file description, so two
handles in one process exclude each other exactly as two processes do; the tests in
test_coordination_processes.py repeat the essential cases with real processes.
"""

from __future__ import annotations

import re
import uuid

import apsw
import pytest
from coordination_helpers import (ManualClock, OriginalCoordinator, batch, count_messages, lock_files, open_handle,
                                  registry)

from sessiondb import (CoordinationError, DatabaseError, DbConfig, InvalidArgument, PermissionDenied,
                       ReadOnlyError, Role, SessionDB, WriterHealth, WriterInfo, WriterType)
from sessiondb.coordination.types import resolve_writer

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def handles(db_path):
    opened: list[SessionDB] = []

    def make(**kwargs) -> SessionDB:
        db = open_handle(db_path, **kwargs)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.close()


# ------------------------------------------------------------------ types and input
def test_writer_types_follow_the_product_contract():
    assert [(t.code, t.value, t.priority) for t in WriterType] == [
        (0, "memex_daemon", 1), (1, "vlaude_daemon", 1), (2, "memex_kit", 2), (3, "vlaude_kit", 2)]
    # The original code gave VlaudeKit priority 3; the product contract (and this library) says 2.
    assert WriterType.VLAUDE_KIT.priority == WriterType.MEMEX_KIT.priority == 2
    assert WriterType.from_code(3) is WriterType.VLAUDE_KIT
    assert WriterType.from_name("MemexKit") is WriterType.MEMEX_KIT
    assert WriterType.from_name("memex_kit") is WriterType.MEMEX_KIT
    assert WriterType.from_name("indexer") is None
    assert (int(Role.WRITER), int(Role.READER)) == (0, 1)
    assert [int(h) for h in (WriterHealth.ALIVE, WriterHealth.TIMEOUT, WriterHealth.RELEASED)] == [0, 1, 2]


@pytest.mark.parametrize("code", [-1, 4, 99, True])
def test_unknown_writer_type_code_is_a_clear_error(code):
    with pytest.raises(InvalidArgument, match="unknown writer type"):
        WriterType.from_code(code)


@pytest.mark.parametrize("bad, priority", [
    (None, None), (3.5, None), (b"memex_kit", None), (7, None), ("", 1), ("   ", 1), ("a\x00b", 1),
    ("x" * 65, 1), ("indexer", None), ("indexer", "high"), ("indexer", True), ("indexer", 2 ** 63),
])
def test_bad_registration_is_refused_and_leaves_the_handle_unregistered(handles, db_path, bad, priority):
    db = handles()
    with pytest.raises(InvalidArgument):
        db.register_writer(bad, priority=priority)
    assert db.role is None and db.writer_id is None
    assert registry(db_path) is None and lock_files(db_path) == []


def test_named_writer_with_its_own_priority(handles, db_path):
    assert resolve_writer("indexer", 5) == ("indexer", 5)
    assert resolve_writer(WriterType.MEMEX_DAEMON) == ("memex_daemon", 1)
    assert resolve_writer("vlaude_kit") == ("vlaude_kit", 2)
    assert resolve_writer(2) == ("memex_kit", 2)
    kit = handles()
    named = handles()
    assert kit.register_writer(WriterType.MEMEX_KIT) is Role.WRITER
    assert named.register_writer("indexer", priority=5) is Role.WRITER   # 5 > 2: preempts
    assert registry(db_path)[:3] == ("indexer", named.writer_id, 5)
    assert named.writer_priority == 5


# ------------------------------------------------------------------ registration
def test_first_is_writer_same_priority_reader_higher_preempts(handles, db_path):
    daemon, other_daemon, kit = handles(), handles(), handles()
    assert daemon.register_writer(WriterType.MEMEX_DAEMON) is Role.WRITER
    assert other_daemon.register_writer(WriterType.VLAUDE_DAEMON) is Role.READER
    assert daemon.is_writer and not other_daemon.is_writer
    assert registry(db_path)[1] == daemon.writer_id
    assert kit.register_writer(WriterType.VLAUDE_KIT) is Role.WRITER
    assert registry(db_path)[:3] == ("vlaude_kit", kit.writer_id, 2)
    # A lower priority never displaces a live writer.
    assert other_daemon.register_writer(WriterType.VLAUDE_DAEMON) is Role.READER


def test_registry_row_keeps_the_original_encoding(handles, db_path):
    clock = ManualClock()
    db = handles(clock=clock)
    db.register_writer(WriterType.MEMEX_KIT)
    writer_type, writer_id, priority, heartbeat, registered_at = registry(db_path)
    assert (writer_type, priority, heartbeat, registered_at) == ("memex_kit", 2, clock.wall, clock.wall)
    assert UUID4.match(writer_id) and writer_id == db.writer_id
    assert db.current_writer() == WriterInfo("memex_kit", writer_id, 2, clock.wall, clock.wall)
    clock.advance(1500)
    db.heartbeat()
    assert registry(db_path)[3] == clock.wall


def test_registering_again_keeps_the_writer_role(handles, db_path):
    db = handles()
    assert db.register_writer(WriterType.MEMEX_DAEMON) is Role.WRITER
    first_id = db.writer_id
    # The original demoted itself here (new UUID losing to its own row).
    assert db.register_writer(WriterType.MEMEX_DAEMON) is Role.WRITER
    assert db.register_writer(WriterType.MEMEX_KIT) is Role.WRITER
    assert db.writer_id == first_id
    assert registry(db_path)[:3] == ("memex_kit", first_id, 2)
    assert batch(db, "s1", "again") == 3


def test_read_only_handle_cannot_register(db, db_path):
    db.get_stats()
    reader = SessionDB.connect(DbConfig.local(db_path, read_only=True))
    try:
        with pytest.raises(ReadOnlyError):
            reader.register_writer(WriterType.MEMEX_DAEMON)
        assert reader.role is None
        assert reader.check_writer_health() is WriterHealth.RELEASED
    finally:
        reader.close()


# ------------------------------------------------------------------ fencing
def test_never_registered_handle_writes_only_while_nobody_is_registered(handles, db_path):
    plain, writer = handles(), handles()
    assert batch(plain, "s1", "free") == 3
    writer.register_writer(WriterType.MEMEX_DAEMON)
    with pytest.raises(PermissionDenied, match="memex_daemon"):
        batch(plain, "s1", "blocked")
    assert count_messages(db_path, "blocked") == 0
    writer.release_writer()
    assert batch(plain, "s1", "free-again") == 3


def test_reader_write_is_refused_and_nothing_is_written(handles, db_path):
    writer, reader = handles(), handles()
    writer.register_writer(WriterType.MEMEX_KIT)
    reader.register_writer(WriterType.MEMEX_DAEMON)
    with pytest.raises(PermissionDenied, match="Reader"):
        batch(reader, "s1", "reader")
    with pytest.raises(PermissionDenied):
        reader.upsert_session("s2", reader.get_or_create_project("p", "/p", "claude"))
    assert count_messages(db_path, "reader") == 0
    assert reader.role is Role.READER
    assert batch(writer, "s1", "writer") == 3


def test_preempted_writer_is_refused_and_becomes_reader(handles, db_path):
    roles: list[Role] = []
    daemon, kit = handles(), handles()
    daemon.register_writer(WriterType.MEMEX_DAEMON)
    daemon.add_role_listener(roles.append)
    assert batch(daemon, "s1", "before") == 3
    old_id = daemon.writer_id
    assert kit.register_writer(WriterType.MEMEX_KIT) is Role.WRITER
    assert daemon.is_writer   # it has not noticed yet: the fence will
    with pytest.raises(PermissionDenied, match="lost the writer role to memex_kit"):
        batch(daemon, "s1", "after")
    assert count_messages(db_path, "after") == 0
    assert count_messages(db_path, "before") == 3
    assert daemon.role is Role.READER and roles == [Role.READER]
    assert daemon.writer_id != old_id   # a new id for its next claim
    with pytest.raises(PermissionDenied, match="Reader"):
        daemon.heartbeat()


def test_preempted_writer_heartbeat_is_refused(handles):
    daemon, kit = handles(), handles()
    daemon.register_writer(WriterType.VLAUDE_DAEMON)
    kit.register_writer(WriterType.VLAUDE_KIT)
    with pytest.raises(PermissionDenied, match="taken over by vlaude_kit"):
        daemon.heartbeat()
    assert daemon.role is Role.READER
    with pytest.raises(PermissionDenied):
        daemon.heartbeat()
    kit.heartbeat()


def test_batch_in_flight_commits_wholly_before_a_preemption(handles, db_path):
    daemon, kit = handles(), handles(busy_timeout_ms=5000)
    daemon.register_writer(WriterType.MEMEX_DAEMON)
    with daemon._store.write():
        batch(daemon, "s1", "inflight", n=50)
        # The preemption waits for the write lock: its BEGIN IMMEDIATE cannot start now.
        probe = apsw.Connection(str(db_path))
        probe.set_busy_timeout(0)
        with pytest.raises(apsw.BusyError):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()
    assert kit.register_writer(WriterType.MEMEX_KIT) is Role.WRITER
    assert count_messages(db_path, "inflight") == 50
    with pytest.raises(PermissionDenied):
        batch(daemon, "s1", "late", n=50)
    assert count_messages(db_path, "late") == 0


# ------------------------------------------------------------------ errors of the API
def test_unregistered_calls(handles):
    db = handles()
    with pytest.raises(CoordinationError, match="never registered"):
        db.heartbeat()
    with pytest.raises(CoordinationError, match="never registered"):
        db.try_takeover()
    db.release_writer()   # a no-op, as in the original
    assert db.role is None
    assert db.check_writer_health() is WriterHealth.RELEASED
    assert db.current_writer() is None


def test_database_locked_past_busy_timeout_is_a_clear_error_and_never_a_wrong_role(handles, db_path):
    db = handles(busy_timeout_ms=50)
    other = handles(busy_timeout_ms=50)
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            db.register_writer(WriterType.MEMEX_DAEMON)
        assert db.role is None and lock_files(db_path) == []
    finally:
        blocker.execute("ROLLBACK")
    db.register_writer(WriterType.MEMEX_DAEMON)
    other.register_writer(WriterType.MEMEX_DAEMON)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            db.heartbeat()
        with pytest.raises(DatabaseError, match="locked"):
            batch(db, "s1", "locked")
        with pytest.raises(DatabaseError, match="locked"):
            other.try_takeover()
        with pytest.raises(DatabaseError, match="locked"):
            db.release_writer()
        assert db.role is Role.WRITER and other.role is Role.READER
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    db.heartbeat()
    assert batch(db, "s1", "unlocked") == 3


# ------------------------------------------------------------------ release and lock files
def test_release_hands_over_at_once(handles, db_path):
    writer, reader = handles(), handles()
    writer.register_writer(WriterType.VLAUDE_DAEMON)
    reader.register_writer(WriterType.MEMEX_DAEMON)
    writer_file = f"{db_path.name}.writer-{writer.writer_id}.lock"
    assert writer_file in lock_files(db_path)
    writer.release_writer()
    assert registry(db_path) is None and writer_file not in lock_files(db_path)
    assert writer.role is Role.READER and writer.writer_id is None
    assert reader.check_writer_health() is WriterHealth.RELEASED
    assert reader.try_takeover() is True   # no timeout, no confirm count
    with pytest.raises(PermissionDenied):
        batch(writer, "s1", "released")
    assert writer.try_takeover() is False   # it may claim again; equal priority, the row is taken
    assert batch(reader, "s1", "new-writer") == 3


def test_close_releases_the_role_and_removes_the_lock_file(db_path):
    writer = open_handle(db_path)
    reader = open_handle(db_path)
    try:
        writer.register_writer(WriterType.MEMEX_KIT)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        writer.close()
        assert registry(db_path) is None
        assert lock_files(db_path) == [f"{db_path.name}.writer-{reader.writer_id}.lock"]
        assert reader.try_takeover() is True
    finally:
        reader.close()
    assert lock_files(db_path) == []


def test_crashed_writer_lock_file_lets_a_reader_take_over_at_once(handles, db_path):
    clock = ManualClock()
    writer, reader = handles(clock=clock), handles(clock=clock)
    writer.register_writer(WriterType.MEMEX_KIT)
    reader.register_writer(WriterType.MEMEX_DAEMON)
    assert reader.try_takeover() is False
    crashed_id = writer.writer_id
    writer._fence.own_lock.abandon()   # what the kernel does when the process dies
    assert reader.check_writer_health() is WriterHealth.TIMEOUT
    # Lower priority, no time passed, no confirmations: the free lock is proof enough.
    assert reader.try_takeover() is True
    assert registry(db_path)[1] == reader.writer_id
    assert f"{db_path.name}.writer-{crashed_id}.lock" not in lock_files(db_path)


def test_stale_lock_files_are_swept_but_live_ones_kept(handles, db_path):
    live = handles()
    live.register_writer(WriterType.MEMEX_DAEMON)
    db_path.with_name(f"{db_path.name}.writer-{uuid.uuid4()}.lock").write_text("pid 1\n")
    unrelated = db_path.with_name(f"{db_path.name}.writer-notes.lock")
    unrelated.write_text("not ours")
    handles().register_writer(WriterType.VLAUDE_DAEMON)
    names = lock_files(db_path)
    assert f"{db_path.name}.writer-{live.writer_id}.lock" in names
    assert unrelated.name in names and len(names) == 3   # live, the new reader, the unrelated file


def test_hostile_writer_id_never_becomes_a_path(handles, db_path, tmp_path):
    victim = tmp_path / "victim.lock"
    victim.write_text("keep me")
    reader = handles(clock=ManualClock())
    reader.register_writer(WriterType.MEMEX_DAEMON)
    reader.release_writer()
    conn = apsw.Connection(str(db_path))
    conn.execute("INSERT INTO writer_registry VALUES (1, 'memex_kit', ?, 2, 1, 1)", (f"../../{victim.name[:-5]}",))
    conn.close()
    assert reader.check_writer_health() is WriterHealth.ALIVE   # heartbeat rule, no file touched
    assert victim.read_text() == "keep me"


# ------------------------------------------------------------------ heartbeat rule
def test_foreign_writer_without_lock_file_follows_the_heartbeat_rule(handles, db_path):
    clock = ManualClock()
    reader = handles(clock=clock, timeout_ms=500, confirm=3)
    original = OriginalCoordinator(db_path, "memex_kit", 2)
    try:
        assert original.try_register(clock.wall)
        assert reader.register_writer(WriterType.MEMEX_DAEMON) is Role.READER
        # Heartbeating, it stays alive however much time passes.
        for _ in range(5):
            clock.advance(400)
            assert original.heartbeat(clock.wall)
            assert reader.check_writer_health() is WriterHealth.ALIVE
            assert reader.try_takeover() is False
        # It stops: stale after the timeout, taken over on the third consecutive check.
        clock.advance(501)
        for _ in range(2):
            assert reader.check_writer_health() is WriterHealth.TIMEOUT
            assert reader.try_takeover() is False
            clock.advance(100)
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        assert reader.try_takeover() is True
        assert registry(db_path)[1] == reader.writer_id
        assert original.heartbeat(clock.wall) is False   # the original learns it was displaced
    finally:
        original.close()


def test_a_heartbeat_between_checks_resets_the_confirmation(handles, db_path):
    clock = ManualClock()
    reader = handles(clock=clock, timeout_ms=500, confirm=2)
    original = OriginalCoordinator(db_path, "memex_kit", 2)
    try:
        original.try_register(clock.wall)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        clock.advance(600)
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        original.heartbeat(clock.wall)   # alive after all, just slow
        assert reader.check_writer_health() is WriterHealth.ALIVE
        clock.advance(600)
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        # Compare-and-swap on the row observed: a heartbeat after the last check wins.
        original.heartbeat(clock.wall + 1)
        assert reader.check_writer_health() is WriterHealth.ALIVE
        assert reader.try_takeover() is False
    finally:
        original.close()


def test_takeover_must_match_the_row_that_was_confirmed(handles, db_path):
    clock = ManualClock()
    reader = handles(clock=clock, timeout_ms=500, confirm=1)
    original = OriginalCoordinator(db_path, "memex_kit", 2)
    try:
        original.try_register(clock.wall)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        clock.advance(501)
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        original.heartbeat(clock.wall)   # between the check and the takeover
        assert reader.try_takeover() is False
        assert registry(db_path)[1] == original.writer_id
    finally:
        original.close()


def test_racing_readers_cannot_both_win(handles, db_path):
    clock = ManualClock()
    first = handles(clock=clock, timeout_ms=500, confirm=1)
    second = handles(clock=clock, timeout_ms=500, confirm=1)
    original = OriginalCoordinator(db_path, "memex_kit", 2)
    try:
        original.try_register(clock.wall)
        first.register_writer(WriterType.MEMEX_DAEMON)
        second.register_writer(WriterType.VLAUDE_DAEMON)
        clock.advance(501)
        assert first.check_writer_health() is WriterHealth.TIMEOUT
        assert second.check_writer_health() is WriterHealth.TIMEOUT
        assert [first.try_takeover(), second.try_takeover()] == [True, False]
        assert first.is_writer and not second.is_writer
    finally:
        original.close()


def test_try_takeover_honours_priority(handles, db_path):
    daemon, kit, other_daemon = handles(), handles(), handles()
    kit.register_writer(WriterType.MEMEX_KIT)
    daemon.register_writer(WriterType.MEMEX_DAEMON)
    other_daemon.register_writer(WriterType.VLAUDE_DAEMON)
    kit.release_writer()
    assert daemon.try_takeover() is True
    assert other_daemon.try_takeover() is False   # equal priority: first come, first served
    kit.register_writer(WriterType.MEMEX_KIT)     # higher priority preempts at once
    assert kit.is_writer


# ------------------------------------------------------------------ clocks
def test_wall_clock_jumps_neither_kill_a_live_writer_nor_keep_a_dead_one(handles, db_path):
    writer_clock, reader_clock = ManualClock(), ManualClock()
    writer = handles(clock=writer_clock, timeout_ms=500, confirm=2)
    reader = handles(clock=reader_clock, timeout_ms=500, confirm=2)
    writer.register_writer(WriterType.MEMEX_KIT)
    reader.register_writer(WriterType.MEMEX_DAEMON)
    # The writer's wall clock jumps back a day, the reader's forward a day: still alive.
    writer_clock.jump_wall(-86_400_000)
    reader_clock.jump_wall(86_400_000)
    for _ in range(6):
        writer_clock.advance(200)
        reader_clock.advance(200)
        writer.heartbeat()
        assert reader.check_writer_health() is WriterHealth.ALIVE
        assert reader.try_takeover() is False
    # A frozen wall clock still moves the heartbeat: it always changes.
    before = registry(db_path)[3]
    writer.heartbeat()
    assert registry(db_path)[3] == before + 1
    assert reader.check_writer_health() is WriterHealth.ALIVE
    # The writer stops (alive process, lock held): its heartbeat is a day "in the
    # future" of the reader's clock after the reader's clock jumps back, yet it is
    # found stale after the timeout on the reader's monotonic clock.
    reader_clock.jump_wall(-2 * 86_400_000)
    reader_clock.advance(501)
    assert reader.check_writer_health() is WriterHealth.TIMEOUT
    reader_clock.advance(100)
    assert reader.check_writer_health() is WriterHealth.TIMEOUT
    assert reader.try_takeover() is True
    with pytest.raises(PermissionDenied):
        batch(writer, "s1", "stale-writer")
    assert count_messages(db_path, "stale-writer") == 0


def test_a_fresh_reader_measures_staleness_from_its_own_first_look(handles, db_path):
    # A row whose heartbeat is hours old by the wall clock is not trusted as dead: the
    # reader's own monotonic clock has to see it stand still.
    clock = ManualClock()
    handles(clock=clock).get_stats()
    conn = apsw.Connection(str(db_path))
    conn.execute("INSERT INTO writer_registry VALUES (1, 'memex_kit', ?, 2, ?, ?)",
                 (str(uuid.uuid4()), clock.wall - 3_600_000, clock.wall - 3_600_000))
    conn.close()
    reader = handles(clock=clock, timeout_ms=500, confirm=1)
    assert reader.register_writer(WriterType.MEMEX_DAEMON) is Role.READER
    assert reader.check_writer_health() is WriterHealth.ALIVE
    clock.advance(501)
    assert reader.check_writer_health() is WriterHealth.TIMEOUT
    assert reader.try_takeover() is True


# ------------------------------------------------------------------ the original library in the same file
def test_original_library_and_this_one_share_the_row(handles, db_path):
    clock = ManualClock()
    ours = handles(clock=clock)
    ours.register_writer(WriterType.MEMEX_DAEMON)
    original_kit = OriginalCoordinator(db_path, "memex_kit", 2)
    original_daemon = OriginalCoordinator(db_path, "vlaude_daemon", 1)
    try:
        import time
        now = time.time_ns() // 1_000_000
        ours.clock = type(clock)(wall=now)
        ours.heartbeat()
        # The original applies its 30 s wall-clock rule to our row: alive, equal priority loses.
        assert original_daemon.check_health(now) == "alive"
        assert original_daemon.try_register(now) is False
        # A higher-priority original writer preempts us; our next write is refused.
        assert original_kit.try_register(now) is True
        with pytest.raises(PermissionDenied, match="memex_kit"):
            batch(ours, "s1", "ours")
        assert ours.role is Role.READER
        assert ours.check_writer_health() is WriterHealth.ALIVE   # no lock file: heartbeat rule
        # The original releases: we take over at once, and the original sees us as alive.
        original_kit.release()
        assert ours.try_takeover() is True
        assert original_daemon.check_health(now) == "alive"
        assert original_daemon.try_takeover(now) is False
    finally:
        original_kit.close()
        original_daemon.close()


def test_a_new_participant_after_a_crash_registers_as_writer_at_once(handles, db_path):
    crashed = handles()
    crashed.register_writer(WriterType.MEMEX_KIT)
    crashed._fence.own_lock.abandon()   # the process died; its row and lock file stay behind
    stray = db_path.with_name(f"{db_path.name}.writer-{uuid.uuid4()}.lock")
    stray.write_text("pid 1\n")
    newcomer = handles(timeout_ms=3_600_000)
    # Registering sweeps stale lock files, but never the registered writer's: that one
    # is the proof that lets a lower priority take over without waiting.
    assert newcomer.register_writer(WriterType.MEMEX_DAEMON) is Role.WRITER
    assert lock_files(db_path) == [f"{db_path.name}.writer-{newcomer.writer_id}.lock"]


def test_closing_a_reader_needs_no_write_lock(db_path):
    writer = open_handle(db_path)
    reader = open_handle(db_path, busy_timeout_ms=50)
    try:
        writer.register_writer(WriterType.MEMEX_KIT)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        reader_file = f"{db_path.name}.writer-{reader.writer_id}.lock"
        blocker = apsw.Connection(str(db_path))
        blocker.execute("BEGIN IMMEDIATE")
        try:
            reader.close()   # nothing of the reader's is in the row: no DELETE, no wait
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert reader_file not in lock_files(db_path)
        assert registry(db_path)[1] == writer.writer_id
    finally:
        writer.close()


def test_a_writer_closed_while_the_database_is_locked_still_hands_over_at_once(db_path):
    writer = open_handle(db_path, busy_timeout_ms=50)
    reader = open_handle(db_path, timeout_ms=3_600_000)
    try:
        writer.register_writer(WriterType.MEMEX_KIT)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        blocker = apsw.Connection(str(db_path))
        blocker.execute("BEGIN IMMEDIATE")
        try:
            writer.close()   # cannot delete the row, so it leaves its lock file unlocked
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert registry(db_path) is not None
        assert reader.try_takeover() is True
    finally:
        reader.close()


def test_a_takeover_that_fails_keeps_the_crash_proof_for_others(handles, db_path):
    crashed = handles()
    crashed.register_writer(WriterType.MEMEX_KIT)
    crashed_file = f"{db_path.name}.writer-{crashed.writer_id}.lock"
    first = handles(busy_timeout_ms=50, timeout_ms=3_600_000)
    second = handles(timeout_ms=3_600_000)
    first.register_writer(WriterType.MEMEX_DAEMON)
    second.register_writer(WriterType.VLAUDE_DAEMON)
    crashed._fence.own_lock.abandon()
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            first.try_takeover()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert crashed_file in lock_files(db_path) and first.role is Role.READER
    assert second.try_takeover() is True
    assert crashed_file not in lock_files(db_path)


def test_a_handle_dropped_without_close_hands_over_at_once(db_path):
    import gc

    reader = open_handle(db_path, timeout_ms=3_600_000)
    try:
        dropped = open_handle(db_path)
        dropped.register_writer(WriterType.MEMEX_KIT)
        reader.register_writer(WriterType.MEMEX_DAEMON)
        dropped._store.connection().close()   # what garbage collection does to the connection
        del dropped
        gc.collect()
        assert reader.try_takeover() is True
    finally:
        reader.close()
