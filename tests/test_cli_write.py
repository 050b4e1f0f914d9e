"""collect, watch and demo, driven as a user would: real processes, real files in a home
directory laid out like a machine with Claude Code, Codex, OpenCode and Gemini CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from sessiondb import DbConfig, SessionDB
from sessiondb.cli.demo import built_sample_roots

CLAUDE_SESSION = "5e0c9a2e-3f41-4b7a-9d0e-2a6c1f8b7d30"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home directory holding the bundled sample sessions where the agents keep theirs."""
    home = tmp_path / "home"
    targets = {"claude": home / ".claude" / "projects", "codex": home / ".codex",
               "opencode": home / ".local" / "share" / "opencode", "gemini": home / ".gemini" / "tmp",
               "copilot": home / ".copilot", "qwen": home / ".qwen", "pi": home / ".pi" / "agent" / "sessions",
               "openhands": home / ".openhands", "aider": home / "code",
               "cursor": home / ".config" / "Cursor" / "User",
               "cline": home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev",
               "goose": home / ".local" / "share" / "goose" / "sessions", "crush": home / "work" / "notes-api"}
    for source, root in built_sample_roots(tmp_path / "built").items():
        shutil.copytree(root, targets[source], dirs_exist_ok=True)
    # Crush lists the projects it was used in.
    (home / ".local" / "share" / "crush").mkdir(parents=True)
    (home / ".local" / "share" / "crush" / "projects.json").write_text(json.dumps(
        {"projects": [{"path": str(targets["crush"]), "data_dir": str(targets["crush"] / ".crush")}]}))
    return home


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith((
        "CLAUDE_", "CODEX_", "OPENCODE_", "GEMINI_", "COPILOT_", "QWEN_", "PI_", "OPENHANDS_", "AIDER_", "CURSOR_",
        "CLINE_", "GOOSE_", "CRUSH_"))}
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    env["HOME"] = str(home)
    return env


def run(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sessiondb", *args], capture_output=True, text=True,
                          timeout=timeout, env=env_for(home))


def claude_file(home: Path) -> Path:
    return home / ".claude" / "projects" / "-home-demo-webshop" / f"{CLAUDE_SESSION}.jsonl"


def append_claude_line(home: Path, text: str) -> None:
    line = {"type": "user", "uuid": str(uuid.uuid4()), "sessionId": CLAUDE_SESSION, "cwd": "/home/demo/webshop",
            "timestamp": "2026-02-01T10:00:00.000Z", "message": {"role": "user", "content": text}}
    with claude_file(home).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def search_uuids(db_path: Path, query: str) -> list[str]:
    with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as db:
        return [hit.uuid for hit in db.search(query)]


def test_collect_once_then_nothing_new(home: Path) -> None:
    first = run(home, "collect")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("collected 62 new messages from ")
    db_path = home / ".vimo" / "db" / "ai-cli-session.db"
    assert db_path.is_file()
    again = run(home, "collect", "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert (data["messages_inserted"], data["files_read"]) == (0, 0)
    assert data["files_unchanged"] == data["files_seen"] > 0
    with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as db:
        assert {p.source for p in db.list_projects()} == {"claude", "codex", "opencode", "gemini", "cursor", "cline",
                                                          "goose", "crush"}
        assert db.current_writer() is None   # the collect released the writer role


def test_collect_one_source_or_one_file(home: Path) -> None:
    db = str(home / "one.db")
    result = run(home, "collect", "--source", "codex", "--db", db, "--json")
    assert json.loads(result.stdout)["messages_inserted"] == 5
    append_claude_line(home, "appended through collect --path")
    result = run(home, "collect", "--path", str(claude_file(home)), "--db", db, "--json")
    assert json.loads(result.stdout)["messages_inserted"] == 10   # the sample session and the new line
    assert search_uuids(Path(db), "appended") != []


def test_collect_refuses_while_another_writer_is_registered(home: Path) -> None:
    db_path = home / "busy.db"
    with SessionDB.connect(db_path) as daemon:
        daemon.register_writer("memex_daemon")
        result = run(home, "collect", "--db", str(db_path))
        assert result.returncode == 3
        assert "memex_daemon" in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
        assert daemon.current_writer().writer_type == "memex_daemon"


def test_demo_builds_a_database_and_shows_what_to_type_next(tmp_path: Path) -> None:
    target = tmp_path / "demo.db"
    result = subprocess.run([sys.executable, "-m", "sessiondb", "demo", "--db", str(target)], capture_output=True,
                            text=True, timeout=120, env=env_for(tmp_path / "empty-home"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ("68 messages of 14 sample sessions in 10 projects "
            "(aider, claude, cline, codex, crush, cursor, gemini, goose, opencode)") in out
    assert "结账测试" in out and "ネットワーク" in out and "parse_order_total" in out
    assert "Try next:" in out and f"--db {target}" in out
    assert target.is_file()
    again = subprocess.run([sys.executable, "-m", "sessiondb", "demo", "--db", str(target)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "already exists" in again.stderr


class WatchProcess:
    """`sessiondb watch` in the background, its output collected by a reader thread."""

    def __init__(self, home: Path, db: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "sessiondb", "watch", "--db", str(db),
                                      "--reconcile", "1", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env_for(home))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._reader.join(2)
                raise AssertionError(f"{text!r} not seen; output so far:\n{self.output}")
            time.sleep(0.05)

    def finish(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


def wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_watch_ingests_appended_lines_and_releases_on_sigterm(home: Path) -> None:
    db_path = home / "watched.db"
    watcher = WatchProcess(home, db_path)
    try:
        watcher.wait_for("now the writer (memex_daemon)")
        wait_until(lambda: db_path.is_file() and search_uuids(db_path, "busy_timeout"))
        append_claude_line(home, "a live line about flamingos")
        wait_until(lambda: search_uuids(db_path, "flamingos"))
    finally:
        code = watcher.finish(signal.SIGTERM)
    assert code == 0, watcher.output
    assert "the writer role is released" in watcher.output
    with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as db:
        assert db.current_writer() is None


def test_second_watcher_takes_over_when_the_first_is_killed(home: Path) -> None:
    db_path = home / "shared.db"
    first = WatchProcess(home, db_path)
    second = None
    try:
        first.wait_for("now the writer")
        second = WatchProcess(home, db_path, "--as", "vlaude-daemon")
        second.wait_for("reader: memex_daemon (priority 1) is the writer")
        first.proc.kill()
        first.proc.wait(30)
        second.wait_for("now the writer (vlaude_daemon)")
        append_claude_line(home, "written after the takeover about pelicans")
        wait_until(lambda: search_uuids(db_path, "pelicans"))
        with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as db:
            assert db.current_writer().writer_type == "vlaude_daemon"
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
        if second is not None:
            assert second.finish(signal.SIGINT) == 0, second.output


def test_watch_rejects_an_unknown_writer_type(home: Path) -> None:
    result = run(home, "watch", "--as", "mystery", "--db", str(home / "x.db"))
    assert result.returncode == 2
    assert "unknown writer type" in result.stderr and "--priority" in result.stderr


def test_collect_path_detects_cursor_cline_goose_and_crush_from_the_file(home: Path) -> None:
    db = str(home / "paths.db")
    elsewhere = home / "elsewhere" / "api"   # a Crush project no root or listing names
    shutil.copytree(home / "work" / "notes-api", elsewhere)
    tasks = home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev" / "tasks"
    paths = [(elsewhere / ".crush" / "crush.db", 4),
             (next(tasks.iterdir()) / "api_conversation_history.json", 4),
             (home / ".config" / "Cursor" / "User" / "globalStorage" / "state.vscdb", 3),
             (home / ".local" / "share" / "goose" / "sessions" / "sessions.db", 4)]
    for path, count in paths:
        result = run(home, "collect", "--path", str(path), "--db", db, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["messages_inserted"] == count, path
    with SessionDB.connect(DbConfig.local(Path(db), read_only=True)) as handle:
        assert {p.path for p in handle.list_projects() if p.source == "crush"} == {str(elsewhere)}
    result = run(home, "collect", "--source", "crush", "--db", str(home / "crush.db"), "--json")
    assert json.loads(result.stdout)["messages_inserted"] == 4   # the project projects.json lists
