"""Codex rollouts: sessions/ and archived_sessions/, every payload kind, timestamps in ms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from collect_helpers import CODEX_ARCHIVED, CODEX_MAIN, FIXTURES, copy_tree, only

from sessiondb import MessageType, SessionDB
from sessiondb.sources import codex

ROOT = FIXTURES / "codex"


def test_rollout_items_become_messages(db: SessionDB, tmp_path: Path) -> None:
    result = db.collect_all(["codex"], roots=only("codex", ROOT, tmp_path))
    assert result.sessions_scanned == 2 and result.projects_scanned == 2 and result.bad_lines == 0
    messages = db.list_messages(CODEX_MAIN)
    expected = [
        (MessageType.SYSTEM, "<permissions instructions>Filesystem sand"),   # developer role kept
        (MessageType.SYSTEM, "<environment_context>"),                        # injected context
        (MessageType.USER, "Add a retry with backoff to the upload_chu"),
        (MessageType.ASSISTANT, "[Thinking] **Planning the retry**"),
        (MessageType.ASSISTANT, '[Tool: shell] {"command":["rg","-n","def '),
        (MessageType.TOOL, "[Result] src/upload.py:88:def upload_chunk"),
        (MessageType.ASSISTANT, "[Tool: apply_patch] *** Begin Patch"),
        (MessageType.TOOL, "[Result] Success. Updated the following fi"),
        (MessageType.ASSISTANT, "upload_chunk now retries with exponential"),
    ]
    assert [m.type for m in messages[:9]] == [kind for kind, _ in expected]
    for message, (_, prefix) in zip(messages, expected):
        assert message.content_full.startswith(prefix)
    call, output, custom = messages[4], messages[5], messages[6]
    assert (call.uuid, call.tool_call_id, call.tool_name) == ("call_Kx81TQ", "call_Kx81TQ", "shell")
    assert json.loads(call.tool_args)["command"] == ["rg", "-n", "def upload_chunk"]
    assert output.tool_call_id == "call_Kx81TQ" and output.model is None
    assert (custom.tool_call_id, custom.tool_name) == ("call_Patch1", "apply_patch")
    assert custom.tool_args.startswith("*** Begin Patch")
    assert messages[8].model == "gpt-5-codex" and messages[2].timestamp == 1756713601500
    assert messages[-2].content_full.startswith("[Compacted Summary]\nThe user asked for retries")
    assert result.unknown_records == {"response_item:image_generation_call": 1, "world_state": 1}
    assert messages[-1].content_full.startswith("[world_state] ") and messages[-1].raw.startswith('{"timestamp"')
    assert result.skipped_records["event_msg:token_count"] == 1 and result.skipped_records["reasoning:empty"] == 1


def test_session_metadata_and_archived_sessions(db: SessionDB, tmp_path: Path) -> None:
    db.collect_all(["codex"], roots=only("codex", ROOT, tmp_path))
    session = db.get_session(CODEX_MAIN)
    assert session.model == "gpt-5-codex" and session.cwd == "/home/dev/api" and session.channel == "cli"
    meta = json.loads(session.meta)
    assert meta["cli_version"] == "0.46.0" and meta["git"]["branch"] == "main"
    assert db.get_project(session.project_id).path == "/home/dev/api"
    archived = db.list_messages(CODEX_ARCHIVED)
    assert [m.content_text for m in archived] == ["Summarize the failing snapshot tests",
                                                  "Three snapshot tests fail because the date format changed."]
    assert archived[0].timestamp == 1755674101000


def test_archiving_a_session_does_not_duplicate_it(db: SessionDB, tmp_path: Path) -> None:
    root = copy_tree("codex", tmp_path / "codex")
    roots = only("codex", root, tmp_path)
    first = db.collect_all(["codex"], roots=roots)
    rollout = next((root / "sessions").rglob("rollout-*.jsonl"))
    rollout.rename(root / "archived_sessions" / rollout.name)
    again = db.collect_all(["codex"], roots=roots)
    assert first.messages_inserted == 15 and again.messages_inserted == 0
    assert db.get_session_message_count(CODEX_MAIN) == 13


def test_session_id_falls_back_to_the_file_name(db: SessionDB, tmp_path: Path) -> None:
    day = tmp_path / "c" / "sessions" / "2025" / "01" / "02"
    day.mkdir(parents=True)
    (day / "rollout-2025-01-02T03-04-05-01234567-89ab-cdef-0123-456789abcdef.jsonl").write_text(
        '{"timestamp":"2025-01-02T03:04:06Z","type":"response_item","payload":{"type":"message","role":"user",'
        '"content":[{"type":"input_text","text":"no session_meta line"}]}}\n')
    db.collect_all(["codex"], roots=only("codex", tmp_path / "c", tmp_path))
    messages = db.list_messages("01234567-89ab-cdef-0123-456789abcdef")
    assert [m.content_text for m in messages] == ["no session_meta line"]
    project = db.get_project(db.get_session("01234567-89ab-cdef-0123-456789abcdef").project_id)
    assert project.path == str(tmp_path / "c" / "sessions")


def test_roots_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "home"))
    assert codex.SOURCE.resolve_roots() == [tmp_path / "home"]
    monkeypatch.setenv("CODEX_PATH", str(tmp_path / "path"))
    assert codex.SOURCE.resolve_roots() == [tmp_path / "path"]
    monkeypatch.delenv("CODEX_PATH")
    monkeypatch.delenv("CODEX_HOME")
    assert codex.SOURCE.resolve_roots() == [Path.home() / ".codex"]


def test_history_file_and_other_files_are_not_sessions() -> None:
    assert codex.SOURCE.unit_for_path(ROOT / "history.jsonl", [ROOT]) is None
    units = sorted(u.path for u in codex.SOURCE.discover([ROOT]))
    assert [Path(p).parent.name for p in units] == ["archived_sessions", "01"]


def test_bad_rollout_lines_are_counted_and_the_rest_kept(db: SessionDB, tmp_path: Path) -> None:
    day = tmp_path / "c" / "sessions" / "2025" / "03" / "04"
    day.mkdir(parents=True)
    sid = "0195aaaa-bbbb-7ccc-8ddd-eeeeffff0000"
    good = ('{"timestamp":"2025-03-04T05:00:0%d.000Z","type":"response_item","payload":{"type":"message",'
            '"role":"user","content":[{"type":"input_text","text":"line %d"}]}}')
    lines = [
        f'{{"timestamp":"2025-03-04T05:00:00.000Z","type":"session_meta","payload":{{"id":"{sid}","cwd":"/c"}}}}'
        .encode(),
        (good % (1, 1)).encode(),
        b"",
        b'{"timestamp":"2025-03-04T05:00:02.000Z","type":"response_item","payload":{"type":"mess',
        b"\xff\xfe not utf-8 and not json",
        b'{"timestamp":12345,"type":"response_item","payload":{"type":"function_call","name":["x"],'
        b'"arguments":{"a":1},"call_id":"call_dup"}}',
        b'{"timestamp":"2025-03-04T05:00:03.000Z","type":"response_item","payload":{"type":"function_call",'
        b'"name":"shell","arguments":"{}","call_id":"call_dup"}}',
        (good % (4, 4)).encode(),
    ]
    (day / f"rollout-2025-03-04T05-00-00-{sid}.jsonl").write_bytes(b"\n".join(lines) + b"\n" + b'{"timestamp":')
    result = db.collect_all(["codex"], roots=only("codex", tmp_path / "c", tmp_path))
    assert result.bad_lines == 3 and result.error_count == 1     # cut line, bad bytes, wrong-typed fields
    messages = db.list_messages(sid)
    assert [m.content_full for m in messages] == ["line 1", '[Tool: ["x"]] {"a":1}', "line 4"]
    assert messages[1].uuid == "call_dup" and messages[1].timestamp == 12345000   # seconds read as such


def test_oldest_rollouts_with_bare_items_are_read(db: SessionDB, tmp_path: Path) -> None:
    """The first rollout generation: a bare {id, timestamp, instructions} header, then bare
    response items (no envelope), one a line."""
    day = tmp_path / "c" / "sessions" / "2024" / "11" / "05"
    day.mkdir(parents=True)
    (day / "rollout-2024-11-05T10-00-00-0a0b0c0d-1111-4222-8333-444455556666.jsonl").write_text(
        '{"id":"0a0b0c0d-1111-4222-8333-444455556666","timestamp":"2024-11-05T10:00:00Z","instructions":null}\n'
        '{"type":"message","role":"user","content":[{"type":"input_text","text":"bare item from the first '
        'generation"}]}\n'
        '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"answered \\u00e9\\u00e8"}]}\n'
        '{"record_type":"state"}\n')
    result = db.collect_all(["codex"], roots=only("codex", tmp_path / "c", tmp_path))
    assert result.bad_lines == 0
    texts = [m.content_text for m in db.list_messages("0a0b0c0d-1111-4222-8333-444455556666")]
    assert texts == ["bare item from the first generation", "answered éè"]
