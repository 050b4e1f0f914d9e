"""agent_client_notify_file_change: append → searchable, as Writer and as Reader.

Runs tests/c/upstream_api.c's `serve` driver (a C client of ai_cli_session_db.h) as two
processes: one MemexKit client that is the Writer, one VlaudeKit client that is a
Reader. Each round appends a line to a Claude session file and times, inside the C
process, from the notify call until a search through the reader functions finds it:

    writer: the Writer's own notify (synchronous: the search right after the call)
    reader: the Reader's notify, collected by the Writer process from the spool

    python bench/agent_client_bench.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from capi_helpers import C_DIR, compile_c, isolated_env  # noqa: E402


class Driver:
    def __init__(self, program: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(program), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)

    def ask(self, *words: object) -> str:
        self.process.stdin.write(" ".join(map(str, words)) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise SystemExit(f"{words}: {answer}")
        return answer

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)


def line(uuid: str, text: str) -> str:
    return json.dumps({"uuid": uuid, "type": "user", "cwd": "/work/demo", "sessionId": "abc",
                       "timestamp": "2026-01-20T10:00:00.000Z", "message": {"role": "user", "content": text}}) + "\n"


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"{name:<8} n={len(values)}  p50 {statistics.median(values):6.2f} ms  p95 {p95:6.2f} ms  max {values[-1]:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        program = compile_c(C_DIR / "upstream_api.c", tmp_path / "upstream_api", "-O2")
        root = tmp_path / "projects"
        session = root / "-work-demo" / "abc.jsonl"
        session.parent.mkdir(parents=True)
        session.write_text(line("seed", "seed"), encoding="utf-8")
        data = tmp_path / "data"
        db = data / "db" / "ai-cli-session.db"
        env = isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=str(root))
        writer, reader = Driver(program, env), Driver(program, env)
        try:
            writer.ask("create", "memexkit", data)
            writer.ask("connect")
            writer.ask("notify", session)          # also waits for its first coordination round
            reader.ask("create", "vlaudekit", data)
            reader.ask("connect")
            time.sleep(0.5)                        # the Reader's first round
            timings: dict[str, list[float]] = {"writer": [], "reader": []}
            for i in range(args.rounds):
                for role, driver in (("writer", writer), ("reader", reader)):
                    word = f"{role}word{i}x"
                    with session.open("a", encoding="utf-8") as f:
                        f.write(line(f"{role}-{i}", word))
                    answer = driver.ask("notify-wait", session, db, word, 5000)
                    timings[role].append(float(answer.split()[-1]))
            for role, values in timings.items():
                print(summary(role, values))
        finally:
            writer.close()
            reader.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
