"""Codex CLI: rollout files ``sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl`` and
``archived_sessions/rollout-*.jsonl`` under ``$CODEX_HOME`` (default ``~/.codex``).

Roots: the argument, ``$CODEX_PATH``, ``$CODEX_HOME``, else ``~/.codex``. Files are
found by scanning (``history.jsonl`` misses sessions when history is off, and for
archived or ``codex exec`` runs). Compressed ``.jsonl.zst`` rollouts are not read.

A line is ``{"timestamp", "type", "payload"}``. The session id is the id in the
rollout's ``session_meta`` (falling back to the uuid at the end of the file name);
``turn_context`` gives the model. ``response_item`` payloads become messages:

* ``message``: ``user`` USER (injected ``<environment_context>`` / AGENTS.md
  instructions are SYSTEM), ``assistant`` ASSISTANT, ``developer``/``system`` SYSTEM;
* ``reasoning``: ASSISTANT ``[Thinking] <summary>`` (encrypted-only items are skipped);
* ``function_call`` / ``custom_tool_call`` / ``local_shell_call`` / ``web_search_call``:
  ASSISTANT ``[Tool: NAME] <arguments>`` with ``call_id``, name and arguments;
* ``function_call_output`` / ``custom_tool_call_output``: TOOL ``[Result] <output>``.

``compacted`` lines are SYSTEM ``[Compacted Summary]``. ``event_msg`` lines repeat the
response items (plus token counts) and are counted as skipped. Timestamps are
converted to milliseconds (the original stored the collection time instead); a line
without one (the oldest rollouts' items) takes the time of the nearest timed line,
the session header's included.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .jsonl import loads
from ..models import MessageType
from . import content
from . import roots as roots_module
from . import tokens
from .base import LineParser, LineSource, own_time
from .lenient import LenientDecoder, LineError
from .records import MessageRecord, SessionRecord, SourceUnit, clean_id, project_name_of
from .roots import RootSpec

_ROLLOUT = re.compile(r"^rollout-.*\.jsonl$")
_UUID_TAIL = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
_INJECTED_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions",
                      "<permissions instructions>")
_SKIPPED_ITEMS = frozenset({"ghost_snapshot"})
_FOLDERS = ("sessions", "archived_sessions")
_CODEX_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


def session_id_from_name(path: str) -> str:
    """``rollout-2025-09-01T10-00-00-<uuid>.jsonl`` -> ``<uuid>`` (else the file stem)."""
    stem = Path(path).name[:-len(".jsonl")] if path.endswith(".jsonl") else Path(path).stem
    match = _UUID_TAIL.search(stem)
    return match.group(1) if match else stem


# --------------------------------------------------------------------------- line schema
class ContentItem(msgspec.Struct):
    type: str | None = None
    text: str | None = None


class Payload(msgspec.Struct):
    type: str | None = None
    id: str | None = None
    timestamp: str | None = None
    cwd: str | None = None
    originator: str | None = None
    cli_version: str | None = None
    model_provider: str | None = None
    source: msgspec.Raw = msgspec.Raw(b"")
    git: msgspec.Raw = msgspec.Raw(b"")
    model: str | None = None
    role: str | None = None
    content: str | list[ContentItem] | None = None
    summary: list[ContentItem] | str | None = None
    name: str | None = None
    arguments: str | None = None
    call_id: str | None = None
    input: str | None = None
    output: msgspec.Raw = msgspec.Raw(b"")
    action: msgspec.Raw = msgspec.Raw(b"")
    message: str | None = None
    instructions: str | None = None
    info: msgspec.Raw = msgspec.Raw(b"")


class Envelope(msgspec.Struct):
    timestamp: str | None = None
    type: str | None = None
    payload: Payload | None = None
    record_type: str | None = None
    id: str | None = None


ENVELOPE = LenientDecoder(Envelope)
PAYLOAD = LenientDecoder(Payload)
_ITEM_TYPES = frozenset({"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
                         "custom_tool_call_output", "local_shell_call", "web_search_call", "ghost_snapshot"})


def output_text(raw: msgspec.Raw) -> str:
    """Tool output: Codex stores ``{"output": ..., "metadata": ...}`` as a JSON string."""
    data = bytes(raw)
    if not data or data == b"null":
        return ""
    try:
        value = loads(data)
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")
    if isinstance(value, str) and value.startswith("{") and '"output"' in value:
        try:
            value = loads(value)
        except msgspec.DecodeError:
            return str(value)
    if isinstance(value, dict) and "output" in value:
        value = value["output"]
    return content.result_text(value)


class CodexParser(LineParser):
    """The lines of one rollout file (see the module docstring)."""

    decoder = ENVELOPE
    carried = ("sid", "usage_seen", "last_reply")
    sid: str | None = None   # from session_meta; the file name's uuid once a record needed one
    # The last cumulative token counts read (``total_token_usage``), to tell a repeated
    # event from a new call and to derive a call's counts when only totals are given.
    usage_seen: list[int] | None = None
    last_reply: str | None = None   # the uuid of the last assistant message handed out

    @property
    def session_id(self) -> str:
        if self.sid is None:
            self.sid = session_id_from_name(self.unit.path)
        return self.sid

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.sid = value

    def session(self) -> SessionRecord:
        root = self.unit.context.get("root")
        project = self.cwd or (os.path.join(root, "sessions") if root else str(Path(self.unit.path).parent))
        return SessionRecord(self.session_id, self.source.name, project_path=project,
                             project_name=project_name_of(project), cwd=self.cwd, model=self.model,
                             meta=dict(self.meta))

    # ------------------------------------------------------------------ records
    def convert(self, env: Envelope, raw: str) -> None:
        at = own_time(env.timestamp)
        kind = env.type
        payload = env.payload
        if payload is None and env.record_type is not None:
            self.skip(f"record_type:{env.record_type}")
        elif payload is None and kind in _ITEM_TYPES:
            # Oldest rollouts: bare response items, one a line.
            try:
                payload, _ = PAYLOAD.decode(raw)
            except LineError:
                payload = None
            self._item(payload, raw, at)
        elif payload is None and kind is None and env.id is not None:
            # Oldest rollouts: a bare ``{id, timestamp, instructions}`` header line.
            self._session_meta(Payload(id=env.id), at)
        elif kind == "session_meta" and payload is not None:
            self._session_meta(payload, at)
        elif kind == "turn_context" and payload is not None:
            self.observe_time(env.timestamp)
            if payload.model and payload.model != self.model:
                self.model = payload.model
            if payload.cwd and self.cwd is None:
                self.cwd = payload.cwd
        elif kind == "response_item":
            self._item(payload, raw, at)
        elif kind == "compacted":
            summary = payload.message if payload is not None and payload.message else ""
            self.emit(self.synthetic_uuid("compacted", raw), MessageType.SYSTEM, summary,
                      content.tagged("Compacted Summary", summary, separator="\n"), raw, at=at)
        elif kind == "event_msg":
            self.skip(f"event_msg:{payload.type if payload else None}")
            if payload is not None and payload.type == "token_count":
                self._token_count(payload, at)
        else:
            self.unknown(kind or "(no type)", raw, at=at)

    def _session_meta(self, payload: Payload, at: int | None) -> None:
        if at is not None:
            self.timeline.observe(at)
        if self.sid is None and payload.id:
            self.sid = clean_id(payload.id)
        if payload.cwd and self.cwd is None:
            self.cwd = payload.cwd
        for key, value in (("cli_version", payload.cli_version), ("originator", payload.originator),
                           ("model_provider", payload.model_provider)):
            if value and key not in self.meta:
                self.meta[key] = value
        for key, raw_value in (("session_source", payload.source), ("git", payload.git)):
            value = content.decode_raw(raw_value)
            if value is not None and key not in self.meta:
                self.meta[key] = value

    def _token_count(self, payload: Payload, at: int | None) -> None:
        """A ``token_count`` event: ``info.last_token_usage`` is the model call just made,
        ``info.total_token_usage`` the session's running total. Codex repeats an event
        with unchanged totals (a rate-limit update): the totals, part of the key, make
        it the same call. Without ``last_token_usage`` the call is the growth of the totals."""
        info = content.raw_value(payload.info)
        if not isinstance(info, dict):
            return
        total, last = info.get("total_token_usage"), info.get("last_token_usage")
        seen = [tokens.count(total.get(name)) for name in _CODEX_FIELDS] if isinstance(total, dict) else None
        if seen is not None and seen == self.usage_seen:
            return
        previous = self.usage_seen if self.usage_seen is not None and seen is not None and all(
            a >= b for a, b in zip(seen, self.usage_seen)) else None
        if not isinstance(last, dict) and seen is not None:
            last = {name: value - (previous[i] if previous else 0) for i, (name, value)
                    in enumerate(zip(_CODEX_FIELDS, seen))}
        if seen is not None:
            self.usage_seen = seen
            key = f"{self.session_id}:total:{':'.join(map(str, seen))}"
        elif isinstance(last, dict) and at is not None:
            key = f"{self.session_id}:at:{at}"
        else:
            return
        reply = self.messages[-1] if self.messages and self.messages[-1].type == MessageType.ASSISTANT else None
        usage = tokens.openai(last, clean_id(key), model=self.model, timestamp=at)
        if usage is None:
            return
        if reply is not None and reply.usage is None:
            self.add_usage(usage, reply)
        else:
            usage.message_uuid = reply.uuid if reply is not None else self.last_reply
            self.add_usage(usage)

    def take_messages(self) -> list[MessageRecord]:
        out = super().take_messages()
        for record in reversed(out):
            if record.type == MessageType.ASSISTANT:
                self.last_reply = record.uuid
                break
        return out

    def _item(self, p: Payload | None, raw: str, at: int | None) -> None:
        kind = p.type if p is not None else None
        if p is None or kind is None:
            self.unknown("response_item:(no type)", raw, at=at, tag="response_item")
            return
        if kind == "message":
            parts = []
            if isinstance(p.content, str):
                parts.append(p.content)
            elif p.content:
                for item in p.content:
                    if item.type in ("input_text", "output_text", "text") and item.text:
                        parts.append(item.text)
                    elif item.type == "input_image":
                        parts.append(content.IMAGE)
            text = "\n".join(parts)
            if not text:
                self.skip("message:empty")
                return
            role = p.role or "user"
            uuid = p.id or self.synthetic_uuid(f"message:{role}", raw)
            if role == "assistant":
                self.emit(uuid, MessageType.ASSISTANT, text, text, raw, at=at, model=self.model)
            elif role == "user" and not text.lstrip().startswith(_INJECTED_PREFIXES):
                self.emit(uuid, MessageType.USER, text, text, raw, at=at)
            else:
                self.emit(uuid, MessageType.SYSTEM, text, text, raw, at=at)
        elif kind == "reasoning":
            parts = [i.text for i in p.summary if i.text] if isinstance(p.summary, list) else []
            if isinstance(p.content, list):
                parts.extend(i.text for i in p.content if i.text)
            if not parts:
                self.skip("reasoning:empty")
                return
            self.emit(p.id or self.synthetic_uuid("reasoning", raw), MessageType.ASSISTANT, "",
                      content.thinking("\n".join(parts)), raw, at=at, model=self.model)
        elif kind in ("function_call", "custom_tool_call"):
            args = p.arguments if kind == "function_call" else p.input
            if args is None:
                args = p.arguments if p.arguments is not None else p.input
            self.emit(p.call_id or p.id or self.synthetic_uuid(kind, raw), MessageType.ASSISTANT, "",
                      content.tool_call(p.name, args), raw, at=at, model=self.model,
                      tool=(p.call_id or p.id, p.name, args))
        elif kind in ("local_shell_call", "web_search_call"):
            action = content.raw_text(p.action)
            name = kind[:-len("_call")]
            self.emit(p.call_id or p.id or self.synthetic_uuid(kind, raw), MessageType.ASSISTANT, "",
                      content.tool_call(name, action), raw, at=at, model=self.model,
                      tool=(p.call_id or p.id, name, action or None))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            # Outputs end in newlines; the stored text does not keep trailing whitespace.
            body = output_text(p.output).rstrip()
            self.emit(self.synthetic_uuid(kind, raw), MessageType.TOOL, "", content.tool_result(body), raw, at=at,
                      tool=(p.call_id, None, None))
        elif kind in _SKIPPED_ITEMS:
            self.skip(kind)
        else:
            self.unknown(f"response_item:{kind}", raw, at=at)


# --------------------------------------------------------------------------- the source
class CodexSource(LineSource):
    name = "codex"
    title = "Codex CLI"
    # 3: token usage of ``token_count`` events.
    # 2: records without a time take the nearest timed record's (not the file's mtime).
    parser_version = 3
    channel = "cli"
    roots_spec = RootSpec("CODEX_PATH", (("CODEX_HOME", ""),), (".codex",))
    parser = CodexParser

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        for root in roots:
            for folder in _FOLDERS:
                yield from self._walk(root / folder, root)

    def _walk(self, directory: Path, root: Path) -> Iterator[SourceUnit]:
        stack = [str(directory)]
        while stack:
            current = stack.pop()
            for entry in roots_module.list_dir(current, sort=True):
                if roots_module.is_dir(entry):
                    if not entry.name.startswith("."):
                        stack.append(entry.path)
                elif _ROLLOUT.match(entry.name):
                    unit = self.entry_unit(entry, {"root": str(root)})
                    if unit is not None:
                        yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        for root in roots:
            rel = roots_module.is_within(path, root)
            if rel is None or not rel.parts or rel.parts[0] not in _FOLDERS:
                continue
            if not _ROLLOUT.match(rel.name):
                return None
            return self.stat_unit(os.path.join(root, *rel.parts), context={"root": str(root)})
        return None


SOURCE = CodexSource()
