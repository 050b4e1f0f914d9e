"""WAL checkpoints on a second thread while a large collection writes.

Every page a write transaction changes goes to the WAL first; a checkpoint copies the
WAL's pages back into the database file (a read, a write and an fsync per page run). In
a large collection that copying is about an eighth of the writer's time, and it needs
no lock the writer holds: a PASSIVE checkpoint on a connection of its own copies what
was committed while the writer writes the next batch (SQLite runs it without Python's
GIL, on the other core). Meanwhile the writer's own automatic checkpoints are off.

The WAL is only reused from its start by a write transaction that begins once every
frame was copied back, which never happens by itself while the writer keeps writing.
So when the WAL has grown past ``RESTART_BYTES``, the next write first waits for a
checkpoint of everything committed so far (the last batch's pages: about a tenth of a
second), and then starts the WAL over: it stays within about ``RESTART_BYTES`` and two
batches. (A reader that holds an old snapshot can keep any checkpoint from finishing;
the WAL then grows, as it would with the writer's own checkpoints.)

Any error of the checkpoint thread ends it and turns the writer's own checkpoints back
on: the checkpoints are an optimisation, never a condition of a write.
"""

from __future__ import annotations

import os
import threading

from .._startup import log

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import apsw

# The WAL's size past which the next write waits for the checkpoint to catch up, so that
# it can start the WAL over (a real-shaped batch of 16 MiB of text writes about 65 MiB).
RESTART_BYTES = 256 << 20


class BackgroundCheckpoints:
    """A thread that checkpoints the WAL after each commit of the writer's connection.

    The writer calls :meth:`before_write` before it begins a write transaction and
    :meth:`committed` after each commit, and :meth:`close` when the bulk of writes is
    done. Each method is cheap unless a restart of the WAL is due (then
    ``before_write`` waits for the catch-up)."""

    def __init__(self, path: str, page_size: int) -> None:
        import apsw

        self._frame_bytes = page_size + 24   # a WAL frame: its header and the page
        self._conn: apsw.Connection | None = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READWRITE)
        self._conn.execute("PRAGMA synchronous=NORMAL")   # the store's: fsyncs as its checkpoints do
        self._pid = os.getpid()
        self._changed = threading.Condition()
        self._asked = self._done = 0      # checkpoints asked for, and the last one done
        self._wal_bytes = 0                # the WAL's size at the last checkpoint
        self._restart_due = False
        self._stopping = False
        self.failed = False
        # Held while the thread runs SQL: fork() takes it (after the handle's lock) so
        # that no SQLite call is half done in a child (sessiondb.capi.support).
        self.running_sql = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sessiondb-checkpoints", daemon=True)
        self._thread.start()

    @property
    def working(self) -> bool:
        """The thread runs (in this process: a forked child has none)."""
        return not self.failed and not self._stopping and os.getpid() == self._pid

    def committed(self) -> None:
        """The writer committed: checkpoint what it wrote (and mark a restart due when the
        WAL has grown past RESTART_BYTES)."""
        if not self.working:
            return
        with self._changed:
            self._asked += 1
            if self._wal_bytes >= RESTART_BYTES:
                self._restart_due = True
            self._changed.notify_all()

    def before_write(self) -> None:
        """Before a write transaction begins: when a restart is due, wait until every
        committed frame was checkpointed, so that this transaction starts the WAL over."""
        if not self._restart_due or not self.working:
            return
        with self._changed:
            self._restart_due = False
            self._asked += 1   # whatever the running checkpoint started after, this one covers
            self._changed.notify_all()
            target = self._asked
            while self._done < target and not self.failed:
                self._changed.wait()
            self._wal_bytes = 0

    def close(self) -> None:
        """Stop the thread (after its running checkpoint) and close its connection."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if os.getpid() != self._pid:
            return   # a forked child: the thread and its connection are the parent's
        self._thread.join()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _run(self) -> None:
        import apsw

        conn = self._conn
        assert conn is not None
        while True:
            with self._changed:
                while self._asked == self._done and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                target = self._asked
            try:
                with self.running_sql:
                    frames, _copied = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
            except apsw.BusyError:
                frames = None   # another checkpoint runs (another program's): the next one catches up
            except apsw.Error as exc:
                log(__name__).warning("background checkpoints stopped (%s); the writer checkpoints itself", exc)
                with self._changed:
                    self.failed = True
                    self._done = self._asked
                    self._changed.notify_all()
                return
            with self._changed:
                if frames is not None:
                    self._wal_bytes = frames * self._frame_bytes
                self._done = target
                self._changed.notify_all()
