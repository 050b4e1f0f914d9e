"""Chaos: four processes of mixed priorities ingest into one database while random ones
are SIGKILLed, SIGSTOPped and restarted.

About a minute by default; ``SESSIONDB_CHAOS_SECONDS=600`` runs it longer and
``SESSIONDB_CHAOS_SEED`` repeats a run. At the end: ``PRAGMA integrity_check`` is ok,
no uuid appears twice, every message of the source files (Claude Code session files) is
present after a final collection by the collector, and the audit shows no batch
committed under a writer after a newer writer claimed the row (nor after its own
release).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import apsw
from chaos_worker import AUDIT_DDL

from sessiondb import DbConfig, Role, SessionDB
from sessiondb.session_files import encode_project_path

CHAOS_SECONDS = float(os.environ.get("SESSIONDB_CHAOS_SECONDS", "50"))
WORKERS = [("memex_daemon", 1), ("vlaude_daemon", 1), ("memex_kit", 2), ("vlaude_kit", 2)]
TIMING = {"heartbeat_ms": 50, "timeout_ms": 400, "confirm_count": 2, "busy_timeout_ms": 2000, "poll_ms": 50}
WORKER_SCRIPT = Path(__file__).with_name("chaos_worker.py")
SESSIONS, MESSAGES_PER_SESSION = 12, 300


def write_sources(projects_root: Path, rng: random.Random) -> set[str]:
    """Claude Code session files (user and assistant text lines); returns every uuid."""
    uuids = set()
    for s in range(SESSIONS):
        session = f"chaos-session-{s:02d}"
        project = f"/work/chaos-{s % 3}"
        directory = projects_root / encode_project_path(project)
        directory.mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(MESSAGES_PER_SESSION):
            uuid = f"{session}-m{i:04d}"
            uuids.add(uuid)
            words = " ".join(rng.choice(["writer", "lock", "fence", "heartbeat", "takeover", "会话", "数据库"])
                             for _ in range(rng.randint(3, 12)))
            role = rng.choice(["user", "assistant"])
            content = f"{words} {i}" if role == "user" else [{"type": "text", "text": f"{words} {i}"}]
            stamp = datetime.fromtimestamp(1_760_000_000 + s * 10_000 + i, timezone.utc)
            lines.append(json.dumps({"type": role, "uuid": uuid, "sessionId": session, "cwd": project,
                                     "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                                     "message": {"role": role, "content": content}}))
        (directory / f"{session}.jsonl").write_text("\n".join(lines) + "\n")
    return uuids


class ChaosWorker:
    def __init__(self, db_path: Path, source_dir: Path, log_dir: Path, name: str, priority: int, seed: int) -> None:
        self.name = name
        self.log = open(log_dir / f"{name}-{seed}.log", "w")
        self.proc = subprocess.Popen([sys.executable, str(WORKER_SCRIPT), str(db_path), str(source_dir), name,
                                      str(priority), str(seed), json.dumps(TIMING)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.stopped_until: float | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None


def audit_violations(conn: apsw.Connection) -> tuple[list[str], dict[str, int]]:
    """Batches committed by a writer that was not the latest claimant (or had released)."""
    problems = []
    current: str | None = None
    counts = {"claim": 0, "release": 0, "batch": 0}
    writers_with_batches = set()
    for seq, kind, writer_id in conn.execute("SELECT seq, kind, writer_id FROM chaos_audit ORDER BY seq"):
        counts[kind] += 1
        if kind == "claim":
            current = writer_id
        elif kind == "release":
            if writer_id == current:
                current = None
        elif writer_id != current:
            problems.append(f"batch #{seq} committed by {writer_id} while the row belonged to {current}")
        else:
            writers_with_batches.add(writer_id)
    counts["writers"] = len(writers_with_batches)
    return problems, counts


def test_chaos_ingest_under_kill_stop_and_restart(tmp_path):
    seed = int(os.environ.get("SESSIONDB_CHAOS_SEED", str(time.time_ns() % 1_000_000)))
    print(f"chaos seed {seed} ({CHAOS_SECONDS:.0f} s)")
    rng = random.Random(seed)
    db_path = tmp_path / "chaos.db"
    source_dir = tmp_path / "projects"
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    expected = write_sources(source_dir, rng)
    setup = SessionDB.connect(DbConfig.local(db_path))
    setup._store.connection().execute(AUDIT_DDL)
    setup.close()

    workers = [ChaosWorker(db_path, source_dir, log_dir, name, prio, rng.randrange(10 ** 6)) for name, prio in WORKERS]
    actions = {"kill": 0, "stop": 0, "restart": 0}
    try:
        end = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.2, 0.8))
            now = time.monotonic()
            for i, worker in enumerate(workers):
                if worker.stopped_until is not None and now >= worker.stopped_until:
                    worker.proc.send_signal(signal.SIGCONT)
                    worker.stopped_until = None
                if not worker.alive():
                    name, prio = WORKERS[i]
                    worker.log.close()
                    workers[i] = ChaosWorker(db_path, source_dir, log_dir, name, prio, rng.randrange(10 ** 6))
                    actions["restart"] += 1
            victim = rng.choice(workers)
            if not victim.alive() or victim.stopped_until is not None:
                continue
            if rng.random() < 0.5:
                victim.proc.kill()
                victim.proc.wait()
                actions["kill"] += 1
            else:
                victim.proc.send_signal(signal.SIGSTOP)
                victim.stopped_until = now + rng.uniform(0.1, 1.5)
                actions["stop"] += 1
    finally:
        for worker in workers:
            if worker.alive():
                worker.proc.send_signal(signal.SIGCONT)
                worker.proc.terminate()
        for worker in workers:
            try:
                worker.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
            worker.log.close()

    # The final collection: a fresh writer collects every source file with the collector.
    final = SessionDB.connect(DbConfig.local(db_path))
    try:
        assert final.register_writer("final_collector", priority=100) is Role.WRITER
        collected = final.collect_all(["claude"], roots={"claude": str(source_dir)})
        assert collected.error_count == 0, collected.errors
        assert final.integrity_check().ok
        assert final.fts_integrity_check().ok
        conn = final._store.connection()
        total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM messages").fetchone()
        assert total == distinct
        stored = {row[0] for row in conn.execute("SELECT uuid FROM messages")}
        assert stored == expected
        mismatched = conn.execute("SELECT COUNT(*) FROM sessions s WHERE message_count != "
                                  "(SELECT COUNT(*) FROM messages m WHERE m.session_id = s.session_id)").fetchone()[0]
        assert mismatched == 0
        problems, counts = audit_violations(conn)
        print(f"chaos actions {actions}, audit {counts}")
        assert problems == []
        # The run really exercised failover: several writers committed, roles changed hands.
        assert actions["kill"] + actions["stop"] > 0
        assert counts["writers"] >= 2 and counts["claim"] >= 2
    finally:
        final.close()
