"""Python side of libsessiondb's C ABI (``include/sessiondb.h``).

Loaded only by the library's embedded interpreter, which calls :func:`install` once
at start-up: every function of the header that the C glue does not implement itself
is attached here as cffi's ``extern "Python"`` ``_py_<name>``. Each one checks its
arguments, calls the Python API once (``SessionDB``, ``sessiondb.coordination``,
``sessiondb.collector``, ``sessiondb.reader``), and converts the outcome; no logic
of the product lives here. Exceptions become a status code plus the calling thread's
last-error message (``session_db_last_error``); nothing propagates into the host.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from collections.abc import Callable
from typing import Any

from . import __version__
from ._capi_support import (CHECKPOINT_MODES, COORDINATION_ERROR, NULL_POINTER, SUCCESS, UNKNOWN, CallError,
                            HandleState, HandleTable, Marshal, NullArgument, OutOfRange, approval_status,
                            error_code, error_message, message_type, optional_ms, role_code, row_limit,
                            search_limit, search_order)
from .config import CoordinationConfig, DbConfig
from .db import SessionDB
from .errors import PermissionDenied
from .models import MessageInput
from .search import DEFAULT_HIGHLIGHT, DEFAULT_SNIPPET_CHARS

# name -> kind of return: "status" (enum SessionDbError), "pointer", "void", "struct"
_EXPORTS: dict[str, str] = {}


def _export(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        _EXPORTS[method.__name__] = kind
        return method
    return mark


def _module(name: str, what: str) -> Any:
    """A part of the package built in parallel with the C ABI, imported on first use."""
    try:
        return importlib.import_module(f"sessiondb.{name}")
    except ImportError as exc:
        raise CallError(f"{what} is not available in this build ({exc})", COORDINATION_ERROR
                        if name.startswith("coordinat") else UNKNOWN) from None


class CApi:
    """One method per Python-implemented C function, named like it without the prefix."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi, self.lib = ffi, lib
        self.m = Marshal(ffi, lib)
        self.handles = HandleTable()

    # ------------------------------------------------------------ helpers
    def state(self, handle: Any) -> HandleState:
        # The hot path of every call on a handle: keep it short.
        if handle:
            state = self.handles.states.get(int(self.ffi.cast(self.m.uintptr, handle)))
            if state is not None:
                return state
        return self.handles.get(self.m.handle_id(handle))  # raises the right error

    def writer_type(self, code: int) -> Any:
        if not 0 <= code <= 3:
            raise OutOfRange(f"writer_type {code} is not a writer type (0..3)")
        coordination = _module("coordination", "writer coordination")
        try:
            return coordination.WriterType.from_code(int(code))
        except (ValueError, KeyError):
            raise OutOfRange(f"writer_type {code} is not a writer type (0..3)") from None

    def open(self, path: Any, out_handle: Any, read_only: bool = False,
             coordination: CoordinationConfig | None = None) -> int:
        out = self.m.need(out_handle, "out_handle")
        text = self.m.optional_text(path, "path")
        config = DbConfig.from_env(read_only=read_only) if text is None else DbConfig.local(text, read_only=read_only)
        if coordination is not None:
            config = dataclasses.replace(config, coordination=coordination)
        with self.handles.open_lock:
            db = SessionDB.connect(config)
        out[0] = self.ffi.cast("SessionDbHandle *", self.handles.add(db))
        return SUCCESS

    def collect_result(self, result: Any) -> Any:
        out = self.m.alloc("CollectResultC")
        try:
            out.projects_scanned = result.projects_scanned
            out.sessions_scanned = result.sessions_scanned
            out.messages_inserted = result.messages_inserted
            out.error_count = result.error_count
            out.first_error = self.m.string(result.first_error)
        except BaseException:
            self.lib.session_db_free_collect_result(out)
            raise
        return out

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

    def session_meta(self, target: Any, meta: Any) -> None:
        string = self.m.string
        target.id = string(meta.id)
        target.project_path = string(meta.project_path or "")
        target.project_name = string(meta.project_name)
        target.encoded_dir_name = string(meta.encoded_dir_name)
        target.session_path = string(meta.session_path)
        target.file_mtime = -1 if meta.file_mtime is None else meta.file_mtime
        target.message_count = -1 if meta.message_count is None else meta.message_count

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
    @_export("status")
    def connect(self, path: Any, out_handle: Any) -> int:
        return self.open(path, out_handle)

    @_export("status")
    def connect_with_options(self, path: Any, read_only: bool, heartbeat_interval_ms: int, timeout_ms: int,
                             confirm_count: int, out_handle: Any) -> int:
        defaults = CoordinationConfig()
        coordination = CoordinationConfig(heartbeat_interval_ms or defaults.heartbeat_interval_ms,
                                          timeout_ms or defaults.timeout_ms, confirm_count or defaults.confirm_count)
        return self.open(path, out_handle, bool(read_only), coordination)

    @_export("void")
    def close(self, handle: Any) -> None:
        state = self.handles.pop(self.m.handle_id(handle)) if handle else None
        if handle and state is None:
            raise NullArgument("the handle is not open (already closed, or not from session_db_connect)")
        if state is not None:
            self.shutdown(state)

    # ------------------------------------------------------------ coordination
    @_export("status")
    def register_writer(self, handle: Any, writer_type: int, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        try:
            out[0] = role_code(state.db.register_writer(kind))
        finally:
            state.notify()
        return SUCCESS

    @_export("status")
    def heartbeat(self, handle: Any) -> int:
        state = self.state(handle)
        _module("coordination", "writer coordination")
        try:
            state.db.heartbeat()
        finally:
            state.notify()
        return SUCCESS

    @_export("status")
    def release_writer(self, handle: Any) -> int:
        state = self.state(handle)
        _module("coordination", "writer coordination")
        try:
            state.db.release_writer()
        finally:
            state.notify()
        return SUCCESS

    @_export("status")
    def check_writer_health(self, handle: Any, out_health: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_health, "out_health")
        _module("coordination", "writer coordination")
        out[0] = int(state.db.check_writer_health().value)
        return SUCCESS

    @_export("status")
    def try_takeover(self, handle: Any, out_taken: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_taken, "out_taken")
        _module("coordination", "writer coordination")
        try:
            out[0] = 1 if state.db.try_takeover() else 0
        finally:
            state.notify()
        return SUCCESS

    @_export("status")
    def register_writer_and_collect(self, handle: Any, writer_type: int, out_role: Any, out_result: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        _module("collector", "collection")
        try:
            role, result = state.db.register_writer_and_collect(kind)
        finally:
            state.notify()
        out[0] = role_code(role)
        if out_result:
            out_result[0] = self.collect_result(result) if result is not None else self.ffi.NULL
        return SUCCESS

    @_export("status")
    def current_role(self, handle: Any, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        out[0] = role_code(getattr(state.db, "role", None))
        return SUCCESS

    @_export("status")
    def coordinator_step(self, handle: Any, writer_type: int, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        with state.lock:
            coordinator = self._coordinator(state, kind)
            role = coordinator.step()
        out[0] = role_code(role)
        return SUCCESS

    @_export("status")
    def coordinator_start(self, handle: Any, writer_type: int, out_role: Any) -> int:
        state = self.state(handle)
        kind = self.writer_type(writer_type)
        with state.lock:
            coordinator = self._coordinator(state, kind)
            if state.running:
                role = coordinator.role
            else:
                role = coordinator.start()  # one round now (errors surface here), then the thread
                state.running = True
        if out_role:
            out_role[0] = role_code(role)
        return SUCCESS

    @_export("status")
    def coordinator_stop(self, handle: Any, release: bool) -> int:
        state = self.state(handle)
        with state.lock:
            if state.coordinator is not None and state.running:
                state.coordinator.stop(release=bool(release))
                state.running = False
            elif release and getattr(state.db, "is_writer", False):
                state.db.release_writer()
        state.notify()
        return SUCCESS

    def _coordinator(self, state: HandleState, kind: Any) -> Any:
        """The handle's coordinator for ``kind`` (a new one when the type changes)."""
        if state.coordinator is not None and state.coordinator_type == kind:
            return state.coordinator
        if state.coordinator is not None and state.running:
            state.coordinator.stop(release=False)
            state.running = False
        coordinator_class = getattr(_module("coordinator", "writer coordination"), "Coordinator", None)
        if coordinator_class is None:
            raise CallError("the coordinator loop is not available in this build", COORDINATION_ERROR)
        state.coordinator = coordinator_class(state.db, kind, on_role_change=state.notify)
        state.coordinator_type = kind
        return state.coordinator

    @_export("status")
    def wait_role_change(self, handle: Any, known_role: int, timeout_ms: int, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            role = role_code(getattr(state.db, "role", None))
            remaining = deadline - time.monotonic()
            if role != known_role or remaining <= 0 or state.db.closed:
                break
            with state.changed:
                # Also re-checked periodically: a write can discover a demotion by itself.
                state.changed.wait(min(remaining, 0.25))
        out[0] = role
        return SUCCESS

    # ------------------------------------------------------------ data
    @_export("status")
    def get_stats(self, handle: Any, out_projects: Any, out_sessions: Any, out_messages: Any) -> int:
        stats = self.state(handle).db.get_stats()
        for pointer, value in ((out_projects, stats.project_count), (out_sessions, stats.session_count),
                               (out_messages, stats.message_count)):
            if pointer:
                pointer[0] = value
        return SUCCESS

    @_export("status")
    def upsert_project(self, handle: Any, name: Any, path: Any, source: Any, out_id: Any) -> int:
        state = self.state(handle)
        for pointer, label in ((name, "name"), (path, "path"), (source, "source"), (out_id, "out_id")):
            self.m.need(pointer, label)
        project_id = state.db.get_or_create_project(self.m.text(name, "name"), self.m.text(path, "path"),
                                                    self.m.text(source, "source"))
        out_id[0] = project_id
        return SUCCESS

    @_export("status")
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

    @_export("status")
    def upsert_session(self, handle: Any, session_id: Any, project_id: int) -> int:
        state = self.state(handle)
        state.db.upsert_session(self.m.text(session_id, "session_id"), project_id)
        return SUCCESS

    @_export("status")
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

    @_export("status")
    def get_scan_checkpoint(self, handle: Any, session_id: Any, out_timestamp: Any) -> int:
        state = self.state(handle)
        self.m.need(session_id, "session_id")
        out = self.m.need(out_timestamp, "out_timestamp")
        checkpoint = state.db.get_scan_checkpoint(self.m.text(session_id, "session_id"))
        out[0] = -1 if checkpoint is None else checkpoint
        return SUCCESS

    @_export("status")
    def update_session_last_message(self, handle: Any, session_id: Any, timestamp: int) -> int:
        state = self.state(handle)
        state.db.update_session_last_message(self.m.text(session_id, "session_id"), timestamp)
        return SUCCESS

    @_export("status")
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

    @_export("status")
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

    @_export("status")
    def update_approval_status_by_tool_call_id(self, handle: Any, tool_call_id: Any, status: int,
                                               resolved_at: int, out_updated: Any) -> int:
        state = self.state(handle)
        self.m.need(tool_call_id, "tool_call_id")
        call_id = self.m.text(tool_call_id, "tool_call_id")
        updated = state.db.update_approval_status_by_tool_call_id(call_id, approval_status(status), resolved_at)
        if out_updated:
            out_updated[0] = updated
        return SUCCESS

    @_export("status")
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

    @_export("status")
    def integrity_check(self, handle: Any, quick: bool, out_ok: Any, out_report: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_ok, "out_ok")
        result = state.db.quick_check() if quick else state.db.integrity_check()
        if out_report:
            out_report[0] = self.m.string(result.message)
        out[0] = bool(result.ok)
        return SUCCESS

    # ------------------------------------------------------------ search
    @_export("status")
    def search_fts(self, handle: Any, query: Any, limit: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit)

    @_export("status")
    def search_fts_with_project(self, handle: Any, query: Any, limit: int, project_id: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id))

    @_export("status")
    def search_fts_with_options(self, handle: Any, query: Any, limit: int, project_id: int, order_by: int,
                                out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id),
                                order=search_order(order_by))

    @_export("status")
    def search_fts_full(self, handle: Any, query: Any, limit: int, project_id: int, order_by: int,
                        start_timestamp: int, end_timestamp: int, out_array: Any) -> int:
        return self.search_into(handle, query, out_array, limit, project_id=optional_ms(project_id),
                                order=search_order(order_by), since=optional_ms(start_timestamp),
                                until=optional_ms(end_timestamp))

    @_export("status")
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

    # ------------------------------------------------------------ collection
    @_export("status")
    def collect(self, handle: Any, out_result: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_result, "out_result")
        _module("collector", "collection")
        self._require_writer(state)
        out[0] = self.collect_result(state.db.collect_all())
        return SUCCESS

    @_export("status")
    def collect_by_path(self, handle: Any, path: Any, out_result: Any) -> int:
        state = self.state(handle)
        self.m.need(path, "path")
        out = self.m.need(out_result, "out_result")
        _module("collector", "collection")
        self._require_writer(state)
        out[0] = self.collect_result(state.db.collect_by_path(self.m.text(path, "path")))
        return SUCCESS

    @staticmethod
    def _require_writer(state: HandleState) -> None:
        if not getattr(state.db, "is_writer", False):
            raise PermissionDenied("only the registered writer may collect; register with "
                                   "session_db_register_writer first")

    # ------------------------------------------------------------ session files
    def reader(self) -> Any:
        return _module("reader", "reading session files")

    @_export("struct")
    def parse_jsonl(self, jsonl_path: Any, out_result: Any) -> None:
        path = self.m.text(jsonl_path, "jsonl_path")
        session = self.reader().parse_jsonl(path)
        out_result.session = self.ffi.NULL if session is None else self.indexable_session(session)
        out_result.error = SUCCESS

    def indexable_session(self, session: Any) -> Any:
        string = self.m.string
        out = self.m.alloc("IndexableSessionC")
        try:
            out.session_id = string(session.session_id)
            out.project_path = string(session.project_path)
            out.project_name = string(session.project_name)
            messages = list(session.messages)
            if messages:
                data = self.m.alloc("IndexableMessageC", len(messages))
                out.messages.data = data
                out.messages.len = len(messages)
                for i, message in enumerate(messages):
                    c = data[i]
                    c.uuid = string(message.uuid)
                    c.role = string(message.role)
                    c.content = string(message.content)
                    c.timestamp = message.timestamp
                    c.sequence = message.sequence
        except BaseException:
            self.lib.session_db_free_parse_result(out)
            raise
        return out

    @_export("pointer")
    def get_session_path(self, projects_path: Any, session_id: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        sid = self.m.text(session_id, "session_id")
        return self.m.string(self.reader().get_session_path(root, sid))

    @_export("pointer")
    def get_encoded_dir_name(self, projects_path: Any, project_path: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.text(project_path, "project_path")
        return self.m.string(self.reader().get_encoded_dir_name(root, project))

    @_export("pointer")
    def compute_session_path(self, projects_path: Any, encoded_dir_name: Any, session_id: Any) -> Any:
        root = self.m.optional_text(projects_path, "projects_path")
        encoded = self.m.text(encoded_dir_name, "encoded_dir_name")
        sid = self.m.text(session_id, "session_id")
        return self.m.string(self.reader().compute_session_path(root, encoded, sid))

    @_export("status")
    def list_file_projects(self, projects_path: Any, limit: int, out_array: Any) -> int:
        out = self.m.need(out_array, "out_array")
        root = self.m.optional_text(projects_path, "projects_path")
        projects = self.reader().list_file_projects(root, limit=limit or None)
        string = self.m.string

        def fill(c: Any, p: Any) -> None:
            c.encoded_name = string(p.encoded_name)
            c.path = string(p.path)
            c.name = string(p.name)
            c.session_count = p.session_count
            c.last_active = p.last_active or 0
        out[0] = self.m.array("ProjectInfoArray", "ProjectInfoC", projects, fill,
                              self.lib.session_db_free_project_list)
        return SUCCESS

    @_export("status")
    def list_session_metas(self, projects_path: Any, project_path: Any, out_array: Any) -> int:
        out = self.m.need(out_array, "out_array")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.optional_text(project_path, "project_path")
        metas = self.reader().list_session_metas(root, project, include_agents=False)
        out[0] = self.m.array("SessionMetaArray", "SessionMetaC", metas, self.session_meta,
                              self.lib.session_db_free_session_meta_list)
        return SUCCESS

    @_export("status")
    def find_latest_session(self, projects_path: Any, project_path: Any, within_seconds: int,
                            out_session: Any) -> int:
        self.m.need(project_path, "project_path")
        out = self.m.need(out_session, "out_session")
        root = self.m.optional_text(projects_path, "projects_path")
        project = self.m.text(project_path, "project_path")
        meta = self.reader().find_latest_session(root, project, within_seconds=within_seconds or None)
        if meta is None:
            out[0] = self.ffi.NULL
            return SUCCESS
        single = self.m.alloc("SessionMetaC")
        try:
            self.session_meta(single, meta)
        except BaseException:
            self.lib.session_db_free_session_meta(single)
            raise
        out[0] = single
        return SUCCESS

    @_export("status")
    def read_session_messages(self, session_path: Any, limit: int, offset: int, order_asc: bool,
                              out_result: Any) -> int:
        self.m.need(session_path, "session_path")
        out = self.m.need(out_result, "out_result")
        path = self.m.text(session_path, "session_path")
        page = self.reader().read_session_messages(path, limit=row_limit(limit) or None,
                                                   offset=min(offset, 2 ** 62), order_asc=bool(order_asc))
        string = self.m.string

        def fill(c: Any, message: Any) -> None:
            c.uuid = string(message.uuid)
            c.session_id = string(message.session_id)
            c.message_type = message.type.code
            c.content = string(message.content)
            c.timestamp = string(None if message.timestamp is None else str(message.timestamp))
        result = self.m.array("MessagesResultC", "ParsedMessageC", page.messages, fill,
                              self.lib.session_db_free_messages_result, "messages", "message_count")
        result.total = page.total
        result.has_more = bool(page.has_more)
        out[0] = result
        return SUCCESS


# ---------------------------------------------------------------- installation
def _guard(api: CApi, name: str, kind: str) -> Callable[..., Any]:
    """Wrap a method so that any exception becomes a status and a last-error message."""
    method = getattr(api, name)
    c_name = f"session_db_{name}"
    set_error = api.lib._sdb_set_error

    def fail(exc: BaseException) -> int:
        code = error_code(exc)
        try:
            set_error(code, error_message(c_name, exc).encode("utf-8", "replace"))
        except BaseException:  # never let reporting fail the host call
            pass
        return code

    if kind == "status":
        def call(*args: Any) -> int:
            try:
                return method(*args)
            except BaseException as exc:
                return fail(exc)
    elif kind == "pointer":
        null = api.ffi.NULL

        def call(*args: Any) -> Any:
            try:
                return method(*args)
            except BaseException as exc:
                fail(exc)
                return null
    elif kind == "void":
        def call(*args: Any) -> None:
            try:
                method(*args)
            except BaseException as exc:
                fail(exc)
    elif kind == "struct":
        null = api.ffi.NULL

        def call(*args: Any) -> None:
            try:
                method(*args)
            except BaseException as exc:
                out = args[-1]
                out.session = null
                out.error = fail(exc)
    else:  # pragma: no cover - a programming error caught at start-up
        raise ValueError(f"unknown export kind {kind!r}")
    call.__name__ = f"_py_session_db_{name}"
    return call


def install(ffi: Any, lib: Any) -> CApi:
    """Attach every Python-implemented function of the header; refuse a mismatched build."""
    built = ffi.string(lib._sdb_built_version()).decode()
    if built != __version__:
        raise ImportError(f"libsessiondb {built} does not match the sessiondb package {__version__}; "
                          "rebuild the library (pip install .)")
    expected = {name[len("_py_session_db_"):] for name in dir(lib) if name.startswith("_py_session_db_")}
    if expected != set(_EXPORTS):
        raise ImportError("the C header and sessiondb._capi disagree: missing in Python "
                          f"{sorted(expected - set(_EXPORTS))}, not in the header {sorted(set(_EXPORTS) - expected)}")
    api = CApi(ffi, lib)
    # Run by PyOS_BeforeFork / PyOS_AfterFork_* (the library's pthread_atfork handlers,
    # or os.fork() in a Python host).
    os.register_at_fork(before=api.handles.hold_for_fork, after_in_parent=api.handles.release_after_fork,
                        after_in_child=api.handles.release_after_fork)

    def on_conversion_error(exc_type: type, exc: BaseException, traceback: Any) -> None:
        lib._sdb_set_error(UNKNOWN, f"{exc_type.__name__}: {exc}".encode("utf-8", "replace"))

    for name, kind in _EXPORTS.items():
        error = UNKNOWN if kind == "status" else None
        options = {"name": f"_py_session_db_{name}", "onerror": on_conversion_error}
        if error is not None:
            options["error"] = error
        ffi.def_extern(**options)(_guard(api, name, kind))
    return api


__all__ = ["CApi", "install", "NULL_POINTER"]
