"""What every source is: the :class:`Source` base, :class:`Recorder` and :class:`LineParser`.

A source is one agent CLI. It names itself (``name``, stored in ``messages.source``),
says where its files are (a :class:`~.roots.RootSpec`), finds its units by listing and
stat only (``discover``, ``unit_for_path``) and turns a unit into records, in one of
two ways:

* :class:`LineSource`: append-only JSONL files, read incrementally by a
  :class:`LineParser` subclass that is fed one line at a time and saves its state
  (``carry``) so an append is read from where the last read stopped;
* :class:`WholeSource`: units rewritten in place, read whole by ``parse(unit)``, which
  makes its records with a :class:`Recorder`.

The base gives the plumbing: roots from the argument, the environment or the
defaults; units for regular files only; lenient line decoding with bad lines
counted; sequence numbers; record times (:class:`~.records.Timeline`); unknown records
kept as SYSTEM ``[<type>] <first 500 characters>`` messages with the raw line, and
counted; skipped bookkeeping records counted. A subclass holds only its format.

``parser_version`` is bumped whenever the rows made from the same bytes change: every
unit of the source is then read again and stored rows that differ are updated.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..models import MessageType
from . import content
from .jsonl import timestamp_ms
from .lenient import LenientDecoder, decode_line
from .records import (MessageRecord, ParsedUnit, ParseIssues, SessionRecord, SourceUnit, Timeline, UsageRecord,
                      clean_id, synthetic_uuid)
from .roots import RootSpec

ToolFields = tuple[str | None, str | None, str | None]   # tool_call_id, tool_name, tool_args


class Source:
    """One agent CLI's files. One instance per agent, registered in ``sources.SOURCES``."""

    name: ClassVar[str]
    parser_version: int = 1
    # ``sessions.channel``/``messages.channel`` as the original wrote them ("code", "cli").
    channel: ClassVar[str | None] = None
    incremental: ClassVar[bool] = False
    roots_spec: ClassVar[RootSpec]
    # The endings of the files whose changes the watcher hands to the collector.
    file_suffixes: ClassVar[tuple[str, ...]] = (".jsonl",)
    title: ClassVar[str] = ""
    # Files kept inside project directories (Aider's history): also looked for in every
    # project directory the database knows (:meth:`discover_projects`).
    project_files: ClassVar[bool] = False
    # A line source whose last record of a read may grow with the next append: stored
    # again then, it updates the stored row.
    updates_in_place: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<source {self.name} v{self.parser_version}>"

    # ------------------------------------------------------------------ roots
    def resolve_roots(self, roots: Any = None) -> list[Path]:
        """The roots to read: ``roots`` when given, else from the environment, else the defaults."""
        return self.roots_spec.resolve(roots)

    def describe_roots(self) -> str:
        """Where the files are looked for, in words (for ``--help`` and ``status``)."""
        return self.roots_spec.describe()

    # ------------------------------------------------------------------ units
    def discover(self, roots: Iterable[Path], known: Mapping[str, Any] | None = None) -> Iterator[SourceUnit]:
        """Every unit under ``roots``, found by listing and stat only. ``known`` maps unit
        keys to their saved state, for sources that can skip work with it."""
        raise NotImplementedError

    def discover_projects(self, projects: Iterable[str], known: Mapping[str, Any] | None = None
                          ) -> Iterator[SourceUnit]:
        """The units kept inside the given project directories (sources with ``project_files``)."""
        return iter(())

    def unit_for_path(self, path: str | os.PathLike[str], roots: Iterable[Path]) -> SourceUnit | None:
        """The unit a changed file belongs to, without listing anything else (None if none)."""
        raise NotImplementedError

    def database_root(self, path: str, roots: Iterable[Path]) -> Path | None:
        """The root whose shared database ``path`` is (a file holding many sessions, such
        as OpenCode's ``opencode.db``): a change to it rediscovers that database."""
        return None

    def discover_database(self, root: Path, known: Mapping[str, Any]) -> Iterator[SourceUnit]:
        """The units of the shared database of ``root`` (see :meth:`database_root`)."""
        return iter(())

    def stat_unit(self, path: str, *, context: dict[str, Any] | None = None, key: str | None = None,
                  st: os.stat_result | None = None) -> SourceUnit | None:
        """A unit for the file at ``path``: None unless it is a regular file (a FIFO, a device
        or a directory is never opened). ``st`` is its stat when already known."""
        if st is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
        if not stat_module.S_ISREG(st.st_mode):
            return None
        return SourceUnit(self.name, key or path, path, st.st_size, st.st_mtime_ns, st.st_ino,
                          incremental=self.incremental, context=context or {})

    def entry_unit(self, entry: os.DirEntry[str], context: dict[str, Any] | None = None) -> SourceUnit | None:
        """:meth:`stat_unit` for a directory entry (its stat is cached by the listing)."""
        try:
            st = entry.stat()
        except OSError:
            return None
        return self.stat_unit(entry.path, context=context, st=st)


class WholeSource(Source):
    """A source whose units are read whole (files or rows rewritten in place)."""

    incremental = False

    def parse(self, unit: SourceUnit) -> ParsedUnit:
        raise NotImplementedError


class LineSource(Source):
    """A source of append-only JSONL files, read incrementally by its ``parser`` class."""

    incremental = True
    parser: ClassVar[type["LineParser"]]

    def line_parser(self, unit: SourceUnit, carry: Mapping[str, Any] | None = None) -> "LineParser":
        """A parser for ``unit``; ``carry`` is the state saved after the previous read."""
        return self.parser(self, unit, carry)


class Recorder:
    """The records of one session as they are made: sequence numbers, times (see
    :class:`~.records.Timeline`), unknown and skipped records, bad input (``issues``).
    Whole-unit parsers use one per unit; :class:`LineParser` is one."""

    session_id: str   # the session the records belong to (an attribute or a property)

    def __init__(self, session_id: str | None = None, *, sequence: int = 0, timeline: Timeline | None = None) -> None:
        if session_id is not None:
            self.session_id = session_id
        self.sequence = sequence
        self.timeline = timeline if timeline is not None else Timeline()
        self.messages: list[MessageRecord] = []
        self.loose_usage: list[UsageRecord] = []
        self.issues = ParseIssues()

    def emit(self, uuid: str, kind: MessageType, text: str, full: str, raw: str, *, at: int | None,
             model: str | None = None, tool: ToolFields | None = None, link: str | None = None) -> MessageRecord:
        """Add a message. ``at`` is its own time (None: the nearest timed record's, see
        :class:`~.records.Timeline`); ``link`` the uuid of a message it refers to, whose
        time it takes if the file gives it none."""
        record = MessageRecord(clean_id(uuid), kind, text, full, 0, self.sequence, model, raw=raw)
        if tool is not None:
            record.tool_call_id, record.tool_name, record.tool_args = tool
        self.timeline.date(record, at, link)
        self.messages.append(record)
        self.sequence += 1
        return record

    def add_usage(self, usage: UsageRecord, record: MessageRecord | None = None) -> None:
        """Token counts of one model call: carried by ``record`` (the message they belong
        to), else kept apart, dated by the nearest timed record when they have no time."""
        if record is not None:
            if usage.message_uuid is None:
                usage.message_uuid = record.uuid
            record.usage = usage
            return
        if usage.timestamp is None:
            usage.timestamp = self.timeline.latest or 0
        self.loose_usage.append(usage)

    def observe_time(self, value: object) -> None:
        """A timed record that is not stored (session headers): it still dates its neighbours."""
        moment = own_time(value)
        if moment is not None:
            self.timeline.observe(moment)

    def unknown(self, label: str, raw: str, *, uuid: str | None = None, at: int | None = None,
                tag: str | None = None, model: str | None = None) -> MessageRecord:
        """A record of a kind this parser does not know: counted under ``label`` and kept as a
        SYSTEM message ``[tag] <start of the line>`` with the whole line in ``raw``."""
        self.issues.unknown(label)
        return self.emit(uuid or self.synthetic_uuid("unknown", raw), MessageType.SYSTEM, "",
                  content.unknown(tag or label, raw), raw, at=at, model=model)

    def skip(self, label: str) -> None:
        """A bookkeeping record that repeats other records: counted, not stored."""
        self.issues.skip(label)

    def synthetic_uuid(self, kind: str, raw: str) -> str:
        """A stable uuid for a record that has none (the same line always gets the same one)."""
        return synthetic_uuid(self.session_id, kind, raw)

    def parsed(self, session: SessionRecord) -> ParsedUnit:
        """The unit read whole, with its records and how they were dated."""
        return ParsedUnit(session, self.messages, self.issues, timeline=self.timeline, usage=self.loose_usage)


class LineParser(Recorder):
    """Turns the lines of one JSONL file into records, one line at a time.

    A subclass sets ``decoder`` (a :class:`LenientDecoder` of its line schema) and
    implements ``convert(entry, raw)`` and ``session()``. ``carried`` names its own
    attributes saved in the state between reads (JSON values, with class defaults);
    the base saves the sequence number, the time, the pending records, ``cwd``,
    ``model`` and ``meta``. Reading an append with the saved state gives exactly the
    rows reading the whole file would.
    """

    decoder: ClassVar[LenientDecoder[Any]]
    carried: ClassVar[tuple[str, ...]] = ()

    def __init__(self, source: LineSource, unit: SourceUnit, carry: Mapping[str, Any] | None = None) -> None:
        carry = carry or {}
        super().__init__(sequence=carry.get("seq", 0), timeline=Timeline(carry.get("ts"), carry.get("pending") or []))
        self.source = source
        self.unit = unit
        self.cwd: str | None = carry.get("cwd")
        self.model: str | None = carry.get("model")
        self.meta: dict[str, Any] = dict(carry.get("meta") or {})
        for name in self.carried:
            if name in carry:
                setattr(self, name, carry[name])
        # Set when the session's project was a guess and is now known.
        self.reassign_project = False
        self._child_of: dict[int, str] = {}   # id(record) -> subagent, for records of child sessions

    @property
    def version(self) -> int:
        return self.source.parser_version

    # ------------------------------------------------------------------ what a subclass gives
    def convert(self, entry: Any, raw: str) -> None:
        """Turn one decoded line (``raw`` is its text) into records with :meth:`emit`."""
        raise NotImplementedError

    def session(self) -> SessionRecord:
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def carry(self) -> dict[str, Any]:
        state: dict[str, Any] = {"seq": self.sequence, "ts": self.timeline.latest, "cwd": self.cwd,
                                 "model": self.model, "meta": self.meta}
        if self.timeline.pending:
            state["pending"] = list(self.timeline.pending)
        state.update((name, getattr(self, name)) for name in self.carried)
        return state

    @property
    def waiting(self) -> bool:
        """Whether records made so far still wait for a timed record."""
        return bool(self.timeline.waiting)

    def settle(self, provisional: int) -> list[tuple[str, str]]:
        """Give records still waiting ``provisional`` (see :class:`~.records.Timeline`)."""
        return self.timeline.settle(provisional)

    def take_messages(self) -> list[MessageRecord]:
        """The records made since the last call. Records still waiting for a time get the
        file's mtime unless :meth:`settle` gave them a better one (the collector does)."""
        if self.timeline.waiting:
            self.timeline.settle(self.unit.mtime_ns // 1_000_000)
        out, self.messages = self.messages, []
        return out

    def take_sessions(self) -> list[tuple[SessionRecord, list[MessageRecord]]]:
        """The sessions made since the last call, each with its records: this file's
        session, and one per subagent whose records are interleaved in it (see
        :meth:`assign_child`). A parser whose files hold several sessions of their own
        (runs of a chat log) overrides this."""
        main = self.session()
        records = self.take_messages()
        if not self._child_of:
            return [(main, records)]
        own: list[MessageRecord] = []
        children: dict[str, list[MessageRecord]] = {}
        for record in records:
            child = self._child_of.get(id(record))
            (children.setdefault(child, []) if child is not None else own).append(record)
        self._child_of = {}
        return [(main, own)] + [(self.child_session(child, main), messages) for child, messages in children.items()]

    def assign_child(self, record: MessageRecord, child_id: str) -> None:
        """``record`` is a message of the subagent ``child_id``, written into this file."""
        self._child_of[id(record)] = child_id

    def child_session(self, child_id: str, parent: SessionRecord) -> SessionRecord:
        """The session of a subagent interleaved in ``parent``'s file: ``<parent>:<child>``."""
        return SessionRecord(clean_id(f"{parent.session_id}:{child_id}"), parent.source,
                             project_path=parent.project_path, project_name=parent.project_name,
                             encoded_dir_name=parent.encoded_dir_name, cwd=parent.cwd, model=parent.model,
                             meta={"parent_session_id": parent.session_id, "session_type": "subagent",
                                   "agent_id": child_id})

    def take_usage(self) -> list[UsageRecord]:
        """Token counts made since the last call that belong to no message of this read
        (they are the file's own session's)."""
        out, self.loose_usage = self.loose_usage, []
        return out

    def take_retimed(self) -> dict[str, int]:
        """Corrected times of records handed out earlier with a provisional one."""
        return self.timeline.take_retimed()

    # ------------------------------------------------------------------ lines
    def feed(self, line: bytes, offset: int) -> None:
        """Parse one line (without its newline); ``offset`` is where it starts, for errors."""
        if not line or line.isspace():
            return
        decoded = decode_line(self.decoder, line, offset, self.issues)
        if decoded is not None:
            self.convert(*decoded)


def own_time(value: object) -> int | None:
    """A record's own time in epoch ms, None when it has none (or it cannot be read)."""
    return timestamp_ms(value) if value is not None else None
