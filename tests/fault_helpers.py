"""Helpers for the fault-injection tests: a corpus of Claude Code session files, a
one-shot reference collection to compare against, and a small tmpfs where the test
may mount one."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sessiondb import DbConfig, SessionDB
from sessiondb.session_files import encode_project_path

WORDS = ["writer", "lock", "fence", "disk", "full", "recovery", "会话", "数据库", "snake_case_name", "path/to/file"]


def claude_line(session: str, index: int, text: str, *, project: str = "/work/faults") -> str:
    stamp = datetime.fromtimestamp(1_760_000_000 + index, timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": "user", "uuid": f"{session}-m{index:05d}", "sessionId": session, "cwd": project,
                       "timestamp": stamp, "message": {"role": "user", "content": text}}, ensure_ascii=False)


def write_corpus(root: Path, *, sessions: int = 6, messages: int = 200, words: int = 60,
                 prefix: str = "sess") -> int:
    """Claude Code session files under ``root`` (a projects root); returns the message count."""
    for s in range(sessions):
        session = f"{prefix}-{s:03d}"
        project = f"/work/faults-{s % 2}"
        directory = root / encode_project_path(project)
        directory.mkdir(parents=True, exist_ok=True)
        lines = [claude_line(session, i, " ".join(WORDS[(i * 7 + k) % len(WORDS)] + str(k) for k in range(words)),
                             project=project) for i in range(messages)]
        (directory / f"{session}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sessions * messages


def roots_for(claude_root: Path, tmp_path: Path) -> dict[str, object]:
    empty = tmp_path / "no-such-source"
    return {"claude": claude_root, "codex": empty, "opencode": empty, "gemini": empty}


def stored(db: SessionDB) -> list[tuple]:
    """Every stored message, comparable between databases (ids excluded)."""
    conn = db._store.connection()
    return list(conn.execute("SELECT session_id, uuid, type, content_text, content_full, timestamp, sequence, "
                             "source, raw FROM messages ORDER BY session_id, sequence, uuid"))


def sessions_of(db: SessionDB) -> list[tuple]:
    return list(db._store.connection().execute(
        "SELECT session_id, message_count, last_message_at FROM sessions ORDER BY session_id"))


def reference_collect(claude_root: Path, tmp_path: Path, name: str = "reference.db") -> SessionDB:
    """A one-shot collection of the same files into a fresh database."""
    db = SessionDB.connect(DbConfig.local(tmp_path / name))
    db.collect_all(roots=roots_for(claude_root, tmp_path))
    return db


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str = "2m") -> Iterator[Path | None]:
    """Mount a tmpfs of ``size`` at ``directory``; yields None where mounting is not permitted."""
    directory.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        yield None
        return
    done = subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        yield None
        return
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=30)
