"""Seeded corpus of session files in all four formats, for the ingest benchmarks.

    python bench/corpus.py --out bench/out/corpus --messages 200000 --seed 7
    python bench/corpus.py --out bench/out/warm --messages 100000 --sessions 10000 --only claude

Layout under --out: ``claude/projects/<encoded dir>/<session>.jsonl`` (with subagent
transcripts), ``codex/sessions/YYYY/MM/DD/rollout-*.jsonl``, ``gemini/tmp/<hash>/chats``
and ``opencode/storage/...``. Shapes follow the real formats (envelope fields, streamed
assistant chunks, tool calls and results, thinking); text comes from bench/synth.py:
Zipf English, code identifiers, CJK passages and the occasional large tool output.
The same seed gives the same files.

``--shape real`` writes Claude Code and Codex files only, shaped like real ones (long
tool results, thinking, big tool inputs, base64 images, many short bookkeeping lines;
see bench/real_shapes.py): about 2.5 KB per stored message instead of 1 KB.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synth import IDENTIFIERS, TextGenerator  # noqa: E402

SHARES = {"claude": 0.72, "codex": 0.18, "gemini": 0.05, "opencode": 0.05}
REAL_SHARES = {"claude": 0.75, "codex": 0.25}
START = datetime(2025, 6, 1, tzinfo=timezone.utc)


class Corpus:
    def __init__(self, out: Path, seed: int, shape: str = "synthetic") -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.text = TextGenerator(seed)
        self.clock = START
        self.projects = [f"/home/dev/{name}" for name in ("api", "web", "sessiondb", "infra", "mobile", "ml-lab",
                                                          "docs", "工具箱", "cli", "data-pipeline")]
        self.real = None
        if shape == "real":
            from real_shapes import RealShapes
            self.real = RealShapes(self)

    # ------------------------------------------------------------------ helpers
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, seconds: float = 5.0) -> str:
        self.clock += timedelta(milliseconds=int(self.rng.expovariate(1 / seconds) * 1000) + 1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.clock.microsecond // 1000:03d}Z"

    def body(self) -> str:
        return self.text.message()

    def tool_output(self) -> str:
        if self.rng.random() < 0.05:
            return self.text.english(self.rng.randint(2000, 6000))      # large tool result
        lines = [f"{self.rng.choice(IDENTIFIERS)}:{self.rng.randint(1, 900)}: {self.text.english(8)}"
                 for _ in range(self.rng.randint(1, 12))]
        return "\n".join(lines)

    def session_sizes(self, messages: int, sessions: int | None) -> list[int]:
        if sessions:
            base = max(1, messages // sessions)
            return [max(1, int(self.rng.uniform(0.5, 1.5) * base)) for _ in range(sessions)]
        sizes, total = [], 0
        while total < messages:
            size = max(4, int(self.rng.lognormvariate(3.6, 0.9)))
            sizes.append(size)
            total += size
        return sizes

    # ------------------------------------------------------------------ claude
    def claude(self, messages: int, sessions: int | None) -> int:
        root = self.out / "claude" / "projects"
        written = 0
        for size in self.session_sizes(messages, sessions):
            project = self.rng.choice(self.projects)
            folder = root / "".join(c if c.isascii() and c.isalnum() else "-" for c in project)
            folder.mkdir(parents=True, exist_ok=True)
            sid = self.uid()
            lines, count = (self.real.claude_lines(sid, project, size) if self.real
                            else self._claude_lines(sid, project, size))
            (folder / f"{sid}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            written += count
            if self.rng.random() < 0.15 and not sessions:
                agent = f"agent-{self.rng.getrandbits(32):08x}"
                sub = folder / sid / "subagents"
                sub.mkdir(parents=True, exist_ok=True)
                make = self.real.claude_lines if self.real else self._claude_lines
                agent_lines, agent_count = make(sid, project, max(2, size // 4), agent=agent[6:])
                (sub / f"{agent}.jsonl").write_text("\n".join(agent_lines) + "\n", encoding="utf-8")
                written += agent_count
        return written

    def _claude_lines(self, sid: str, cwd: str, size: int, agent: str | None = None) -> tuple[list[str], int]:
        envelope = {"isSidechain": agent is not None, "userType": "external", "cwd": cwd, "sessionId": sid,
                    "version": "2.0.14", "gitBranch": "main"}
        if agent:
            envelope["agentId"] = agent
        lines: list[str] = []
        parent = None
        count = 0
        if self.rng.random() < 0.3:
            lines.append(json.dumps({"type": "file-history-snapshot", "messageId": self.uid(),
                                     "snapshot": {"trackedFileBackups": {}}, "isSnapshotUpdate": False}))

        def emit(kind: str, message: dict, **extra) -> None:
            nonlocal parent, count
            uid = self.uid()
            record = {"parentUuid": parent, **envelope, "type": kind, "message": message, "uuid": uid,
                      "timestamp": self.tick(), **extra}
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            parent = uid
            count += 1

        while count < size:
            emit("user", {"role": "user", "content": self.body()})
            message_id = f"msg_01{self.rng.getrandbits(64):016x}"
            request = f"req_011{self.rng.getrandbits(48):012x}"
            usage = {"input_tokens": self.rng.randint(3, 900), "cache_creation_input_tokens": 0,
                     "cache_read_input_tokens": self.rng.randint(0, 90000), "output_tokens": self.rng.randint(5, 900),
                     "service_tier": "standard"}
            chunks = []
            if self.rng.random() < 0.5:
                chunks.append({"type": "thinking", "thinking": self.text.english(self.rng.randint(10, 80)),
                               "signature": "EqkB" + "x" * 40})
            chunks.append({"type": "text", "text": self.body()})
            tool_id = None
            if self.rng.random() < 0.6:
                tool_id = f"toolu_01{self.rng.getrandbits(64):016x}"
                chunks.append({"type": "tool_use", "id": tool_id, "name": self.rng.choice(
                    ["Bash", "Read", "Edit", "Grep", "Write"]), "input": {
                    "command": f"rg -n {self.rng.choice(IDENTIFIERS)}", "description": self.text.english(6)}})
            for chunk in chunks:
                emit("assistant", {"model": "claude-sonnet-4-5-20250929", "id": message_id, "type": "message",
                                   "role": "assistant", "content": [chunk], "stop_reason": None,
                                   "stop_sequence": None, "usage": usage}, requestId=request)
            if tool_id:
                output = self.tool_output()
                emit("user", {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result",
                                                          "content": output}]},
                     toolUseResult={"stdout": output[:200], "stderr": "", "interrupted": False})
        return lines, count

    # ------------------------------------------------------------------ codex
    def codex(self, messages: int) -> int:
        written = 0
        for size in self.session_sizes(messages, None):
            sid = self.uid()
            start = self.tick(600)
            day = self.clock.strftime("%Y/%m/%d")
            folder = self.out / "codex" / "sessions" / day
            folder.mkdir(parents=True, exist_ok=True)
            cwd = self.rng.choice(self.projects)
            name = f"rollout-{start[:19].replace(':', '-')}-{sid}.jsonl"
            if self.real:
                real_lines, count = self.real.codex_lines(sid, cwd, size, start)
                (folder / name).write_text("\n".join(real_lines) + "\n", encoding="utf-8")
                written += count
                continue
            lines = [{"timestamp": start, "type": "session_meta", "payload": {
                "id": sid, "timestamp": start, "cwd": cwd, "originator": "codex_cli_rs", "cli_version": "0.46.0",
                "source": "cli", "model_provider": "openai", "git": {"branch": "main"}}},
                {"timestamp": self.tick(), "type": "turn_context", "payload": {
                    "cwd": cwd, "approval_policy": "on-request", "model": "gpt-5-codex", "summary": "auto"}}]
            count = 0
            while count < size:
                prompt = self.body()
                lines.append({"timestamp": self.tick(), "type": "response_item", "payload": {
                    "type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}})
                lines.append({"timestamp": self.tick(), "type": "event_msg", "payload": {
                    "type": "user_message", "message": prompt}})
                lines.append({"timestamp": self.tick(), "type": "response_item", "payload": {
                    "type": "reasoning", "summary": [{"type": "summary_text", "text": self.text.english(30)}],
                    "encrypted_content": "gAAAA" + "b" * 200}})
                call = f"call_{self.rng.getrandbits(64):016x}"
                lines.append({"timestamp": self.tick(), "type": "response_item", "payload": {
                    "type": "function_call", "name": "shell", "call_id": call,
                    "arguments": json.dumps({"command": ["rg", "-n", self.rng.choice(IDENTIFIERS)]})}})
                lines.append({"timestamp": self.tick(), "type": "response_item", "payload": {
                    "type": "function_call_output", "call_id": call,
                    "output": json.dumps({"output": self.tool_output(), "metadata": {"exit_code": 0}})}})
                lines.append({"timestamp": self.tick(), "type": "response_item", "payload": {
                    "type": "message", "role": "assistant", "content": [{"type": "output_text",
                                                                        "text": self.body()}]}})
                count += 5
            (folder / name).write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n",
                                       encoding="utf-8")
            written += count
        return written

    # ------------------------------------------------------------------ gemini
    def gemini(self, messages: int) -> int:
        written = 0
        for size in self.session_sizes(messages, None):
            project = f"{self.rng.getrandbits(64):016x}"
            chats = self.out / "gemini" / "tmp" / project / "chats"
            chats.mkdir(parents=True, exist_ok=True)
            items = []
            for i in range(size):
                kind = "user" if i % 2 == 0 else "gemini"
                item = {"id": self.uid(), "timestamp": self.tick(), "type": kind, "content": self.body()}
                if kind == "gemini":
                    item["model"] = "gemini-2.5-pro"
                    if self.rng.random() < 0.4:
                        item["toolCalls"] = [{"id": f"read_file-{i}", "name": "read_file",
                                              "args": {"path": self.rng.choice(IDENTIFIERS)},
                                              "result": [{"functionResponse": {"response": {
                                                  "output": self.tool_output()}}}], "status": "success"}]
                items.append(item)
            sid = self.uid()
            (chats / f"session-{sid[:8]}.json").write_text(json.dumps(
                {"sessionId": sid, "projectHash": project, "startTime": items[0]["timestamp"],
                 "lastUpdated": items[-1]["timestamp"], "messages": items}, ensure_ascii=False, indent=2),
                encoding="utf-8")
            written += size
        return written

    # ------------------------------------------------------------------ opencode
    def opencode(self, messages: int) -> int:
        storage = self.out / "opencode" / "storage"
        written = 0
        for n, size in enumerate(self.session_sizes(messages, None)):
            sid = f"ses_{n:06d}{self.rng.getrandbits(64):016x}"
            (storage / "session" / "proj").mkdir(parents=True, exist_ok=True)
            created = int(self.clock.timestamp() * 1000)
            (storage / "session" / "proj" / f"{sid}.json").write_text(json.dumps(
                {"id": sid, "version": "0.9.11", "projectID": "proj", "directory": self.rng.choice(self.projects),
                 "title": self.text.english(5), "time": {"created": created, "updated": created}}))
            for i in range(size):
                self.tick()
                mid = f"msg_{n:06d}{i:05d}"
                role = "user" if i % 2 == 0 else "assistant"
                folder = storage / "message" / sid
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{mid}.json").write_text(json.dumps(
                    {"id": mid, "sessionID": sid, "role": role, "time": {"created": int(self.clock.timestamp() * 1000)},
                     "modelID": "claude-sonnet-4-5"}))
                parts = storage / "part" / mid
                parts.mkdir(parents=True, exist_ok=True)
                (parts / f"prt_{mid}_1.json").write_text(json.dumps(
                    {"id": f"prt_{mid}_1", "sessionID": sid, "messageID": mid, "type": "text", "text": self.body()},
                    ensure_ascii=False))
                if role == "assistant" and self.rng.random() < 0.4:
                    (parts / f"prt_{mid}_2.json").write_text(json.dumps(
                        {"id": f"prt_{mid}_2", "sessionID": sid, "messageID": mid, "type": "tool", "tool": "read",
                         "callID": f"c{n}{i}", "state": {"status": "completed", "input": {"filePath": "src/a.ts"},
                                                         "output": self.tool_output()}}, ensure_ascii=False))
            written += size
        return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=None, help="Claude session files (else lognormal sizes)")
    parser.add_argument("--only", choices=list(SHARES), default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shape", choices=["synthetic", "real"], default="synthetic",
                        help="real: Claude Code and Codex files shaped like real ones (bench/real_shapes.py)")
    args = parser.parse_args(argv)
    corpus = Corpus(args.out, args.seed, args.shape)
    shares = {args.only: 1.0} if args.only else REAL_SHARES if args.shape == "real" else SHARES
    counts = {}
    for source, share in shares.items():
        target = int(args.messages * share)
        counts[source] = corpus.claude(target, args.sessions) if source == "claude" else getattr(corpus, source)(target)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    files = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(json.dumps({"out": str(args.out), "messages": counts, "files": files, "bytes": size}))


if __name__ == "__main__":
    main()
