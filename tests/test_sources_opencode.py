"""OpenCode: the JSON storage tree and opencode.db (read-only), in creation order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import apsw
import pytest
from collect_helpers import only, opencode_tree

from sessiondb import MessageType, SessionDB
from sessiondb.sources import opencode

JSON_SESSION = "ses_4f1b2b560ffe2PCV8ov3sorUNQ"
DB_SESSION = "ses_5a1b2c3d4e5fDbSessionAbcdef"


def test_json_storage_messages_in_creation_order(db: SessionDB, tmp_path: Path) -> None:
    root = opencode_tree(tmp_path, with_db=False)
    result = db.collect_all(["opencode"], roots=only("opencode", root, tmp_path))
    assert result.sessions_scanned == 2 and result.bad_lines == 1   # the corrupt part file
    messages = db.list_messages(JSON_SESSION)
    assert [m.type for m in messages] == [MessageType.USER, MessageType.ASSISTANT, MessageType.USER]
    user, assistant = messages[0], messages[1]
    assert user.content_text == "The websocket reconnect test fails one run in ten"   # synthetic part: full only
    assert "Called the Read tool" in user.content_full
    assert assistant.content_full.split("\n") == [
        "[Thinking] The reconnect timer is not cleared on close.", '[Tool: read] {"filePath":"src/ws.ts"}',
        "[Result] export function reconnect() { setTimeout(connect, 1000) }",
        "clearTimeout is missing in onClose; I added it."]
    assert (assistant.tool_call_id, assistant.tool_name, assistant.model) == ("toolu_01WsRead", "read",
                                                                              "claude-sonnet-4-5")
    assert assistant.timestamp == 1758000020000
    session = db.get_session(JSON_SESSION)
    assert json.loads(session.meta)["title"] == "Fix flaky websocket reconnect"
    assert db.get_project(session.project_id).path == "/home/dev/opencode-app"
    assert [m.content_full for m in db.list_messages("ses_0a1b2c3d4e5fOldNoSlugXyzAbcd")] == [
        "scratch notes about regex lookbehind"]


def test_streaming_part_update_is_picked_up(db: SessionDB, tmp_path: Path) -> None:
    root = opencode_tree(tmp_path, with_db=False)
    roots = only("opencode", root, tmp_path)
    db.collect_all(["opencode"], roots=roots)
    part = next(root.rglob("prt_b0e1a2c3f004Abcdefghijklmn.json"))
    data = json.loads(part.read_text())
    data["text"] += " The test passes 100 times in a row now."
    part.write_text(json.dumps(data))
    by_path = db.collect_by_path(part, roots=roots)
    assert (by_path.messages_inserted, by_path.messages_updated) == (0, 1)
    assert db.search("100 times in a row")[0].session_id == JSON_SESSION


def test_database_is_read_read_only_in_creation_order(db: SessionDB, tmp_path: Path) -> None:
    root = opencode_tree(tmp_path)
    source_db = root / "opencode.db"
    before = (source_db.read_bytes(), source_db.stat().st_mtime_ns)
    os.chmod(source_db, 0o444)
    result = db.collect_all(["opencode"], roots=only("opencode", root, tmp_path))
    assert (source_db.read_bytes(), source_db.stat().st_mtime_ns) == before
    assert result.sessions_scanned == 4
    messages = db.list_messages(DB_SESSION)
    assert [m.uuid for m in messages] == ["msg_c2000000001DbUserAbcdefghi", "msg_c2000000002DbAssistantAbcde"]
    assert messages[1].content_full == ('[Tool: edit] {"filePath":"src/config.ts"}\n[Result] Edit applied\n'
                                        "The loader now reads config.toml with tomllib.")
    child = json.loads(db.get_session("ses_5a1b2c3d4e60DbChildAbcdefg").meta)
    assert child["parent_session_id"] == DB_SESSION and child["slug"] == "calm-heron"


def test_database_changes_are_collected_incrementally(db: SessionDB, tmp_path: Path) -> None:
    root = opencode_tree(tmp_path)
    roots = only("opencode", root, tmp_path)
    db.collect_all(["opencode"], roots=roots)
    warm = db.collect_all(["opencode"], roots=roots)
    assert warm.files_read == 0 and warm.messages_inserted == 0
    other = apsw.Connection(str(root / "opencode.db"))
    other.execute("INSERT INTO message VALUES ('msg_c2000000009DbLateAbcdefghi', ?, 1760000099000, 1760000099000, "
                  "'{\"role\":\"user\",\"time\":{\"created\":1760000099000}}')", (DB_SESSION,))
    other.execute("INSERT INTO part VALUES ('prt_c3000000009DbPartAbcdefghij', 'msg_c2000000009DbLateAbcdefghi', ?, "
                  "1760000099000, 1760000099000, '{\"type\":\"text\",\"text\":\"also migrate the env loader\"}')",
                  (DB_SESSION,))
    other.close()
    result = db.collect_all(["opencode"], roots=roots)
    assert result.messages_inserted == 1 and result.files_read == 2   # one session + the database gate
    assert db.list_messages(DB_SESSION)[-1].content_text == "also migrate the env loader"


def test_locked_database_is_reported_not_fatal(db: SessionDB, tmp_path: Path) -> None:
    root = opencode_tree(tmp_path)
    holder = apsw.Connection(str(root / "opencode.db"))
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = db.collect_all(["opencode"], roots=only("opencode", root, tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert any("opencode.db" in e for e in result.errors)
    assert db.get_session(JSON_SESSION) is not None      # the JSON tree was still collected
    again = db.collect_all(["opencode"], roots=only("opencode", root, tmp_path))
    assert db.get_session(DB_SESSION) is not None and again.error_count == 0


def test_roots_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert opencode.SOURCE.resolve_roots() == [tmp_path / "xdg" / "opencode"]
    monkeypatch.setenv("OPENCODE_PATH", str(tmp_path / "oc"))
    assert opencode.SOURCE.resolve_roots() == [tmp_path / "oc"]
