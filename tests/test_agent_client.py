"""sessiondb.agent_client and sessiondb.handoff: the in-process agent client, and the
spool through which a Reader hands requests to the Writer without writing the database."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sessiondb import ApprovalStatus, DbConfig, Role, SessionDB, WriterType
from sessiondb.agent_client import AgentClient, database_config, writer_for
from sessiondb.errors import InvalidArgument, NotConnectedError
from sessiondb.handoff import RequestSpool
from sessiondb.session_files import list_session_metas
from sessiondb.watch import Watcher

# The documented bound for a Reader's request to be carried out by a Writer.
READER_BOUND_S = 2.0


def claude_line(uuid: str, text: str, *, tool: tuple[str, str] | None = None, role: str = "user",
                stamp: str = "2026-01-20T10:00:00.000Z") -> str:
    content: object = text
    if role == "assistant":
        content = [{"type": "text", "text": text}] if text else []
        if tool:
            content.append({"type": "tool_use", "id": tool[0], "name": tool[1], "input": {"command": "ls"}})
    return json.dumps({"uuid": uuid, "type": role, "cwd": "/work/demo", "sessionId": "s1", "timestamp": stamp,
                       "message": {"role": role, "content": content}}) + "\n"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    root = tmp_path / "projects"
    (root / "-work-demo").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_PROJECTS_PATH", str(root))
    for name in ("CODEX_HOME", "CODEX_PATH", "OPENCODE_PATH", "GEMINI_TMP_PATH", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    data = tmp_path / "data"
    return {"root": root, "session": root / "-work-demo" / "s1.jsonl", "data": data,
            "db": data / "db" / "ai-cli-session.db"}


def reader_db(path: Path) -> SessionDB:
    return SessionDB.connect(DbConfig.local(path, read_only=True))


def approval_of(db: Path, tool_call_id: str) -> tuple:
    """(approval_status, approval_resolved_at) as any other program reads the shared file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("SELECT approval_status, approval_resolved_at FROM messages WHERE tool_call_id = ?",
                            (tool_call_id,)).fetchone()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_components_map_to_writer_types_and_data_dirs_to_databases(tmp_path: Path) -> None:
    assert writer_for("memexkit") == (WriterType.MEMEX_KIT, None)
    assert writer_for("VlaudeKit") == (WriterType.VLAUDE_KIT, None)
    assert writer_for("indexer") == ("indexer", 1)
    with pytest.raises(InvalidArgument):
        writer_for(" ")
    assert Path(database_config(tmp_path).path) == tmp_path / "db" / "ai-cli-session.db"
    with pytest.raises(InvalidArgument):
        database_config("")


def test_as_writer_a_notified_append_is_stored_when_the_call_returns(env: dict[str, Path]) -> None:
    env["session"].write_text(claude_line("u1", "first lemur"), encoding="utf-8")
    with AgentClient("memexkit", env["data"]) as client:
        assert client.wait_until_ready(5) is Role.WRITER
        assert client.notify_file_change(env["session"]).messages_inserted == 1
        with env["session"].open("a", encoding="utf-8") as f:
            f.write(claude_line("u2", "second lemur"))
        assert client.notify_file_change(str(env["session"])).messages_inserted == 1
        with reader_db(env["db"]) as db:
            assert len(db.search("lemur")) == 2
    assert not client.connected
    with reader_db(env["db"]) as db:
        assert db.current_writer() is None, "disconnect released the role"


def test_calls_after_disconnect_fail_with_not_connected(env: dict[str, Path]) -> None:
    client = AgentClient("vlaudekit", env["data"])
    with pytest.raises(NotConnectedError):
        client.notify_file_change(env["session"])
    client.connect()
    client.connect()            # a no-op
    client.disconnect()
    client.disconnect()         # harmless
    with pytest.raises(NotConnectedError):
        client.write_approve_result("toolu_1", ApprovalStatus.APPROVED, 1)
    client.connect()            # and it can connect again
    assert client.connected
    client.disconnect()


def test_a_reader_hands_requests_over_without_writing_and_a_new_writer_carries_them_out(
        env: dict[str, Path]) -> None:
    env["session"].write_text(claude_line("u1", "handed over", role="assistant", tool=("toolu_9", "Bash")),
                              encoding="utf-8")
    holder = SessionDB.connect(DbConfig.local(env["db"]))
    holder.register_writer(WriterType.VLAUDE_KIT)       # a writer that never drains the spool
    try:
        with AgentClient("memexkit", env["data"]) as reader:
            # MemexKit has VlaudeKit's priority: it stays a Reader.
            assert reader.wait_until_ready(5) is Role.READER
            assert reader.notify_file_change(env["session"]) is None
            assert reader.write_approve_result("toolu_9", ApprovalStatus.REJECTED, 1234) is None
            time.sleep(0.3)
            assert holder.get_stats().message_count == 0, "the Reader wrote nothing"
            assert len(RequestSpool(env["db"]).entries()) == 2
            holder.release_writer()                      # the Reader takes over and drains
            assert wait_until(lambda: reader.role is Role.WRITER)
            assert wait_until(lambda: not RequestSpool(env["db"]).entries())
            with reader_db(env["db"]) as db:
                assert len(db.search("handed")) == 1
            assert approval_of(env["db"], "toolu_9") == ("rejected", 1234)
    finally:
        holder.close()


def test_a_writer_in_another_client_collects_a_readers_request_within_the_bound(env: dict[str, Path]) -> None:
    env["session"].write_text(claude_line("u1", "before"), encoding="utf-8")
    with AgentClient("vlaudekit", env["data"]) as writer:
        assert writer.wait_until_ready(5) is Role.WRITER
        reader = AgentClient("memexkit", env["data"])   # equal priority, later: a Reader
        reader.connect()
        assert reader.wait_until_ready(5) is Role.READER
        with env["session"].open("a", encoding="utf-8") as f:
            f.write(claude_line("u2", "narwhal"))
        started = time.monotonic()
        reader.notify_file_change(env["session"])
        with reader_db(env["db"]) as db:
            assert wait_until(lambda: len(db.search("narwhal")) == 1, READER_BOUND_S)
        assert time.monotonic() - started <= READER_BOUND_S
        reader.disconnect()


def test_an_approval_waits_for_its_tool_call_to_be_stored(env: dict[str, Path]) -> None:
    with AgentClient("memexkit", env["data"]) as client:
        assert client.wait_until_ready(5) is Role.WRITER
        assert client.write_approve_result("toolu_late", "approved", 99) is None     # kept for later
        env["session"].write_text(claude_line("a1", "", role="assistant", tool=("toolu_late", "Bash")),
                                  encoding="utf-8")
        client.notify_file_change(env["session"])
        assert wait_until(lambda: not RequestSpool(env["db"]).entries(), 5)
        assert approval_of(env["db"], "toolu_late") == ("approved", 99)


def test_calls_never_wait_on_another_process_holding_the_database(env: dict[str, Path]) -> None:
    """A writer inside a long transaction: connect returns at once and a Reader's notify only spools."""
    env["session"].write_text(claude_line("u1", "busy"), encoding="utf-8")
    holder = SessionDB.connect(DbConfig.local(env["db"]))
    holder.register_writer(WriterType.VLAUDE_KIT)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:   # another program inside a write transaction
        conn = sqlite3.connect(env["db"], timeout=5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(5)
        client = AgentClient("memexkit", env["data"])
        started = time.monotonic()
        client.connect()
        client.notify_file_change(env["session"])
        elapsed = time.monotonic() - started
        assert elapsed < 3.0, elapsed        # far below SQLite's 5 s busy timeout
    finally:
        release.set()
        thread.join()
        client.disconnect()
        holder.close()


def test_the_spool_survives_garbage_and_hostile_entries(env: dict[str, Path], tmp_path: Path) -> None:
    env["session"].write_text(claude_line("u1", "survivor"), encoding="utf-8")
    SessionDB.connect(DbConfig.local(env["db"])).close()
    spool = RequestSpool(env["db"])
    spool.submit_collect(env["session"])
    (spool.directory / "00000000000000000001-1-1.req").write_bytes(b"\xff not json")
    (spool.directory / "00000000000000000002-1-1.req").write_text(json.dumps({"kind": "format-disk"}))
    (spool.directory / "00000000000000000003-1-1.req").write_bytes(b"{" * 100_000)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"kind": "collect", "path": "/etc/passwd"}))
    os.symlink(secret, spool.directory / "00000000000000000004-1-1.req")
    os.mkfifo(spool.directory / "00000000000000000005-1-1.req")
    with SessionDB.connect(DbConfig.local(env["db"])) as db:
        db.register_writer(WriterType.MEMEX_DAEMON)
        result = spool.drain(db)
        assert result.collected == 1 and result.messages_inserted == 1
        assert len(result.errors) == 5, result.errors
        assert spool.entries() == []
        assert len(db.search("survivor")) == 1


def test_a_spool_path_that_is_not_a_directory_is_refused(env: dict[str, Path], tmp_path: Path) -> None:
    env["db"].parent.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(target, str(env["db"]) + ".requests")
    spool = RequestSpool(env["db"])
    with pytest.raises(Exception, match="not a directory"):
        spool.submit_collect(env["session"])
    assert spool.entries() == [] and list(target.iterdir()) == []


def test_a_watching_writer_drains_the_spool(env: dict[str, Path]) -> None:
    env["session"].write_text(claude_line("u1", "watched", role="assistant", tool=("toolu_w", "Bash")),
                              encoding="utf-8")
    SessionDB.connect(DbConfig.local(env["db"])).close()
    spool = RequestSpool(env["db"])
    spool.submit_approval("toolu_w", ApprovalStatus.TIMEOUT, 7)
    with SessionDB.connect(DbConfig.local(env["db"])) as db:
        watcher = Watcher(db, writer_type=WriterType.MEMEX_DAEMON).start()
        try:
            assert watcher.ready.wait(10)
            assert wait_until(lambda: not spool.entries(), 5)
            assert approval_of(env["db"], "toolu_w") == ("timeout", 7)
        finally:
            watcher.stop()


def test_session_metas_report_their_last_dialogue_message(env: dict[str, Path]) -> None:
    long_text = "word " * 40
    env["session"].write_text(claude_line("u1", "question", stamp="2026-01-20T10:00:00.000Z")
                              + claude_line("a1", long_text, role="assistant", stamp="2026-01-20T10:00:01.000Z")
                              + "not json\n", encoding="utf-8")
    other = env["root"] / "-work-demo" / "s2.jsonl"
    other.write_text(claude_line("a2", "", role="assistant", tool=("toolu_2", "Grep")), encoding="utf-8")
    empty = env["root"] / "-work-demo" / "s3.jsonl"
    empty.write_text("", encoding="utf-8")
    metas = {m.id: m for m in list_session_metas(env["root"], last_message=True)}
    first = metas["s1"]
    assert first.last_message_type == "assistant"
    assert first.last_message_preview == ("word " * 20).strip()[:100] + "..." or \
        first.last_message_preview == " ".join(long_text.split())[:100] + "..."
    assert first.last_message_at == 1768903201000
    assert metas["s2"].last_message_preview == "[Tool: Grep]"
    assert metas["s3"].last_message_type is None and metas["s3"].last_message_at is None
    plain = {m.id: m for m in list_session_metas(env["root"])}
    assert plain["s1"].last_message_type is None, "only asked for"


def test_a_readers_wake_up_starts_the_writer_at_once(env: dict[str, Path]) -> None:
    """With a drain interval of a minute, only the Reader's datagram can get the request done quickly."""
    env["session"].write_text(claude_line("u1", "woken dugong"), encoding="utf-8")
    writer = AgentClient("vlaudekit", env["data"], drain_interval_s=60.0)
    writer.connect()
    try:
        assert writer.wait_until_ready(5) is Role.WRITER
        assert wait_until(lambda: (Path(str(env["db"]) + ".requests") / "wake.sock").exists(), 5)
        with AgentClient("memexkit", env["data"]) as reader:
            assert reader.wait_until_ready(5) is Role.READER
            reader.notify_file_change(env["session"])
            with reader_db(env["db"]) as db:
                assert wait_until(lambda: len(db.search("dugong")) == 1, READER_BOUND_S)
    finally:
        writer.disconnect()
    assert not (Path(str(env["db"]) + ".requests") / "wake.sock").exists(), "the Writer removed its socket"
