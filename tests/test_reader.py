"""Database-free file reads (the original's SessionReader and C file functions)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from collect_helpers import CLAUDE_BAD, CLAUDE_MAIN, CLAUDE_SUMMARY_ONLY, claude_tree

from sessiondb import InvalidArgument, MessageType, NotFoundError
from sessiondb import session_files as reader


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    root = claude_tree(tmp_path)
    other = root / "-srv-api"
    other.mkdir()
    (other / "s-api.jsonl").write_text(json.dumps({"type": "user", "cwd": "/srv/api", "uuid": "x1",
                                                   "message": {"content": "api work"}}) + "\n")
    # Times set here, not inherited from the checkout (copies keep the fixtures' mtimes).
    now = time.time()
    for path in root.rglob("*.jsonl"):
        os.utime(path, (now, now))
    old = now - 3600
    os.utime(other / "s-api.jsonl", (old, old))
    return root


def test_list_file_projects(projects: Path) -> None:
    infos = reader.list_file_projects(projects)
    assert [i.encoded_name for i in infos] == ["-home-dev-demo", "-srv-api"]   # most recent first
    demo = infos[0]
    assert (demo.path, demo.name, demo.session_count) == ("/home/dev/demo", "demo", 3)   # agent-* not counted
    assert demo.last_active > infos[1].last_active
    assert [i.encoded_name for i in reader.list_file_projects(projects, limit=1)] == ["-home-dev-demo"]
    assert reader.list_file_projects(projects / "missing") == []


def test_list_session_metas(projects: Path) -> None:
    metas = reader.list_session_metas(projects)
    assert {m.id for m in metas} == {CLAUDE_MAIN, CLAUDE_SUMMARY_ONLY, CLAUDE_BAD, "s-api"}
    main = next(m for m in metas if m.id == CLAUDE_MAIN)
    assert (main.project_path, main.project_name, main.encoded_dir_name) == ("/home/dev/demo", "demo",
                                                                            "-home-dev-demo")
    assert main.message_count == 18 and main.session_path.endswith(f"{CLAUDE_MAIN}.jsonl")
    summary_only = next(m for m in metas if m.id == CLAUDE_SUMMARY_ONLY)
    assert summary_only.project_path == "" and summary_only.project_name is None
    assert [m.id for m in reader.list_session_metas(projects, "/srv/api")] == ["s-api"]
    with_agents = {m.id for m in reader.list_session_metas(projects, include_agents=True)}
    assert {"agent-a1b2c3d4", "agent-deadbeef"} <= with_agents
    times = [m.file_mtime for m in metas]
    assert times == sorted(times, reverse=True)


def test_find_latest_session(projects: Path) -> None:
    main = projects / "-home-dev-demo" / f"{CLAUDE_MAIN}.jsonl"
    now = time.time()
    os.utime(main, (now + 5, now + 5))
    latest = reader.find_latest_session(projects, "/home/dev/demo")
    assert latest.id == CLAUDE_MAIN and latest.message_count == 18
    assert reader.find_latest_session(projects, "/home/dev/demo", within_seconds=60).id == CLAUDE_MAIN
    assert reader.find_latest_session(projects, "/srv/api", within_seconds=60) is None      # an hour old
    assert reader.find_latest_session(projects, "/srv/api").id == "s-api"
    assert reader.find_latest_session(projects, "/nowhere") is None


def test_read_session_messages_pages_both_ways(projects: Path) -> None:
    path = projects / "-home-dev-demo" / f"{CLAUDE_MAIN}.jsonl"
    everything = reader.read_session_messages(path)
    assert everything.total == 16 and not everything.has_more
    assert everything.messages[0].content == "Why does the collector drop tool results? 数据库锁定了"
    assert everything.messages[0].session_id == CLAUDE_MAIN and everything.messages[0].type == MessageType.USER
    page = reader.read_session_messages(path, limit=5, offset=2)
    assert [m.uuid for m in page.messages] == [m.uuid for m in everything.messages[2:7]]
    assert page.total == 16 and page.has_more
    newest = reader.read_session_messages(path, limit=3, offset=1, order_asc=False)
    assert [m.uuid for m in newest.messages] == [m.uuid for m in everything.messages[::-1][1:4]]
    assert newest.has_more
    tail = reader.read_session_messages(path, limit=10, offset=10)
    assert len(tail.messages) == 6 and not tail.has_more
    assert reader.read_session_messages(projects / "missing.jsonl") == reader.MessagesPage([], 0, False)


def test_read_session_messages_keeps_only_the_page(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w") as handle:
        for i in range(20_000):
            handle.write(json.dumps({"type": "user", "uuid": f"u{i}", "message": {"content": f"m{i} " * 150}}) + "\n")
    import tracemalloc
    tracemalloc.start()
    page = reader.read_session_messages(path, limit=10, offset=0, order_asc=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [m.uuid for m in page.messages][:2] == ["u19999", "u19998"] and page.total == 20_000
    assert path.stat().st_size > 20_000_000 and peak < path.stat().st_size / 4   # the block, not the file


def test_session_paths(projects: Path) -> None:
    assert reader.get_session_path(projects, CLAUDE_MAIN) == str(projects / "-home-dev-demo" / f"{CLAUDE_MAIN}.jsonl")
    assert reader.get_session_path(projects, "agent-deadbeef").endswith("subagents/agent-deadbeef.jsonl")
    assert reader.get_session_path(projects, "nope") is None
    assert reader.get_session_path(projects, "../etc/passwd") is None
    assert reader.compute_session_path(projects, "-a-b", "s1") == str(projects / "-a-b" / "s1.jsonl")
    for enc, sid in (("..", "s1"), ("/etc", "s1"), ("-a", "../../x"), ("-a", ""), ("a/b", "s")):
        with pytest.raises(InvalidArgument):
            reader.compute_session_path(projects, enc, sid)


def test_encoded_dir_names(projects: Path) -> None:
    assert reader.encode_project_path("/a/b.c") == "-a-b-c"
    assert reader.encode_project_path("/home/dev/demo.app_v2") == "-home-dev-demo-app-v2"
    assert reader.encode_project_path("/Users/x/小工具/en") == "-Users-x-----en"
    assert reader.encode_project_path("C:\\Users\\foo") == "C--Users-foo"
    assert reader.encode_project_path("/😀") == "---"       # an astral character is two UTF-16 units
    long = "/" + "a" * 250
    encoded = reader.encode_project_path(long)
    assert encoded.startswith("-" + "a" * 199 + "-") and len(encoded) > 201
    assert reader.get_encoded_dir_name(projects, "/home/dev/demo") == "-home-dev-demo"
    assert reader.get_encoded_dir_name(projects, "/srv/api") == "-srv-api"
    assert reader.get_encoded_dir_name(projects, "/home/dev/other") is None


def test_encoded_long_path_hash_matches_claude_code() -> None:
    # Java-style string hash over UTF-16 units, int32, absolute value in base 36.
    path = "/" + "x" * 230
    value = 0
    for ch in path:
        value = (value * 31 + ord(ch)) & 0xFFFFFFFF
    value = value - (1 << 32) if value >= 1 << 31 else value
    digits, n, text = "0123456789abcdefghijklmnopqrstuvwxyz", abs(value), ""
    while True:
        n, r = divmod(n, 36)
        text = digits[r] + text
        if not n:
            break
    assert reader.encode_project_path(path) == "-" + "x" * 199 + "-" + text


def test_parse_jsonl(projects: Path) -> None:
    session = reader.parse_jsonl(projects / "-home-dev-demo" / f"{CLAUDE_MAIN}.jsonl")
    assert (session.session_id, session.project_path, session.project_name) == (CLAUDE_MAIN, "/home/dev/demo", "demo")
    assert [m.sequence for m in session.messages] == list(range(16))
    assert session.messages[4].role == "tool" and session.messages[4].content.startswith("[Result]")
    assert reader.parse_jsonl(projects / "-home-dev-demo" / f"{CLAUDE_SUMMARY_ONLY}.jsonl") is None   # no cwd
    with pytest.raises(NotFoundError):
        reader.parse_jsonl(projects / "missing.jsonl")


def test_default_projects_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_PROJECTS_PATH", str(tmp_path / "p"))
    assert reader.default_projects_path() == str(tmp_path / "p")
    assert reader.list_file_projects() == []
