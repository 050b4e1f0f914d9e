"""How the command prints: rich text on a terminal, plain lines in a pipe, JSON on request."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text

# Highlight markers passed to search: control characters nobody types, turned into styles.
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


class Output:
    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json
        # In a pipe, never wrap or cut: other programs read these lines.
        piped = not sys.stdout.isatty()
        self.console = Console(highlight=False, soft_wrap=True, width=100_000 if piped else None)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")

    def print(self, *items: Any, **kwargs: Any) -> None:
        self.console.print(*items, **kwargs)

    def error(self, message: str, hint: str | None = None) -> None:
        text = Text("error: ", style="bold red")
        text.append(message)
        if hint:
            text.append(f"\n  hint: {hint}", style="dim")
        self.errors.print(text)


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value if not isinstance(value, int) else value.name.lower()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def when(ms: int | None) -> str:
    """Local time of an epoch-ms value, minute precision."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def highlighted(snippet: str, style: str = "bold yellow") -> Text:
    """A snippet whose MARK_OPEN/MARK_CLOSE spans become styled text (no markup parsing,
    so brackets in message text print as they are)."""
    text = Text()
    rest = snippet
    while rest:
        start = rest.find(MARK_OPEN)
        if start < 0:
            text.append(rest)
            break
        end = rest.find(MARK_CLOSE, start)
        end = len(rest) if end < 0 else end
        text.append(rest[:start])
        text.append(rest[start + 1:end], style=style)
        rest = rest[end + 1:]
    return text


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
