"""Exact incremental collection: warm rescans do nothing, appends read only what is new,
rewrites and truncations reparse without duplicates, vanished files keep their rows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from collect_helpers import CLAUDE_MAIN, FIXTURES, StatementLog, claude_tree, only, opencode_tree, rows

from sessiondb import DbConfig, PermissionDenied, SessionDB
from sessiondb.cli.demo import SAMPLE_ROOTS, built_sample_roots
from sessiondb.collector import Collector
from sessiondb.sources import claude


def _line(uuid: str, text: str, *, ts: str = "2025-09-05T10:00:00.000Z", role: str = "user") -> str:
    return json.dumps({"type": role, "uuid": uuid, "timestamp": ts, "cwd": "/home/dev/inc", "sessionId": "inc",
                       "message": {"role": role, "content": text}}) + "\n"


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    root = tmp_path / "projects" / "-home-dev-inc"
    root.mkdir(parents=True)
    path = root / "inc.jsonl"
    path.write_text(_line("u1", "first") + _line("u2", "second"))
    return path


def _roots(path: Path, tmp_path: Path) -> dict[str, object]:
    return only("claude", path.parent.parent, tmp_path)


def test_warm_rescan_writes_nothing(db: SessionDB, tmp_path: Path) -> None:
    root = claude_tree(tmp_path)
    oc = opencode_tree(tmp_path)
    roots = {"claude": root, "codex": FIXTURES / "codex", "opencode": oc, "gemini": FIXTURES / "gemini" / "tmp"}
    for name in ("copilot", "qwen", "pi", "openhands", "aider"):
        roots[name] = shutil.copytree(SAMPLE_ROOTS[name], tmp_path / "samples" / name)
    roots.update({name: str(path) for name, path in built_sample_roots(tmp_path / "built").items()
                  if name in ("cursor", "cline", "goose", "crush")})
    first = db.collect_all(roots=roots)
    assert first.messages_inserted > 50
    assert {m.source for s in db.get_sessions(limit=200) for m in db.list_messages(s.session_id)[:1]} >= set(roots)
    usage = list(db._store.connection().execute("SELECT * FROM usage ORDER BY id"))
    assert {row[1] for row in usage} >= {"claude", "codex", "opencode", "gemini"}   # the token counts too
    with StatementLog(db) as log:
        warm = db.collect_all(roots=roots)
    assert log.changes == 0 and log.writes == []
    assert list(db._store.connection().execute("SELECT * FROM usage ORDER BY id")) == usage
    assert warm.messages_inserted == 0 and warm.files_read == 0 and warm.files_unchanged == warm.files_seen > 10
    assert (warm.projects_scanned, warm.sessions_scanned, warm.error_count) == (0, 0, 0)


def test_append_is_read_from_the_saved_offset(db: SessionDB, session_file: Path, tmp_path: Path) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    size = session_file.stat().st_size
    with session_file.open("a") as handle:
        handle.write(_line("u3", "third"))
    result = db.collect_all(["claude"], roots=roots)
    assert result.messages_inserted == 1 and result.files_reparsed == 0
    assert result.bytes_read == session_file.stat().st_size - size - 1   # only the new line (without its newline)
    assert [(m.content_text, m.sequence) for m in db.list_messages("inc")] == [
        ("first", 0), ("second", 1), ("third", 2)]
    assert db.get_session("inc").message_count == 3


def test_partial_line_waits_for_its_newline(db: SessionDB, session_file: Path, tmp_path: Path) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    line = _line("u3", "third")
    with session_file.open("a") as handle:
        handle.write(line[:30])
    assert db.collect_all(["claude"], roots=roots).messages_inserted == 0
    with session_file.open("a") as handle:
        handle.write(line[30:])
    result = db.collect_all(["claude"], roots=roots)
    assert result.messages_inserted == 1 and result.bad_lines == 0
    assert db.list_messages("inc")[-1].content_text == "third"


def test_truncation_and_rewrite_reparse_without_duplicates(db: SessionDB, session_file: Path,
                                                           tmp_path: Path) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    session_file.write_text(_line("u1", "first"))                       # truncated
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 0
    # Rewritten and grown past the old size: looks like an append by size alone.
    session_file.write_text(_line("x1", "rewritten first") + _line("x2", "second") + _line("x3", "third"))
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 3
    assert sorted(m.uuid for m in db.list_messages("inc")) == ["u1", "u2", "x1", "x2", "x3"]   # an archive


def test_same_size_rewrite_is_noticed_by_the_prefix_hash(db: SessionDB, session_file: Path, tmp_path: Path) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    text = session_file.read_text().replace("first", "FIRST")
    stat = session_file.stat()
    session_file.write_text(text + _line("u3", "third"))
    os.utime(session_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 1


def test_new_inode_reparses_with_dedup(db: SessionDB, session_file: Path, tmp_path: Path) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    replacement = session_file.with_suffix(".tmp")
    replacement.write_text(session_file.read_text() + _line("u3", "third"))
    os.replace(replacement, session_file)
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 1
    assert len(db.list_messages("inc")) == 3


def test_parser_version_bump_reparses(db: SessionDB, session_file: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    roots = _roots(session_file, tmp_path)
    db.collect_all(["claude"], roots=roots)
    assert db.collect_all(["claude"], roots=roots).files_read == 0
    monkeypatch.setattr(claude.SOURCE, "parser_version", claude.SOURCE.parser_version + 1)
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 0
    assert db.get_file_state(str(session_file)).parser_version == claude.SOURCE.parser_version


def test_vanished_files_keep_their_rows(db: SessionDB, tmp_path: Path) -> None:
    root = claude_tree(tmp_path)
    roots = only("claude", root, tmp_path)
    db.collect_all(["claude"], roots=roots)
    before = rows(db)
    shutil.rmtree(root)
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_seen == 0 and rows(db) == before


def test_collect_by_path_reads_only_that_file(db: SessionDB, tmp_path: Path) -> None:
    root = claude_tree(tmp_path)
    roots = only("claude", root, tmp_path)
    main = root / "-home-dev-demo" / f"{CLAUDE_MAIN}.jsonl"
    result = db.collect_by_path(main, roots=roots)
    assert (result.files_seen, result.sessions_scanned, result.projects_scanned) == (1, 1, 1)
    assert result.messages_inserted == 16
    assert {s.session_id for s in db.get_sessions(limit=None)} == {CLAUDE_MAIN}
    again = db.collect_by_path(main, roots=roots)
    assert (again.files_unchanged, again.messages_inserted, again.sessions_scanned) == (1, 0, 0)
    subagent = root / "-home-dev-demo" / CLAUDE_MAIN / "subagents" / "agent-deadbeef.jsonl"
    assert db.collect_by_path(subagent, roots=roots).messages_inserted == 2
    assert db.get_project(db.get_session(CLAUDE_MAIN).project_id).encoded_dir_name == "-home-dev-demo"
    assert db.collect_by_path(tmp_path / "unrelated.jsonl", roots=roots).files_seen == 0


def test_collect_by_path_of_codex_keeps_encoded_dir_name_empty(db: SessionDB, tmp_path: Path) -> None:
    rollout = next((FIXTURES / "codex" / "sessions").rglob("rollout-*.jsonl"))
    db.collect_by_path(rollout, roots=only("codex", FIXTURES / "codex", tmp_path))
    project = db.get_project_by_path("/home/dev/api")
    assert project.encoded_dir_name is None and project.source == "codex"   # not the day directory "01"


def test_counts_are_correct(db: SessionDB, tmp_path: Path) -> None:
    root = claude_tree(tmp_path)
    roots = only("claude", root, tmp_path)
    result = db.collect_all(["claude"], roots=roots)
    stats = db.get_stats()
    assert (result.projects_scanned, result.sessions_scanned) == (stats.project_count, stats.session_count) == (1, 5)
    assert result.messages_inserted == stats.message_count == 28
    assert result.files_seen == result.files_read == 5


def test_batches_inside_a_large_file_resume_after_a_crash(db_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "projects" / "-big"
    root.mkdir(parents=True)
    path = root / "big.jsonl"
    path.write_text("".join(_line(f"m{i}", f"message number {i}") for i in range(1000)))
    roots = only("claude", root.parent, tmp_path)
    db = SessionDB.connect(DbConfig.local(db_path))
    collector = Collector(db, roots=roots, batch_messages=100)
    calls = {"n": 0}
    real = db.ingest_batch

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("simulated crash")
        return real(*args, **kwargs)

    db.ingest_batch = failing
    with pytest.raises(KeyboardInterrupt):
        collector.collect_all(["claude"])
    del db.ingest_batch
    assert db.get_session_message_count("big") == 300
    state = db.get_file_state(str(path))
    assert state.size == -1 and 0 < state.byte_offset < path.stat().st_size
    result = db.collect_all(["claude"], roots=roots)
    assert result.messages_inserted == 700 and result.files_reparsed == 0
    assert [m.sequence for m in db.list_messages("big")] == list(range(1000))
    db.close()


def test_a_reader_handle_may_not_collect(db: SessionDB, tmp_path: Path) -> None:
    conn = db._store.connection()
    conn.execute("INSERT INTO writer_registry VALUES (1, 'memex_daemon', 'other-writer', 1, 0, 0)")
    with pytest.raises(PermissionDenied):
        db.collect_all(["claude"], roots=only("claude", FIXTURES / "claude" / "projects", tmp_path))
    assert db.get_stats().message_count == 0 and db.load_file_states() == {}


def test_fifty_megabyte_file(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects" / "-huge"
    root.mkdir(parents=True)
    path = root / "huge.jsonl"
    body = "lorem ipsum dolor sit amet " * 200
    count = 0
    with path.open("w") as handle:
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(_line(f"h{count}", f"{count} {body}"))
            count += 1
        handle.write('{"type":"user","uuid":"broken"\n')
    result = db.collect_all(["claude"], roots=only("claude", root.parent, tmp_path))
    assert result.messages_inserted == count and result.bad_lines == 1
    assert db.get_session("huge").message_count == count
    assert db.get_file_state(str(path)).byte_offset == path.stat().st_size


def test_a_large_collection_checkpoints_its_wal_less_often_than_every_batch(db_path: Path, tmp_path: Path) -> None:
    # Three large batches, each passing SQLite's default checkpoint (1000 pages) alone:
    # checkpointing at every commit would restart the WAL at every batch, so it would
    # never hold much more than one batch: about four times its lines (text, raw line,
    # index); all three are about twelve times.
    root = tmp_path / "projects" / "-big"
    root.mkdir(parents=True)
    body = " ".join(f"w{i % 997}" for i in range(500))
    lines = [_line(f"b{count}", f"{count} {body}") for count in range(6000)]
    (root / "big.jsonl").write_text("".join(lines))
    db = SessionDB.connect(DbConfig.local(db_path))
    collector = Collector(db, roots=only("claude", root.parent, tmp_path), batch_messages=2000,
                          parse_worker=False)
    assert collector.collect_all(["claude"]).messages_inserted == 6000
    one_batch = sum(len(line) for line in lines[:2000])
    assert Path(f"{db_path}-wal").stat().st_size > 7 * one_batch
    # After a large batch, commits checkpoint at SQLite's default again.
    assert db._store.with_connection(lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()) == (1000,)
    db.close()


def test_reading_in_a_parse_worker_gives_the_same_rows(tmp_path: Path) -> None:
    roots = {"claude": FIXTURES / "claude" / "projects", "codex": FIXTURES / "codex",
             "opencode": opencode_tree(tmp_path), "gemini": FIXTURES / "gemini" / "tmp"}
    results = []
    for worker in (False, True):
        db = SessionDB.connect(DbConfig.local(tmp_path / f"p{worker}.db"))
        collector = Collector(db, roots=roots, batch_messages=7, parse_worker=worker)
        result = collector.collect_all()
        results.append((rows(db), result.messages_inserted, result.sessions_scanned, result.bad_lines))
        db.close()
    assert results[0] == results[1] and results[0][1] > 50


def test_file_state_of_a_pre_release_shape_is_recreated_by_migration_4(db: SessionDB, tmp_path: Path) -> None:
    conn = db._store.connection()
    conn.execute("DELETE FROM schema_migrations WHERE version >= 4")
    conn.execute("DROP TABLE file_state")
    conn.execute("CREATE TABLE file_state (path TEXT PRIMARY KEY, source TEXT NOT NULL, session_id TEXT, "
                 "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, byte_offset INTEGER "
                 "NOT NULL, prefix_hash TEXT NOT NULL, parser_version INTEGER NOT NULL, next_sequence INTEGER NOT "
                 "NULL DEFAULT 0, updated_at INTEGER NOT NULL)")
    fresh = SessionDB.connect(DbConfig.local(db.path))
    roots = only("claude", FIXTURES / "claude" / "projects", tmp_path)
    assert fresh.collect_all(["claude"], roots=roots).messages_inserted == 28
    assert fresh.collect_all(["claude"], roots=roots).files_unchanged == 5
    fresh.close()


def test_collect_by_path_expands_the_home_directory(db: SessionDB, tmp_path: Path) -> None:
    root = claude_tree(Path.home())
    main = f"~/claude/projects/-home-dev-demo/{CLAUDE_MAIN}.jsonl"
    assert db.collect_by_path(main, roots=only("claude", root, tmp_path)).messages_inserted == 16
