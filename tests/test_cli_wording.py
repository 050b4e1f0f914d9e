"""Every message a person reads is one line of clear text with a hint that leads somewhere."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import add_session

from sessiondb import DbConfig, SessionDB
from sessiondb.cli import build_parser


def run(*args: str, db: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sessiondb", *args] + (["--db", str(db)] if db is not None else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "small.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "abcd1234-one", ["the only message about locks"])
    return path


def one_line_and_hint(stderr: str) -> tuple[str, str]:
    lines = stderr.strip().splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith("error: ") and lines[1].strip().startswith("hint: "), stderr
    assert "usage:" not in stderr and "Traceback" not in stderr
    return lines[0], lines[1]


@pytest.mark.parametrize("args", [("search",), ("search", "x", "--limit", "abc"), ("show",),
                                  ("search", "x", "--order", "sideways"), ("collect", "--bogus"), ("frobnicate",)])
def test_usage_errors_are_one_line_and_a_hint(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    one_line_and_hint(result.stderr)


def test_a_mistyped_command_gets_a_suggestion() -> None:
    _, hint = one_line_and_hint(run("serach", "x").stderr)
    assert "sessiondb search" in hint


def test_counts_are_worded_for_one(tmp_path: Path) -> None:
    root = tmp_path / "projects" / "-p"
    root.mkdir(parents=True)
    (root / "s1.jsonl").write_text('{"type":"user","uuid":"u","cwd":"/p","timestamp":"2025-01-01T00:00:00Z",'
                                   '"message":{"role":"user","content":"hi"}}\n', encoding="utf-8")
    result = run("collect", "--source", "claude", db=tmp_path / "c.db",
                 env={"CLAUDE_PROJECTS_PATH": str(tmp_path / "projects")})
    assert result.returncode == 0, result.stderr
    assert "1 new message from 1 file (1 session, 1 project; 0 files unchanged)" in result.stdout
    status = run("status", db=tmp_path / "c.db")
    assert "1 project, 1 session, 1 message" in status.stdout


def test_why_a_search_finds_nothing(small_db: Path) -> None:
    assert "--limit 0" in run("search", "locks", "--limit", "0", db=small_db).stderr
    for query in ("", "OR", "-", '"', "  "):
        result = run("search", query, db=small_db)
        assert result.returncode == 1
        assert "no matches:" in result.stderr and ("empty" in result.stderr or "no word" in result.stderr), query
    plain = run("search", "zebra", db=small_db)
    assert plain.returncode == 1 and "no matches for 'zebra'" in plain.stderr


def test_missing_session_and_project_are_worded_alike(small_db: Path) -> None:
    session_error, session_hint = one_line_and_hint(run("search", "x", "--session", "zzz", db=small_db).stderr)
    project_error, project_hint = one_line_and_hint(run("search", "x", "--project", "nope", db=small_db).stderr)
    assert session_error == "error: no session matches 'zzz'"
    assert project_error == "error: no project matches 'nope'"
    assert session_hint.strip() == "hint: list sessions with `sessiondb sessions`"
    assert project_hint.strip() == "hint: list projects with `sessiondb projects`"
    assert one_line_and_hint(run("show", "zzz", db=small_db).stderr)[0] == session_error
    assert one_line_and_hint(run("sessions", "--project", "nope", db=small_db).stderr)[0] == project_error


def test_not_a_database_does_not_send_the_user_in_a_circle(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100, encoding="utf-8")
    for command in (("doctor",), ("status",), ("search", "x"), ("collect",)):
        result = run(*command, db=path)
        assert result.returncode == 3
        error, hint = one_line_and_hint(result.stderr)
        assert "is not a sessiondb database" in error
        assert "doctor" not in hint and "move the file away" in hint
    assert path.read_text(encoding="utf-8").startswith("not a database")   # nothing was written


def _read_only_copy(tmp_path: Path, source: Path) -> Path:
    """A database on a read-only place: a read-only bind mount as root, else a folder
    the user cannot write."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "s.db").write_bytes(source.read_bytes())
    if os.geteuid() != 0:
        folder.chmod(0o555)
        (folder / "s.db").chmod(0o444)
        return folder / "s.db"
    mount = tmp_path / "mnt"
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(mount)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot make a read-only place here: {bound.stderr.decode().strip()}")
    subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
    return mount / "s.db"


def test_read_only_database_says_why_and_leads_out(tmp_path: Path, small_db: Path) -> None:
    with SessionDB.connect(DbConfig.local(small_db)) as db:
        db.checkpoint("TRUNCATE")
    path = _read_only_copy(tmp_path, small_db)
    try:
        collect = run("collect", db=path)
        assert collect.returncode == 3
        error, hint = one_line_and_hint(collect.stderr)
        assert "read-only" in error and "doctor" not in hint and "--db" in hint
        repair = run("doctor", "--repair", db=path)
        error, hint = one_line_and_hint(repair.stderr)
        assert "cannot repair" in error and "doctor" not in hint.replace("doctor --repair", "") and "copy" in hint
        doctor = run("doctor", db=path)
        if doctor.returncode == 0:   # the library can open it read-only: the checks pass, and say how
            assert "read-only" in doctor.stdout and "FAIL" not in doctor.stdout
        else:
            error, hint = one_line_and_hint(doctor.stderr)
            assert "read-only" in error or "cannot be opened" in error
            assert "doctor" not in hint
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(path.parent)], capture_output=True)


def test_doctor_on_a_read_only_handle_does_not_call_a_healthy_index_broken(small_db: Path) -> None:
    """The search-index check needs a write; without one doctor checks what it can."""
    small_db.chmod(0o444)
    if os.access(small_db, os.W_OK):   # root writes anyway: the writable path is tested elsewhere
        pytest.skip("the file stays writable for this user")
    result = run("doctor", db=small_db)
    assert "FAIL" not in result.stdout


def _all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    parser = build_parser()
    found = [("sessiondb", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [(f"sessiondb {name}", sub) for name, sub in action.choices.items()]
    return found


def test_every_option_is_documented_with_its_default() -> None:
    for name, parser in _all_parsers():
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings} has no help"
            if action.default not in (None, False, argparse.SUPPRESS, []):
                assert f"default: {action.default}" in text or "default" in action.help, \
                    f"{name} {action.option_strings} does not say its default {action.default!r}"


def test_help_states_defaults_as_printed() -> None:
    search = " ".join(run("search", "--help").stdout.split())
    assert "(default: 20)" in search and "(default: score)" in search
    assert "(default: 5)" in " ".join(run("show", "--help").stdout.split())


def test_collect_help_names_the_folders_and_variables_of_every_source() -> None:
    from sessiondb.sources import SOURCES

    text = " ".join(run("collect", "--help", env={"HOME": "/home/someone"}).stdout.split())
    for name, source in SOURCES.items():
        assert f"{name} ({source.title}):" in text
        for root in source.resolve_roots(None):
            assert str(root).replace(os.environ["HOME"], "~") in text or str(root) in text
        for variable in source.roots_spec.variables:
            assert f"${variable}" in text


@pytest.mark.parametrize("source", ["claude", "codex", "opencode", "gemini"])
def test_each_named_variable_really_moves_the_folders(source: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sessiondb.sources import SOURCES

    module = SOURCES[source]
    for variable in module.roots_spec.variables:
        before = module.resolve_roots(None)
        monkeypatch.setenv(variable, str(tmp_path / variable))
        assert module.resolve_roots(None) != before, f"{variable} does not change {source}'s folders"
        assert any(str(tmp_path / variable) in str(root) for root in module.resolve_roots(None))
        monkeypatch.delenv(variable)


def test_library_flags_work_like_python_m_sessiondb() -> None:
    for flags in (["--cflags", "--libs"], ["--includedir"], ["--libdir"], ["--pkgconfigdir"]):
        ours = subprocess.run([sys.executable, "-c", "import sys; from sessiondb.cli import main; "
                               "sys.exit(main())", *flags], capture_output=True, text=True, timeout=60)
        module = subprocess.run([sys.executable, "-m", "sessiondb", *flags], capture_output=True, text=True,
                                timeout=60)
        assert ours.returncode == 0 and ours.stdout == module.stdout and ours.stdout.strip()
    script = Path(sys.executable).parent / "sessiondb"
    if script.exists():
        direct = subprocess.run([str(script), "--includedir"], capture_output=True, text=True, timeout=60)
        assert Path(direct.stdout.strip(), "sessiondb.h").is_file()
