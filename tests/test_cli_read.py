"""The sessiondb command's reading subcommands, driven as a user would: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BASE_TS, msg

from sessiondb import DbConfig, MessageType, SessionDB


def run(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sessiondb.cli", *args]
    if db is not None:
        cmd += ["--db", str(db)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "sample.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        pid = db.get_or_create_project("alpha", "/work/alpha", "claude")
        db.upsert_session("aaaa1111-session", pid)
        db.insert_messages("aaaa1111-session", [
            msg("a0", "why is the database locked?", seq=0, ts=BASE_TS),
            msg("a1", "Another writer holds the lock; call parse_session_file later", seq=1, ts=BASE_TS + 60_000,
                role=MessageType.ASSISTANT, model="claude-sonnet", raw='{"type":"assistant"}'),
            msg("a2", "[Tool: Bash] {\"command\": \"ls\"}", seq=2, ts=BASE_TS + 120_000, role=MessageType.ASSISTANT,
                tool_name="Bash"),
        ])
        pid2 = db.get_or_create_project("beta", "/work/beta", "codex")
        db.upsert_session("aaaa2222-other", pid2)
        db.insert_messages("aaaa2222-other", [msg("b0", "用单文件数据库存储会话", ts=BASE_TS + 3_600_000)])
    return path


def test_search_prints_project_session_time_and_snippet(sample_db: Path) -> None:
    result = run("search", "database", "locked", db=sample_db)
    assert result.returncode == 0, result.stderr
    assert "alpha" in result.stdout and "aaaa1111" in result.stdout and "user" in result.stdout
    assert "why is the database locked?" in result.stdout


def test_search_cjk_and_code(sample_db: Path) -> None:
    assert "beta" in run("search", "单文件", db=sample_db).stdout
    assert "parse_session_file" in run("search", "session_file", db=sample_db).stdout


def test_search_filters_and_json(sample_db: Path) -> None:
    result = run("search", "lock*", "--project", "alpha", "--role", "assistant", "--order", "newest", "--json",
                 db=sample_db)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert [h["uuid"] for h in hits] == ["a1"]
    assert hits[0]["project_name"] == "alpha" and "<" not in hits[0]["snippet"]


def test_nothing_found_exits_1(sample_db: Path) -> None:
    result = run("search", "zebra", db=sample_db)
    assert result.returncode == 1
    assert "no matches" in result.stderr


@pytest.mark.parametrize("args, code, words", [
    (("search", "x", "--since", "last tuesday"), 2, "not a date"),
    (("show", "nope"), 1, "no session matches"),
    (("show", "aaaa"), 2, "several sessions"),
    (("search", "x", "--project", "gamma"), 1, "no project matches"),
])
def test_user_mistakes_get_one_line_and_a_hint(sample_db: Path, args: tuple[str, ...], code: int,
                                                words: str) -> None:
    result = run(*args, db=sample_db)
    assert result.returncode == code
    assert words in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database(tmp_path: Path) -> None:
    result = run("search", "x", db=tmp_path / "absent.db")
    assert result.returncode == 3
    assert "no database" in result.stderr and "sessiondb collect" in result.stderr
    assert not (tmp_path / "absent.db").exists()


def test_usage_error_exits_2() -> None:
    assert run("search").returncode == 2
    assert run("search", "x", "--order", "sideways").returncode == 2


def test_projects_and_sessions(sample_db: Path) -> None:
    projects = run("projects", db=sample_db)
    assert projects.returncode == 0
    assert "alpha" in projects.stdout and "/work/beta" in projects.stdout
    sessions = run("sessions", "--project", "alpha", db=sample_db)
    assert "aaaa1111-session" in sessions.stdout and "aaaa2222" not in sessions.stdout
    data = json.loads(run("sessions", "--json", db=sample_db).stdout)
    assert {s["session_id"] for s in data} == {"aaaa1111-session", "aaaa2222-other"}


def test_show_transcript_and_raw(sample_db: Path) -> None:
    result = run("show", "aaaa1111", db=sample_db)
    assert result.returncode == 0
    text = result.stdout
    assert text.index("why is the database locked?") < text.index("Another writer holds the lock")
    assert "assistant" in text and "Bash" in text and "claude-sonnet" in text
    raw = run("show", "aaaa1111-session", "--raw", db=sample_db).stdout.splitlines()
    assert raw[1] == '{"type":"assistant"}'


def test_status_and_doctor(sample_db: Path) -> None:
    status = run("status", db=sample_db)
    assert status.returncode == 0
    assert str(sample_db) in status.stdout and "2 projects, 2 sessions, 4 messages" in status.stdout
    assert "claude" in status.stdout and "codex" in status.stdout
    doctor = run("doctor", db=sample_db)
    assert doctor.returncode == 0, doctor.stderr
    assert "integrity" in doctor.stdout and "search index" in doctor.stdout
    assert json.loads(run("doctor", "--repair", "--json", db=sample_db).stdout)["healthy"] is True


def test_doctor_reports_a_broken_search_index(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    with SessionDB.connect(path) as db:
        pid = db.get_or_create_project("p", "/p")
        db.upsert_session("s", pid)
        db.insert_messages("s", [msg("u", "indexed words")])
        # Change the content behind the index's back (as a careless tool might).
        db._store.connection().execute("DROP TRIGGER messages_au")
        db._store.connection().execute("UPDATE messages SET content_full = 'different words'")
    result = run("doctor", db=path)
    assert result.returncode == 3
    assert "FAIL" in result.stdout and "--repair" in result.stderr
    assert run("doctor", "--repair", db=path).returncode == 0
