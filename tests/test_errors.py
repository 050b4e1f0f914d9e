"""Errors say what happened: SQLite's result code travels with a DatabaseError, to
Python callers and through the C ABI; a bad argument is an InvalidArgument."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from capi_helpers import isolated_env, library_path
from helpers import add_session, msg

from sessiondb import DatabaseError, DbConfig, InvalidArgument, MessageType, SessionDB

SQLITE_FULL, SQLITE_NOTADB = 13, 26


def test_a_full_database_reports_sqlite_full(db: SessionDB) -> None:
    add_session(db, "s", ["first"])
    pages = db._store.read_value("PRAGMA page_count")
    db._store.read(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DatabaseError) as caught:
        db.insert_messages("s", [msg(f"big-{i}", "x" * 20_000, seq=i + 1) for i in range(50)])
    assert caught.value.sqlite_code is not None and caught.value.sqlite_code & 0xFF == SQLITE_FULL
    assert "full" in str(caught.value)
    assert db.get_session_message_count("s") == 1   # nothing of the batch was written


def test_a_file_that_is_not_a_database_reports_notadb(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database, just text" * 200)
    with pytest.raises(DatabaseError) as caught:
        SessionDB.connect(DbConfig.local(junk))
    assert caught.value.sqlite_code == SQLITE_NOTADB


def test_errors_that_are_not_sqlites_have_no_code(db: SessionDB) -> None:
    with pytest.raises(InvalidArgument):
        db.search("x", limit=-1)
    with pytest.raises(InvalidArgument):
        MessageType.from_code(9)
    with pytest.raises(InvalidArgument):
        db.checkpoint("SOMETIMES")
    assert DatabaseError("plain").sqlite_code is None


C_ABI_SCRIPT = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.session_db_last_error.restype = ctypes.c_char_p
handle = ctypes.c_void_p()
rc = lib.session_db_connect(sys.argv[2].encode(), ctypes.byref(handle))
print("junk", rc, lib.session_db_last_error_code(), lib.session_db_last_sqlite_code())
rc = lib.session_db_connect(sys.argv[3].encode(), ctypes.byref(handle))
print("good", rc, lib.session_db_last_error_code(), lib.session_db_last_sqlite_code())
lib.session_db_close(handle)
"""


def test_the_c_abi_hands_out_the_sqlite_code(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 500)
    done = subprocess.run([sys.executable, "-c", C_ABI_SCRIPT, str(library_path()), str(junk),
                           str(tmp_path / "good.db")], capture_output=True, text=True, timeout=60,
                          env=isolated_env(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["junk"].split() == ["3", "3", str(SQLITE_NOTADB)]   # DatabaseError, and why
    assert lines["good"].split() == ["0", "0", "0"]                  # cleared by the next call
