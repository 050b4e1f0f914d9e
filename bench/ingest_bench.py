"""Ingest benchmarks: cold collection, warm rescan, append-to-searchable latency.

    python bench/corpus.py --out bench/out/corpus --messages 200000
    python bench/ingest_bench.py cold --corpus bench/out/corpus --db bench/out/ingest.db
    python bench/ingest_bench.py warm --corpus bench/out/corpus --db bench/out/ingest.db
    python bench/ingest_bench.py append --corpus bench/out/corpus --db bench/out/ingest.db
    python bench/ingest_bench.py watch --corpus bench/out/corpus --db bench/out/ingest.db

``cold`` starts from an empty database (all indexes and triggers in place) and reports
messages/s, MB/s of source files and peak RSS (of this process, and the parse worker's
own peak); then, in a child process, the SQLite floor for the same rows
(bench/sqlite_floor.py: plain SQLite building the same tables, indexes and full-text
content from the rows already in memory) and the ratio collect / floor. ``--rounds N``
alternates the two N times and reports the best of each (and every round). ``warm`` collects again with nothing changed: time, rows written and write
statements (must be 0). ``append`` appends one line to a session file and measures the
time until ``collect_by_path`` has made it searchable; ``watch`` does the same through
a running :class:`sessiondb.watch.Watcher` (file event, debounce, collect, search). Timings depend on the machine;
compare runs side by side.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sessiondb import DbConfig, SessionDB  # noqa: E402
from sessiondb.collector import Collector  # noqa: E402


def roots_of(corpus: Path) -> dict[str, str]:
    return {"claude": str(corpus / "claude" / "projects"), "codex": str(corpus / "codex"),
            "opencode": str(corpus / "opencode"), "gemini": str(corpus / "gemini" / "tmp")}


def corpus_bytes(corpus: Path) -> int:
    return sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cold(args: argparse.Namespace) -> dict:
    """Collection and floor, alternated ``--rounds`` times (a shared machine is noisy: each
    pair runs under the same conditions); the best of each and the ratio of the bests."""
    size = corpus_bytes(args.corpus)
    rounds = []
    for _ in range(args.rounds):
        out = collect_once(args, size)
        if not args.no_floor:
            out.update(floor_once(args, size, out["seconds"]))
        rounds.append(out)
    if len(rounds) == 1:
        return rounds[0]
    best = min(rounds, key=lambda r: r["seconds"])
    summary = {**best, "rounds": len(rounds), "collect_seconds_each": [r["seconds"] for r in rounds]}
    if not args.no_floor:
        floor_best = min(r["floor_seconds"] for r in rounds)
        summary.update({"floor_seconds_each": [r["floor_seconds"] for r in rounds],
                        "floor_seconds": floor_best, "floor_rows_per_s": round(best["messages"] / floor_best),
                        "floor_mb_per_s": round(size / 2**20 / floor_best, 1),
                        "collect_over_floor_each": [r["collect_over_floor"] for r in rounds],
                        "collect_over_floor": round(floor_best / best["seconds"], 2)})
    return summary


def collect_once(args: argparse.Namespace, size: int) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    db = SessionDB.connect(DbConfig.local(args.db))
    started = time.perf_counter()
    cpu = time.process_time()
    worker_peak_kib = [0]
    sampled_at = [0.0]

    def sample_worker(_result: object) -> None:
        # The worker's own peak (VmHWM), not RUSAGE_CHILDREN: that one also counts the floor's
        # child process of an earlier round, which holds every row in memory. Read a few
        # times a second, not at every file (that cost the writer about 3 % of its time);
        # a peak is a high-water mark, so no reading misses it.
        pid = collector.parse_worker_pid
        now = time.perf_counter()
        if pid is not None and now - sampled_at[0] >= 0.25:
            sampled_at[0] = now
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    worker_peak_kib[0] = max(worker_peak_kib[0], int(line.split()[1]))

    collector = Collector(db, roots=roots_of(args.corpus), parse_worker=False if args.serial else None,
                          on_progress=sample_worker)
    result = collector.collect_all(args.sources)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    stats = db.get_stats()
    db.close()
    return {"bench": "cold", "messages": result.messages_inserted, "sessions": stats.session_count,
            "files": result.files_read, "seconds": round(elapsed, 2),
            "messages_per_s": round(result.messages_inserted / elapsed), "mb_per_s": round(size / 2**20 / elapsed, 1),
            "corpus_mb": round(size / 2**20, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "worker_peak_rss_mb": round(worker_peak_kib[0] / 1024, 1), "cpu_s": round(cpu, 2),
            "errors": result.error_count, "parse_worker": not args.serial}


def floor_once(args: argparse.Namespace, size: int, collect_seconds: float) -> dict:
    """The SQLite floor for the rows just collected, in a child process (its memory apart)."""
    floor_db = args.db.with_name(args.db.stem + "-floor.db")
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("sqlite_floor.py")), "--from",
                           str(args.db), "--db", str(floor_db)], capture_output=True, text=True, check=True)
    floor = json.loads(done.stdout)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{floor_db}{suffix}").unlink(missing_ok=True)
    return {"floor_seconds": floor["seconds"], "floor_cpu_s": floor["cpu_s"], "floor_rows_per_s": floor["rows_per_s"],
            "floor_mb_per_s": round(size / 2**20 / floor["seconds"], 1),
            "collect_over_floor": round(floor["seconds"] / collect_seconds, 2)}


def warm(args: argparse.Namespace) -> dict:
    db = SessionDB.connect(DbConfig.local(args.db))
    conn = db._store.connection()
    timings = []
    writes = 0
    changes_before = conn.total_changes()

    def trace(cursor, sql, bindings):
        nonlocal writes
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")):
            writes += 1
        return True

    for _ in range(args.repeat):
        conn.exec_trace = trace
        started = time.perf_counter()
        result = db.collect_all(args.sources, roots=roots_of(args.corpus))
        timings.append(time.perf_counter() - started)
        conn.exec_trace = None
    changes = conn.total_changes() - changes_before
    db.close()
    return {"bench": "warm", "files": result.files_seen, "unchanged": result.files_unchanged,
            "best_s": round(min(timings), 3), "median_s": round(statistics.median(timings), 3),
            "rows_written": changes, "write_statements": writes}


def append(args: argparse.Namespace) -> dict:
    db = SessionDB.connect(DbConfig.local(args.db))
    roots = roots_of(args.corpus)
    files = sorted((args.corpus / "claude" / "projects").glob("*/*.jsonl"))
    path = max(files, key=lambda p: p.stat().st_size)
    db.collect_by_path(path, roots=roots)
    latencies = []
    for i in range(args.repeat):
        token = f"appendtoken{uuid.uuid4().hex[:12]}"
        line = json.dumps({"type": "user", "uuid": str(uuid.uuid4()), "timestamp": "2026-01-01T00:00:00.000Z",
                           "cwd": "/home/dev/api", "message": {"role": "user", "content": f"{token} appended {i}"}})
        started = time.perf_counter()
        with path.open("a") as handle:
            handle.write(line + "\n")
        db.collect_by_path(path, roots=roots)
        found = db.search(token, limit=1)
        latencies.append((time.perf_counter() - started) * 1000)
        assert found, "appended line not searchable"
    db.close()
    latencies.sort()
    return {"bench": "append", "file_mb": round(path.stat().st_size / 2**20, 1), "runs": len(latencies),
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2), "max_ms": round(latencies[-1], 2)}


def watch(args: argparse.Namespace) -> dict:
    """Append a line to a watched file; time until a search finds it (through the watcher)."""
    from sessiondb.watch import Watcher
    db = SessionDB.connect(DbConfig.local(args.db))
    roots = roots_of(args.corpus)
    files = sorted((args.corpus / "claude" / "projects").glob("*/*.jsonl"))
    path = max(files, key=lambda p: p.stat().st_size)
    watcher = Watcher(db, roots=roots, reconcile_seconds=3600).start()
    watcher.ready.wait(600)
    latencies = []
    for i in range(args.repeat):
        token = f"watchtoken{uuid.uuid4().hex[:12]}"
        line = json.dumps({"type": "user", "uuid": str(uuid.uuid4()), "timestamp": "2026-01-01T00:00:00.000Z",
                           "cwd": "/home/dev/api", "message": {"role": "user", "content": f"{token} appended {i}"}})
        started = time.perf_counter()
        with path.open("a") as handle:
            handle.write(line + "\n")
        while not db.search(token, limit=1):
            if time.perf_counter() - started > 10:
                raise SystemExit("appended line not searchable within 10 s")
            time.sleep(0.001)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    watcher.stop()
    db.close()
    latencies.sort()
    return {"bench": "watch", "file_mb": round(path.stat().st_size / 2**20, 1), "runs": len(latencies),
            "debounce_ms": watcher.debounce_ms, "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2), "max_ms": round(latencies[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", choices=["cold", "warm", "append", "watch"])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sources", nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--serial", action="store_true", help="cold: read the files in this process (no parse worker)")
    parser.add_argument("--no-floor", action="store_true", help="cold: skip the SQLite floor")
    parser.add_argument("--rounds", type=int, default=1, help="cold: collection and floor, alternated this often")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"cold": cold, "warm": warm, "append": append, "watch": watch}[args.bench](args)))


if __name__ == "__main__":
    main()
