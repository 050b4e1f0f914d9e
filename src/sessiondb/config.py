"""Where the database lives and how it is opened.

``DbConfig.from_env()`` follows the original crate: ``CLAUDE_SESSION_DB_URL`` when set,
otherwise ``~/.vimo/db/ai-cli-session.db``. Unlike the original, ``~`` is expanded and a
``sqlite://`` prefix is stripped, so the documented examples do what they say.
"""

from __future__ import annotations

import os

from ._record import field, record
from .errors import ConfigError

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    import re
    from pathlib import Path

    DEFAULT_DB_PATH: Path

ENV_DB_URL = "CLAUDE_SESSION_DB_URL"
_DEFAULT_DB_LOCATION = "~/.vimo/db/ai-cli-session.db"
DEFAULT_BUSY_TIMEOUT_MS = 5000


def __getattr__(name: str) -> "Path":
    # pathlib (with urllib.parse and ipaddress) and re load when a path is first
    # resolved, not at import: the C ABI's first call would pay milliseconds for them.
    if name == "DEFAULT_DB_PATH":
        from pathlib import Path
        path = globals()["DEFAULT_DB_PATH"] = Path(_DEFAULT_DB_LOCATION)  # one object, as before
        return path
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _url_scheme(text: str) -> "re.Match[str] | None":
    """``<scheme>://`` at the start of ``text``."""
    import re
    return re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)


@record
class CoordinationConfig:
    """Timing of writer coordination (product README: 10 s, 30 s, 3)."""

    heartbeat_interval_ms: int = 10_000
    timeout_ms: int = 30_000
    confirm_count: int = 3

    def __post_init__(self) -> None:
        if self.heartbeat_interval_ms <= 0 or self.timeout_ms <= 0:
            raise ConfigError("heartbeat_interval_ms and timeout_ms must be positive")
        if self.confirm_count < 1:
            raise ConfigError("confirm_count must be at least 1")


def resolve_db_path(url: str | os.PathLike[str]) -> Path:
    """Turn a configured location into an absolute file path.

    Accepts a plain path, ``~/...``, ``sqlite:///abs/path`` and ``sqlite://rel/path``.
    Remote URLs (``libsql://``, ``http://``) are rejected with a clear error.
    """
    text = os.fspath(url)
    if not text or not text.strip():
        raise ConfigError("database path is empty")
    scheme = _url_scheme(text)
    if scheme and scheme.group(1).lower() == "sqlite":
        text = text[scheme.end():]
    elif scheme:
        raise ConfigError(f"remote databases are not supported: {text!r}")
    if text.startswith("file:"):
        raise ConfigError(f"SQLite URI filenames are not supported, give a path: {text!r}")
    if text == ":memory:":
        raise ConfigError("an in-memory database cannot be shared; give a file path")
    from pathlib import Path
    return Path(os.path.expandvars(text)).expanduser().absolute()


@record
class DbConfig:
    """How to open the shared database.

    ``path`` is expanded (``~``) and made absolute. ``read_only`` opens with
    ``PRAGMA query_only`` and refuses every write (the original's ``reader`` feature).
    """

    path: Path  # accepts a str too; stored resolved and absolute
    read_only: bool = False
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    coordination: CoordinationConfig = field(default_factory=CoordinationConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", resolve_db_path(self.path))
        if self.busy_timeout_ms < 0:
            raise ConfigError("busy_timeout_ms must not be negative")

    @classmethod
    def local(cls, path: str | os.PathLike[str], *, read_only: bool = False,
              busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
              coordination: CoordinationConfig | None = None) -> "DbConfig":
        """A database file at ``path`` (``~`` expanded, parents created on connect)."""
        return cls(os.fspath(path), read_only=read_only, busy_timeout_ms=busy_timeout_ms,  # type: ignore[arg-type]
                   coordination=coordination or CoordinationConfig())

    @classmethod
    def from_env(cls, *, read_only: bool = False) -> "DbConfig":
        """``$CLAUDE_SESSION_DB_URL`` if set and non-empty, else ``~/.vimo/db/ai-cli-session.db``."""
        url = os.environ.get(ENV_DB_URL, "").strip()
        return cls.local(url or _DEFAULT_DB_LOCATION, read_only=read_only)

    default = from_env
