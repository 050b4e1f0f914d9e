"""Cursor: composers and bubbles in globalStorage/state.vscdb, workspaces and old chat tabs in ItemTable."""

from __future__ import annotations

import json
from pathlib import Path

import apsw
import pytest
from collect_helpers import only
from store_builders import VSCDB_SCHEMA, connect, put, write_json

from sessiondb import MessageType, SessionDB
from sessiondb.sources import cursor

COMPOSER = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
INLINE = "0a1b2c3d-0000-4000-8000-000000000002"
T0 = 1_761_040_000_000


def user_dir(tmp_path: Path) -> Path:
    user = tmp_path / "Cursor" / "User"
    # A workspace: its folder, the composers it lists, and the old chat panel's tabs.
    workspace = user / "workspaceStorage" / "9f8e7d6c5b4a"
    write_json(workspace / "workspace.json", {"folder": "file:///home/dev/my%20shop"})
    conn = connect(workspace / "state.vscdb", VSCDB_SCHEMA)
    put(conn, "ItemTable", "composer.composerData", {"allComposers": [
        {"composerId": COMPOSER, "name": "Fix checkout", "createdAt": T0, "unifiedMode": "agent"}],
        "selectedComposerIds": [COMPOSER]})
    put(conn, "ItemTable", "workbench.panel.aichat.view.aichat.chatdata", {"tabs": [
        {"tabId": "tab-1", "chatTitle": "Regex help", "lastSendTime": T0 - 50_000, "bubbles": [
            {"type": "user", "id": "b-u1", "text": "a regex for ISO dates?"},
            {"type": "ai", "id": "b-a1", "text": "\\d{4}-\\d{2}-\\d{2}", "modelType": "gpt-4"}]}]})
    conn.close()
    # Global storage: a composer of format version 3 (one key per bubble), and an older inline one.
    conn = connect(user / "globalStorage" / "state.vscdb", VSCDB_SCHEMA)
    put(conn, "cursorDiskKV", f"composerData:{COMPOSER}", {
        "_v": 3, "composerId": COMPOSER, "name": "Fix checkout", "createdAt": T0, "lastUpdatedAt": T0 + 9000,
        "unifiedMode": "agent", "modelConfig": {"modelName": "claude-4.5-sonnet"},
        "fullConversationHeadersOnly": [{"bubbleId": "u1", "type": 1}, {"bubbleId": "a1", "type": 2},
                                        {"bubbleId": "a2", "type": 2}]})
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:u1", {
        "_v": 3, "type": 1, "bubbleId": "u1", "text": "checkout total is wrong 结账", "createdAt": "2025-10-21T09:46:40.000Z"})
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:a1", {
        "_v": 3, "type": 2, "bubbleId": "a1", "text": "", "thinking": {"text": "Check the sum."},
        "timingInfo": {"clientStartTime": T0 + 2000},
        "toolFormerData": {"tool": 5, "name": "read_file", "toolCallId": "call_1", "status": "completed",
                           "rawArgs": "{\"target_file\": \"cart.py\"}", "result": "{\"contents\": \"total = 0\"}"}})
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:a2", {
        "_v": 3, "type": 2, "bubbleId": "a2", "text": "Fixed the sum.", "createdAt": T0 + 5000,
        "modelInfo": {"modelName": "gpt-5"}})
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:x9", {"type": 7, "bubbleId": "x9", "text": "odd", "createdAt": T0 + 6000})
    put(conn, "cursorDiskKV", f"composerData:{INLINE}", {
        "_v": 1, "composerId": INLINE, "createdAt": T0 - 100_000, "conversation": [
            {"type": 1, "bubbleId": "i1", "text": "explain this file"},
            {"type": 2, "bubbleId": "i2", "text": "It parses flags."}]})
    conn.close()
    return user


def test_composers_bubbles_tools_and_projects(db: SessionDB, tmp_path: Path) -> None:
    user = user_dir(tmp_path)
    global_db = user / "globalStorage" / "state.vscdb"
    before = global_db.read_bytes()
    result = db.collect_all(["cursor"], roots=only("cursor", user, tmp_path))
    assert global_db.read_bytes() == before
    assert (result.sessions_scanned, result.messages_inserted, result.error_count) == (3, 8, 0)
    assert result.unknown_records == {"bubble:7": 1}
    user_msg, call, reply, odd = db.list_messages(COMPOSER)
    assert (user_msg.type, user_msg.uuid, user_msg.timestamp) == (MessageType.USER, "u1", T0)
    assert call.content_full.split("\n") == ["[Thinking] Check the sum.",
                                             '[Tool: read_file] {"target_file":"cart.py"}',
                                             '[Result] {"contents":"total = 0"}']
    assert (call.tool_call_id, call.model, call.timestamp) == ("call_1", "claude-4.5-sonnet", T0 + 2000)
    assert (reply.model, reply.timestamp) == ("gpt-5", T0 + 5000)
    assert odd.type == MessageType.SYSTEM
    session = db.get_session(COMPOSER)
    assert json.loads(session.meta)["title"] == "Fix checkout"
    assert db.get_project(session.project_id).path == "/home/dev/my shop"
    inline = db.list_messages(INLINE)
    assert [m.content_text for m in inline] == ["explain this file", "It parses flags."]
    assert [m.timestamp for m in inline] == [T0 - 100_000] * 2   # no own times: the composer's creation
    tab = db.list_messages("tab-1")
    assert [(m.type, m.model) for m in tab] == [(MessageType.USER, None), (MessageType.ASSISTANT, "gpt-4")]
    assert json.loads(db.get_session("tab-1").meta)["title"] == "Regex help"
    assert db.search("结账")[0].session_id == COMPOSER


def test_rewritten_values_update_and_warm_rescan_reads_nothing(db: SessionDB, tmp_path: Path) -> None:
    user = user_dir(tmp_path)
    roots = only("cursor", user, tmp_path)
    db.collect_all(["cursor"], roots=roots)
    warm = db.collect_all(["cursor"], roots=roots)
    assert (warm.files_read, warm.messages_inserted) == (0, 0)
    conn = apsw.Connection(str(user / "globalStorage" / "state.vscdb"))
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:a2", {
        "type": 2, "bubbleId": "a2", "text": "Fixed the sum and added a test.", "createdAt": T0 + 5000})
    put(conn, "cursorDiskKV", f"bubbleId:{COMPOSER}:u3", {"type": 1, "bubbleId": "u3", "text": "thanks",
                                                          "createdAt": T0 + 9000})
    conn.close()
    result = db.collect_by_path(user / "globalStorage" / "state.vscdb", roots=roots)
    assert (result.messages_inserted, result.messages_updated) == (1, 1)
    assert [m.uuid for m in db.list_messages(COMPOSER)][-1] == "u3"


def test_locked_and_corrupt_databases_are_reported(db: SessionDB, tmp_path: Path) -> None:
    user = user_dir(tmp_path)
    holder = apsw.Connection(str(user / "globalStorage" / "state.vscdb"))
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = db.collect_all(["cursor"], roots=only("cursor", user, tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.error_count == 1 and "globalStorage" in locked.errors[0]
    assert db.get_session("tab-1") is not None   # the workspace database was still read
    broken = user / "workspaceStorage" / "00broken"
    broken.mkdir()
    (broken / "state.vscdb").write_bytes(b"\x01" * 4096)
    result = db.collect_all(["cursor"], roots=only("cursor", user, tmp_path))
    assert result.error_count == 1 and "00broken" in result.errors[0]
    assert len(db.list_messages(COMPOSER)) == 4


def test_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    assert cursor.SOURCE.resolve_roots() == [home / ".config/Cursor/User",
                                             home / "Library/Application Support/Cursor/User"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert cursor.SOURCE.resolve_roots() == [tmp_path / "cfg" / "Cursor" / "User"]
    monkeypatch.setenv("CURSOR_PATH", str(tmp_path / "c"))
    assert cursor.SOURCE.resolve_roots() == [tmp_path / "c"]
