"""Where each agent CLI keeps its files, and the environment variables that move them.

Every root can be given explicitly (an argument), by this library's own variable (as
the original: ``CLAUDE_PROJECTS_PATH``, ``CODEX_PATH``, ``OPENCODE_PATH``,
``GEMINI_TMP_PATH``) or by the tool's own variable (``CLAUDE_CONFIG_DIR``,
``CODEX_HOME``, ``XDG_DATA_HOME``, ``GEMINI_CLI_HOME``), in that order, else it is
the default under the home directory. A source declares this as a :class:`RootSpec`.
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class RootSpec:
    """Where a source's roots are, first match wins.

    ``variable``: this library's own environment variable, naming the roots themselves.
    ``tool_variables``: the tool's own variables, each with the subfolder of the
    directory it names that holds the files (``("CLAUDE_CONFIG_DIR", "projects")``;
    ``""`` for the directory itself). ``home``: defaults relative to the home directory.
    Every variable may hold several paths separated by commas.
    """

    variable: str
    tool_variables: tuple[tuple[str, str], ...] = ()
    home: tuple[str, ...] = ()

    def resolve(self, roots: Any = None) -> list[Path]:
        """The roots: ``roots`` (a path or several) when given, else from the environment,
        else the defaults; duplicates removed."""
        return dedupe(explicit(roots) or self.from_environment() or [home() / d for d in self.home])

    def from_environment(self) -> list[Path]:
        found = split_env(self.variable)
        if found:
            return found
        for name, subfolder in self.tool_variables:
            found = split_env(name)
            if found:
                return [d / subfolder if subfolder else d for d in found]
        return []

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable that moves the roots, in the order they are tried."""
        return (self.variable, *(name for name, _ in self.tool_variables))

    def describe(self) -> str:
        """One line for help texts: ``$A, else $B/sub (comma-separated), else ~/x``."""
        choices = [f"${self.variable}"]
        choices += [f"${name}/{sub}" if sub else f"${name}" for name, sub in self.tool_variables]
        text = ", else ".join(choices) + " (comma-separated lists)"
        if self.home:
            text += ", else " + " and ".join(f"~/{d}" for d in self.home)
        return text


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


def list_dir(path: str | os.PathLike[str], *, sort: bool = False) -> list[os.DirEntry[str]]:
    """The entries of a directory ([] when it cannot be read), by name if ``sort``."""
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name) if sort else list(entries)
    except OSError:
        return []


def is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether a directory entry is a directory (False when it vanished meanwhile)."""
    try:
        return entry.is_dir()
    except OSError:
        return False
