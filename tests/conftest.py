"""Shared fixtures: every test gets real database files in its own temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sessiondb import DbConfig, SessionDB


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real ~/.vimo, ~/.claude, ... of the machine."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("CLAUDE_SESSION_DB_URL", "CLAUDE_CONFIG_DIR", "CLAUDE_PROJECTS_PATH", "CODEX_HOME", "CODEX_PATH",
                "OPENCODE_PATH", "XDG_DATA_HOME", "GEMINI_TMP_PATH", "XDG_CONFIG_HOME", "CURSOR_PATH", "CLINE_PATH",
                "GOOSE_SESSIONS_PATH", "GOOSE_PATH_ROOT", "CRUSH_PATH", "CRUSH_GLOBAL_DATA"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "sessions.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[SessionDB]:
    handle = SessionDB.connect(DbConfig.local(db_path))
    yield handle
    handle.close()
