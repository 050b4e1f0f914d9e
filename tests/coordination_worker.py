"""A real process holding one SessionDB handle, driven by JSON commands on stdin.

Run as a script (``python coordination_worker.py <db path> <config json>``) it prints
``{"ready": ...}`` and then answers one JSON line per command line::

    {"cmd": "register", "type": "memex_kit"}            -> {"reply": ..., "role": 0, ...}
    {"cmd": "write", "session": "s1", "prefix": "a", "n": 5}
    {"cmd": "coordinate", "type": "memex_daemon"}       -> role changes arrive as {"event": "role", ...}

Imported by the tests, :class:`Worker` starts and drives such a process and sends it
signals (SIGKILL, SIGSTOP, SIGCONT).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

WORKER_SCRIPT = Path(__file__).resolve()
BASE_TS = 1_760_000_000_000


# ---------------------------------------------------------------------------------- worker side
def _serve(db_path: str, settings: dict[str, Any]) -> None:
    from sessiondb import (Clock, CoordinationConfig, Coordinator, DbConfig, MessageInput, MessageType,
                           SessionDB, SessionDBError)

    class ShiftedClock(Clock):
        """The system clocks, with a wall-clock offset the test can jump."""

        wall_offset_ms = int(settings.get("wall_offset_ms", 0))

        def wall_ms(self) -> int:
            return super().wall_ms() + self.wall_offset_ms

    out_lock = threading.Lock()

    def emit(obj: dict[str, Any]) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    config = DbConfig.local(db_path, busy_timeout_ms=int(settings.get("busy_timeout_ms", 5000)),
                            coordination=CoordinationConfig(
                                heartbeat_interval_ms=int(settings.get("heartbeat_ms", 10_000)),
                                timeout_ms=int(settings.get("timeout_ms", 30_000)),
                                confirm_count=int(settings.get("confirm_count", 3))))
    db = SessionDB.connect(config)
    db.clock = ShiftedClock()
    coordinator: Coordinator | None = None

    def on_role(role: Any) -> None:
        emit({"event": "role", "role": int(role), "writer_id": db.writer_id, "mono_ns": time.monotonic_ns()})

    def state() -> dict[str, Any]:
        role = db.role
        return {"role": None if role is None else int(role), "writer_id": db.writer_id}

    def write(session: str, prefix: str, n: int, start: int = 0) -> int:
        messages = [MessageInput(uuid=f"{prefix}-{i}", type=MessageType.USER, content_text=f"{prefix} {i}",
                                 content_full=f"{prefix} {i}", timestamp=BASE_TS + i, sequence=i)
                    for i in range(start, start + n)]
        with db._store.write():   # one transaction: project, session and the batch, or nothing
            pid = db.get_or_create_project("demo", "/work/demo", "claude")
            db.upsert_session(session, pid)
            return db.insert_messages(session, messages)

    emit({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        cmd = request.get("cmd")
        reply: dict[str, Any] = {"reply": cmd}
        try:
            if cmd == "register":
                reply["role"] = int(db.register_writer(request["type"], priority=request.get("priority")))
            elif cmd == "heartbeat":
                db.heartbeat()
            elif cmd == "write":
                reply["inserted"] = write(request["session"], request["prefix"], int(request["n"]),
                                          int(request.get("start", 0)))
            elif cmd == "health":
                reply["health"] = int(db.check_writer_health())
            elif cmd == "takeover":
                reply["taken"] = db.try_takeover()
            elif cmd == "release":
                db.release_writer()
            elif cmd == "role":
                pass
            elif cmd == "wall_jump":
                ShiftedClock.wall_offset_ms += int(request["ms"])
            elif cmd == "coordinate":
                coordinator = Coordinator(db, request["type"], priority=request.get("priority"),
                                          on_role_change=on_role,
                                          poll_interval_ms=int(request.get("poll_ms", 200)))
                reply["role"] = int(coordinator.start())
            elif cmd == "stop_coordinating":
                if coordinator is not None:
                    coordinator.stop(release=bool(request.get("release", True)))
            elif cmd == "exit":
                emit(reply | state())
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except SessionDBError as exc:
            reply["error"] = type(exc).__name__
            reply["message"] = str(exc)
        emit(reply | state())
    if coordinator is not None:
        coordinator.stop()
    db.close()


# ---------------------------------------------------------------------------------- test side
class WorkerError(AssertionError):
    pass


class Worker:
    """One worker process, its replies and its role-change events."""

    def __init__(self, db_path: str | os.PathLike[str], **settings: Any) -> None:
        # Same interpreter, same environment: the worker imports the sessiondb the tests import.
        self.proc = subprocess.Popen([sys.executable, str(WORKER_SCRIPT), str(db_path), json.dumps(settings)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self._next(timeout=30)
        if not ready.get("ready"):
            raise WorkerError(f"worker did not start: {ready}")
        self.pid = int(ready["pid"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(json.loads(line))
        self._lines.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"worker {self.proc.pid} did not answer within {timeout} s") from None
        if item is None:
            raise WorkerError(f"worker {self.proc.pid} exited (code {self.proc.poll()})")
        return item

    def call(self, cmd: str, timeout: float = 30, **args: Any) -> dict[str, Any]:
        """Send a command; return its reply (role-change events seen meanwhile go to ``events``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            item = self._next(max(0.01, deadline - time.monotonic()))
            if "event" in item:
                self.events.append(item)
                continue
            return item

    def ok(self, cmd: str, **args: Any) -> dict[str, Any]:
        """``call`` that fails the test if the worker reports an error."""
        reply = self.call(cmd, **args)
        if "error" in reply:
            raise WorkerError(f"{cmd}: {reply['error']}: {reply['message']}")
        return reply

    def wait_event(self, role: int, timeout: float) -> dict[str, Any]:
        """Wait for a role-change event to ``role``; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("event") == "role" and event.get("role") == role:
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerError(f"no role change to {role} within {timeout} s (events: {self.events})")
            try:
                item = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if item is None:
                raise WorkerError("worker exited while waiting for an event")
            self.events.append(item)

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def pause_outside_transaction(self, db_path: str | os.PathLike[str], attempts: int = 200) -> None:
        """SIGSTOP at a moment the worker holds no write lock.

        A process stopped inside a write transaction blocks every writer until it runs
        again (and then commits before anyone else can take over), which is correct but
        not the scenario the tests want to build.
        """
        import apsw

        probe = apsw.Connection(str(db_path))
        try:
            for _ in range(attempts):
                self.signal(signal.SIGSTOP)
                self._wait_stopped()
                try:
                    probe.execute("BEGIN IMMEDIATE")
                except apsw.BusyError:
                    self.signal(signal.SIGCONT)
                    time.sleep(0.005)
                    continue
                probe.execute("ROLLBACK")
                return
            raise WorkerError("the worker never left its write transaction")
        finally:
            probe.close()

    def _wait_stopped(self, timeout: float = 10) -> None:
        """Until the kernel reports the process stopped (signals are delivered asynchronously)."""
        deadline = time.monotonic() + timeout
        stat = Path(f"/proc/{self.proc.pid}/stat")
        while time.monotonic() < deadline:
            try:
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return   # no /proc: rely on the signal having been delivered
            if state in ("T", "t"):
                return
            time.sleep(0.001)
        raise WorkerError(f"worker {self.proc.pid} did not stop")

    def kill(self) -> None:
        """SIGKILL and reap: the kernel has dropped its locks when this returns."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.signal(signal.SIGCONT)
                self.call("exit", timeout=10)
            except (WorkerError, OSError, ValueError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


if __name__ == "__main__":
    _serve(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
