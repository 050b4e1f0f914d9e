"""Run the sessiondb command on a real pseudo-terminal, as a person's shell would."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

# What rich itself writes on a terminal: SGR styles, cursor show/hide (progress), and the
# erase-line/cursor-up pair a live progress display uses. Everything else is suspect.
OWN_SEQUENCES = re.compile(rb"\x1b\[[0-9;]*m|\x1b\[\?25[hl]|\x1b\[2K|\x1b\[1A|\x1b\[1G|\r")
# Control bytes no stored text may bring to the terminal (after the above are removed):
# C0 except newline and tab, DEL, and C1 controls (as UTF-8 encoded code points).
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def run_on_pty(args: list[str], *, env: dict[str, str] | None = None, columns: int = 100, rows: int = 40,
               timeout: float = 60, interrupt_after: bytes | None = None) -> tuple[int, bytes]:
    """Run ``python -m sessiondb ARGS`` with stdin, stdout and stderr on one pty; return its
    exit code and everything it wrote. With ``interrupt_after``, send Ctrl-C (SIGINT to the
    process group, as the terminal does) once that text has appeared."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    process = subprocess.Popen([sys.executable, "-m", "sessiondb", *args], stdin=slave, stdout=slave, stderr=slave,
                               env=full_env, start_new_session=True, close_fds=True)
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    interrupted = False
    try:
        while True:
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"{args} did not finish; output so far: {bytes(output)[-2000:]!r}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:   # EIO: the child closed the terminal
                    chunk = b""
                if not chunk and process.poll() is not None:
                    break
                output.extend(chunk)
            elif process.poll() is not None:
                # drain what is left
                try:
                    while chunk := os.read(master, 65536):
                        output.extend(chunk)
                except OSError:
                    pass
                break
            if interrupt_after is not None and not interrupted and interrupt_after in output:
                os.killpg(process.pid, signal.SIGINT)
                interrupted = True
    finally:
        os.close(master)
    return process.wait(timeout=10), bytes(output)


def visible(output: bytes) -> str:
    """The text a person sees (rich's own styling sequences removed)."""
    return OWN_SEQUENCES.sub(b"", output).decode("utf-8", "replace")


def raw_controls(output: bytes) -> list[bytes]:
    """Control bytes left after rich's own sequences are removed (should be none)."""
    return RAW_CONTROL.findall(OWN_SEQUENCES.sub(b"", output))


def sessiondb_env(db: Path, home: Path) -> dict[str, str]:
    return {"CLAUDE_SESSION_DB_URL": str(db), "HOME": str(home)}
