"""OpenHands: per-event files of 0.x sessions and of the 1.x CLI, and exported trajectories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import collect, contents, meta, project_of
from collect_helpers import StatementLog, rows

from sessiondb import SessionDB
from sessiondb.collector import Collector
from sessiondb.sources import openhands


def v0_events() -> list[dict[str, Any]]:
    ts = "2025-03-10T12:00:{:02d}.000000"
    return [
        {"id": 0, "timestamp": ts.format(0), "source": "agent", "message": "", "action": "system",
         "args": {"content": "You are OpenHands agent.", "tools": []}},
        {"id": 1, "timestamp": ts.format(1), "source": "user", "message": "Add a /health route",
         "action": "message", "args": {"content": "Add a /health route", "image_urls": None,
                                        "wait_for_response": False}},
        {"id": 2, "timestamp": ts.format(2), "source": "environment", "message": "", "observation":
            "agent_state_changed", "content": "", "extras": {"agent_state": "running"}},
        {"id": 3, "timestamp": ts.format(3), "source": "agent", "message": "Running command: ls",
         "action": "run", "args": {"command": "ls app", "thought": "look at the app first", "blocking": False},
         "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "toolu_1",
                                "total_calls_in_response": 1}},
        {"id": 4, "timestamp": ts.format(4), "source": "agent", "message": "Command finished",
         "observation": "run", "content": "main.py\nroutes.py",
         "extras": {"command": "ls app", "metadata": {"exit_code": 0, "working_dir": "/workspace/api"}},
         "cause": 3, "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "toolu_1"}},
        {"id": 5, "timestamp": ts.format(5), "source": "agent", "message": "", "action": "think",
         "args": {"thought": "routes.py holds the router"}},
        {"id": 6, "timestamp": ts.format(6), "source": "agent", "message": "", "observation": "error",
         "content": "File not found: app/health.py", "extras": {}},
        {"id": 7, "timestamp": ts.format(7), "source": "agent", "message": "Done.", "action": "message",
         "args": {"content": "Added GET /health.", "wait_for_response": True}},
        {"id": 8, "timestamp": ts.format(8), "source": "agent", "message": "", "action": "finish",
         "args": {"final_thought": "The route is in place."}},
        {"id": 9, "timestamp": ts.format(9), "source": "agent", "surprise": True},
    ]


def _write_session(root: Path, sid: str, events: list[dict[str, Any]], metadata: dict[str, Any] | None) -> Path:
    folder = root / "sessions" / sid
    (folder / "events").mkdir(parents=True)
    for event in events:
        (folder / "events" / f"{event['id']}.json").write_text(json.dumps(event))
    if metadata is not None:
        (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "openhands"


def test_a_v0_session_is_stored_with_actions_observations_title_and_model(db: SessionDB, root: Path,
                                                                         tmp_path: Path) -> None:
    _write_session(root, "a1b2c3", v0_events(), {"conversation_id": "a1b2c3", "title": "Health route",
                                                  "selected_repository": "dev/api", "llm_model": "gpt-4o"})
    result = collect(db, "openhands", root, tmp_path)
    assert result.error_count == 0 and result.skipped_records == {"observation:agent_state_changed": 1}
    assert result.unknown_records == {"(no type)": 1}
    assert contents(db, "a1b2c3") == [
        ("system", "[System Prompt]\nYou are OpenHands agent."),
        ("user", "Add a /health route"),
        ("assistant", '[Thinking] look at the app first\n[Tool: run] {"command":"ls app","blocking":false}'),
        ("tool", "[Result] main.py\nroutes.py"),
        ("assistant", "[Thinking] routes.py holds the router"),
        ("tool", "[Result Error] File not found: app/health.py"),
        ("assistant", "Added GET /health."),
        ("assistant", "[Finish] The route is in place."),
        ("system", "[(no type)] " + json.dumps(v0_events()[-1], separators=(",", ":"))),
    ]
    messages = db.list_messages("a1b2c3")
    assert messages[2].tool_call_id == messages[3].tool_call_id == "toolu_1"
    assert messages[2].model == "gpt-4o" and messages[1].timestamp == 1741608001000
    assert project_of(db, "a1b2c3") == "/workspace/api"
    assert meta(db, "a1b2c3") == {"title": "Health route", "repository": "dev/api"}


def test_new_event_files_are_added_and_a_warm_rescan_writes_nothing(db: SessionDB, root: Path,
                                                                    tmp_path: Path) -> None:
    folder = _write_session(root, "s2", v0_events()[:5], None)
    assert collect(db, "openhands", root, tmp_path).messages_inserted == 4
    with StatementLog(db) as log:
        warm = collect(db, "openhands", root, tmp_path)
    assert log.writes == [] and warm.files_read == 0
    for event in v0_events()[5:8]:
        (folder / "events" / f"{event['id']}.json").write_text(json.dumps(event))
    assert collect(db, "openhands", root, tmp_path).messages_inserted == 3
    kept = rows(db)
    for path in (folder / "events").iterdir():
        path.unlink()
    collect(db, "openhands", root, tmp_path)
    assert rows(db) == kept   # vanished events keep their rows


def test_a_cli_v1_conversation(db: SessionDB, root: Path, tmp_path: Path) -> None:
    folder = root / "conversations" / "c0ffee"
    (folder / "events").mkdir(parents=True)
    (folder / "base_state.json").write_text(json.dumps({"id": "c0ffee", "agent": {"llm": {"model": "claude-4"}},
                                                        "workspace": {"working_dir": "/home/dev/cli"}}))
    events = [
        {"kind": "SystemPromptEvent", "id": "e0", "timestamp": "2025-11-01T09:00:00", "source": "agent",
         "system_prompt": {"type": "text", "text": "be helpful"}},
        {"kind": "MessageEvent", "id": "e1", "timestamp": "2025-11-01T09:00:01", "source": "user",
         "llm_message": {"role": "user", "content": [{"type": "text", "text": "list files"}]}},
        {"kind": "ActionEvent", "id": "e2", "timestamp": "2025-11-01T09:00:02", "source": "agent",
         "thought": [{"type": "text", "text": "use the terminal"}], "tool_name": "terminal",
         "tool_call_id": "call_9", "tool_call": {"name": "terminal", "arguments": "{\"command\": \"ls\"}"},
         "action": {"kind": "TerminalAction", "command": "ls"}},
        {"kind": "ObservationEvent", "id": "e3", "timestamp": "2025-11-01T09:00:03", "source": "environment",
         "tool_name": "terminal", "tool_call_id": "call_9",
         "observation": {"kind": "TerminalObservation", "content": [{"type": "text", "text": "README.md"}]}},
        {"kind": "ConversationStateUpdateEvent", "id": "e4", "timestamp": "2025-11-01T09:00:04", "key": "x"},
    ]
    for i, event in enumerate(events):
        (folder / "events" / f"event-{i:05d}-{event['id']}.json").write_text(json.dumps(event))
    collect(db, "openhands", root, tmp_path)
    assert contents(db, "c0ffee") == [
        ("system", "[SystemPromptEvent]\nbe helpful"),
        ("user", "list files"),
        ("assistant", 'use the terminal\n[Tool: terminal] {"command": "ls"}'),
        ("tool", "[Result] README.md"),
    ]
    assert project_of(db, "c0ffee") == "/home/dev/cli"
    assert db.list_messages("c0ffee")[2].model == "claude-4"


def test_an_exported_trajectory_is_collected_by_path(db: SessionDB, tmp_path: Path) -> None:
    path = tmp_path / "exports" / "health-route.json"
    path.parent.mkdir()
    path.write_text(json.dumps(v0_events()[:5]))
    result = Collector(db).collect_by_path(path)
    assert result.messages_inserted == 4
    assert [t for t, _ in contents(db, "health-route")] == ["system", "user", "assistant", "tool"]
    assert meta(db, "health-route")["trajectory_file"] == str(path)
    # A JSON file that is not a trajectory is not taken for one.
    other = tmp_path / "exports" / "package.json"
    other.write_text('{"name": "x"}')
    assert Collector(db).collect_by_path(other).files_seen == 0


def test_a_corrupt_event_file_is_reported_and_the_rest_kept(db: SessionDB, root: Path, tmp_path: Path) -> None:
    folder = _write_session(root, "bad", v0_events()[:3], None)
    (folder / "events" / "3.json").write_bytes(b'{"id": 3, "action": "run", "args": {"comm')
    result = collect(db, "openhands", root, tmp_path)
    assert result.error_count == 1 and "3.json" in result.errors[0]
    assert [t for t, _ in contents(db, "bad")] == ["system", "user"]


def test_roots_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENHANDS_PERSISTENCE_DIR", str(tmp_path / "persist"))
    assert openhands.SOURCE.resolve_roots() == [tmp_path / "persist"]
    monkeypatch.setenv("OPENHANDS_PATH", str(tmp_path / "mine"))
    assert openhands.SOURCE.resolve_roots() == [tmp_path / "mine"]
