"""Read-only places: a database on a read-only bind mount (root, where mounting is
permitted) and in a folder the user cannot write (mode 0555).
``DbConfig(read_only=True)`` reads it (no ``-shm`` can be made there, so SQLite's
``immutable`` mode is used); a writable open says in one line why it cannot write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessiondb import DbConfig, SessionDB
from sessiondb.errors import DatabaseError, PermissionDenied

from helpers import add_session


def _build(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sessions.db"
    with SessionDB.connect(DbConfig.local(path)) as db:
        add_session(db, "s1", ["read me on a read-only disk", "数据库 只读"])
    assert not (directory / "sessions.db-shm").exists()
    return path


@pytest.fixture
def read_only_mount(tmp_path: Path):
    source, mount = tmp_path / "src", tmp_path / "ro"
    _build(source)
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root")
    first = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True, timeout=30)
    if first.returncode != 0:
        pytest.skip(f"mounting is not permitted here: {first.stderr.decode().strip()}")
    try:
        second = subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], capture_output=True, timeout=30)
        if second.returncode != 0:
            pytest.skip("remounting read-only is not permitted here")
        yield mount / "sessions.db"
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def test_read_only_handle_on_a_read_only_file_system(read_only_mount: Path) -> None:
    with SessionDB.connect(DbConfig.local(read_only_mount, read_only=True)) as db:
        assert db.get_stats().message_count == 2
        assert [h.session_id for h in db.search("只读")] == ["s1"]
        assert [h.session_id for h in db.search("read-only disk")] == ["s1"]
        with pytest.raises(PermissionDenied):
            add_session(db, "s2", ["no"])
    with pytest.raises(DatabaseError) as caught:
        SessionDB.connect(DbConfig.local(read_only_mount))
    message = str(caught.value)
    assert "read-only file system" in message and "read_only=True" in message and "\n" not in message


_AS_NOBODY = textwrap.dedent("""
    import json, sys
    from sessiondb import DbConfig, SessionDB
    out = {}
    with SessionDB.connect(DbConfig.local(sys.argv[1], read_only=True)) as db:
        out["messages"] = db.get_stats().message_count
        out["found"] = [h.session_id for h in db.search("read-only disk")]
    try:
        SessionDB.connect(DbConfig.local(sys.argv[1]))
    except Exception as exc:
        out["writable"] = str(exc)
    print(json.dumps(out))
""")


def test_read_only_handle_in_a_folder_the_user_cannot_write(tmp_path: Path) -> None:
    """Mode 0555 folder, 0444 file. Root runs the check without the capabilities that
    override file modes (setpriv), which is the same check a normal user gets."""
    path = _build(tmp_path / "locked")
    os.chmod(path, 0o444)
    os.chmod(tmp_path / "locked", 0o555)
    cmd = [sys.executable, "-c", _AS_NOBODY, str(path)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's override of file modes")
        cmd = [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--", *cmd]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["messages"] == 2 and out["found"] == ["s1"]
        assert "not writable" in out["writable"] and "read_only=True" in out["writable"], out
        assert not (tmp_path / "locked" / "sessions.db-shm").exists()
    finally:
        os.chmod(tmp_path / "locked", 0o755)
