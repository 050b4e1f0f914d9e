"""What every subcommand shares: exit codes, user errors, opening the database, options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import cast

from ..archive import is_remote, open_archive
from ..config import DbConfig
from ..db import SessionDB
from ..errors import ConfigError

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_DATABASE = 0, 1, 2, 3


def _source_names() -> list[str]:
    from ..sources import ALL_SOURCES

    return list(ALL_SOURCES)


SOURCES = _source_names()


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


def open_db(args: argparse.Namespace, *, write: bool = False, create: bool = False,
            remote: bool = False) -> SessionDB:
    """Open the database; only collecting commands create it, and reading ones never
    take the write lock. ``remote``: the command also reads a PostgreSQL mirror."""
    if is_remote(getattr(args, "db", None)):
        if write:
            raise UserError("a PostgreSQL mirror is written only by `sessiondb sync --to URL`",
                            "collect into a local database (--db PATH), then sync it")
        if not remote:
            raise UserError(f"`sessiondb {args.command}` works on a local database file, not on a mirror",
                            "search, projects, sessions and show read a mirror; pass --db PATH here")
        # A mirror has the read methods of SessionDB that the commands passing ``remote`` use.
        return cast(SessionDB, open_archive(args.db))
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


def write_problem(path: str | Path) -> str | None:
    """Why the database at ``path`` cannot be written, or None when it can (as far as the
    file system says: a lock held by another program is not a problem here)."""
    import os

    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        return None
    if path.exists() and not os.access(path, os.W_OK):
        return "you have no write permission on the file"
    if directory.exists() and not os.access(directory, os.W_OK | os.X_OK):
        return (f"you have no write permission on its folder {directory} (SQLite creates {path.name}-wal "
                "and -shm there)")
    return None


SQLITE_MAGIC = b"SQLite format 3\x00"


def not_a_database(path: str | Path) -> bool:
    """True for an existing, non-empty file that is not an SQLite database."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError:
        return False
    return bool(head) and head != SQLITE_MAGIC


def explain_database_error(args: argparse.Namespace, exc: Exception) -> tuple[str, str]:
    """The one line and hint for a database error, with a hint that leads somewhere (never
    back to the command that just failed)."""
    try:
        path = db_config(args, read_only=True).path
    except UserError:
        return str(exc), "pass a file path with --db PATH"
    command = getattr(args, "command", "")
    if not_a_database(path):
        return (f"{path} is not a sessiondb database (SQLite says: {exc})",
                "check the path given with --db or $CLAUDE_SESSION_DB_URL; to build a new database there, "
                "move the file away and run `sessiondb collect`")
    problem = write_problem(path)
    if problem is not None:
        if command in ("collect", "watch", "demo"):
            return (f"{path} is read-only, so {command} cannot write it: {problem}",
                    "collect into a database you can write: --db PATH")
        return (f"{path} cannot be opened for reading: {problem}, and SQLite needs to create "
                f"{Path(path).name}-shm beside a WAL database",
                f"copy it somewhere you can write (cp {path} /tmp/) and pass --db with the copy")
    if command == "doctor":
        return (str(exc), "restore the file from a backup, or move it away and run `sessiondb collect` to build "
                          "it again from the session files")
    return str(exc), "check the file with `sessiondb doctor`"


def resolve_project(db: SessionDB, text: str) -> int:
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
    raise UserError(f"no project matches {text!r}", "list projects with `sessiondb projects`", EXIT_NOTHING)


def resolve_session(db: SessionDB, text: str) -> str:
    if db.session_exists(text):
        return text
    # A mirror may hold one session under several machines' names: one id is one session here.
    found = sorted({s.session_id for s in db.search_sessions_by_prefix(text, 20)})
    if not found:
        raise UserError(f"no session matches {text!r}", "list sessions with `sessiondb sessions`", EXIT_NOTHING)
    if len(found) > 1:
        raise UserError(f"{text!r} matches several sessions ({found[0]}, {found[1]}, ...)",
                        "type more of the session id")
    return found[0]


def db_argument(args: argparse.Namespace) -> str:
    """`` --db PATH`` when the user gave one, so printed commands work when pasted."""
    import shlex

    return f" --db {shlex.quote(without_password(args.db))}" if getattr(args, "db", None) else ""


def without_password(target: str) -> str:
    """A database path or URL fit to print: a URL's password is left out (``user@host``)."""
    scheme, sep, rest = target.partition("://")
    if not sep or "@" not in rest:
        return target
    credentials, _, location = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + '@' if user else ''}{location}"


def short_id(session_id: str, length: int = 8) -> str:
    """The first characters of a session id (whole ids of other shapes stay whole)."""
    return session_id[:length] if len(session_id) > length + 4 else session_id


def unique_prefix(db: SessionDB, session_id: str, length: int = 8) -> str:
    """The shortest prefix of at least ``length`` characters that names only this session."""
    while length < len(session_id):
        found = db.search_sessions_by_prefix(session_id[:length], 2)
        if len(found) <= 1:
            return session_id[:length]
        length += 4
    return session_id
