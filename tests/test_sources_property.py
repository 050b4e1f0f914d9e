"""Property tests: parsers never raise on arbitrary input, and collecting a file that grew
in random chunks (partial lines included) gives exactly the rows of one collection."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from collect_helpers import rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import DbConfig, SessionDB
from sessiondb.sources import ALL_SOURCES, aider, claude, codex, copilot, gemini, opencode, openhands, pi, qwen
from sessiondb.sources.jsonl import timestamp_ms
from sessiondb.sources.records import SourceUnit
from sessiondb.timeutil import parse_timestamp_ms

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
CLAUDE_KEYS = ["type", "uuid", "timestamp", "cwd", "sessionId", "message", "isMeta", "isCompactSummary", "subtype",
               "content", "summary", "customTitle", "agentId", "compactMetadata", "toolUseResult"]
CODEX_KEYS = ["timestamp", "type", "payload", "id", "record_type"]
PAYLOAD_KEYS = ["type", "id", "role", "content", "summary", "name", "arguments", "call_id", "input", "output", "cwd",
                "model", "git", "source", "action", "message"]
TYPES = ["user", "assistant", "system", "summary", "custom-title", "message", "session_meta", "response_item",
         "turn_context", "compacted", "event_msg", "message", "reasoning", "function_call", "function_call_output",
         "custom_tool_call", "local_shell_call", "zzz"]


def _objects(keys: list[str]):
    values = st.one_of(json_values, st.sampled_from(TYPES),
                       st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "assistant"]),
                                                           "content": json_values, "model": json_values}))
    return st.dictionaries(st.sampled_from(keys), values, max_size=8)


def _unit(path: str = "/nonexistent/-p/s.jsonl", **context) -> SourceUnit:
    return SourceUnit("test", path, path, 0, 1_700_000_000_000_000_000, 1, incremental=True,
                      context={"session_id": "s", **context})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_line_parsers_never_raise_on_arbitrary_bytes(lines: list[bytes]) -> None:
    for module in (claude, codex):
        parser = module.SOURCE.line_parser(_unit())
        for offset, line in enumerate(lines):
            parser.feed(line, offset)
        parser.session()
        json.dumps(parser.carry())


@settings(max_examples=300, deadline=None)
@given(st.lists(_objects(CLAUDE_KEYS), max_size=6), st.lists(_objects(CODEX_KEYS + PAYLOAD_KEYS), max_size=6))
def test_line_parsers_never_raise_on_wrong_typed_fields(claude_lines: list[dict], codex_lines: list[dict]) -> None:
    parser = claude.SOURCE.line_parser(_unit())
    for line in claude_lines:
        parser.feed(json.dumps(line).encode(), 0)
    codex_parser = codex.SOURCE.line_parser(_unit())
    for line in codex_lines:
        if "payload" not in line and line:
            line["payload"] = dict(line)
        codex_parser.feed(json.dumps(line).encode(), 0)
    for record in parser.messages + codex_parser.messages:
        assert isinstance(record.uuid, str) and isinstance(record.content_full, str)
        assert isinstance(record.timestamp, int)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600), st.booleans())
def test_whole_file_parsers_never_raise(data: bytes, as_jsonl: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chats = Path(tmp) / "proj" / "chats"
        chats.mkdir(parents=True)
        path = chats / ("session-x.jsonl" if as_jsonl else "session-x.json")
        path.write_bytes(data)
        unit = gemini.SOURCE.unit_for_path(path, [Path(tmp)])
        gemini.SOURCE.parse(unit)
        storage = Path(tmp) / "storage"
        for sub in ("session/p", "message/ses_1", "part/msg_1"):
            (storage / sub).mkdir(parents=True)
        (storage / "session" / "p" / "ses_1.json").write_bytes(data)
        (storage / "message" / "ses_1" / "msg_1.json").write_bytes(data)
        (storage / "part" / "msg_1" / "prt_1.json").write_bytes(data)
        opencode.SOURCE.parse(opencode.SOURCE.json_unit(str(storage / "session" / "p" / "ses_1.json"), storage))


@settings(max_examples=150, deadline=None)
@given(st.lists(_objects(["id", "timestamp", "type", "content", "thoughts", "toolCalls", "model"]), max_size=5),
       st.lists(_objects(["type", "text", "tool", "state", "callID", "synthetic", "files"]), max_size=5))
def test_whole_file_parsers_never_raise_on_wrong_types(messages: list[dict], parts: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chats = Path(tmp) / "proj" / "chats"
        chats.mkdir(parents=True)
        path = chats / "session-x.json"
        path.write_text(json.dumps({"sessionId": "s", "messages": messages}))
        gemini.SOURCE.parse(gemini.SOURCE.unit_for_path(path, [Path(tmp)]))
        storage = Path(tmp) / "storage"
        for sub in ("session/p", "message/ses_1", "part/msg_1"):
            (storage / sub).mkdir(parents=True)
        (storage / "session" / "p" / "ses_1.json").write_text('{"id": "ses_1", "directory": "/x"}')
        (storage / "message" / "ses_1" / "msg_1.json").write_text('{"id": "msg_1", "role": "assistant"}')
        for i, part in enumerate(parts):
            (storage / "part" / "msg_1" / f"prt_{i}.json").write_text(json.dumps(part))
        opencode.SOURCE.parse(opencode.SOURCE.json_unit(str(storage / "session" / "p" / "ses_1.json"), storage))


def _sample_lines() -> list[bytes]:
    lines = []
    for i in range(12):
        if i == 0:
            lines.append(json.dumps({"type": "user", "uuid": "u0", "timestamp": "2025-02-01T00:00:00.000Z",
                                     "cwd": "/w", "message": {"content": "start 开始"}}).encode())
        elif i % 5 == 1:
            lines.append(b'{"type":"assistant","uuid":"cut')     # a line that is broken for good
        elif i % 5 == 2:
            lines.append(json.dumps({"type": "assistant", "uuid": f"a{i}", "message": {
                "model": "m", "content": [{"type": "thinking", "thinking": "hmm"},
                                          {"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                           "input": {"command": f"ls {i}"}}]}}).encode())
        elif i % 5 == 3:
            lines.append(json.dumps({"type": "summary", "summary": f"summary {i}", "leafUuid": "u0"}).encode())
        else:
            lines.append(json.dumps({"type": "user", "uuid": f"u{i}", "timestamp": f"2025-02-01T00:00:{i:02d}Z",
                                     "message": {"content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                              "content": "x" * i}]}}).encode())
    return lines


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12), st.booleans())
def test_growing_in_random_chunks_equals_one_collection(cuts: list[int], crlf: bool) -> None:
    data = (b"\r\n" if crlf else b"\n").join(_sample_lines()) + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        project = tmp_path / "projects" / "-w"
        project.mkdir(parents=True)
        path = project / "grow.jsonl"
        roots = {"claude": tmp_path / "projects", "codex": tmp_path / "x", "opencode": tmp_path / "x",
                 "gemini": tmp_path / "x"}
        incremental = SessionDB.connect(DbConfig.local(tmp_path / "inc.db"))
        position = 0
        with path.open("wb") as handle:
            for cut in cuts + [len(data)]:
                end = min(len(data), position + cut)
                handle.write(data[position:end])
                handle.flush()
                position = end
                incremental.collect_all(["claude"], roots=roots)
                if position >= len(data):
                    break
        whole_root = tmp_path / "whole"
        (whole_root / "-w").mkdir(parents=True)
        (whole_root / "-w" / "grow.jsonl").write_bytes(data)
        whole = SessionDB.connect(DbConfig.local(tmp_path / "whole.db"))
        whole.collect_all(["claude"], roots={**roots, "claude": whole_root})
        assert rows(incremental) == rows(whole)
        assert incremental.get_session("grow").message_count == whole.get_session("grow").message_count
        assert (incremental.get_file_state(str(path)).bad_lines
                == whole.get_file_state(str(whole_root / "-w" / "grow.jsonl")).bad_lines == 3)
        incremental.close()
        whole.close()


@given(st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)), st.integers(0, 6))
def test_fast_timestamps_match_the_general_parser(moment, digits: int) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    text += "Z"
    assert timestamp_ms(text) == parse_timestamp_ms(text)


def _untimed_first_lines() -> list[bytes]:
    """Summaries and a title before the first timed line, as at the top of a resumed session."""
    lines = [json.dumps({"type": "summary", "summary": f"earlier work {i}", "leafUuid": f"leaf{i}"}).encode()
             for i in range(4)]
    lines.append(json.dumps({"type": "custom-title", "customTitle": "growing"}).encode())
    for i in range(4):
        lines.append(json.dumps({"type": "user", "uuid": f"t{i}", "timestamp": f"2025-09-14T09:3{i}:00Z",
                                 "cwd": "/w", "message": {"content": f"timed {i}"}}).encode())
    lines.append(json.dumps({"type": "summary", "summary": "after", "leafUuid": "t0"}).encode())
    return lines


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=10))
def test_untimed_records_grown_in_random_chunks_get_the_times_of_one_collection(cuts: list[int]) -> None:
    data = b"\n".join(_untimed_first_lines()) + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        project = tmp_path / "projects" / "-w"
        project.mkdir(parents=True)
        path = project / "grow.jsonl"
        roots = {"claude": tmp_path / "projects", "codex": tmp_path / "x", "opencode": tmp_path / "x",
                 "gemini": tmp_path / "x"}
        incremental = SessionDB.connect(DbConfig.local(tmp_path / "inc.db"))
        position = 0
        with path.open("wb") as handle:
            for cut in cuts + [len(data)]:
                end = min(len(data), position + cut)
                handle.write(data[position:end])
                handle.flush()
                position = end
                incremental.collect_all(["claude"], roots=roots)
                if position >= len(data):
                    break
        whole_root = tmp_path / "whole"
        (whole_root / "-w").mkdir(parents=True)
        (whole_root / "-w" / "grow.jsonl").write_bytes(data)
        whole = SessionDB.connect(DbConfig.local(tmp_path / "whole.db"))
        whole.collect_all(["claude"], roots={**roots, "claude": whole_root})
        assert rows(incremental) == rows(whole)
        assert incremental.get_session("grow").last_message_at == whole.get_session("grow").last_message_at \
            == timestamp_ms("2025-09-14T09:33:00Z")
        incremental.close()
        whole.close()


# --------------------------------------------------------------------------- the agents of issue 18 (part A)
NEW_LINE_SOURCES = (copilot, qwen, pi, aider)
NEW_KEYS = ["type", "id", "uuid", "timestamp", "data", "agentId", "message", "parts", "subtype", "systemPayload",
            "cwd", "sessionId", "content", "role", "toolRequests", "result", "functionCall", "summary", "version"]
NEW_TYPES = ["session.start", "user.message", "assistant.message", "tool.execution_complete", "subagent.started",
             "user", "assistant", "tool_result", "system", "session", "message", "compaction", "model_change",
             "toolResult", "bashExecution", "custom_message", "zzz"]


def _new_objects():
    values = st.one_of(json_values, st.sampled_from(NEW_TYPES), st.lists(json_values, max_size=3),
                       st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "assistant", "toolResult"]),
                                                           "content": json_values, "parts": json_values,
                                                           "toolRequests": json_values, "model": json_values}))
    return st.dictionaries(st.sampled_from(NEW_KEYS), values, max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_new_line_parsers_never_raise_on_arbitrary_bytes(lines: list[bytes]) -> None:
    for module in NEW_LINE_SOURCES:
        parser = module.SOURCE.line_parser(_unit("/nonexistent/--p--/x_s.jsonl"))
        for offset, line in enumerate(lines):
            parser.feed(line, offset)
        for session, messages in parser.take_sessions():
            assert isinstance(session.session_id, str)
            assert all(isinstance(m.content_full, str) for m in messages)
        json.dumps(parser.carry())


@settings(max_examples=200, deadline=None)
@given(st.lists(_new_objects(), max_size=8))
def test_new_line_parsers_never_raise_on_wrong_typed_fields(records: list[dict]) -> None:
    for module in NEW_LINE_SOURCES:
        parser = module.SOURCE.line_parser(_unit("/nonexistent/--p--/x_s.jsonl"))
        for record in records:
            parser.feed(json.dumps(record).encode(), 0)
        for _, messages in parser.take_sessions():
            for m in messages:
                assert isinstance(m.uuid, str) and isinstance(m.content_full, str) and isinstance(m.timestamp, int)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600), st.lists(_new_objects(), max_size=4))
def test_openhands_never_raises(data: bytes, events: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sessions" / "s" / "events"
        folder.mkdir(parents=True)
        (folder / "0.json").write_bytes(data)
        for i, event in enumerate(events, start=1):
            (folder / f"{i}.json").write_text(json.dumps(event))
        (folder.parent / "metadata.json").write_bytes(data)
        openhands.SOURCE.parse(openhands.SOURCE.session_unit(str(folder.parent)))
        trajectory = Path(tmp) / "t.json"
        trajectory.write_text(json.dumps(events))
        openhands.SOURCE.parse(openhands.SOURCE.stat_unit(str(trajectory), context={"trajectory": True}))
        trajectory.write_bytes(data)
        openhands.SOURCE.parse(openhands.SOURCE.stat_unit(str(trajectory), context={"trajectory": True}))


_AIDER_HISTORY = ("\n# aider chat started at 2025-05-01 10:00:00\n\n> Aider v0.82.2  \n> Model: gpt-4o with diff "
                  "edit format  \n\n#### first question  \n#### second line  \n\nAn answer\n\nwith two paragraphs\n\n"
                  "> Tokens: 1k sent  \n> Applied edit to a.py  \n\n#### /run make  \n\n> ok  \n"
                  "\n# aider chat started at 2025-05-02 11:00:00\n\n#### 你好  \n\n回答\n").encode()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=12))
def test_aider_history_grown_in_random_chunks_equals_one_collection(cuts: list[int]) -> None:
    data = _AIDER_HISTORY
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        project = tmp_path / "grow" / "proj"
        project.mkdir(parents=True)
        path = project / aider.HISTORY
        roots = {name: tmp_path / "x" for name in ALL_SOURCES}
        roots["aider"] = tmp_path / "grow"
        incremental = SessionDB.connect(DbConfig.local(tmp_path / "inc.db"))
        position = 0
        with path.open("wb") as handle:
            for cut in cuts + [len(data)]:
                end = min(len(data), position + cut)
                handle.write(data[position:end])
                handle.flush()
                position = end
                incremental.collect_all(["aider"], roots=roots)
                if position >= len(data):
                    break
        whole = SessionDB.connect(DbConfig.local(tmp_path / "whole.db"))
        whole.collect_all(["aider"], roots=roots)
        assert rows(incremental) == rows(whole)
        assert len({r[0] for r in rows(whole)}) == 2
        incremental.close()
        whole.close()


# --------------------------------------------------------------------------- Cursor, Cline, Goose, Crush
def _parse_all(source, units) -> None:
    for unit in units:
        parsed = source.parse(unit)
        for record in parsed.messages:
            assert isinstance(record.uuid, str) and isinstance(record.content_full, str)
            assert isinstance(record.timestamp, int)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=600), st.binary(max_size=300))
def test_file_and_database_parsers_never_raise_on_arbitrary_bytes(data: bytes, other: bytes) -> None:
    from sessiondb.sources import cline, crush, cursor, goose
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        task = root / "tasks" / "1761040000000"
        task.mkdir(parents=True)
        for name, payload in (("api_conversation_history.json", data), ("ui_messages.json", other),
                              ("task_metadata.json", other), ("history_item.json", data)):
            (task / name).write_bytes(payload)
        _parse_all(cline.SOURCE, cline.SOURCE.discover([root]))
        (root / "g.jsonl").write_bytes(data)
        (root / "sessions.db").write_bytes(data)
        _parse_all(goose.SOURCE, goose.SOURCE.discover([root], {}))
        (root / ".crush").mkdir()
        (root / ".crush" / "crush.db").write_bytes(data)
        (root / "projects.json").write_bytes(other)
        _parse_all(crush.SOURCE, crush.SOURCE.discover([root], {}))
        for folder in ("globalStorage", "workspaceStorage/w"):
            (root / folder).mkdir(parents=True)
            (root / folder / "state.vscdb").write_bytes(data)
        (root / "workspaceStorage/w/workspace.json").write_bytes(other)
        _parse_all(cursor.SOURCE, cursor.SOURCE.discover([root], {}))


PART_TYPES = ["text", "thinking", "toolRequest", "toolResponse", "tool_call", "tool_result", "reasoning", "tool_use",
              "image", "binary", "finish", "redactedThinking", 1, 2, "user", "ai", "assistant"]
_parts = st.fixed_dictionaries({"type": st.sampled_from(PART_TYPES)}, optional={
    key: json_values for key in ("text", "data", "id", "toolCall", "toolResult", "thinking", "toolFormerData",
                                 "bubbleId", "role", "content", "ts", "createdAt", "input", "is_error",
                                 "conversationHistoryIndex", "timingInfo", "modelInfo")})


@settings(max_examples=40, deadline=None)
@given(st.lists(json_values, max_size=3), st.lists(_parts, max_size=5))
def test_database_parsers_never_raise_on_wrong_typed_values(values: list, objects: list[dict]) -> None:
    import apsw

    from sessiondb.sources import cline, crush, cursor, goose
    values = values + objects
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        conn = apsw.Connection(str(root / "sessions.db"))
        conn.execute("CREATE TABLE sessions (id TEXT, working_dir TEXT, model_config_json TEXT, created_at);"
                     "CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id TEXT, role TEXT, content_json TEXT,"
                     " created_timestamp)")
        conn.execute("INSERT INTO sessions VALUES ('s', ?, ?, ?)", (json.dumps(values[:1]), json.dumps(values), "x"))
        for value in values:
            conn.execute("INSERT INTO messages (session_id, role, content_json, created_timestamp) VALUES "
                         "('s', 'assistant', ?, ?)", (json.dumps([value]), json.dumps(value)))
        conn.close()
        _parse_all(goose.SOURCE, goose.SOURCE.discover([root], {}))
        conn = apsw.Connection(str(root / "crush.db"))
        conn.execute("CREATE TABLE sessions (id TEXT, title, parent_session_id, created_at, updated_at);"
                     "CREATE TABLE messages (id TEXT, session_id TEXT, role TEXT, parts TEXT, model, created_at,"
                     " updated_at)")
        conn.execute("INSERT INTO sessions VALUES ('s', ?, ?, 1, 1)", (json.dumps(values), json.dumps(values[:1])))
        for i, value in enumerate(values):
            conn.execute("INSERT INTO messages VALUES (?, 's', 'tool', ?, ?, ?, 1)",
                         (str(i), json.dumps([value, {"type": "text", "data": value}]), json.dumps(value), i))
        conn.close()
        _parse_all(crush.SOURCE, crush.SOURCE.discover([root], {}))
        (root / "globalStorage").mkdir()
        conn = apsw.Connection(str(root / "globalStorage" / "state.vscdb"))
        conn.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
        conn.execute("INSERT INTO cursorDiskKV VALUES ('composerData:c', ?)", (json.dumps(
            {"conversation": values, "fullConversationHeadersOnly": values, "name": values[:1]}),))
        for i, value in enumerate(values):
            conn.execute("INSERT INTO cursorDiskKV VALUES (?, ?)", (f"bubbleId:c:{i}", json.dumps(value)))
        conn.close()
        _parse_all(cursor.SOURCE, cursor.SOURCE.discover([root], {}))
        task = root / "tasks" / "t"
        task.mkdir(parents=True)
        (task / "api_conversation_history.json").write_text(json.dumps(values))
        (task / "ui_messages.json").write_text(json.dumps(values))
        (task / "task_metadata.json").write_text(json.dumps({"model_usage": values}))
        _parse_all(cline.SOURCE, cline.SOURCE.discover([root]))
