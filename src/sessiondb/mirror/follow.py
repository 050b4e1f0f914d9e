"""Keeping the mirror current while ``watch`` collects: a sync after each collection round.

:class:`MirrorFollower` runs syncs on its own thread, so collecting never waits for the
network: :meth:`poke` after a round asks for a sync, several pokes during one sync
make one more sync, and a failed sync (server down, connection lost) is retried on
the next poke or after ``retry_seconds``, resuming where the last batch ended.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import SessionDBError
from .connection import redact
from .sync import SyncEngine, SyncResult, check_machine

DEFAULT_RETRY_SECONDS = 30.0


class MirrorFollower:
    def __init__(self, database: str | os.PathLike[str], url: str, *, machine: str | None = None,
                 on_sync: Callable[[SyncResult], None] | None = None,
                 on_error: Callable[[str], None] | None = None, retry_seconds: float = DEFAULT_RETRY_SECONDS) -> None:
        self.database, self.url, self.machine = Path(database), url, check_machine(machine)
        self.on_sync, self.on_error, self.retry_seconds = on_sync, on_error, retry_seconds
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: SyncEngine | None = None
        self.syncs = 0
        self.last_error: str | None = None

    @property
    def redacted_url(self) -> str:
        return redact(self.url)

    def start(self) -> "MirrorFollower":
        self._thread = threading.Thread(target=self._loop, name="sessiondb-mirror", daemon=True)
        self._thread.start()
        self.poke()
        return self

    def poke(self, *_: object) -> None:
        """Ask for a sync soon (any arguments are ignored: usable as an ``on_batch`` callback)."""
        self._wanted.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stopping.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wanted.wait(self.retry_seconds if self.last_error else None)
            if self._stopping.is_set():
                return
            self._wanted.clear()
            try:
                if self._engine is None:
                    self._engine = SyncEngine(self.url, self.machine)
                result = self._engine.run(self.database)
                self.syncs += 1
                self.last_error = None
                if self.on_sync is not None:
                    self.on_sync(result)
            except SessionDBError as exc:
                self.last_error = str(exc)
                if self._engine is not None:
                    self._engine.close()
                    self._engine = None
                if self.on_error is not None:
                    self.on_error(self.last_error)
