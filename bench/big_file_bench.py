"""One huge session file ingests in bounded memory (DESIGN §4: 1 GB, RSS <= 300 MB).

    python bench/big_file_bench.py --size-mb 1024 --dir bench/out/big

Writes a single Claude-shaped session file of the given size (large tool results,
CJK and code text, a few broken lines), collects it into a fresh database in this
process and reports time, messages/s, MB/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import TextGenerator  # noqa: E402

from sessiondb import DbConfig, SessionDB  # noqa: E402


def write_file(path: Path, size: int, seed: int) -> int:
    text = TextGenerator(seed)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        while handle.tell() < size:
            body = text.english(text.rng.randint(2000, 5000)) if count % 20 == 0 else text.message()
            line = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/dev/big",
                    "sessionId": "big", "version": "2.0.14", "type": "user" if count % 2 == 0 else "assistant",
                    "message": {"role": "user", "content": body}, "uuid": f"big-{count}",
                    "timestamp": f"2025-10-01T00:{count // 60 % 60:02d}:{count % 60:02d}.000Z"}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            if count % 100_000 == 99_999:
                handle.write('{"type":"user","uuid":"broken\n')
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=Path("bench/out/big"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    project = args.dir / "projects" / "-home-dev-big"
    project.mkdir(parents=True, exist_ok=True)
    path = project / "big.jsonl"
    if not path.exists() or path.stat().st_size < args.size_mb * 2**20:
        write_file(path, args.size_mb * 2**20, args.seed)
    db_path = args.dir / "big.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db = SessionDB.connect(DbConfig.local(db_path))
    started = time.perf_counter()
    nowhere = str(args.dir / "none")
    result = db.collect_all(roots={"claude": str(args.dir / "projects"), "codex": nowhere, "opencode": nowhere,
                                   "gemini": nowhere})
    elapsed = time.perf_counter() - started
    db.close()
    size = path.stat().st_size
    print(json.dumps({"bench": "big_file", "file_mb": round(size / 2**20), "messages": result.messages_inserted,
                      "bad_lines": result.bad_lines, "seconds": round(elapsed, 1),
                      "messages_per_s": round(result.messages_inserted / elapsed),
                      "mb_per_s": round(size / 2**20 / elapsed, 1), "rss_before_mb": round(rss_before, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
