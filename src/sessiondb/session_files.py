"""Reading Claude Code session files directly, without a database.

These are the original's ``SessionReader`` and the C ABI's file functions
(``session_db_list_file_projects``, ``..._list_session_metas``,
``..._find_latest_session``, ``..._read_session_messages``, ``..._get_session_path``,
``..._get_encoded_dir_name``, ``..._compute_session_path``, ``..._parse_jsonl``).
``projects_path=None`` means the default Claude projects root (``$CLAUDE_PROJECTS_PATH``,
``$CLAUDE_CONFIG_DIR/projects``, else ``~/.claude/projects``).

Every function streams: files are read line by line, paging keeps only the page in
memory, and nothing loads a whole large file to look at part of it. Messages are
parsed exactly as the collector parses them (:mod:`sessiondb.sources.claude`).
"""

from __future__ import annotations

# Loaded on first use: finish importing typing before defining dataclasses (see sessiondb._startup).
import typing  # noqa: F401

import collections
import os
import stat as stat_module
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidArgument, NotFoundError
from .models import MessageType
from .sources import claude
from .sources.base import LineParser
from .sources.jsonl import LineReader, file_kind
from .sources.records import MessageRecord, SourceUnit, project_name_of
from .sources.roots import is_dir
from .timeutil import now_ms

# Lines read from the top of a session file when looking for its cwd.
_CWD_LINES = 10
# Lines that may hold the last user or assistant message, kept while a file is read.
_TAIL_CANDIDATES = 32
PREVIEW_CHARS = 100
# Records before a file's first timed record held back while waiting for its time.
_MAX_WAITING = 64
_SUFFIX = claude.EXTENSION


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    encoded_name: str
    path: str
    name: str
    session_count: int
    last_active: int | None


@dataclass(frozen=True, slots=True)
class SessionMeta:
    id: str
    project_path: str
    project_name: str | None
    encoded_dir_name: str | None
    session_path: str | None
    file_mtime: int | None
    message_count: int | None
    # The last user or assistant message (with ``last_message=True``): "user" or
    # "assistant", a one-line plain-text preview, its time in ms.
    last_message_type: str | None = None
    last_message_preview: str | None = None
    last_message_at: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    uuid: str
    session_id: str
    type: MessageType
    content: str
    timestamp: int | None


@dataclass(frozen=True, slots=True)
class MessagesPage:
    messages: list[ParsedMessage]
    total: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class IndexableMessage:
    uuid: str
    role: str
    content: str
    timestamp: int
    sequence: int


@dataclass(frozen=True, slots=True)
class IndexableSession:
    session_id: str
    project_path: str
    project_name: str
    messages: list[IndexableMessage]


# --------------------------------------------------------------------------- paths
def default_projects_path() -> str:
    """The Claude projects root used when none is given (the first that exists)."""
    roots = claude.SOURCE.resolve_roots()
    for root in roots:
        if root.is_dir():
            return str(root)
    return str(roots[0])


def _root(projects_path: str | os.PathLike[str] | None) -> Path:
    if projects_path is None:
        return Path(default_projects_path())
    text = os.fspath(projects_path)
    if not text or "\x00" in text:
        raise InvalidArgument("projects_path must be a non-empty path without NUL characters")
    return Path(text).expanduser()


def encode_project_path(path: str) -> str:
    """Claude Code's directory name for a project path: every UTF-16 unit outside
    ``[A-Za-z0-9]`` becomes ``-``; past 200 units the name is cut and a hash appended.
    The mapping is lossy (``/a-b`` and ``/a/b`` give the same name), so it is never decoded."""
    units = path.encode("utf-16-le", "surrogatepass")
    codes = [int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2)]
    encoded = "".join(chr(c) if c < 128 and chr(c).isalnum() else "-" for c in codes)
    if len(encoded) <= 200:
        return encoded
    value = 0
    for code in codes:
        value = ((value << 5) - value + code) & 0xFFFFFFFF
    if value >= 1 << 31:
        value -= 1 << 32
    return f"{encoded[:200]}-{_base36(abs(value))}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def _component(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{name} must be a non-empty string")
    if value in (".", "..") or "/" in value or "\\" in value or "\x00" in value:
        raise InvalidArgument(f"{name} must be a single path component, not {value!r}")
    return value


def compute_session_path(projects_path: str | os.PathLike[str] | None, encoded_dir_name: str,
                         session_id: str) -> str:
    """``<projects_path>/<encoded_dir_name>/<session_id>.jsonl``; names that would leave
    the projects directory (``..``, ``/``, absolute paths) raise :class:`InvalidArgument`."""
    root = _root(projects_path)
    return str(root / _component("encoded_dir_name", encoded_dir_name) / f"{_component('session_id', session_id)}"
               f"{_SUFFIX}")


def get_session_path(projects_path: str | os.PathLike[str] | None, session_id: str) -> str | None:
    """The file of a session id: the first ``<project>/<id>.jsonl`` (subagent
    transcripts ``agent-*`` also under ``<session>/subagents/``); None if not found."""
    try:
        session_id = _component("session_id", session_id)
    except InvalidArgument:
        return None
    root = _root(projects_path)
    for project in _project_dirs(root):
        candidate = project / f"{session_id}{_SUFFIX}"
        if candidate.is_file():
            return str(candidate)
    if session_id.startswith("agent-"):
        for project in _project_dirs(root):
            for candidate in sorted(project.glob(f"*/subagents/{session_id}{_SUFFIX}")):
                if candidate.is_file():
                    return str(candidate)
    return None


def get_encoded_dir_name(projects_path: str | os.PathLike[str] | None, project_path: str) -> str | None:
    """The directory of a project path: its encoded name when that directory holds the
    project (checked against the cwd its sessions record), else the directory whose
    sessions record ``project_path``; None if there is none."""
    root = _root(projects_path)
    guess = encode_project_path(project_path)
    if (root / guess).is_dir() and _project_path_of(root / guess) in (project_path, guess):
        return guess
    found = None
    for info in list_file_projects(root):
        if info.path == project_path:
            found = info.encoded_name
    return found


# --------------------------------------------------------------------------- listings
def _project_dirs(root: Path) -> list[Path]:
    try:
        with os.scandir(root) as entries:
            return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and is_dir(e))
    except OSError:
        return []




def _session_files(project: Path, include_agents: bool) -> Iterator[tuple[str, os.stat_result, Path]]:
    """(session id, stat, path) of the session files of one project directory."""
    try:
        with os.scandir(project) as entries:
            listing = sorted(entries, key=lambda e: e.name)
    except OSError:
        return
    for entry in listing:
        name = entry.name
        if name.endswith(_SUFFIX) and len(name) > len(_SUFFIX):
            sid = name[:-len(_SUFFIX)]
            if sid.startswith("agent-") and not include_agents:
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            if entry.is_file():
                yield sid, st, Path(entry.path)
        elif include_agents and is_dir(entry):
            for sub in sorted((Path(entry.path) / "subagents").glob(f"*{_SUFFIX}")):
                try:
                    sub_st = sub.stat()
                except OSError:
                    continue
                if stat_module.S_ISREG(sub_st.st_mode):
                    yield sub.name[:-len(_SUFFIX)], sub_st, sub


def _project_path_of(project: Path) -> str:
    for _, _, path in _session_files(project, False):
        cwd = claude.first_cwd(path, max_lines=_CWD_LINES)
        if cwd:
            return cwd
    return project.name


def list_file_projects(projects_path: str | os.PathLike[str] | None = None,
                       limit: int | None = None) -> list[ProjectInfo]:
    """Projects found in the files, most recently active first. ``limit`` None or 0: all.

    ``session_count`` excludes subagent transcripts; ``path`` is the cwd recorded in the
    first session file that has one, else the directory name."""
    root = _root(projects_path)
    projects = []
    for project in _project_dirs(root):
        count, newest, path = 0, None, None
        for _, st, file in _session_files(project, False):
            count += 1
            mtime = st.st_mtime_ns // 1_000_000
            newest = mtime if newest is None else max(newest, mtime)
            if path is None:
                path = claude.first_cwd(file, max_lines=_CWD_LINES)
        path = path or project.name
        projects.append(ProjectInfo(project.name, path, project_name_of(path) or path, count, newest))
    projects.sort(key=lambda p: (p.last_active is None, -(p.last_active or 0)))
    return projects[:limit] if limit else projects


def _meta(sid: str, st: os.stat_result, path: Path, encoded: str, last_message: bool = False) -> SessionMeta:
    """One session's meta: the cwd of its first user line and its count of non-blank lines
    (and, with ``last_message``, its last user or assistant message)."""
    cwd, lines = None, 0
    tail: collections.deque[tuple[bytes, int]] = collections.deque(maxlen=_TAIL_CANDIDATES)
    try:
        for line, end in LineReader(path):
            if not line or line.isspace():
                continue
            lines += 1
            if last_message and (b'"user"' in line or b'"assistant"' in line):
                tail.append((line, end - len(line) - 1))
            if cwd is None and b'"user"' in line and b'"cwd"' in line:
                try:
                    entry, _ = claude.DECODER.decode(line)
                    if entry.type == "user" and entry.cwd:
                        cwd = entry.cwd
                except Exception:  # noqa: BLE001 - a bad line is skipped, never fatal
                    pass
    except OSError:
        return SessionMeta(sid, "", None, encoded, str(path), st.st_mtime_ns // 1_000_000, None)
    last = _last_dialogue_message(path, st, tail) if tail else None
    return SessionMeta(sid, cwd or "", project_name_of(cwd), encoded, str(path), st.st_mtime_ns // 1_000_000, lines,
                       *(last or (None, None, None)))


def preview_of(record: MessageRecord) -> str:
    """One line of plain text: the message's words, or the tool it calls; 100 characters, then "..."."""
    text = " ".join(record.content_text.split())
    if not text and record.tool_name:
        text = f"[Tool: {record.tool_name}]"
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."


def _last_dialogue_message(path: Path, st: os.stat_result,
                           lines: collections.deque[tuple[bytes, int]]) -> tuple[str, str, int] | None:
    """(type, preview, time) of the last user or assistant message among the candidate lines."""
    unit = claude.SOURCE.stat_unit(str(path), st=st, context={"session_id": path.name[:-len(_SUFFIX)]})
    if unit is None:
        return None
    parser = claude.SOURCE.line_parser(unit)
    for line, offset in lines:
        try:
            parser.feed(line, offset)
        except Exception:  # noqa: BLE001 - a bad line is skipped, never fatal
            continue
    found = None
    for record in parser.take_messages():
        if record.type in (MessageType.USER, MessageType.ASSISTANT):
            preview = preview_of(record)
            if preview:
                found = (record.type.value, preview, record.timestamp)
    return found


def list_session_metas(projects_path: str | os.PathLike[str] | None = None, project_path: str | None = None,
                       include_agents: bool = False, last_message: bool = False) -> list[SessionMeta]:
    """Session files (subagent transcripts only with ``include_agents``), newest first,
    optionally only those whose first user line records ``project_path`` as its cwd.
    ``last_message`` also fills the ``last_message_*`` fields."""
    root = _root(projects_path)
    projects = _project_dirs(root)
    if project_path is not None and (root / encode_project_path(project_path)).is_dir():
        projects = [root / encode_project_path(project_path)]
    metas = []
    for project in projects:
        for sid, st, path in _session_files(project, include_agents):
            meta = _meta(sid, st, path, project.name, last_message)
            if project_path is None or meta.project_path == project_path:
                metas.append(meta)
    metas.sort(key=lambda m: (m.file_mtime is None, -(m.file_mtime or 0)))
    return metas


def find_latest_session(projects_path: str | os.PathLike[str] | None, project_path: str,
                        within_seconds: int | None = None, last_message: bool = False) -> SessionMeta | None:
    """The most recently modified session of a project; None if there is none, or if it
    is older than ``within_seconds`` (None or 0: no limit). Reads one file, not all."""
    root = _root(projects_path)
    guess = root / encode_project_path(project_path)
    projects = [guess] if guess.is_dir() else _project_dirs(root)
    candidates = [(st.st_mtime_ns, sid, st, path, project) for project in projects
                  for sid, st, path in _session_files(project, False)]
    candidates.sort(key=lambda c: -c[0])
    for _, sid, st, path, project in candidates:
        if claude.first_cwd(path, user_only=True, max_lines=1_000_000) != project_path:
            continue
        meta = _meta(sid, st, path, project.name, last_message)
        if within_seconds and meta.file_mtime and now_ms() - meta.file_mtime > within_seconds * 1000:
            return None
        return meta
    return None


# --------------------------------------------------------------------------- messages
def _parse_stream(session_path: str | os.PathLike[str]) -> tuple[LineParser, Iterator[MessageRecord]]:
    path = os.fspath(session_path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise NotFoundError(f"session file not found: {path}") from exc
    if not stat_module.S_ISREG(st.st_mode):
        # /dev/zero or a FIFO would stream forever or block the host: refuse at once.
        raise InvalidArgument(f"{path} is not a session file: it is {file_kind(st.st_mode)}")
    source = claude.SOURCE
    unit = source.stat_unit(path, st=st, context={
        "session_id": Path(path).name[:-len(_SUFFIX)] if path.endswith(_SUFFIX) else Path(path).stem})
    if unit is None:
        raise NotFoundError(f"not a regular file: {path}")
    parser = source.line_parser(unit)

    def records() -> Iterator[MessageRecord]:
        reader = LineReader(path)
        ahead: int | None = None
        for line, end in reader:
            _feed(parser, line, end - len(line) - 1)
            if parser.messages and not parser.waiting:
                yield from parser.take_messages()
            elif len(parser.messages) >= _MAX_WAITING:
                # Records before the first timed one wait for its time; past a bound they
                # take it from a look ahead (the file's mtime if no time comes), in bounded memory.
                if ahead is None:
                    ahead = _first_time(unit, end)
                parser.settle(ahead)
                parser.timeline.pending.clear()   # nothing stored to correct later
                yield from parser.take_messages()
        if reader.tail.strip():
            _feed(parser, reader.tail, reader.tail_offset)
        yield from parser.take_messages()

    return parser, records()


def _feed(parser: LineParser, line: bytes, offset: int) -> None:
    try:
        parser.feed(line, offset)
    except Exception as exc:   # noqa: BLE001 - a line that cannot be parsed is one bad line
        parser.issues.bad(f"line at byte {offset}", f"cannot parse: {type(exc).__name__}: {exc}")


def _first_time(unit: SourceUnit, start: int) -> int:
    """The time of the first timed record from byte ``start`` on (the file's mtime if none)."""
    probe = claude.SOURCE.line_parser(unit)
    reader = LineReader(unit.path, start, block_size=1 << 16)
    for line, end in reader:
        _feed(probe, line, end - len(line) - 1)
        if probe.timeline.latest is not None:
            return probe.timeline.latest
        probe.messages.clear()
        probe.timeline.waiting.clear()
    if reader.tail.strip():
        _feed(probe, reader.tail, reader.tail_offset)
    latest = probe.timeline.latest
    return latest if latest is not None else unit.mtime_ns // 1_000_000


def read_session_messages(session_path: str | os.PathLike[str], limit: int | None = None, offset: int = 0,
                          order_asc: bool = True) -> MessagesPage:
    """A page of a session file's messages. ``limit`` None or 0: all. A missing file
    gives an empty page. Only the page is kept in memory while the file is streamed."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidArgument("limit and offset must not be negative")
    try:
        parser, records = _parse_stream(session_path)
    except NotFoundError:
        return MessagesPage([], 0, False)
    sid = parser.session_id
    total = 0
    if order_asc:
        page: list[MessageRecord] = []
        for record in records:
            if total >= offset and (not limit or len(page) < limit):
                page.append(record)
            total += 1
        chosen = page
    else:
        keep = offset + limit if limit else None
        window: collections.deque[MessageRecord] = collections.deque(maxlen=keep)
        for record in records:
            window.append(record)
            total += 1
        newest_first = list(reversed(window))
        chosen = newest_first[offset:offset + limit] if limit else newest_first[offset:]
    messages = [ParsedMessage(r.uuid, sid, r.type, r.content_full, r.timestamp) for r in chosen]
    return MessagesPage(messages, total, offset + len(messages) < total)


def parse_jsonl(path: str | os.PathLike[str]) -> IndexableSession | None:
    """One session file as an indexable session (all its messages, in file order).

    None when the file records no cwd or has no message; :class:`NotFoundError` when it
    does not exist."""
    parser, records = _parse_stream(path)
    messages = [IndexableMessage(r.uuid, r.type.value, r.content_full, r.timestamp, r.sequence) for r in records]
    if parser.cwd is None or not messages:
        return None
    return IndexableSession(parser.session_id, parser.cwd, project_name_of(parser.cwd) or parser.cwd, messages)
