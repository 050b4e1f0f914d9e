"""WAL checkpoints on a second thread during a bulk of writes (``store.checkpoints``).

Real SQLite files, a real thread and real readers: inside ``background_checkpoints()``
the writer's own automatic checkpoints are off, so the database file only grows, and
the WAL only stays small, because the thread copies the WAL back and the writer starts
it over. A reader that holds a snapshot in another process keeps its view and stalls
nothing, and the rows and file are those of the same writes without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessiondb import DbConfig, MessageInput, SessionDB
from sessiondb.store import checkpoints

from helpers import msg

# Each write: 1,500 messages of about 2 KB, back to back (some 9 MB of WAL each, more
# than a checkpoint copies back before the next write begins).
WRITES = 16
ROWS = 1500


def _batches() -> list[list[MessageInput]]:
    return [[msg(f"b{batch}-{i}", f"batch {batch} row {i} " +
                 " ".join(f"word{(batch * 7 + i * 13 + k) % 997}" for k in range(300)), seq=i)
             for i in range(ROWS)] for batch in range(WRITES)]


def _sizes(path: Path) -> tuple[int, int]:
    wal = Path(f"{path}-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


def _autocheckpoint(db: SessionDB) -> int:
    with db._store.lock:
        return int(db._store.connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def _sessions(db: SessionDB) -> None:
    pid = db.get_or_create_project("bulk", "/work/bulk", "claude")
    for batch in range(WRITES):
        db.upsert_session(f"s{batch}", pid)


def _bulk_db(path: Path) -> tuple[SessionDB, list[list[MessageInput]]]:
    """A database with the sessions of the writes, and the writes' messages."""
    db = SessionDB.connect(DbConfig.local(path))
    _sessions(db)
    return db, _batches()


def _write_all(db: SessionDB, path: Path, batches: list[list[MessageInput]],
               observe: list[tuple[int, int]]) -> None:
    for batch, messages in enumerate(batches):
        db.insert_messages(f"s{batch}", messages)
        observe.append(_sizes(path))


def _rows(db: SessionDB) -> list[tuple[object, ...]]:
    return db._store.read("SELECT id, session_id, uuid, content_full FROM messages ORDER BY id")


@pytest.fixture
def small_restart(monkeypatch: pytest.MonkeyPatch) -> int:
    # The WAL starts over past 4 MiB here (256 MiB in a real collection).
    monkeypatch.setattr(checkpoints, "RESTART_BYTES", 4 << 20)
    return checkpoints.RESTART_BYTES


def test_the_thread_checkpoints_and_the_wal_starts_over_while_the_writer_never_checkpoints(
        tmp_path: Path, small_restart: int) -> None:
    path = tmp_path / "bulk.db"
    db, batches = _bulk_db(path)
    start_size = _sizes(path)[0]
    seen: list[tuple[int, int]] = []
    with db.background_checkpoints():
        assert _autocheckpoint(db) == 0          # the writer leaves checkpoints to the thread
        assert db._store.checkpoints_in_background
        _write_all(db, path, batches, seen)
    assert _autocheckpoint(db) == 1000           # and takes them back afterwards
    assert not db._store.checkpoints_in_background
    assert _sizes(path)[1] == 0                  # the WAL it leaves is copied back and cut
    # The file grew as the batches were written: pages were copied back meanwhile.
    grown = [size for size, _ in seen]
    assert start_size < grown[WRITES // 2] < grown[-1]
    # The WAL started over: it stays within RESTART_BYTES and a few writes, whatever
    # the number of writes.
    per_write = max(b - a for a, b in zip(grown, grown[1:]))
    wal_peak = max(wal for _, wal in seen)
    assert wal_peak <= small_restart + 4 * per_write
    assert wal_peak < grown[-1] / 3
    assert db.integrity_check().ok
    # The same writes with the writer's own checkpoints store the same rows.
    reference, _ = _bulk_db(tmp_path / "reference.db")
    _write_all(reference, tmp_path / "reference.db", batches, [])
    assert _rows(db) == _rows(reference)
    assert [h.message_id for h in db.search("word5", limit=50)] == \
        [h.message_id for h in reference.search("word5", limit=50)]
    db.close()
    reference.close()


def test_a_reader_holding_a_snapshot_in_another_process_keeps_its_view_and_stalls_nothing(
        tmp_path: Path, small_restart: int) -> None:
    path = tmp_path / "bulk.db"
    db, batches = _bulk_db(path)
    db.insert_messages("s0", batches[0])
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, apsw
            conn = apsw.Connection({str(path)!r}, flags=apsw.SQLITE_OPEN_READONLY)
            conn.execute("BEGIN")
            first = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            print(first, flush=True)
            sys.stdin.readline()                  # holds its snapshot until told
            print(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0], flush=True)
            conn.execute("COMMIT")
            print(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0], flush=True)
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert int(reader.stdout.readline()) == ROWS
        seen: list[tuple[int, int]] = []
        with db.background_checkpoints():
            _write_all(db, path, batches[1:], seen)   # finishes: the reader blocks no write
        # The checkpoints could not pass the reader's snapshot, so the WAL grew instead,
        # and the end of the bulk left it as it is rather than wait for the reader.
        assert max(wal for _, wal in seen) > small_restart
        assert _sizes(path)[1] > small_restart
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert int(reader.stdout.readline()) == ROWS                 # its view, unchanged
        assert int(reader.stdout.readline()) == ROWS * WRITES   # then everything
        assert reader.wait(timeout=30) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
    # With the reader gone a checkpoint passes the whole WAL.
    busy, wal_pages, copied = db.checkpoint("PASSIVE")
    assert busy == 0 and copied == wal_pages
    assert db.integrity_check().ok
    db.close()


def test_a_read_only_handle_or_a_nested_bulk_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    SessionDB.connect(DbConfig.local(path)).close()
    ro = SessionDB.connect(DbConfig.local(path, read_only=True))
    with ro.background_checkpoints():
        assert not ro._store.checkpoints_in_background
    ro.close()
    db = SessionDB.connect(DbConfig.local(path))
    with db.background_checkpoints():
        with db.background_checkpoints():    # the inner one is the outer one's
            assert db._store.checkpoints_in_background
        assert db._store.checkpoints_in_background and _autocheckpoint(db) == 0
    assert _autocheckpoint(db) == 1000
    db.close()


def test_closing_the_handle_inside_a_bulk_stops_the_thread(tmp_path: Path) -> None:
    db = SessionDB.connect(DbConfig.local(tmp_path / "c.db"))
    _sessions(db)
    with db.background_checkpoints():
        db.insert_messages("s0", _batches()[0])
        db.close()
    assert not any(t.name == "sessiondb-checkpoints" for t in __import__("threading").enumerate())


def test_a_large_collection_checkpoints_on_a_second_thread_and_stores_what_a_serial_one_does(
        tmp_path: Path) -> None:
    from fault_helpers import roots_for, stored, write_corpus

    from sessiondb.collector import Collector

    write_corpus(tmp_path / "claude", sessions=8, messages=400)
    roots = roots_for(tmp_path / "claude", tmp_path)
    db = SessionDB.connect(DbConfig.local(tmp_path / "collected.db"))
    during: list[bool] = []
    collector = Collector(db, roots=roots, parse_worker=True, batch_messages=500,
                          on_progress=lambda _r: during.append(db._store.checkpoints_in_background))
    result = collector.collect_all()
    assert result.errors == [] and result.messages_inserted == 8 * 400
    assert any(during) and not db._store.checkpoints_in_background
    assert _autocheckpoint(db) == 1000
    serial = SessionDB.connect(DbConfig.local(tmp_path / "serial.db"))
    Collector(serial, roots=roots, parse_worker=False, batch_messages=500).collect_all()
    assert stored(db) == stored(serial)
    assert db.integrity_check().ok
    db.close()
    serial.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_nothing_waits_for_the_thread_in_a_forked_child(tmp_path: Path, small_restart: int) -> None:
    db = SessionDB.connect(DbConfig.local(tmp_path / "f.db"))
    _sessions(db)
    with db.background_checkpoints():
        db.insert_messages("s0", _batches()[0])
        checkpoints_object = db._store._checkpoints
        assert checkpoints_object is not None
        pid = os.fork()
        if pid == 0:   # the child: the parent's thread is not here, so nothing may wait for it
            code = 0 if not checkpoints_object.working else 1
            checkpoints_object.committed()
            checkpoints_object.before_write()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    db.close()


def test_fork_holds_the_checkpoint_thread_as_it_holds_the_handle(tmp_path: Path) -> None:
    # What the C ABI's fork handlers do (capi.support.HandleTable.hold_for_fork): no SQLite
    # call may be half done in a child, so the thread's SQL waits across the fork too.
    from sessiondb.capi.support import HandleTable

    db = SessionDB.connect(DbConfig.local(tmp_path / "h.db"))
    table = HandleTable()
    table.add(db)
    with db.background_checkpoints():
        background = db.background_lock
        assert background is not None
        table.hold_for_fork()
        try:
            assert not background.acquire(blocking=False)   # the thread cannot start a checkpoint
        finally:
            table.release_after_fork()
        assert background.acquire(blocking=False)
        background.release()
    assert db.background_lock is None
    db.close()
