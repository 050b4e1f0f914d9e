"""Running `sessiondb mcp` as a real subprocess and talking to it with the MCP SDK's own client.

`McpSession` keeps one connected `mcp.Client` on an event loop in a background thread
(an anyio blocking portal), so plain synchronous tests can call tools.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio.from_thread
from mcp import Client, StdioServerParameters

from sessiondb import DbConfig, MessageType, SessionDB
from sessiondb.cli.demo import build_demo_db

from helpers import msg

SESSIONDB = str(Path(sys.executable).with_name("sessiondb"))
LONG_SESSION = "long-session-0001"
LONG_MESSAGES = 140
TINY_SESSION = "tiny-session-0001"   # many short messages: the structured half of an answer is the larger
NESTED_OUTER, NESTED_INNER = "/work/outer", "/work/outer/inner"


def build_archive(path: Path) -> None:
    """The bundled demo sessions plus a long session (many long messages, for budgets
    and cursors) and two nested projects (for the cwd rule)."""
    db, _ = build_demo_db(path)
    with db:
        outer = db.get_or_create_project("outer", NESTED_OUTER, "codex")
        inner = db.get_or_create_project("inner", NESTED_INNER, "claude")
        db.upsert_session(LONG_SESSION, outer)
        db.insert_messages(LONG_SESSION, [
            msg(f"long-{i}", f"step {i} of the migration plan: " + ("rebalance the shard map " * 40) + f"tail{i}",
                seq=i, role=MessageType.ASSISTANT if i % 2 else MessageType.USER)
            for i in range(LONG_MESSAGES)])
        db.upsert_session(LONG_SESSION[:-1] + "2", outer)
        db.insert_messages(LONG_SESSION[:-1] + "2", [msg("long2-0", "a second session in the outer project")])
        db.upsert_session(TINY_SESSION, outer)
        db.insert_messages(TINY_SESSION, [msg(f"tiny-{i}", f"ok {i}", seq=i) for i in range(100)])
        db.upsert_session("inner-session-0001", inner)
        db.insert_messages("inner-session-0001", [
            msg("inner-0", "the inner project talks about the shard map too", seq=0),
            msg("inner-1", "and about 分片映射 in Chinese", seq=1, role=MessageType.ASSISTANT)])


def open_reader(path: Path) -> SessionDB:
    return SessionDB.connect(DbConfig.local(path, read_only=True))


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_SESSION_DB")}
    env["HOME"] = str(home)
    return env


class McpSession:
    """A connected MCP client, usable from synchronous code."""

    def __init__(self, server: StdioServerParameters | str, **client_options: Any) -> None:
        self._stack = ExitStack()
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self.client: Client = self._stack.enter_context(
            self.portal.wrap_async_context_manager(Client(server, **client_options)))

    def run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.portal.call(lambda: getattr(self.client, method)(*args, **kwargs))

    def call(self, tool: str, arguments: dict[str, Any] | None = None):
        return self.run("call_tool", tool, arguments)

    def close(self) -> None:
        self._stack.close()


def stdio_session(db: Path, home: Path, *extra: str, **options: Any) -> McpSession:
    params = StdioServerParameters(command=SESSIONDB, args=["mcp", "--db", str(db), *extra], env=server_env(home))
    return McpSession(params, **options)


class HttpServer:
    """`sessiondb mcp --http --port 0` in a subprocess; `url` once it listens."""

    def __init__(self, db: Path, home: Path, log: Path) -> None:
        self.log = log
        self._err = open(log, "w")
        self.process = subprocess.Popen([SESSIONDB, "mcp", "--http", "--port", "0", "--db", str(db)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err,
                                        env=server_env(home))
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"http://127\.0\.0\.1:\d+/mcp", self.log.read_text())
            if found:
                return found.group(0)
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            time.sleep(0.05)
        raise RuntimeError("server did not start listening")

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        finally:
            self._err.close()
