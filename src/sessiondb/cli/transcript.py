"""show: a session's transcript, for reading on a terminal and for grep in a pipe.

A stored message's ``content_full`` is the text plus marked parts (``[Thinking] ...``,
``[Tool: NAME] {args}``, ``[Result] ...`` / ``[Result Error] ...``, ``[Image]``), the same
for every source; this module splits it back into those parts and lays them out:
assistant text as markdown (on a terminal), thinking dimmed, each tool call as its name
and compact arguments, each tool result labelled with the call it answers and whether
it failed.

Subagents (Claude Code's Task/Agent calls, OpenCode child sessions, Gemini nested
chats) are sessions of their own. By default each shows as one line under the call
that started it, with the command that opens it: a subagent's transcript is often
longer than the conversation around it, and its final report already appears as the
call's result. ``--subagents`` nests the whole transcripts in place.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.text import Text

from ..db import SessionDB
from ..models import Message, MessageType, Project, Session, SessionOverview
from .common import (EXIT_NOTHING, EXIT_OK, UserError, add_db_option, add_json_option, db_argument, open_db,
                     resolve_session, short_id)
from .output import Output, plural, safe_text, terminal_safe, when
from .timeargs import BadDate, parse_when

_ROLE_STYLE = {"user": "bold cyan", "assistant": "bold green", "tool": "bold magenta", "system": "bold blue"}
# Parts of content_full, each starting a line.
_PART = re.compile(r"^(\[Thinking\] |\[Tool: ([^\]\n]*)\] ?|\[Result Error\] ?|\[Result\] ?|\[Image\]|\[Document\]"
                   r"|\[File: [^\]\n]*\])")
_KNOWN_SYSTEM_LABELS = ("Summary", "Title", "Compact Summary", "Compacted Summary")
_LABEL = re.compile(r"^\[([^\]\n]{1,80})\]")
# Cuts without --full.
VALUE_CHARS, VALUE_LINES = 160, 4
RESULT_LINES = 12
SUBAGENT_TOOLS = ("Task", "Agent")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "show", help="print a session's transcript (paged on a terminal)",
        description="A session's transcript: times to the second, assistant text as markdown, tool calls with "
                    "their arguments, tool results labelled with their tool and status, thinking dimmed. On a "
                    "terminal it opens in $PAGER (default less), like git; in a pipe it prints plain lines. "
                    "Subagent transcripts show as one line under the call that started them (they are often "
                    "longer than the conversation around them, and their report is the call's result); "
                    "--subagents nests them in place.")
    p.add_argument("session", help="session id or its first characters")
    p.add_argument("--around", metavar="MESSAGE",
                   help="open at this message (its id, as printed by search, or its uuid), with context")
    p.add_argument("--at", metavar="TIME", help="open at the earliest message at or after TIME "
                                                "(2026-01-31T09:30, 7d, today, ...), with context")
    p.add_argument("-C", "--context", type=int, default=5, metavar="N",
                   help="messages before and after --around / --at")
    p.add_argument("--full", action="store_true", help="show long tool arguments and results whole, not cut")
    p.add_argument("--subagents", action="store_true", help="nest subagent transcripts under their calls")
    p.add_argument("--no-pager", action="store_true", help="print directly, even on a terminal")
    p.add_argument("--raw", action="store_true", help="print the source lines as stored (exact in a pipe)")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages (default: all)")
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_show)


# --------------------------------------------------------------------------- parts of a message
@dataclass
class Part:
    kind: str            # text, thinking, tool, result, image, document
    body: str = ""
    tool: str | None = None
    error: bool = False


def split_parts(message: Message) -> list[Part]:
    """The marked parts of ``content_full`` (text is everything outside the markers)."""
    full = message.content_full or ""
    if not full or (full == (message.content_text or "") and message.type is MessageType.USER):
        return [Part("text", full or message.content_text or "")]
    parts: list[Part] = []
    for line in full.split("\n"):
        match = _PART.match(line)
        if match is None:
            if parts:
                parts[-1].body += ("\n" if parts[-1].body or parts[-1].kind != "text" else "") + line
            else:
                parts.append(Part("text", line))
            continue
        marker, rest = match.group(1), line[match.end():]
        if marker.startswith("[Thinking"):
            parts.append(Part("thinking", rest))
        elif marker.startswith("[Tool:"):
            parts.append(Part("tool", rest, tool=match.group(2) or "unknown"))
        elif marker.startswith("[Result"):
            parts.append(Part("result", rest, error="Error" in marker))
        elif marker.startswith("[File:"):
            parts.append(Part("file", marker[len("[File: "):-1] + rest))
        else:
            parts.append(Part(marker.strip("[]").lower(), rest))
    return parts


def unknown_label(message: Message) -> str | None:
    """The record type of a record the parser did not know (kept as a marked system message)."""
    if message.type is not MessageType.SYSTEM or message.content_text:
        return None
    match = _LABEL.match(message.content_full or "")
    if match is None:
        return None
    label = match.group(1)
    if label in _KNOWN_SYSTEM_LABELS or label.startswith("system:"):
        return None
    return label


def tool_arguments(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def cut(text: str, full: bool, *, chars: int = VALUE_CHARS, lines: int = VALUE_LINES) -> str:
    """``text`` shortened to a few lines, the cut said in place."""
    if full:
        return text
    rows = text.split("\n")
    shown = "\n".join(rows[:lines])
    if len(shown) > chars:
        shown = shown[:chars]
    hidden_chars = len(text) - len(shown)
    if hidden_chars <= 0:
        return text
    hidden_lines = text.count("\n") - shown.count("\n")
    more = f"{hidden_lines} more lines" if hidden_lines > 0 else f"{hidden_chars} more chars"
    return f"{shown}… [{more}; --full shows all]"


def format_value(value: Any, full: bool) -> str:
    if isinstance(value, str):
        return cut(value, full)
    return cut(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")), full)


def tool_call_text(name: str, args: Any, full: bool, width: int) -> Text:
    """``→ Name  key: value  key: value`` on one line when it fits, else one key a line."""
    text = Text("→ ", style="magenta")
    text.append(terminal_safe(name), style="bold magenta")
    if args is None or args == {}:
        return text
    if not isinstance(args, dict):
        text.append("  " + terminal_safe(format_value(args, full)))
        return text
    items = [(str(k), format_value(v, full)) for k, v in args.items()]
    one_line = "  ".join(f"{k}: {v}" for k, v in items)
    if "\n" not in one_line and len(one_line) + len(name) + 4 <= width:
        for key, value in items:
            text.append("  " + terminal_safe(key) + ": ", style="dim")
            text.append(terminal_safe(value))
        return text
    for key, value in items:
        text.append("\n    " + terminal_safe(key) + ": ", style="dim")
        text.append(terminal_safe(value).replace("\n", "\n      "))
    return text


def indented(items: list[RenderableType], prefix: str, style: str = "", *,
             terminal: bool = False) -> list[RenderableType]:
    """Each line of each item behind ``prefix``. On a terminal the items are padded, so
    wrapped lines keep the indent; in a pipe, Text stays plain lines (no padding)."""
    out: list[RenderableType] = []
    if terminal:
        return [Padding(item, (0, 0, 0, len(prefix))) for item in items]
    for item in items:
        if isinstance(item, Text):
            for line in item.split("\n", allow_blank=True):
                out.append(Text(prefix, style=style) + line if line.plain.strip() or style else Text(""))
        else:
            out.append(Padding(item, (0, 0, 0, len(prefix))))
    return out


# --------------------------------------------------------------------------- the transcript
@dataclass
class Transcript:
    """What one ``show`` lays out: a session, its messages and its subagents."""

    overview: SessionOverview
    messages: list[Message]
    children: list[SessionOverview] = field(default_factory=list)
    # tool_call_id -> tool name, for labelling results
    calls: dict[str, str] = field(default_factory=dict)
    # message id -> subagents started by the call in that message
    started: dict[int, list[SessionOverview]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.messages:
            if m.tool_call_id and m.tool_name:
                self.calls[m.tool_call_id] = m.tool_name
        self._place_children()

    def _place_children(self) -> None:
        """Each subagent under the call that started it: the call whose prompt is the
        subagent's first prompt, else the latest call before the subagent's first message."""
        left = list(self.children)
        calls = [m for m in self.messages if m.tool_name]
        for m in calls:
            args = tool_arguments(m.tool_args)
            prompt = args.get("prompt") if isinstance(args, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                continue
            start = " ".join(prompt.split())[:60]
            for child in left:
                if child.title and child.title[:60] == start[:len(child.title[:60])]:
                    self.started.setdefault(m.id, []).append(child)
                    left.remove(child)
                    break
        spawning = [m for m in calls if m.tool_name in SUBAGENT_TOOLS] or calls
        for child in left:
            before = [m for m in spawning if child.first_message_at is None or m.timestamp <= child.first_message_at]
            anchor = before[-1] if before else (spawning[0] if spawning else None)
            if anchor is not None:
                self.started.setdefault(anchor.id, []).append(child)

    def result_label(self, message: Message, parts: list[Part]) -> tuple[str | None, bool | None]:
        tool = message.tool_name or (self.calls.get(message.tool_call_id) if message.tool_call_id else None)
        results = [p for p in parts if p.kind == "result"]
        error = any(p.error for p in results) if results else None
        return tool, error


class Renderer:
    """Lays a transcript out as rich renderables (styled on a terminal, plain in a pipe)."""

    def __init__(self, out: Output, args: argparse.Namespace, *, rich_text: bool, width: int) -> None:
        self.out, self.args, self.rich_text, self.width = out, args, rich_text, width
        self.db_arg = db_argument(args)
        self.nested: dict[str, Transcript] = {}
        self.depth = 0

    def header(self, t: Transcript) -> list[RenderableType]:
        o = t.overview
        title = Text(terminal_safe(o.session_id), style="bold")
        if o.title:
            title.append("  " + terminal_safe(o.title))
        facts = [o.source, f"{o.project_name} ({o.project_path})" if o.project_path else o.project_name,
                 plural(o.message_count, "message"),
                 f"{when(o.first_message_at, seconds=True)} → {when(o.last_message_at, seconds=True)}",
                 o.model or ""]
        lines: list[RenderableType] = [title, Text("  ·  ".join(terminal_safe(f) for f in facts if f), style="dim")]
        if o.summary and o.summary != o.title:
            lines.append(safe_text("summary: " + " ".join(o.summary.split()), "dim"))
        if o.parent_session_id:
            lines.append(safe_text(f"subagent of {o.parent_session_id}: sessiondb show "
                                   f"{o.parent_session_id}{self.db_arg}", "yellow"))
        return lines

    def message(self, t: Transcript, m: Message, *, target: bool = False) -> list[RenderableType]:
        parts = split_parts(m)
        role = m.type.value
        head = Text("▶ " if target else "", style="bold yellow")
        head.append(when(m.timestamp, seconds=True) + "  ", style="dim")
        label = unknown_label(m)
        if m.type is MessageType.TOOL:
            tool, error = t.result_label(m, parts)
            head.append("result", style=_ROLE_STYLE["tool"])
            head.append(f"  {terminal_safe(tool or 'tool')}", style="magenta")
            if error is not None:
                head.append("  error" if error else "  ok", style="bold red" if error else "green")
        elif label is not None:
            head.append("unknown record", style="bold red")
            head.append(f"  {terminal_safe(label)} (this version does not know it; the line is kept: --raw)",
                        style="dim")
        else:
            head.append(role, style=_ROLE_STYLE.get(role, ""))
            if m.model and m.type is MessageType.ASSISTANT:
                head.append(f"  {terminal_safe(m.model)}", style="dim")
        head.append(f"  #{m.id}", style="dim")
        body: list[RenderableType] = []
        for part in parts:
            body.extend(self.part(t, m, part, label))
        for child in t.started.get(m.id, []):
            body.extend(self.subagent(child))
        if self.depth:
            head = Text("┆ ", style="yellow") + head
        return [Text(""), head, *indented(body, "  ", terminal=self.rich_text)]

    def part(self, t: Transcript, m: Message, part: Part, unknown: str | None) -> list[RenderableType]:
        full = self.args.full
        if part.kind == "text":
            if not part.body.strip():
                return []
            text = terminal_safe(part.body)
            if unknown is not None:
                return [Text(text[len(unknown) + 2:].strip() or text, style="dim")]
            if self.rich_text and m.type is MessageType.ASSISTANT:
                return [Markdown(text, hyperlinks=False)]
            return [Text(text)]
        if part.kind == "thinking":
            return [Text("thinking: " + terminal_safe(part.body), style="dim italic")]
        if part.kind == "tool":
            name = part.tool or m.tool_name or "unknown"
            raw = m.tool_args if (m.tool_args and name == m.tool_name) else part.body
            return [tool_call_text(name, tool_arguments(raw), full, self.width - 4)]
        if part.kind == "result":
            body = part.body.strip("\n")
            if not body:
                return [Text("(empty)", style="dim")]
            if not full:
                body = cut(body, False, chars=RESULT_LINES * 200, lines=RESULT_LINES)
            return [Text(terminal_safe(body), style="red" if part.error else "")]
        return [Text(f"[{part.kind}]{(' ' + terminal_safe(part.body)) if part.body else ''}", style="dim")]

    def subagent(self, child: SessionOverview) -> list[RenderableType]:
        line = Text("↳ subagent ", style="yellow")
        line.append(terminal_safe(short_id(child.session_id)), style="bold yellow")
        line.append(f"  {plural(child.message_count, 'message')}", style="dim")
        if child.title:
            line.append("  " + terminal_safe(child.title), style="dim")
        if not self.args.subagents:
            line.append(f"  (sessiondb show {terminal_safe(child.session_id)}{self.db_arg}, or --subagents)",
                        style="dim")
            return [line]
        nested = self.nested.get(child.session_id)
        if nested is None:
            return [line]
        body: list[RenderableType] = []
        self.depth += 1
        try:
            for m in nested.messages:
                body.extend(self.message(nested, m))
        finally:
            self.depth -= 1
        return [line, *indented(body, "┆ ", "yellow", terminal=self.rich_text)]


# --------------------------------------------------------------------------- the command
def _window(messages: list[Message], args: argparse.Namespace) -> tuple[int, int, int | None]:
    """The slice to show and the target message's index (for --around / --at)."""
    if args.context < 0:
        raise UserError("--context must not be negative")
    target: int | None = None
    if args.around is not None:
        wanted = args.around.lstrip("#")
        for i, m in enumerate(messages):
            if (wanted.isdigit() and m.id == int(wanted)) or m.uuid == wanted:
                target = i
                break
        if target is None:
            raise UserError(f"no message {args.around!r} in this session",
                            "use the message id that `sessiondb search` prints (#1234) or a uuid", EXIT_NOTHING)
    elif args.at is not None:
        try:
            at = parse_when(args.at)
        except BadDate as exc:
            raise UserError(f"--at: {exc}", "use 2026-01-31, 2026-01-31T09:30, 7d, 12h, today or yesterday") from exc
        # The earliest message at or after the time (records need not be in time order).
        later = [(m.timestamp, i) for i, m in enumerate(messages) if m.timestamp >= at]
        target = min(later)[1] if later else None
        if target is None:
            raise UserError(f"no message at or after {args.at} in this session", "try an earlier time",
                            EXIT_NOTHING)
    if target is None:
        end = len(messages) if args.limit is None else min(len(messages), args.limit)
        return 0, end, None
    return max(0, target - args.context), min(len(messages), target + args.context + 1), target


def _load(db: SessionDB, session_id: str) -> Transcript:
    overview = db.get_session_overview(session_id)
    if overview is None:
        raise UserError(f"no session matches {session_id!r}", "list sessions with `sessiondb sessions`",
                        EXIT_NOTHING)
    messages = db.list_messages(session_id)
    children = db.list_session_overviews(parent_session_id=session_id, limit=None)
    return Transcript(overview, messages, children)


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    if args.limit is not None and args.limit < 0:
        raise UserError("--limit must not be negative")
    with open_db(args, remote=True) as db:
        session_id = resolve_session(db, args.session)
        transcript = _load(db, session_id)
        nested = {}
        if args.subagents:
            for child in transcript.children:
                nested[child.session_id] = _load(db, child.session_id)
        session = db.get_session(session_id)
        project = db.get_project(session.project_id) if session else None
    start, end, target = _window(transcript.messages, args)
    shown = transcript.messages[start:end]
    if out.as_json:
        out.json(_json(transcript, shown, session, project))
        return EXIT_OK
    if args.raw:
        for m in shown:
            line = m.raw if m.raw is not None else m.content_full
            if out.interactive:
                out.print(line)
            else:
                out.console.file.write(line + "\n")
        return EXIT_OK
    width = out.console.width if out.interactive else 100
    renderer = Renderer(out, args, rich_text=out.interactive, width=width)
    renderer.nested = nested
    items: list[RenderableType] = renderer.header(transcript)
    if start > 0:
        items.append(Text(f"… {plural(start, 'earlier message')} (sessiondb show {short_id(session_id)}"
                          f"{renderer.db_arg} --context {start + args.context})", style="dim"))
    for index, m in enumerate(shown, start):
        items.extend(renderer.message(transcript, m, target=index == target))
    later = len(transcript.messages) - end
    if later > 0:
        items.append(Text(""))
        items.append(Text(f"… {plural(later, 'later message')}", style="dim"))
    if not transcript.messages:
        items.append(Text("(no messages stored for this session)", style="dim"))
    out.page(items, enabled=not args.no_pager)
    return EXIT_OK if transcript.messages else EXIT_NOTHING


def _json(t: Transcript, shown: list[Message], session: Session | None, project: Project | None) -> dict[str, Any]:
    o = t.overview
    roles: dict[str, int] = {}
    for m in t.messages:
        roles[m.type.value] = roles.get(m.type.value, 0) + 1
    messages = []
    for m in shown:
        parts = split_parts(m)
        tool, error = t.result_label(m, parts) if m.type is MessageType.TOOL else (m.tool_name, None)
        messages.append({
            "id": m.id, "uuid": m.uuid, "role": m.type.value, "timestamp": m.timestamp, "sequence": m.sequence,
            "model": m.model, "text": m.content_text, "content": m.content_full,
            "thinking": [p.body for p in parts if p.kind == "thinking"],
            "tool_name": tool, "tool_call_id": m.tool_call_id, "tool_args": tool_arguments(m.tool_args),
            "is_error": error, "unknown_record": unknown_label(m), "source": m.source, "raw": m.raw})
    meta = {}
    if session is not None and session.meta:
        try:
            meta = json.loads(session.meta)
        except ValueError:
            meta = {"unparsed": session.meta}
    return {
        "session": {"session_id": o.session_id, "source": o.source, "title": o.title, "summary": o.summary,
                    "project_id": o.project_id, "project_name": o.project_name, "project_path": o.project_path,
                    "message_count": o.message_count, "first_message_at": o.first_message_at,
                    "last_message_at": o.last_message_at, "parent_session_id": o.parent_session_id,
                    "session_type": o.session_type, "model": o.model, "cwd": o.cwd, "meta": meta},
        "project": project,
        "roles": roles,
        "tool_names": sorted({m.tool_name for m in t.messages if m.tool_name}),
        "subagents": [{"session_id": c.session_id, "title": c.title, "message_count": c.message_count,
                       "first_message_at": c.first_message_at,
                       "started_by": next((mid for mid, cs in t.started.items() if c in cs), None)}
                      for c in t.children],
        "messages": messages,
    }
