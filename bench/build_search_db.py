"""Build the seeded 1M-message database the search benchmark runs on.

    python bench/build_search_db.py --messages 1000000 --out bench/out/search-1m.db

Sessions are inserted in random order (as a cold collection of old files would),
so insertion order and message time differ. Prints the ingest rate of the library's
own insert path (all indexes kept by triggers) and the database size.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import TextGenerator  # noqa: E402

from sessiondb import DbConfig, MessageInput, MessageType, SessionDB  # noqa: E402

SOURCES = (("claude", 0.6), ("codex", 0.25), ("opencode", 0.1), ("gemini", 0.05))
YEAR_MS = 365 * 24 * 3600 * 1000
START_MS = 1_735_689_600_000  # 2025-01-01


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--out", default="bench/out/search-1m.db")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(out) + suffix).unlink(missing_ok=True)

    rng = random.Random(args.seed)
    text = TextGenerator(args.seed)
    db = SessionDB.connect(DbConfig.local(out))
    projects = []
    for i in range(60):
        source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        projects.append(db.get_or_create_project(f"project{i:02d}", f"/home/dev/work/project{i:02d}", source))
    project_weights = [1.0 / (i + 1) for i in range(len(projects))]

    n_sessions = max(1, args.messages // 150)
    sizes = [max(1, int(rng.expovariate(1 / 150))) for _ in range(n_sessions)]
    scale = args.messages / sum(sizes)
    sizes = [max(1, round(s * scale)) for s in sizes]
    sizes[-1] += args.messages - sum(sizes)

    total, text_bytes, t0 = 0, 0, time.perf_counter()
    for s, size in enumerate(sizes):
        if size <= 0:
            continue
        pid = rng.choices(projects, project_weights)[0]
        sid = f"{rng.getrandbits(128):032x}"
        sid = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
        db.upsert_session(sid, pid)
        ts = START_MS + rng.randrange(YEAR_MS)
        batch = []
        for seq in range(size):
            body = text.message()
            text_bytes += len(body.encode())
            role = MessageType.USER if seq % 3 == 0 else (MessageType.TOOL if seq % 5 == 4 else MessageType.ASSISTANT)
            ts += rng.randint(1_000, 90_000)
            batch.append(MessageInput(f"{sid}:{seq}", role, body, body, ts, seq))
        total += db.insert_messages(sid, batch)
        if s % 500 == 0:
            rate = total / (time.perf_counter() - t0)
            print(f"\r{total:,} messages, {rate:,.0f}/s", end="", file=sys.stderr)
    elapsed = time.perf_counter() - t0
    db.checkpoint("TRUNCATE")
    db.close()
    size_mb = os.path.getsize(out) / 1e6
    print(f"\ninserted {total:,} messages ({text_bytes / 1e6:,.0f} MB text) in {elapsed:.1f} s: "
          f"{total / elapsed:,.0f} messages/s (generation included); database {size_mb:,.0f} MB")


if __name__ == "__main__":
    main()
