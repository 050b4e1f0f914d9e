"""A real-shaped Claude Code project for the transcript tests: a summary and a custom title at
the top, streamed assistant chunks (thinking, markdown text, tool calls), tool results (ok,
error, long), a Task call with its subagent transcript, CJK text and a record type from a
newer Claude Code version."""

from __future__ import annotations

import json
from pathlib import Path

SESSION = "5f1d2c3a-7b8e-4c9d-a0b1-c2d3e4f5a6b7"
AGENT = "agent-a1b2c3"
LONG_CJK = ("结账测试在 CI 上偶尔失败，请帮我看看为什么会这样，并且修复它。这是一段很长的中文文本，"
            "用来检查在窄终端上是否能够正确换行而不会把字符切成两半或者丢失任何字符。")
SUBAGENT_PROMPT = ("Search the repository for every place that opens a SQLite connection and report which ones "
                   "lack a busy timeout.")
LONG_VALUE_TAIL = "TAIL-OF-THE-LONG-VALUE"


def _assistant(uuid: str, ts: str, content: list, base: dict, model: str = "claude-opus-4-1") -> dict:
    return {**base, "type": "assistant", "uuid": uuid, "timestamp": ts,
            "message": {"id": f"msg_{uuid}", "role": "assistant", "model": model, "content": content}}


def _result(uuid: str, ts: str, tool_id: str, content, base: dict, error: bool = False) -> dict:
    return {**base, "type": "user", "uuid": uuid, "timestamp": ts,
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                                     "content": content, "is_error": error}]}}


def write_project(root: Path) -> Path:
    """Writes ``<root>/-work-shop/...`` and returns the main session file."""
    project = root / "-work-shop"
    (project / SESSION / "subagents").mkdir(parents=True)
    base = {"cwd": "/work/shop", "sessionId": SESSION, "version": "2.1.5", "gitBranch": "main",
            "isSidechain": False, "userType": "external"}
    listing = "shop/db.py:12:    conn = sqlite3.connect(path, timeout=0)\n" + "\n".join(
        f"tests/test_{i}.py:3: conn = sqlite3.connect(':memory:')" for i in range(30))
    new_code = ("conn = sqlite3.connect(path, timeout=30)\nconn.execute('PRAGMA busy_timeout = 30000')\n"
                "# one\n# two\n# three\n# four\n" + "x" * 300 + LONG_VALUE_TAIL)
    lines = [
        {"type": "summary", "summary": "Fix flaky checkout test with database lock", "leafUuid": "a6"},
        {"type": "custom-title", "customTitle": "checkout lock fix", "sessionId": SESSION},
        {**base, "type": "user", "uuid": "u1", "timestamp": "2025-09-14T10:31:05.120Z",
         "message": {"role": "user", "content": "The checkout test fails with `database is locked`. " + LONG_CJK}},
        _assistant("a1", "2025-09-14T10:31:09.400Z",
                   [{"type": "thinking", "thinking": "Two connections without busy_timeout, probably.",
                     "signature": "x"}], base),
        _assistant("a2", "2025-09-14T10:31:10.000Z",
                   [{"type": "text", "text": "Let me look at **how the test opens the database**:\n\n"
                                             "- `tests/test_checkout.py`\n- `shop/db.py`"}], base),
        _assistant("a3", "2025-09-14T10:31:11.000Z",
                   [{"type": "tool_use", "id": "toolu_01", "name": "Bash",
                     "input": {"command": "grep -rn 'sqlite3.connect' shop tests",
                               "description": "Find database connections"}}], base),
        _result("u2", "2025-09-14T10:31:12.500Z", "toolu_01", listing, base),
        _assistant("a4", "2025-09-14T10:31:15.000Z",
                   [{"type": "tool_use", "id": "toolu_02", "name": "Edit",
                     "input": {"file_path": "/work/shop/shop/db.py",
                               "old_string": "conn = sqlite3.connect(path, timeout=0)", "new_string": new_code}}],
                   base),
        _result("u3", "2025-09-14T10:31:16.000Z", "toolu_02",
                "<tool_use_error>File has not been read yet. Read it first.</tool_use_error>", base, error=True),
        _assistant("a5", "2025-09-14T10:31:20.000Z",
                   [{"type": "tool_use", "id": "toolu_03", "name": "Task",
                     "input": {"description": "Find other lock users", "prompt": SUBAGENT_PROMPT,
                               "subagent_type": "Explore"}}], base),
        _result("u4", "2025-09-14T10:32:40.000Z", "toolu_03",
                [{"type": "text", "text": "Two places lack a busy timeout: shop/db.py and scripts/migrate.py."}],
                base),
        {**base, "type": "future-record-kind", "uuid": "f1", "timestamp": "2025-09-14T10:32:41.000Z",
         "payload": {"x": 1}},
        _assistant("a6", "2025-09-14T10:33:00.000Z",
                   [{"type": "text", "text": "Fixed: both connections now wait up to 30 s."}], base),
    ]
    main = project / f"{SESSION}.jsonl"
    main.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    sub = {"cwd": "/work/shop", "sessionId": SESSION, "version": "2.1.5", "isSidechain": True, "agentId": "a1b2c3"}
    sub_lines = [
        {**sub, "type": "user", "uuid": "s1", "timestamp": "2025-09-14T10:31:21.000Z",
         "message": {"role": "user", "content": SUBAGENT_PROMPT}},
        _assistant("s2", "2025-09-14T10:31:25.000Z",
                   [{"type": "tool_use", "id": "toolu_s1", "name": "Grep",
                     "input": {"pattern": "sqlite3.connect", "path": "/work/shop"}}], sub, "claude-haiku-4"),
        _result("s3", "2025-09-14T10:31:26.000Z", "toolu_s1", "shop/db.py\nscripts/migrate.py", sub),
        _assistant("s4", "2025-09-14T10:32:30.000Z",
                   [{"type": "text", "text": "SUBAGENT-REPORT: two places lack a busy timeout."}], sub,
                   "claude-haiku-4"),
    ]
    agent = project / SESSION / "subagents" / f"{AGENT}.jsonl"
    agent.write_text("".join(json.dumps(line) + "\n" for line in sub_lines), encoding="utf-8")
    (agent.parent / f"{AGENT}.meta.json").write_text(json.dumps({"agentType": "Explore"}), encoding="utf-8")
    return main
