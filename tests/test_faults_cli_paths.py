"""The CLI's collect on mistaken paths: a --db in a folder that does not exist, a
--path that is missing or is not a session of any known source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from capi_helpers import isolated_env


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sessiondb", *args], capture_output=True, text=True, timeout=120,
                          env=isolated_env(tmp_path))


def test_collect_into_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    done = _cli(tmp_path, "collect", "--db", str(target))
    assert done.returncode == 3, done
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nonexistent").exists()


def test_collect_says_when_it_creates_a_database(tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    done = _cli(tmp_path, "collect", "--db", str(target))
    assert done.returncode == 0, done
    assert f"created a new database at {target}" in done.stderr
    again = _cli(tmp_path, "collect", "--db", str(target))
    assert again.returncode == 0 and "created" not in again.stderr


def test_collect_path_missing_or_unknown(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    missing = _cli(tmp_path, "collect", "--db", str(db), "--path", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such session file" in missing.stderr, missing
    stray = tmp_path / "notes.jsonl"
    stray.write_text('{"hello": 1}\n')
    unknown = _cli(tmp_path, "collect", "--db", str(db), "--path", str(stray))
    assert unknown.returncode == 2 and "not a session file of any known source" in unknown.stderr, unknown
    assert "collected 0 new messages" not in unknown.stdout
