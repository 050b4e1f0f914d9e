"""Gemini CLI chats: whole-file JSON, the JSONL variant, subagent chats, in-place rewrites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from collect_helpers import FIXTURES, copy_tree, only

from sessiondb import MessageType, SessionDB
from sessiondb.sources import gemini

ROOT = FIXTURES / "gemini" / "tmp"
MAIN = "9d8c7b6a-0000-4000-8000-000000000001"


def test_chat_messages_thoughts_and_tool_calls(db: SessionDB, tmp_path: Path) -> None:
    result = db.collect_all(["gemini"], roots=only("gemini", ROOT, tmp_path))
    assert result.sessions_scanned == 3 and result.bad_lines == 0
    messages = db.list_messages(MAIN)
    assert [m.type for m in messages] == [MessageType.USER, MessageType.ASSISTANT, MessageType.ASSISTANT,
                                          MessageType.SYSTEM]
    tool = messages[1]
    assert tool.content_full == ("[Thinking] Listing files: I will call list_directory on the project root.\n"
                                 '[Tool: list_directory] {"path":"/home/dev/gemini-app"}\n[Result] Listed 3 item(s).')
    assert (tool.tool_call_id, tool.tool_name, tool.model) == ("list_directory-1760799453120-a1", "list_directory",
                                                               "gemini-2.5-pro")
    assert messages[3].content_full == "[info] Request cancelled."
    assert messages[0].timestamp == 1760799448974
    session = db.get_session(MAIN)
    assert db.get_project(session.project_id).path == "/home/dev/gemini-app"   # from .project_root
    assert session.model == "gemini-2.5-pro"


def test_jsonl_chat_keeps_rewound_messages(db: SessionDB, tmp_path: Path) -> None:
    db.collect_all(["gemini"], roots=only("gemini", ROOT, tmp_path))
    texts = [m.content_full for m in db.list_messages("7a6b5c4d-0000-4000-8000-000000000002")]
    assert texts == ["Explain the build script", "The build script bundles src with esbuild.",
                     "The build script runs esbuild, then copies static assets."]


def test_subagent_chat_is_linked(db: SessionDB, tmp_path: Path) -> None:
    db.collect_all(["gemini"], roots=only("gemini", ROOT, tmp_path))
    meta = json.loads(db.get_session("5b4a3c2d-0000-4000-8000-000000000003").meta)
    assert meta["parent_session_id"] == MAIN and meta["session_type"] == "subagent"


def test_rewritten_chat_updates_changed_messages(db: SessionDB, tmp_path: Path) -> None:
    root = copy_tree("gemini", tmp_path / "g") / "tmp"
    roots = only("gemini", root, tmp_path)
    db.collect_all(["gemini"], roots=roots)
    path = next(root.rglob("session-2025-10-18T14-57-9d8c7b6a.json"))
    chat = json.loads(path.read_text())
    chat["messages"][2]["content"] = "The directory has README.md, package.json, src and docs."
    chat["messages"].append({"id": "e1000000-0000-4000-8000-000000000005", "timestamp": "2025-10-18T14:59:00.000Z",
                             "type": "user", "content": "Thanks"})
    path.write_text(json.dumps(chat, indent=2))
    result = db.collect_all(["gemini"], roots=roots)
    assert (result.messages_inserted, result.messages_updated) == (1, 1)
    texts = [m.content_full for m in db.list_messages(MAIN)]
    assert texts[2] == "The directory has README.md, package.json, src and docs." and texts[-1] == "Thanks"
    assert db.search("docs")[0].session_id == MAIN
    # A rewind that drops messages from the file keeps them in the database.
    chat["messages"] = chat["messages"][:1]
    path.write_text(json.dumps(chat))
    db.collect_all(["gemini"], roots=roots)
    assert len(db.list_messages(MAIN)) == 5


def test_broken_chat_file_is_reported(db: SessionDB, tmp_path: Path) -> None:
    chats = tmp_path / "g" / "abc" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-bad.json").write_text('{"sessionId": "s", "messages": [')
    (chats / "session-odd.json").write_text(json.dumps({"sessionId": "odd", "messages": [
        {"id": "m1", "type": "user", "content": "fine"}, "not a message",
        {"id": 7, "type": "gemini", "content": {"text": "object content"}, "toolCalls": "nope"}]}))
    result = db.collect_all(["gemini"], roots=only("gemini", tmp_path / "g", tmp_path))
    assert result.error_count == 2 and result.bad_lines == 3
    assert [m.content_full for m in db.list_messages("odd")] == ["fine", "object content"]
    assert db.get_project(db.get_session("odd").project_id).path == "gemini:abc"


def test_roots_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "h"))
    assert gemini.SOURCE.resolve_roots() == [tmp_path / "h" / ".gemini" / "tmp"]
    monkeypatch.setenv("GEMINI_TMP_PATH", str(tmp_path / "t"))
    assert gemini.SOURCE.resolve_roots() == [tmp_path / "t"]
