"""The parse worker: a second process that reads source units while the collector writes.

Parsing and writing a cold collection take about the same time, and threads cannot
overlap them (the parsers hold the GIL), so a large collection hands its file units to
a worker process and writes what comes back (:class:`ParseWorker`). The worker runs
:func:`sessiondb.unit_reads.read_unit` on each unit, in the order they were sent, and
sends the pieces back pickled; the collector applies them in that order, so the rows
are those of a read in the collecting process.

Safe in any host, including a program that embeds the C library: the worker is a fresh
interpreter started with ``subprocess`` (fork and exec at once: nothing of the host's
threads, SQLite handles or locks is copied, and no descriptor but its pipes is
inherited), never a fork of a live interpreter, and never a ``multiprocessing`` spawn,
which would run the host's main script again. It never opens the database. It runs in a
session of its own (a terminal's Ctrl-C goes to the collector, which stops it) and ends
when its input closes or a write to the collector fails. The interpreter is
``$SESSIONDB_PYTHON``, else this process's own Python, else the one of its prefix; a
host program that is not Python is never started (then the collector reads in process).

Protocol: frames of an 8-byte big-endian length and a pickle. Collector to worker:
``(ticket, source name, unit, state, limits)``, or ``(RANK, snapshot)``: from its
arrival on (units sent before it included) the worker also computes each new row's rank index postings under that snapshot
(:func:`sessiondb.store.rank_index.annotate`: tokenizing on this second core, not in the
writer), or ``(RANK_SHARE, share)``: postings for about that share of the sessions
from then on (the writer tokenizes the rest); worker to collector: first ``HELLO``, then lists of ``(ticket, piece)``, a
``None`` piece ending each unit.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from typing import IO, TYPE_CHECKING, Any

from ._startup import log

if TYPE_CHECKING:
    from .sources import Source, SourceUnit
    from .store.ingest_records import FileState
    from .store.rank_index import Snapshot
    from .unit_reads import Limits, UnitRead

HELLO = "sessiondb parse worker 1"
RANK = "rank"
RANK_SHARE = "rank share"
_HEADER = struct.Struct(">Q")
# Pieces are sent together until they hold this much text (fewer, larger writes; at
# most a batch), or sooner when the worker has nothing more to read yet.
_SEND_BYTES = 1 << 20
# The size asked for the pipe the pieces come through (Linux's default for a user's
# pipe is at most 1 MiB; 64 KiB when the request is refused).
_PIPE_BYTES = 1 << 20
# No frame is this large (the worker sends about _SEND_BYTES at a time, at most a batch):
# a longer one means the stream is corrupt, not that this much memory should be taken.
_MAX_FRAME_BYTES = 1 << 31


class WorkerGone(Exception):
    """The worker process ended (or never started); ``started`` tells which."""

    def __init__(self, message: str, *, started: bool) -> None:
        super().__init__(message)
        self.started = started


def python_for_worker() -> str | None:
    """The Python interpreter to start the worker with, or None when none is known."""
    forced = os.environ.get("SESSIONDB_PYTHON")
    if forced:
        return forced if _runnable(forced) else None
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (sys.executable, os.path.join(sys.prefix, "bin", "python3"),
                      os.path.join(sys.prefix, "bin", version)):
        # A host program that embeds the library may be sys.executable: never start it.
        if candidate and os.path.basename(candidate).startswith("python") and _runnable(candidate):
            return candidate
    return None


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _widen(pipe: IO[bytes]) -> None:
    """A pipe of ``_PIPE_BYTES`` where the system allows it (Linux): fewer, larger reads."""
    try:
        import fcntl
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _frame(value: Any) -> tuple[bytes, bytes]:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)), data


def _write_frame(fd: int, value: Any) -> None:
    _write_all(fd, *_frame(value))


def _write_all(fd: int, *parts: bytes | bytearray) -> None:
    """Every byte of ``parts`` to ``fd``, by ``os.write`` until done. Not through a
    buffered file: when a signal (a handler's, or a debugger's or profiler's stop)
    interrupts a pipe write part-way, a buffered write can garble the stream."""
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


def _read_data(source: IO[bytes]) -> bytes:
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    if size > _MAX_FRAME_BYTES:
        raise ValueError(f"a frame of {size} bytes: the stream is corrupt")
    data = source.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _read_frame(source: IO[bytes]) -> Any:
    return pickle.loads(_read_data(source))


class ParseWorker:
    """The collector's side: start the worker, send it units, take their pieces in order."""

    def __init__(self, python: str, buffer_bytes: int) -> None:
        """Start the worker with ``python``. At most about ``buffer_bytes`` of what it sent
        wait here to be applied (the collector gives two batches' worth: the worker reads a
        batch ahead while one is written); beyond that the worker waits."""
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        # The same sessiondb and dependencies as this process, wherever they were imported
        # from, and the same isolation flags.
        paths = [package_root] + [p for p in sys.path if isinstance(p, str)]
        code = f"import sys; sys.path[:0] = {paths!r}; from sessiondb.parse_worker import main; main()"
        flags = (["-I"] if sys.flags.isolated else
                 (["-E"] if sys.flags.ignore_environment else []) + (["-s"] if sys.flags.no_user_site else []))
        self.process = subprocess.Popen([python, *flags, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        close_fds=True, start_new_session=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to_worker: IO[bytes] = self.process.stdin
        self._unsent = bytearray()   # frames submitted, written at the next send()
        self._from_worker: IO[bytes] = self.process.stdout
        self._next_ticket = 0
        self._received: deque[tuple[int, UnitRead | None]] = deque()
        self.started = False     # the worker said hello: it imported the package and runs
        self.broken = False      # sending failed: the worker is gone or going
        self.waited = 0.0        # seconds the collector waited for what the worker reads
        self.ahead = 0.0         # seconds the worker's results waited for room here (it idled)
        # A thread takes what the worker sends as soon as it comes (the pipe alone holds
        # 64 KiB: the worker would wait for every write of the collector).
        self._frames: deque[bytes | None] = deque()
        self._buffered = 0
        self._buffer_bytes = buffer_bytes
        self._frames_changed = threading.Condition()
        _widen(self._from_worker)
        self._pump = threading.Thread(target=self._take_frames, name="sessiondb-parse-results", daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def submit(self, source: Source, unit: SourceUnit, state: FileState | None, limits: Limits) -> int | None:
        """Send a unit to read (on its way at the next :meth:`send`); returns its ticket
        (units are read in the order sent), or None when the worker takes no more (it is
        gone: what it read so far still comes)."""
        if self.broken:
            return None
        ticket = self._next_ticket
        self._queue((ticket, source.name, unit, state, limits))
        self._next_ticket += 1
        return ticket

    def use_rank_snapshot(self, snapshot: Snapshot) -> None:
        """Compute the rank index postings of the units submitted from now on under ``snapshot``."""
        self._control((RANK, snapshot))

    def share_rank_work(self, share: float) -> None:
        """Compute the postings of about this share of the sessions read from now on (the
        writer tokenizes the others: the two processes split the work, see
        ``Collector._balance_rank_work``)."""
        self._control((RANK_SHARE, share))

    def _control(self, frame: tuple[str, object]) -> None:
        if not self.broken:
            self._queue(frame)

    def _queue(self, value: Any) -> None:
        for part in _frame(value):
            self._unsent += part

    def send(self) -> None:
        """Send the units submitted so far."""
        if self.broken:
            return
        try:
            _write_all(self._to_worker.fileno(), self._unsent)
        except (OSError, ValueError):
            self.broken = True
        self._unsent = bytearray()

    def pieces(self, ticket: int) -> Any:
        """The pieces of the unit ``ticket`` (the oldest one not yet taken), as they come."""
        self.send()
        while True:
            while not self._received:
                self._receive()
            got, piece = self._received.popleft()
            if got != ticket:
                raise self._gone(f"the parse worker answered unit {got} where {ticket} was expected")
            if piece is None:
                return
            yield piece

    def _take_frames(self) -> None:
        # Each frame read whole, the pipe's data straight into a buffer of its size: the
        # kernel's copy is the only one, and this thread holds the GIL as seldom as
        # possible (each time it does, the collecting thread may wait for it).
        try:
            while True:
                data = _read_data(self._from_worker)
                with self._frames_changed:
                    if self._buffered >= self._buffer_bytes:
                        started = time.perf_counter()
                        while self._buffered >= self._buffer_bytes:
                            self._frames_changed.wait()
                        self.ahead += time.perf_counter() - started
                    self._frames.append(data)
                    self._buffered += len(data)
                    self._frames_changed.notify_all()
        except (EOFError, OSError, ValueError, MemoryError):
            pass   # the end of what the worker sends: the collector is told at the next frame
        with self._frames_changed:
            self._frames.append(None)
            self._frames_changed.notify_all()

    def _receive(self) -> None:
        with self._frames_changed:
            if not self._frames:
                started = time.perf_counter()
                while not self._frames:
                    self._frames_changed.wait()
                self.waited += time.perf_counter() - started
            data = self._frames.popleft()
            if data is not None:
                self._buffered -= len(data)
                self._frames_changed.notify_all()
            else:
                self._frames.append(None)   # the end stays the end
        try:
            if data is None:
                raise EOFError
            frame = pickle.loads(data)
        except EOFError as exc:
            raise self._gone(f"the parse worker stopped{self._how()}") from exc
        except Exception as exc:
            # A corrupt frame can fail to unpickle in many ways (bad opcodes, bad UTF-8, ...).
            raise self._gone(f"the parse worker sent a frame that cannot be read ({type(exc).__name__})") from exc
        if not self.started:
            if frame != HELLO:
                raise self._gone("the parse worker did not start (an unexpected greeting)")
            self.started = True
            return
        self._received.extend(frame)

    def _how(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return ""
        return f" (killed by signal {-code})" if code < 0 else f" (exit status {code})"

    def _gone(self, message: str) -> WorkerGone:
        self.close()
        return WorkerGone(message, started=self.started)

    def close(self) -> None:
        """Stop the worker (at once: it holds nothing that needs a clean end) and reap it."""
        try:
            self._to_worker.close()
        except OSError:
            pass
        if self.process.poll() is None:
            try:
                self.process.kill()
            except OSError:
                pass
        with self._frames_changed:
            self._frames.clear()          # lets the thread finish: it sees the end next
            self._buffered = 0
            self._frames_changed.notify_all()
        self._pump.join(timeout=10)
        try:
            self._from_worker.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(__name__).warning("the parse worker %d did not end", self.process.pid)


# ---------------------------------------------------------------------- the worker process
def main() -> None:
    """Run as the worker: read units from stdin, write their pieces to stdout."""
    from . import sources as sources_package
    from .store import rank_index
    from .unit_reads import read_unit

    source_in = sys.stdin.buffer
    out = sys.stdout.fileno()
    # Nothing else may write to the pipe the pieces travel in.
    sys.stdout = sys.stderr
    jobs: deque[Any] = deque()
    arrived = threading.Condition()
    done = [False]
    annotator = rank_index.ReadAnnotator()   # under the last snapshot sent, for the next piece read

    def take_input() -> None:
        # A thread drains the input at once, so the collector never blocks sending units
        # while this process blocks sending pieces.
        try:
            while True:
                job = _read_frame(source_in)
                if job[0] == RANK:
                    # At once, not after the units queued before it: they are read with it.
                    annotator.snapshot = job[1]
                    continue
                if job[0] == RANK_SHARE:
                    annotator.share = job[1]
                    continue
                with arrived:
                    jobs.append(job)
                    arrived.notify()
        except Exception:
            # The end of the input, or input that cannot be read (a corrupt frame fails in
            # many ways): no more units; the collector learns it from the units left unread.
            pass
        with arrived:
            done[0] = True
            arrived.notify()

    threading.Thread(target=take_input, name="sessiondb-parse-input", daemon=True).start()
    outgoing: list[tuple[int, Any]] = []

    def send() -> None:
        _write_frame(out, outgoing)
        outgoing.clear()

    try:
        _write_frame(out, HELLO)
        size = 0
        while True:
            with arrived:
                while not jobs and not done[0]:
                    if outgoing:
                        break
                    arrived.wait()
                job = jobs.popleft() if jobs else None
            if job is None:
                if outgoing:
                    send()
                    size = 0
                    continue
                return
            ticket, name, unit, state, limits = job
            for piece in read_unit(sources_package.source_for(name), unit, state, limits):
                annotator.annotate(piece.sessions)
                outgoing.append((ticket, piece))
                size += piece.text_bytes + 1000
                if size >= min(_SEND_BYTES, limits.batch_bytes):
                    send()
                    size = 0
            outgoing.append((ticket, None))
            if not jobs:
                send()
                size = 0
    except (BrokenPipeError, ValueError):
        pass   # the collector went away: nothing left to do
