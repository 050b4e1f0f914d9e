"""The collector: reads what changed in the sources' files and writes it to the database.

It joins :mod:`sessiondb.sources` (files to records) and the store's ingest path
(records to rows, through a ``SessionDB``); neither knows the other.

Incremental rules (per unit, with its saved row in ``file_state``):

* size, mtime and inode as saved, same parser version: nothing is read or written;
* an append-only JSONL file that grew: the bytes before the saved offset are checked
  against the saved fingerprint, then reading resumes at the offset with the parser's
  saved state, up to the last complete line (an unterminated last line waits for its
  newline, unless it is already a complete JSON object);
* a new inode, a file shorter than the offset, a changed fingerprint or a new parser
  version: the whole file is read again; uuid dedup keeps rows from doubling; after a
  new parser version, stored rows that now read differently (times, text) are updated;
* units read whole (OpenCode, Gemini CLI): any change reads the unit again, and
  messages whose text changed are updated;
* a file that vanished keeps its rows (the database is an archive).

Times: records without their own time are dated by the sources
(:class:`sessiondb.sources.records.Timeline`); the collector gives the provisional time
of records still waiting at the end of a read (the session's latest stored time, else
the file's mtime; a record linking to another message takes that message's time, looked
up in the store as the batch is written) and hands corrected times to the store.

Parsing happens outside the write transaction; rows are written in batches (one
transaction each, with the file states they complete), so a huge file is read in
bounded memory and a crash resumes where the last batch ended.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import json
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from . import sources as sources_package
from .errors import InvalidArgument
from .sources import Source, SourceUnit
from .sources.base import LineParser, LineSource, WholeSource
from .sources.databases import is_gate
from .sources.jsonl import LineReader, prefix_hash
from .sources.records import MAX_ERROR_TEXT, MessageRecord, ParseIssues, SessionRecord, Timeline, UsageRecord
from .store.ingest_records import FileState, IngestSession

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .models import Project
    from .store.ingest_records import IngestOutcome


class IngestTarget(Protocol):
    """What the collector writes into: a ``SessionDB`` (its ingest part)."""

    def load_file_states(self, source: str | None = None) -> dict[str, FileState]: ...

    def get_file_state(self, path: str) -> FileState | None: ...

    def ingest_batch(self, sessions: Sequence[IngestSession], states: Iterable[FileState] = ()) -> IngestOutcome: ...

    def get_session_latest_timestamp(self, session_id: str) -> int | None: ...

    def list_projects(self) -> list[Project]: ...


# Error texts kept in a result (the count is always exact).
MAX_ERRORS = 100
# A batch is written when it holds this many messages or this many bytes of text.
BATCH_MESSAGES = 20_000
BATCH_BYTES = 16 << 20
_DONE = object()
# Saved with the parser's state while an upgrade's reparse is unfinished, so the rest of
# the file still updates the rows stored by the older version after a resume.
_UPGRADING = "collector:upgrading"


@dataclass
class CollectResult:
    """What one collection did.

    ``projects_scanned`` / ``sessions_scanned``: distinct projects and sessions whose
    files had something new and were read (not the number of adapters, and the same
    meaning for :meth:`collect_all` and :meth:`collect_by_path`, unlike the original).
    ``messages_inserted``: new rows. ``errors``: at most ``MAX_ERRORS`` texts, one per
    file with bad lines (count and first error) or per unit that could not be read;
    ``error_count`` counts them all.
    """

    projects_scanned: int = 0
    sessions_scanned: int = 0
    messages_inserted: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    messages_updated: int = 0
    files_seen: int = 0
    files_unchanged: int = 0
    files_read: int = 0
    files_reparsed: int = 0
    bytes_read: int = 0
    bad_lines: int = 0
    skipped_records: Counter[str] = field(default_factory=Counter)
    unknown_records: Counter[str] = field(default_factory=Counter)

    @property
    def first_error(self) -> str | None:
        return self.errors[0] if self.errors else None

    def add_error(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def merge(self, other: "CollectResult") -> None:
        for name in ("projects_scanned", "sessions_scanned", "messages_inserted", "messages_updated", "files_seen",
                     "files_unchanged", "files_read", "files_reparsed", "bytes_read", "bad_lines"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.error_count += other.error_count
        self.errors.extend(other.errors[:max(0, MAX_ERRORS - len(self.errors))])
        self.skipped_records.update(other.skipped_records)
        self.unknown_records.update(other.unknown_records)


def unchanged(unit: SourceUnit, state: FileState | None, parser_version: int) -> bool:
    """True when a warm rescan need not read the unit at all."""
    return (state is not None and state.size == unit.size and state.mtime_ns == unit.mtime_ns
            and state.inode == unit.inode and state.parser_version == parser_version
            and state.prefix_hash == (unit.fingerprint or state.prefix_hash))


class Collector:
    """Collects sources into one database handle. Cheap to create; one per run."""

    # Write batches on a second thread while the next ones are parsed (collect_all only).
    # Off by default: on the 2-core benchmark machine the writer is the bottleneck
    # (FTS5 indexing), and a parser competing for the cores made cold ingest slower.
    pipeline = False

    def __init__(self, db: IngestTarget, *, roots: dict[str, Any] | None = None,
                 batch_messages: int = BATCH_MESSAGES, batch_bytes: int = BATCH_BYTES,
                 on_progress: Callable[[CollectResult], None] | None = None) -> None:
        self.db = db
        # Called with the running result after every unit and every written batch.
        self.on_progress = on_progress
        self.root_overrides = dict(roots or {})
        for name in self.root_overrides:
            sources_package.source_for(name)
        self.batch_messages = batch_messages
        self.batch_bytes = batch_bytes
        self.result = CollectResult()
        self._sessions: dict[str, IngestSession] = {}
        self._states: list[FileState] = []
        self._pending_messages = 0
        self._pending_bytes = 0
        self._seen_sessions: set[str] = set()
        self._seen_projects: set[str] = set()
        self._failed_sources: set[str] = set()
        # With ``pipeline``, collect_all writes batches on a second thread (SQLite runs
        # without the GIL, so parsing and writing overlap).
        self._queue: queue.Queue[Any] | None = None
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None

    # ------------------------------------------------------------------ entry points
    def roots_of(self, source: Source) -> list[Path]:
        return source.resolve_roots(self.root_overrides.get(source.name))

    def collect_all(self, sources: Iterable[str] | str | None = None) -> CollectResult:
        """Every unit of the given sources (default: all of them) that changed."""
        chosen = self._sources(sources)
        if self.pipeline:
            self._start_writer()
        try:
            for source in chosen:
                states = self.db.load_file_states(source.name)
                found: set[str] = set()
                for unit in source.discover(self.roots_of(source), states):
                    found.add(unit.key)
                    self._process(source, unit, states.get(unit.key))
                if source.project_files:
                    for unit in source.discover_projects(self._project_paths(), states):
                        if unit.key not in found:
                            self._process(source, unit, states.get(unit.key))
            self._flush()
        finally:
            self._stop_writer()
        return self._finish()

    def plan(self, sources: Iterable[str] | str | None = None) -> tuple[int, int]:
        """How many units :meth:`collect_all` would look at now, and how many bytes it
        would read (its ``files_seen`` and ``bytes_read`` when done), found by listing and
        stat only; for a progress bar with a total."""
        files = size = 0
        for source in self._sources(sources):
            states = self.db.load_file_states(source.name)
            for unit in source.discover(self.roots_of(source), states):
                files += 1
                state = states.get(unit.key)
                if unchanged(unit, state, source.parser_version) or unit.key != unit.path:
                    continue
                resumes = (unit.incremental and state is not None and state.inode == unit.inode
                           and state.parser_version == source.parser_version and unit.size >= state.byte_offset)
                size += unit.size - state.byte_offset if resumes and state is not None else unit.size
        return files, size

    def _project_paths(self) -> set[str]:
        """Every project directory known: stored ones and those seen in this collection."""
        return {p.path for p in self.db.list_projects() if p.path} | self._seen_projects

    def collect_by_path(self, path: str | os.PathLike[str]) -> CollectResult:
        """The one unit a changed file belongs to; no other file is listed or read."""
        text = os.fspath(path)
        if not text or "\x00" in text:
            raise InvalidArgument("path must be a non-empty path without NUL characters")
        self.collect_paths([text])
        return self.result

    def collect_paths(self, paths: Iterable[str | os.PathLike[str]]) -> CollectResult:
        """Several changed files at once (the watcher's batches), written together."""
        seen: set[str] = set()
        for raw in paths:
            path = os.path.abspath(os.path.expanduser(os.fspath(raw)))
            for source in sources_package.SOURCES.values():
                roots = self.roots_of(source)
                db_root = source.database_root(path, roots)
                if db_root is not None:
                    if str(db_root) not in seen:
                        seen.add(str(db_root))
                        states = self.db.load_file_states(source.name)
                        for db_unit in source.discover_database(db_root, states):
                            self._process(source, db_unit, states.get(db_unit.key))
                    break
                unit = source.unit_for_path(path, roots)
                if unit is None:
                    continue
                if unit.key not in seen:
                    seen.add(unit.key)
                    self._process(source, unit, self.db.get_file_state(unit.key))
                break
        self._flush()
        return self._finish()

    def _sources(self, sources: Iterable[str] | str | None) -> list[Source]:
        if sources is None:
            return list(sources_package.SOURCES.values())
        if isinstance(sources, str):
            sources = [sources]
        return [sources_package.source_for(str(getattr(s, "value", s)).lower()) for s in sources]

    def _finish(self) -> CollectResult:
        self.result.sessions_scanned = len(self._seen_sessions)
        self.result.projects_scanned = len(self._seen_projects)
        return self.result

    # ------------------------------------------------------------------ one unit
    def _process(self, source: Source, unit: SourceUnit, state: FileState | None) -> None:
        self.result.files_seen += 1
        if unchanged(unit, state, source.parser_version):
            self.result.files_unchanged += 1
            return
        if is_gate(unit) and source.name in self._failed_sources:
            return
        # Rows stored by another parser version are compared with what this one reads.
        upgrade = state is not None and state.parser_version != source.parser_version
        try:
            if isinstance(source, LineSource):
                self._read_lines(source, unit, state, upgrade)
            elif isinstance(source, WholeSource):
                self._read_whole(source, unit)
        except OSError as exc:
            self._failed_sources.add(source.name)
            self.result.add_error(f"{unit.key}: cannot read: {exc.strerror or exc}")
        except Exception as exc:   # noqa: BLE001 - hostile bytes must never stop a collection
            # A unit its parser could not get through (deep or huge values that escaped the
            # per-line handling): one bad line, and the unit is remembered with that error so
            # a warm rescan does not fail on it again until it changes.
            self._failed_sources.add(source.name)
            error = f"cannot parse: {type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]
            self.result.bad_lines += 1
            self.result.add_error(f"{unit.key}: {error}")
            if isinstance(source, WholeSource) and not is_gate(unit):
                self._states.append(FileState(unit.key, source.name, None, unit.size, unit.mtime_ns, unit.inode,
                                              unit.size, unit.fingerprint, source.parser_version, None, 1, error))
        if self.on_progress is not None:
            self.on_progress(self.result)

    def _read_lines(self, source: LineSource, unit: SourceUnit, state: FileState | None, upgrade: bool) -> None:
        start: int = 0
        carry: Any = None
        tally: list[Any] = [0, None]   # the file's [bad line count, first error]
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
                if isinstance(carry, dict) and carry.pop(_UPGRADING, False):
                    upgrade = True   # an upgrade's reparse that stopped at a batch boundary
            if start == 0:
                self.result.files_reparsed += 1
        self.result.files_read += 1
        parser = source.line_parser(unit, carry)
        reader = LineReader(unit.path, start, stop_at=unit.size)
        offset = start
        pending_text = 0
        for line, end in reader:
            _feed(parser, line, end - len(line) - 1)
            offset = end
            pending_text += len(line)
            if len(parser.messages) >= self.batch_messages or pending_text >= self.batch_bytes:
                # A batch boundary inside a file: save how far it got (size -1 marks the
                # state as unfinished, so the next run resumes instead of skipping).
                self._stage(source, unit, parser, offset, tally, finished=False, upgrade=upgrade)
                self.result.bytes_read += pending_text
                pending_text = 0
                self._flush()
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
        self.result.bytes_read += pending_text
        self._stage(source, unit, parser, offset, tally, finished=True, upgrade=upgrade)
        self._maybe_flush()

    def _stage(self, source: LineSource, unit: SourceUnit, parser: LineParser, offset: int, tally: list[Any], *,
               finished: bool, upgrade: bool) -> None:
        """Queue what the parser has so far, with the file state that covers it.

        ``tally`` is the file's running [bad line count, first error]; the parser's own
        issues are moved into it, so each bad line is counted exactly once.
        """
        issues: ParseIssues = parser.issues
        parser.issues = ParseIssues()
        session = parser.session()
        links = self._settle(parser.timeline, session.session_id, unit)
        made = parser.take_sessions()
        self._account(unit, issues)
        tally[0] += issues.bad_lines
        tally[1] = tally[1] or issues.first_error
        # An unfinished state (a batch boundary inside the file) is saved with size -1, so
        # the next run resumes from its offset instead of taking the file as unchanged.
        state = FileState(unit.key, source.name, session.session_id, unit.size if finished else -1,
                          unit.mtime_ns, unit.inode, offset, prefix_hash(unit.path, offset), source.parser_version,
                          json.dumps(self._carry(parser, upgrade and not finished), ensure_ascii=False),
                          tally[0], tally[1])
        retime = parser.take_retimed()
        for made_session, messages in made:
            main = made_session.session_id == session.session_id
            self._add(source, made_session, messages, update_changed=upgrade or source.updates_in_place,
                      reassign=parser.reassign_project and main, unit=unit,
                      retime=retime if main else None, links=links if main else None,
                      usage=parser.take_usage() if main else None)
        parser.reassign_project = False
        self._states.append(state)

    @staticmethod
    def _carry(parser: LineParser, upgrading: bool) -> dict[str, Any]:
        carry = parser.carry()
        if upgrading:
            carry[_UPGRADING] = True
        return carry

    def _read_whole(self, source: WholeSource, unit: SourceUnit) -> None:
        self.result.files_read += 1
        parsed = source.parse(unit)
        self._account(unit, parsed.issues)
        if parsed.session is not None:
            links = self._settle(parsed.timeline, parsed.session.session_id, unit)
            self._add(source, parsed.session, parsed.messages, update_changed=parsed.update_changed, reassign=False,
                      unit=unit, links=links, usage=parsed.usage)
        self.result.bytes_read += unit.size if unit.key == unit.path else 0
        self._states.append(FileState(unit.key, source.name, parsed.session.session_id if parsed.session else None,
                                      unit.size, unit.mtime_ns, unit.inode, unit.size, unit.fingerprint,
                                      source.parser_version, None, parsed.issues.bad_lines, parsed.issues.first_error))
        if parsed.issues.bad_lines and is_gate(unit):
            self._states.pop()   # the database could not be read: try again next time
        self._maybe_flush()

    def _settle(self, timeline: Timeline, session_id: str, unit: SourceUnit) -> list[tuple[str, str]]:
        """Provisional times for records still waiting for a timed one: the session's latest
        stored time, else (a file with no time at all) the unit's mtime. Returns the links
        of those records, which the store follows to the linked message's time."""
        if not timeline.waiting:
            return []
        latest = self.db.get_session_latest_timestamp(session_id)
        return timeline.settle(latest if latest is not None else unit.mtime_ns // 1_000_000)

    def _account(self, unit: SourceUnit, issues: ParseIssues) -> None:
        self.result.skipped_records.update(issues.skipped_records)
        self.result.unknown_records.update(issues.unknown_records)
        if issues.bad_lines:
            self.result.bad_lines += issues.bad_lines
            self.result.add_error(f"{unit.key}: {issues.bad_lines} bad line(s); first: {issues.first_error}")

    # ------------------------------------------------------------------ batching
    def _add(self, source: Source, session: SessionRecord, messages: list[MessageRecord], *, update_changed: bool,
             reassign: bool, unit: SourceUnit, retime: dict[str, int] | None = None,
             links: list[tuple[str, str]] | None = None, usage: list[UsageRecord] | None = None) -> None:
        sid = session.session_id
        entry = self._sessions.get(sid)
        if entry is None:
            project = session.project_path or ""
            meta = {k: v for k, v in session.meta.items() if v is not None}
            entry = IngestSession(
                sid, session.source, project, session.project_name or project, session.encoded_dir_name,
                session.cwd, session.model, source.channel,
                json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else None,
                unit.mtime_ns // 1_000_000 if unit.key == unit.path else None,
                unit.size if unit.key == unit.path else None, update_changed=update_changed,
                reassign_project=reassign)
            self._sessions[sid] = entry
        else:
            entry.model = session.model or entry.model
            entry.cwd = session.cwd or entry.cwd
            entry.reassign_project = entry.reassign_project or reassign
            entry.update_changed = entry.update_changed or update_changed
            meta = {k: v for k, v in session.meta.items() if v is not None}
            if meta:
                entry.meta = json.dumps(meta, ensure_ascii=False, sort_keys=True)
        if session.project_path:
            self._seen_projects.add(session.project_path)
        self._seen_sessions.add(sid)
        if retime:
            entry.retime.update(retime)
        if links:
            entry.links.extend(links)
        if messages:
            name, channel = source.name, source.channel
            entry.rows.extend((sid, m.uuid, m.type.value, m.content_text, m.content_full, m.timestamp, m.sequence,
                               name, channel, m.model, m.tool_call_id, m.tool_name, m.tool_args, m.raw, None, None)
                              for m in messages)
            self._pending_messages += len(messages)
            self._pending_bytes += sum(len(m.content_full) + len(m.raw or "") for m in messages)
        calls: list[tuple[UsageRecord, int | None]] = [(m.usage, m.timestamp) for m in messages
                                                       if m.usage is not None]
        calls.extend((u, u.timestamp) for u in usage or ())
        entry.usage.extend((source.name, u.key, sid, u.message_uuid, u.request_id, u.model,
                            u.timestamp if u.timestamp is not None else at or 0, u.input, u.output, u.cache_read,
                            u.cache_write, u.reasoning, u.cost) for u, at in calls)

    def _maybe_flush(self) -> None:
        if self._pending_messages >= self.batch_messages or self._pending_bytes >= self.batch_bytes \
                or len(self._states) >= 2000:
            self._flush()

    def _flush(self) -> None:
        if not self._sessions and not self._states:
            return
        sessions, states = list(self._sessions.values()), self._states
        self._sessions, self._states = {}, []
        self._pending_messages = self._pending_bytes = 0
        if self._writer_error is not None:
            self._stop_writer()
        if self._queue is not None:
            # At most two batches exist: one being written, one being parsed (memory bound).
            self._queue.join()
            self._queue.put((sessions, states))
        else:
            self._write(sessions, states)

    def _write(self, sessions: list[IngestSession], states: list[FileState]) -> None:
        outcome = self.db.ingest_batch(sessions, states)
        self.result.messages_inserted += outcome.inserted
        self.result.messages_updated += outcome.updated
        if self.on_progress is not None:
            self.on_progress(self.result)

    # ------------------------------------------------------------------ writer thread
    def _start_writer(self) -> None:
        self._queue = queue.Queue(maxsize=1)
        self._writer = threading.Thread(target=self._write_loop, name="sessiondb-collect-writer", daemon=True)
        self._writer.start()

    def _write_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = self._queue.get()
            try:
                if batch is _DONE:
                    return
                if self._writer_error is not None:
                    continue   # drain: the parser stops at its next batch
                self._write(*batch)
            except BaseException as exc:   # noqa: BLE001 - re-raised on the collecting thread
                self._writer_error = exc
            finally:
                self._queue.task_done()

    def _stop_writer(self) -> None:
        if self._writer is None or self._queue is None:
            return
        self._queue.put(_DONE)
        self._writer.join()
        self._writer, self._queue = None, None
        if self._writer_error is not None:
            error, self._writer_error = self._writer_error, None
            raise error


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
