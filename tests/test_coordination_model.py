"""A state machine over the writer protocol: random interleavings of every operation.

Handles share one database file and one monotonic clock (advancing it is a pause of
everyone, during which no heartbeat happens); each has its own wall clock, which the
machine jumps. "kill" drops a handle the way a crash does: its lock is released by
closing the descriptor, its connection closes, nothing is cleaned up.

Invariants:
* a write commits only from the handle that owns the registry row at commit time
  (a never-registered handle only while the registry is empty);
* a refused write leaves no row behind;
* after a round of health checks at most one handle believes it is Writer, and that
  handle owns the row.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import apsw
from coordination_helpers import batch, count_messages, open_handle, registry
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sessiondb import Clock, CoordinationError, PermissionDenied, Role, SessionDB, WriterHealth
from sessiondb.coordination.types import resolve_writer

SLOTS = 4
TIMEOUT_MS = 1_000
CONFIRM = 2
DAY_MS = 86_400_000
WRITERS = [("memex_daemon", None), ("vlaude_daemon", None), ("memex_kit", None), ("vlaude_kit", None),
           ("indexer", 0), ("approvals", 3)]


class SharedTime:
    def __init__(self) -> None:
        self.mono = 1_000_000
        self.wall = 1_760_000_000_000


class HandleClock(Clock):
    """The shared monotonic time, and this handle's own (jumpable) wall clock."""

    def __init__(self, time: SharedTime) -> None:
        self.time = time
        self.wall_offset = 0

    def wall_ms(self) -> int:
        return self.time.wall + self.wall_offset

    def monotonic_ms(self) -> int:
        return self.time.mono


class CoordinationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="sessiondb-model-"))
        self.path = self.dir / "model.db"
        self.time = SharedTime()
        self.handles: list[SessionDB | None] = [None] * SLOTS
        self.killed_ids: set[str] = set()
        self.writes = 0
        open_handle(self.path).close()

    def teardown(self) -> None:
        for db in self.handles:
            if db is not None:
                db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _open(self, slot: int) -> SessionDB:
        db = self.handles[slot]
        if db is None:
            db = open_handle(self.path, busy_timeout_ms=1000, heartbeat_ms=100, timeout_ms=TIMEOUT_MS,
                             confirm=CONFIRM)
            db.clock = HandleClock(self.time)
            self.handles[slot] = db
        return db

    def _owner(self) -> str | None:
        row = registry(self.path)
        return row[1] if row else None

    def _owner_priority(self) -> int | None:
        row = registry(self.path)
        return row[2] if row else None

    # ------------------------------------------------------------------ rules
    @rule(slot=st.integers(0, SLOTS - 1), writer=st.sampled_from(WRITERS))
    def register(self, slot: int, writer: tuple[str, int | None]) -> None:
        db = self._open(slot)
        name, priority = writer
        _, effective = resolve_writer(name, priority)
        owner, owner_priority = self._owner(), self._owner_priority()
        role = db.register_writer(name, priority=priority)
        if owner is None or owner == db.writer_id or owner in self.killed_ids or effective > owner_priority:
            assert role is Role.WRITER, (owner, owner_priority, effective)
        if role is Role.WRITER:
            assert self._owner() == db.writer_id

    @rule(slot=st.integers(0, SLOTS - 1))
    def heartbeat(self, slot: int) -> None:
        db = self.handles[slot]
        if db is None:
            return
        owned = db.writer_id is not None and self._owner() == db.writer_id
        try:
            db.heartbeat()
        except CoordinationError:
            assert db.role is None
        except PermissionDenied:
            assert db.role is Role.READER and not owned
        else:
            assert owned and db.role is Role.WRITER

    @rule(slot=st.integers(0, SLOTS - 1))
    def write_one(self, slot: int) -> None:
        self.write(slot)

    def write(self, slot: int) -> None:
        db = self.handles[slot]
        if db is None:
            return
        self.writes += 1
        prefix = f"w{self.writes}"
        try:
            inserted = batch(db, "s1", prefix, n=2)
        except PermissionDenied:
            assert count_messages(self.path, prefix) == 0
            assert db.role is not Role.WRITER
            return
        # Committed: at commit time (now: nothing ran since) this handle owned the row.
        assert inserted == 2
        if db.role is None:
            assert self._owner() is None
        else:
            assert db.role is Role.WRITER and self._owner() == db.writer_id

    @rule()
    def everyone_writes(self) -> None:
        """Every open handle tries a batch; at most one registered handle may succeed."""
        committed = 0
        for slot, db in enumerate(self.handles):
            if db is not None:
                before = self.writes
                self.write(slot)
                if db.role is not None:
                    committed += count_messages(self.path, f"w{before + 1}") > 0
        assert committed <= 1

    @rule(ms=st.sampled_from([50, 400, TIMEOUT_MS + 1, 3 * TIMEOUT_MS]))
    def pause(self, ms: int) -> None:
        """Time passes and nobody heartbeats (a paused writer, as readers see it)."""
        self.time.mono += ms
        self.time.wall += ms

    @rule(slot=st.integers(0, SLOTS - 1), jump=st.sampled_from([-DAY_MS, -TIMEOUT_MS * 5, TIMEOUT_MS * 5, DAY_MS]))
    def clock_jump(self, slot: int, jump: int) -> None:
        db = self.handles[slot]
        if db is not None:
            db.clock.wall_offset += jump

    @rule(slot=st.integers(0, SLOTS - 1))
    def kill(self, slot: int) -> None:
        db = self.handles[slot]
        if db is None:
            return
        fence = db._fence
        if fence.own_lock is not None:
            self.killed_ids.add(fence.own_lock.writer_id)
            fence.own_lock.abandon()
            fence.own_lock = None
        db._store.close()   # the connection goes, nothing is released
        self.handles[slot] = None

    @rule(slot=st.integers(0, SLOTS - 1))
    def release(self, slot: int) -> None:
        db = self.handles[slot]
        if db is None:
            return
        mine = db.writer_id is not None and self._owner() == db.writer_id
        db.release_writer()
        if mine:
            assert self._owner() is None
        assert not db.is_writer

    @rule(slot=st.integers(0, SLOTS - 1))
    def takeover(self, slot: int) -> None:
        db = self.handles[slot]
        if db is None:
            return
        owner = self._owner()
        try:
            taken = db.try_takeover()
        except CoordinationError:
            assert db.role is None
            return
        if owner is None or owner in self.killed_ids or owner == db.writer_id:
            assert taken, owner
        if taken:
            assert self._owner() == db.writer_id and db.is_writer

    @rule()
    def health_round(self) -> None:
        for db in self.handles:
            if db is not None:
                health = db.check_writer_health()
                owner = self._owner()
                if owner is None:
                    assert health is WriterHealth.RELEASED
                elif owner in self.killed_ids:
                    assert health is WriterHealth.TIMEOUT
        believers = [db for db in self.handles if db is not None and db.is_writer]
        assert len(believers) <= 1
        if believers:
            assert self._owner() == believers[0].writer_id

    # ------------------------------------------------------------------ invariants
    @invariant()
    def owner_is_unique_and_database_sound(self) -> None:
        owner = self._owner()
        owners = [db for db in self.handles if db is not None and owner is not None and db.writer_id == owner]
        assert len(owners) <= 1
        conn = apsw.Connection(str(self.path))
        try:
            dupes = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT uuid) FROM messages").fetchone()[0]
        finally:
            conn.close()
        assert dupes == 0


TestCoordinationMachine = CoordinationMachine.TestCase
TestCoordinationMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
