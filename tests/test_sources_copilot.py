"""GitHub Copilot CLI: session-state event logs, both layouts and both shapes of session.start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import check_incremental_rules, collect, contents, jsonl, meta, project_of

from sessiondb import SessionDB
from sessiondb.collector import Collector
from sessiondb.sources import copilot

SID = "7a22dab8-b57b-472a-b1ce-21f691cb0cf5"


def _event(kind: str, data: dict[str, Any], n: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "data": data, "id": f"ev-{n}", "timestamp": f"2026-01-30T01:28:{n:02d}.000Z",
            "parentId": f"ev-{n - 1}" if n else None, **extra}


def current_events() -> list[dict[str, Any]]:
    """A session of a recent CLI: context in session.start, a title, a subagent, a tool error."""
    return [
        _event("session.start", {"sessionId": SID, "version": 1, "producer": "copilot-agent",
                                 "copilotVersion": "1.0.40", "startTime": "2026-01-30T01:28:00.000Z",
                                 "selectedModel": "claude-sonnet-4.5",
                                 "context": {"cwd": "/home/dev/devkit", "branch": "main", "repository": "dev/devkit"}}, 0),
        _event("user.message", {"content": "修复 parse_order_total 的舍入", "attachments": [
            {"type": "file", "path": "/home/dev/devkit/orders.py", "displayName": "orders.py"}]}, 1),
        _event("assistant.turn_start", {"turnId": "0"}, 2),
        _event("assistant.message", {"messageId": "m1", "content": "I'll run the tests first.",
                                     "reasoningText": "rounding happens twice",
                                     "toolRequests": [{"toolCallId": "call_1", "name": "bash",
                                                       "arguments": {"command": "pytest -q"}}]}, 3),
        _event("tool.execution_start", {"toolCallId": "call_1", "toolName": "bash",
                                        "arguments": {"command": "pytest -q"}}, 4),
        _event("tool.execution_complete", {"toolCallId": "call_1", "success": False,
                                           "error": {"message": "1 failed"}}, 5),
        _event("session.model_change", {"previousModel": "claude-sonnet-4.5", "newModel": "gpt-5.2"}, 6),
        _event("assistant.message", {"messageId": "m2", "content": "Fixed the double rounding."}, 7),
        _event("session.title_changed", {"title": "Fix order rounding"}, 8),
        _event("subagent.started", {"toolCallId": "call_2", "agentName": "explore", "agentDisplayName": "Explore",
                                    "agentDescription": "find callers"}, 9),
        _event("assistant.message", {"messageId": "m3", "content": "callers: checkout.py"}, 10, agentId="explore-7f3c"),
        _event("subagent.completed", {"toolCallId": "call_2", "agentName": "explore",
                                      "agentDisplayName": "Explore"}, 11),
        _event("session.shutdown", {"shutdownType": "routine", "totalPremiumRequests": 2, "totalApiDurationMs": 5,
                                    "sessionStartTime": 0, "codeChanges": {}, "modelMetrics": {}}, 12),
        _event("session.future_event", {"x": 1}, 13),
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "copilot"


def test_a_current_session_is_stored_with_tools_models_title_and_subagent(db: SessionDB, root: Path,
                                                                         tmp_path: Path) -> None:
    folder = root / "session-state" / SID
    jsonl(folder / "events.jsonl", current_events())
    (folder / "workspace.yaml").write_text(f"id: {SID}\ncwd: /elsewhere\nname: Workspace name\n")
    result = collect(db, "copilot", root, tmp_path)
    assert result.error_count == 0 and result.unknown_records == {"session.future_event": 1}
    assert result.skipped_records["tool.execution_start"] == 1
    assert contents(db, SID) == [
        ("user", "修复 parse_order_total 的舍入\n[File: /home/dev/devkit/orders.py]"),
        ("assistant", "[Thinking] rounding happens twice\nI'll run the tests first.\n"
                      '[Tool: bash] {"command":"pytest -q"}'),
        ("tool", "[Result Error] 1 failed"),
        ("assistant", "Fixed the double rounding."),
        ("system", "[Title] Fix order rounding"),
        ("system", "[subagent.started] Explore find callers"),
        ("system", "[subagent.completed] Explore"),
        ("system", '[session.future_event] ' + json.dumps(current_events()[-1])),
    ]
    messages = db.list_messages(SID)
    assert [m.timestamp for m in messages][:3] == [1769736481000, 1769736483000, 1769736485000]
    assert (messages[1].model, messages[3].model) == ("claude-sonnet-4.5", "gpt-5.2")
    assert (messages[1].tool_call_id, messages[1].tool_name, messages[2].tool_call_id) == ("call_1", "bash", "call_1")
    assert project_of(db, SID) == "/home/dev/devkit"
    info = meta(db, SID)
    assert info["title"] == "Fix order rounding" and info["git_branch"] == "main"
    child = f"{SID}:explore-7f3c"
    assert contents(db, child) == [("assistant", "callers: checkout.py")]
    assert meta(db, child)["parent_session_id"] == SID and meta(db, child)["session_type"] == "subagent"


def test_an_early_session_without_context_takes_cwd_and_title_from_workspace_yaml(db: SessionDB, root: Path,
                                                                                 tmp_path: Path) -> None:
    # 0.0.342-era: session.start carries no context; workspace.yaml (later) names the folder.
    folder = root / "session-state" / "old-1"
    jsonl(folder / "events.jsonl", [
        _event("session.start", {"sessionId": "old-1", "version": 1, "producer": "copilot-agent",
                                 "copilotVersion": "0.0.369", "startTime": "2025-12-13T16:26:51.136Z"}, 0),
        _event("session.info", {"infoType": "folder_trust", "message": "Folder /home/dev/p has been trusted."}, 1),
        _event("user.message", {"content": "hello"}, 2),
        _event("assistant.message", {"messageId": "m", "content": "hi", "toolRequests": []}, 3),
    ])
    (folder / "workspace.yaml").write_text("cwd: /home/dev/p\nname: 'Say hello'\n")
    collect(db, "copilot", root, tmp_path)
    assert [t for t, _ in contents(db, "old-1")] == ["system", "user", "assistant"]
    assert project_of(db, "old-1") == "/home/dev/p" and meta(db, "old-1")["title"] == "Say hello"


def test_the_flat_layout_is_read_and_a_folder_of_the_same_session_wins(db: SessionDB, root: Path,
                                                                     tmp_path: Path) -> None:
    state = root / "session-state"
    jsonl(state / "flat-1.jsonl", [_event("user.message", {"content": "flat one"}, 1)])
    jsonl(state / "both.jsonl", [_event("user.message", {"content": "stale flat"}, 1)])
    jsonl(state / "both" / "events.jsonl", [_event("user.message", {"content": "folder"}, 2)])
    collect(db, "copilot", root, tmp_path)
    assert contents(db, "flat-1") == [("user", "flat one")]
    assert contents(db, "both") == [("user", "folder")]


def test_incremental_rules(db: SessionDB, root: Path, tmp_path: Path) -> None:
    path = jsonl(root / "session-state" / SID / "events.jsonl", current_events()[:8])
    more = [json.dumps(e) for e in current_events()[8:11]]
    check_incremental_rules(db, "copilot", root, path, tmp_path, more, SID)
    assert db.get_session(f"{SID}:explore-7f3c") is not None


def test_roots_from_the_environment_and_collect_by_path(db: SessionDB, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "copilot-home"
    path = jsonl(home / "session-state" / "env-1" / "events.jsonl", [_event("user.message", {"content": "env"}, 1)])
    monkeypatch.setenv("COPILOT_HOME", str(home))
    assert copilot.SOURCE.resolve_roots() == [home]
    monkeypatch.setenv("COPILOT_PATH", str(tmp_path / "mine"))
    assert copilot.SOURCE.resolve_roots() == [tmp_path / "mine"]
    result = Collector(db).collect_by_path(path)   # outside the roots: found by its layout
    assert result.messages_inserted == 1 and db.list_messages("env-1")[0].source == "copilot"
