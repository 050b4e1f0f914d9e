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

Parsing happens outside the write transaction (:mod:`sessiondb.unit_reads`); rows are
written in batches (one transaction each, with the file states they complete), so a
huge file is read in bounded memory and a crash resumes where the last batch ended. A
large collection reads its files in a parse worker process while this one writes
(:mod:`sessiondb.parse_worker`), with the same rows as a read in process.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import contextlib
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import sources as sources_package
from ._startup import log
from .errors import InvalidArgument
from .sources import Source, SourceUnit
from .sources.databases import is_gate
from .sources.records import ParseIssues
from .store.ingest_records import FileState, IngestSession
from .unit_reads import TIME_COLUMN, USAGE_TIME_COLUMN, Limits, UnitRead, portable, read_unit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .models import Project
    from .parse_worker import ParseWorker
    from .store.ingest_records import IngestOutcome


class IngestTarget(Protocol):
    """What the collector writes into: a ``SessionDB`` (its ingest part)."""

    def load_file_states(self, source: str | None = None) -> dict[str, FileState]: ...

    def get_file_state(self, path: str) -> FileState | None: ...

    def ingest_batch(self, sessions: Sequence[IngestSession], states: Iterable[FileState] = (), *,
                     rank_snapshots: dict[Any, Any] | None = None) -> IngestOutcome: ...

    def rank_snapshot(self) -> Any: ...

    def background_checkpoints(self) -> contextlib.AbstractContextManager[None]: ...

    def get_session_latest_timestamp(self, session_id: str) -> int | None: ...

    def list_projects(self) -> list[Project]: ...


# Error texts kept in a result (the count is always exact).
MAX_ERRORS = 100
# A batch is written when it holds this many messages or this many bytes of text.
BATCH_MESSAGES = 20_000
BATCH_BYTES = 16 << 20
# A collection with at least this many bytes of files to read starts a parse worker (a
# second interpreter costs about 0.1 s; the watcher's few changed files never need one).
PARSE_WORKER_MIN_BYTES = 8 << 20
# Units handed to the worker ahead of the one being written, at most: enough to keep it
# reading while a batch is written (it sends back no more than the collector buffers).
_AHEAD_UNITS = 4096
_AHEAD_BYTES = 256 << 20
# Until the rank index has lists to send the worker, it reads at most this far ahead
# (the rows it reads before them are tokenized by the writer), and the first batch is
# written at this many messages (enough for the first lists).
_RANK_WARMUP_BYTES = 2 << 20
_RANK_FIRST_BATCH = 5000
# The worker computes the postings of a share of the sessions, the writer of the rest
# (tokenizing is the larger part of either process's work: where it is done decides
# which of the two cores finishes last). After each batch the share falls by _SHARE_STEP
# when the writer waited for the worker more than _WAITED of the time since the last
# batch, and rises by it when the worker idled that much, its results waiting for room
# here; else it stays (the results buffered here were computed under earlier shares,
# so a share is judged by waits, not by how busy either process looks).
_WAITED = 0.03
_SHARE_STEP = 0.1
_FIRST_SHARE = 0.6
_END = object()
# A unit to look at: its source, the unit, and its saved state.
_Planned = tuple[Source, SourceUnit, "FileState | None"]


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
    """Collects sources into one database handle. Cheap to create; one per run.

    ``parse_worker``: read the files in a second process while this one writes
    (:mod:`sessiondb.parse_worker`): ``None`` (the default) for collections that read at
    least ``PARSE_WORKER_MIN_BYTES``, ``True`` whenever a unit can be read there, ``False``
    never. ``$SESSIONDB_PARSE_WORKER`` set to ``0`` or ``1`` overrides the default.
    Either way the rows written are the same.
    """

    def __init__(self, db: IngestTarget, *, roots: dict[str, Any] | None = None,
                 batch_messages: int = BATCH_MESSAGES, batch_bytes: int = BATCH_BYTES,
                 on_progress: Callable[[CollectResult], None] | None = None,
                 parse_worker: bool | None = None) -> None:
        self.db = db
        # Called with the running result after every unit and every written batch.
        self.on_progress = on_progress
        self.root_overrides = dict(roots or {})
        for name in self.root_overrides:
            sources_package.source_for(name)
        self.batch_messages = batch_messages
        self.batch_bytes = batch_bytes
        self.limits = Limits(batch_messages, batch_bytes)
        if parse_worker is None:
            forced = os.environ.get("SESSIONDB_PARSE_WORKER", "").strip()
            parse_worker = {"0": False, "1": True}.get(forced)
        self.parse_worker = parse_worker
        # The worker's process id while one runs (None: files are read in this process).
        self.parse_worker_pid: int | None = None
        self.result = CollectResult()
        self._sessions: dict[str, IngestSession] = {}
        self._states: list[FileState] = []
        self._pending_messages = 0
        self._pending_bytes = 0
        self._seen_sessions: set[str] = set()
        self._seen_projects: set[str] = set()
        self._failed_sources: set[str] = set()
        self._worker_failed = False
        # What a large collection keeps open until it ends (background checkpoints);
        # closed at the end of each run, and reusable once closed.
        self._large = contextlib.ExitStack()
        # The running worker computes rank index postings under the last of these (by key).
        self._rank_worker: ParseWorker | None = None
        self._rank_snapshots: dict[Any, Any] = {}
        self._rank_share = _FIRST_SHARE
        # (clock, worker.waited, worker.ahead) at the last batch
        self._balanced_at: tuple[float, float, float] | None = None

    # ------------------------------------------------------------------ entry points
    def roots_of(self, source: Source) -> list[Path]:
        return source.resolve_roots(self.root_overrides.get(source.name))

    def collect_all(self, sources: Iterable[str] | str | None = None) -> CollectResult:
        """Every unit of the given sources (default: all of them) that changed."""
        self._run(self._planned_sources(self._sources(sources)))
        return self._finish()

    def _planned_sources(self, chosen: list[Source]) -> Iterator[_Planned | None]:
        for source in chosen:
            states = self.db.load_file_states(source.name)
            found: set[str] = set()
            for unit in source.discover(self.roots_of(source), states):
                found.add(unit.key)
                yield source, unit, states.get(unit.key)
            if source.project_files:
                yield None   # the projects below must include those of every unit read so far
                for unit in source.discover_projects(self._project_paths(), states):
                    if unit.key not in found:
                        yield source, unit, states.get(unit.key)

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
                size += _bytes_to_read(unit, state, source)
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
        self._run(self._planned_paths(paths))
        return self._finish()

    def _planned_paths(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[_Planned | None]:
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
                            yield source, db_unit, states.get(db_unit.key)
                    break
                unit = source.unit_for_path(path, roots)
                if unit is None:
                    continue
                if unit.key not in seen:
                    seen.add(unit.key)
                    yield source, unit, self.db.get_file_state(unit.key)
                break

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

    # ------------------------------------------------------------------ running a plan
    def _run(self, planned: Iterator[_Planned | None]) -> None:
        """Read and write the planned units in order. Units are looked at a little ahead
        of the one being written: when those to read add up to enough bytes, a parse
        worker starts and reads them (and the following ones) while this process writes.
        A unit that must be read here (one inside another program's database, holding its
        connection) or a barrier (``None``: what follows depends on what was read) stops
        the look-ahead until everything before it is written."""
        window: deque[_Job | None] = deque()
        worker: ParseWorker | None = None
        # Of the portable units in the window: those to read (before a worker runs), or
        # those sent to the worker.
        waiting_bytes = 0
        exhausted = False
        try:
            while True:
                while not exhausted and self._look_further(window, worker, waiting_bytes):
                    item = next(planned, _END)
                    if item is _END:
                        exhausted = True
                    elif item is None:
                        window.append(None)
                    else:
                        job = self._job(*item)   # type: ignore[misc]  # a planned unit
                        if job is None:
                            continue
                        window.append(job)
                        if job.portable:
                            waiting_bytes += job.size
                            if worker is not None:
                                job.ticket = worker.submit(job.source, job.unit, job.state, self.limits)
                if worker is None and self._may_start_worker(waiting_bytes):
                    worker = self._start_worker()
                    if worker is not None:
                        for queued in window:
                            if queued is not None and queued.portable:
                                queued.ticket = worker.submit(queued.source, queued.unit, queued.state, self.limits)
                        continue   # look further ahead now that the worker reads
                if not window:
                    if exhausted:
                        break
                    continue
                job = window.popleft()
                if job is None:
                    continue
                waiting_bytes -= job.size if job.portable else 0
                if job.ticket is None or worker is None:
                    self._read_here(job)
                else:
                    worker = self._read_there(job, job.ticket, worker, window)
            self._flush()
        finally:
            if worker is not None:
                worker.close()
            self._large.close()
            self.parse_worker_pid = None
            self._rank_worker = None

    def _job(self, source: Source, unit: SourceUnit, state: FileState | None) -> _Job | None:
        self.result.files_seen += 1
        if unchanged(unit, state, source.parser_version):
            self.result.files_unchanged += 1
            return None
        return _Job(source, unit, state, portable(unit), _bytes_to_read(unit, state, source))

    def _look_further(self, window: deque[_Job | None], worker: ParseWorker | None, waiting_bytes: int) -> bool:
        if window and (window[-1] is None or not window[-1].portable):
            return False       # a barrier, or a unit read here: everything before it first
        if worker is not None and not worker.broken:
            if not self._rank_snapshots and waiting_bytes >= _RANK_WARMUP_BYTES:
                return False
            return len(window) < _AHEAD_UNITS and waiting_bytes < _AHEAD_BYTES
        if worker is not None:
            return not window
        if self.parse_worker is False or self._worker_failed:
            return not window
        return not window or waiting_bytes < self._worker_min_bytes()

    def _worker_min_bytes(self) -> int:
        return 0 if self.parse_worker else PARSE_WORKER_MIN_BYTES

    def _may_start_worker(self, waiting_bytes: int) -> bool:
        return (self.parse_worker is not False and not self._worker_failed and waiting_bytes > 0
                and waiting_bytes >= self._worker_min_bytes())

    def _start_worker(self) -> ParseWorker | None:
        from .parse_worker import ParseWorker, python_for_worker
        # A collection this large writes batch after batch: the WAL's checkpoints run on a
        # second thread meanwhile (store.checkpoints), whether the worker starts or not.
        self._large.enter_context(self.db.background_checkpoints())
        python = python_for_worker()
        if python is None:
            self._worker_failed = True
            log(__name__).info("no Python interpreter to start a parse worker with; files are read in process")
            return None
        try:
            worker = ParseWorker(python, 2 * self.batch_bytes)
        except OSError as exc:
            self._worker_failed = True
            log(__name__).warning("cannot start a parse worker (%s); files are read in process", exc)
            return None
        self.parse_worker_pid = worker.pid
        self._rank_worker, self._rank_snapshots, self._rank_share = worker, {}, _FIRST_SHARE
        worker.share_rank_work(_FIRST_SHARE)
        self._balanced_at = None
        self._send_rank_snapshot()
        return worker

    def _send_rank_snapshot(self) -> None:
        """Have the worker compute rows' rank index postings under the lists as they are
        now (they change as the table grows: see ``store.rank_index``)."""
        worker = self._rank_worker
        if worker is None or worker.broken:
            return
        snapshot = self.db.rank_snapshot()
        if snapshot is not None and snapshot.key not in self._rank_snapshots:
            self._rank_snapshots[snapshot.key] = snapshot
            worker.use_rank_snapshot(snapshot)

    def _balance_rank_work(self) -> None:
        """Move postings work between the worker and the writer (see _WAITED), by how long
        either waited for the other since the last batch."""
        worker = self._rank_worker
        if worker is None or worker.broken or not self._rank_snapshots:
            return
        now, waited, ahead = time.perf_counter(), worker.waited, worker.ahead
        last, self._balanced_at = self._balanced_at, (now, waited, ahead)
        if last is None:
            return   # the first batch with lists: its time includes the worker's start
        span = max(now - last[0], 1e-9)
        if (waited - last[1]) / span > _WAITED:
            share = max(0.0, self._rank_share - _SHARE_STEP)
        elif (ahead - last[2]) / span > _WAITED:
            share = min(1.0, self._rank_share + _SHARE_STEP)
        else:
            return
        if share != self._rank_share:
            self._rank_share = share
            worker.share_rank_work(share)

    def _read_here(self, job: _Job) -> None:
        if is_gate(job.unit) and job.source.name in self._failed_sources:
            return
        for piece in read_unit(job.source, job.unit, job.state, self.limits):
            self._apply(job.source, piece)
        if self.on_progress is not None:
            self.on_progress(self.result)

    def _read_there(self, job: _Job, ticket: int, worker: ParseWorker,
                    window: deque[_Job | None]) -> ParseWorker | None:
        """Apply the pieces the worker read for ``job``. When the worker is gone, the units
        not read yet are read here; the one it was reading is read here too if the worker
        never started, else it is reported and left for the next collection (it may be
        the file that ended the worker)."""
        from .parse_worker import WorkerGone
        try:
            for piece in worker.pieces(ticket):
                self._apply(job.source, piece)
        except WorkerGone as gone:
            self._worker_failed = True
            self.parse_worker_pid = None
            for queued in window:
                if queued is not None:
                    queued.ticket = None
            if gone.started:
                # What of the file was applied is kept with its saved offset (all of it,
                # when only the worker's end-of-unit mark was lost): the rest is read later.
                self.result.add_error(f"{job.unit.key}: {gone} while reading this file; "
                                      "the next collection reads the rest of it")
            else:
                log(__name__).warning("%s; files are read in process", gone)
                self._read_here(job)
                return None
            if self.on_progress is not None:
                self.on_progress(self.result)
            return None
        if self.on_progress is not None:
            self.on_progress(self.result)
        return worker

    def _apply(self, source: Source, piece: UnitRead) -> None:
        """One piece of a unit's read, applied in order: into the pending batch, written
        at its boundary or when the batch is full."""
        result = self.result
        result.files_read += piece.files_read
        result.files_reparsed += piece.files_reparsed
        if piece.failure is not None:
            self._failed_sources.add(source.name)
            result.bad_lines += piece.bad_line
            result.add_error(piece.failure)
            if piece.state is not None:
                self._states.append(piece.state)
            return
        if piece.provisional or piece.provisional_usage:
            # Records still waiting for a timed one: the session's latest stored time, else
            # (a file with no time at all) the unit's mtime; the store follows their links.
            latest = None if piece.session_id is None else self.db.get_session_latest_timestamp(piece.session_id)
            moment = latest if latest is not None else piece.fallback_time
            for at, row_index in piece.provisional:
                rows = piece.sessions[at].rows
                row = rows[row_index]
                rows[row_index] = (*row[:TIME_COLUMN], moment, *row[TIME_COLUMN + 1:])
            for at, row_index in piece.provisional_usage:
                usage = piece.sessions[at].usage
                row = usage[row_index]
                usage[row_index] = (*row[:USAGE_TIME_COLUMN], moment, *row[USAGE_TIME_COLUMN + 1:])
        self._account(piece.key, piece.issues)
        for entry in piece.sessions:
            stored = self._sessions.get(entry.session_id)
            if stored is None:
                self._sessions[entry.session_id] = entry
            else:
                stored.merge(entry)
            if entry.project_path:
                self._seen_projects.add(entry.project_path)
            self._seen_sessions.add(entry.session_id)
        result.bytes_read += piece.bytes_read
        self._pending_messages += piece.messages
        self._pending_bytes += piece.text_bytes
        if piece.state is not None and piece.keep_state:
            self._states.append(piece.state)
        if piece.boundary:
            self._flush()
        else:
            self._maybe_flush()

    def _account(self, key: str, issues: ParseIssues) -> None:
        self.result.skipped_records.update(issues.skipped_records)
        self.result.unknown_records.update(issues.unknown_records)
        if issues.bad_lines:
            self.result.bad_lines += issues.bad_lines
            self.result.add_error(f"{key}: {issues.bad_lines} bad line(s); first: {issues.first_error}")

    # ------------------------------------------------------------------ batching
    def _maybe_flush(self) -> None:
        if self._pending_messages >= self.batch_messages or self._pending_bytes >= self.batch_bytes \
                or len(self._states) >= 2000 or self._rank_warming_up():
            self._flush()

    def _rank_warming_up(self) -> bool:
        return (self._rank_worker is not None and not self._rank_snapshots
                and self._pending_messages >= _RANK_FIRST_BATCH)

    def _flush(self) -> None:
        if not self._sessions and not self._states:
            return
        sessions, states = list(self._sessions.values()), self._states
        self._sessions, self._states = {}, []
        self._pending_messages = self._pending_bytes = 0
        outcome = self.db.ingest_batch(sessions, states, rank_snapshots=self._rank_snapshots)
        self._send_rank_snapshot()
        self._balance_rank_work()
        self.result.messages_inserted += outcome.inserted
        self.result.messages_updated += outcome.updated
        if self.on_progress is not None:
            self.on_progress(self.result)


@dataclass(slots=True)
class _Job:
    """A unit to read, in the order of the plan; ``ticket`` once sent to the worker."""

    source: Source
    unit: SourceUnit
    state: FileState | None
    portable: bool
    size: int
    ticket: int | None = None


def _bytes_to_read(unit: SourceUnit, state: FileState | None, source: Source) -> int:
    resumes = (unit.incremental and state is not None and state.inode == unit.inode
               and state.parser_version == source.parser_version and unit.size >= state.byte_offset)
    return unit.size - state.byte_offset if resumes and state is not None else unit.size


