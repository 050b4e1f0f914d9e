"""Times come from the records: a record without its own time takes the nearest timed
record's, never the file's mtime or the collection time, and never moves the session's
last message time; reading in pieces equals reading once; old databases are repaired."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from collect_helpers import StatementLog, only, rows

from sessiondb import DbConfig, SessionDB
from sessiondb.collector import Collector
from sessiondb.sources import claude

SESSION = "5e5e5e5e-0000-4000-8000-000000000001"
# 2025-09-14T09:30:00Z and one minute per line after it.
START_MS = 1757842200000
NOW_NS = time.time_ns()


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def _summaries(count: int = 16) -> list[str]:
    """Summary lines as Claude Code writes them at the top of a resumed session: no uuid,
    no timestamp, each naming the leaf message of the conversation it sums up."""
    return [json.dumps({"type": "summary", "summary": f"Fix flaky WAL test, part {i}",
                        "leafUuid": f"9f9f9f9f-0000-4000-8000-{i:012d}"}) for i in range(count)]


def _dialogue(count: int = 6, start: int = START_MS) -> list[str]:
    lines = []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        message: dict = {"role": role, "content": f"turn {i} about the WAL checkpoint"}
        if role == "assistant":
            message = {"role": role, "model": "claude-sonnet-4-5", "content": [{"type": "text",
                                                                                "text": f"answer {i}"}]}
        lines.append(json.dumps({"type": role, "uuid": f"d{i:03d}", "timestamp": _iso(start + i * 60_000),
                                 "cwd": "/home/dev/wal", "sessionId": SESSION, "message": message}))
    return lines


def _write(path: Path, lines: list[str], *, mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as handle:
        handle.write("".join(line + "\n" for line in lines))
    os.utime(path, ns=(NOW_NS, NOW_NS))   # collected today: the file's mtime is now


def _session_file(root: Path, name: str = SESSION) -> Path:
    return root / "-home-dev-wal" / f"{name}.jsonl"


def _times(db: SessionDB, session_id: str = SESSION) -> list[int]:
    return [m.timestamp for m in db.list_messages(session_id)]


def _last_message_at(db: SessionDB, session_id: str = SESSION) -> int | None:
    return db.get_session(session_id).last_message_at


def test_summaries_at_the_top_take_the_first_timed_record_s_time(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    _write(_session_file(root), _summaries() + _dialogue())
    db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    messages = db.list_messages(SESSION)
    summaries = [m for m in messages if m.content_full.startswith("[Summary]")]
    assert len(summaries) == 16 and all(m.timestamp == START_MS for m in summaries)
    assert _times(db)[16:] == [START_MS + i * 60_000 for i in range(6)]
    # September 2025, not today: the file's mtime dates nothing.
    assert _last_message_at(db) == START_MS + 5 * 60_000
    assert all(t < NOW_NS // 1_000_000 - 86_400_000 for t in _times(db))


def test_an_untimed_record_after_timed_ones_takes_the_previous_time(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    title = json.dumps({"type": "custom-title", "customTitle": "WAL work", "sessionId": SESSION})
    _write(_session_file(root), _dialogue(4) + [title] + _summaries(1))
    db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    assert _times(db)[4:] == [START_MS + 3 * 60_000] * 2
    assert _last_message_at(db) == START_MS + 3 * 60_000


def test_summaries_alone_then_the_dialogue_appended_equal_one_read(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    roots = only("claude", root, tmp_path)
    path = _session_file(root)
    _write(path, _summaries())
    first = db.collect_all(["claude"], roots=roots)
    assert first.messages_inserted == 16
    # A file with no time at all: the last resort is its mtime.
    assert set(_times(db)) == {NOW_NS // 1_000_000} and _last_message_at(db) == NOW_NS // 1_000_000
    _write(path, _dialogue(), mode="a")
    second = db.collect_all(["claude"], roots=roots)
    assert second.messages_inserted == 6 and second.messages_updated == 16
    assert _last_message_at(db) == START_MS + 5 * 60_000

    once = SessionDB.connect(DbConfig.local(tmp_path / "once.db"))
    other = tmp_path / "other"
    _write(_session_file(other), _summaries() + _dialogue())
    once.collect_all(["claude"], roots=only("claude", other, tmp_path))
    assert rows(db) == rows(once) and _last_message_at(db) == _last_message_at(once)
    once.close()
    with StatementLog(db) as log:
        assert db.collect_all(["claude"], roots=roots).files_unchanged == 1
    assert log.changes == 0 and log.writes == []


def test_a_batch_boundary_inside_the_untimed_records_equals_one_read(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    _write(_session_file(root), _summaries() + _dialogue())
    result = Collector(db, roots=only("claude", root, tmp_path), batch_messages=5).collect_all(["claude"])
    assert result.messages_inserted == 22
    assert _times(db)[:16] == [START_MS] * 16 and _last_message_at(db) == START_MS + 5 * 60_000


def test_a_summary_only_file_takes_the_time_of_the_message_it_links_to(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    leaf = json.dumps({"type": "assistant", "uuid": "leaf-0001", "timestamp": _iso(START_MS), "cwd": "/home/dev/wal",
                       "message": {"role": "assistant", "content": [{"type": "text", "text": "done"}]}})
    _write(_session_file(root, "earlier"), [leaf])
    summary = json.dumps({"type": "summary", "summary": "WAL checkpoint fixed", "leafUuid": "leaf-0001"})
    _write(_session_file(root, "summary-only"), [summary])
    # Both files in one collection, in whatever order the directory lists them.
    db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    assert _times(db, "summary-only") == [START_MS] and _last_message_at(db, "summary-only") == START_MS
    # The leaf stored by an earlier collection is found as well.
    _write(_session_file(root, "later-summary"), [summary.replace("fixed", "fixed again")])
    db.collect_all(["claude"], roots=only("claude", root, tmp_path))
    assert _times(db, "later-summary") == [START_MS]


def test_a_database_collected_with_the_old_rules_is_repaired(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    roots = only("claude", root, tmp_path)
    path = _session_file(root)
    _write(path, _summaries() + _dialogue())
    db.collect_all(["claude"], roots=roots)
    # What version 1 stored: the summaries at the top dated with the file's mtime, and
    # so the session's last message time too.
    mtime_ms = NOW_NS // 1_000_000
    conn = db._store.connection()
    conn.execute("UPDATE messages SET timestamp = ? WHERE content_full LIKE '[Summary]%'", (mtime_ms,))
    conn.execute("UPDATE sessions SET last_message_at = ?", (mtime_ms,))
    conn.execute("UPDATE file_state SET parser_version = 1, parser_state = ?",
                 (json.dumps({"ts": mtime_ms + 5, "seq": 22, "cwd": "/home/dev/wal"}),))
    result = db.collect_all(["claude"], roots=roots)
    assert result.files_reparsed == 1 and result.messages_inserted == 0 and result.messages_updated == 16
    assert _times(db)[:16] == [START_MS] * 16 and _last_message_at(db) == START_MS + 5 * 60_000
    assert db.get_file_state(str(path)).parser_version == claude.SOURCE.parser_version
    assert db.search("flaky WAL part")[0].session_id == SESSION   # the search index is intact
    assert db.fts_integrity_check()
    with StatementLog(db) as log:
        db.collect_all(["claude"], roots=roots)
    assert log.changes == 0


def test_a_reparse_does_not_overwrite_the_first_copy_of_a_repeated_uuid(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    roots = only("claude", root, tmp_path)
    first, again = _dialogue(2)
    again = again.replace('"d001"', '"d000"').replace("answer 1", "second copy")
    _write(_session_file(root), [first, again])
    db.collect_all(["claude"], roots=roots)
    before = rows(db)
    db._store.connection().execute("UPDATE file_state SET parser_version = 1")
    assert db.collect_all(["claude"], roots=roots).messages_updated == 0
    assert rows(db) == before


def test_codex_items_without_time_take_the_session_header_s(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "codex"
    path = root / "sessions" / "2025" / "09" / "14" / "rollout-2025-09-14T09-30-00-0199aaaa-0000-7000-8000-000000000001.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join([
        json.dumps({"id": "0199aaaa-0000-7000-8000-000000000001", "timestamp": _iso(START_MS), "instructions": ""}),
        json.dumps({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "old format"}]}),
    ]) + "\n")
    db.collect_all(["codex"], roots=only("codex", root, tmp_path))
    assert _times(db, "0199aaaa-0000-7000-8000-000000000001") == [START_MS]


def test_gemini_messages_before_the_first_timed_one_take_its_time(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "gemini"
    chat = root / "abc123" / "chats" / "session-2025-09-14.json"
    chat.parent.mkdir(parents=True)
    chat.write_text(json.dumps({"sessionId": "g1", "messages": [
        {"id": "m1", "type": "user", "content": "no time here"},
        {"id": "m2", "type": "gemini", "content": "timed", "timestamp": _iso(START_MS)},
        {"id": "m3", "type": "user", "content": "no time either"}]}))
    os.utime(chat, ns=(NOW_NS, NOW_NS))
    db.collect_all(["gemini"], roots=only("gemini", root, tmp_path))
    assert _times(db, "g1") == [START_MS] * 3 and _last_message_at(db, "g1") == START_MS


def test_opencode_messages_without_a_creation_time_take_the_session_s(db: SessionDB, tmp_path: Path) -> None:
    storage = tmp_path / "opencode" / "storage"
    for sub in ("session/p", "message/ses_t", "part/msg_a", "part/msg_b"):
        (storage / sub).mkdir(parents=True)
    (storage / "session" / "p" / "ses_t.json").write_text(json.dumps(
        {"id": "ses_t", "directory": "/w", "time": {"created": START_MS - 1000}}))
    (storage / "message" / "ses_t" / "msg_a.json").write_text(json.dumps({"id": "msg_a", "role": "user"}))
    (storage / "message" / "ses_t" / "msg_b.json").write_text(json.dumps(
        {"id": "msg_b", "role": "assistant", "time": {"created": START_MS}}))
    for message in ("msg_a", "msg_b"):
        (storage / "part" / message / "prt_1.json").write_text(json.dumps({"id": "prt_1", "type": "text",
                                                                           "text": f"text of {message}"}))
    db.collect_all(["opencode"], roots=only("opencode", tmp_path / "opencode", tmp_path))
    assert _times(db, "ses_t") == [START_MS - 1000, START_MS] and _last_message_at(db, "ses_t") == START_MS


def test_an_upgrade_interrupted_after_a_batch_still_repairs_the_rest(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    roots = only("claude", root, tmp_path)
    _write(_session_file(root), _summaries() + _dialogue())
    db.collect_all(["claude"], roots=roots)
    conn = db._store.connection()
    conn.execute("UPDATE messages SET timestamp = ? WHERE content_full LIKE '[Summary]%'", (NOW_NS // 1_000_000,))
    conn.execute("UPDATE file_state SET parser_version = 1")

    def interrupt(result) -> None:
        if result.messages_updated or result.messages_inserted or result.files_read:
            raise KeyboardInterrupt   # Ctrl-C once the first batch of the reparse is written

    collector = Collector(db, roots=roots, batch_messages=5, on_progress=interrupt)
    try:
        collector.collect_all(["claude"])
    except KeyboardInterrupt:
        pass
    assert db.get_file_state(str(_session_file(root))).size == -1   # stopped inside the file
    db.collect_all(["claude"], roots=roots)
    assert _times(db)[:16] == [START_MS] * 16 and _last_message_at(db) == START_MS + 5 * 60_000
