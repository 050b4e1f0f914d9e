"""Crush: per-project .crush/crush.db, found in roots, in projects.json and in projects other agents name."""

from __future__ import annotations

import json
from pathlib import Path

import apsw
from collect_helpers import only
from store_builders import CRUSH_SCHEMA, connect, insert, write_json

from sessiondb import MessageType, SessionDB
from sessiondb.sources import crush

T0 = 1_761_040_000


def crush_db(project: Path) -> Path:
    conn = connect(project / ".crush" / "crush.db", CRUSH_SCHEMA)
    insert(conn, "sessions", id="s-main", title="Add a --json flag", updated_at=T0 + 20, created_at=T0,
           prompt_tokens=1200, completion_tokens=300, cost=0.02)
    insert(conn, "sessions", id="m2$$call_agent", parent_session_id="s-main", title="Find the flag parser",
           updated_at=T0 + 12, created_at=T0 + 10)
    rows = [
        ("m1", "s-main", "user", [{"type": "text", "data": {"text": "add a --json flag to list"}}], None, T0),
        ("m2", "s-main", "assistant", [
            {"type": "reasoning", "data": {"thinking": "The flags live in cmd/list.go.", "signature": ""}},
            {"type": "tool_call", "data": {"id": "call_view", "name": "view", "input": "{\"file_path\":\"cmd/list.go\"}",
                                           "finished": True}},
            {"type": "finish", "data": {"reason": "tool_use", "time": T0 + 2}}], "gpt-5", T0 + 1),
        ("m3", "s-main", "tool", [{"type": "tool_result", "data": {
            "tool_call_id": "call_view", "name": "view", "content": "package cmd", "is_error": False}}], None, T0 + 3),
        ("m4", "s-main", "assistant", [{"type": "text", "data": {"text": "Added the flag."}},
                                       {"type": "sparkle", "data": {}},
                                       {"type": "finish", "data": {"reason": "end_turn", "time": T0 + 9}}], "gpt-5",
         T0 + 8),
        ("m5", "m2$$call_agent", "user", [{"type": "text", "data": {"text": "where is the flag parser?"}}], None, T0 + 10),
    ]
    for mid, sid, role, parts, model, at in rows:
        insert(conn, "messages", id=mid, session_id=sid, role=role, parts=parts, model=model, created_at=at,
               updated_at=at, provider="openai" if model else None)
    conn.close()
    return project / ".crush" / "crush.db"


def test_project_database_sessions_messages_and_subagents(db: SessionDB, tmp_path: Path) -> None:
    project = tmp_path / "work" / "lister"
    source_db = crush_db(project)
    before = source_db.read_bytes()
    result = db.collect_all(["crush"], roots=only("crush", project, tmp_path))
    assert source_db.read_bytes() == before
    assert (result.sessions_scanned, result.messages_inserted, result.error_count) == (2, 5, 0)
    assert result.unknown_records == {"part:sparkle": 1}
    user, call, tool, reply = db.list_messages("s-main")
    assert (user.type, user.timestamp) == (MessageType.USER, T0 * 1000)
    assert call.content_full.split("\n") == ["[Thinking] The flags live in cmd/list.go.",
                                             '[Tool: view] {"file_path":"cmd/list.go"}']
    assert (call.tool_call_id, call.tool_name, call.model) == ("call_view", "view", "gpt-5")
    assert (tool.type, tool.content_full) == (MessageType.TOOL, "[Result] package cmd")
    assert reply.content_text == "Added the flag." and "[sparkle]" in reply.content_full
    session = db.get_session("s-main")
    assert json.loads(session.meta)["title"] == "Add a --json flag"
    assert db.get_project(session.project_id).path == str(project)
    child = json.loads(db.get_session("m2$$call_agent").meta)
    assert (child["parent_session_id"], child["session_type"]) == ("s-main", "subagent")


def test_found_through_projects_json_and_through_other_agents_projects(db: SessionDB, tmp_path: Path) -> None:
    listed, named = tmp_path / "listed", tmp_path / "named"
    crush_db(listed)
    crush_db(named)
    data = tmp_path / "crush-data"
    write_json(data / "projects.json", {"projects": [
        {"path": str(listed), "data_dir": str(listed / ".crush"), "last_accessed": "2025-10-21T09:00:00Z"}]})
    db.collect_all(["crush"], roots=only("crush", data, tmp_path))
    assert {db.get_project(db.get_session(s).project_id).path for s in ("s-main",)} == {str(listed)}
    # A Goose session that worked in `named`: its .crush/crush.db is read as well.
    goose_root = tmp_path / "goose"
    goose_root.mkdir()
    (goose_root / "g1.jsonl").write_text(json.dumps({"working_dir": str(named)}) + "\n" + json.dumps(
        {"role": "user", "created": T0, "content": [{"type": "text", "text": "hello"}]}) + "\n")
    roots = {**only("crush", data, tmp_path), "goose": goose_root}
    result = db.collect_all(["goose", "crush"], roots=roots)
    assert result.error_count == 0
    projects = {p.path for p in db.list_projects() if p.source == "crush"}
    assert projects >= {str(listed)}
    paths = {row[0] for row in db._store.connection().execute(
        "SELECT path FROM file_state WHERE source = 'crush'")}
    assert str(named / ".crush" / "crush.db") in paths


def test_streaming_update_and_warm_rescan(db: SessionDB, tmp_path: Path) -> None:
    project = tmp_path / "lister"
    source_db = crush_db(project)
    roots = only("crush", project, tmp_path)
    db.collect_all(["crush"], roots=roots)
    assert db.collect_all(["crush"], roots=roots).files_read == 0
    other = apsw.Connection(str(source_db))
    other.execute("UPDATE messages SET parts = ?, updated_at = ? WHERE id = 'm4'",
                  (json.dumps([{"type": "text", "data": {"text": "Added the flag and a test."}}]), T0 + 30))
    other.close()
    result = db.collect_by_path(source_db, roots=roots)
    assert (result.messages_inserted, result.messages_updated) == (0, 1)
    assert db.list_messages("s-main")[-1].content_text == "Added the flag and a test."


def test_corrupt_database_is_reported_and_the_rest_goes_on(db: SessionDB, tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    crush_db(good)
    (bad / ".crush").mkdir(parents=True)
    (bad / ".crush" / "crush.db").write_bytes(b"\x00garbage" * 500)
    result = db.collect_all(["crush"], roots=only("crush", [bad, good], tmp_path))
    assert result.error_count == 1 and "crush.db" in result.errors[0]
    assert len(db.list_messages("s-main")) == 4


def test_roots(tmp_path: Path, monkeypatch) -> None:
    assert crush.SOURCE.resolve_roots() == [tmp_path / "home" / ".local/share/crush"]
    monkeypatch.setenv("CRUSH_GLOBAL_DATA", str(tmp_path / "g"))
    assert crush.SOURCE.resolve_roots() == [tmp_path / "g"]
    monkeypatch.setenv("CRUSH_PATH", f"{tmp_path / 'a'},{tmp_path / 'b'}")
    assert crush.SOURCE.resolve_roots() == [tmp_path / "a", tmp_path / "b"]
