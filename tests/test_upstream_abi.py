"""The upstream ABI (include/ai_cli_session_db.h) from C: tests/c/upstream_api.c compiled
against the installed header and library, natively and under valgrind, and driven as
several processes to check the agent client's hand-off between Reader and Writer."""

from __future__ import annotations

import filecmp
import json
import os
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from capi_helpers import C_DIR, claude_projects, compile_c, isolated_env, library_path, require_tool, run

ROOT = Path(__file__).resolve().parent.parent
# How long a Reader's notification may take to become searchable (README, "Agent client").
READER_BOUND_MS = 2000


def subagent_line(uuid: str, text: str) -> str:
    return json.dumps({"uuid": uuid, "type": "user", "cwd": "/work/demo", "sessionId": "abc", "agentId": "sub1",
                       "isSidechain": True, "timestamp": "2026-01-20T10:00:02.000Z",
                       "message": {"role": "user", "content": text}})


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A data dir, and a projects root with session abc of /work/demo and one subagent of it."""
    root = tmp_path / "claude-projects"
    session = claude_projects(root)
    subagent = root / "-work-demo" / "abc" / "subagents" / "agent-sub1.jsonl"
    subagent.parent.mkdir(parents=True)
    subagent.write_text(subagent_line("s-1", "review the heartbeat") + "\n", encoding="utf-8")
    data = tmp_path / "data"
    return {"root": root, "session": session, "subagent": subagent, "data": data,
            "db": data / "db" / "ai-cli-session.db"}


def env_for(tmp_path: Path, layout: dict[str, Path], **extra: str) -> dict[str, str]:
    return isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=str(layout["root"]), **extra)


@pytest.fixture
def program(tmp_path: Path) -> Path:
    return compile_c(C_DIR / "upstream_api.c", tmp_path / "upstream_api")


@pytest.fixture(params=["ai_cli_session_db.h", "sessiondb.h"])
def header_program(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """tests/c/upstream_api.c as a client of each header."""
    extra = ["-DWITH_SESSIONDB_H"] if request.param == "sessiondb.h" else []
    return compile_c(C_DIR / "upstream_api.c", tmp_path / "upstream_api", *extra)


def approval_of(db: Path, tool_call_id: str) -> tuple[str | None, int | None]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT approval_status, approval_resolved_at FROM messages WHERE tool_call_id = ?",
                           (tool_call_id,)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def writer_of(db: Path) -> str | None:
    """The registered writer's type (each process below joins with its own component)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT writer_type FROM writer_registry").fetchone()
    return row[0] if row else None


def test_every_upstream_function_with_the_agent_client_as_writer(tmp_path: Path, header_program: Path,
                                                                  layout: dict[str, Path]) -> None:
    args = [str(header_program), "all", str(layout["data"]), str(layout["root"]), str(layout["session"]),
            str(layout["subagent"])]
    done = run(args, env=env_for(tmp_path, layout), timeout=180)
    assert re.search(r"^writer_notify_ms \d", done.stdout, re.M), done.stdout
    assert approval_of(layout["db"], "toolu_e2e_1") == ("approved", 1768903210000)
    assert writer_of(layout["db"]) is None
    assert not any(layout["db"].parent.glob("*.requests/*.req")), "a Writer needs no spool"


def test_every_upstream_function_under_valgrind(tmp_path: Path, program: Path, layout: dict[str, Path]) -> None:
    valgrind = require_tool("valgrind")
    log = tmp_path / "valgrind.log"
    cmd = [valgrind, "--error-exitcode=97", "--leak-check=full", "--show-leak-kinds=definite",
           "--errors-for-leak-kinds=definite", f"--suppressions={C_DIR / 'valgrind-python.supp'}",
           f"--log-file={log}", str(program), "all", str(layout["data"]), str(layout["root"]), str(layout["session"]),
            str(layout["subagent"])]
    env = env_for(tmp_path, layout, PYTHONMALLOC="malloc")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-5000:]}\n{text[-20000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors", text), text[-20000:]
    assert re.search(r"^(\d+) passed, 0 failed$", done.stdout, re.M), done.stdout


def test_every_upstream_function_with_address_sanitizer(tmp_path: Path, layout: dict[str, Path]) -> None:
    program = compile_c(C_DIR / "upstream_api.c", tmp_path / "upstream_api_asan", "-fsanitize=address",
                        "-fno-omit-frame-pointer")
    env = env_for(tmp_path, layout, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", PYTHONMALLOC="malloc")
    run([str(program), "all", str(layout["data"]), str(layout["root"]), str(layout["session"]),
         str(layout["subagent"])], env=env, timeout=300)


class Driver:
    """One `upstream_api serve` process: a command per line, an answer per line."""

    def __init__(self, program: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(program), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)

    def ask(self, *words: object) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(" ".join(map(str, words)) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer, f"no answer to {words}; stderr:\n{self.process.stderr.read() if self.process.stderr else ''}"
        return answer

    def ok(self, *words: object) -> str:
        answer = self.ask(*words)
        assert answer.startswith("ok"), f"{words}: {answer}"
        return answer

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask("quit")
            except (AssertionError, BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for_writer(db: Path, writer_type: str, timeout: float = 30.0) -> None:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists() and writer_of(db) == writer_type:
            return
        time.sleep(0.02)
    raise AssertionError(f"{writer_type} did not become the Writer: {writer_of(db)}")


def append(path: Path, uuid: str, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"uuid": uuid, "type": "user", "cwd": "/work/demo", "sessionId": "abc",
                            "timestamp": "2026-01-20T11:00:00.000Z",
                            "message": {"role": "user", "content": text}}) + "\n")


def test_a_reader_hands_notifications_to_the_writer_in_another_process(tmp_path: Path, program: Path,
                                                                      layout: dict[str, Path]) -> None:
    env = env_for(tmp_path, layout)
    writer, reader = Driver(program, env), Driver(program, env)
    try:
        writer.ok("create", "memexkit", layout["data"])
        writer.ok("connect")
        wait_for_writer(layout["db"], "memex_kit")
        reader.ok("create", "vlaudekit", layout["data"])   # equal priority: first come, first served
        reader.ok("connect")
        assert reader.ok("connected") == "ok yes"

        append(layout["session"], "r-1", "handed over quokka")
        found = reader.ok("notify-wait", layout["session"], layout["db"], "quokka", READER_BOUND_MS)
        assert found.startswith("ok found"), found
        reader.ok("approve", "toolu_none", 1, 1768903210000)    # kept until its tool call is stored
        assert writer_of(layout["db"]) == "memex_kit", "the Reader never took the role"

        # The Writer dies: the Reader takes over within the lock-file failover, then its
        # notifications are stored synchronously.
        writer.kill()
        wait_for_writer(layout["db"], "vlaude_kit")
        # (The registry row may name it a moment before its own role does: the first
        # notification after the takeover may still go through the spool.)
        append(layout["session"], "r-2", "after the takeover wombat")
        assert reader.ok("notify-wait", layout["session"], layout["db"], "wombat", READER_BOUND_MS).startswith("ok found")
        append(layout["session"], "r-3", "synchronous echidna")
        reader.ok("notify", layout["session"])
        assert reader.ok("wait", layout["db"], "echidna", 0).startswith("ok found")

        reader.ok("disconnect")
        assert writer_of(layout["db"]) is None, "disconnect released the role"
        assert reader.ask("notify", layout["session"]).startswith("error 7 ")
    finally:
        writer.close()
        reader.close()


def test_destroy_releases_and_a_second_client_takes_over(tmp_path: Path, program: Path,
                                                         layout: dict[str, Path]) -> None:
    env = env_for(tmp_path, layout)
    first, second = Driver(program, env), Driver(program, env)
    try:
        first.ok("create", "vlaudekit", layout["data"])
        first.ok("connect")
        wait_for_writer(layout["db"], "vlaude_kit")
        second.ok("create", "memexkit", layout["data"])
        second.ok("connect")
        first.ok("destroy")
        wait_for_writer(layout["db"], "memex_kit")
    finally:
        first.close()
        second.close()


def test_original_abi_client_compiles_and_runs_through_the_upstream_header(tmp_path: Path) -> None:
    """tests/c/original_api.c, written for the original header, through our real
    ai_cli_session_db.h (which gives it the upstream layouts, by its layout rule)."""
    program = compile_c(C_DIR / "original_api.c", tmp_path / "original_api_upstream")
    run([str(program), str(tmp_path / "original.db")], env=isolated_env(tmp_path), timeout=120)


def test_header_binds_the_six_layout_functions_to_their_v2_symbols(tmp_path: Path, program: Path) -> None:
    nm = require_tool("nm")
    undefined = subprocess.run([nm, "-u", str(program)], capture_output=True, text=True, timeout=60,
                               check=True).stdout
    names = {line.split()[-1].split("@")[0] for line in undefined.splitlines() if line.split()}
    moved = ["list_sessions", "free_sessions", "list_session_metas", "free_session_meta_list",
             "find_latest_session", "free_session_meta"]
    for name in moved:
        assert f"session_db_v2_{name}" in names and f"session_db_{name}" not in names, name
    assert "session_db_list_projects" in names and "agent_client_connect" in names


def test_upstream_header_declares_what_the_library_exports() -> None:
    nm = require_tool("nm")
    out = subprocess.run([nm, "-D", "--defined-only", str(library_path())], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split()}
    header = (ROOT / "include" / "ai_cli_session_db.h").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    declared = set(re.findall(r"\b((?:session_db|agent_client)_\w+)\s*\(", code))
    bound = set(re.findall(r"AI_CLI_SESSION_DB_LAYOUT\((session_db_v2_\w+)\)", code))
    assert len(bound) == 6
    linked = (declared - {n.replace("_v2_", "_") for n in bound}) | bound
    assert linked <= exported, sorted(linked - exported)


def test_library_and_header_are_installed_under_the_upstream_names() -> None:
    libdir = library_path().parent
    alias = libdir / ("libai_cli_session_db.dylib" if library_path().suffix == ".dylib" else "libai_cli_session_db.so")
    # A symlink in an editable install; a wheel stores links as copies, so there it is the same bytes.
    assert alias.exists()
    assert os.path.samefile(alias, library_path()) or filecmp.cmp(alias, library_path(), shallow=False)
    includedir = Path(subprocess.run([os.sys.executable, "-m", "sessiondb", "--includedir"], capture_output=True,
                                     text=True, timeout=60, check=True).stdout.strip())
    installed = (includedir / "ai_cli_session_db.h").read_text(encoding="utf-8")
    assert installed == (ROOT / "include" / "ai_cli_session_db.h").read_text(encoding="utf-8")


def test_a_client_linked_by_the_upstream_name_loads_libsessiondb(tmp_path: Path) -> None:
    """ETerm's module map links "ai_cli_session_db": such a program records libsessiondb
    (the soname), so one process never loads the library twice."""
    gcc = require_tool("gcc")
    readelf = require_tool("readelf")
    source = tmp_path / "linked.c"
    source.write_text('#include "ai_cli_session_db.h"\n#include <stdio.h>\n'
                      'int main(void) { puts(agent_client_version()); return 0; }\n', encoding="utf-8")
    libdir = library_path().parent
    includedir = libdir.parent / "include"
    binary = tmp_path / "linked"
    subprocess.run([gcc, f"-I{includedir}", str(source), "-o", str(binary), f"-L{libdir}", "-lai_cli_session_db",
                    f"-Wl,-rpath,{libdir}"], check=True, timeout=120)
    dynamic = subprocess.run([readelf, "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "[libsessiondb.so]" in dynamic and "libai_cli_session_db" not in dynamic, dynamic
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0", done
