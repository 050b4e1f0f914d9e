"""Live watch: collect session files as the agents write them.

    from sessiondb import SessionDB
    from sessiondb.watch import Watcher
    with SessionDB.connect() as db:
        Watcher(db, writer_type="memex_daemon").run()      # until Ctrl-C / stop()

The watcher follows the sources' roots with ``watchfiles`` (inotify, FSEvents, ...).
Events are batched (a short debounce gathers a burst of writes) and each batch is
collected at once through :meth:`Collector.collect_paths`, which reads only what was
appended. Because events can be dropped (overflowing kernel queues, roots created
later, the machine sleeping), a periodic reconcile scan runs ``collect_all``, which
is incremental and so costs a directory walk and a stat per file when nothing changed.

Only the Writer ingests. Given a ``writer_type``, the watcher registers through a
:class:`sessiondb.coordination.Coordinator`, which keeps the heartbeat and takes over
when the writer dies; while this handle is a Reader, events are ignored, and when it
becomes the Writer a reconcile scan catches up on everything it missed. Without a
``writer_type`` the handle writes only while no writer is registered (the database's
fence refuses otherwise, and the batch is skipped).
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import sources as sources_package
from .collector import Collector, CollectResult
from .errors import PermissionDenied, SessionDBError

if TYPE_CHECKING:
    from .db import SessionDB

DEFAULT_DEBOUNCE_MS = 20
DEFAULT_RECONCILE_SECONDS = 60.0
# How often the watch loop wakes without events (to start, reconcile, see new roots).
_WAKE_MS = 50
# After a failed write (disk full, I/O error, a lock held too long) a catch-up scan is
# retried this soon, then twice as late each time, up to the reconcile interval.
RETRY_FIRST_SECONDS = 0.5


@dataclass
class WatchStats:
    """What the watcher has done since it started."""

    batches: int = 0
    paths_seen: int = 0
    reconciles: int = 0
    messages_inserted: int = 0
    messages_updated: int = 0
    skipped_not_writer: int = 0
    errors: int = 0
    last_error: str | None = None
    last_result: CollectResult | None = field(default=None, repr=False)


class Watcher:
    """Watches the source roots and collects what changes (see the module docstring).

    ``roots`` maps a source name to its root(s), as for :meth:`SessionDB.collect_all`.
    ``on_batch(result)`` is called after every collected batch or reconcile.
    """

    def __init__(self, db: "SessionDB", *, sources: Iterable[str] | None = None,
                 roots: dict[str, Any] | None = None, writer_type: Any = None, priority: int | None = None,
                 reconcile_seconds: float = DEFAULT_RECONCILE_SECONDS, debounce_ms: int = DEFAULT_DEBOUNCE_MS,
                 on_batch: Callable[[CollectResult], None] | None = None,
                 on_role_change: Callable[[Any], None] | None = None) -> None:
        self.db = db
        self.sources = [sources_package.source_for(s).name for s in sources] if sources else list(
            sources_package.SOURCES)
        self.roots = dict(roots or {})
        # Changed files worth collecting, by the endings the watched sources read.
        self._suffixes = tuple(sorted({suffix for name in self.sources
                                       for suffix in sources_package.source_for(name).file_suffixes}))
        self.writer_type = writer_type
        self.priority = priority
        self.reconcile_seconds = reconcile_seconds
        self.debounce_ms = debounce_ms
        self.on_batch = on_batch
        self.on_role_change = on_role_change
        self.stats = WatchStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._coordinator: Any = None
        self._catch_up = threading.Event()
        self._spool: Any = None   # sessiondb.handoff.RequestSpool, made on first use
        self._last_reconcile = 0.0
        self._retry_delay = 0.0
        self._retry_at: float | None = None
        self._lock = threading.Lock()
        self.ready = threading.Event()

    # ------------------------------------------------------------------ roots
    def watched_roots(self) -> list[Path]:
        """The existing root directories of the watched sources."""
        found: list[Path] = []
        for name in self.sources:
            for root in sources_package.source_for(name).resolve_roots(self.roots.get(name)):
                if root.is_dir() and root not in found:
                    found.append(root)
        return found

    # ------------------------------------------------------------------ role
    def _may_write(self) -> bool:
        if self._coordinator is None:
            return True
        from .coordination.types import Role
        return self._coordinator.role is Role.WRITER

    def _role_changed(self, role: Any) -> None:
        from .coordination.types import Role
        if role == Role.WRITER:
            self._catch_up.set()
        if self.on_role_change is not None:
            self.on_role_change(role)

    # ------------------------------------------------------------------ collecting
    def _collector(self) -> Collector:
        return Collector(self.db, roots=self.roots)

    def ingest_paths(self, paths: Iterable[str | os.PathLike[str]]) -> CollectResult | None:
        """Collect a batch of changed files now (if this handle may write)."""
        wanted = sorted({os.fspath(p) for p in paths if os.fspath(p).endswith(self._suffixes)})
        if not wanted:
            return None
        self.stats.paths_seen += len(wanted)
        if not self._may_write():
            self.stats.skipped_not_writer += 1
            return None
        return self._run(lambda c: c.collect_paths(wanted), batch=True)

    def reconcile(self) -> CollectResult | None:
        """Collect everything that changed since the last scan (cheap when nothing did)."""
        self._last_reconcile = time.monotonic()
        if not self._may_write():
            self.stats.skipped_not_writer += 1
            return None
        result = self._run(lambda c: c.collect_all(self.sources), batch=False)
        self.stats.reconciles += 1
        return result

    def _run(self, action: Callable[[Collector], CollectResult], *, batch: bool) -> CollectResult | None:
        with self._lock:
            try:
                result = action(self._collector())
            except PermissionDenied as exc:
                self.stats.skipped_not_writer += 1
                self.stats.last_error = str(exc)
                if self._coordinator is not None:
                    self._catch_up.set()   # our role was lost mid-write: catch up once we are back
                return None
            except SessionDBError as exc:
                # The batch was rolled back whole and its files keep their old offsets: a
                # catch-up scan on the same handle collects it once the cause is gone.
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                self._schedule_retry(grow=not batch)
                return None
        if not batch:
            # Only a full scan catches up on a failed batch: a later event batch may
            # hold other files than the one that failed.
            self._retry_delay, self._retry_at = 0.0, None
        if batch:
            self.stats.batches += 1
        self.stats.messages_inserted += result.messages_inserted
        self.stats.messages_updated += result.messages_updated
        self.stats.errors += result.error_count
        if result.errors:
            self.stats.last_error = result.errors[-1]
        self.stats.last_result = result
        if self.on_batch is not None:
            self.on_batch(result)
        return result

    # ------------------------------------------------------------------ loop
    def run(self) -> None:
        """Watch until :meth:`stop` (blocks).

        A reconcile scan runs as soon as the file watch is in place (so nothing written
        between the scan and the watch is missed), then every ``reconcile_seconds``.
        :attr:`ready` is set once that first scan is done.
        """
        import watchfiles

        if self.writer_type is not None and self._coordinator is None:
            from .coordination.loop import Coordinator
            self._coordinator = Coordinator(self.db, self.writer_type, priority=self.priority,
                                            on_role_change=self._role_changed)
            self._coordinator.start()
        try:
            while not self._stop.is_set():
                roots = self.watched_roots()
                if roots:
                    self._watch(watchfiles, roots)
                    continue
                # Nothing to watch yet: scan now and then until a root appears.
                self._maybe_reconcile(force=not self.ready.is_set())
                self.ready.set()
                self._stop.wait(min(self.reconcile_seconds, 1.0))
        finally:
            if self._coordinator is not None:
                self._coordinator.stop(release=True)
                self._coordinator = None

    def _watch(self, watchfiles: Any, roots: list[Path]) -> None:
        first = True
        roots_checked = time.monotonic()
        # A short timeout: the first (empty) yield tells that the watch is in place, and
        # the loop wakes regularly to run a due reconcile or notice new roots.
        for changes in watchfiles.watch(*roots, debounce=self.debounce_ms, step=5, stop_event=self._stop,
                                        rust_timeout=_WAKE_MS, yield_on_timeout=True, recursive=True,
                                        raise_interrupt=False):
            if first:
                first = False
                self.reconcile()
                self.ready.set()
            if changes:
                paths = [path for kind, path in changes if kind != watchfiles.Change.deleted]
                if paths:
                    self.ingest_paths(paths)
            if self._stop.is_set():
                return
            self._maybe_reconcile()
            if time.monotonic() - roots_checked >= 1.0:
                roots_checked = time.monotonic()
                if self.watched_roots() != roots:
                    return   # a root appeared or vanished: watch the new set (and scan it)

    def _schedule_retry(self, *, grow: bool) -> None:
        """A catch-up scan soon; a failing catch-up scan waits twice as long each time."""
        if self._retry_at is not None and not grow:
            return
        self._retry_delay = min(max(self._retry_delay * 2 if grow else self._retry_delay, RETRY_FIRST_SECONDS),
                                self.reconcile_seconds)
        self._retry_at = time.monotonic() + self._retry_delay

    def _maybe_reconcile(self, force: bool = False) -> None:
        now = time.monotonic()
        due = now - self._last_reconcile >= self.reconcile_seconds
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            due = True
        if force or due or self._catch_up.is_set():
            self._catch_up.clear()
            self.reconcile()
        self.drain_requests()

    def drain_requests(self) -> None:
        """Carry out what Readers handed to the Writer (:mod:`sessiondb.handoff`), while Writer."""
        if self._coordinator is None or not self._may_write():
            return
        from .handoff import RequestSpool
        if self._spool is None:
            self._spool = RequestSpool(self.db.path)
        with self._lock:
            try:
                result = self._spool.drain(self.db)
            except SessionDBError as exc:
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                return
        self.stats.messages_inserted += result.messages_inserted
        if result.errors:
            self.stats.errors += len(result.errors)
            self.stats.last_error = result.errors[-1]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "Watcher":
        """Run in a background thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="sessiondb-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop watching (releases the writer role if this watcher registered it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "Watcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
