"""The Coordinator: one round at a time (step) and as a background loop."""

from __future__ import annotations

import threading
import time

import apsw
import pytest
from coordination_helpers import ManualClock, OriginalCoordinator, batch, open_handle, registry

from sessiondb import Coordinator, DatabaseError, InvalidArgument, PermissionDenied, Role, WriterType

HOUR_MS = 3_600_000


def wait_for(predicate, timeout: float = 20.0) -> None:
    """Poll until ``predicate()`` holds (a deadline, never a measured duration)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.01)


class Recorder:
    def __init__(self) -> None:
        self.roles: list[Role] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, role: Role) -> None:
        with self.lock:
            self.roles.append(role)
            self.threads.add(threading.current_thread().name)


@pytest.fixture
def handles(db_path):
    opened = []

    def make(**kwargs):
        db = open_handle(db_path, **kwargs)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.close()


def test_bad_input_is_refused_at_construction(db):
    with pytest.raises(InvalidArgument, match="unknown writer type"):
        Coordinator(db, "mystery")
    with pytest.raises(InvalidArgument):
        Coordinator(db, 9)
    with pytest.raises(InvalidArgument):
        Coordinator(db, WriterType.MEMEX_KIT, poll_interval_ms=0)
    with pytest.raises(InvalidArgument):
        Coordinator(db, WriterType.MEMEX_KIT, on_role_change="print")
    assert db.role is None


def test_step_registers_heartbeats_and_takes_over(handles, db_path):
    clock = ManualClock()
    writer_db = handles(clock=clock, timeout_ms=500, confirm=2)
    reader_db = handles(clock=clock, timeout_ms=500, confirm=2)
    writer_events, reader_events = Recorder(), Recorder()
    writer = Coordinator(writer_db, WriterType.MEMEX_DAEMON, on_role_change=writer_events)
    reader = Coordinator(reader_db, WriterType.VLAUDE_DAEMON, on_role_change=reader_events)
    assert writer.step() is Role.WRITER
    assert reader.step() is Role.READER
    for _ in range(5):   # the writer heartbeats every round: the reader never takes over
        clock.advance(400)
        assert writer.step() is Role.WRITER
        assert reader.step() is Role.READER
    heartbeat = registry(db_path)[3]
    clock.advance(400)
    writer.step()
    assert registry(db_path)[3] > heartbeat
    assert reader.step() is Role.READER   # sees that last heartbeat
    # The writer stops taking rounds (paused); the reader confirms twice, then takes over.
    clock.advance(501)
    assert reader.step() is Role.READER
    clock.advance(100)
    assert reader.step() is Role.WRITER
    assert writer.step() is Role.READER   # its heartbeat is refused
    assert writer_events.roles == [Role.WRITER, Role.READER]
    assert reader_events.roles == [Role.READER, Role.WRITER]


def test_step_as_reader_preempts_a_lower_priority_writer(handles):
    daemon_db, kit_db = handles(), handles()
    daemon = Coordinator(daemon_db, WriterType.MEMEX_DAEMON)
    kit = Coordinator(kit_db, WriterType.MEMEX_KIT)
    assert daemon.step() is Role.WRITER
    assert kit.step() is Role.WRITER
    assert daemon.step() is Role.READER
    kit_db.release_writer()
    assert daemon.step() is Role.WRITER
    assert kit.step() is Role.WRITER   # a Reader of higher priority takes the role back


def test_loop_hands_over_on_stop_and_reports_from_its_thread(handles, db_path):
    first_db = handles(heartbeat_ms=50, timeout_ms=HOUR_MS)
    second_db = handles(heartbeat_ms=50, timeout_ms=HOUR_MS)
    first_events, second_events = Recorder(), Recorder()
    first = Coordinator(first_db, WriterType.MEMEX_DAEMON, on_role_change=first_events, poll_interval_ms=20)
    second = Coordinator(second_db, WriterType.VLAUDE_DAEMON, on_role_change=second_events, poll_interval_ms=20)
    with first:
        assert first.role is Role.WRITER and first.running
        assert second.start() is Role.READER
        assert batch(first_db, "s1", "first") == 3
        heartbeat = registry(db_path)[3]
        wait_for(lambda: registry(db_path)[3] != heartbeat)   # the loop heartbeats
    assert not first.running and first_events.roles == [Role.WRITER, Role.READER]
    assert registry(db_path) is None or registry(db_path)[1] == second_db.writer_id
    wait_for(lambda: second.role is Role.WRITER)
    assert second_events.roles == [Role.READER, Role.WRITER]
    assert "sessiondb-coordinator" in second_events.threads
    assert batch(second_db, "s1", "second") == 3
    second.stop()
    assert registry(db_path) is None


def test_a_refused_write_wakes_the_loop_to_report_at_once(handles):
    daemon_db, kit_db = handles(heartbeat_ms=HOUR_MS), handles()
    events = Recorder()
    daemon = Coordinator(daemon_db, WriterType.MEMEX_DAEMON, on_role_change=events, poll_interval_ms=HOUR_MS)
    daemon.start()
    try:
        kit_db.register_writer(WriterType.MEMEX_KIT)
        with pytest.raises(PermissionDenied):
            batch(daemon_db, "s1", "late")
        # Neither a poll nor a round is due for an hour: only the wake-up can report it.
        wait_for(lambda: events.roles == [Role.WRITER, Role.READER])
    finally:
        daemon.stop()


def test_loop_takes_over_from_a_foreign_writer_after_it_stops(handles, db_path):
    reader_db = handles(heartbeat_ms=50, timeout_ms=600, confirm=2)
    original = OriginalCoordinator(db_path, "memex_kit", 2)
    try:
        assert original.try_register(time.time_ns() // 1_000_000)
        reader = Coordinator(reader_db, WriterType.MEMEX_DAEMON, poll_interval_ms=20)
        assert reader.start() is Role.READER
        try:
            end = time.monotonic() + 1.5
            while time.monotonic() < end:   # alive: heartbeating well within the timeout
                original.heartbeat(time.time_ns() // 1_000_000)
                time.sleep(0.03)
            assert registry(db_path)[1] == original.writer_id
            wait_for(lambda: reader.role is Role.WRITER)
            assert original.heartbeat(time.time_ns() // 1_000_000) is False
        finally:
            reader.stop()
    finally:
        original.close()


def test_failing_callback_does_not_stop_the_loop(handles):
    def explode(role: Role) -> None:
        raise RuntimeError("callback bug")

    first_db, second_db = handles(heartbeat_ms=50), handles(heartbeat_ms=50)
    first = Coordinator(first_db, WriterType.MEMEX_DAEMON, poll_interval_ms=20)
    second = Coordinator(second_db, WriterType.VLAUDE_DAEMON, on_role_change=explode, poll_interval_ms=20)
    first.start()
    second.start()
    try:
        first.stop()
        wait_for(lambda: second.role is Role.WRITER)
        assert second.running
    finally:
        second.stop()


def test_start_on_a_locked_database_raises_and_registers_nothing(handles, db_path):
    db = handles(busy_timeout_ms=50)
    blocker = apsw.Connection(str(db_path))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        coordinator = Coordinator(db, WriterType.MEMEX_KIT)
        with pytest.raises(DatabaseError, match="locked"):
            coordinator.start()
        assert db.role is None and not coordinator.running
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert coordinator.start() is Role.WRITER
    coordinator.stop()


def test_the_first_confirming_check_is_scheduled_where_the_heartbeat_turns_stale():
    schedule = Coordinator._confirm_from
    # The next regular round would come late: check right after the heartbeat turns stale.
    assert schedule(stale_at=3_000, last_round=2_500, next_round=3_500) == 3_001
    # Already past (a poll noticed it late): due at once, the loop runs it immediately.
    assert schedule(stale_at=3_000, last_round=2_999, next_round=4_000) == 3_001
    # A round already ran after it turned stale: keep the regular cadence between confirmations.
    assert schedule(stale_at=3_000, last_round=3_001, next_round=4_001) == 4_001
    # The regular round comes first anyway, or nothing is being watched.
    assert schedule(stale_at=3_000, last_round=2_000, next_round=3_000) == 3_000
    assert schedule(stale_at=None, last_round=2_000, next_round=3_000) == 3_000
