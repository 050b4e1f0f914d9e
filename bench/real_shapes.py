"""Claude Code and Codex session files shaped like real ones (``corpus.py --shape real``).

What makes real files heavy, and what the synthetic corpus lacks: long tool results
(file reads of hundreds of lines, test logs, diffs), thinking blocks of several KB, big
tool inputs (``Write`` with a whole file, ``Edit`` with old and new strings, patches in
Codex), pasted screenshots as base64 images (in the prompt and in tool results), and many
short bookkeeping lines between the messages (``progress`` of running tools,
``file-history-snapshot``, ``system`` turn durations, Codex ``token_count`` events). The
envelope of every line follows the current formats (Claude Code 2.x, Codex 0.4x), see
the project's session-format notes. Averages come out near real archives: about 2.5 KB
per stored message, a few hundred messages per session, subagent transcripts beside a
sixth of the sessions.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from synth import IDENTIFIERS

if TYPE_CHECKING:
    from corpus import Corpus

TOOLS = ("Bash", "Read", "Edit", "Write", "Grep", "Glob", "TodoWrite", "Task", "WebFetch")


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class RealShapes:
    def __init__(self, corpus: Corpus) -> None:
        self.c = corpus
        self.rng: random.Random = corpus.rng
        self.text = corpus.text
        # A few "screenshots": random bytes, as big as small PNGs (real ones are 50-400 KB).
        self.images = [base64.b64encode(self.rng.randbytes(self.rng.randint(30_000, 120_000))).decode()
                       for _ in range(6)]

    # ------------------------------------------------------------------ content
    def code(self, lines: int) -> str:
        out = []
        indent = 0
        for _ in range(lines):
            ident = self.rng.choice(IDENTIFIERS)
            kind = self.rng.random()
            if kind < 0.15:
                out.append("    " * indent + f"def {ident}(self, {self.rng.choice(IDENTIFIERS)}):")
                indent = min(indent + 1, 3)
            elif kind < 0.25 and indent:
                indent -= 1
                out.append("")
            elif kind < 0.4:
                out.append("    " * indent + f"# {self.text.english(self.rng.randint(4, 12))}")
            else:
                out.append("    " * indent + f"{ident} = {self.rng.choice(IDENTIFIERS)}({self.rng.randint(0, 99)})")
        return "\n".join(out)

    def file_read(self) -> str:
        start = self.rng.randint(1, 400)
        body = self.code(self.rng.randint(15, 150)).split("\n")
        return "\n".join(f"{start + i:6d}\u2192{line}" for i, line in enumerate(body))

    def test_log(self) -> str:
        lines = []
        for _ in range(self.rng.randint(10, 80)):
            name = f"tests/test_{self.rng.choice(IDENTIFIERS)}.py::test_{self.rng.choice(IDENTIFIERS)}"
            lines.append(f"{name} {'PASSED' if self.rng.random() < 0.93 else 'FAILED'} "
                         f"[{self.rng.randint(0, 100):3d}%]")
        return "\n".join(lines)

    def tool_result(self) -> str:
        roll = self.rng.random()
        if roll < 0.25:
            return self.file_read()
        if roll < 0.35:
            return self.test_log()
        if roll < 0.38:
            return self.text.english(self.rng.randint(1000, 4000))     # web page, long log
        return self.c.tool_output()

    def thinking(self) -> str:
        return self.text.english(self.rng.randint(30, 400))

    def prompt(self) -> str:
        return self.c.body() if self.rng.random() < 0.8 else self.text.english(self.rng.randint(80, 400))

    # ------------------------------------------------------------------ claude
    def claude_lines(self, sid: str, cwd: str, size: int, agent: str | None = None) -> tuple[list[str], int]:
        c = self.c
        envelope = {"isSidechain": agent is not None, "userType": "external", "cwd": cwd, "sessionId": sid,
                    "version": "2.0.76", "gitBranch": "main", "slug": "quiet-river"}
        if agent:
            envelope["agentId"] = agent
        lines: list[str] = []
        parent: str | None = None
        count = 0

        def emit(kind: str, message: dict[str, Any], **extra: Any) -> str:
            nonlocal parent, count
            uid = c.uid()
            lines.append(_dump({"parentUuid": parent, **envelope, "type": kind, "message": message, "uuid": uid,
                                "timestamp": c.tick(), **extra}))
            parent = uid
            count += 1
            return uid

        def bookkeeping(tool_id: str) -> None:
            for _ in range(self.rng.randint(0, 6)):
                lines.append(_dump({"parentUuid": parent, **envelope, "type": "progress", "uuid": c.uid(),
                                    "timestamp": c.tick(0.5), "toolUseID": tool_id, "parentToolUseID": tool_id,
                                    "data": {"type": "bash_progress", "output": self.text.english(6),
                                             "elapsedTimeSeconds": self.rng.randint(1, 30)}}))

        while count < size:
            if self.rng.random() < 0.3:
                lines.append(_dump({"type": "file-history-snapshot", "messageId": c.uid(), "isSnapshotUpdate": False,
                                    "snapshot": {"messageId": c.uid(), "timestamp": c.tick(),
                                                 "trackedFileBackups": {f"src/{self.rng.choice(IDENTIFIERS)}.py": {
                                                     "backupFileName": f"{c.uid()[:16]}@v2", "version": 2,
                                                     "backupTime": c.tick()}}}}))
            content: Any = self.prompt()
            if self.rng.random() < 0.01:
                content = [{"type": "text", "text": content},
                           {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                        "data": self.rng.choice(self.images)}}]
            emit("user", {"role": "user", "content": content}, permissionMode="default",
                 thinkingMetadata={"level": "high", "disabled": False})
            for _ in range(self.rng.randint(1, 4)):     # tool turns of one answer
                message_id = f"msg_01{self.rng.getrandbits(64):016x}"
                request = f"req_011{self.rng.getrandbits(48):012x}"
                usage = {"input_tokens": self.rng.randint(3, 900), "cache_creation_input_tokens":
                         self.rng.randint(0, 5000), "cache_read_input_tokens": self.rng.randint(0, 150000),
                         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                         "output_tokens": self.rng.randint(5, 2000), "service_tier": "standard"}
                chunks: list[dict[str, Any]] = []
                if self.rng.random() < 0.6:
                    chunks.append({"type": "thinking", "thinking": self.thinking(),
                                   "signature": base64.b64encode(self.rng.randbytes(300)).decode()})
                if self.rng.random() < 0.7:
                    chunks.append({"type": "text", "text": c.body()})
                tool_id = f"toolu_01{self.rng.getrandbits(64):016x}"
                name = self.rng.choice(TOOLS)
                chunks.append({"type": "tool_use", "id": tool_id, "name": name, "input": self.tool_input(name)})
                for chunk in chunks:
                    emit("assistant", {"model": "claude-sonnet-4-5-20250929", "id": message_id, "type": "message",
                                       "role": "assistant", "content": [chunk], "stop_reason": None,
                                       "stop_sequence": None, "usage": usage}, requestId=request)
                bookkeeping(tool_id)
                output: Any = self.tool_result()
                if self.rng.random() < 0.01:
                    output = [{"type": "text", "text": "screenshot taken"},
                              {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                           "data": self.rng.choice(self.images)}}]
                emit("user", {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result",
                                                          "content": output, "is_error": False}]},
                     toolUseResult={"stdout": output if isinstance(output, str) else "", "stderr": "",
                                    "interrupted": False, "isImage": not isinstance(output, str)})
            if self.rng.random() < 0.5:
                lines.append(_dump({"parentUuid": parent, **envelope, "type": "system", "subtype": "turn_duration",
                                    "durationMs": self.rng.randint(2000, 300000), "uuid": c.uid(),
                                    "timestamp": c.tick(), "isMeta": False}))
        return lines, count

    def tool_input(self, name: str) -> dict[str, Any]:
        path = f"/home/dev/src/{self.rng.choice(IDENTIFIERS)}.py"
        if name == "Write":
            return {"file_path": path, "content": self.code(self.rng.randint(20, 200))}
        if name == "Edit":
            return {"file_path": path, "old_string": self.code(self.rng.randint(3, 40)),
                    "new_string": self.code(self.rng.randint(3, 40))}
        if name == "TodoWrite":
            return {"todos": [{"content": self.text.english(8), "status": "pending",
                               "activeForm": self.text.english(6)} for _ in range(self.rng.randint(2, 8))]}
        if name == "Task":
            return {"description": self.text.english(5), "prompt": self.text.english(self.rng.randint(50, 300)),
                    "subagent_type": "general-purpose"}
        return {"command": f"rg -n {self.rng.choice(IDENTIFIERS)} src/", "description": self.text.english(6)}

    # ------------------------------------------------------------------ codex
    def codex_lines(self, sid: str, cwd: str, size: int, start: str) -> tuple[list[str], int]:
        c = self.c
        lines = [_dump({"timestamp": start, "type": "session_meta", "payload": {
            "id": sid, "timestamp": start, "cwd": cwd, "originator": "codex_cli_rs", "cli_version": "0.46.0",
            "instructions": self.text.english(300), "source": "cli", "model_provider": "openai",
            "git": {"commit_hash": f"{self.rng.getrandbits(160):040x}", "branch": "main",
                    "repository_url": "git@github.com:dev/app.git"}}}),
            _dump({"timestamp": c.tick(), "type": "turn_context", "payload": {
                "cwd": cwd, "approval_policy": "on-request", "sandbox_policy": {"mode": "workspace-write"},
                "model": "gpt-5-codex", "effort": "medium", "summary": "auto"}})]
        count = 0
        while count < size:
            prompt = self.prompt()
            lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                "type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}}))
            lines.append(_dump({"timestamp": c.tick(), "type": "event_msg", "payload": {
                "type": "user_message", "message": prompt, "images": []}}))
            count += 1
            for _ in range(self.rng.randint(1, 5)):
                lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                    "type": "reasoning", "summary": [{"type": "summary_text", "text": self.thinking()}],
                    "content": None, "encrypted_content": base64.b64encode(self.rng.randbytes(
                        self.rng.randint(300, 1500))).decode()}}))
                call = f"call_{self.rng.getrandbits(96):024x}"
                if self.rng.random() < 0.3:
                    patch = (f"*** Begin Patch\n*** Update File: src/{self.rng.choice(IDENTIFIERS)}.py\n@@\n"
                             + self.code(self.rng.randint(10, 120)) + "\n*** End Patch")
                    lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                        "type": "custom_tool_call", "status": "completed", "call_id": call, "name": "apply_patch",
                        "input": patch}}))
                    lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                        "type": "custom_tool_call_output", "call_id": call, "output": json.dumps(
                            {"output": "Success. Updated the following files:\nM src/app.py\n",
                             "metadata": {"exit_code": 0, "duration_seconds": 0.1}})}}))
                else:
                    lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                        "type": "function_call", "name": "shell", "call_id": call, "arguments": json.dumps(
                            {"command": ["bash", "-lc", f"sed -n '1,200p' src/{self.rng.choice(IDENTIFIERS)}.py"],
                             "workdir": cwd, "timeout_ms": 120000})}}))
                    lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                        "type": "function_call_output", "call_id": call, "output": json.dumps(
                            {"output": self.tool_result(), "metadata": {"exit_code": 0,
                                                                        "duration_seconds": 0.4}})}}))
                lines.append(_dump({"timestamp": c.tick(), "type": "event_msg", "payload": {
                    "type": "token_count", "info": {"total_token_usage": {
                        "input_tokens": self.rng.randint(1000, 900000), "cached_input_tokens": 0,
                        "output_tokens": self.rng.randint(10, 90000), "reasoning_output_tokens": 0,
                        "total_tokens": 0}}, "rate_limits": {"primary": {"used_percent": 3.0}}}}))
                count += 3
            answer = c.body()
            lines.append(_dump({"timestamp": c.tick(), "type": "event_msg", "payload": {
                "type": "agent_message", "message": answer}}))
            lines.append(_dump({"timestamp": c.tick(), "type": "response_item", "payload": {
                "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]}}))
            count += 1
            c.clock += timedelta(seconds=self.rng.randint(1, 30))
        return lines, count
