"""Where each agent CLI keeps its files, and the environment variables that move them.

Every root can be given explicitly (an argument), by this library's own variable (as
the original: ``CLAUDE_PROJECTS_PATH``, ``CODEX_PATH``, ``OPENCODE_PATH``,
``GEMINI_TMP_PATH``) or by the tool's own variable (``CLAUDE_CONFIG_DIR``,
``CODEX_HOME``, ``XDG_DATA_HOME``, ``GEMINI_CLI_HOME``), in that order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def home() -> Path:
    value = os.environ.get("HOME")
    return Path(value) if value else Path.home()


def split_env(name: str) -> list[Path]:
    """Paths in the variable ``name`` (comma-separated, as ccusage reads CLAUDE_CONFIG_DIR)."""
    value = os.environ.get(name, "")
    return [expand(part) for part in value.split(",") if part.strip()]


def expand(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.expandvars(os.fspath(path).strip())).expanduser().absolute()


def explicit(roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None) -> list[Path] | None:
    """Roots given by the caller, or None when the defaults apply."""
    if roots is None:
        return None
    if isinstance(roots, (str, os.PathLike)):
        return [expand(roots)]
    return [expand(r) for r in roots]


def dedupe(paths: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    out = []
    for path in paths:
        key = os.path.normcase(os.path.normpath(str(path)))
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def is_within(path: str | os.PathLike[str], root: Path) -> Path | None:
    """``path`` relative to ``root`` when it lies inside it (component-wise), else None."""
    try:
        return Path(os.path.abspath(os.fspath(path))).relative_to(os.path.abspath(root))
    except ValueError:
        return None


def list_dir(path: str | os.PathLike[str], *, sort: bool = False) -> list[os.DirEntry]:
    """The entries of a directory ([] when it cannot be read), by name if ``sort``."""
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name) if sort else list(entries)
    except OSError:
        return []


def is_dir(entry: os.DirEntry) -> bool:
    """Whether a directory entry is a directory (False when it vanished meanwhile)."""
    try:
        return entry.is_dir()
    except OSError:
        return False
