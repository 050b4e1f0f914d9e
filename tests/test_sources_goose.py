"""Goose: sessions.db (two schema versions, read-only) and the older .jsonl session files."""

from __future__ import annotations

import json
from pathlib import Path

import apsw
import pytest
from collect_helpers import only
from store_builders import GOOSE_SCHEMA, connect, insert

from sessiondb import MessageType, SessionDB
from sessiondb.sources import goose

T0 = 1_761_039_000   # 2025-10-21T09:30:00Z, in seconds as Goose writes them


def _text(text: str) -> list[dict]:
    return [{"type": "text", "text": text}]


def goose_db(root: Path, version: str = "1.14") -> Path:
    conn = connect(root / "sessions.db", GOOSE_SCHEMA[version])
    extra = {"name": "Fix the flaky upload test", "session_type": "user", "provider_name": "anthropic",
             "model_config_json": json.dumps({"model_name": "claude-sonnet-4-5", "context_limit": 200000})} \
        if version == "1.14" else {"description": "Fix the flaky upload test"}
    insert(conn, "sessions", id="20251021_1", working_dir="/home/dev/uploader", created_at="2025-10-21 09:30:00",
           **extra)
    ids = (lambda n: {"message_id": f"msg_{n}"}) if version == "1.14" else (lambda n: {})
    insert(conn, "messages", session_id="20251021_1", role="user", created_timestamp=T0,
           content_json=_text("the upload test fails on CI 上传测试"), **ids(1))
    insert(conn, "messages", session_id="20251021_1", role="assistant", created_timestamp=T0 + 5, content_json=[
        {"type": "thinking", "thinking": "Look at the retry loop first.", "signature": "sig"},
        {"type": "text", "text": "Let me read the test."},
        {"type": "toolRequest", "id": "toolu_1", "toolCall": {"status": "success", "value": {
            "name": "developer__shell", "arguments": {"command": "cat tests/test_upload.py"}}}}], **ids(2))
    # Tool results come back in a user message; newer Goose wraps them in a CallToolResult.
    result = ({"status": "success", "value": {"content": [{"type": "text", "text": "def test_upload(): ..."}],
                                              "isError": False}} if version == "1.14" else
              {"status": "success", "value": [{"type": "text", "text": "def test_upload(): ..."}]})
    insert(conn, "messages", session_id="20251021_1", role="user", created_timestamp=T0 + 6,
           content_json=[{"type": "toolResponse", "id": "toolu_1", "toolResult": result}], **ids(3))
    insert(conn, "messages", session_id="20251021_1", role="assistant", created_timestamp=T0 + 9,
           content_json=[{"type": "text", "text": "The retry waits 0 ms; fixed."},
                         {"type": "hologram", "beam": 3}], **ids(4))
    conn.close()
    return root / "sessions.db"


def test_database_sessions_messages_and_tools(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "goose" / "sessions"
    source_db = goose_db(root)
    before = source_db.read_bytes()
    result = db.collect_all(["goose"], roots=only("goose", root, tmp_path))
    assert source_db.read_bytes() == before
    assert (result.sessions_scanned, result.messages_inserted, result.error_count) == (1, 4, 0)
    assert result.unknown_records == {"part:hologram": 1}
    user, assistant, tool, last = db.list_messages("20251021_1")
    assert (user.type, user.uuid, user.timestamp) == (MessageType.USER, "msg_1", T0 * 1000)
    assert assistant.content_full.split("\n") == [
        "[Thinking] Look at the retry loop first.", "Let me read the test.",
        '[Tool: developer__shell] {"command":"cat tests/test_upload.py"}']
    assert (assistant.tool_call_id, assistant.tool_name, assistant.model) == ("toolu_1", "developer__shell",
                                                                              "claude-sonnet-4-5")
    assert (tool.type, tool.content_full, tool.timestamp) == (MessageType.TOOL, "[Result] def test_upload(): ...",
                                                              (T0 + 6) * 1000)
    assert "[hologram]" in last.content_full and json.loads(last.raw)["message_id"] == "msg_4"
    session = db.get_session("20251021_1")
    assert json.loads(session.meta)["title"] == "Fix the flaky upload test"
    assert db.get_project(session.project_id).path == "/home/dev/uploader"
    assert db.search("上传测试")[0].session_id == "20251021_1"


def test_first_database_version_without_message_ids(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    goose_db(root, "1.10")
    db.collect_all(["goose"], roots=only("goose", root, tmp_path))
    messages = db.list_messages("20251021_1")
    assert [m.uuid for m in messages] == [f"20251021_1:{n}" for n in (1, 2, 3, 4)]
    assert messages[2].content_full == "[Result] def test_upload(): ..."
    assert json.loads(db.get_session("20251021_1").meta)["title"] == "Fix the flaky upload test"


def test_database_changes_are_collected_and_warm_rescans_read_nothing(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    source_db = goose_db(root)
    roots = only("goose", root, tmp_path)
    db.collect_all(["goose"], roots=roots)
    warm = db.collect_all(["goose"], roots=roots)
    assert (warm.files_read, warm.messages_inserted) == (0, 0)
    other = apsw.Connection(str(source_db))
    insert(other, "messages", session_id="20251021_1", role="user", created_timestamp=T0 + 60, message_id="msg_5",
           content_json=_text("now the download test"))
    insert(other, "sessions", id="20251021_2", name="helper", session_type="sub_agent", working_dir="/home/dev/up")
    insert(other, "messages", session_id="20251021_2", role="user", created_timestamp=T0 + 61, message_id="msg_6",
           content_json=_text("sub task"))
    other.execute("UPDATE messages SET content_json = ? WHERE message_id = 'msg_4'",
                  (json.dumps(_text("The retry waited 0 ms; now it backs off.")),))
    other.close()
    result = db.collect_all(["goose"], roots=roots)
    assert (result.messages_inserted, result.messages_updated) == (2, 1)
    assert len(db.list_messages("20251021_1")) == 5
    assert json.loads(db.get_session("20251021_2").meta)["session_type"] == "subagent"
    source_db.unlink()
    gone = db.collect_all(["goose"], roots=roots)
    assert gone.error_count == 0 and len(db.list_messages("20251021_1")) == 5   # an archive keeps the rows


def test_corrupt_and_locked_databases_are_reported_and_the_rest_goes_on(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    goose_db(root)
    (root / "20250105_143000.jsonl").write_text(json.dumps({"working_dir": "/w", "description": "old"}) + "\n" +
                                                json.dumps({"role": "user", "created": T0, "content": _text("hi")}) + "\n")
    holder = apsw.Connection(str(root / "sessions.db"))
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = db.collect_all(["goose"], roots=only("goose", root, tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert any("sessions.db" in e for e in locked.errors) and db.get_session("20250105_143000") is not None
    again = db.collect_all(["goose"], roots=only("goose", root, tmp_path))
    assert again.error_count == 0 and len(db.list_messages("20251021_1")) == 4
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sessions.db").write_bytes(b"this is not a database" * 100)
    result = db.collect_all(["goose"], roots=only("goose", [broken, root], tmp_path))
    assert result.error_count == 1 and "sessions.db" in result.errors[0]


def test_older_jsonl_sessions_are_read_whole(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    root.mkdir()
    path = root / "20250105_143000.jsonl"
    lines = [{"working_dir": "/home/dev/notes", "description": "Tidy the notes CLI", "message_count": 2},
             {"role": "user", "created": T0, "content": _text("rename the flag")},
             {"id": "m2", "role": "assistant", "created": T0 + 3, "content": [
                 {"type": "toolRequest", "id": "t1", "toolCall": {"status": "error", "error": "bad arguments"}}]}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    roots = only("goose", root, tmp_path)
    first = db.collect_all(["goose"], roots=roots)
    assert (first.messages_inserted, first.bad_lines) == (2, 1)
    assert [m.content_full for m in db.list_messages("20250105_143000")] == [
        "rename the flag", "[Tool: unknown] bad arguments"]
    lines.append({"role": "user", "created": T0 + 9, "content": _text("thanks")})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    again = db.collect_by_path(path, roots=roots)
    assert (again.messages_inserted, again.messages_updated) == (1, 0)
    session = db.get_session("20250105_143000")
    assert db.get_project(session.project_id).path == "/home/dev/notes"


def test_roots_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(str(tmp_path / "home"))
    assert goose.SOURCE.resolve_roots()[0] == home / ".local/share/goose/sessions"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert goose.SOURCE.resolve_roots() == [tmp_path / "xdg" / "goose" / "sessions"]
    monkeypatch.setenv("GOOSE_PATH_ROOT", str(tmp_path / "g"))
    assert goose.SOURCE.resolve_roots() == [tmp_path / "g" / "data" / "sessions"]
    monkeypatch.setenv("GOOSE_SESSIONS_PATH", str(tmp_path / "s"))
    assert goose.SOURCE.resolve_roots() == [tmp_path / "s"]
