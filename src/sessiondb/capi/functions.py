"""Python side of libsessiondb's C ABI (``include/sessiondb.h``).

Loaded only by the library's embedded interpreter, which calls :func:`install` once
at start-up: every function of the header that the C glue does not implement itself
is attached here as cffi's ``extern "Python"`` ``_py_<name>``. Each one checks its
arguments, calls the Python API once (``SessionDB``, ``sessiondb.coordination``,
``sessiondb.collector``, ``sessiondb.session_files``), and converts the outcome; no logic
of the product lives here. Exceptions become a status code plus the calling thread's
last-error message (``session_db_last_error``); nothing propagates into the host.
"""

from __future__ import annotations

import os
from collections.abc import Callable
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

from .. import __version__
from .agent import AgentFunctions
from .coordination import CoordinationFunctions
from .files import FileFunctions
from .upstream import UpstreamFunctions
from .usage import UsageFunctions
from .support import (CHECKPOINT_MODES, EXPORTS, SUCCESS, UNKNOWN, HandleState, NullArgument, OutOfRange,
                      approval_status, error_code, error_message, export, message_type, optional_ms, row_limit,
                      search_limit, search_order)
from ..config import CoordinationConfig, DbConfig
from ..errors import InvalidArgument
from ..db import SessionDB
from ..models import MessageInput
from ..search.snippet import DEFAULT_HIGHLIGHT, DEFAULT_SNIPPET_CHARS


class CApi(CoordinationFunctions, FileFunctions, UpstreamFunctions, AgentFunctions, UsageFunctions):
    """One method per Python-implemented C function, named like it without the prefix."""

    # ------------------------------------------------------------ helpers
    def open(self, path: Any, out_handle: Any, read_only: bool = False,
             coordination: CoordinationConfig | None = None) -> int:
        out = self.m.need(out_handle, "out_handle")
        text = self.m.optional_text(path, "path")
        location = DbConfig.from_env().path if text is None else text
        config = DbConfig.local(location, read_only=read_only, coordination=coordination)
        with self.handles.open_lock:
            db = SessionDB.connect(config)
        out[0] = self.ffi.cast("SessionDbHandle *", self.handles.add(db))
        return SUCCESS

    def search_results(self, hits: list[Any]) -> Any:
        string = self.m.string

        def fill(c: Any, hit: Any) -> None:
            c.message_id = hit.message_id
            c.session_id = string(hit.session_id)
            c.project_id = hit.project_id
            c.project_name = string(hit.project_name)
            c.role = string(hit.type)
            c.content = string(hit.content_full)
            c.snippet = string(hit.snippet)
            c.score = hit.score
            c.timestamp = -1 if hit.timestamp is None else hit.timestamp
        return self.m.array("SearchResultArray", "SearchResultC", hits, fill, self.lib.session_db_free_search_results)

    def search_into(self, handle: Any, query: Any, out_array: Any, limit: int, **options: Any) -> int:
        state = self.state(handle)
        self.m.need(query, "query")
        out = self.m.need(out_array, "out_array")
        text = self.m.text(query, "query")
        hits = state.db.search(text, limit=search_limit(limit), **options)
        out[0] = self.search_results(hits)
        return SUCCESS

    def shutdown(self, state: HandleState) -> None:
        """Stop the coordinator, give up the writer role, close the connection."""
        db = state.db
        try:
            with state.lock:
                if state.coordinator is not None and state.running:
                    state.coordinator.stop(release=True)
                    state.running = False
                if getattr(db, "is_writer", False):
                    db.release_writer()
        finally:
            db.close()
            state.notify()

    # ------------------------------------------------------------ connection
    @export("status")
    def connect(self, path: Any, out_handle: Any) -> int:
        return self.open(path, out_handle)

    @export("status")
    def connect_with_options(self, path: Any, read_only: bool, heartbeat_interval_ms: int, timeout_ms: int,
                             confirm_count: int, out_handle: Any) -> int:
        defaults = CoordinationConfig()
        coordination = CoordinationConfig(heartbeat_interval_ms or defaults.heartbeat_interval_ms,
                                          timeout_ms or defaults.timeout_ms, confirm_count or defaults.confirm_count)
        return self.open(path, out_handle, bool(read_only), coordination)

    @export("void")
    def close(self, handle: Any) -> None:
        state = self.handles.pop(self.m.handle_id(handle)) if handle else None
        if handle and state is None:
            raise NullArgument("the handle is not open (already closed, or not from session_db_connect)")
        if state is not None:
            self.shutdown(state)

    # ------------------------------------------------------------ data
    @export("status")
    def get_stats(self, handle: Any, out_projects: Any, out_sessions: Any, out_messages: Any) -> int:
        stats = self.state(handle).db.get_stats()
        for pointer, value in ((out_projects, stats.project_count), (out_sessions, stats.session_count),
                               (out_messages, stats.message_count)):
            if pointer:
                pointer[0] = value
        return SUCCESS

    @export("status")
    def upsert_project(self, handle: Any, name: Any, path: Any, source: Any, out_id: Any) -> int:
        state = self.state(handle)
        for pointer, label in ((name, "name"), (path, "path"), (source, "source"), (out_id, "out_id")):
            self.m.need(pointer, label)
        project_id = state.db.get_or_create_project(self.m.text(name, "name"), self.m.text(path, "path"),
                                                    self.m.text(source, "source"))
        out_id[0] = project_id
        return SUCCESS

    @export("status")
    def list_projects(self, handle: Any, out_array: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_array, "out_array")
        string = self.m.string

        def fill(c: Any, p: Any) -> None:
            c.id = p.id
            c.name = string(p.name)
            c.path = string(p.path)
            c.source = string(p.source)
            c.created_at = p.created_at
            c.updated_at = p.updated_at
        out[0] = self.m.array("ProjectArray", "Project", state.db.list_projects(), fill,
                              self.lib.session_db_free_projects)
        return SUCCESS

    @export("status")
    def upsert_session(self, handle: Any, session_id: Any, project_id: int) -> int:
        state = self.state(handle)
        state.db.upsert_session(self.m.text(session_id, "session_id"), project_id)
        return SUCCESS

    @export("status")
    def list_sessions(self, handle: Any, project_id: int, out_array: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_array, "out_array")
        string = self.m.string

        def fill(c: Any, s: Any) -> None:
            c.id = s.id
            c.session_id = string(s.session_id)
            c.project_id = s.project_id
            c.message_count = s.message_count
            c.last_message_at = -1 if s.last_message_at is None else s.last_message_at
            c.created_at = s.created_at
            c.updated_at = s.updated_at
        out[0] = self.m.array("SessionArray", "Session", state.db.list_sessions(project_id), fill,
                              self.lib.session_db_free_sessions)
        return SUCCESS

    @export("status")
    def get_scan_checkpoint(self, handle: Any, session_id: Any, out_timestamp: Any) -> int:
        state = self.state(handle)
        self.m.need(session_id, "session_id")
        out = self.m.need(out_timestamp, "out_timestamp")
        checkpoint = state.db.get_scan_checkpoint(self.m.text(session_id, "session_id"))
        out[0] = -1 if checkpoint is None else checkpoint
        return SUCCESS

    @export("status")
    def update_session_last_message(self, handle: Any, session_id: Any, timestamp: int) -> int:
        state = self.state(handle)
        state.db.update_session_last_message(self.m.text(session_id, "session_id"), timestamp)
        return SUCCESS

    @export("status")
    def insert_messages(self, handle: Any, session_id: Any, messages: Any, message_count: int,
                        out_inserted: Any) -> int:
        state = self.state(handle)
        self.m.need(session_id, "session_id")
        self.m.need(messages, "messages")
        sid = self.m.text(session_id, "session_id")
        batch = []
        for i in range(message_count):  # the whole batch is checked before anything is written
            c = messages[i]
            content = self.m.text(c.content, f"messages[{i}].content")
            batch.append(MessageInput(uuid=self.m.text(c.uuid, f"messages[{i}].uuid"),
                                      type=message_type(c.role, f"messages[{i}].role"),
                                      content_text=content, content_full=content,
                                      timestamp=c.timestamp, sequence=c.sequence))
        inserted = state.db.insert_messages(sid, batch)
        if out_inserted:
            out_inserted[0] = inserted
        return SUCCESS

    @export("status")
    def list_messages(self, handle: Any, session_id: Any, limit: int, offset: int, out_array: Any) -> int:
        state = self.state(handle)
        self.m.need(session_id, "session_id")
        out = self.m.need(out_array, "out_array")
        rows = state.db.list_messages(self.m.text(session_id, "session_id"), limit=row_limit(limit),
                                      offset=min(offset, 2 ** 62))
        string = self.m.string

        def fill(c: Any, m: Any) -> None:
            c.id = m.id
            c.session_id = string(m.session_id)
            c.uuid = string(m.uuid)
            c.role = m.type.code
            c.content = string(m.content_full)
            c.timestamp = m.timestamp
            c.sequence = m.sequence
            c.raw = string(m.raw)
        out[0] = self.m.array("MessageArray", "MessageC", rows, fill, self.lib.session_db_free_messages)
        return SUCCESS

    @export("status")
    def update_approval_status_by_tool_call_id(self, handle: Any, tool_call_id: Any, status: int,
                                               resolved_at: int, out_updated: Any) -> int:
        state = self.state(handle)
        self.m.need(tool_call_id, "tool_call_id")
        call_id = self.m.text(tool_call_id, "tool_call_id")
        updated = state.db.update_approval_status_by_tool_call_id(call_id, approval_status(status), resolved_at)
        if out_updated:
            out_updated[0] = updated
        return SUCCESS

    @export("status")
    def checkpoint(self, handle: Any, mode: int, out_wal_frames: Any, out_checkpointed_frames: Any) -> int:
        state = self.state(handle)
        if not 0 <= mode < len(CHECKPOINT_MODES):
            raise OutOfRange(f"mode {mode} is not a checkpoint mode (0 PASSIVE .. 3 TRUNCATE)")
        _busy, frames, copied = state.db.checkpoint(CHECKPOINT_MODES[mode])
        if out_wal_frames:
            out_wal_frames[0] = frames
        if out_checkpointed_frames:
            out_checkpointed_frames[0] = copied
        return SUCCESS

    @export("status")
    def integrity_check(self, handle: Any, quick: bool, out_ok: Any, out_report: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_ok, "out_ok")
        result = state.db.quick_check() if quick else state.db.integrity_check()
        if out_report:
            out_report[0] = self.m.string(result.message)
        out[0] = bool(result.ok)
        return SUCCESS

    # ------------------------------------------------------------ search
    @export("status")
    def search_fts(self, handle: Any, query: Any, limit: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit)

    @export("status")
    def search_fts_with_project(self, handle: Any, query: Any, limit: int, project_id: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id))

    @export("status")
    def search_fts_with_options(self, handle: Any, query: Any, limit: int, project_id: int, order_by: int,
                                out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id),
                                order=search_order(order_by))

    @export("status")
    def search_fts_full(self, handle: Any, query: Any, limit: int, project_id: int, order_by: int,
                        start_timestamp: int, end_timestamp: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id),
                                order=search_order(order_by), since=optional_ms(start_timestamp),
                                until=optional_ms(end_timestamp))

    @export("status")
    def search(self, handle: Any, options: Any, out_array: Any) -> int:
        self.state(handle)
        o = self.m.need(options, "options")
        if o.role < -1:
            raise OutOfRange(f"options.role {o.role} is not a message role (-1 any, 0..3)")
        role = None if o.role == -1 else message_type(o.role, "options.role")
        opening = self.m.optional_text(o.highlight_open, "options.highlight_open")
        closing = self.m.optional_text(o.highlight_close, "options.highlight_close")
        return self.search_into(
            handle, o.query, out_array, o.limit, offset=min(o.offset, 2 ** 31),
            project_id=optional_ms(o.project_id), source=self.m.optional_text(o.source, "options.source"),
            role=role, order=search_order(o.order_by), since=optional_ms(o.start_timestamp),
            until=optional_ms(o.end_timestamp),
            session_prefix=self.m.optional_text(o.session_prefix, "options.session_prefix"),
            highlight=(DEFAULT_HIGHLIGHT[0] if opening is None else opening,
                       DEFAULT_HIGHLIGHT[1] if closing is None else closing),
            snippet_chars=o.snippet_chars or DEFAULT_SNIPPET_CHARS)


# ---------------------------------------------------------------- installation
def _guard(api: "CApi", c_name: str, name: str, kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The function to attach for a method, and cffi's ``onerror`` for it: any exception
    becomes a status (or NULL, false) and a last-error message."""
    method = getattr(api, name)
    set_error = api.lib._sdb_set_error
    set_sqlite_code = api.lib._sdb_set_sqlite_code

    def fail(exc: BaseException) -> int:
        code = error_code(exc)
        try:
            set_error(code, error_message(c_name, exc).encode("utf-8", "replace"))
            sqlite_code = getattr(exc, "sqlite_code", None)
            if sqlite_code:
                set_sqlite_code(sqlite_code)
        except BaseException:  # never let reporting fail the host call
            pass
        return code

    def on_error(exc_type: type, exc: BaseException, traceback: Any) -> int:
        # Raised by the method itself (status functions run unwrapped: what onerror
        # returns is their result), or by cffi converting a result.
        return fail(exc)

    call: Callable[..., Any]
    if kind == "status":
        return method, on_error  # the hot path: no wrapper frame
    if kind == "pointer":
        null = api.ffi.NULL

        def pointer(*args: Any) -> Any:
            try:
                return method(*args)
            except BaseException as exc:
                fail(exc)
                return null
        call = pointer
    elif kind == "bool":
        def boolean(*args: Any) -> bool:
            try:
                return bool(method(*args))
            except BaseException as exc:
                fail(exc)
                return False
        call = boolean
    elif kind == "void":
        def void(*args: Any) -> None:
            try:
                method(*args)
            except BaseException as exc:
                fail(exc)
        call = void
    elif kind == "struct":
        null = api.ffi.NULL

        def struct(*args: Any) -> None:
            try:
                method(*args)
            except BaseException as exc:
                out = args[-1]
                out.session = null
                out.error = fail(exc)
        call = struct
    else:  # pragma: no cover - a programming error caught at start-up
        raise InvalidArgument(f"unknown export kind {kind!r}")
    call.__name__ = f"_py_{c_name}"
    return call, on_error


def install(ffi: Any, lib: Any) -> CApi:
    """Attach every Python-implemented function of the header; refuse a mismatched build."""
    built = ffi.string(lib._sdb_built_version()).decode()
    if built != __version__:
        raise ImportError(f"libsessiondb {built} does not match the sessiondb package {__version__}; "
                          "rebuild the library (pip install .)")
    expected = {name[len("_py_"):] for name in dir(lib) if name.startswith("_py_")}
    if expected != set(EXPORTS):
        raise ImportError("the C header and sessiondb.capi disagree: missing in Python "
                          f"{sorted(expected - set(EXPORTS))}, not in the header {sorted(set(EXPORTS) - expected)}")
    api = CApi(ffi, lib)
    # Run by PyOS_BeforeFork / PyOS_AfterFork_* (the library's pthread_atfork handlers,
    # or os.fork() in a Python host).
    os.register_at_fork(before=api.handles.hold_for_fork, after_in_parent=api.handles.release_after_fork,
                        after_in_child=api.handles.release_after_fork)
    os.register_at_fork(before=api.agents.hold_for_fork, after_in_parent=api.agents.release_after_fork,
                        after_in_child=api.agents.release_after_fork)

    for c_name, (name, kind) in EXPORTS.items():
        call, on_error = _guard(api, c_name, name, kind)
        error = {"status": UNKNOWN, "bool": False}.get(kind)
        options: dict[str, Any] = {"name": f"_py_{c_name}", "onerror": on_error}
        if error is not None:
            options["error"] = error
        ffi.def_extern(**options)(call)
    return api


__all__ = ["CApi", "install"]
