"""What a side index costs: database size and ingest speed, with and without it.

    python bench/index_cost.py --messages 200000               # the CJK side index
    python bench/index_cost.py --messages 200000 --index rank  # the rank index

Builds the same seeded corpus (about 15% Chinese messages, bench/synth.py) twice
through SessionDB.insert_messages: once as shipped, once without the index (for the
CJK index its queueing trigger removed; for the rank index the writer's extension of
its lists switched off), as if the index did not exist. Prints messages/s for each,
and the bytes each index occupies (dbstat).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import TextGenerator  # noqa: E402

from sessiondb import MessageInput, MessageType, SessionDB  # noqa: E402

BATCH = 2000


def build(path: Path, bodies: list[str], with_index: bool, index: str) -> float:
    db = SessionDB.connect(path)
    if not with_index and index == "cjk":
        db._store.connection().execute("DROP TRIGGER messages_cjk_ai")
    if not with_index and index == "rank":
        db._store.has_rank_index = False
    pid = db.get_or_create_project("p", "/bench")
    t0 = time.perf_counter()
    for start in range(0, len(bodies), BATCH):
        sid = f"s{start // BATCH}"
        db.upsert_session(sid, pid)
        db.insert_messages(sid, [MessageInput(f"{sid}-{i}", MessageType.ASSISTANT, b, b, 1_760_000_000_000 + i, i)
                                 for i, b in enumerate(bodies[start:start + BATCH])])
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def sizes(path: Path) -> dict[str, int]:
    db = SessionDB.connect(path)
    rows = db._store.read("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
    db.close()
    groups: dict[str, int] = {}
    for name, size in rows:
        key = ("messages_fts" if name.startswith("messages_fts") else
               "messages_cjk" if name.startswith("messages_cjk") else
               "messages_rank" if name.startswith("messages_rank") else "messages + indexes")
        groups[key] = groups.get(key, 0) + size
    return groups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--index", choices=("cjk", "rank"), default="cjk")
    args = ap.parse_args()
    gen = TextGenerator(7)
    bodies = [gen.message() for _ in range(args.messages)]
    text_mb = sum(len(b.encode()) for b in bodies) / 1e6
    cjk_share = sum(1 for b in bodies if not b.isascii()) / len(bodies)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for with_index in (False, True):
            path = Path(tmp) / f"{args.index}-{with_index}.db"
            elapsed = build(path, bodies, with_index, args.index)
            results[with_index] = (elapsed, sizes(path))
    print(f"{args.messages:,} messages, {text_mb:.0f} MB of text, {cjk_share:.0%} with CJK text")
    name = {"cjk": "CJK side index", "rank": "rank index"}[args.index]
    for with_index, (elapsed, groups) in results.items():
        label = f"with {name}" if with_index else f"without {name}"
        parts = ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(groups.items()))
        print(f"  {label:24} {args.messages / elapsed:9,.0f} messages/s   {parts}")
    slow = results[False][0] / results[True][0]
    side = results[True][1].get(f"messages_{args.index}", 0)
    total = sum(results[True][1].values())
    print(f"  {name}: {side / 1e6:.0f} MB ({side / total:.1%} of the file), ingest at {slow:.0%} of the speed")


if __name__ == "__main__":
    main()
