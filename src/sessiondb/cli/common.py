"""What every subcommand shares: exit codes, user errors, opening the database, options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal, overload

from ..archive import is_remote, open_archive
from ..config import DbConfig
from ..db import SessionDB
from ..errors import ConfigError

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_DATABASE = 0, 1, 2, 3

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Protocol

    from ..models import Message, MessageType, Project, ProjectWithStats, SearchOrder, SearchResult, Session

    class SessionReader(Protocol):
        """What the reading commands use: a ``SessionDB``, or a PostgreSQL mirror (``RemoteArchive``),
        which has the same read methods (and a ``machine=`` filter on some)."""

        @property
        def path(self) -> str: ...

        def __enter__(self) -> SessionReader: ...

        def __exit__(self, *exc_info: object) -> None: ...

        def get_project(self, project_id: int) -> Project | None: ...

        def get_project_by_path(self, path: str) -> Project | None: ...

        def list_projects(self) -> list[Project]: ...

        def list_projects_with_stats(self, limit: int | None = 100, offset: int = 0) -> list[ProjectWithStats]: ...

        def get_session(self, session_id: str) -> Session | None: ...

        def get_sessions(self, project_id: int | None = None, limit: int | None = 100) -> list[Session]: ...

        def session_exists(self, session_id: str) -> bool: ...

        def search_sessions_by_prefix(self, prefix: str, limit: int | None = 20) -> list[Session]: ...

        def list_messages(self, session_id: str, limit: int | None = None, offset: int = 0) -> list[Message]: ...

        def search(self, query: str, *, limit: int = 20, offset: int = 0, project_id: int | None = None,
                   source: str | None = None, role: MessageType | str | None = None,
                   since: int | datetime | None = None, until: int | datetime | None = None,
                   session_prefix: str | None = None, order: SearchOrder = ...,
                   highlight: tuple[str, str] = ...) -> list[SearchResult]: ...


class UserError(Exception):
    """A mistake the user can fix: printed as one line with a hint."""

    def __init__(self, message: str, hint: str | None = None, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message, self.hint, self.code = message, hint, code


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH",
                        help="database file (default: $CLAUDE_SESSION_DB_URL or ~/.vimo/db/ai-cli-session.db); "
                             "reading commands also take a mirror, postgresql://USER@HOST/DB")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def db_config(args: argparse.Namespace, *, read_only: bool) -> DbConfig:
    try:
        if getattr(args, "db", None):
            return DbConfig.local(args.db, read_only=read_only)
        return DbConfig.from_env(read_only=read_only)
    except ConfigError as exc:
        raise UserError(str(exc), "pass a file path with --db PATH") from exc


@overload
def open_db(args: argparse.Namespace, *, write: bool = False, create: bool = False,
            remote: Literal[False] = False) -> SessionDB: ...


@overload
def open_db(args: argparse.Namespace, *, write: bool = False, create: bool = False,
            remote: Literal[True]) -> SessionReader: ...


def open_db(args: argparse.Namespace, *, write: bool = False, create: bool = False,
            remote: bool = False) -> SessionDB | SessionReader:
    """Open the database; only collecting commands create it, and reading ones never
    take the write lock. ``remote``: the command also reads a PostgreSQL mirror."""
    if is_remote(getattr(args, "db", None)):
        if write:
            raise UserError("a PostgreSQL mirror is written only by `sessiondb sync --to URL`",
                            "collect into a local database (--db PATH), then sync it")
        if not remote:
            raise UserError(f"`sessiondb {args.command}` works on a local database file, not on a mirror",
                            "search, projects, sessions and show read a mirror; pass --db PATH here")
        archive: SessionReader = open_archive(args.db)
        return archive
    config = db_config(args, read_only=not write)
    path = Path(config.path)
    exists = path.is_file()
    if not create and not exists:
        raise UserError(f"no database at {config.path}",
                        "run `sessiondb collect` to build it, `sessiondb demo` to try a sample, or pass --db PATH",
                        EXIT_DATABASE)
    if not exists and getattr(args, "db", None) and not path.parent.is_dir():
        # Only the default location gets its folders made: a typo in --db must not
        # quietly start a new, empty database somewhere.
        raise UserError(f"the folder of {path} does not exist", "create it first, or check the --db path",
                        EXIT_DATABASE)
    db = SessionDB.connect(config)
    if not exists:
        import sys
        print(f"created a new database at {path}", file=sys.stderr)
    return db


def resolve_project(db: SessionReader, text: str) -> int:
    """A project given as id, path, name or part of its path."""
    if text.isdigit() and db.get_project(int(text)):
        return int(text)
    exact = db.get_project_by_path(text)
    if exact:
        return exact.id
    projects = db.list_projects()
    for candidates in ([p for p in projects if p.name == text],
                       [p for p in projects if p.name.lower() == text.lower()],
                       [p for p in projects if text.lower() in p.path.lower()]):
        if len(candidates) == 1:
            return candidates[0].id
        if len(candidates) > 1:
            names = ", ".join(p.path for p in candidates[:5])
            raise UserError(f"{text!r} matches {len(candidates)} projects ({names}...)",
                            "give more of the path, or the project id from `sessiondb projects`")
    raise UserError(f"no project matches {text!r}", "list them with `sessiondb projects`", EXIT_NOTHING)


def resolve_session(db: SessionReader, text: str) -> str:
    if db.session_exists(text):
        return text
    found = db.search_sessions_by_prefix(text, 2)
    if not found:
        raise UserError(f"no session matches {text!r}", "list sessions with `sessiondb sessions`", EXIT_NOTHING)
    if len(found) > 1:
        raise UserError(f"{text!r} matches several sessions ({found[0].session_id}, {found[1].session_id}, ...)",
                        "type more of the session id")
    return found[0].session_id
