"""Real-shaped session files carrying token usage, for the usage tests, and counts made
from the raw files without sessiondb (the independent side of every check).

Claude Code: a streamed response written as three lines sharing ``message.id`` and
``requestId`` whose usage grows (the first snapshot is the smallest), a streamed
response of an older version without ``requestId``, a ``<synthetic>`` line, a
compaction that re-appends an old response under new line uuids, and a resumed
session whose file starts with a copy of its parent's lines. Codex: ``token_count``
events with ``info: null``, a repeated event, per-call ``last_token_usage`` and an old
event with only totals. OpenCode: an assistant message with two ``step-finish`` parts
and one without any. Gemini CLI: replies with ``tokens`` including cached input,
thoughts and tool-use prompt tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CLAUDE_PROJECT = "-work-shop"
CLAUDE_PARENT = "aaaaaaaa-0000-4000-8000-000000000001"
CLAUDE_RESUMED = "bbbbbbbb-0000-4000-8000-000000000002"
CODEX_SESSION = "0199c0de-0000-7000-8000-00000000c0de"
OPENCODE_SESSION = "ses_usage0000000000000000000"
GEMINI_SESSION = "9e9e9e9e-0000-4000-8000-000000000009"
GEMINI_HASH = "7a7a7a7a7a7a7a7a"


def jsonl(path: Path, lines: Iterable[dict[str, Any]], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")


# ------------------------------------------------------------------ Claude Code
def claude_usage(inp: int, out: int, write: int = 0, read: int = 0) -> dict[str, Any]:
    return {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read, "service_tier": "standard"}


def claude_assistant(uuid: str, ts: str, session: str, message_id: str, request_id: str | None,
                     usage: dict[str, Any], block: dict[str, Any], model: str = "claude-sonnet-4-5-20250929",
                     stop: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "assistant", "uuid": uuid, "timestamp": ts, "cwd": "/work/shop", "sessionId": session,
        "version": "2.0.14", "isSidechain": False, "userType": "external",
        "message": {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": [block],
                    "stop_reason": stop, "usage": usage}}
    if request_id is not None:
        line["requestId"] = request_id
    return line


def claude_user(uuid: str, ts: str, session: str, text: str) -> dict[str, Any]:
    return {"type": "user", "uuid": uuid, "timestamp": ts, "cwd": "/work/shop", "sessionId": session,
            "message": {"role": "user", "content": text}}


def claude_streamed(prefix: str, session: str, message_id: str, request_id: str | None, ts: str,
                    snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One API response as Claude Code writes it: a line per content block, each with
    the usage so far (growing output)."""
    blocks = [{"type": "thinking", "thinking": "Look at the lock first.", "signature": "sig"},
              {"type": "text", "text": "The test opens two connections."},
              {"type": "tool_use", "id": f"toolu_{prefix}", "name": "Read", "input": {"file_path": "db.py"}}]
    return [claude_assistant(f"{prefix}-{i}", ts, session, message_id, request_id, usage, blocks[i % 3],
                             stop="tool_use" if i == len(snapshots) - 1 else None)
            for i, usage in enumerate(snapshots)]


def claude_parent_lines() -> list[dict[str, Any]]:
    s = CLAUDE_PARENT
    r1 = claude_streamed("r1", s, "msg_01R1", "req_01R1", "2025-09-01T10:00:02.000Z",
                         [claude_usage(12, 5, 2000), claude_usage(12, 40, 2000), claude_usage(12, 120, 2000)])
    r2 = claude_streamed("r2", s, "msg_01R2", None, "2025-09-01T10:01:00.000Z",
                         [claude_usage(8, 10, 0, 2000), claude_usage(8, 55, 0, 2000)])
    synthetic = claude_assistant("syn-1", "2025-09-01T10:01:30.000Z", s, "3f1c-synthetic", None, claude_usage(0, 0),
                                 {"type": "text", "text": "No response requested."}, model="<synthetic>")
    compact = [{"type": "system", "subtype": "compact_boundary", "uuid": "cb-1", "parentUuid": None,
                "logicalParentUuid": "r2-1", "timestamp": "2025-09-02T09:00:00.000Z", "cwd": "/work/shop",
                "sessionId": s, "content": "Conversation compacted",
                "compactMetadata": {"trigger": "auto", "preTokens": 150000}},
               {"type": "user", "uuid": "cs-1", "timestamp": "2025-09-02T09:00:00.500Z", "cwd": "/work/shop",
                "sessionId": s, "isCompactSummary": True, "isVisibleInTranscriptOnly": True,
                "message": {"role": "user", "content": "This session is being continued. Summary: lock fix."}}]
    # A second compaction re-appends an old response: new line uuids, the same message id and request.
    replay = [{**line, "uuid": "replay-" + line["uuid"]} for line in r1]
    r3 = [claude_assistant("r3-0", "2025-09-02T09:05:00.000Z", s, "msg_01R3", "req_01R3",
                           claude_usage(30, 70, 0, 2500), {"type": "text", "text": "Fixed with busy_timeout."},
                           model="claude-opus-4-1-20250805", stop="end_turn")]
    return ([claude_user("u-1", "2025-09-01T10:00:00.000Z", s, "Why is the checkout test flaky?")] + r1
            + [claude_user("u-2", "2025-09-01T10:00:50.000Z", s, "Go on.")] + r2 + [synthetic] + compact + replay + r3)


def claude_resumed_lines() -> list[dict[str, Any]]:
    """``claude --resume``: the new file starts with the parent's lines as they were
    (their sessionId and uuid), then the new turn."""
    copied = [line for line in claude_parent_lines() if line.get("timestamp", "") < "2025-09-02"]
    s = CLAUDE_RESUMED
    new = [claude_user("u-10", "2025-09-03T08:00:00.000Z", s, "And the other test?")] + claude_streamed(
        "r4", s, "msg_01R4", "req_01R4", "2025-09-03T08:00:05.000Z",
        [claude_usage(20, 15, 500, 3000), claude_usage(20, 90, 500, 3000)])
    return copied + new


def write_claude(root: Path) -> tuple[Path, Path]:
    """``<root>/-work-shop/{parent,resumed}.jsonl``."""
    parent = root / CLAUDE_PROJECT / f"{CLAUDE_PARENT}.jsonl"
    resumed = root / CLAUDE_PROJECT / f"{CLAUDE_RESUMED}.jsonl"
    jsonl(parent, claude_parent_lines())
    jsonl(resumed, claude_resumed_lines())
    return parent, resumed


def count_claude(paths: Iterable[Path]) -> dict[str, int]:
    """Tokens of the files by hand: one API response per message id (else request id),
    the largest snapshot of it, synthetic lines left out."""
    best: dict[str, dict[str, int]] = {}
    for path in paths:
        for text in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(text)
            message = line.get("message") or {}
            usage = message.get("usage")
            if line.get("type") != "assistant" or not usage or message.get("model") == "<synthetic>":
                continue
            key = message.get("id") or line.get("requestId")
            counts = {"input": usage["input_tokens"], "output": usage["output_tokens"],
                      "cache_write": usage.get("cache_creation_input_tokens", 0),
                      "cache_read": usage.get("cache_read_input_tokens", 0), "reasoning": 0}
            if key not in best or sum(counts.values()) > sum(best[key].values()):
                best[key] = counts
    return _sum(best.values(), calls=len(best))


# ------------------------------------------------------------------ Codex
def codex_tokens(inp: int, cached: int, out: int, reasoning: int) -> dict[str, int]:
    return {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
            "reasoning_output_tokens": reasoning, "total_tokens": inp + out}


def codex_event(ts: str, total: dict[str, int] | None, last: dict[str, int] | None = None) -> dict[str, Any]:
    info = None if total is None else {"total_token_usage": total, "model_context_window": 272000,
                                       **({"last_token_usage": last} if last is not None else {})}
    return {"timestamp": ts, "type": "event_msg",
            "payload": {"type": "token_count", "info": info,
                        "rate_limits": {"primary": {"used_percent": 7.0, "window_minutes": 300}}}}


def codex_reply(ts: str, rid: str, text: str) -> dict[str, Any]:
    return {"timestamp": ts, "type": "response_item",
            "payload": {"type": "message", "id": rid, "role": "assistant",
                        "content": [{"type": "output_text", "text": text}]}}


def codex_head() -> list[dict[str, Any]]:
    return [
        {"timestamp": "2025-09-05T08:00:00.000Z", "type": "session_meta",
         "payload": {"id": CODEX_SESSION, "timestamp": "2025-09-05T08:00:00.000Z", "cwd": "/work/api",
                     "originator": "codex_cli_rs", "cli_version": "0.46.0"}},
        {"timestamp": "2025-09-05T08:00:00.100Z", "type": "turn_context",
         "payload": {"cwd": "/work/api", "model": "gpt-5-codex", "approval_policy": "on-request"}},
        {"timestamp": "2025-09-05T08:00:01.000Z", "type": "response_item",
         "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Add paging"}]}},
        codex_event("2025-09-05T08:00:01.500Z", None),
        codex_reply("2025-09-05T08:00:09.000Z", "msg_c1", "Reading the handlers."),
        codex_event("2025-09-05T08:00:09.100Z", codex_tokens(5000, 1000, 300, 100), codex_tokens(5000, 1000, 300, 100)),
        # The same event again (a rate-limit update): the same call.
        codex_event("2025-09-05T08:00:09.300Z", codex_tokens(5000, 1000, 300, 100), codex_tokens(5000, 1000, 300, 100)),
        codex_reply("2025-09-05T08:00:20.000Z", "msg_c2", "Added limit and offset."),
        codex_event("2025-09-05T08:00:20.100Z", codex_tokens(12000, 5000, 700, 250), codex_tokens(7000, 4000, 400, 150)),
    ]


def codex_tail() -> list[dict[str, Any]]:
    """An older event shape: totals only (the call is their growth)."""
    return [codex_reply("2025-09-05T08:01:00.000Z", "msg_c3", "Tests pass."),
            codex_event("2025-09-05T08:01:00.100Z", codex_tokens(20000, 9000, 1000, 300))]


def codex_path(root: Path) -> Path:
    return root / "sessions" / "2025" / "09" / "05" / f"rollout-2025-09-05T08-00-00-{CODEX_SESSION}.jsonl"


def count_codex(path: Path) -> dict[str, int]:
    """Codex's own running total is the session's: the last event's total_token_usage
    (cached input is part of input, reasoning part of output)."""
    totals = [json.loads(t)["payload"]["info"]["total_token_usage"] for t in path.read_text().splitlines()
              if '"token_count"' in t and json.loads(t)["payload"]["info"]]
    last = totals[-1]
    calls = len({json.dumps(t, sort_keys=True) for t in totals})
    return {"input": last["input_tokens"] - last["cached_input_tokens"], "cache_read": last["cached_input_tokens"],
            "output": last["output_tokens"] - last["reasoning_output_tokens"],
            "reasoning": last["reasoning_output_tokens"], "cache_write": 0, "calls": calls,
            "total": last["total_tokens"]}


# ------------------------------------------------------------------ OpenCode
def _oc_tokens(inp: int, out: int, reasoning: int, read: int, write: int) -> dict[str, Any]:
    return {"input": inp, "output": out, "reasoning": reasoning, "cache": {"read": read, "write": write}}


def write_opencode(root: Path) -> Path:
    """``<root>/storage/...`` with one session: a user message, an assistant message of
    two steps (its own ``tokens`` are the last step's, as OpenCode writes them) and one
    of no step parts."""
    storage = root / "storage"
    s = OPENCODE_SESSION
    (storage / "session" / "proj1").mkdir(parents=True, exist_ok=True)
    (storage / "session" / "proj1" / f"{s}.json").write_text(json.dumps(
        {"id": s, "slug": "paging", "version": "1.0.20", "projectID": "proj1", "directory": "/work/notes",
         "title": "Paging", "time": {"created": 1757300000000, "updated": 1757300090000}}))
    messages = {
        "msg_u1": {"role": "user", "time": {"created": 1757300001000},
                   "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"}},
        "msg_a1": {"role": "assistant", "time": {"created": 1757300002000, "completed": 1757300030000},
                   "modelID": "claude-sonnet-4-5", "providerID": "anthropic", "mode": "build",
                   "path": {"cwd": "/work/notes", "root": "/work/notes"}, "cost": 0.0345,
                   "tokens": _oc_tokens(300, 200, 50, 4000, 0), "finish": "stop"},
        "msg_a2": {"role": "assistant", "time": {"created": 1757300040000, "completed": 1757300050000},
                   "modelID": "kimi-k2-local", "providerID": "local", "mode": "build",
                   "path": {"cwd": "/work/notes", "root": "/work/notes"}, "cost": 0.0,
                   "tokens": _oc_tokens(900, 60, 0, 0, 0), "finish": "stop"},
    }
    parts = {
        "msg_u1": [{"id": "prt_u1a", "type": "text", "text": "Add paging to the notes list."}],
        "msg_a1": [{"id": "prt_a1a", "type": "step-start"},
                   {"id": "prt_a1b", "type": "text", "text": "Reading the list handler."},
                   {"id": "prt_a1c", "type": "step-finish", "reason": "tool-calls", "cost": 0.0210,
                    "tokens": _oc_tokens(1000, 150, 20, 0, 3500)},
                   {"id": "prt_a1d", "type": "step-start"},
                   {"id": "prt_a1e", "type": "text", "text": "Added page and per_page."},
                   {"id": "prt_a1f", "type": "step-finish", "reason": "stop", "cost": 0.0135,
                    "tokens": _oc_tokens(300, 200, 50, 4000, 0)}],
        "msg_a2": [{"id": "prt_a2a", "type": "text", "text": "Done locally."}],
    }
    for mid, info in messages.items():
        (storage / "message" / s).mkdir(parents=True, exist_ok=True)
        (storage / "message" / s / f"{mid}.json").write_text(json.dumps({"id": mid, "sessionID": s, **info}))
        (storage / "part" / mid).mkdir(parents=True, exist_ok=True)
        for part in parts[mid]:
            (storage / "part" / mid / f"{part['id']}.json").write_text(
                json.dumps({**part, "sessionID": s, "messageID": mid}))
    return root


def count_opencode(root: Path) -> dict[str, Any]:
    """Per assistant message: the sum of its step-finish parts, else its own tokens."""
    found: dict[str, dict[str, int]] = {}
    costs: dict[str, float] = {}
    for message_file in sorted((root / "storage" / "message").rglob("*.json")):
        info = json.loads(message_file.read_text())
        if info["role"] != "assistant":
            continue
        steps = [json.loads(p.read_text()) for p in sorted((root / "storage" / "part" / info["id"]).glob("*.json"))]
        steps = [p for p in steps if p["type"] == "step-finish"]
        sources = [p["tokens"] for p in steps] or [info["tokens"]]
        found[info["id"]] = {"input": sum(t["input"] for t in sources), "output": sum(t["output"] for t in sources),
                             "reasoning": sum(t["reasoning"] for t in sources),
                             "cache_read": sum(t["cache"]["read"] for t in sources),
                             "cache_write": sum(t["cache"]["write"] for t in sources)}
        costs[info["modelID"]] = costs.get(info["modelID"], 0.0) + (sum(p["cost"] for p in steps) if steps
                                                                    else info["cost"])
    return {**_sum(found.values(), calls=len(found)), "by_message": found, "reported_cost": costs}


# ------------------------------------------------------------------ Gemini CLI
def write_gemini(root: Path) -> Path:
    chats = root / GEMINI_HASH / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    path = chats / "session-2025-10-20T09-00-9e9e9e9e.json"
    messages = [
        {"id": "g-1", "timestamp": "2025-10-20T09:00:00.000Z", "type": "user", "content": "Summarise the README"},
        {"id": "g-2", "timestamp": "2025-10-20T09:00:05.000Z", "type": "gemini", "content": "",
         "toolCalls": [{"id": "read-1", "name": "read_file", "args": {"path": "README.md"}, "status": "success"}],
         "model": "gemini-2.5-pro",
         "tokens": {"input": 9000, "output": 35, "cached": 4000, "thoughts": 120, "tool": 15, "total": 9170}},
        {"id": "g-3", "timestamp": "2025-10-20T09:00:09.000Z", "type": "gemini",
         "content": "The README explains setup and tests.", "model": "gemini-2.5-flash",
         "tokens": {"input": 9400, "output": 80, "cached": 8800, "thoughts": 0, "tool": 0, "total": 9480}},
        {"id": "g-4", "timestamp": "2025-10-20T09:00:10.000Z", "type": "info", "content": "Session saved."},
    ]
    path.write_text(json.dumps({"sessionId": GEMINI_SESSION, "projectHash": GEMINI_HASH,
                                "startTime": "2025-10-20T09:00:00.000Z", "lastUpdated": "2025-10-20T09:00:10.000Z",
                                "messages": messages}, indent=2))
    return path


def count_gemini(path: Path) -> dict[str, int]:
    replies = [m["tokens"] for m in json.loads(path.read_text())["messages"] if "tokens" in m]
    return {"input": sum(t["input"] - t["cached"] + t["tool"] for t in replies),
            "cache_read": sum(t["cached"] for t in replies), "output": sum(t["output"] for t in replies),
            "reasoning": sum(t["thoughts"] for t in replies), "cache_write": 0, "calls": len(replies),
            "total": sum(t["total"] for t in replies)}


def _sum(rows: Iterable[dict[str, int]], *, calls: int) -> dict[str, int]:
    rows = list(rows)
    out = {name: sum(r[name] for r in rows) for name in ("input", "output", "cache_read", "cache_write", "reasoning")}
    out["calls"] = calls
    out["total"] = sum(out[name] for name in ("input", "output", "cache_read", "cache_write", "reasoning"))
    return out


def counted(row: Any) -> dict[str, int]:
    """A UsageRow in the shape of the counts above."""
    return {"input": row.input_tokens, "output": row.output_tokens, "cache_read": row.cache_read_tokens,
            "cache_write": row.cache_write_tokens, "reasoning": row.reasoning_tokens, "calls": row.requests,
            "total": row.total_tokens}
