"""One ingesting process of the chaos test (tests/test_chaos.py).

    python chaos_worker.py <db> <Claude projects root> <writer name> <priority> <seed> <timing json>

Runs a Coordinator and, while it is Writer, ingests random chunks of the Claude Code
session files under the root into the database in batches. Each batch writes, in the same transaction, an
audit row naming the writer id it committed under; triggers installed by the test
record every claim and release of the registry row in the same table, so the commit
order of claims and batches can be checked afterwards. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import threading
import time
from pathlib import Path

from sessiondb import (CoordinationConfig, Coordinator, DatabaseError, DbConfig, MessageInput, MessageType,
                       PermissionDenied, Role, SessionDB)
from sessiondb.timeutil import parse_timestamp_ms

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS chaos_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- claim / release / batch
    writer_id TEXT,
    batch_size INTEGER,
    pid INTEGER
);
CREATE TRIGGER IF NOT EXISTS chaos_claim_insert AFTER INSERT ON writer_registry BEGIN
    INSERT INTO chaos_audit(kind, writer_id) VALUES ('claim', new.writer_id);
END;
CREATE TRIGGER IF NOT EXISTS chaos_claim_update AFTER UPDATE OF writer_id ON writer_registry BEGIN
    INSERT INTO chaos_audit(kind, writer_id) VALUES ('claim', new.writer_id);
END;
CREATE TRIGGER IF NOT EXISTS chaos_release AFTER DELETE ON writer_registry BEGIN
    INSERT INTO chaos_audit(kind, writer_id) VALUES ('release', old.writer_id);
END;
"""


def load_sources(projects_root: Path) -> list[tuple[str, str, list[MessageInput]]]:
    """(session id, project path, messages) per Claude Code session file under the root.

    A deliberately small reading of the format (text messages only), keeping what the
    collector keeps as identity: the line's uuid, the file's session id, the cwd.
    """
    sessions = []
    for path in sorted(projects_root.glob("*/*.jsonl")):
        messages = []
        project = ""
        for sequence, line in enumerate(path.read_text().splitlines()):
            record = json.loads(line)
            project = record["cwd"]
            content = record["message"]["content"]
            text = content if isinstance(content, str) else " ".join(part["text"] for part in content)
            messages.append(MessageInput(uuid=record["uuid"], type=MessageType(record["message"]["role"]),
                                         content_text=text, content_full=text,
                                         timestamp=parse_timestamp_ms(record["timestamp"]) or 0, sequence=sequence))
        sessions.append((path.stem, project, messages))
    return sessions


def ingest(db: SessionDB, session_id: str, project: str, messages: list[MessageInput]) -> int:
    """One batch and its audit row, in one write transaction."""
    with db._store.write() as conn:
        pid = db.get_or_create_project(Path(project).name, project, "claude")
        db.upsert_session(session_id, pid)
        inserted = db.insert_messages(session_id, messages)
        conn.execute("INSERT INTO chaos_audit(kind, writer_id, batch_size, pid) VALUES ('batch', ?, ?, ?)",
                     (db.writer_id, len(messages), None))
    return inserted


def main() -> None:
    db_path, source_dir, name, priority, seed, timing = sys.argv[1:7]
    settings = json.loads(timing)
    rng = random.Random(int(seed))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sources = load_sources(Path(source_dir))
    db = SessionDB.connect(DbConfig.local(db_path, busy_timeout_ms=settings["busy_timeout_ms"],
                                          coordination=CoordinationConfig(settings["heartbeat_ms"],
                                                                          settings["timeout_ms"],
                                                                          settings["confirm_count"])))
    coordinator = Coordinator(db, name, priority=int(priority), poll_interval_ms=settings["poll_ms"])
    while not stop.is_set():
        try:
            coordinator.start()
            break
        except DatabaseError:   # a stopped peer holds the write lock: try again
            time.sleep(0.05)
    batches = refused = 0
    while not stop.is_set():
        if coordinator.role is not Role.WRITER:
            stop.wait(0.02)
            continue
        session_id, project, messages = rng.choice(sources)
        start = rng.randrange(len(messages))
        chunk = messages[start:start + rng.randint(1, 40)]
        try:
            ingest(db, session_id, project, chunk)
            batches += 1
        except PermissionDenied:
            refused += 1
        except DatabaseError:
            pass   # locked past the busy timeout by a stopped peer
        stop.wait(rng.uniform(0.002, 0.02))
    try:
        coordinator.stop(release=True)
    except DatabaseError:
        pass   # the row stays; our lock file, dropped on exit, hands the role on
    db.close()
    print(json.dumps({"name": name, "batches": batches, "refused": refused}), flush=True)


if __name__ == "__main__":
    main()
