"""Failover time: from SIGKILL of the writer process to another process being Writer.

    python bench/failover_bench.py                      # both paths, 20 runs each
    python bench/failover_bench.py --runs 40 --path lock
    python bench/failover_bench.py --path heartbeat --heartbeat-ms 10000 --timeout-ms 30000  # product defaults (slow)

Lock-file path: the writer is a sessiondb process (it holds its lock file); the reader
runs a Coordinator, whose poll finds the lock free and takes over.
Heartbeat path: the writer is a foreign process that heartbeats the registry row with
the original library's SQL and has no lock file; the reader needs the heartbeat to
stand still for ``timeout_ms`` on ``confirm_count`` consecutive checks.

Each run starts a fresh writer and reader, waits a random fraction of a poll/heartbeat
interval (so the kill lands at a random phase), SIGKILLs the writer and reads the
CLOCK_MONOTONIC time (shared by all processes) at which the reader reports Writer.
Timings are wall clock on whatever machine runs it: compare runs made side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sessiondb import CoordinationConfig, Coordinator, DbConfig, Role, SessionDB, WriterType


# ---------------------------------------------------------------------------------- child processes
def _config(args: argparse.Namespace, path: str) -> DbConfig:
    return DbConfig.local(path, coordination=CoordinationConfig(args.heartbeat_ms, args.timeout_ms, args.confirm))


def run_writer(args: argparse.Namespace) -> None:
    """A sessiondb writer: registers, heartbeats, waits to be killed."""
    db = SessionDB.connect(_config(args, args.db))
    coordinator = Coordinator(db, WriterType.MEMEX_KIT, poll_interval_ms=args.poll_ms)
    role = coordinator.start()
    print(json.dumps({"ready": int(role)}), flush=True)
    signal.pause()


def run_foreign_writer(args: argparse.Namespace) -> None:
    """A writer as the original library is one: a row, wall-clock heartbeats, no lock file."""
    import apsw

    conn = apsw.Connection(args.db)
    conn.set_busy_timeout(5000)
    writer_id = str(uuid.uuid4())
    now = time.time_ns() // 1_000_000
    conn.execute("DELETE FROM writer_registry")
    conn.execute("INSERT INTO writer_registry VALUES (1, 'memex_kit', ?, 2, ?, ?)", (writer_id, now, now))
    print(json.dumps({"ready": 0}), flush=True)
    while True:
        time.sleep(args.heartbeat_ms / 1000)
        conn.execute("UPDATE writer_registry SET heartbeat = ? WHERE id = 1 AND writer_id = ?",
                     (time.time_ns() // 1_000_000, writer_id))


def run_reader(args: argparse.Namespace) -> None:
    """A Coordinator that reports, on CLOCK_MONOTONIC, when it becomes Writer."""
    db = SessionDB.connect(_config(args, args.db))

    def on_role(role: Role) -> None:
        print(json.dumps({"role": int(role), "mono_ns": time.monotonic_ns()}), flush=True)

    coordinator = Coordinator(db, WriterType.MEMEX_DAEMON, on_role_change=on_role, poll_interval_ms=args.poll_ms)
    signal.signal(signal.SIGTERM, lambda *_: (coordinator.stop(), db.close(), os._exit(0)))
    coordinator.start()
    signal.pause()


# ---------------------------------------------------------------------------------- driver
def _spawn(args: argparse.Namespace, role: str, db: str) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--child", role, "--db", db, "--heartbeat-ms", str(args.heartbeat_ms),
           "--timeout-ms", str(args.timeout_ms), "--confirm", str(args.confirm), "--poll-ms", str(args.poll_ms)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def _line(proc: subprocess.Popen, timeout: float) -> dict:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"process {proc.pid} said nothing within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"process {proc.pid} exited ({proc.poll()})")
    return json.loads(line)


def one_run(args: argparse.Namespace, path: str, db: str, rng: random.Random) -> float:
    writer = _spawn(args, "foreign" if path == "heartbeat" else "writer", db)
    reader = None
    try:
        assert _line(writer, 30)["ready"] == int(Role.WRITER)
        reader = _spawn(args, "reader", db)
        assert _line(reader, 30)["role"] == int(Role.READER)
        phase_ms = args.poll_ms if path == "lock" else args.heartbeat_ms
        time.sleep(0.2 + rng.uniform(0, phase_ms / 1000))
        killed_at = time.monotonic_ns()
        writer.kill()
        limit = 5 + 2 * (args.timeout_ms + args.confirm * args.heartbeat_ms) / 1000
        while True:
            event = _line(reader, limit)
            if event["role"] == int(Role.WRITER):
                return (event["mono_ns"] - killed_at) / 1e6
    finally:
        writer.kill()
        writer.wait()
        if reader is not None:
            reader.terminate()
            reader.wait()


def measure(args: argparse.Namespace, path: str) -> list[float]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="sessiondb-failover-") as tmp:
        db = str(Path(tmp) / "failover.db")
        SessionDB.connect(DbConfig.local(db)).close()
        return [one_run(args, path, db, rng) for _ in range(args.runs)]


def report(path: str, times: list[float], args: argparse.Namespace) -> None:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    print(f"{path:9s} runs={len(times):3d}  median={statistics.median(times):8.1f} ms  min={ordered[0]:8.1f} ms  "
          f"p90={p90:8.1f} ms  max={ordered[-1]:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", choices=["lock", "heartbeat", "both"], default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--heartbeat-ms", type=int, default=100)
    parser.add_argument("--timeout-ms", type=int, default=500)
    parser.add_argument("--confirm", type=int, default=3)
    parser.add_argument("--poll-ms", type=int, default=200, help="Coordinator poll interval (library default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=["writer", "foreign", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"writer": run_writer, "foreign": run_foreign_writer, "reader": run_reader}[args.child](args)
        return
    print(f"heartbeat_interval_ms={args.heartbeat_ms} timeout_ms={args.timeout_ms} confirm_count={args.confirm} "
          f"poll_interval_ms={args.poll_ms}")
    expected = args.timeout_ms + (args.confirm - 1) * args.heartbeat_ms
    for path in (["lock", "heartbeat"] if args.path == "both" else [args.path]):
        times = measure(args, path)
        report(path, times, args)
        if path == "heartbeat":
            print(f"          (rule: takeover {expected} ms after the last heartbeat seen, "
                  f"the kill lands up to {args.heartbeat_ms} ms after it)")


if __name__ == "__main__":
    main()
