"""`sessiondb mcp` as a subprocess, driven by the MCP SDK's own client over stdio and HTTP;
every answer is checked against the database it serves."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import datetime, timedelta, timezone
import sys
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from sessiondb import SearchOrder
from sessiondb.mcp import schemas
from sessiondb.mcp.tools import DEFAULT_BUDGET

from mcp_helpers import (LONG_MESSAGES, LONG_SESSION, NESTED_INNER, NESTED_OUTER, TINY_SESSION, HttpServer,
                         build_archive, open_reader, stdio_session)

WEBSHOP = "5e0c9a2e-3f41-4b7a-9d0e-2a6c1f8b7d30"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "sessions.db"
    build_archive(path)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def db(archive: Path):
    handle = open_reader(archive)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def mcp(archive: Path, home: Path):
    session = stdio_session(archive, home)
    yield session
    session.close()


def ok(result) -> dict:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def within_budget(result) -> bool:
    structured = json.dumps(result.structured_content, ensure_ascii=False)
    return len(result.content[0].text) <= DEFAULT_BUDGET and len(structured) <= DEFAULT_BUDGET


def assert_page_of(data: dict, expected: list) -> None:
    """The hits are the library's, in order; a page cut short by the size budget says how to go on."""
    ids = [r["message_id"] for r in data["results"]]
    assert ids == [h.message_id for h in expected[:len(ids)]]
    assert (len(ids) < len(expected)) == (data["next_cursor"] is not None)
    assert ids or not expected


def error_text(result) -> str:
    assert result.is_error, result.content[0].text
    return result.content[0].text


# ---------------------------------------------------------------------- listing
def test_lists_the_five_tools_with_their_schemas(mcp):
    tools = {t.name: t for t in mcp.run("list_tools").tools}
    assert set(tools) == {"search", "get_session", "list_sessions", "list_projects", "get_stats"}
    for name, tool in tools.items():
        assert tool.input_schema == schemas.BY_NAME[name]["inputSchema"]
        assert tool.output_schema == schemas.BY_NAME[name]["outputSchema"]
        assert len(tool.description) > 100
        assert tool.annotations.read_only_hint is True
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["get_session"].input_schema["required"] == ["session"]
    assert mcp.client.instructions and "search" in mcp.client.instructions


def _walk(schema: dict):
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from _walk(sub)


@pytest.mark.parametrize("tool", schemas.TOOLS, ids=lambda t: t["name"])
def test_input_schemas_use_only_plain_keywords(tool):
    # Clients translate input schemas into narrower dialects: one type per property, no combinators.
    allowed = {"type", "properties", "required", "additionalProperties", "description", "enum", "minimum",
               "minLength", "maxLength"}
    for node in _walk(tool["inputSchema"]):
        assert set(node) <= allowed, set(node) - allowed
        assert isinstance(node["type"], str)
        assert node.get("description") or node is tool["inputSchema"]


# ---------------------------------------------------------------------- search
@pytest.mark.parametrize("query", ["database locked", '"token bucket"', "parse_order_total", "结账测试",
                                   "reconnect* -test", "shard OR 分片映射"])
def test_search_returns_what_the_library_finds(mcp, db, query):
    data = ok(mcp.call("search", {"query": query, "limit": 50}))
    expected = db.search(query, limit=50)
    assert expected, "the archive should have hits for this query"
    assert_page_of(data, expected)
    first, hit = data["results"][0], expected[0]
    assert (first["session_id"], first["project"], first["role"], first["timestamp_ms"]) == \
        (hit.session_id, hit.project_name, hit.type, hit.timestamp)
    assert "«" in first["snippet"]


def test_search_text_names_sessions_and_messages(mcp, db):
    result = mcp.call("search", {"query": "database locked", "limit": 2})
    text = result.content[0].text
    for hit in db.search("database locked", limit=2):
        assert hit.session_id in text and f"message {hit.message_id}" in text


def test_search_filters_match_the_library(mcp, db):
    webshop = db.get_project_by_path("/home/demo/webshop")
    cases = [
        ({"cwd": "/home/demo/webshop/src/deep"}, {"project_id": webshop.id}),
        ({"cwd": "/home/demo/webshop/"}, {"project_id": webshop.id}),
        ({"project": "webshop"}, {"project_id": webshop.id}),
        ({"project": str(webshop.id)}, {"project_id": webshop.id}),
        ({"source": "codex"}, {"source": "codex"}),
        ({"role": "assistant"}, {"role": "assistant"}),
        ({"session": WEBSHOP[:8]}, {"session_prefix": WEBSHOP[:8]}),
        ({"order": "newest"}, {"order": SearchOrder.NEWEST}),
        ({"order": "oldest"}, {"order": SearchOrder.OLDEST}),
        ({"since": "2026-01-15T00:00:00+00:00"}, {"since": datetime(2026, 1, 15, tzinfo=timezone.utc)}),
        ({"since": "2026-01-15T00:00:00Z", "until": "2026-01-19"},
         {"since": datetime(2026, 1, 15, tzinfo=timezone.utc),
          "until": datetime(2026, 1, 20).astimezone() - timedelta(milliseconds=1)}),
        ({"until": "1768435200000"}, {"until": 1768435200000}),
    ]
    for query in ("database locked", "the", "token* OR backoff OR shard*"):
        for given, library in cases:
            data = ok(mcp.call("search", {"query": query, "limit": 50, **given}))
            assert_page_of(data, db.search(query, limit=50, **library))


def test_cwd_picks_the_longest_enclosing_project(mcp, db):
    inner = db.get_project_by_path(NESTED_INNER)
    outer = db.get_project_by_path(NESTED_OUTER)
    assert ok(mcp.call("search", {"query": "shard", "cwd": NESTED_INNER + "/pkg"}))["project"]["id"] == inner.id
    assert ok(mcp.call("search", {"query": "shard", "cwd": NESTED_OUTER + "/other"}))["project"]["id"] == outer.id
    assert ok(mcp.call("search", {"query": "shard", "cwd": "/work/outer"}))["project"]["id"] == outer.id
    found = ok(mcp.call("search", {"query": "shard", "cwd": NESTED_INNER}))["results"]
    assert found and {r["session_id"] for r in found} == {"inner-session-0001"}
    # a sibling whose name merely starts the same is not inside
    assert "no stored sessions" in error_text(mcp.call("search", {"query": "shard", "cwd": "/work/outerwear"}))


def test_search_with_no_matches_is_an_empty_answer(mcp):
    result = mcp.call("search", {"query": "xylophonequartz"})
    data = ok(result)
    assert data["results"] == [] and data["next_cursor"] is None
    assert "No matches" in result.content[0].text
    # punctuation only: nothing searchable, still no error
    assert ok(mcp.call("search", {"query": '"" * -'}))["results"] == []


def test_search_cursor_walks_every_hit_once(mcp, db):
    args = {"query": "shard OR migration", "order": "oldest"}
    expected = [h.message_id for h in db.search(args["query"], limit=1000, order=SearchOrder.OLDEST)]
    assert len(expected) > 60
    seen, cursor, calls = [], None, 0
    while True:
        data = ok(mcp.call("search", {**args, "limit": 7, **({"cursor": cursor} if cursor else {})}))
        seen += [r["message_id"] for r in data["results"]]
        cursor, calls = data["next_cursor"], calls + 1
        if cursor is None:
            break
        assert calls < 100
    assert seen == expected
    # a cursor only continues the query it came from
    first = ok(mcp.call("search", {**args, "limit": 7}))["next_cursor"]
    assert "cursor belongs to other arguments" in error_text(
        mcp.call("search", {"query": "shard", "order": "oldest", "cursor": first}))


def test_huge_limits_are_capped_and_answers_stay_in_budget(mcp, db):
    data = ok(mcp.call("search", {"query": "shard OR migration", "limit": 10 ** 12, "snippet_chars": 10 ** 9}))
    assert 0 < len(data["results"]) <= 50
    assert "limit reduced to 50" in data["notes"]
    long_query = mcp.call("search", {"query": ("shard OR \x01" * 100)[:1000], "limit": 50, "snippet_chars": 1000})
    assert ok(long_query)["results"] and within_budget(long_query)
    result = mcp.call("get_session", {"session": LONG_SESSION, "limit": 10 ** 15, "max_message_chars": 10 ** 9})
    data = ok(result)
    assert within_budget(result)
    assert 0 < len(data["messages"]) < LONG_MESSAGES and data["next_cursor"]
    result = mcp.call("list_projects", {"limit": 10 ** 6})
    assert len(ok(result)["projects"]) == len(db.list_projects())


# ---------------------------------------------------------------------- get_session
@pytest.mark.parametrize("session", [LONG_SESSION, TINY_SESSION])
def test_get_session_pages_through_the_whole_transcript(mcp, db, session):
    expected = [m.id for m in db.list_messages(session)]
    seen, positions, cursor, pages = [], [], None, 0
    while True:
        result = mcp.call("get_session", {"session": session, "limit": 100,
                                          **({"cursor": cursor} if cursor else {})})
        data = ok(result)
        assert within_budget(result)
        seen += [m["message_id"] for m in data["messages"]]
        positions += [m["position"] for m in data["messages"]]
        assert data["total"] == len(expected)
        cursor, pages = data["next_cursor"], pages + 1
        if cursor is None:
            break
    assert seen == expected and positions == list(range(len(expected)))
    assert pages > 1     # neither fits one answer: the budget cut each page


def test_get_session_content_and_header(mcp, db):
    result = mcp.call("get_session", {"session": WEBSHOP[:6], "include_tools": True})
    data = ok(result)
    overview = db.get_session_overview(WEBSHOP)
    assert data["session"]["session_id"] == WEBSHOP and data["session"]["title"] == overview.title
    assert data["session"]["message_count"] == overview.message_count == data["total"]
    stored = db.list_messages(WEBSHOP)
    assert [m["text"] for m in data["messages"]] == [(m.content_full or m.content_text).strip() for m in stored]
    assert [m["role"] for m in data["messages"]] == [m.type.value for m in stored]
    assert overview.title in result.content[0].text and data["next_cursor"] is None


def test_get_session_summarises_tool_calls_unless_asked(mcp, db):
    stored = db.list_messages(WEBSHOP)
    tool_positions = [i for i, m in enumerate(stored) if m.type.value == "tool" or m.tool_name]
    assert tool_positions
    short = ok(mcp.call("get_session", {"session": WEBSHOP}))["messages"]
    full = ok(mcp.call("get_session", {"session": WEBSHOP, "include_tools": True}))["messages"]
    for i in tool_positions:
        assert len(short[i]["text"]) <= 200
        assert full[i]["text"] == stored[i].content_full.strip()
    assert any(short[i]["shortened"] for i in tool_positions)


def test_get_session_around_a_search_hit(mcp, db):
    hit = ok(mcp.call("search", {"query": "tail97"}))["results"][0]
    data = ok(mcp.call("get_session", {"session": hit["session_id"], "around_message_id": hit["message_id"],
                                       "limit": 9}))
    ids = [m["message_id"] for m in data["messages"]]
    assert hit["message_id"] in ids
    stored = [m.id for m in db.list_messages(hit["session_id"])]
    position = stored.index(hit["message_id"])
    assert data["start"] == position - 3 and ids == stored[position - 3:position - 3 + len(ids)]


def test_get_session_offsets(mcp, db):
    stored = [m.id for m in db.list_messages(LONG_SESSION)]
    tail = ok(mcp.call("get_session", {"session": LONG_SESSION, "offset": -2}))
    assert [m["message_id"] for m in tail["messages"]] == stored[-2:] and tail["next_cursor"] is None
    middle = ok(mcp.call("get_session", {"session": LONG_SESSION, "offset": 50, "limit": 2}))
    assert [m["message_id"] for m in middle["messages"]] == stored[50:52]
    past = mcp.call("get_session", {"session": LONG_SESSION, "offset": 10 ** 6})
    assert ok(past)["messages"] == [] and "No messages at position" in past.content[0].text


def test_get_session_cuts_long_messages(mcp):
    data = ok(mcp.call("get_session", {"session": LONG_SESSION, "limit": 1, "max_message_chars": 100}))
    message = data["messages"][0]
    assert message["shortened"] and message["text"].startswith("step 0") and "chars]" in message["text"]
    assert len(message["text"]) < 140


def test_unknown_and_ambiguous_sessions(mcp, db):
    assert "no session 'no-such-session'" in error_text(mcp.call("get_session", {"session": "no-such-session"}))
    assert "several sessions" in error_text(mcp.call("get_session", {"session": "long-session-000"}))
    other = db.list_messages("inner-session-0001")[0].id
    assert "is not in session" in error_text(
        mcp.call("get_session", {"session": WEBSHOP, "around_message_id": other}))
    assert "is not in session" in error_text(
        mcp.call("get_session", {"session": WEBSHOP, "around_message_id": 10 ** 12}))


# ---------------------------------------------------------------------- listings and stats
def test_list_sessions_matches_the_library(mcp, db):
    data = ok(mcp.call("list_sessions", {"limit": 50}))
    expected = db.list_session_overviews(limit=50)
    assert [s["session_id"] for s in data["sessions"]] == [o.session_id for o in expected]
    assert [s["title"] for s in data["sessions"]] == [o.title for o in expected]
    codex = ok(mcp.call("list_sessions", {"source": "codex"}))["sessions"]
    assert [s["session_id"] for s in codex] == [o.session_id for o in db.list_session_overviews(source="codex")]
    here = ok(mcp.call("list_sessions", {"cwd": NESTED_INNER + "/x"}))
    assert [s["session_id"] for s in here["sessions"]] == ["inner-session-0001"]
    walked, cursor = [], None
    while True:
        page = ok(mcp.call("list_sessions", {"limit": 2, **({"cursor": cursor} if cursor else {})}))
        walked += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert walked == [o.session_id for o in db.list_session_overviews(limit=None)]


def test_list_projects_matches_the_library(mcp, db):
    data = ok(mcp.call("list_projects", {}))
    expected = db.list_projects_with_stats(limit=None)
    assert [(p["id"], p["path"], p["session_count"]) for p in data["projects"]] == \
        [(p.id, p.path, p.session_count) for p in expected]
    assert data["total"] == len(expected)
    outer = ok(mcp.call("list_projects", {"contains": "OUTER"}))["projects"]
    assert {p["path"] for p in outer} == {NESTED_OUTER, NESTED_INNER}
    assert {p["source"] for p in ok(mcp.call("list_projects", {"source": "gemini"}))["projects"]} == {"gemini"}


def test_get_stats_matches_the_library(mcp, db, archive):
    data = ok(mcp.call("get_stats", {}))
    stats = db.get_stats()
    assert (data["projects"], data["sessions"], data["messages"]) == \
        (stats.project_count, stats.session_count, stats.message_count)
    assert sum(s["sessions"] for s in data["sources"]) == stats.session_count
    assert {s["source"] for s in data["sources"]} == {p.source for p in db.list_projects()} >= {
        "claude", "codex", "opencode", "gemini"}
    assert data["database"] == str(archive) and data["size_bytes"] == archive.stat().st_size


# ---------------------------------------------------------------------- bad arguments
BAD_ARGUMENTS = [
    ("search", {}, "missing required argument 'query'"),
    ("search", {"query": ""}, "query must not be empty"),
    ("search", {"query": 42}, "query must be a string"),
    ("search", {"query": ["a"]}, "query must be a string"),
    ("search", {"query": "x" * 1001}, "query is too long"),
    ("search", {"query": "a", "limit": "10"}, "limit must be an integer"),
    ("search", {"query": "a", "limit": 2.5}, "limit must be an integer"),
    ("search", {"query": "a", "limit": True}, "limit must be an integer"),
    ("search", {"query": "a", "limit": 0}, "limit must be at least 1"),
    ("search", {"query": "a", "limit": -5}, "limit must be at least 1"),
    ("search", {"query": "a", "limit": 2 ** 70}, "limit is out of range"),
    ("search", {"query": "a", "source": "vim"}, "source must be one of"),
    ("search", {"query": "a", "role": "robot"}, "role must be one of"),
    ("search", {"query": "a", "order": "random"}, "order must be one of"),
    ("search", {"query": "a", "since": "last tuesday"}, "since: not a time"),
    ("search", {"query": "a", "until": "2026-13-45"}, "until: not a time"),
    ("search", {"query": "a", "since": "99999999w"}, "since:"),
    ("search", {"query": "a", "cwd": "relative/dir"}, "cwd must be an absolute path"),
    ("search", {"query": "a", "cwd": "/nowhere/at/all"}, "no stored sessions for /nowhere/at/all"),
    ("search", {"query": "a", "cwd": "/work", "project": "x"}, "give cwd or project, not both"),
    ("search", {"query": "a", "project": "no-such-project"}, "no project matches"),
    ("search", {"query": "a", "project": "/home/demo"}, "project '/home/demo' matches "),
    ("search", {"query": "a", "cursor": "garbage"}, "cursor is not one this server gave out"),
    ("search", {"query": "a", "colour": "red"}, "unknown argument 'colour'"),
    ("search", {"query": "a\x00b"}, "must not contain NUL"),
    ("get_session", {}, "missing required argument 'session'"),
    ("get_session", {"session": 7}, "session must be a string"),
    ("get_session", {"session": WEBSHOP, "around_message_id": "9"}, "around_message_id must be an integer"),
    ("get_session", {"session": WEBSHOP, "offset": 1, "around_message_id": 3}, "not both"),
    ("get_session", {"session": WEBSHOP, "include_tools": "yes"}, "include_tools must be a boolean"),
    ("get_session", {"session": WEBSHOP, "max_message_chars": 5}, "max_message_chars must be at least 100"),
    ("list_sessions", {"limit": {}}, "limit must be an integer"),
    ("list_sessions", {"project": 3}, "project must be a string"),
    ("list_projects", {"contains": None, "bogus": 1}, "unknown argument 'bogus'"),
    ("get_stats", {"anything": 1}, "unknown argument 'anything'"),
]


@pytest.mark.parametrize("tool,arguments,message", BAD_ARGUMENTS,
                         ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD_ARGUMENTS)])
def test_bad_arguments_are_tool_errors_naming_the_problem(mcp, tool, arguments, message):
    result = mcp.call(tool, arguments)
    assert message in error_text(result)
    assert result.structured_content == {"error": result.content[0].text.removeprefix("Error: ")}


def test_server_survives_bad_calls_and_unknown_tools(mcp):
    with pytest.raises(MCPError, match="unknown tool 'delete_everything'"):
        mcp.call("delete_everything", {})
    assert ok(mcp.call("get_stats", {}))["sessions"] > 0


# ---------------------------------------------------------------------- resources and prompts
def test_sessions_are_resources(mcp, db):
    listed = mcp.run("list_resources").resources
    assert [r.name for r in listed] == [o.session_id for o in db.list_session_overviews(limit=50)]
    read = mcp.run("read_resource", f"sessiondb://session/{WEBSHOP}").contents[0].text
    assert read == mcp.call("get_session", {"session": WEBSHOP}).content[0].text
    templates = mcp.run("list_resource_templates").resource_templates
    assert templates[0].uri_template == "sessiondb://session/{session_id}"
    with pytest.raises(MCPError, match="no session"):
        mcp.run("read_resource", "sessiondb://session/nope")
    with pytest.raises(MCPError, match="unknown resource"):
        mcp.run("read_resource", "file:///etc/passwd")


def test_recall_prompt(mcp):
    prompts = mcp.run("list_prompts").prompts
    assert [p.name for p in prompts] == ["recall"]
    got = mcp.run("get_prompt", "recall", {"topic": "the lock file format", "cwd": "/home/demo/webshop"})
    text = got.messages[0].content.text
    assert "the lock file format" in text and "/home/demo/webshop" in text and "search" in text
    with pytest.raises(MCPError, match="needs a topic"):
        mcp.run("get_prompt", "recall", {})


# ---------------------------------------------------------------------- the database, and transports
def test_the_server_never_writes_or_registers(archive, home):
    reader = open_reader(archive)
    before = (reader.get_stats(), reader.current_writer())
    session = stdio_session(archive, home)
    try:
        for tool, arguments in [("search", {"query": "lock"}), ("get_session", {"session": WEBSHOP}),
                                ("list_sessions", {}), ("list_projects", {}), ("get_stats", {})]:
            ok(session.call(tool, arguments))
        assert (reader.get_stats(), reader.current_writer()) == before
        assert before[1] is None
    finally:
        session.close()
        reader.close()


def test_missing_database_is_a_tool_error_until_it_appears(tmp_path, home):
    path = tmp_path / "later" / "sessions.db"
    session = stdio_session(path, home)
    try:
        for tool, arguments in [("search", {"query": "lock"}), ("get_stats", {}), ("list_projects", {})]:
            assert f"no session database at {path}" in error_text(session.call(tool, arguments))
        assert session.run("list_resources").resources == []
        path.parent.mkdir()
        build_archive(path)
        assert ok(session.call("get_stats", {}))["sessions"] == open_reader(path).get_stats().session_count
    finally:
        session.close()


def test_a_file_that_is_not_a_database_is_a_tool_error(tmp_path, home):
    path = tmp_path / "notes.txt"
    path.write_text("not a database, only some text that is long enough to have a header\n" * 20)
    session = stdio_session(path, home)
    try:
        assert "not a database" in error_text(session.call("search", {"query": "x"}))
        assert "not a database" in error_text(session.call("get_stats", {}))
    finally:
        session.close()
    assert path.read_text().startswith("not a database")


def test_legacy_handshake_clients(archive, home, db):
    session = stdio_session(archive, home, mode="legacy")
    try:
        assert session.client.protocol_version < "2026"
        data = ok(session.call("search", {"query": "database locked"}))
        assert [r["message_id"] for r in data["results"]] == [h.message_id for h in db.search("database locked",
                                                                                              limit=10)]
    finally:
        session.close()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_streamable_http(archive, home, tmp_path, db, mode):
    from mcp_helpers import McpSession

    server = HttpServer(archive, home, tmp_path / "server.log")
    try:
        session = McpSession(server.url, mode=mode)
        try:
            assert len(session.run("list_tools").tools) == 5
            data = ok(session.call("search", {"query": "token bucket", "limit": 5}))
            assert [r["message_id"] for r in data["results"]] == [h.message_id for h in
                                                                  db.search("token bucket", limit=5)]
            assert "limit must be an integer" in error_text(session.call("list_sessions", {"limit": "many"}))
            assert "no session" in error_text(session.call("get_session", {"session": "zzz"}))
            assert ok(session.call("get_stats", {}))["messages"] == db.get_stats().message_count
        finally:
            session.close()
    finally:
        # a graceful shutdown, then the process ends by the signal it got, as uvicorn does
        assert server.stop() in (0, -signal.SIGTERM)
    assert "127.0.0.1" in server.log.read_text() and "Traceback" not in server.log.read_text()


def test_without_the_sdk_the_command_says_so_in_one_line(archive):
    code = ("import sys; sys.modules['mcp'] = None\n"
            "from sessiondb.cli import main\n"
            f"sys.exit(main(['mcp', '--db', {str(archive)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 3
    assert "Traceback" not in done.stderr and "needs the `mcp` package" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2   # the line and its hint
    assert done.stdout == ""


@pytest.mark.parametrize("options,named", [(["--http", "--port", "70000"], "--port"),
                                           (["--max-chars", "10"], "--max-chars")])
def test_bad_options_are_usage_errors(options, named):
    done = subprocess.run([sys.executable, "-m", "sessiondb", "mcp", *options],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and named in done.stderr and "Traceback" not in done.stderr


def test_a_smaller_budget_gives_smaller_pages(archive, home):
    session = stdio_session(archive, home, "--max-chars", "3000")
    try:
        result = session.call("get_session", {"session": LONG_SESSION, "limit": 100})
        assert len(result.content[0].text) <= 3000 and len(ok(result)["messages"]) >= 1
        assert len(json.dumps(result.structured_content, ensure_ascii=False)) <= 3000
    finally:
        session.close()


# ---------------------------------------------------------------------- layering
MCP_PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sessiondb" / "mcp"


def test_the_face_stands_on_the_public_api():
    import ast

    allowed = {"sessiondb", "sessiondb.errors", "sessiondb.models"}
    for source in MCP_PACKAGE.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.startswith("sessiondb"):
                assert node.module in allowed, (source.name, node.module)
                assert not any(a.name.startswith("_") and not a.name.startswith("__") for a in node.names), \
                    (source.name, node.module)
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module in (None, "schemas", "arguments", "tools", "server"), (source.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("sessiondb") for a in node.names), source.name
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("argparse", "self"))):
                raise AssertionError(f"{source.name}:{node.lineno} uses the private name {node.attr}")


def test_the_cli_loads_the_command_without_the_sdk():
    code = ("import sys\nfrom sessiondb.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'sessiondb.mcp'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['sessiondb.mcp', 'sessiondb.mcp.command']"
