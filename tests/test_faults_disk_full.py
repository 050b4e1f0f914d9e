"""Disk full, I/O errors and a held write lock, then recovery on the SAME handle.

Real faults only: SQLite's own SQLITE_FULL through ``PRAGMA max_page_count`` (works
everywhere), a 2 MB tmpfs (where the test runs as root and may mount), and a file size
limit (RLIMIT_FSIZE) that makes SQLite's write(2) calls fail in a child process, for a
Python host and for a C host of libsessiondb. Each case checks that the error names
the cause, that nothing was half-written (``integrity_check`` ok, no rows or file
states of the failed batch), and that the same handle then collects exactly what a
one-shot collection into a fresh database holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from capi_helpers import C_DIR, compile_c, isolated_env, run
from fault_helpers import reference_collect, roots_for, sessions_of, small_tmpfs, stored, write_corpus

from sessiondb import DbConfig, SessionDB
from sessiondb.errors import DatabaseError
from sessiondb.watch import Watcher

from helpers import add_session, msg


def _limit_pages(db: SessionDB, extra: int) -> None:
    # Under the handle's lock: a watcher thread may be writing on the same connection.
    with db._store.lock:
        conn = db._store.connection()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages + extra}")


def _unlimit_pages(db: SessionDB) -> None:
    with db._store.lock:
        db._store.connection().execute("PRAGMA max_page_count=4294967294")


def _file_states(db: SessionDB) -> int:
    with db._store.lock:
        return db._store.connection().execute("SELECT COUNT(*) FROM file_state").fetchone()[0]


def test_sqlite_full_then_space_same_handle_collects_everything(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    total = write_corpus(claude, sessions=6, messages=150)
    roots = roots_for(claude, tmp_path)
    db = SessionDB.connect(DbConfig.local(tmp_path / "db" / "full.db"))
    # Half the corpus is stored while there is space.
    write_corpus(tmp_path / "first-half", sessions=3, messages=150, prefix="early")
    first = db.collect_all(roots=roots_for(tmp_path / "first-half", tmp_path))
    assert first.messages_inserted == 450
    before_rows, before_states = stored(db), _file_states(db)

    _limit_pages(db, 4)
    for _ in range(3):   # repeated failures must not wedge the handle either
        with pytest.raises(DatabaseError, match="database or disk is full"):
            db.collect_all(roots=roots)
        assert db.integrity_check().ok
        assert stored(db) == before_rows and _file_states(db) == before_states   # no partial batch
    with pytest.raises(DatabaseError, match="database or disk is full"):
        db.insert_messages("early-000", [msg("api-1", "x" * 200_000)])

    _unlimit_pages(db)
    started = time.perf_counter()
    result = db.collect_all(roots=roots)
    recovered = time.perf_counter() - started
    print(f"\nSQLITE_FULL: same handle recovered {result.messages_inserted} messages in {recovered * 1000:.1f} ms")
    assert result.messages_inserted == total
    reference = reference_collect(claude, tmp_path)
    assert [r for r in stored(db) if not r[0].startswith("early-")] == stored(reference)
    assert db.insert_messages("early-000", [msg("api-1", "x" * 200_000)]) == 1
    assert db.integrity_check().ok and db.fts_integrity_check().ok
    assert db.collect_all(roots=roots).messages_inserted == 0   # and the state is exact afterwards


def test_insert_messages_after_full_same_handle(tmp_path: Path) -> None:
    db = SessionDB.connect(DbConfig.local(tmp_path / "api.db"))
    _limit_pages(db, 2)
    pid = db.get_or_create_project("p", "/work/p", "claude")
    db.upsert_session("s1", pid)
    with pytest.raises(DatabaseError, match="database or disk is full"):
        db.insert_messages("s1", [msg(f"m{i}", "large text " * 5000, seq=i) for i in range(20)])
    assert db.get_stats().message_count == 0
    _unlimit_pages(db)
    assert db.insert_messages("s1", [msg(f"m{i}", "large text " * 5000, seq=i) for i in range(20)]) == 20
    assert db.get_session("s1").message_count == 20
    assert db.integrity_check().ok


def test_tmpfs_disk_full_same_handle_and_cli_one_line(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "3m") as mount:
        if mount is None:
            pytest.skip("mounting a tmpfs is not permitted here (the max_page_count test covers SQLITE_FULL)")
        claude = tmp_path / "claude"
        total = write_corpus(claude, sessions=3, messages=40, words=30)   # fits in 3 MB with its WAL
        db_path = mount / "sessions.db"
        db = SessionDB.connect(DbConfig.local(db_path))
        cli_db = mount / "cli.db"
        SessionDB.connect(DbConfig.local(cli_db)).close()
        filler = mount / "filler"
        # Leave about 48 KB free: far less than the corpus needs.
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        filler.write_bytes(b"\0" * max(0, free - 48_000))
        with pytest.raises(DatabaseError, match="database or disk is full"):
            db.collect_all(roots=roots_for(claude, tmp_path))
        assert db.integrity_check().ok
        assert db.get_stats().message_count == 0 and _file_states(db) == 0

        env = isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=str(claude))
        cli = subprocess.run([sys.executable, "-m", "sessiondb", "collect", "--db", str(cli_db)],
                             capture_output=True, text=True, timeout=120, env=env)
        assert cli.returncode == 3, cli
        errors = [line for line in cli.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "full" in errors[0], cli.stderr
        assert "Traceback" not in cli.stderr and "no such table" not in cli.stderr, cli.stderr

        filler.unlink()
        started = time.perf_counter()
        result = db.collect_all(roots=roots_for(claude, tmp_path))
        print(f"\ntmpfs full: same handle recovered in {(time.perf_counter() - started) * 1000:.1f} ms")
        assert result.messages_inserted == total
        assert stored(db) == stored(reference_collect(claude, tmp_path))
        assert db.integrity_check().ok
        db.close()


_RLIMIT_HOST = textwrap.dedent("""
    import json, os, resource, signal, sys, time
    from sessiondb import DbConfig, SessionDB
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path, claude, empty = sys.argv[1:4]
    roots = {"claude": claude, "codex": empty, "opencode": empty, "gemini": empty}
    db = SessionDB.connect(DbConfig.local(path))
    out = {}
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    biggest = max(os.path.getsize(path), os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
    resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 32768, hard))
    errors = []
    for _ in range(2):
        try:
            db.collect_all(roots=roots)
            errors.append(None)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    out["errors"] = errors
    out["stored_while_full"] = db.get_stats().message_count
    out["integrity_while_full"] = db.integrity_check().ok
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    started = time.perf_counter()
    out["inserted"] = db.collect_all(roots=roots).messages_inserted
    out["recovered_ms"] = (time.perf_counter() - started) * 1000
    out["integrity"] = db.integrity_check().ok
    print(json.dumps(out))
""")


def test_write_errors_from_a_file_size_limit_python_host(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    total = write_corpus(claude, sessions=6, messages=150)
    db_path = tmp_path / "limited.db"
    SessionDB.connect(DbConfig.local(db_path)).close()
    done = subprocess.run([sys.executable, "-c", _RLIMIT_HOST, str(db_path), str(claude), str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    print(f"\nRLIMIT_FSIZE: {out['errors'][0]}; recovered in {out['recovered_ms']:.1f} ms")
    for error in out["errors"]:
        assert error is not None and error.startswith("DatabaseError")
        assert "full" in error or "disk I/O error" in error, error
        assert "no such table" not in error
    assert out["stored_while_full"] == 0 and out["integrity_while_full"]
    assert out["inserted"] == total and out["integrity"]


def test_capi_handle_recovers_after_disk_full(tmp_path: Path) -> None:
    program = compile_c(C_DIR / "capi_disk_full.c", tmp_path / "capi_disk_full")
    claude = tmp_path / "claude"
    total = write_corpus(claude, sessions=6, messages=150)
    env = isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=str(claude))
    done = run([str(program), str(tmp_path / "capi.db"), str(total)], env=env)
    print("\n" + done.stdout)


def test_watch_recovers_after_disk_full_without_reopen(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    claude.mkdir()
    db = SessionDB.connect(DbConfig.local(tmp_path / "watch.db"))
    watcher = Watcher(db, roots=roots_for(claude, tmp_path), reconcile_seconds=3600, debounce_ms=20)
    watcher.start()
    try:
        assert watcher.ready.wait(30)
        _limit_pages(db, 4)
        total = write_corpus(claude, sessions=4, messages=150)
        deadline = time.monotonic() + 30
        while watcher.stats.errors == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.stats.errors > 0 and "full" in (watcher.stats.last_error or "")
        assert watcher.running
        freed = time.monotonic()
        _unlimit_pages(db)
        # No new file event comes: the watcher itself must retry what failed.
        while db.get_stats().message_count < total and time.monotonic() < deadline + 30:
            time.sleep(0.02)
        print(f"\nwatch: caught up {(time.monotonic() - freed) * 1000:.0f} ms after space returned")
        assert db.get_stats().message_count == total
        assert sessions_of(db) == sessions_of(reference_collect(claude, tmp_path))
    finally:
        watcher.stop()
        db.close()


def test_write_lock_held_elsewhere_then_released(tmp_path: Path) -> None:
    """A lock held past the busy timeout fails the call plainly; the handle then writes."""
    import apsw
    path = tmp_path / "locked.db"
    db = SessionDB.connect(DbConfig.local(path, busy_timeout_ms=100))
    add_session(db, "s0", ["before"])
    other = apsw.Connection(str(path))
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseError, match="database is locked"):
        add_session(db, "s1", ["while locked"])
    other.execute("ROLLBACK")
    other.close()
    add_session(db, "s2", ["after"])
    assert db.session_exists("s0") and db.session_exists("s2") and not db.session_exists("s1")
    assert db.integrity_check().ok


def test_tmpfs_full_during_a_large_collection_with_background_checkpoints(tmp_path: Path) -> None:
    # A collection with the parse worker checkpoints the WAL on a second thread
    # (store.checkpoints): the disk filling up under both the thread and the writer ends
    # in one clear error, nothing half-written, and the same handle recovers.
    import threading

    from sessiondb.collector import Collector

    with small_tmpfs(tmp_path / "small", "64m") as mount:
        if mount is None:
            pytest.skip("mounting a tmpfs is not permitted here (the max_page_count test covers SQLITE_FULL)")
        claude = tmp_path / "claude"
        total = write_corpus(claude, sessions=12, messages=400, words=80)
        roots = roots_for(claude, tmp_path)
        db = SessionDB.connect(DbConfig.local(mount / "sessions.db"))
        filler = mount / "filler"
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        filler.write_bytes(b"\0" * max(0, free - 12_000_000))   # about a third of what it needs
        during: list[bool] = []
        collector = Collector(db, roots=roots, parse_worker=True, batch_messages=400,
                              on_progress=lambda _r: during.append(db._store.checkpoints_in_background))
        with pytest.raises(DatabaseError, match="full"):
            collector.collect_all()
        assert any(during)                       # the thread ran while the disk filled
        assert not any(t.name == "sessiondb-checkpoints" for t in threading.enumerate())
        assert db.integrity_check().ok
        with db._store.lock:
            assert db._store.connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        kept = db.get_stats().message_count
        assert kept < total and kept % 400 == 0   # whole batches only (a batch is a session here)
        filler.unlink()
        result = Collector(db, roots=roots, parse_worker=True, batch_messages=400).collect_all()
        assert result.messages_inserted == total - kept
        assert stored(db) == stored(reference_collect(claude, tmp_path))
        assert db.integrity_check().ok
        db.close()
