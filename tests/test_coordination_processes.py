"""Writer coordination between real processes on one database file.

Workers (tests/coordination_worker.py) are separate Python processes, each with its
own SessionDB handle; the tests signal them with SIGKILL, SIGSTOP and SIGCONT. No test
asserts a duration: where a takeover has to happen, the configuration makes the path
under test the only way it can (an hour-long timeout leaves only the lock-file proof)
and the test waits with a generous deadline. bench/failover_bench.py measures the times.
"""

from __future__ import annotations

import signal
import time
import uuid

import apsw
import pytest
from coordination_helpers import batch, count_messages, open_handle, registry
from coordination_worker import Worker

from sessiondb import Coordinator, PermissionDenied, Role, WriterHealth, WriterType

HOUR_MS = 3_600_000
WRITER, READER = int(Role.WRITER), int(Role.READER)


@pytest.fixture
def spawn(db_path):
    workers: list[Worker] = []

    def start(**settings) -> Worker:
        worker = Worker(db_path, **settings)
        workers.append(worker)
        return worker

    open_handle(db_path).close()   # create the schema once, before the processes race to
    yield start
    for worker in workers:
        worker.close()


def test_first_is_writer_same_priority_is_reader(spawn, db_path):
    first, second = spawn(), spawn()
    assert first.ok("register", type="memex_daemon")["role"] == WRITER
    assert second.ok("register", type="vlaude_daemon")["role"] == READER
    assert registry(db_path)[1] == first.ok("role")["writer_id"]
    assert first.ok("write", session="s1", prefix="first", n=5)["inserted"] == 5
    refused = second.call("write", session="s1", prefix="second", n=5)
    assert refused["error"] == "PermissionDenied"
    assert count_messages(db_path, "second") == 0


def test_higher_priority_preempts_and_the_preempted_write_is_refused(spawn, db_path):
    daemon, kit = spawn(), spawn()
    assert daemon.ok("register", type="memex_daemon")["role"] == WRITER
    assert daemon.ok("write", session="s1", prefix="before", n=10)["inserted"] == 10
    assert kit.ok("register", type="memex_kit")["role"] == WRITER
    refused = daemon.call("write", session="s1", prefix="after", n=10)
    assert refused["error"] == "PermissionDenied" and "memex_kit" in refused["message"]
    assert refused["role"] == READER
    assert count_messages(db_path, "after") == 0
    assert daemon.call("heartbeat")["error"] == "PermissionDenied"
    assert kit.ok("write", session="s1", prefix="kit", n=10)["inserted"] == 10


def test_sigkill_of_the_writer_lets_a_reader_take_over_at_once(spawn, db_path):
    writer = spawn(timeout_ms=HOUR_MS)
    assert writer.ok("register", type="memex_kit")["role"] == WRITER
    writer.ok("write", session="s1", prefix="killed", n=5)
    reader = open_handle(db_path, timeout_ms=HOUR_MS)
    try:
        assert reader.register_writer(WriterType.MEMEX_DAEMON) is Role.READER
        assert reader.try_takeover() is False
        writer.kill()
        # An hour-long timeout: only the free lock file can justify this, and it does at once.
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        assert reader.try_takeover() is True
        assert registry(db_path)[1] == reader.writer_id
        assert count_messages(db_path, "killed") == 5
    finally:
        reader.close()


def test_sigkill_of_the_writer_makes_a_coordinating_reader_writer(spawn, db_path):
    writer = spawn(timeout_ms=HOUR_MS, heartbeat_ms=HOUR_MS)
    reader = spawn(timeout_ms=HOUR_MS, heartbeat_ms=HOUR_MS)
    assert writer.ok("coordinate", type="memex_kit")["role"] == WRITER
    assert reader.ok("coordinate", type="memex_daemon", poll_ms=50)["role"] == READER
    writer.kill()
    reader.wait_event(WRITER, timeout=20)
    assert registry(db_path)[1] == reader.ok("role")["writer_id"]
    assert reader.ok("write", session="s1", prefix="successor", n=3)["inserted"] == 3


def test_sigstop_past_the_timeout_takeover_after_confirm_count_and_no_commit_after_sigcont(spawn, db_path):
    writer = spawn(heartbeat_ms=100, timeout_ms=1500, confirm_count=3)
    assert writer.ok("coordinate", type="memex_kit")["role"] == WRITER
    reader = open_handle(db_path, heartbeat_ms=100, timeout_ms=1500, confirm=3)
    try:
        reader.register_writer(WriterType.VLAUDE_KIT)   # equal priority: only the timeout lets it in
        # Alive and heartbeating: never stale, however long the reader watches.
        for _ in range(8):
            time.sleep(0.25)
            assert reader.check_writer_health() is WriterHealth.ALIVE
            assert reader.try_takeover() is False
        writer.pause_outside_transaction(db_path)
        assert reader.check_writer_health() in (WriterHealth.ALIVE, WriterHealth.TIMEOUT)
        time.sleep(1.6)   # longer than the timeout since the reader last saw a change
        for _ in range(2):
            assert reader.check_writer_health() is WriterHealth.TIMEOUT
            assert reader.try_takeover() is False   # not yet confirmed
        assert reader.check_writer_health() is WriterHealth.TIMEOUT
        assert reader.try_takeover() is True
        assert batch(reader, "s1", "successor") == 3
        # The new writer keeps heartbeating, so the woken one has no reason to take over.
        keeper = Coordinator(reader, WriterType.VLAUDE_KIT)
        assert keeper.start() is Role.WRITER
        try:
            writer.signal(signal.SIGCONT)
            refused = writer.call("write", session="s1", prefix="woken", n=20)
            assert refused["error"] == "PermissionDenied"
            assert count_messages(db_path, "woken") == 0
            assert writer.wait_event(READER, timeout=20)
            assert reader.current_writer().writer_id == reader.writer_id
        finally:
            keeper.stop()
    finally:
        reader.close()


def test_release_gives_an_immediate_takeover(spawn, db_path):
    writer, reader = spawn(timeout_ms=HOUR_MS), spawn(timeout_ms=HOUR_MS)
    assert writer.ok("register", type="vlaude_daemon")["role"] == WRITER
    assert reader.ok("register", type="memex_daemon")["role"] == READER
    assert reader.ok("takeover")["taken"] is False
    writer.ok("release")
    assert reader.ok("health")["health"] == int(WriterHealth.RELEASED)
    assert reader.ok("takeover")["taken"] is True
    # And with the loop: a coordinating reader picks the role up without any timeout.
    follower = spawn(timeout_ms=HOUR_MS, heartbeat_ms=HOUR_MS)
    assert follower.ok("coordinate", type="vlaude_daemon", poll_ms=50)["role"] == READER
    reader.ok("release")
    follower.wait_event(WRITER, timeout=20)


def test_foreign_writer_row_without_lock_file_follows_the_heartbeat_rule(spawn, db_path):
    foreign_id = str(uuid.uuid4())
    conn = apsw.Connection(str(db_path))
    conn.set_busy_timeout(5000)

    def foreign_heartbeat() -> None:
        conn.execute("UPDATE writer_registry SET heartbeat = ? WHERE id = 1 AND writer_id = ?",
                     (time.time_ns() // 1_000_000, foreign_id))

    try:
        now = time.time_ns() // 1_000_000
        conn.execute("INSERT INTO writer_registry VALUES (1, 'memex_kit', ?, 2, ?, ?)", (foreign_id, now, now))
        reader = spawn(heartbeat_ms=100, timeout_ms=1500, confirm_count=3)
        assert reader.ok("coordinate", type="memex_daemon", poll_ms=50)["role"] == READER
        # The foreign writer keeps heartbeating for several timeouts: no takeover.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            foreign_heartbeat()
            time.sleep(0.1)
        assert registry(db_path)[1] == foreign_id
        assert reader.ok("role")["role"] == READER
        # It stops: the reader takes over once the timeout is confirmed.
        reader.wait_event(WRITER, timeout=30)
        assert registry(db_path)[1] == reader.ok("role")["writer_id"]
        foreign_heartbeat()
        assert conn.changes() == 0   # the foreign writer's heartbeat now tells it it was displaced
    finally:
        conn.close()


def test_wall_clock_jumps_across_processes(spawn, db_path):
    # The writer's wall clock is a day behind, the reader's a day ahead.
    writer = spawn(heartbeat_ms=100, timeout_ms=1500, confirm_count=2, wall_offset_ms=-86_400_000)
    reader = spawn(heartbeat_ms=100, timeout_ms=1500, confirm_count=2, wall_offset_ms=86_400_000)
    assert writer.ok("coordinate", type="memex_daemon")["role"] == WRITER
    assert reader.ok("coordinate", type="vlaude_daemon", poll_ms=50)["role"] == READER
    writer.ok("wall_jump", ms=-86_400_000)
    reader.ok("wall_jump", ms=3 * 86_400_000)
    time.sleep(3)   # two timeouts: the live writer must keep the role
    assert writer.ok("write", session="s1", prefix="alive", n=3)["inserted"] == 3
    assert reader.ok("role")["role"] == READER
    # The writer is paused: however its heartbeat compares with the reader's wall clock
    # (a day behind, now three ahead), the reader finds it stale and takes over.
    writer.pause_outside_transaction(db_path)
    reader.wait_event(WRITER, timeout=30)
    writer.signal(signal.SIGCONT)
    assert writer.call("write", session="s1", prefix="paused", n=3)["error"] == "PermissionDenied"
    assert count_messages(db_path, "paused") == 0


def test_preempted_in_process_handle_while_another_process_writes(spawn, db_path):
    handle = open_handle(db_path)
    try:
        assert handle.register_writer(WriterType.VLAUDE_DAEMON) is Role.WRITER
        kit = spawn()
        assert kit.ok("register", type="vlaude_kit")["role"] == WRITER
        with pytest.raises(PermissionDenied):
            handle.upsert_session("s9", handle.get_or_create_project("p", "/p", "claude"))
        assert handle.role is Role.READER
    finally:
        handle.close()
