"""Connecting to the PostgreSQL mirror, and turning libpq's failures into one line.

Credentials and TLS come the way every PostgreSQL client takes them: the URL
(``postgresql://user:password@host:port/db?sslmode=verify-full&sslrootcert=...``),
the ``PG*`` environment variables (``PGHOST``, ``PGUSER``, ``PGPASSWORD``,
``PGSSLMODE``, ...) and ``~/.pgpass``; libpq reads all of them, so every libpq
option (``sslmode``, ``sslcert``, ``sslkey``, ``sslrootcert``, ``target_session_attrs``,
...) passes through untouched. A password never appears in a message: :func:`redact`
removes it from the URL before anything is printed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, RemoteError

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from types import ModuleType

    from psycopg import Connection
    from psycopg.rows import TupleRow

SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "sessiondb-mirror"


class MirrorError(RemoteError):
    """The mirror cannot be reached or used; the message is one line, without secrets."""


class MirrorUnavailable(MirrorError):
    """psycopg (the PostgreSQL driver) is not installed."""


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password (``user:***@host``), for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unparsable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def psycopg_module() -> ModuleType:
    """psycopg, or :class:`MirrorUnavailable` with the install command."""
    try:
        import psycopg
    except ImportError as exc:
        raise MirrorUnavailable("the PostgreSQL mirror needs psycopg 3: pip install 'psycopg[binary]'") from exc
    return psycopg


def connect(url: str, *, autocommit: bool = False) -> Connection[TupleRow]:
    """A psycopg connection to ``url`` (libpq reads PG* variables and ~/.pgpass too)."""
    if not is_postgres_url(url):
        raise ConfigError(f"not a PostgreSQL URL: {redact(str(url))!r} (use postgresql://USER@HOST/DB)")
    psycopg = psycopg_module()
    try:
        conn: Connection[TupleRow] = psycopg.connect(url.strip(), autocommit=autocommit,
                                                     connect_timeout=CONNECT_TIMEOUT_S,
                                                     application_name=APPLICATION_NAME)
    except psycopg.Error as exc:
        raise MirrorError(describe(exc, url)) from None
    except (ValueError, psycopg.ProgrammingError) as exc:  # a malformed URL or option
        raise ConfigError(f"bad PostgreSQL URL {redact(url)}: {_first_line(str(exc), url)}") from None
    return conn


def describe(exc: BaseException, url: str) -> str:
    """One line saying what went wrong with the server at ``url``, without secrets."""
    where = _server(url)
    text = _first_line(str(exc), url)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return f"PostgreSQL at {where} refused the credentials ({text}); check the user and password " \
               "(URL, PGPASSWORD or ~/.pgpass)"
    if re.search(r'database ".*" does not exist', low):
        return f"PostgreSQL at {where}: {text}; create it first (createdb)"
    if "connection refused" in low or "no such file or directory" in low and "socket" in low:
        return f"cannot connect to PostgreSQL at {where}: connection refused (is the server running?)"
    if "timeout expired" in low or "could not translate host name" in low:
        return f"cannot connect to PostgreSQL at {where}: {text}"
    if _is_lost(exc, low):
        return f"lost the connection to PostgreSQL at {where} ({text}); run the command again to resume"
    return f"PostgreSQL at {where}: {text}"


def _is_lost(exc: BaseException, low: str) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled):
        return ("server closed the connection" in low or "terminating connection" in low
                or "connection is lost" in low or "consuming input failed" in low or "the connection is closed"
                in low or "ssl syscall" in low or "connection reset" in low or "eof detected" in low
                or "sending query failed" in low)
    return isinstance(exc, psycopg.InterfaceError) and "closed" in low


def _server(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or "the local socket"
        port = f":{parts.port}" if parts.port else ""
        db = parts.path.lstrip("/")
    except ValueError:
        return "(unparsable URL)"
    return f"{host}{port}/{db}" if db else f"{host}{port}"


def _first_line(text: str, url: str) -> str:
    line = " ".join(text.strip().splitlines()[:1]) if text.strip() else "unknown error"
    line = re.sub(r"^connection failed:\s*", "", line)
    line = re.sub(r"^connection to server at [^,]+, port \d+ failed:\s*", "", line)
    # Never echo a password back, whichever way it reached the message.
    parts = urlsplit(url) if "://" in url else None
    secret = parts.password if parts is not None else None
    if secret:
        line = line.replace(secret, "***")
    return line.strip() or "unknown error"
