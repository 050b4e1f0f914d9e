"""Paths that are not regular files, handed to the C ABI's file readers and to the
collector: /dev/zero, a FIFO (nobody writing), a directory and a socket. Each reader
answers at once with an error code and a clear ``session_db_last_error``; nothing
blocks, nothing streams /dev/zero into memory. Runs in a child with a timeout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from capi_helpers import C_DIR, compile_c, isolated_env, run

from sessiondb.errors import InvalidArgument
from sessiondb.session_files import parse_jsonl, read_session_messages


@pytest.fixture
def hostile_paths(tmp_path: Path):
    fifo = tmp_path / "session.jsonl"
    os.mkfifo(fifo)
    directory = tmp_path / "dir.jsonl"
    directory.mkdir()
    sock_path = tmp_path / "sock.jsonl"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    yield ["/dev/zero", str(fifo), str(directory), str(sock_path)]
    server.close()


def test_capi_file_functions_refuse_non_regular_paths(tmp_path: Path, hostile_paths: list[str]) -> None:
    program = compile_c(C_DIR / "capi_non_regular.c", tmp_path / "capi_non_regular")
    done = run([str(program), *hostile_paths], env=isolated_env(tmp_path), timeout=60)
    print("\n" + done.stdout)


def test_python_readers_refuse_non_regular_paths(hostile_paths: list[str]) -> None:
    for path in hostile_paths:
        with pytest.raises(InvalidArgument, match="not a session file"):
            read_session_messages(path, limit=10)
        with pytest.raises(InvalidArgument, match="not a session file"):
            parse_jsonl(path)


def test_collector_skips_a_fifo_among_session_files(tmp_path: Path) -> None:
    """A FIFO with a session file's name in a source folder, and one passed to collect_by_path."""
    project = tmp_path / "claude" / "-work-x"
    project.mkdir(parents=True)
    (project / "good.jsonl").write_text('{"type":"user","uuid":"g1","sessionId":"good","cwd":"/work/x",'
                                        '"timestamp":"2025-01-01T00:00:00Z","message":{"role":"user","content":"hi"}}\n')
    os.mkfifo(project / "fifo.jsonl")
    script = (
        "import sys\nfrom sessiondb import DbConfig, SessionDB\n"
        "db = SessionDB.connect(DbConfig.local(sys.argv[1]))\n"
        "roots = {'claude': sys.argv[2], 'codex': sys.argv[3], 'opencode': sys.argv[3], 'gemini': sys.argv[3]}\n"
        "print(db.collect_all(roots=roots).messages_inserted)\n"
        "print(db.collect_by_path(sys.argv[4], roots=roots).messages_inserted)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "db.sqlite"), str(tmp_path / "claude"),
                           str(tmp_path / "none"), str(project / "fifo.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def test_file_readers_apply_the_line_cap(tmp_path: Path) -> None:
    """A line over 64 MB in a session file read through the file functions is skipped
    (as the collector skips it); the lines around it are read."""
    path = tmp_path / "big.jsonl"
    good = '{"type":"user","uuid":"u%d","sessionId":"big","cwd":"/w","timestamp":"2025-01-01T00:00:0%dZ",' \
           '"message":{"role":"user","content":"line %d"}}\n'
    with open(path, "w", encoding="utf-8") as out:
        out.write(good % (1, 1, 1))
        out.write('{"type":"user","uuid":"huge","message":{"role":"user","content":"' + "z" * (65 << 20) + '"}}\n')
        out.write(good % (2, 2, 2))
    page = read_session_messages(str(path))
    assert [m.uuid for m in page.messages] == ["u1", "u2"]
    parsed = parse_jsonl(str(path))
    assert parsed is not None and [m.uuid for m in parsed.messages] == ["u1", "u2"]
