"""DbConfig: where the database lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessiondb import ConfigError, DbConfig, SessionDB


def test_default_path_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert DbConfig.from_env().path == tmp_path / "home" / ".vimo" / "db" / "ai-cli-session.db"


def test_env_variable_overrides_and_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_SESSION_DB_URL", "~/elsewhere/s.db")
    assert DbConfig.from_env().path == tmp_path / "home" / "elsewhere" / "s.db"


def test_empty_env_variable_means_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_SESSION_DB_URL", "  ")
    assert DbConfig.from_env().path.name == "ai-cli-session.db"


def test_local_expands_tilde(tmp_path: Path) -> None:
    """The original created a directory literally named '~' (reference §8.6 #44)."""
    assert DbConfig.local("~/.memex/session.db").path == tmp_path / "home" / ".memex" / "session.db"


def test_sqlite_scheme_is_stripped(tmp_path: Path) -> None:
    assert DbConfig.local(f"sqlite://{tmp_path}/a.db").path == tmp_path / "a.db"


@pytest.mark.parametrize("url", ["libsql://remote.example/db", "https://x/y.db", "file:x.db?mode=ro", ":memory:", ""])
def test_unusable_locations_are_rejected(url: str) -> None:
    with pytest.raises(ConfigError):
        DbConfig.local(url)


def test_relative_path_becomes_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert DbConfig.local("rel/x.db").path == tmp_path / "rel" / "x.db"


def test_connect_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "s.db"
    with SessionDB.connect(path) as db:
        assert db.get_stats().message_count == 0
    assert path.is_file()


def test_connect_without_config_uses_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_SESSION_DB_URL", str(tmp_path / "env.db"))
    with SessionDB.connect() as db:
        assert db.path == str(tmp_path / "env.db")
