"""Live watch: appended lines are collected, reconcile catches what events missed, and
only a handle allowed to write ingests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from collect_helpers import only

from sessiondb import DbConfig, SessionDB
from sessiondb.watch import Watcher


def _line(uuid: str, text: str) -> str:
    return json.dumps({"type": "user", "uuid": uuid, "timestamp": "2025-09-05T10:00:00.000Z", "cwd": "/w",
                       "message": {"role": "user", "content": text}}) + "\n"


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-w"
    folder.mkdir(parents=True)
    (folder / "live.jsonl").write_text(_line("l0", "already there"))
    return folder


def test_appended_lines_become_searchable(db: SessionDB, project: Path, tmp_path: Path) -> None:
    watcher = Watcher(db, sources=["claude"], roots=only("claude", project.parent, tmp_path), reconcile_seconds=3600)
    with watcher:
        assert watcher.ready.wait(20) and db.get_session_message_count("live") == 1
        with (project / "live.jsonl").open("a") as handle:
            handle.write(_line("l1", "watched zebracorn appended"))
        assert _wait_for(lambda: bool(db.search("zebracorn")))
        (project / "second.jsonl").write_text(_line("s0", "a brand new session file"))
        assert _wait_for(lambda: db.get_session("second") is not None)
    assert watcher.stats.batches >= 2 and watcher.stats.messages_inserted == 3
    assert watcher.stats.reconciles == 1


def test_reconcile_catches_missed_events(db: SessionDB, project: Path, tmp_path: Path) -> None:
    watcher = Watcher(db, sources=["claude"], roots=only("claude", project.parent, tmp_path))
    watcher.reconcile()
    with (project / "live.jsonl").open("a") as handle:
        handle.write(_line("l1", "written while nobody watched"))
    result = watcher.reconcile()
    assert result.messages_inserted == 1 and result.files_read == 1
    assert watcher.ingest_paths([project / "notes.txt"]) is None      # not a session file


def test_reconcile_runs_when_a_root_appears(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "later"
    watcher = Watcher(db, sources=["claude"], roots=only("claude", root, tmp_path), reconcile_seconds=0.2)
    with watcher:
        assert watcher.ready.wait(20)
        (root / "-w").mkdir(parents=True)
        (root / "-w" / "late.jsonl").write_text(_line("x0", "root created after start"))
        assert _wait_for(lambda: db.get_session("late") is not None)


def test_a_handle_that_may_not_write_does_not_ingest(db_path: Path, project: Path, tmp_path: Path) -> None:
    db = SessionDB.connect(DbConfig.local(db_path))
    db._store.connection().execute("INSERT INTO writer_registry VALUES (1, 'vlaude_kit', 'someone-else', 2, 0, 0)")
    watcher = Watcher(db, sources=["claude"], roots=only("claude", project.parent, tmp_path))
    assert watcher.reconcile() is None
    assert watcher.ingest_paths([project / "live.jsonl"]) is None
    assert watcher.stats.skipped_not_writer == 2 and "someone-else" in watcher.stats.last_error
    assert db.get_stats().message_count == 0
    db.close()


def test_only_the_registered_writer_ingests(db_path: Path, project: Path, tmp_path: Path) -> None:
    coordination = pytest.importorskip("sessiondb.coordination")
    writer = SessionDB.connect(DbConfig.local(db_path))
    reader = SessionDB.connect(DbConfig.local(db_path))
    roots = only("claude", project.parent, tmp_path)
    assert writer.register_writer(coordination.WriterType.MEMEX_KIT) == coordination.Role.WRITER
    watcher = Watcher(reader, sources=["claude"], roots=roots, writer_type=coordination.WriterType.MEMEX_DAEMON,
                      reconcile_seconds=3600)
    with watcher:
        assert watcher.ready.wait(20)
        with (project / "live.jsonl").open("a") as handle:
            handle.write(_line("l1", "reader must not ingest this"))
        time.sleep(0.5)
        assert reader.get_stats().message_count == 0
        writer.release_writer()
        assert _wait_for(lambda: reader.get_session_message_count("live") == 2)
    writer.close()
    reader.close()
