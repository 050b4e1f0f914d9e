"""`sessions`, search hits and `show` on a real-shaped Claude Code session, collected from
its files, read in a pipe and on a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from claude_shapes import AGENT, LONG_CJK, LONG_VALUE_TAIL, SESSION, SUBAGENT_PROMPT, write_project
from helpers import BASE_TS, msg
from terminal import run_on_pty, visible

from sessiondb import DbConfig, SessionDB
from sessiondb.collector import Collector
from sessiondb.models import MessageType

CELL_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": "UTC"}   # the times below are the records' UTC times
    return subprocess.run([sys.executable, "-m", "sessiondb", *args, "--db", str(db)], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("claude") / "projects"
    write_project(root)
    path = root.parent / "shop.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        result = Collector(db, roots={"claude": str(root)}).collect_all(["claude"])
        assert result.messages_inserted > 10 and result.unknown_records["future-record-kind"] == 1
    return path


def message_id(db_path: Path, uuid: str) -> int:
    with SessionDB.connect(DbConfig.local(db_path, read_only=True)) as db:
        return db.get_message_by_uuid(uuid).id


def test_sessions_say_what_each_session_is(shop_db: Path) -> None:
    result = run("sessions", db=shop_db)
    assert result.returncode == 0, result.stderr
    main = next(line for line in result.stdout.splitlines() if line.startswith(SESSION))
    assert "checkout lock fix" in main and "claude" in main and "shop" in main
    assert re.search(r"2025-09-14 \d\d:\d\d – ", main)
    sub = next(line for line in result.stdout.splitlines() if line.startswith(AGENT))
    assert "subagent" in sub and SUBAGENT_PROMPT[:40] in sub
    data = json.loads(run("sessions", "--json", db=shop_db).stdout)
    row = next(s for s in data if s["session_id"] == SESSION)
    assert row["title"] == "checkout lock fix" and row["summary"].startswith("Fix flaky checkout")
    assert row["source"] == "claude" and row["project_name"] == "shop" and row["message_count"] >= 12
    assert row["first_message_at"] <= row["last_message_at"]
    assert {"created_at", "updated_at"} <= set(row)


def test_sessions_most_recent_last_message_first(tmp_path: Path) -> None:
    path = tmp_path / "order.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        pid = db.get_or_create_project("p", "/p", "codex")
        for sid, ts in (("old-session", BASE_TS), ("new-session", BASE_TS + 86_400_000), ("mid-session",
                                                                                        BASE_TS + 3_600_000)):
            db.upsert_session(sid, pid)
            db.insert_messages(sid, [msg(f"{sid}-0", f"first prompt of {sid}", ts=ts)])
    lines = run("sessions", db=path).stdout.splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["new-session", "mid-session", "old-session"]
    assert "first prompt of new-session" in lines[0] and "codex" in lines[0]
    assert run("sessions", "--source", "claude", db=path).returncode == 1


def test_each_search_hit_prints_the_command_that_opens_it(shop_db: Path) -> None:
    result = run("search", "busy timeout", db=shop_db)
    assert result.returncode == 0, result.stderr
    commands = re.findall(r"sessiondb show (\S+) --around (\d+) --db (\S+)", result.stdout)
    assert commands and "checkout lock fix" in result.stdout
    prefix, around, db = commands[0]
    opened = subprocess.run([sys.executable, "-m", "sessiondb", "show", prefix, "--around", around, "--db", db],
                            capture_output=True, text=True, timeout=60)
    assert opened.returncode == 0, opened.stderr
    target = next(line for line in opened.stdout.splitlines() if line.startswith("▶"))
    assert f"#{around}" in target
    hits = json.loads(run("search", "busy timeout", "--json", db=shop_db).stdout)
    assert all(h["open"].startswith("sessiondb show ") and f"--around {h['message_id']}" in h["open"] for h in hits)


def test_show_in_a_pipe_is_a_greppable_transcript(shop_db: Path) -> None:
    result = run("show", SESSION[:8], db=shop_db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0].startswith(SESSION) and "checkout lock fix" in out.splitlines()[0]
    assert re.search(r"^2025-09-14 \d\d:\d\d:\d\d  user", out, re.M)      # times to the second
    assert "→ Bash  command: grep -rn 'sqlite3.connect' shop tests  description: Find database connections" in out
    assert re.search(r"result  Bash  ok", out) and re.search(r"result  Edit  error", out)
    assert "result  Task  ok" in out
    assert "thinking: Two connections without busy_timeout" in out
    assert "unknown record  future-record-kind" in out          # a newer version's record, marked
    assert "more lines; --full shows all" in out and LONG_VALUE_TAIL not in out
    assert "**how the test opens" in out                         # markdown stays as written in a pipe
    assert "\x1b" not in out and "  \n" not in out               # no styles, no padding
    # Subagent: one line under the Task call, with the command that opens it.
    task_at = out.index("→ Task")
    line = next(line for line in out[task_at:].splitlines() if "↳ subagent" in line)
    assert AGENT in line and f"sessiondb show {AGENT}" in line and "--subagents" in line
    assert "SUBAGENT-REPORT" not in out


def test_show_full_and_subagents(shop_db: Path) -> None:
    out = run("show", SESSION, "--full", "--subagents", db=shop_db).stdout
    assert LONG_VALUE_TAIL in out and "--full shows all" not in out
    task_at, result_at = out.index("→ Task"), out.index("result  Task  ok")
    nested = out[task_at:result_at]
    assert "┆ " in nested and "SUBAGENT-REPORT" in nested and "→ Grep" in nested


def test_show_a_subagent_names_its_parent(shop_db: Path) -> None:
    out = run("show", AGENT, db=shop_db).stdout
    assert f"subagent of {SESSION}" in out and f"sessiondb show {SESSION}" in out


def test_show_around_and_at_give_context(shop_db: Path) -> None:
    target = message_id(shop_db, "u3")
    out = run("show", SESSION, "--around", str(target), "--context", "1", db=shop_db).stdout
    heads = [line for line in out.splitlines() if re.match(r"^(▶ )?2025-", line)]
    assert len(heads) == 3 and heads[1].startswith("▶") and f"#{target}" in heads[1]
    assert "earlier messages" in out and "later messages" in out
    assert run("show", SESSION, "--around", "u3", "-C", "0", db=shop_db).stdout.count("▶") == 1
    at = run("show", SESSION, "--at", "2025-09-14T10:31:15", "-C", "0", db=shop_db)
    assert at.returncode == 0, at.stderr
    assert "→ Edit" in at.stdout and "→ Bash" not in at.stdout
    missing = run("show", SESSION, "--around", "999999", db=shop_db)
    assert missing.returncode == 1 and "hint:" in missing.stderr and "Traceback" not in missing.stderr


def test_show_json_has_what_a_script_needs(shop_db: Path) -> None:
    data = json.loads(run("show", SESSION, "--json", db=shop_db).stdout)
    session = data["session"]
    assert session["source"] == "claude" and session["title"] == "checkout lock fix"
    assert session["summary"].startswith("Fix flaky") and session["first_message_at"] <= session["last_message_at"]
    assert data["tool_names"] == ["Bash", "Edit", "Task"]
    assert data["roles"]["assistant"] >= 5 and data["roles"]["tool"] == 3
    edit_result = next(m for m in data["messages"] if m["uuid"] == "u3")
    assert edit_result["tool_name"] == "Edit" and edit_result["is_error"] is True
    bash = next(m for m in data["messages"] if m["uuid"] == "a3")
    assert bash["tool_args"]["command"].startswith("grep") and bash["role"] == "assistant"
    assert next(m for m in data["messages"] if m["uuid"] == "f1")["unknown_record"] == "future-record-kind"
    assert next(m for m in data["messages"] if m["uuid"] == "a1")["thinking"]
    assert data["subagents"][0]["session_id"] == AGENT and data["subagents"][0]["started_by"] is not None


def test_show_on_a_terminal_renders_markdown_and_wraps_cjk(shop_db: Path, tmp_path: Path) -> None:
    code, output = run_on_pty(["show", SESSION, "--no-pager", "--db", str(shop_db)], columns=40,
                              env={"HOME": str(tmp_path)})
    assert code == 0
    text = visible(output)
    assert "how the test opens" in text and "**how" not in text   # markdown rendered
    assert b"\x1b[" in output                                                   # styled
    lines = text.split("\n")
    assert all(len(line) + len(CELL_WIDE.findall(line)) <= 40 for line in lines), \
        [line for line in lines if len(line) + len(CELL_WIDE.findall(line)) > 40]
    # Every CJK character arrives once, in order, across the wrapped lines.
    joined = "".join(line.strip() for line in lines)
    assert LONG_CJK.replace(" ", "") in joined.replace(" ", "")


def test_show_pages_through_pager_on_a_terminal(shop_db: Path, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    code, output = run_on_pty(["show", SESSION, "--db", str(shop_db)],
                              env={"HOME": str(tmp_path), "PAGER": f"cat > {paged}"})
    assert code == 0 and b"checkout lock fix" not in output
    assert "checkout lock fix" in paged.read_text(encoding="utf-8")
    code, output = run_on_pty(["show", SESSION, "--no-pager", "--db", str(shop_db)],
                              env={"HOME": str(tmp_path), "PAGER": f"cat > {tmp_path / 'unused'}"})
    assert code == 0 and b"checkout lock fix" in output and not (tmp_path / "unused").exists()


def test_unknown_shapes_never_crash(tmp_path: Path) -> None:
    """Rows written by other programs: odd tool args, a result without its call, empty text."""
    path = tmp_path / "odd.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        pid = db.get_or_create_project("odd", "/odd")
        db.upsert_session("odd-session", pid)
        db.insert_messages("odd-session", [
            msg("o0", "", seq=0),
            msg("o1", "[Tool: X] not json {", seq=1, role=MessageType.ASSISTANT, tool_name="X", tool_args="{bad"),
            msg("o2", "[Result Error] boom", seq=2, role=MessageType.TOOL, tool_call_id="nobody"),
            msg("o3", "[Tool: Y] [1, 2, 3]", seq=3, role=MessageType.ASSISTANT, tool_name="Y", tool_args="[1, 2, 3]"),
            msg("o4", "[weird] record", seq=4, role=MessageType.SYSTEM),
        ])
    for args in (("show", "odd-session"), ("show", "odd-session", "--json"), ("show", "odd-session", "--full")):
        result = run(*args, db=path)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "result  tool  error" in run("show", "odd-session", db=path).stdout
