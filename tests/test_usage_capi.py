"""session_db_usage from C: per-day and per-session totals equal the counts made from the
raw files (tests/usage_shapes.py), natively and under valgrind."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from capi_helpers import C_DIR, compile_c, isolated_env, require_tool, run
from collect_helpers import only
from usage_shapes import CLAUDE_PARENT, codex_head, codex_path, codex_tail, count_claude, count_codex, \
    jsonl, write_claude

from sessiondb import SessionDB


@pytest.fixture
def usage_db(tmp_path: Path) -> tuple[Path, list[str]]:
    """A database of the Claude and Codex shapes, and the program's arguments."""
    claude = tmp_path / "claude"
    parent, _ = write_claude(claude)
    jsonl(codex_path(tmp_path / "codex"), codex_head() + codex_tail())
    path = tmp_path / "db" / "usage.db"
    with SessionDB.connect(str(path)) as db:
        roots = {**only("claude", claude, tmp_path), "codex": str(tmp_path / "codex")}
        db.collect_by_path(parent, roots=roots)
        db.collect_all(roots=roots)
    grand = count_claude(claude.rglob("*.jsonl"))["total"] + count_codex(codex_path(tmp_path / "codex"))["total"]
    own = count_claude([parent])   # the parent's own file holds all of its calls
    days = {"2025-09-01", "2025-09-02", "2025-09-03", "2025-09-05"}   # UTC dates of the calls
    return path, [str(path), CLAUDE_PARENT, str(len(days)), str(grand), str(own["total"]), str(own["calls"])]


def _env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path, TZ="UTC")


def test_usage_totals_from_c(tmp_path: Path, usage_db: tuple[Path, list[str]]) -> None:
    program = compile_c(C_DIR / "capi_usage.c", tmp_path / "capi_usage")
    run([str(program), *usage_db[1]], env=_env(tmp_path))


def test_usage_from_c_under_valgrind(tmp_path: Path, usage_db: tuple[Path, list[str]]) -> None:
    valgrind = require_tool("valgrind")
    program = compile_c(C_DIR / "capi_usage.c", tmp_path / "capi_usage")
    log = tmp_path / "valgrind.log"
    cmd = [valgrind, "--error-exitcode=97", "--leak-check=full", "--show-leak-kinds=definite",
           "--errors-for-leak-kinds=definite", f"--suppressions={C_DIR / 'valgrind-python.supp'}",
           f"--log-file={log}", str(program), *usage_db[1]]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**_env(tmp_path),
                                                                               "PYTHONMALLOC": "malloc"})
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-5000:]}\n{text[-20000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors", text), text[-20000:]
    assert re.search(r"^(\d+) passed, 0 failed$", done.stdout, re.M), done.stdout


def test_the_parent_file_holds_the_calls_the_program_expects(usage_db: tuple[Path, list[str]]) -> None:
    """The expected numbers handed to the program agree with the Python API."""
    path, args = usage_db
    with SessionDB.connect(str(path)) as db:
        one = db.usage(by="session", session=CLAUDE_PARENT)
        assert [(r.total_tokens, r.requests) for r in one] == [(int(args[4]), int(args[5]))]
        assert sum(r.total_tokens for r in db.usage(by="day", utc=True)) == int(args[3])
        assert len(db.usage(by="day", utc=True)) == int(args[2])

