"""A transcript page as data: messages split into parts, tool calls paired with results.

The collectors store each message's blocks in ``content_full`` as lines that start
with a marker (``[Thinking] ...``, ``[Tool: NAME] {args}``, ``[Result] ...``,
``[Result Error] ...``, ``[Image]``); a tool call message carries ``tool_call_id`` and
the message with its result the same id. A page is a window of the session; the
pairing rule only looks ``PAIR_WINDOW`` messages ahead, so every page (and the page
after it) decides the same way which result is shown inside which call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .. import Message, MessageType, SessionOverview

PAIR_WINDOW = 50
PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
# Tool names whose calls start a subagent (Claude Code's Task tool, later called Agent).
SUBAGENT_TOOLS = frozenset({"Task", "Agent"})
# Keys whose value says best what a tool call does, in order of preference.
_SUMMARY_KEYS = ("description", "command", "cmd", "file_path", "path", "pattern", "query", "url", "prompt")
_MARKER = re.compile(r"^\[(Thinking|Tool: [^\]\n]*|Result Error|Result|Image|Document)\](?: |$)")
_SYSTEM_LABEL = re.compile(r"^\[([A-Za-z][\w :.-]{0,40})\] ?")


@dataclass
class ToolResult:
    text: str
    is_error: bool
    message_id: int | None = None
    timestamp: int | None = None


@dataclass
class ToolCall:
    name: str
    args: str
    call_id: str | None = None
    result: ToolResult | None = None
    subagent: SessionOverview | None = None

    @property
    def summary(self) -> str:
        """One line that says what the call does (its description, command, path, ...)."""
        try:
            value = json.loads(self.args) if self.args else None
        except ValueError:
            value = None
        if isinstance(value, dict):
            for key in _SUMMARY_KEYS:
                item = value.get(key)
                if isinstance(item, list) and item and all(isinstance(i, str) for i in item):
                    item = " ".join(item)
                if isinstance(item, str) and item.strip():
                    return _clip(item)
        return _clip(self.args)

    @property
    def command(self) -> str | None:
        """The shell command of a shell-like call, shown as code."""
        try:
            value = json.loads(self.args) if self.args else None
        except ValueError:
            return None
        if isinstance(value, dict):
            for key in ("command", "cmd"):
                cmd = value.get(key)
                if isinstance(cmd, str):
                    return cmd
                if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
                    return " ".join(cmd)
        return None


@dataclass
class Part:
    kind: str            # text, thinking, tool, result, image, document
    text: str = ""
    tool: ToolCall | None = None
    result: ToolResult | None = None


@dataclass
class Item:
    message: Message
    parts: list[Part] = field(default_factory=list)
    label: str = ""          # system messages: the stored kind ("system:compact_boundary", "Summary")
    position: int = 0        # 0-based index in the session

    @property
    def role(self) -> str:
        return self.message.type.value


@dataclass
class Page:
    overview: SessionOverview
    items: list[Item]
    offset: int
    limit: int
    total: int
    children: list[SessionOverview]

    @property
    def end(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def has_before(self) -> bool:
        return self.offset > 0

    @property
    def has_after(self) -> bool:
        return self.end < self.total


def _clip(text: str, width: int = 110) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[:width - 1] + "…"


def split_parts(content: str) -> list[tuple[str, str, str]]:
    """(kind, name, text) blocks of a stored ``content_full``; plain text between markers."""
    blocks: list[list[str]] = []   # [kind, name, text]
    for line in content.split("\n"):
        marker = _MARKER.match(line)
        if marker:
            tag = marker.group(1)
            rest = line[marker.end():]
            if tag.startswith("Tool: "):
                blocks.append(["tool", tag[6:].strip(), rest])
            elif tag == "Result Error":
                blocks.append(["error", "", rest])
            else:
                blocks.append([tag.lower(), "", rest])
            continue
        if blocks and blocks[-1][0] != "image" and blocks[-1][0] != "document":
            blocks[-1][2] += "\n" + line
        else:
            blocks.append(["text", "", line])
    return [(k, n, t) for k, n, t in blocks]


def parts_of(message: Message) -> tuple[list[Part], str]:
    """The parts of one message, and a label for system messages."""
    content = message.content_full or message.content_text or ""
    if message.type is MessageType.SYSTEM:
        match = _SYSTEM_LABEL.match(content)
        label, body = (match.group(1), content[match.end():]) if match else ("", content)
        return [Part("text", body)], label
    parts: list[Part] = []
    for kind, name, text in split_parts(content):
        if kind == "tool":
            args = text
            if message.tool_args and (message.tool_name or "") == name:
                args = message.tool_args
            parts.append(Part("tool", tool=ToolCall(name or "tool", args.strip())))
        elif kind in ("result", "error"):
            result = ToolResult(text.strip("\n"), kind == "error", message.id, message.timestamp)
            previous = parts[-1] if parts else None
            if (previous is not None and previous.kind == "tool" and previous.tool is not None
                    and previous.tool.result is None):
                previous.tool.result = result     # call and result in one message (Gemini, OpenCode)
            else:
                parts.append(Part("result", result=result))
        elif kind == "text":
            if text.strip():
                if parts and parts[-1].kind == "text":
                    parts[-1].text += "\n" + text
                else:
                    parts.append(Part("text", text))
        else:
            parts.append(Part(kind, text.strip()))
    if message.tool_call_id and message.type is MessageType.ASSISTANT:
        calls = [p.tool for p in parts if p.kind == "tool" and p.tool is not None]
        if calls:
            calls[-1].call_id = message.tool_call_id
        else:
            parts.append(Part("tool", tool=ToolCall(message.tool_name or "tool", (message.tool_args or "").strip(),
                                                    message.tool_call_id)))
    if not parts:
        parts.append(Part("text", ""))
    return parts, ""


def _result_of(message: Message) -> ToolResult:
    parts, _ = parts_of(message)
    results = [p.result for p in parts if p.kind == "result" and p.result is not None]
    texts = [r.text for r in results] or [p.text for p in parts if p.kind == "text"]
    error = any(r.is_error for r in results)
    return ToolResult("\n".join(texts), error, message.id, message.timestamp)


def _is_result(message: Message) -> bool:
    return message.type is MessageType.TOOL and bool(message.tool_call_id)


def _is_call(message: Message) -> bool:
    return message.type is MessageType.ASSISTANT and bool(message.tool_call_id)


def build_items(window: list[Message], start: int, stop: int, first_position: int,
                children: list[SessionOverview], child_details: dict[str, tuple[str, str]]) -> list[Item]:
    """Items for ``window[start:stop]``; the rest of the window is context for pairing.

    A call pairs with the first later result of the same id at most ``PAIR_WINDOW``
    messages on. A paired result is shown inside its call (even when it lies just past
    the page) and not again on its own; a result whose call is not in reach is shown
    on its own.
    """
    paired: dict[int, int] = {}        # result index -> call index
    call_result: dict[int, int] = {}   # call index -> result index
    open_calls: dict[str, list[int]] = {}
    for i, m in enumerate(window):
        call_id = m.tool_call_id
        if not call_id:
            continue     # neither a call nor a result
        if _is_call(m):
            open_calls.setdefault(call_id, []).append(i)
        elif _is_result(m):
            waiting = open_calls.get(call_id)
            while waiting and i - waiting[0] > PAIR_WINDOW:
                waiting.pop(0)
            if waiting:
                c = waiting.pop(0)
                paired[i], call_result[c] = c, i
    items = []
    for i in range(start, stop):
        m = window[i]
        if i in paired:
            continue     # shown inside its call, on this page or the one before
        parts, label = parts_of(m)
        if i in call_result:
            calls = [p.tool for p in parts
                     if p.kind == "tool" and p.tool is not None and p.tool.call_id == m.tool_call_id]
            if calls:
                calls[-1].result = _result_of(window[call_result[i]])
        for part in parts:
            if part.kind == "tool" and part.tool is not None and part.tool.name in SUBAGENT_TOOLS:
                part.tool.subagent = _match_child(part.tool, children, child_details)
        items.append(Item(m, parts, label, first_position + i - start))
    return items


def _match_child(call: ToolCall, children: list[SessionOverview],
                 details: dict[str, tuple[str, str]]) -> SessionOverview | None:
    """The subagent session a Task call started: by the agent id in its result, else by its prompt."""
    if not children:
        return None
    try:
        args = json.loads(call.args) if call.args else {}
    except ValueError:
        args = {}
    prompt = args.get("prompt") if isinstance(args, dict) else None
    result_text = call.result.text if call.result else ""
    for child in children:
        agent_id, _ = details.get(child.session_id, ("", ""))
        if agent_id and result_text and re.search(rf"(?<![0-9A-Za-z]){re.escape(agent_id)}(?![0-9A-Za-z])",
                                                  result_text):
            return child
    if isinstance(prompt, str) and prompt.strip():
        wanted = " ".join(prompt.split())
        for child in children:
            _, first_prompt = details.get(child.session_id, ("", ""))
            if first_prompt and " ".join(first_prompt.split()) == wanted:
                return child
    return None
