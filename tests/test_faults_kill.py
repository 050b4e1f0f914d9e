"""SIGKILL at random points of a collection, then a re-collection: the database equals a
one-shot collection of the same files (no message lost or doubled, the same session
counts, ``integrity_check`` ok, and a further collection writes nothing).

Between kills, lines are appended to random session files, so resumption from saved
offsets is exercised too. Quick by default (6 kills); ``SESSIONDB_CHAOS=1`` runs 60
kills on a larger corpus, ``SESSIONDB_CHAOS_SEED`` repeats a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from fault_helpers import claude_line, reference_collect, roots_for, sessions_of, stored, write_corpus

from sessiondb import DbConfig, SessionDB

CHAOS = os.environ.get("SESSIONDB_CHAOS") == "1"
KILLS = 60 if CHAOS else 6
SEED = int(os.environ.get("SESSIONDB_CHAOS_SEED", str(random.randrange(1 << 30))))

_COLLECT = textwrap.dedent("""
    import sys
    from sessiondb import DbConfig, SessionDB
    from sessiondb.collector import Collector
    db_path, claude, empty = sys.argv[1:4]
    roots = {"claude": claude, "codex": empty, "opencode": empty, "gemini": empty}
    db = SessionDB.connect(DbConfig.local(db_path))
    print("ready", flush=True)
    # Small batches: many commits, so a kill lands between, inside and around them.
    Collector(db, roots=roots, batch_messages=150, batch_bytes=1 << 18,
              on_progress=lambda result: print("progress", flush=True)).collect_all()
    print("done", flush=True)
""")


def _start(db_path: Path, claude: Path, tmp_path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", _COLLECT, str(db_path), str(claude), str(tmp_path / "none")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
    return child


def test_sigkill_during_collect_then_recollect_equals_one_shot(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"\nseed {SEED}")
    claude = tmp_path / "claude"
    write_corpus(claude, sessions=60 if CHAOS else 20, messages=300, words=40)
    files = sorted(claude.rglob("*.jsonl"))
    db_path = tmp_path / "killed.db"
    SessionDB.connect(DbConfig.local(db_path)).close()
    appended = 0
    finished_early = 0
    for _ in range(KILLS):
        child = _start(db_path, claude, tmp_path)
        # A random point: after a random number of progress reports (a unit read or a
        # batch written), then a random few milliseconds into whatever comes next.
        line = ""
        for _ in range(rng.randint(1, 10)):
            line = child.stdout.readline().strip()
            if line != "progress":
                break
        if line == "progress":
            time.sleep(rng.uniform(0.0, 0.03))
            child.send_signal(signal.SIGKILL)
        else:
            finished_early += 1
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
        # New lines land while no collector runs (a session that goes on).
        for path in rng.sample(files, 2):
            with open(path, "a", encoding="utf-8") as out:
                for _ in range(rng.randint(1, 20)):
                    appended += 1
                    out.write(claude_line(path.stem, 100_000 + appended, f"appended line {appended} 续写") + "\n")
    final = _start(db_path, claude, tmp_path)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0 and "done" in out, err
    print(f"{KILLS} kills ({finished_early} runs finished before their kill), {appended} lines appended")

    reference = reference_collect(claude, tmp_path)
    with SessionDB.connect(DbConfig.local(db_path)) as db:
        assert db.integrity_check().ok
        assert db.fts_integrity_check().ok
        assert stored(db) == stored(reference)
        assert sessions_of(db) == sessions_of(reference)
        again = db.collect_all(roots=roots_for(claude, tmp_path))
        assert again.messages_inserted == 0 and again.files_read == 0
