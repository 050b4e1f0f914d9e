"""A real database for the viewer tests: Claude Code session files, collected by the collector.

Sessions: a short one with markdown, code, thinking, tool calls and a Task call that
started a subagent; a long one (``LONG_MESSAGES`` messages, a rare word deep inside);
one full of hostile text; and one the live test appends to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sessiondb import DbConfig, SessionDB

SHORT_ID = "5e0c9a2e-3f41-4b7a-9d0e-2a6c1f8b7d30"
LONG_ID = "7b1d0c3e-1111-4a2b-8c3d-000000000001"
HOSTILE_ID = "6a6a6a6a-6666-4666-8666-666666666666"
LIVE_ID = "9f9f9f9f-9999-4999-8999-999999999999"
AGENT_ID = "a5c1e2d3"
LONG_MESSAGES = 1300
RARE_WORD = "quetzalcoatl"
RARE_INDEX = 777                     # position of the message with the rare word in the long session
BASE_MS = 1_767_000_000_000          # 2025-12-29
HOSTILE_TEXTS = (
    '<script>window.__pwned = "script";</script>',
    '<img src=x onerror="window.__pwned = \'img\'">',
    "[click me](javascript:window.__pwned='mdlink')",
    '<a href="javascript:window.__pwned=\'a\'">raw link</a>',
    "<svg onload=\"window.__pwned='svg'\"></svg> <iframe src=\"javascript:window.__pwned='iframe'\"></iframe>",
    "![pic](javascript:window.__pwned='image') <javascript:window.__pwned='autolink'>",
    '"><script>window.__pwned="attr"</script><style>body{display:none}</style>',
)


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


class ClaudeFile:
    """Lines of one Claude Code session file."""

    def __init__(self, session_id: str, cwd: str, start_ms: int, *, agent_id: str | None = None) -> None:
        self.session_id, self.cwd, self.ms, self.agent_id = session_id, cwd, start_ms, agent_id
        self.lines: list[str] = []
        self.n = 0

    def _base(self, kind: str) -> dict:
        self.n += 1
        self.ms += 1500
        prefix = self.agent_id or self.session_id[:8]
        entry = {"parentUuid": None, "isSidechain": self.agent_id is not None, "userType": "external",
                 "cwd": self.cwd, "sessionId": self.session_id, "version": "2.1.3", "type": kind,
                 "uuid": f"{prefix}-{self.n:06d}-0000-4000-8000-000000000000", "timestamp": _iso(self.ms)}
        if self.agent_id:
            entry["agentId"] = self.agent_id
        return entry

    def user(self, text: str) -> "ClaudeFile":
        entry = self._base("user")
        entry["message"] = {"role": "user", "content": text}
        self.lines.append(json.dumps(entry))
        return self

    def assistant(self, *blocks: dict, model: str = "claude-sonnet-4-5") -> "ClaudeFile":
        entry = self._base("assistant")
        entry["message"] = {"model": model, "id": f"msg_{self.n}", "type": "message", "role": "assistant",
                            "content": list(blocks), "usage": {"input_tokens": 3, "output_tokens": 9}}
        self.lines.append(json.dumps(entry))
        return self

    def text(self, text: str) -> "ClaudeFile":
        return self.assistant({"type": "text", "text": text})

    def thinking(self, text: str) -> "ClaudeFile":
        return self.assistant({"type": "thinking", "thinking": text, "signature": "x"})

    def tool(self, call_id: str, name: str, args: dict, result: str, *, error: bool = False) -> "ClaudeFile":
        self.assistant({"type": "tool_use", "id": call_id, "name": name, "input": args})
        entry = self._base("user")
        entry["message"] = {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": result, "is_error": error}]}
        self.lines.append(json.dumps(entry))
        return self

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path


EXTRA_SESSIONS = (
    ("api", "The upload worker logs `database is locked` under load; why?",
     "Two connections write at once and neither sets `busy_timeout`, so the second fails at once "
     "instead of waiting. Set `PRAGMA busy_timeout = 5000` on every connection."),
    ("infra", "Backups fail at night: sqlite says the database is locked.",
     "The backup runs while the WAL checkpoint holds the lock. Use the online backup API, which "
     "retries instead of failing when the database is locked."),
    ("notes-cli", "Why is the notes index locked after a crash?",
     "A stale `-wal` file is fine; the lock itself is released when the process dies. The notes index "
     "was locked because a second `notes serve` was still running."),
)
TASK_PROMPT = "Find every caller of parse_order_total and report the files."


def write_corpus(root: Path) -> dict[str, Path]:
    """Claude Code files under ``root`` (a projects folder); returns their paths by session id."""
    files = {}
    shop = root / "-home-dev-webshop"
    short = ClaudeFile(SHORT_ID, "/home/dev/webshop", BASE_MS + 3_600_000)
    short.user("Checkout fails with **database is locked** when two workers run. Can you look at `checkout.py`?")
    short.thinking("The lock error means two writers; check the busy_timeout and the retry loop.")
    short.text("Let me look at the checkout code first.")
    short.tool("toolu_01Read", "Read", {"file_path": "/home/dev/webshop/checkout.py"},
               "   1\timport sqlite3\n   2\tdef checkout(cart):\n   3\t    conn = sqlite3.connect('shop.db')")
    short.tool("toolu_01Bash", "Bash", {"command": "pytest -q tests/test_checkout.py", "description": "Run the checkout tests"},
               "F.\nFAILED tests/test_checkout.py::test_parallel - sqlite3.OperationalError: database is locked",
               error=True)
    short.tool("toolu_01Task", "Task", {"description": "Find callers", "prompt": TASK_PROMPT,
                                         "subagent_type": "general-purpose"},
               "checkout.py and api/orders.py call parse_order_total.")
    short.text("The connection has no busy timeout. Here is the fix:\n\n```python\nconn = sqlite3.connect('shop.db', timeout=5.0)\n"
               "conn.execute('PRAGMA journal_mode=WAL')\n```\n\n| setting | before | after |\n|---|---|---|\n"
               "| timeout | 0 s | 5 s |\n| journal | delete | WAL |\n\nSee [the SQLite docs](https://sqlite.org/wal.html). 结账测试现在通过了。")
    short.user("Thanks, that works.")
    files[SHORT_ID] = short.write(shop / f"{SHORT_ID}.jsonl")
    agent = ClaudeFile(SHORT_ID, "/home/dev/webshop", BASE_MS + 3_610_000, agent_id=AGENT_ID)
    agent.user(TASK_PROMPT)
    agent.tool("toolu_02Grep", "Grep", {"pattern": "parse_order_total"}, "checkout.py:12\napi/orders.py:40")
    agent.text("checkout.py and api/orders.py call parse_order_total.")
    files["agent-" + AGENT_ID] = agent.write(shop / SHORT_ID / "subagents" / f"agent-{AGENT_ID}.jsonl")

    long = ClaudeFile(LONG_ID, "/home/dev/notes-cli", BASE_MS)
    i = 0
    while len(long.lines) < LONG_MESSAGES:
        index = len(long.lines)
        if index == RARE_INDEX:
            long.text(f"The {RARE_WORD} parser handles nested lists now (message {index}).")
        elif index % 10 == 3:
            long.tool(f"toolu_L{index}", "Bash", {"command": f"make test-{index}"}, f"ok {index}")
        elif index % 2 == 0:
            long.user(f"Step {index}: tidy the notes index, part {i}.")
        else:
            long.text(f"Done with step {index - 1}; the index has {i} entries.")
        i += 1
    files[LONG_ID] = long.write(root / "-home-dev-notes-cli" / f"{LONG_ID}.jsonl")

    hostile = ClaudeFile(HOSTILE_ID, "/home/dev/evil", BASE_MS + 7_200_000)
    hostile.user(HOSTILE_TEXTS[0] + " hostile title")
    for text in HOSTILE_TEXTS[1:]:
        hostile.user(text + " hostilemarker")
        hostile.text(text + " hostilemarker")
    hostile.tool("toolu_evil", '<img src=x onerror="window.__pwned=\'toolname\'">',
                 {"command": HOSTILE_TEXTS[0], "x": HOSTILE_TEXTS[1]}, HOSTILE_TEXTS[4] + " hostilemarker")
    hostile.thinking(HOSTILE_TEXTS[2])
    files[HOSTILE_ID] = hostile.write(root / "-home-dev-evil" / f"{HOSTILE_ID}.jsonl")

    for n, (project, prompt, answer) in enumerate(EXTRA_SESSIONS):
        extra = ClaudeFile(f"{n + 1:08d}-e000-4000-8000-000000000000", f"/home/dev/{project}",
                           BASE_MS - (n + 1) * 86_400_000)
        extra.user(prompt)
        extra.text(answer)
        files[extra.session_id] = extra.write(root / f"-home-dev-{project}" / f"{extra.session_id}.jsonl")

    live = ClaudeFile(LIVE_ID, "/home/dev/live", BASE_MS + 9_000_000)
    live.user("Watch this session grow.")
    live.text("Waiting for more.")
    files[LIVE_ID] = live.write(root / "-home-dev-live" / f"{LIVE_ID}.jsonl")
    return files


def append_live_message(path: Path, text: str) -> None:
    """One more assistant line at the end of the live session's file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = ClaudeFile(LIVE_ID, "/home/dev/live", BASE_MS + 9_900_000 + len(lines) * 10_000)
    extra.n = 1000 + len(lines)
    extra.text(text)
    with path.open("a", encoding="utf-8") as f:
        f.write(extra.lines[0] + "\n")


def build_viewer_db(tmp: Path) -> tuple[Path, Path, dict[str, Path]]:
    """(database path, Claude projects root, session files): collected with the real collector."""
    root = tmp / "claude-projects"
    files = write_corpus(root)
    db_path = tmp / "viewer.db"
    with SessionDB.connect(DbConfig.local(db_path)) as db:
        db.collect_all(["claude"], roots={"claude": str(root)})
    return db_path, root, files


class ServerProcess:
    """``sessiondb serve`` in a child process on a free port."""

    def __init__(self, db_path: Path, *extra: str, env: dict | None = None) -> None:
        self.db_path = db_path
        cmd = [sys.executable, "-m", "sessiondb", "serve", "--db", str(db_path), "--port", "0", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url = line.split()[3].rstrip("/")
        self.banner = line

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise
        return self.proc.returncode, out, err
