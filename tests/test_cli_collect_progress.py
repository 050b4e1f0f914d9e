"""`collect` as a person sees it: a progress bar with totals and an ETA on a terminal, a clean
stop on Ctrl-C that says what was kept and how to go on, and --json with every field."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import run_on_pty, visible

from sessiondb import DbConfig, SessionDB

ROOT = Path(__file__).resolve().parents[1]


def write_corpus(root: Path, *, files: int, lines_per_file: int, text_bytes: int = 400) -> int:
    """Claude session files; returns the number of messages they hold."""
    project = root / "-work-big"
    project.mkdir(parents=True)
    filler = "lorem ipsum dolor sit amet " * (text_bytes // 27 + 1)
    for f in range(files):
        with open(project / f"sess-{f:04d}.jsonl", "w", encoding="utf-8") as handle:
            for i in range(lines_per_file):
                handle.write(json.dumps({
                    "type": "user" if i % 2 == 0 else "assistant", "uuid": f"u-{f}-{i}", "cwd": "/work/big",
                    "sessionId": f"sess-{f:04d}", "timestamp": f"2025-09-14T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                    "message": {"role": "user" if i % 2 == 0 else "assistant",
                                "content": f"message {i} of file {f}: {filler[:text_bytes]}"}}) + "\n")
    return files * lines_per_file


def env_for(root: Path, home: Path) -> dict[str, str]:
    return {"HOME": str(home), "CLAUDE_PROJECTS_PATH": str(root), "CODEX_PATH": str(home / "none"),
            "OPENCODE_PATH": str(home / "none"), "GEMINI_TMP_PATH": str(home / "none")}


def stored(db: Path) -> int:
    with SessionDB.connect(DbConfig.local(db, read_only=True)) as handle:
        return handle.get_stats().message_count


def test_progress_bar_shows_totals_and_eta_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    total = write_corpus(root, files=40, lines_per_file=200)
    code, output = run_on_pty(["collect", "--db", str(tmp_path / "p.db")], env=env_for(root, tmp_path),
                              columns=140)
    text = visible(output)
    assert code == 0, text
    assert re.search(r"\d+/40 files", text), text[-2000:]        # files done of the total
    assert "ETA" in text and "%" in text
    assert re.search(r"[\d.]+/[\d.]+ [kM]B", text)              # bytes done of the total
    assert f"collected {total:,} new messages from 40 files" in text
    assert stored(tmp_path / "p.db") == total


def test_ctrl_c_keeps_what_was_written_and_says_how_to_go_on(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    total = write_corpus(root, files=120, lines_per_file=500, text_bytes=600)   # ~40 MB: some seconds
    db = tmp_path / "i.db"
    env = env_for(root, tmp_path)
    code, output = run_on_pty(["collect", "--db", str(db)], env=env, columns=140, interrupt_after=b"files,",
                              timeout=300)
    text = visible(output)
    if code == 0:
        pytest.skip("the collection finished before Ctrl-C arrived")
    assert code == 130, text[-2000:]
    assert "Traceback" not in text
    kept = re.search(r"interrupted: kept ([\d,]+) new messages", text)
    assert kept, text[-2000:]
    assert "run `sessiondb collect` again" in text
    assert stored(db) == int(kept.group(1).replace(",", ""))
    # The next collect goes on from there: in the end every message once.
    again = subprocess.run([sys.executable, "-m", "sessiondb", "collect", "--db", str(db)], capture_output=True,
                           text=True, timeout=300, env={**os.environ, **env})
    assert again.returncode == 0, again.stderr
    assert stored(db) == total
    with SessionDB.connect(DbConfig.local(db, read_only=True)) as handle:
        assert handle.integrity_check().ok
        assert handle.current_writer() is None   # the interrupted collect released the writer role


def readme_collect_result_fields() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("`CollectResult`:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", paragraph))


def test_collect_json_has_every_collect_result_field_the_readme_lists(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    write_corpus(root, files=2, lines_per_file=3)
    (root / "-work-big" / "sess-0000.jsonl").open("a").write("{not json\n")
    result = subprocess.run([sys.executable, "-m", "sessiondb", "collect", "--json", "--db", str(tmp_path / "j.db")],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **env_for(root, tmp_path)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    listed = readme_collect_result_fields()
    assert {"messages_inserted", "files_reparsed", "bad_lines"} <= listed
    assert listed <= set(data), listed - set(data)
    assert data["messages_inserted"] == 6 and data["bad_lines"] == 1 and data["files_seen"] == 2
    assert data["first_error"] and data["error_count"] == 1 and isinstance(data["skipped_records"], dict)
