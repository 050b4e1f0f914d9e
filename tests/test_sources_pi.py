"""Pi: session trees, format versions 1 (no entry ids) to 3, forks, and bash executions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import check_incremental_rules, collect, contents, jsonl, meta, project_of

from sessiondb import SessionDB
from sessiondb.sources import pi

SID = "3c9f2d1e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
FOLDER = "--home-dev-my-project--"


def _entry(n: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "id": f"e{n}", "parentId": f"e{n - 1}" if n > 1 else None,
            "timestamp": f"2026-01-05T10:00:{n:02d}.000Z", **fields}


def v3_entries() -> list[dict[str, Any]]:
    return [
        {"type": "session", "version": 3, "id": SID, "timestamp": "2026-01-05T10:00:00.000Z",
         "cwd": "/home/dev/my-project",
         "parentSession": "/home/u/.pi/agent/sessions/--x--/2026-01-04T09-00-00-000Z_parent-uuid.jsonl"},
        _entry(1, "message", message={"role": "user", "content": [{"type": "text", "text": "ログイン直して"}],
                                      "timestamp": 1767607201000}),
        _entry(2, "message", message={
            "role": "assistant", "model": "claude-opus-4-5", "provider": "anthropic",
            "content": [{"type": "thinking", "thinking": "auth module first"},
                        {"type": "text", "text": "Reading auth.go."},
                        {"type": "toolCall", "id": "toolu_1", "name": "read", "arguments": {"path": "auth.go"}}]}),
        _entry(3, "message", message={"role": "toolResult", "toolCallId": "toolu_1", "toolName": "read",
                                      "content": [{"type": "text", "text": "package auth"}], "isError": False}),
        _entry(4, "model_change", provider="openai", modelId="gpt-5.1"),
        _entry(5, "message", message={"role": "bashExecution", "command": "go test ./...", "output": "FAIL\n",
                                      "exitCode": 1, "cancelled": False, "truncated": False}),
        _entry(6, "compaction", summary="user is fixing login", firstKeptEntryId="e3", tokensBefore=5000),
        _entry(7, "message", message={"role": "assistant", "model": "gpt-5.1",
                                      "content": [{"type": "text", "text": "Fixed."}]}),
        _entry(8, "session_info", name="Login fix"),
        _entry(9, "thinking_level_change", thinkingLevel="high"),
        _entry(10, "label", targetId="e7", label="done"),
        _entry(11, "unknown_future_entry_type"),
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "pi-sessions"


def test_a_v3_session_is_stored_with_tools_bash_compaction_title_and_parent(db: SessionDB, root: Path,
                                                                           tmp_path: Path) -> None:
    jsonl(root / FOLDER / f"2026-01-05T10-00-00-000Z_{SID}.jsonl", v3_entries())
    result = collect(db, "pi", root, tmp_path)
    assert result.error_count == 0 and result.unknown_records == {"unknown_future_entry_type": 1}
    assert result.skipped_records == {"model_change": 1, "thinking_level_change": 1, "label": 1}
    assert contents(db, SID) == [
        ("user", "ログイン直して"),
        ("assistant", '[Thinking] auth module first\nReading auth.go.\n[Tool: read] {"path":"auth.go"}'),
        ("tool", "[Result] package auth"),
        ("user", "[Tool: bash] go test ./...\n[Result Error] FAIL"),
        ("system", "[Compacted Summary]\nuser is fixing login"),
        ("assistant", "Fixed."),
        ("system", "[Title] Login fix"),
        ("system", "[unknown_future_entry_type] " + json.dumps(v3_entries()[-1])),
    ]
    messages = db.list_messages(SID)
    assert [m.model for m in messages if m.type.value == "assistant"] == ["claude-opus-4-5", "gpt-5.1"]
    assert messages[2].tool_call_id == "toolu_1" and messages[1].timestamp == 1767607202000
    assert project_of(db, SID) == "/home/dev/my-project"
    info = meta(db, SID)
    assert info["title"] == "Login fix" and info["parent_session_id"] == "parent-uuid"
    assert info["session_type"] == "fork"


def test_a_v1_session_without_entry_ids(db: SessionDB, root: Path, tmp_path: Path) -> None:
    lines = [
        {"type": "session", "id": "v1-session", "timestamp": "2025-06-01T00:00:00Z", "cwd": "/home/dev/v1"},
        {"type": "message", "timestamp": "2025-06-01T00:00:01Z",
         "message": {"role": "user", "content": "plain string content"}},
        {"type": "message", "timestamp": "2025-06-01T00:00:02Z",
         "message": {"role": "hookMessage", "customType": "hook", "content": "hook says hi", "display": True}},
        {"type": "compaction", "timestamp": "2025-06-01T00:00:03Z", "summary": "s", "firstKeptEntryIndex": 1,
         "tokensBefore": 9},
    ]
    jsonl(root / "--home-dev-v1--" / "2025-06-01T00-00-00-000Z_v1-session.jsonl", lines)
    collect(db, "pi", root, tmp_path)
    assert contents(db, "v1-session") == [("user", "plain string content"), ("system", "[custom:hook] hook says hi"),
                                          ("system", "[Compacted Summary]\ns")]
    # Re-reading gives the same synthetic ids: nothing doubles.
    assert collect(db, "pi", root, tmp_path).messages_inserted == 0


def test_incremental_rules(db: SessionDB, root: Path, tmp_path: Path) -> None:
    path = jsonl(root / FOLDER / f"2026-01-05T10-00-00-000Z_{SID}.jsonl", v3_entries()[:4])
    more = [json.dumps(e) for e in v3_entries()[4:9]]
    check_incremental_rules(db, "pi", root, path, tmp_path, more, SID)


def test_roots_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PI_CODING_AGENT_DIR", str(tmp_path / "agent"))
    assert pi.SOURCE.resolve_roots() == [tmp_path / "agent" / "sessions"]
    monkeypatch.setenv("PI_PATH", str(tmp_path / "mine"))
    assert pi.SOURCE.resolve_roots() == [tmp_path / "mine"]
