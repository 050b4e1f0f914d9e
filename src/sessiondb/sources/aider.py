"""Aider: ``<project>/.aider.chat.history.md``, an append-only markdown log of every
run of aider in that project (aider writes it at the git root, else in the working
directory).

Roots: the argument, ``$AIDER_PATH``, ``$AIDER_CHAT_HISTORY_FILE`` (aider's own
setting, naming the file), no default. A root may be the history file itself or a
directory: the file in it and in its sub-directories up to two levels down. The
collector also looks in every project directory the database knows from the other
sources' sessions (and their parents up to the git root).

Each ``# aider chat started at YYYY-MM-DD HH:MM:SS`` header (local time) starts a
run, stored as a session of its own, ``aider-<path digest>-<start>``, whose project is
the file's directory. In a run:

* ``#### `` lines are the user's input (USER); ``#### /run cmd``, ``/test`` and ``!cmd``
  are USER ``[Tool: run] cmd`` and the ``>`` lines after them their TOOL result;
* ``> `` lines are aider's own output (SYSTEM ``[aider] ...``); the model comes from its
  ``Model:`` / ``Main model:`` announcement;
* any other text is the model's reply (ASSISTANT), with the edit blocks it holds.

Formats handled: the history of aider 0.x and later (the header, ``####`` and
``>`` prefixes have not changed), including files that start without a header. The
markdown carries no time but the run's start; a user message takes the time of its
entry in ``.aider.input.history`` beside it (``# <time>`` then ``+`` lines), and the
replies and output after it take the time of the message before them.
The last block of a read may continue in an append: it is stored as it is and
updated when it grows (the same uuid, the same sequence).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ..models import MessageType
from . import content
from . import roots as roots_module
from .base import LineParser, LineSource
from .records import MessageRecord, SessionRecord, SourceUnit, project_name_of
from .roots import RootSpec

HISTORY = ".aider.chat.history.md"
INPUT_HISTORY = ".aider.input.history"
# The input history is read for the times of the user's messages up to this size.
MAX_INPUT_HISTORY_BYTES = 32 << 20
HEADER = re.compile(r"^# aider chat started at (\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)\s*$")
MODEL = re.compile(r"^(?:Main model|Model): (\S+)")
VERSION = re.compile(r"^Aider v(\S+)")
COMMANDS = ("/run", "/test", "/git", "/lint")
# Directories never descended into when a root is searched for history files.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "target", "build", "dist"})
SEARCH_DEPTH = 2
# Parents of a known project looked at for a history file (aider writes it at the git root).
PARENT_LEVELS = 8
# A block longer than this many lines is stored in pieces (memory stays bounded).
MAX_BLOCK_LINES = 20_000


def started_ms(text: str) -> int | None:
    """A header's local time in epoch ms."""
    try:
        return int(datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M:%S").timestamp() * 1000)
    except (ValueError, OverflowError, OSError):
        return None


def input_times(path: str) -> list[tuple[int, str]]:
    """The entries of an ``.aider.input.history`` (prompt_toolkit's file history: a
    ``# <local time>`` line, then the input's lines each after ``+``): (epoch ms, text)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT_HISTORY_BYTES)
    except OSError:
        return []
    entries: list[tuple[int, str]] = []
    moment: int | None = None
    lines: list[str] = []
    for line in data.decode("utf-8", "replace").splitlines() + ["# end"]:
        if line.startswith("# "):
            if moment is not None and lines:
                entries.append((moment, "\n".join(lines)))
            moment, lines = _input_time(line[2:].strip()), []
        elif line.startswith("+"):
            lines.append(line[1:])
    return entries


def _input_time(text: str) -> int | None:
    for layout in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return int(datetime.strptime(text, layout).timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            continue
    return None


def path_digest(path: str) -> str:
    return hashlib.blake2b(os.path.abspath(path).encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


class AiderParser(LineParser):
    """The lines of one chat history file (see the module docstring)."""

    decoder = None  # type: ignore[assignment]   # markdown, not JSON
    carried = ("run", "run_index", "run_start", "block", "command", "input_after")
    run: str | None = None            # the current run's session id
    run_index = 0
    run_start: int | None = None
    block: dict[str, Any] | None = None   # the block being read: kind, offset, sequence, lines
    command: str | None = None        # uuid of the user's command whose output follows
    input_after = 0                   # entries of the input history already matched

    def __init__(self, source: LineSource, unit: SourceUnit, carry: Mapping[str, Any] | None = None) -> None:
        super().__init__(source, unit, carry)
        self.project = str(Path(unit.path).parent)
        self.digest = path_digest(unit.path)
        self.finished: list[tuple[SessionRecord, list[MessageRecord]]] = []
        self._inputs: list[tuple[int, str]] | None = None

    @property
    def session_id(self) -> str:
        if self.run is None:
            self.run = f"aider-{self.digest}-0"
        return self.run

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.run = value

    def session(self) -> SessionRecord:
        meta = dict(self.meta)
        meta["history_file"] = self.unit.path
        return SessionRecord(self.session_id, self.source.name, project_path=self.project,
                             project_name=project_name_of(self.project), cwd=self.project, model=self.model,
                             meta=meta)

    def take_sessions(self) -> list[tuple[SessionRecord, list[MessageRecord]]]:
        self._emit_block(final=False)
        out, self.finished = self.finished, []
        out.append((self.session(), self.take_messages()))
        return out

    # ------------------------------------------------------------------ lines
    def feed(self, line: bytes, offset: int) -> None:
        text = line.decode("utf-8", "replace")
        header = HEADER.match(text)
        if header:
            self._emit_block(final=True)
            self._start_run(header.group(1), offset)
            return
        if text.startswith("#### ") or text == "####":
            kind, body = "user", text[5:]
        elif text.startswith("> ") or text == ">":
            kind, body = "aider", text[2:]
        else:
            kind, body = "assistant", text
        # Aider ends the lines it writes with two spaces (a markdown line break).
        body = body[:-2] if body.endswith("  ") else body
        block = self.block
        if block is None or block["kind"] != kind or len(block["lines"]) >= MAX_BLOCK_LINES:
            if kind == "assistant" and not body.strip() and (block is None or block["kind"] != "assistant"):
                return   # the blank lines between blocks
            self._emit_block(final=True)
            block = self.block = {"kind": kind, "offset": offset, "seq": self.sequence, "lines": []}
            self.sequence += 1
        block["lines"].append(body)

    def _start_run(self, stamp: str, offset: int) -> None:
        if self.messages or self.run is not None:
            self.finished.append((self.session(), self.take_messages()))
        self.run_index += 1
        self.run = f"aider-{self.digest}-{stamp.replace('-', '').replace(':', '').replace(' ', 'T')}"
        if self.run_index > 1 and self.finished and self.finished[-1][0].session_id == self.run:
            self.run = f"{self.run}-{self.run_index}"
        self.meta = {"started_at": stamp}
        self.model = None
        self.command = None
        self.run_start = started_ms(stamp)
        if self.run_start is not None:
            self.timeline.observe(self.run_start)

    def _emit_block(self, *, final: bool) -> None:
        """Store the block read so far. A block that may still grow (``final`` False) is
        stored as it is and kept; stored again when it grows, it updates the same row."""
        block = self.block
        if block is None:
            return
        if final:
            self.block = None
        lines = list(block["lines"])   # the kept block goes on with its blank lines
        while lines and not lines[-1].strip():
            lines.pop()
        text = "\n".join(lines).strip("\n")
        if not text.strip():
            return
        kind = block["kind"]
        uuid = f"{self.session_id}:{block['offset']}"
        raw = "\n".join(lines)
        sequence_after = self.sequence
        self.sequence = block["seq"]
        if kind == "user":
            if block.get("at") is None:
                block["at"] = self._input_time(text)
            self._user(uuid, text, raw, block["at"])
        elif kind == "aider":
            self._aider(uuid, text, raw)
        else:
            self.emit(uuid, MessageType.ASSISTANT, text, text, raw, at=None, model=self.model)
        self.sequence = sequence_after

    def _input_time(self, text: str) -> int | None:
        """When the user typed ``text``: the next matching entry of the input history
        (aider records each input there before the chat history)."""
        if self._inputs is None:
            self._inputs = input_times(os.path.join(self.project, INPUT_HISTORY))
        wanted = text.strip()
        for index in range(self.input_after, len(self._inputs)):
            moment, entry = self._inputs[index]
            if entry.strip() == wanted and (self.run_start is None or moment >= self.run_start):
                self.input_after = index + 1
                return moment
        return None

    def _user(self, uuid: str, text: str, raw: str, at: int | None) -> None:
        stripped = text.strip()
        word = stripped.split(" ", 1)[0]
        command = None
        if stripped.startswith("!"):
            command = stripped[1:].strip()
        elif word == "/run":
            command = stripped[len(word):].strip()
        elif word in COMMANDS:
            command = stripped
        if command is None:
            self.command = None
            self.emit(uuid, MessageType.USER, text, text, raw, at=at)
            return
        self.command = uuid
        self.emit(uuid, MessageType.USER, text, content.tool_call("run", command), raw, at=at,
                  tool=(uuid, "run", command or None))

    def _aider(self, uuid: str, text: str, raw: str) -> None:
        for line in text.splitlines():
            model = MODEL.match(line)
            if model and self.model != model.group(1):
                self.model = model.group(1)
            version = VERSION.match(line)
            if version:
                self.meta["aider_version"] = version.group(1)
        if self.command is not None:
            # The output of the command the user ran just before.
            self.emit(uuid, MessageType.TOOL, "", content.tool_result(text), raw, at=None,
                      tool=(self.command, "run", None))
            return
        self.emit(uuid, MessageType.SYSTEM, "", content.tagged("aider", text), raw, at=None)


# --------------------------------------------------------------------------- the source
class AiderSource(LineSource):
    name = "aider"
    title = "Aider"
    parser_version = 1
    channel = "cli"
    roots_spec = RootSpec("AIDER_PATH", (("AIDER_CHAT_HISTORY_FILE", ""),), ())
    parser = AiderParser
    file_suffixes = (".md",)
    project_files = True
    # The last block of a read is stored again when an append makes it longer.
    updates_in_place = True

    def discover(self, roots: Iterable[Path], known: Any = None) -> Iterator[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            if root.is_file():
                yield from self._unit(str(root), seen)
            else:
                yield from self._search(str(root), SEARCH_DEPTH, seen)

    def discover_projects(self, projects: Iterable[str], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        """History files of the projects other sources know: in each project directory and
        its parents up to the git root (where aider writes it)."""
        seen: set[str] = set()
        looked: set[str] = set()
        for project in sorted(set(projects)):
            if not project or not os.path.isabs(project):
                continue
            directory = Path(project)
            for _ in range(PARENT_LEVELS):
                key = str(directory)
                if key in looked:
                    break
                looked.add(key)
                yield from self._unit(os.path.join(key, HISTORY), seen)
                if os.path.exists(os.path.join(key, ".git")) or directory.parent == directory:
                    break
                directory = directory.parent

    def _search(self, directory: str, depth: int, seen: set[str]) -> Iterator[SourceUnit]:
        entries = roots_module.list_dir(directory, sort=True)
        for entry in entries:
            if entry.name == HISTORY:
                yield from self._unit(entry.path, seen)
        if depth <= 0:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name in SKIPPED_DIRS or entry.is_symlink():
                continue
            if roots_module.is_dir(entry):
                yield from self._search(entry.path, depth - 1, seen)

    def _unit(self, path: str, seen: set[str]) -> Iterator[SourceUnit]:
        key = os.path.abspath(path)
        if key in seen:
            return
        seen.add(key)
        unit = self.stat_unit(key)
        if unit is not None:
            yield unit

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        target = os.path.abspath(os.fspath(path))
        if os.path.basename(target) == HISTORY or any(Path(target) == Path(os.path.abspath(r)) for r in roots):
            return self.stat_unit(target)
        return None


SOURCE = AiderSource()
