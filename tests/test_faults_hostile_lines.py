"""Hostile lines in session files: each is one bad line, and everything else is kept.

For every format (Claude Code and Codex JSONL, Gemini CLI JSON and JSONL, OpenCode's
JSON storage and its opencode.db), hostile records are put among the fixture's own:
JSON nested 1,100 and 100,000 levels deep at the top, inside a message body and inside
a tool input; numbers too large for any integer or float; a line of 20 MB. The
collection must store every message the clean fixture gives (same uuid, type and
text), count the hostile records in ``bad_lines`` with a first error, never report a
whole unit as unparseable, and a second collection must do nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import apsw
import pytest
from collect_helpers import copy_tree, only, opencode_tree

from sessiondb import DbConfig, SessionDB

DEEP = {"1100": "[" * 1100 + "]" * 1100, "100k": "[" * 100_000 + "]" * 100_000,
        "100k-objects": '{"a":' * 100_000 + "1" + "}" * 100_000}
HUGE_NUMBERS = ["1" * 5000, "1e99999", "-" + "9" * 400]


def _messages(db: SessionDB) -> set[tuple]:
    return set(db._store.connection().execute("SELECT uuid, type, content_full FROM messages"))


def _collect(db_path: Path, source: str, root: Path, tmp_path: Path):
    db = SessionDB.connect(DbConfig.local(db_path))
    return db, db.collect_all([source], roots=only(source, root, tmp_path))


def _check(tmp_path: Path, source: str, clean_root: Path, hostile_root: Path, hostile: int) -> None:
    clean_db, clean = _collect(tmp_path / "clean.db", source, clean_root, tmp_path)
    db, result = _collect(tmp_path / "hostile.db", source, hostile_root, tmp_path)
    assert clean.messages_inserted > 0
    assert _messages(clean_db) <= _messages(db), "a message of the clean file was lost"
    assert result.bad_lines - clean.bad_lines >= hostile, result.errors   # the fixtures hold bad lines too
    assert result.first_error and "bad line" in result.first_error, result.errors
    assert not any("cannot parse" in e and "bad line" not in e for e in result.errors), result.errors
    again = db.collect_all([source], roots=only(source, hostile_root, tmp_path))
    assert again.messages_inserted == 0 and again.files_read == 0
    assert db.integrity_check().ok


def _insert_lines(path: Path, after: int, lines: list[str]) -> None:
    existing = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(existing[:after] + lines + existing[after:]) + "\n", encoding="utf-8")


def _claude_hostile(session: str) -> list[str]:
    lines = list(DEEP.values())
    for name, deep in DEEP.items():
        base = f'"sessionId":"{session}","timestamp":"2025-01-01T00:00:00Z","cwd":"/home/dev/demo"'
        lines.append(f'{{"type":"user","uuid":"hostile-body-{name}",{base},"message":{{"role":"user","content":{deep}}}}}')
        lines.append(f'{{"type":"assistant","uuid":"hostile-tool-{name}",{base},"message":{{"role":"assistant",'
                     f'"content":[{{"type":"tool_use","id":"t","name":"Bash","input":{deep}}}]}}}}')
    for number in HUGE_NUMBERS:
        lines.append(f'{{"type":"user","uuid":"hostile-num-{len(lines)}","sessionId":"{session}",'
                     f'"timestamp":{number},"message":{{"role":"user","content":{number}}}}}')
    return lines


def test_claude_hostile_lines(tmp_path: Path) -> None:
    clean = copy_tree("claude", tmp_path / "clean") / "projects"
    hostile = copy_tree("claude", tmp_path / "hostile") / "projects"
    session = "11111111-1111-4111-8111-111111111111"
    lines = _claude_hostile(session)
    _insert_lines(hostile / "-home-dev-demo" / f"{session}.jsonl", 2, lines)
    _check(tmp_path, "claude", clean, hostile, hostile=9)


def test_codex_hostile_lines(tmp_path: Path) -> None:
    clean = copy_tree("codex", tmp_path / "clean")
    hostile = copy_tree("codex", tmp_path / "hostile")
    rollout = next((hostile / "sessions").rglob("rollout-*.jsonl"))
    lines = list(DEEP.values())
    for name, deep in DEEP.items():
        stamp = '"timestamp":"2025-09-01T08:00:02.000Z"'
        lines.append(f'{{{stamp},"type":"response_item","payload":{{"type":"message","role":"user",'
                     f'"content":{deep}}}}}')
        lines.append(f'{{{stamp},"type":"response_item","payload":{{"type":"function_call","name":"shell",'
                     f'"arguments":{deep},"call_id":"c-{name}"}}}}')
        lines.append(f'{{{stamp},"type":"session_meta","payload":{{"id":"x","git":{deep},"source":{deep}}}}}')
    for number in HUGE_NUMBERS:
        lines.append(f'{{"timestamp":{number},"type":"response_item","payload":{{"type":"message","role":"user",'
                     f'"content":[{{"type":"input_text","text":{number}}}]}}}}')
    _insert_lines(rollout, 4, lines)
    _check(tmp_path, "codex", clean, hostile, hostile=3)


def _gemini_root(tmp_path: Path, name: str) -> Path:
    return copy_tree("gemini", tmp_path / name) / "tmp"


def test_gemini_jsonl_hostile_lines(tmp_path: Path) -> None:
    clean = _gemini_root(tmp_path, "clean")
    hostile = _gemini_root(tmp_path, "hostile")
    chat = next(hostile.rglob("session-*.jsonl"))
    lines = list(DEEP.values())
    for name, deep in DEEP.items():
        lines.append(f'{{"id":"hostile-{name}","timestamp":"2025-10-19T09:00:02.000Z","type":"user","content":{deep}}}')
        lines.append(f'{{"$set":{{"messages":[{deep}]}}}}')
    for number in HUGE_NUMBERS:
        lines.append(f'{{"id":"hostile-n{len(lines)}","timestamp":{number},"type":"user","content":{number}}}')
    _insert_lines(chat, 2, lines)
    _check(tmp_path, "gemini", clean, hostile, hostile=6)


def test_gemini_json_hostile_messages(tmp_path: Path) -> None:
    clean = _gemini_root(tmp_path, "clean")
    hostile = _gemini_root(tmp_path, "hostile")
    for index, chat in enumerate(sorted(hostile.rglob("session-*.json"))):
        text = chat.read_text(encoding="utf-8")
        deep = list(DEEP.values())[index % len(DEEP)]
        extra = (f'{{"id":"hostile-deep","type":"user","content":{deep}}}, '
                 f'{{"id":"hostile-tool","type":"gemini","content":"x","toolCalls":[{{"id":"t","args":{deep}}}]}}, '
                 f'{{"id":"hostile-num","type":"user","timestamp":{HUGE_NUMBERS[0]},"content":"n"}}, ')
        chat.write_text(text.replace('"messages": [', '"messages": [' + extra, 1), encoding="utf-8")
    _check(tmp_path, "gemini", clean, hostile, hostile=2)


def test_opencode_hostile_files_and_rows(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "h").mkdir()
    clean = opencode_tree(tmp_path / "c")
    hostile = opencode_tree(tmp_path / "h")
    part_dir = hostile / "storage" / "part" / "msg_b0e1a2c3d001Abcdefghijklmn"
    for name, deep in DEEP.items():
        (part_dir / f"prt_zz{name}.json").write_text(deep)
        (part_dir / f"prt_zy{name}.json").write_text(
            f'{{"id":"prt_zy{name}","type":"tool","tool":"bash","state":{{"input":{deep}}}}}')
    message_dir = hostile / "storage" / "message" / "ses_4f1b2b560ffe2PCV8ov3sorUNQ"
    (message_dir / "msg_zzzdeep.json").write_text('{"id":"msg_zzzdeep","role":"user","time":' + DEEP["100k"] + "}")
    conn = apsw.Connection(str(hostile / "opencode.db"))
    message_id, session_id = conn.execute("SELECT id, session_id FROM message LIMIT 1").fetchone()
    columns = {r[1] for r in conn.execute("PRAGMA table_info(part)")}
    for index, deep in enumerate(DEEP.values()):
        values = {"id": f"prt_deep{index}", "message_id": message_id, "data": deep,
                  "session_id": session_id, "time_created": 1, "time_updated": 1}
        names = [c for c in values if c in columns]
        conn.execute(f"INSERT INTO part({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [values[c] for c in names])
    conn.close()
    _check(tmp_path, "opencode", clean, hostile, hostile=3)


_RSS_HOST = textwrap.dedent("""
    import json, resource, sys
    from sessiondb import DbConfig, SessionDB
    db_path, root, empty = sys.argv[1:4]
    db = SessionDB.connect(DbConfig.local(db_path))
    roots = {"claude": root, "codex": empty, "opencode": empty, "gemini": empty}
    result = db.collect_all(["claude"], roots=roots)
    print(json.dumps({"inserted": result.messages_inserted, "bad_lines": result.bad_lines,
                      "errors": result.errors, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


@pytest.mark.parametrize("payload", ["deep", "huge"])
def test_peak_memory_on_hostile_lines(tmp_path: Path, payload: str) -> None:
    """In a fresh process, for a figure of its own: 50 lines of 100,000 levels, or a
    20 MB message and a 70 MB line (over the 64 MB cap), among normal lines."""
    project = tmp_path / "claude" / "-work-x"
    project.mkdir(parents=True)
    good = [json.dumps({"type": "user", "uuid": f"g{i}", "sessionId": "s", "timestamp": "2025-01-01T00:00:00Z",
                        "cwd": "/work/x", "message": {"role": "user", "content": f"fine {i}"}}) for i in range(100)]
    with open(project / "s.jsonl", "w", encoding="utf-8") as out:
        for i, line in enumerate(good):
            out.write(line + "\n")
            if payload == "deep" and i % 2:
                out.write(DEEP["100k"] + "\n")
        if payload == "huge":
            out.write(json.dumps({"type": "user", "uuid": "big", "sessionId": "s", "message":
                                  {"role": "user", "content": "x" * (20 << 20)}}) + "\n")
            out.write('{"type":"user","content":"' + "y" * (70 << 20) + '"}\n')
    done = subprocess.run([sys.executable, "-c", _RSS_HOST, str(tmp_path / "rss.db"), str(tmp_path / "claude"),
                           str(tmp_path / "none")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    print(f"\n{payload}: peak RSS {out['peak_rss_mb']:.0f} MB, {out['inserted']} stored, {out['bad_lines']} bad")
    assert out["inserted"] == 100 + (payload == "huge")
    assert out["bad_lines"] == (50 if payload == "deep" else 1)
