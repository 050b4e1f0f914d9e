"""Hostile lock files: a FIFO, a device, a directory or a symlink at the live (or dead)
writer's lock-file name never blocks a writer, reader or the CLI, never counts as proof
either way (the heartbeat rule decides), and is never followed.

The other side runs in a child process with a timeout, so a hang fails the test
instead of stopping the suite.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from capi_helpers import isolated_env

from sessiondb import DbConfig, Role, SessionDB
from sessiondb.config import CoordinationConfig
from sessiondb.coordination.lock_files import lock_path

FAST = CoordinationConfig(heartbeat_interval_ms=50, timeout_ms=200, confirm_count=2)

_READER = textwrap.dedent("""
    import json, sys, time
    from sessiondb import DbConfig, SessionDB
    from sessiondb.config import CoordinationConfig
    db = SessionDB.connect(DbConfig.local(sys.argv[1], coordination=CoordinationConfig(50, 200, 2)))
    out = {"health": db.check_writer_health().name.lower(), "role": db.register_writer("memex_daemon").name.lower()}
    started = time.monotonic()
    while time.monotonic() - started < 20:
        db.check_writer_health()
        if db.try_takeover():
            break
        time.sleep(0.05)
    out["took_over"] = db.is_writer
    out["takeover_s"] = time.monotonic() - started
    db.release_writer()
    print(json.dumps(out))
""")


def _plant(path: Path, kind: str, tmp_path: Path) -> Path | None:
    """Put a hostile object at ``path``; returns a victim file a symlink points at."""
    if path.exists() or path.is_symlink():
        path.unlink()
    victim = None
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("creating a device node needs root")
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))   # like /dev/zero
    elif kind == "symlink-to-fifo":
        os.mkfifo(tmp_path / "elsewhere.fifo")
        path.symlink_to(tmp_path / "elsewhere.fifo")
    elif kind == "symlink-to-file":
        victim = tmp_path / "victim.txt"
        victim.write_text("keep me")
        path.symlink_to(victim)
    return victim


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "symlink-to-fifo", "symlink-to-file"])
def test_hostile_lock_file_of_the_writer(tmp_path: Path, kind: str) -> None:
    db_path = tmp_path / "db" / "sessions.db"
    writer = SessionDB.connect(DbConfig.local(db_path, coordination=FAST))
    assert writer.register_writer("memex_kit") is Role.WRITER
    own = lock_path(db_path, writer.current_writer().writer_id)
    victim = _plant(own, kind, tmp_path)

    # A reader probing the planted object must neither block nor count it as proof: the
    # writer stops heartbeating (hangs, say) and the heartbeat rule hands the role over.
    env = isolated_env(tmp_path)
    done = subprocess.run([sys.executable, "-c", _READER, str(db_path)], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["health"] == "alive"          # fresh heartbeat, no proof of death from the planted file
    assert out["role"] == "reader"
    assert out["took_over"], out
    assert "ignoring the writer lock file" in done.stderr   # said once, in the log
    print(f"\n{kind}: heartbeat takeover after {out['takeover_s']:.2f} s")

    for command in (["status"], ["collect"]):
        cli = subprocess.run([sys.executable, "-m", "sessiondb", *command, "--db", str(db_path)],
                             capture_output=True, text=True, timeout=60, env=env)
        assert "Traceback" not in cli.stderr, cli.stderr
    if victim is not None:
        assert victim.read_text() == "keep me"
    writer.close()   # removing its "own" lock file must not follow the planted symlink
    if victim is not None:
        assert victim.exists() and victim.read_text() == "keep me"


def test_planted_objects_never_stop_a_new_writer(tmp_path: Path) -> None:
    """Lock-file names of made-up writer ids, all hostile: registering, sweeping and
    closing neither block nor touch what a symlink points at."""
    db_path = tmp_path / "sessions.db"
    SessionDB.connect(DbConfig.local(db_path)).close()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    ids = ["00000000-0000-4000-8000-00000000000%d" % i for i in range(4)]
    os.mkfifo(lock_path(db_path, ids[0]))
    lock_path(db_path, ids[1]).mkdir()
    lock_path(db_path, ids[2]).symlink_to(victim)
    os.mkfifo(tmp_path / "f")
    lock_path(db_path, ids[3]).symlink_to(tmp_path / "f")
    script = textwrap.dedent("""
        import sys
        from sessiondb import DbConfig, SessionDB
        db = SessionDB.connect(DbConfig.local(sys.argv[1]))
        print(db.register_writer("memex_daemon").name.lower())
        db.close()
    """)
    done = subprocess.run([sys.executable, "-c", script, str(db_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "writer", done.stderr
    assert victim.read_text() == "keep me"
    assert stat.S_ISFIFO(os.lstat(lock_path(db_path, ids[0])).st_mode)   # left alone
