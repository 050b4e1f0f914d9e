"""What `collect` shows while it runs, and what its help says it reads."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID, TaskProgressColumn,
                           TextColumn, TimeRemainingColumn, TransferSpeedColumn)

from ..collector import CollectResult, Collector
from .output import Output, plural


class CollectProgress:
    """A progress bar over the bytes to read (known after discovery), with files done of
    the total and an ETA; nothing at all in a pipe or with --json."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.enabled = out.interactive and not out.as_json
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.files_total = 0
        self._last = 0.0

    def start(self, collector: Collector, sources: list[str] | None) -> None:
        if not self.enabled:
            return
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TaskProgressColumn(), DownloadColumn(), TransferSpeedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(),
                                 console=self.out.console, transient=True)
        task = self.task = self.progress.add_task("looking for sessions...", total=None)
        self.progress.start()
        self.files_total, size = collector.plan(sources)
        self.progress.update(task, total=max(size, 1), description=self._files(0))

    def _files(self, done: int) -> str:
        return f"{done:,}/{plural(self.files_total, 'file')}"

    def update(self, result: CollectResult) -> None:
        now = time.monotonic()
        if self.progress is None or self.task is None or now - self._last < 0.1:
            return
        self._last = now
        self.progress.update(self.task, completed=result.bytes_read,
                             description=f"{self._files(result.files_seen)}, "
                                         f"{plural(result.messages_inserted, 'new message')}")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _tilde(path: Path) -> str:
    home = os.environ.get("HOME")
    text = str(path)
    if home and (text == home or text.startswith(home.rstrip("/") + "/")):
        return "~" + text[len(home.rstrip("/")):]
    return text


def sources_help() -> str:
    """Which folders collect reads and which variables move them, from the sources' registry."""
    from ..sources import SOURCES

    lines = ["Reads, for each tool (the first variable that is set wins, else the default folders):"]
    for name, source in SOURCES.items():
        folders = ", ".join(_tilde(p) for p in source.resolve_roots(None))
        lines.append(f"  {name} ({source.title}): {folders}")
        lines.append(f"    from {source.describe_roots()}")
    lines.append("Folders as they are now, with this environment; `sessiondb status` says which exist.")
    return "\n".join(lines)
