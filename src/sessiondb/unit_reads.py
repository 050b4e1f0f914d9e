"""Reading one source unit into what a collection writes: the part that needs no database.

:func:`read_unit` turns a unit (with its saved file state) into :class:`UnitRead`
pieces: one at every batch boundary inside a long file and one at its end, each holding
the sessions' rows ready for the store (:class:`~.store.ingest_records.IngestSession`),
the file state that covers them and what went wrong. The collector applies the pieces
in order (:mod:`sessiondb.collector`); because a piece depends only on the files and
the saved state, reading here or in a parse worker process (:mod:`sessiondb.parse_worker`)
gives the same rows. Pieces are pickled between the processes, so whatever a parser
records and this module puts into an ``IngestSession`` crosses without the transport
knowing it.

The one thing a read cannot know is a provisional time (records still waiting for a
timed record when a read ends): it comes from the database. Such rows are listed in
``provisional`` and the collector gives them their time when it applies the piece.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .sources import Source, SourceUnit
from .sources.base import LineParser, LineSource, WholeSource
from .sources.databases import is_gate
from .sources.jsonl import LineReader, prefix_hash
from .sources.records import MAX_ERROR_TEXT, MessageRecord, ParseIssues, SessionRecord, Timeline, UsageRecord
from .store.ingest_records import FileState, IngestSession

# Saved with the parser's state while an upgrade's reparse is unfinished, so the rest of
# the file still updates the rows stored by the older version after a resume.
UPGRADING = "collector:upgrading"
# The column of a message row holding its time (see ``message_rows``), and of a usage row
# (``store.usage.USAGE_COLUMNS``).
TIME_COLUMN = 5
USAGE_TIME_COLUMN = 6


@dataclass(slots=True)
class UnitRead:
    """One piece of a unit's read, in the order the collector applies them."""

    key: str
    sessions: list[IngestSession] = field(default_factory=list)
    state: FileState | None = None
    issues: ParseIssues = field(default_factory=ParseIssues)
    # Rows waiting for a provisional time: (index in ``sessions``, index in its rows). The
    # time is the latest stored one of ``session_id``, else ``fallback_time``.
    provisional: list[tuple[int, int]] = field(default_factory=list)
    # Usage rows dated by such a message: (index in ``sessions``, index in its usage).
    provisional_usage: list[tuple[int, int]] = field(default_factory=list)
    session_id: str | None = None
    fallback_time: int = 0
    messages: int = 0
    text_bytes: int = 0        # of the rows' text and source lines (the collector's batch budget)
    bytes_read: int = 0        # of the source files
    files_read: int = 0
    files_reparsed: int = 0
    # A batch boundary inside the unit: the collector writes everything it holds now.
    boundary: bool = False
    # The unit could not be read to its end: the error for the result, whether it counts
    # as a bad line, and whether the source's remaining gated units are skipped.
    failure: str | None = None
    bad_line: bool = False
    keep_state: bool = True


@dataclass(slots=True)
class Limits:
    """When a read inside one file stops for a batch: messages or bytes of lines read."""

    batch_messages: int
    batch_bytes: int


def read_unit(source: Source, unit: SourceUnit, state: FileState | None, limits: Limits) -> Iterator[UnitRead]:
    """The pieces of reading ``unit`` (see the module docstring); never raises for bad
    input: a unit that cannot be read ends with a piece carrying the ``failure``."""
    # Rows stored by another parser version are compared with what this one reads.
    upgrade = state is not None and state.parser_version != source.parser_version
    try:
        if isinstance(source, LineSource):
            yield from _read_lines(source, unit, state, upgrade, limits)
        elif isinstance(source, WholeSource):
            yield _read_whole(source, unit)
    except OSError as exc:
        yield UnitRead(unit.key, failure=f"{unit.key}: cannot read: {exc.strerror or exc}")
    except Exception as exc:   # noqa: BLE001 - hostile bytes must never stop a collection
        # A unit its parser could not get through (deep or huge values that escaped the
        # per-line handling): one bad line, and the unit is remembered with that error so
        # a warm rescan does not fail on it again until it changes.
        error = f"cannot parse: {type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]
        failed = UnitRead(unit.key, failure=f"{unit.key}: {error}", bad_line=True)
        if isinstance(source, WholeSource) and not is_gate(unit):
            failed.state = FileState(unit.key, source.name, None, unit.size, unit.mtime_ns, unit.inode, unit.size,
                                     unit.fingerprint, source.parser_version, None, 1, error)
        yield failed


def portable(unit: SourceUnit) -> bool:
    """Whether ``unit`` can be read in another process: a file, with plain values only in
    its context (units inside another program's database hold its open connection)."""
    return not is_gate(unit) and all(value is None or isinstance(value, (str, int, float, bool))
                                     for value in unit.context.values())


# ---------------------------------------------------------------------- line sources
def _read_lines(source: LineSource, unit: SourceUnit, state: FileState | None, upgrade: bool,
                limits: Limits) -> Iterator[UnitRead]:
    start: int = 0
    carry: Any = None
    tally: list[Any] = [0, None]   # the file's [bad line count, first error]
    reparsed = 0
    if state is not None:
        resumable = (state.parser_version == source.parser_version and state.inode == unit.inode
                     and unit.size >= state.byte_offset and state.parser_state is not None
                     and prefix_hash(unit.path, state.byte_offset) == state.prefix_hash)
        if resumable and state.parser_state is not None:
            try:
                carry = json.loads(state.parser_state)
                start, tally = state.byte_offset, [state.bad_lines, state.first_error]
            except ValueError:
                carry = None
            if isinstance(carry, dict) and carry.pop(UPGRADING, False):
                upgrade = True   # an upgrade's reparse that stopped at a batch boundary
        if start == 0:
            reparsed = 1
    parser = source.line_parser(unit, carry)
    reader = LineReader(unit.path, start, stop_at=unit.size)
    offset = start
    pending_text = 0
    first = True
    for line, end in reader:
        _feed(parser, line, end - len(line) - 1)
        offset = end
        pending_text += len(line)
        if len(parser.messages) >= limits.batch_messages or pending_text >= limits.batch_bytes:
            # A batch boundary inside a file: save how far it got (size -1 marks the
            # state as unfinished, so the next run resumes instead of skipping).
            piece = _stage(source, unit, parser, offset, tally, finished=False, upgrade=upgrade)
            piece.bytes_read, piece.boundary = pending_text, True
            if first:
                piece.files_read, piece.files_reparsed, first = 1, reparsed, False
            yield piece
            pending_text = 0
    tail = reader.tail
    if tail and tail.rstrip()[-1:] == b"}" and _is_complete_object(tail):
        # Complete JSON cannot be the start of a longer line: read it now. A "\r" of a
        # "\r\n" whose "\n" is still to come is left unread, as a full read drops it.
        body = tail[:-1] if tail[-1:] == b"\r" else tail
        _feed(parser, body, reader.tail_offset)
        offset = reader.tail_offset + len(body)
    elif reader.consumed > offset:
        offset = reader.consumed
    for at in reader.oversized:
        parser.issues.bad(f"line at byte {at}", f"longer than {reader.max_line_bytes} bytes; skipped")
    piece = _stage(source, unit, parser, offset, tally, finished=True, upgrade=upgrade)
    piece.bytes_read = pending_text
    if first:
        piece.files_read, piece.files_reparsed = 1, reparsed
    yield piece


def _stage(source: LineSource, unit: SourceUnit, parser: LineParser, offset: int, tally: list[Any], *,
           finished: bool, upgrade: bool) -> UnitRead:
    """What the parser has so far, with the file state that covers it.

    ``tally`` is the file's running [bad line count, first error]; the parser's own
    issues are moved into it, so each bad line is counted exactly once.
    """
    issues: ParseIssues = parser.issues
    parser.issues = ParseIssues()
    session = parser.session()
    piece = UnitRead(unit.key, issues=issues, session_id=session.session_id,
                     fallback_time=unit.mtime_ns // 1_000_000)
    waiting, links = _settle(parser.timeline)
    made = parser.take_sessions()
    tally[0] += issues.bad_lines
    tally[1] = tally[1] or issues.first_error
    # An unfinished state (a batch boundary inside the file) is saved with size -1, so
    # the next run resumes from its offset instead of taking the file as unchanged.
    carry = parser.carry()
    if upgrade and not finished:
        carry[UPGRADING] = True
    piece.state = FileState(unit.key, source.name, session.session_id, unit.size if finished else -1,
                            unit.mtime_ns, unit.inode, offset, prefix_hash(unit.path, offset), source.parser_version,
                            json.dumps(carry, ensure_ascii=False), tally[0], tally[1])
    retime = parser.take_retimed()
    for made_session, messages in made:
        main = made_session.session_id == session.session_id
        _add(piece, source, made_session, messages, update_changed=upgrade or source.updates_in_place,
             reassign=parser.reassign_project and main, unit=unit, waiting=waiting,
             retime=retime if main else None, links=links if main else None,
             usage=parser.take_usage() if main else None)
    parser.reassign_project = False
    return piece


# ---------------------------------------------------------------------- whole units
def _read_whole(source: WholeSource, unit: SourceUnit) -> UnitRead:
    parsed = source.parse(unit)
    piece = UnitRead(unit.key, issues=parsed.issues, files_read=1, fallback_time=unit.mtime_ns // 1_000_000,
                     bytes_read=unit.size if unit.key == unit.path else 0)
    if parsed.session is not None:
        piece.session_id = parsed.session.session_id
        waiting, links = _settle(parsed.timeline)
        _add(piece, source, parsed.session, parsed.messages, update_changed=parsed.update_changed, reassign=False,
             unit=unit, waiting=waiting, links=links, usage=parsed.usage)
    piece.state = FileState(unit.key, source.name, parsed.session.session_id if parsed.session else None,
                            unit.size, unit.mtime_ns, unit.inode, unit.size, unit.fingerprint,
                            source.parser_version, None, parsed.issues.bad_lines, parsed.issues.first_error)
    if parsed.issues.bad_lines and is_gate(unit):
        piece.keep_state = False   # the database could not be read: try again next time
    return piece


# ---------------------------------------------------------------------- shared
def _settle(timeline: Timeline) -> tuple[set[int], list[tuple[str, str]]]:
    """Records still waiting for a timed one get a provisional time (given by the
    collector, which knows the database); returns them (by id) and the links they have."""
    if not timeline.waiting:
        return set(), []
    waiting = {id(record) for record, _ in timeline.waiting}
    return waiting, timeline.settle(0)


def _add(piece: UnitRead, source: Source, session: SessionRecord, messages: list[MessageRecord], *,
         update_changed: bool, reassign: bool, unit: SourceUnit, waiting: set[int],
         retime: dict[str, int] | None = None, links: list[tuple[str, str]] | None = None,
         usage: list[UsageRecord] | None = None) -> None:
    sid = session.session_id
    project = session.project_path or ""
    meta = {k: v for k, v in session.meta.items() if v is not None}
    entry = IngestSession(
        sid, session.source, project, session.project_name or project, session.encoded_dir_name,
        session.cwd, session.model, source.channel,
        json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else None,
        unit.mtime_ns // 1_000_000 if unit.key == unit.path else None,
        unit.size if unit.key == unit.path else None, update_changed=update_changed,
        reassign_project=reassign)
    if retime:
        entry.retime.update(retime)
    if links:
        entry.links.extend(links)
    if messages:
        entry.rows = message_rows(source, sid, messages)
        piece.messages += len(messages)
        piece.text_bytes += sum(len(m.content_full) + len(m.raw or "") for m in messages)
        if waiting:
            index = len(piece.sessions)
            piece.provisional.extend((index, i) for i, m in enumerate(messages) if id(m) in waiting)
    # Token counts: those a message carries take its time when they have none.
    calls: list[tuple[UsageRecord, int | None, bool]] = [(m.usage, m.timestamp, id(m) in waiting)
                                                         for m in messages if m.usage is not None]
    calls.extend((u, u.timestamp, False) for u in usage or ())
    for u, at, provisional in calls:
        if u.timestamp is None and provisional:
            piece.provisional_usage.append((len(piece.sessions), len(entry.usage)))
        entry.usage.append((source.name, u.key, sid, u.message_uuid, u.request_id, u.model,
                            u.timestamp if u.timestamp is not None else at or 0, u.input, u.output, u.cache_read,
                            u.cache_write, u.reasoning, u.cost))
    piece.sessions.append(entry)


def message_rows(source: Source, session_id: str, messages: list[MessageRecord]) -> list[tuple[Any, ...]]:
    """The store's rows of ``messages`` (the columns of ``store.schema.MESSAGE_INSERT_COLUMNS``)."""
    name, channel = source.name, source.channel
    return [(session_id, m.uuid, m.type.value, m.content_text, m.content_full, m.timestamp, m.sequence,
             name, channel, m.model, m.tool_call_id, m.tool_name, m.tool_args, m.raw, None, None)
            for m in messages]


def _feed(parser: Any, line: bytes, offset: int) -> None:
    """One line into the parser; whatever it raises on that line makes it one bad line."""
    try:
        parser.feed(line, offset)
    except Exception as exc:   # noqa: BLE001 - a line that cannot be parsed, for any reason
        parser.issues.bad(f"line at byte {offset}", f"cannot parse: {type(exc).__name__}: {exc}")


def _is_complete_object(data: bytes) -> bool:
    try:
        return isinstance(msgspec.json.decode(data), dict)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, MemoryError):
        return False
