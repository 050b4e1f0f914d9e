"""How the command prints: rich text on a terminal, plain lines in a pipe, JSON on request.

Stored text is untrusted (programs wrote it, and whatever they read: web pages, files,
tool output), so everything human-readable passes through :func:`terminal_safe` before
it is printed: control characters become visible stand-ins and no escape sequence
from the database can reach the terminal. ``--json`` stays exact (JSON escapes them).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Highlight markers passed to search: control characters nobody types, turned into styles
# (and removed before printing, like every other control character).
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


def _stand_ins() -> dict[int, str]:
    """One visible character per control character, so text keeps its length (and the
    styles laid over it stay in place): C0 controls (except newline and tab) become
    their Unicode control pictures (ESC is shown as ␛, BEL as ␇), DEL ␡, and C1
    controls (0x80-0x9f, which some terminals read as CSI and OSC) the replacement
    character."""
    table = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
    table[0x7F] = "\u2421"
    table.update({code: "\ufffd" for code in range(0x80, 0xA0)})
    return table


_STAND_INS = _stand_ins()
_JSON_UNSAFE = re.compile("[\x7f-\x9f]")


def terminal_safe(text: object) -> str:
    """``text`` as a string with no character that a terminal would obey."""
    return str(text).translate(_STAND_INS)


def safe_text(value: object, style: str = "") -> Text:
    """Terminal-safe rich Text of a value, never read as markup."""
    if isinstance(value, Text):
        copy = value.copy()
        copy.plain = terminal_safe(copy.plain)
        return copy
    return Text(terminal_safe("" if value is None else value), style=style)


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
        """Exact JSON; DEL and C1 controls, which JSON may leave raw, are escaped as well,
        so even JSON on a terminal cannot drive it."""
        text = json.dumps(to_jsonable(value), ensure_ascii=False, indent=2)
        sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")

    def print(self, *items: Any, **kwargs: Any) -> None:
        """Print strings and Text made terminal-safe (strings are never read as markup);
        other renderables must be built from :func:`safe_text` (see :meth:`table`)."""
        kwargs.setdefault("markup", False)
        safe = [safe_text(i) if isinstance(i, (str, Text)) else i for i in items]
        if self.console.is_terminal:
            kwargs.setdefault("soft_wrap", False)   # rich wraps (and tables fit) to the terminal
            self.console.print(*safe, **kwargs)
            return
        # In a pipe: the same lines without the padding that aligns the last column.
        with self.console.capture() as capture:
            self.console.print(*safe, **kwargs)
        self.console.file.write("\n".join(line.rstrip() for line in capture.get().split("\n")))

    def page(self, items: Sequence[Any], *, enabled: bool = True) -> None:
        """Print ``items``; on a terminal through the pager, as git does: ``$SESSIONDB_PAGER``,
        else ``$PAGER``, else ``less`` (with ``LESS=FRX`` unless set: it exits at once when
        the text fits on one screen and keeps colours). An empty pager or ``cat`` prints
        directly; so does a pager that cannot be started."""
        command = pager_command() if enabled and self.interactive else None
        if command is None:
            self.lines(items)
            return
        import os
        import subprocess

        with self.console.capture() as capture:
            self.lines(items)
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        env.setdefault("LV", "-c")
        try:
            pager = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        except OSError:
            sys.stdout.write(capture.get())
            return
        try:
            assert pager.stdin is not None
            pager.stdin.write(capture.get().encode("utf-8", "replace"))
            pager.stdin.close()
        except BrokenPipeError:   # the reader quit the pager early
            pass
        while True:
            try:
                pager.wait()
                break
            except KeyboardInterrupt:   # Ctrl-C belongs to the pager, as in git
                continue
        if pager.returncode == 127:   # the shell found no such pager: print it here instead
            sys.stdout.write(capture.get())

    def lines(self, items: Iterable[Any]) -> None:
        """Each item on its own line(s), wrapped to the terminal (a pipe gets long lines)."""
        for item in items:
            self.print(item, soft_wrap=not self.interactive)

    def note(self, message: str) -> None:
        """A dim remark on stderr (nothing found, what to try)."""
        self.errors.print(safe_text(message, "dim"))

    def error(self, message: str, hint: str | None = None) -> None:
        text = Text("error: ", style="bold red")
        text.append(terminal_safe(message))
        if hint:
            text.append(f"\n  hint: {terminal_safe(hint)}", style="dim")
        self.errors.print(text)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[object]], *, right: Iterable[str] = (),
              styles: dict[str, str] | None = None, cut: Iterable[str] = ()) -> Table:
        """A borderless table whose cells are terminal-safe Text (never markup), one line a
        row: on a terminal the ``cut`` columns share the width the others leave and end in
        an ellipsis; in a pipe nothing is cut."""
        right, styles, cut = set(right), styles or {}, set(cut)
        cells = [[safe_text(cell) for cell in row] for row in rows]
        widths = [max([cell_len(column)] + [row[i].cell_len for row in cells]) for i, column in enumerate(columns)]
        limits: dict[str, int] = {}
        if self.interactive and cut:
            # Share what the other columns leave: the narrowest cut column first gets all it
            # needs, up to an equal part of the rest.
            left = self.console.width - sum(w + 2 for w, column in zip(widths, columns) if column not in cut)
            wanted = sorted((w, column) for w, column in zip(widths, columns) if column in cut)
            for n, (width, column) in enumerate(wanted):
                part = max(8, left // (len(wanted) - n) - 2)
                limits[column] = min(width, part)
                left -= limits[column] + 2
        table = Table(box=None, header_style="bold", padding=(0, 2, 0, 0), pad_edge=False)
        for column, width in zip(columns, widths):
            table.add_column(column, justify="right" if column in right else "left", style=styles.get(column),
                             no_wrap=True, overflow="ellipsis" if column in cut else "fold",
                             min_width=None if column in cut else width,
                             max_width=limits.get(column))
        for row in cells:
            table.add_row(*row)
        return table


def pager_command() -> str | None:
    import os

    import shutil

    for name in ("SESSIONDB_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            value = value.strip()
            return None if value in ("", "cat") else value
    return "less" if shutil.which("less") else None


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


def when(ms: int | None, *, seconds: bool = False) -> str:
    """Local time of an epoch-ms value, to the minute (or to the second)."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``1,024 new messages``."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def highlighted(snippet: str, style: str = "bold yellow") -> Text:
    """A snippet whose MARK_OPEN/MARK_CLOSE spans become styled text (no markup parsing,
    so brackets in message text print as they are)."""
    text = Text()
    rest = snippet
    while rest:
        start = rest.find(MARK_OPEN)
        if start < 0:
            text.append(terminal_safe(rest))
            break
        end = rest.find(MARK_CLOSE, start)
        end = len(rest) if end < 0 else end
        text.append(terminal_safe(rest[:start]))
        text.append(terminal_safe(rest[start + 1:end]), style=style)
        rest = rest[end + 1:]
    return text


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
