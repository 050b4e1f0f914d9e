"""Claude Code sessions: every record kind of the fixture, subagents, bad input, roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from collect_helpers import CLAUDE_BAD, CLAUDE_MAIN, CLAUDE_SUMMARY_ONLY, FIXTURES, claude_tree, only

from sessiondb import MessageType, SessionDB
from sessiondb.sources import claude
from sessiondb.sources.records import SourceUnit

PROJECTS = FIXTURES / "claude" / "projects"


def _collect(db: SessionDB, root: Path, tmp_path: Path):
    return db.collect_all(["claude"], roots=only("claude", root, tmp_path))


def test_main_session_messages_types_and_content(db: SessionDB, tmp_path: Path) -> None:
    result = _collect(db, PROJECTS, tmp_path)
    assert result.sessions_scanned == 5 and result.projects_scanned == 1
    messages = db.list_messages(CLAUDE_MAIN)
    by_uuid = {m.uuid: m for m in messages}
    first = by_uuid["a0000000-0000-4000-8000-000000000001"]
    assert (first.type, first.content_text, first.timestamp) == (
        MessageType.USER, "Why does the collector drop tool results? 数据库锁定了", 1756860751217)
    assert first.source == "claude" and first.channel == "code" and first.raw.startswith('{"parentUuid":null')
    # Streamed response: three lines share message.id; each is its own message, in order.
    chunks = [by_uuid[f"a0000000-0000-4000-8000-00000000000{i}"] for i in (2, 3, 4)]
    assert [c.sequence for c in chunks] == [1, 2, 3]
    assert chunks[0].content_full == "[Thinking] The user asks about parse_session_file behaviour."
    assert chunks[0].content_text == ""
    assert chunks[1].content_text == "Let me look at the collector first."
    assert chunks[2].content_full == '[Tool: Grep] {"pattern":"tool_result","path":"src/collector.rs"}'
    assert (chunks[2].tool_call_id, chunks[2].tool_name) == ("toolu_01Grep", "Grep")
    assert all(c.model == "claude-sonnet-4-5-20250929" for c in chunks)
    result_line = by_uuid["a0000000-0000-4000-8000-000000000005"]
    assert result_line.type == MessageType.TOOL and result_line.tool_call_id == "toolu_01Grep"
    assert result_line.content_full.startswith("[Result] src/collector.rs:42:")
    error = by_uuid["a0000000-0000-4000-8000-000000000007"]
    assert error.content_full == "[Result Error] error[E0425]: cannot find value `session_cache`"
    boundary = by_uuid["a0000000-0000-4000-8000-000000000009"]
    assert boundary.type == MessageType.SYSTEM
    assert boundary.content_full.startswith("[system:compact_boundary] Conversation compacted")
    assert '"preTokens":155012' in boundary.content_full
    compact = by_uuid["a0000000-0000-4000-8000-000000000010"]
    assert compact.type == MessageType.SYSTEM and compact.content_full.startswith("[Compact Summary] This session")
    assert by_uuid["a0000000-0000-4000-8000-000000000011"].type == MessageType.SYSTEM  # isMeta
    image = by_uuid["a0000000-0000-4000-8000-000000000014"]
    assert image.content_full == "Here is the screenshot of the failing panel\n[Image]"
    # No timestamp: the previous message's time, never the collection time.
    assert image.timestamp == by_uuid["a0000000-0000-4000-8000-000000000013"].timestamp == 1756861867000
    assert [m.sequence for m in messages] == list(range(len(messages)))


def test_summary_title_and_unknown_records(db: SessionDB, tmp_path: Path) -> None:
    result = _collect(db, PROJECTS, tmp_path)
    session = db.get_session(CLAUDE_MAIN)
    meta = json.loads(session.meta)
    assert meta["title"] == "Collector drops tool results"
    assert meta["summary"] == "Collector drops Claude tool results"
    assert meta["git_branch"] == "main" and meta["version"] == "2.0.14"
    assert session.model == "claude-sonnet-4-5-20250929" and session.cwd == "/home/dev/demo"
    texts = [m.content_full for m in db.list_messages(CLAUDE_MAIN)]
    assert "[Title] Collector drops tool results" in texts
    assert "[Summary] Collector drops Claude tool results" in texts
    unknown = [m for m in db.list_messages(CLAUDE_MAIN) if m.content_full.startswith("[agent-name]")]
    assert len(unknown) == 1 and '"agentName":"reviewer"' in unknown[0].raw
    assert result.unknown_records == {"agent-name": 1}
    assert result.skipped_records["file-history-snapshot"] == 1
    assert result.skipped_records["queue-operation"] == 1
    assert db.search("screenshot failing panel")[0].session_id == CLAUDE_MAIN
    assert db.search("数据库")[0].session_id == CLAUDE_MAIN


def test_subagents_are_linked_to_their_parent(db: SessionDB, tmp_path: Path) -> None:
    _collect(db, PROJECTS, tmp_path)
    legacy = json.loads(db.get_session("agent-a1b2c3d4").meta)
    assert legacy == {"agent_id": "a1b2c3d4", "parent_session_id": CLAUDE_MAIN, "session_type": "subagent",
                      "version": "1.0.98"}
    nested = json.loads(db.get_session("agent-deadbeef").meta)
    assert nested["parent_session_id"] == CLAUDE_MAIN and nested["agent_type"] == "code-reviewer"
    assert db.get_session("agent-deadbeef").model == "claude-opus-4-1"
    # Hidden from the main-session listing, as the original hid agent-* sessions.
    listed = {s.session_id for s in db.list_sessions_by_project_path("/home/dev/demo", limit=None)}
    assert listed == {CLAUDE_MAIN, CLAUDE_SUMMARY_ONLY, CLAUDE_BAD}


def test_summary_only_file_takes_its_project_from_a_sibling(db: SessionDB, tmp_path: Path) -> None:
    _collect(db, PROJECTS, tmp_path)
    session = db.get_session(CLAUDE_SUMMARY_ONLY)
    assert db.get_project(session.project_id).path == "/home/dev/demo"
    assert [m.content_full for m in db.list_messages(CLAUDE_SUMMARY_ONLY)] == [
        "[Summary] Fix heartbeat monotonic clock", "[Summary] WAL checkpoint never truncates"]
    assert json.loads(session.meta)["summary"] == "WAL checkpoint never truncates"


def test_summary_only_file_alone_uses_its_directory_name(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "projects"
    (root / "-srv-lonely").mkdir(parents=True)
    (root / "-srv-lonely" / "s1.jsonl").write_text('{"type":"summary","summary":"only this","leafUuid":"x"}\n')
    _collect(db, root, tmp_path)
    project = db.get_project(db.get_session("s1").project_id)
    assert project.path == "-srv-lonely" and project.encoded_dir_name == "-srv-lonely"


def test_bad_lines_are_counted_and_the_rest_kept(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "-home-dev-demo").mkdir(parents=True)
    bad = PROJECTS / "-home-dev-demo" / f"{CLAUDE_BAD}.jsonl"
    (root / "-home-dev-demo" / bad.name).write_bytes(bad.read_bytes())
    result = _collect(db, root, tmp_path)
    # cut line, "not json", a JSON array, wrong-typed fields (kept), invalid UTF-8 (kept),
    # lone surrogate (kept): six counted, one error text naming the first.
    assert result.bad_lines == 6 and result.error_count == 1
    assert result.first_error.endswith("line at byte 234: invalid JSON (Input data was truncated)")
    messages = db.list_messages(CLAUDE_BAD)
    texts = [m.content_full for m in messages]
    assert texts == ["first good line", '{"unexpected":"object content"}', "bad bytes \ufffd\ufffd here",
                     "duplicate uuid, first copy", "no timestamp here", "lone surrogate ? cut emoji"]
    lenient = messages[1]
    assert (lenient.uuid, lenient.timestamp, lenient.type) == ("5", 1757000000000, MessageType.ASSISTANT)
    assert messages[4].timestamp == 1756980004000   # the previous line's time
    # The unterminated last line waits for its newline; the state stops before it.
    state = db.get_file_state(str(root / "-home-dev-demo" / bad.name))
    assert state.bad_lines == 6 and state.byte_offset < state.size
    assert state.first_error.endswith("invalid JSON (Input data was truncated)")


def test_unterminated_complete_last_line_is_read(db: SessionDB, tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "-x").mkdir(parents=True)
    path = root / "-x" / "s.jsonl"
    path.write_text('{"type":"user","cwd":"/x","uuid":"u1","timestamp":"2025-01-01T00:00:00Z",'
                    '"message":{"content":"no newline at the end"}}')
    _collect(db, root, tmp_path)
    assert [m.content_full for m in db.list_messages("s")] == ["no newline at the end"]
    with path.open("a") as handle:
        handle.write('\n{"type":"user","uuid":"u2","message":{"content":"then more"}}\n')
    _collect(db, root, tmp_path)
    assert [m.content_full for m in db.list_messages("s")] == ["no newline at the end", "then more"]


def test_roots_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "cfg1", tmp_path / "cfg2"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{one},{two}")
    assert claude.SOURCE.resolve_roots() == [one / "projects", two / "projects"]
    monkeypatch.setenv("CLAUDE_PROJECTS_PATH", str(tmp_path / "direct"))
    assert claude.SOURCE.resolve_roots() == [tmp_path / "direct"]
    assert claude.SOURCE.resolve_roots(tmp_path / "arg") == [tmp_path / "arg"]
    monkeypatch.delenv("CLAUDE_PROJECTS_PATH")
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    home = Path.home()
    assert claude.SOURCE.resolve_roots() == [home / ".claude" / "projects", home / ".config" / "claude" / "projects"]


def test_collect_uses_claude_config_dir(db: SessionDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    claude_tree(tmp_path).rename(config / "projects")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path / 'missing'},{config}")
    for name in ("CODEX_HOME", "OPENCODE_PATH", "GEMINI_TMP_PATH"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    result = db.collect_all()
    assert result.sessions_scanned == 5 and db.get_session(CLAUDE_MAIN) is not None


def test_discovery_lists_sessions_and_subagents_without_reading(tmp_path: Path) -> None:
    units = list(claude.SOURCE.discover([PROJECTS]))
    names = sorted((u.context["session_id"], u.context.get("parent_session_id")) for u in units)
    assert names == [(CLAUDE_MAIN, None), (CLAUDE_SUMMARY_ONLY, None), (CLAUDE_BAD, None),
                     ("agent-a1b2c3d4", None), ("agent-deadbeef", CLAUDE_MAIN)]
    assert all(isinstance(u, SourceUnit) and u.incremental for u in units)
    unit = claude.SOURCE.unit_for_path(PROJECTS / "-home-dev-demo" / CLAUDE_MAIN / "subagents" / "agent-deadbeef.jsonl",
                                [PROJECTS])
    assert unit.context == {"session_id": "agent-deadbeef", "encoded_dir_name": "-home-dev-demo",
                            "parent_session_id": CLAUDE_MAIN}
    assert claude.SOURCE.unit_for_path(PROJECTS / "-home-dev-demo" / CLAUDE_MAIN / "tool-results" / "x.jsonl",
                                [PROJECTS]) is None
    assert claude.SOURCE.unit_for_path(tmp_path / "elsewhere.jsonl", [PROJECTS]) is None
