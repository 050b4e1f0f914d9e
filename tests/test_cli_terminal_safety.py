"""Stored text never drives the terminal: control sequences written into messages, project
names, titles and the writer registry (by other programs, or by whatever an agent read)
reach a real pseudo-terminal only as visible stand-ins; --json stays exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
from helpers import BASE_TS, msg
from terminal import raw_controls, run_on_pty, sessiondb_env, visible

from sessiondb import DbConfig, MessageInput, MessageType, SessionDB, SessionInput

TITLE_SET = "\x1b]0;owned window\x07"          # OSC 0: sets the window title
CLEAR = "\x1b[2J\x1b[H"                          # clears the screen
LINK = "\x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\"   # OSC 8 hyperlink
PASTE = "\x1b[201~rm -rf ~\n\x1b[200~"           # ends bracketed paste early
C1_CSI = "\x9b31m"                               # 8-bit CSI
OTHERS = "bell\x07 back\x08space del\x7f cr\rreturn nul\x00"
HOSTILE = f"look {TITLE_SET} at {CLEAR} this {LINK} and {PASTE} then {C1_CSI} {OTHERS} 数据库 end"
SESSION = "e5c1a2b3-0000-4000-8000-000000000001"


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        pid = db.get_or_create_project(f"proj{TITLE_SET}name", f"/work/{CLEAR}proj", "claude")
        db.upsert_session_full(SessionInput(SESSION, pid, model=f"model{CLEAR}",
                                            meta=json.dumps({"title": f"title {LINK} {TITLE_SET}",
                                                             "summary": f"summary {PASTE}"})))
        db.insert_messages(SESSION, [
            msg("h0", f"user asks about searchword {HOSTILE}", seq=0, ts=BASE_TS),
            msg("h1", f"assistant answers searchword {HOSTILE}", seq=1, ts=BASE_TS + 1000,
                role=MessageType.ASSISTANT, model="m"),
            MessageInput("h2", MessageType.ASSISTANT, "", f"[Tool: Bash{CLEAR}] " + json.dumps({"command": HOSTILE}),
                         BASE_TS + 2000, 2, tool_name=f"Bash{CLEAR}", tool_call_id="t1",
                         tool_args=json.dumps({"command": HOSTILE})),
            MessageInput("h3", MessageType.TOOL, "", f"[Result] searchword {HOSTILE}", BASE_TS + 3000, 3,
                         tool_call_id="t1", raw=f"raw line {HOSTILE}"),
            MessageInput("h4", MessageType.ASSISTANT, "", f"[Thinking] thinking {HOSTILE}", BASE_TS + 4000, 4),
        ])
    # Another program (the original library, say) wrote the writer registry itself.
    other = apsw.Connection(str(path))
    other.execute("INSERT INTO writer_registry(id, writer_type, writer_id, priority, heartbeat, registered_at) "
                  "VALUES (1, ?, ?, 1, ?, ?)", (f"writer{TITLE_SET}{CLEAR}", f"id{LINK}", BASE_TS, BASE_TS))
    other.close()
    return path


COMMANDS = [
    ["search", "searchword"],
    ["search", "searchword", "--json"],   # JSON escapes control characters: also safe on a terminal
    ["show", "e5c1", "--no-pager"],
    ["show", "e5c1"],                      # through the pager (PAGER=cat here)
    ["show", "e5c1", "--subagents", "--full"],
    ["show", "e5c1", "--raw"],
    ["show", "e5c1", "--around", "2"],
    ["sessions"],
    ["projects"],
    ["status"],
    ["doctor"],
    ["show", f"zzz{CLEAR}"],               # the user's own text in an error
    ["search", "x", "--project", f"no{TITLE_SET}"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a)[:40] for a in COMMANDS])
def test_no_raw_control_byte_reaches_the_terminal(hostile_db: Path, tmp_path: Path, args: list[str]) -> None:
    code, output = run_on_pty(args, env={**sessiondb_env(hostile_db, tmp_path), "PAGER": "cat"})
    assert code in (0, 1, 2, 3), visible(output)
    assert "Traceback" not in visible(output)
    assert raw_controls(output) == [], visible(output)[-3000:]
    assert b"\x1b]" not in output and b"\x1b[2J" not in output and b"\x1b[20" not in output


def test_stand_ins_are_visible(hostile_db: Path, tmp_path: Path) -> None:
    code, output = run_on_pty(["show", SESSION, "--no-pager"], env=sessiondb_env(hostile_db, tmp_path))
    assert code == 0
    text = visible(output)
    assert "␛]0;owned window␇" in text and "␛[2J" in text and "␛]8;;https://evil.example/" in text
    assert "␛[201~rm -rf ~" in text and "\ufffd31m" in text and "del␡" in text and "nul␀" in text
    assert "数据库" in text   # ordinary text is untouched


def test_pager_receives_safe_text(hostile_db: Path, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    code, output = run_on_pty(["show", "e5c1"],
                              env={**sessiondb_env(hostile_db, tmp_path), "PAGER": f"cat > {paged}"})
    assert code == 0
    data = paged.read_bytes()
    assert b"searchword" in data and b"user asks" in data
    assert raw_controls(data) == []


def test_json_stays_exact(hostile_db: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "sessiondb", "show", SESSION, "--json", "--db", str(hostile_db)],
                         capture_output=True, text=True, timeout=60)
    data = json.loads(run.stdout)
    assert data["messages"][0]["text"] == f"user asks about searchword {HOSTILE}"
    assert data["session"]["title"].startswith("title \x1b]8;;")
    hits = json.loads(subprocess.run([sys.executable, "-m", "sessiondb", "search", "searchword", "--json",
                                      "--db", str(hostile_db)], capture_output=True, text=True, timeout=60).stdout)
    assert any("\x1b]0;owned window\x07" in h["snippet"] for h in hits)
    assert hits[0]["project_name"] == f"proj{TITLE_SET}name"


def test_raw_in_a_pipe_stays_exact(hostile_db: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "sessiondb", "show", SESSION, "--raw", "--db", str(hostile_db)],
                         capture_output=True, timeout=60)
    assert f"raw line {HOSTILE}".encode() in run.stdout


def test_plain_output_in_a_pipe_is_safe_too(hostile_db: Path) -> None:
    for args in (["show", SESSION], ["search", "searchword"], ["sessions"], ["projects"], ["status"]):
        run = subprocess.run([sys.executable, "-m", "sessiondb", *args, "--db", str(hostile_db)],
                             capture_output=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert raw_controls(run.stdout + run.stderr) == [], (args, run.stdout[-2000:])
