"""Collecting with a parse worker process (sessiondb.parse_worker) writes exactly what a
collection that reads in process writes, and keeps every guarantee of the collector:
a killed worker is reported and the next collection resumes, a hostile file loses no
other file, a warm rescan writes nothing, small collections start no process, and a
host that is not Python (a C program using the library) gets the worker too."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from capi_helpers import C_DIR, compile_c, isolated_env, run
from collect_helpers import FIXTURES, StatementLog, opencode_tree
from fault_helpers import claude_line, sessions_of, stored, write_corpus

from sessiondb import DbConfig, SessionDB
from sessiondb.collector import Collector
from sessiondb.parse_worker import HELLO, _read_data
from sessiondb.session_files import encode_project_path

# Columns that hold the time of writing, not anything read from the files.
_WRITE_TIMES = {"created_at", "updated_at"}
_TABLES = ("projects", "sessions", "messages", "file_state", "usage", "messages_cjk_pending",
           "messages_fts_docsize", "messages_cjk_docsize")


def snapshot(db: SessionDB) -> dict[str, list[tuple[object, ...]]]:
    """Every table a collection writes, row by row (write times left out)."""
    conn = db._store.connection()
    out = {}
    for table in _TABLES:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] not in _WRITE_TIMES]
        order = ", ".join(str(n + 1) for n in range(len(columns)))
        out[table] = list(conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"))
    return out


def mixed_corpus(tmp_path: Path) -> dict[str, object]:
    """The fixtures of four agents (OpenCode's database units are read in process, its
    JSON files in the worker), plus larger Claude files with CJK text and a hostile one."""
    claude = tmp_path / "claude" / "projects"
    shutil.copytree(FIXTURES / "claude" / "projects", claude)
    write_corpus(claude, sessions=8, messages=120, words=30, prefix="big")
    hostile = claude / encode_project_path("/work/hostile") / "hostile.jsonl"
    hostile.parent.mkdir(parents=True)
    with hostile.open("wb") as out:
        out.write(claude_line("hostile", 1, "before the junk").encode() + b"\n")
        out.write(b"[" * 100_000 + b"\n")                        # nested too deeply
        out.write(b'{"type":"user","uuid":"bad-utf8","message":{"content":"\xff\xfe"}}\n')
        out.write(b"\x00\x01\x02 binary junk \x00\n")
        out.write(claude_line("hostile", 2, "after the junk 后面").encode() + b"\n")
        out.write(b'{"type":"user","uuid":"cut-off","message":{"content":"no end')
    return {"claude": claude, "codex": FIXTURES / "codex", "opencode": opencode_tree(tmp_path),
            "gemini": FIXTURES / "gemini" / "tmp"}


def collect(db_path: Path, roots: dict[str, object], *, worker: bool, **options: object
            ) -> tuple[Collector, set[int | None]]:
    db = SessionDB.connect(DbConfig.local(db_path))
    pids: set[int | None] = set()
    collector = Collector(db, roots=roots, parse_worker=worker,
                          on_progress=lambda result: pids.add(collector.parse_worker_pid), **options)
    collector.collect_all()
    db.close()
    return collector, pids


def test_the_worker_writes_exactly_the_rows_of_a_read_in_process(tmp_path: Path) -> None:
    roots = mixed_corpus(tmp_path)
    runs = {}
    for worker in (False, True):
        # Small batches: many batch boundaries inside files, each one a piece of its own.
        collector, pids = collect(tmp_path / f"w{worker}.db", roots, worker=worker, batch_messages=37)
        assert (any(pids) if worker else pids == {None}), pids
        r = collector.result
        runs[worker] = (r.messages_inserted, r.bad_lines, sorted(r.errors), r.files_read, r.bytes_read,
                        r.sessions_scanned, r.projects_scanned, dict(r.unknown_records), dict(r.skipped_records))
    assert runs[True] == runs[False]
    assert runs[True][0] > 1000 and runs[True][1] >= 3
    with SessionDB.connect(DbConfig.local(tmp_path / "wTrue.db")) as parallel, \
            SessionDB.connect(DbConfig.local(tmp_path / "wFalse.db")) as serial:
        assert snapshot(parallel) == snapshot(serial)
        assert snapshot(parallel)["usage"], "the fixtures' token counts crossed from the worker"
        assert parallel.fts_integrity_check().ok and parallel.integrity_check().ok
        assert [h.session_id for h in parallel.search("后面")] == ["hostile"]

    # Appends are read from the saved offsets, each database by the other way of reading.
    files = sorted(Path(str(roots["claude"])).rglob("big-00*.jsonl"))
    for n, path in enumerate(files):
        with path.open("a", encoding="utf-8") as out:
            out.write("\n".join(claude_line(path.stem, 10_000 + i, f"appended {n} {i} 追加") for i in range(50)) + "\n")
    for worker in (False, True):
        collector, _ = collect(tmp_path / f"w{not worker}.db", roots, worker=worker, batch_messages=37)
        assert collector.result.messages_inserted == 50 * len(files)
    with SessionDB.connect(DbConfig.local(tmp_path / "wTrue.db")) as parallel, \
            SessionDB.connect(DbConfig.local(tmp_path / "wFalse.db")) as serial:
        assert snapshot(parallel) == snapshot(serial)
        # A warm rescan reads nothing, starts no worker and writes nothing.
        pids = set()
        collector = Collector(parallel, roots=roots, parse_worker=True,
                              on_progress=lambda result: pids.add(collector.parse_worker_pid))
        with StatementLog(parallel) as log:
            result = collector.collect_all()
        assert result.files_read == 0 and log.writes == [] and log.changes == 0 and pids <= {None}


def test_a_killed_worker_is_reported_and_the_next_collection_resumes(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    write_corpus(claude, sessions=30, messages=300, words=40)
    roots = {"claude": claude, "codex": tmp_path / "none", "opencode": tmp_path / "none",
             "gemini": tmp_path / "none"}
    db = SessionDB.connect(DbConfig.local(tmp_path / "killed.db"))
    killed: list[int] = []

    def kill_once(result: object) -> None:
        pid = collector.parse_worker_pid
        if pid is not None and not killed and result.messages_inserted:   # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    # Small batches: the worker reads no more than two of them ahead, so it is still
    # reading when it is killed.
    collector = Collector(db, roots=roots, parse_worker=True, batch_messages=150, batch_bytes=64 << 10,
                          on_progress=kill_once)
    first = collector.collect_all()
    assert killed, "the worker never ran"
    assert any("parse worker stopped (killed by signal 9)" in e and "next collection reads the rest of it" in e
               for e in first.errors), first.errors
    # Nothing half-written, and the files after the killed one were read in process.
    assert db.integrity_check().ok and first.messages_inserted > 0
    again = Collector(db, roots=roots, parse_worker=True).collect_all()
    assert again.error_count == 0 and first.messages_inserted + again.messages_inserted == 30 * 300
    assert Collector(db, roots=roots).collect_all().files_read == 0
    # The same messages and sessions as one collection without a kill (ids aside: the
    # file left for the next collection was stored after the others).
    collect(tmp_path / "reference.db", roots, worker=False)
    with SessionDB.connect(DbConfig.local(tmp_path / "reference.db")) as expected:
        assert stored(db) == stored(expected) and sessions_of(db) == sessions_of(expected)
    db.close()


def test_small_collections_read_in_process_and_large_ones_start_the_worker(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONDB_PARSE_WORKER", raising=False)
    claude = tmp_path / "claude"
    write_corpus(claude, sessions=3, messages=50)
    roots = {"claude": claude, "codex": tmp_path / "none", "opencode": tmp_path / "none",
             "gemini": tmp_path / "none"}
    _, pids = collect(tmp_path / "small.db", roots, worker=None)   # type: ignore[arg-type]
    assert pids == {None}
    # Over the threshold (8 MiB of files to read): the default starts a worker.
    write_corpus(claude, sessions=12, messages=800, words=120, prefix="large")
    _, pids = collect(tmp_path / "small.db", roots, worker=None)   # type: ignore[arg-type]
    assert any(pids)
    # And the switch in the environment turns it off.
    monkeypatch.setenv("SESSIONDB_PARSE_WORKER", "0")
    write_corpus(claude, sessions=12, messages=800, words=120, prefix="more")
    _, pids = collect(tmp_path / "small.db", roots, worker=None)   # type: ignore[arg-type]
    assert pids == {None}


def test_without_a_python_to_start_files_are_read_in_process(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    claude = tmp_path / "claude"
    count = write_corpus(claude, sessions=4, messages=60)
    roots = {"claude": claude, "codex": tmp_path / "none", "opencode": tmp_path / "none",
             "gemini": tmp_path / "none"}
    monkeypatch.setenv("SESSIONDB_PYTHON", str(tmp_path / "no-such-python"))
    collector, pids = collect(tmp_path / "nopython.db", roots, worker=True)
    assert pids == {None} and collector.result.messages_inserted == count and collector.result.error_count == 0
    # An interpreter that cannot run the worker (it exits at once) is the same.
    fake = tmp_path / "python-false"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SESSIONDB_PYTHON", str(fake))
    collector, _ = collect(tmp_path / "fake.db", roots, worker=True)
    assert collector.result.messages_inserted == count and collector.result.error_count == 0


# A stand-in worker: it greets as the real one does, takes the first unit, then sends
# a frame whose bytes are not a pickle, or a length no frame has, and waits.
_CORRUPT_WORKER = """\
import pickle, struct, sys, time
out = sys.stdout.buffer
hello = pickle.dumps({hello!r})
out.write(struct.pack(">Q", len(hello)) + hello)
out.flush()
size = struct.unpack(">Q", sys.stdin.buffer.read(8))[0]
sys.stdin.buffer.read(size)
out.write({junk})
out.flush()
time.sleep(60)
"""


@pytest.mark.parametrize("junk", [
    'struct.pack(">Q", 7) + bytes([0x80, 5, 0x8c, 2, 0xff, 0xfe, 0x2e])',  # a pickled str, not UTF-8
    'struct.pack(">Q", 6) + bytes(6)',                                   # not a pickle
    'struct.pack(">Q", 1 << 62)',                                        # a length no frame has
])
def test_a_worker_that_sends_a_corrupt_frame_is_reported_and_the_rest_is_read_in_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, junk: str) -> None:
    claude = tmp_path / "claude"
    count = write_corpus(claude, sessions=6, messages=60)
    roots = {"claude": claude, "codex": tmp_path / "none", "opencode": tmp_path / "none",
             "gemini": tmp_path / "none"}
    fake = tmp_path / "python-corrupt"
    fake.write_text(f"#!{sys.executable}\n" + _CORRUPT_WORKER.format(junk=junk, hello=HELLO))
    fake.chmod(0o755)
    monkeypatch.setenv("SESSIONDB_PYTHON", str(fake))
    collector, _ = collect(tmp_path / "corrupt.db", roots, worker=True)
    errors = collector.result.errors
    assert len(errors) == 1, errors
    assert ("the parse worker" in errors[0] and "while reading this file; the next collection reads the rest of it"
            in errors[0]), errors
    # One file (the one the worker had) is left; the others were read here; the next
    # collection, without the worker, reads the one left.
    first = collector.result.messages_inserted
    assert first == count - 60, first
    monkeypatch.delenv("SESSIONDB_PYTHON")
    again, _ = collect(tmp_path / "corrupt.db", roots, worker=False)
    assert again.result.error_count == 0 and first + again.result.messages_inserted == count


def test_the_c_abi_collects_with_the_worker_in_a_host_that_is_not_python(tmp_path: Path) -> None:
    program = compile_c(C_DIR / "capi_parse_worker.c", tmp_path / "capi_parse_worker")
    projects = tmp_path / "claude-projects"
    count = write_corpus(projects, sessions=6, messages=80)
    peaks = {}
    for mode in ("1", "0"):
        env = isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=str(projects), SESSIONDB_PARSE_WORKER=mode)
        env.pop("SESSIONDB_PYTHON", None)
        done = run([str(program), str(tmp_path / f"capi-{mode}.db"), str(count)], env=env, timeout=180)
        peaks[mode] = int(done.stdout.split("children_maxrss_kb ")[1].split()[0])
    # A child process ran (the worker) only where it was asked for.
    assert peaks["1"] > 0 and peaks["0"] == 0, peaks
    with SessionDB.connect(DbConfig.local(tmp_path / "capi-1.db")) as parallel, \
            SessionDB.connect(DbConfig.local(tmp_path / "capi-0.db")) as serial:
        assert snapshot(parallel)["messages"] == snapshot(serial)["messages"]


def test_the_worker_module_does_not_load_with_the_package() -> None:
    # The C ABI's first call pays every import: the worker and multiprocessing stay out.
    code = ("import sys, sessiondb; from sessiondb import DbConfig, SessionDB; import sessiondb.collector; "
            "print(json.dumps(sorted(m for m in sys.modules if 'parse_worker' in m or m.startswith('multiprocessing')"
            " or m == 'subprocess')))")
    done = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout) == []


def _with_this_path() -> dict[str, str]:
    """The environment for a child Python that imports the sessiondb under test."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


_SIGNALLED_WRITER = """\
import hashlib, os, random, signal, sys
from sessiondb.parse_worker import _frame, _write_all
signal.signal(signal.SIGUSR1, lambda *_: None)
rng = random.Random(7)
print("ready", file=sys.stderr, flush=True)
for i in range(int(sys.argv[1])):
    payload = rng.randbytes(rng.randint(500_000, 2_000_000))
    _write_all(1, *_frame((i, hashlib.sha1(payload).hexdigest(), payload)))
"""


def test_frames_arrive_whole_while_signals_interrupt_the_writes(tmp_path: Path) -> None:
    # A signal handled in the sending process cuts pipe writes short; every frame must
    # still arrive whole and in order (writes through the buffered sys.stdout garbled it).
    frames = 400
    child = subprocess.Popen([sys.executable, "-c", _SIGNALLED_WRITER, str(frames)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=_with_this_path())
    assert child.stdout is not None and child.stderr is not None
    assert child.stderr.readline().strip() == b"ready"
    done = threading.Event()

    def interrupt() -> None:
        while not done.wait(0.001):
            try:
                os.kill(child.pid, signal.SIGUSR1)
            except ProcessLookupError:
                return
    spammer = threading.Thread(target=interrupt)
    spammer.start()
    try:
        for i in range(frames):
            got, digest, payload = pickle.loads(_read_data(child.stdout))
            assert (got, digest) == (i, hashlib.sha1(payload).hexdigest())
    finally:
        done.set()
        spammer.join()
        child.kill()
        child.wait()


@pytest.mark.parametrize("junk", [b"\x40" + bytes(7), (6).to_bytes(8, "big") + bytes(6)],
                         ids=["a length no frame has", "not a pickle"])
def test_the_worker_ends_on_input_it_cannot_read(junk: bytes) -> None:
    # The worker reads what the collector sends; a corrupt frame ends its input (it
    # finishes and exits), never leaves it waiting for units that cannot come.
    worker = subprocess.Popen([sys.executable, "-c", "from sessiondb.parse_worker import main; main()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_with_this_path())
    assert worker.stdin is not None and worker.stdout is not None
    try:
        assert pickle.loads(_read_data(worker.stdout)) == HELLO
        worker.stdin.write(junk)
        worker.stdin.flush()      # (the pipe stays open: only the frame can end the input)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
        worker.wait()
