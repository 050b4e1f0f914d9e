"""The mirror from the command line: `sync`, reading commands with --db postgresql://, watch --sync-to."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from test_cli_write import WatchProcess, append_claude_line, env_for, home, run, wait_until  # noqa: F401
from test_mirror_sync import desktop_db, laptop_db

from sessiondb.mirror import RemoteArchive


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sessiondb", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_sync_then_the_reading_commands_print_the_same_as_locally(tmp_path: Path, pg_url: str) -> None:
    local = laptop_db(tmp_path / "laptop.db")
    done = cli("sync", "--to", pg_url, "--db", str(local), "--machine", "laptop")
    assert done.returncode == 0, done.stderr
    assert "5 new messages" in done.stdout and "'laptop'" in done.stdout and "s3cret-pw" not in done.stdout
    again = cli("sync", "--to", pg_url, "--db", str(local), "--machine", "laptop", "--json")
    assert json.loads(again.stdout)["messages_sent"] == 0 and "s3cret-pw" not in again.stdout
    for command in (["search", "database", "--order", "newest"], ["search", "数据库"], ["search", "db.py"],
                    ["show", "aaaa-laptop-1"], ["show", "aaaa-laptop-2", "--raw"], ["projects"], ["sessions"],
                    ["search", "heartbeat", "--role", "assistant", "--project", "/home/me/tools"]):
        want = cli(*command, "--db", str(local))
        got = cli(*command, "--db", pg_url)
        assert (got.returncode, got.stdout) == (want.returncode, want.stdout), command
        assert want.returncode == 0 and want.stdout, command
    want = json.loads(cli("search", "parse_session", "--json", "--db", str(local)).stdout)
    got = json.loads(cli("search", "parse_session", "--json", "--db", pg_url).stdout)
    drop = ("message_id", "project_id", "score")
    assert [{k: v for k, v in h.items() if k not in drop} for h in got] == [
        {k: v for k, v in h.items() if k not in drop} for h in want]


def test_one_search_covers_every_machine_and_machine_filters(tmp_path: Path, pg_url: str) -> None:
    for name, build in (("laptop", laptop_db), ("desktop", desktop_db)):
        assert cli("sync", "--to", pg_url, "--db", str(build(tmp_path / f"{name}.db")), "--machine", name).returncode == 0
    both = json.loads(cli("search", "open database", "--json", "--db", pg_url).stdout)
    assert sorted(h["session_id"] for h in both) == ["aaaa-laptop-1", "bbbb-desktop-1"]
    one = json.loads(cli("search", "open database", "--json", "--machine", "desktop", "--db", pg_url).stdout)
    assert [h["session_id"] for h in one] == ["bbbb-desktop-1"]
    sessions = cli("sessions", "--machine", "laptop", "--db", pg_url).stdout
    assert "aaaa-laptop-1" in sessions and "bbbb" not in sessions
    local_only = cli("search", "open", "--machine", "laptop", "--db", str(tmp_path / "laptop.db"))
    assert local_only.returncode == 2 and "--machine needs a mirror" in local_only.stderr


def test_server_errors_are_one_line_with_no_password_and_no_traceback(tmp_path: Path, pg_cluster) -> None:
    local = laptop_db(tmp_path / "laptop.db")
    url = pg_cluster.url(pg_cluster.new_database())
    for target in (url.replace("s3cret-pw", "wrong-secret"), url.replace(f":{pg_cluster.port}/", ":1/"),
                   url + "_missing"):
        for command in (["sync", "--to", target, "--db", str(local)], ["search", "x", "--db", target]):
            result = cli(*command)
            assert result.returncode == 3, (command, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert "Traceback" not in result.stderr and "secret" not in result.stderr + result.stdout
    empty = cli("search", "x", "--db", url)
    assert empty.returncode == 3 and "sessiondb sync --to" in empty.stderr
    usage = cli("sync", "--to", "mysql://x@y/z", "--db", str(local))
    assert usage.returncode == 2 and "PostgreSQL URL" in usage.stderr
    for command in (["status"], ["doctor"], ["collect"]):
        result = cli(*command, "--db", url)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, result.stderr)
        assert "secret" not in result.stderr and len(result.stderr.strip().splitlines()) == 2, result.stderr


def test_without_the_driver_the_commands_say_so_in_one_line(tmp_path: Path, pg_url: str) -> None:
    local = laptop_db(tmp_path / "laptop.db")
    script = ("import sys; sys.modules['psycopg'] = None\n"
              "from sessiondb.cli import main\nsys.exit(main(sys.argv[1:]))")
    for command in (["sync", "--to", pg_url, "--db", str(local)], ["search", "x", "--db", pg_url]):
        result = subprocess.run([sys.executable, "-c", script, *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 3, result.stderr
        assert result.stderr.strip().count("\n") == 0 and "pip install 'psycopg[binary]'" in result.stderr
    # Local commands do not need it at all.
    result = subprocess.run([sys.executable, "-c", script, "search", "database", "--db", str(local)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "database" in result.stdout


def test_watch_sync_to_keeps_the_mirror_current(home: Path, pg_url: str) -> None:  # noqa: F811
    db_path = home / "watched.db"
    watcher = WatchProcess(home, db_path, "--sync-to", pg_url, "--machine", "watcher")
    try:
        watcher.wait_for("now the writer")
        watcher.wait_for("mirrored")

        def mirrored(query: str) -> bool:
            try:
                with RemoteArchive(pg_url) as archive:
                    return bool(archive.search(query))
            except Exception:
                return False

        wait_until(lambda: mirrored("busy_timeout"), timeout=60)
        append_claude_line(home, "a live line about axolotls")
        wait_until(lambda: mirrored("axolotls"), timeout=60)
    finally:
        code = watcher.finish(signal.SIGTERM)
    assert code == 0, watcher.output
    assert "s3cret-pw" not in watcher.output and "mirroring to postgresql://mirror:***@" in watcher.output
    with RemoteArchive(pg_url) as archive:
        assert [m.machine for m in archive.machines()] == ["watcher"]
