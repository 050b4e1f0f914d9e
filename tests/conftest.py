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
                "OPENCODE_PATH", "XDG_DATA_HOME", "GEMINI_TMP_PATH", "COPILOT_PATH", "COPILOT_HOME", "QWEN_PATH",
                "QWEN_RUNTIME_DIR", "QWEN_HOME", "PI_PATH", "PI_CODING_AGENT_DIR", "OPENHANDS_PATH",
                "OPENHANDS_PERSISTENCE_DIR", "AIDER_PATH", "AIDER_CHAT_HISTORY_FILE", "XDG_CONFIG_HOME", "CURSOR_PATH",
                "CLINE_PATH", "GOOSE_SESSIONS_PATH", "GOOSE_PATH_ROOT", "CRUSH_PATH", "CRUSH_GLOBAL_DATA",
                "SESSIONDB_PRICES"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "sessions.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[SessionDB]:
    handle = SessionDB.connect(DbConfig.local(db_path))
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def pg_cluster():
    """A real PostgreSQL server for the mirror tests (tests/pg_server.py).

    Missing server binaries or driver skip those tests on a developer machine and fail
    them in CI (``CI=true`` or ``SESSIONDB_REQUIRE_POSTGRES=1``)."""
    import subprocess

    import pg_server

    try:
        import psycopg  # noqa: F401
        cluster = pg_server.Cluster()
    except (ImportError, FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        if pg_server.required():
            pytest.fail(f"PostgreSQL is required here but unavailable: {detail}")
        pytest.skip(f"no PostgreSQL server: {detail}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """A fresh, empty database on the test server, owned by the mirror's user."""
    return pg_cluster.url(pg_cluster.new_database())
