"""Helpers for the C ABI tests: find the installed library, compile C programs with
gcc, run them (and Python hosts) as subprocesses with timeouts, make session files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

C_DIR = Path(__file__).resolve().parent / "c"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def library_flags(python: str = sys.executable) -> tuple[list[str], list[str]]:
    """(cflags, libs) of the library installed for ``python``, from ``python -m sessiondb``."""
    out = subprocess.run([python, "-m", "sessiondb", "--cflags", "--libs"], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    cflags = [f for f in out if f.startswith("-I")]
    return cflags, [f for f in out if not f.startswith("-I")]


def library_path(python: str = sys.executable) -> Path:
    libdir = subprocess.run([python, "-m", "sessiondb", "--libdir"], capture_output=True, text=True,
                            timeout=60, check=True).stdout.strip()
    return Path(libdir) / ("libsessiondb.dylib" if sys.platform == "darwin" else "libsessiondb.so")


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required for the C ABI tests (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def compile_c(source: str | Path, output: Path, *extra: str, include_dirs: tuple[Path, ...] = (),
              python: str = sys.executable) -> Path:
    """Compile one C test program against the installed library (warnings are errors)."""
    gcc = require_tool("gcc")
    cflags, libs = library_flags(python)
    cmd = [gcc, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-pthread",
           f"-I{C_DIR}", *[f"-I{d}" for d in include_dirs], *cflags, *extra, str(source), "-o", str(output), *libs]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"compile failed:\n{' '.join(cmd)}\n{done.stderr}"
    return output


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
        expect_summary: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a test program; it must exit 0 and (by default) report no failed check."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    report = f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr[-20000:]}"
    assert done.returncode == 0, report
    if expect_summary:
        summary = SUMMARY.findall(done.stdout)
        assert summary, report
        passed, failed = map(int, summary[-1])
        assert failed == 0 and passed > 0, report
    return done


def claude_projects(root: Path) -> Path:
    """A Claude Code projects root with one project (/work/demo) and one session file."""
    project = root / "-work-demo"
    project.mkdir(parents=True, exist_ok=True)
    lines = [
        {"uuid": "u-1", "type": "user", "cwd": "/work/demo", "sessionId": "abc",
         "timestamp": "2026-01-20T10:00:00.000Z", "message": {"role": "user", "content": "hello from the file"}},
        {"uuid": "u-2", "type": "assistant", "cwd": "/work/demo", "sessionId": "abc",
         "timestamp": "2026-01-20T10:00:01.000Z",
         "message": {"role": "assistant", "content": [{"type": "text", "text": "answer about sqlite"}]}},
    ]
    session = project / "abc.jsonl"
    session.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return session


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process: its own HOME and empty source roots."""
    env = dict(os.environ)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    empty = tmp_path / "no-sources"
    empty.mkdir(exist_ok=True)
    env.update(HOME=str(home), CODEX_HOME=str(empty / "codex"), CODEX_PATH=str(empty / "codex"),
               OPENCODE_PATH=str(empty / "opencode"), XDG_DATA_HOME=str(empty / "xdg"),
               GEMINI_TMP_PATH=str(empty / "gemini"), CLAUDE_CONFIG_DIR=str(empty / "claude-config"),
               CLAUDE_PROJECTS_PATH=str(empty / "claude"))
    env.pop("CLAUDE_SESSION_DB_URL", None)
    env.update(extra)
    return env
