"""Qwen Code: chat records under projects/ (current) and tmp/ (the first recording format)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import check_incremental_rules, collect, contents, jsonl, meta, project_of

from sessiondb import SessionDB
from sessiondb.sources import qwen

SID = "4f1c6a2e-9b0d-4e8f-a1b2-c3d4e5f60718"
CWD = "/home/dev/qwen-app"


def _record(n: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"uuid": f"r{n}", "parentUuid": f"r{n - 1}" if n else None, "sessionId": SID,
            "timestamp": f"2026-02-03T08:00:{n:02d}.000Z", "type": kind, "cwd": CWD, "version": "0.14.1",
            "gitBranch": "dev", **fields}


def current_records() -> list[dict[str, Any]]:
    return [
        _record(0, "user", message={"role": "user", "parts": [{"text": "为什么 snake_case_name 报错?"}]}),
        _record(1, "assistant", model="qwen3-coder-plus",
                message={"role": "model", "parts": [{"text": "Checking the file.", "thought": True},
                                                    {"functionCall": {"id": "call_a", "name": "read_file",
                                                                      "args": {"path": "app.py"}}}]},
                usageMetadata={"promptTokenCount": 10, "candidatesTokenCount": 3, "totalTokenCount": 13}),
        _record(2, "tool_result", message={"role": "user", "parts": [{"functionResponse": {
            "id": "call_a", "name": "read_file", "response": {"output": "def snake_case_name(): ..."}}}]},
            toolCallResult={"callId": "call_a", "status": "success", "resultDisplay": "read 1 line"}),
        _record(3, "system", subtype="ui_telemetry", systemPayload={"uiEvent": {
            "event.name": "qwen-code.api_response", "input_token_count": 10, "output_token_count": 3}}),
        _record(4, "assistant", model="qwen3-coder-plus",
                message={"role": "model", "parts": [{"text": "The name shadows a builtin."}]}),
        _record(5, "system", subtype="custom_title", systemPayload={"customTitle": "snake_case error",
                                                                    "titleSource": "auto"}),
        _record(6, "system", subtype="chat_compression", systemPayload={"summary": "user asked about a name",
                                                                        "info": {}, "compressedHistory": []}),
        _record(7, "assistant", model="qwen3-coder-flash", agentId="explore-7f3c", agentName="Explore",
                isSidechain=True, message={"role": "model", "parts": [{"text": "found 2 uses"}]}),
        _record(8, "tool_result", message={"role": "user", "parts": [{"functionResponse": {
            "id": "call_b", "name": "run_shell_command", "response": {"error": "exit 1"}}}]},
            toolCallResult={"callId": "call_b", "status": "error"}),
        _record(9, "system", subtype="brand_new_kind", systemPayload={"x": 1}),
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "qwen"


def test_a_current_chat_is_stored_with_tools_thoughts_title_and_subagent(db: SessionDB, root: Path,
                                                                        tmp_path: Path) -> None:
    jsonl(root / "projects" / "-home-dev-qwen-app" / "chats" / f"{SID}.jsonl", current_records())
    result = collect(db, "qwen", root, tmp_path)
    assert result.error_count == 0 and result.skipped_records["system:ui_telemetry"] == 1
    assert result.unknown_records == {"system:brand_new_kind": 1}
    assert contents(db, SID) == [
        ("user", "为什么 snake_case_name 报错?"),
        ("assistant", '[Thinking] Checking the file.\n[Tool: read_file] {"path":"app.py"}'),
        ("tool", "[Result] def snake_case_name(): ..."),
        ("assistant", "The name shadows a builtin."),
        ("system", "[Title] snake_case error"),
        ("system", "[Compacted Summary]\nuser asked about a name"),
        ("tool", "[Result Error] exit 1"),
        ("system", "[system:brand_new_kind] " + json.dumps(current_records()[-1], ensure_ascii=False)),
    ]
    messages = db.list_messages(SID)
    assert messages[1].model == "qwen3-coder-plus" and messages[1].tool_call_id == "call_a"
    assert messages[2].tool_call_id == "call_a" and messages[0].timestamp == 1770105600000
    assert project_of(db, SID) == CWD
    assert meta(db, SID)["title"] == "snake_case error" and meta(db, SID)["git_branch"] == "dev"
    child = f"{SID}:explore-7f3c"
    assert contents(db, child) == [("assistant", "found 2 uses")]
    assert meta(db, child)["parent_session_id"] == SID


def test_the_first_recording_format_under_tmp(db: SessionDB, root: Path, tmp_path: Path) -> None:
    records = [
        {"uuid": "a", "parentUuid": None, "sessionId": "old", "timestamp": "2025-09-01T00:00:00Z", "type": "user",
         "cwd": "/home/dev/old", "version": "0.0.14", "message": {"role": "user", "parts": [{"text": "hi"}]}},
        {"uuid": "b", "parentUuid": "a", "sessionId": "old", "timestamp": "2025-09-01T00:00:01Z",
         "type": "assistant", "cwd": "/home/dev/old", "version": "0.0.14", "model": "qwen3-coder",
         "message": {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
         "usageMetadata": {"input": 3, "output": 1, "cached": 0, "total": 4}},
        {"uuid": "c", "parentUuid": "b", "sessionId": "old", "timestamp": "2025-09-01T00:00:02Z",
         "type": "tool_result", "cwd": "/home/dev/old", "version": "0.0.14",
         "message": {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {"output": "a.py"}}}]}},
    ]
    jsonl(root / "tmp" / "0f3a9c" / "chats" / "old.jsonl", records)
    collect(db, "qwen", root, tmp_path)
    assert contents(db, "old") == [("user", "hi"), ("assistant", "[Tool: ls] {}"), ("tool", "[Result] a.py")]
    assert project_of(db, "old") == "/home/dev/old"


def test_incremental_rules(db: SessionDB, root: Path, tmp_path: Path) -> None:
    path = jsonl(root / "projects" / "-home-dev-qwen-app" / "chats" / f"{SID}.jsonl", current_records()[:5])
    more = [json.dumps(r) for r in current_records()[5:9]]
    check_incremental_rules(db, "qwen", root, path, tmp_path, more, SID)


def test_roots_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QWEN_HOME", str(tmp_path / "home-q"))
    assert qwen.SOURCE.resolve_roots() == [tmp_path / "home-q"]
    monkeypatch.setenv("QWEN_RUNTIME_DIR", str(tmp_path / "runtime"))
    assert qwen.SOURCE.resolve_roots() == [tmp_path / "runtime"]
    monkeypatch.setenv("QWEN_PATH", str(tmp_path / "mine"))
    assert qwen.SOURCE.resolve_roots() == [tmp_path / "mine"]
