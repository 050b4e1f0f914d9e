"""C ABI functions of writer coordination and collection (part of :mod:`sessiondb.capi`)."""

from __future__ import annotations

import time
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

from .support import (COORDINATION_ERROR, ROLE_UNREGISTERED, SUCCESS, CallError, CApiBase, HandleState,
                      NullArgument, OutOfRange, export, optional_module, role_code)
from ..errors import PermissionDenied


class CoordinationFunctions(CApiBase):
    """register / heartbeat / release / health / takeover, the coordinator loop, collect."""

    def writer_type(self, code: int) -> Any:
        if not 0 <= code <= 3:
            raise OutOfRange(f"writer_type {code} is not a writer type (0..3)")
        coordination = optional_module("coordination", "writer coordination")
        try:
            return coordination.WriterType.from_code(int(code))
        except (ValueError, KeyError):
            raise OutOfRange(f"writer_type {code} is not a writer type (0..3)") from None

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

    # ------------------------------------------------------------ coordination
    @export("status")
    def register_writer(self, handle: Any, writer_type: int, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        try:
            out[0] = role_code(state.db.register_writer(kind))
        finally:
            state.notify()
        return SUCCESS

    @export("status")
    def heartbeat(self, handle: Any) -> int:
        state = self.state(handle)
        optional_module("coordination", "writer coordination")
        try:
            state.db.heartbeat()
        finally:
            state.notify()
        return SUCCESS

    @export("status")
    def release_writer(self, handle: Any) -> int:
        state = self.state(handle)
        optional_module("coordination", "writer coordination")
        try:
            state.db.release_writer()
        finally:
            state.notify()
        return SUCCESS

    @export("status")
    def check_writer_health(self, handle: Any, out_health: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_health, "out_health")
        optional_module("coordination", "writer coordination")
        out[0] = int(state.db.check_writer_health().value)
        return SUCCESS

    @export("status")
    def try_takeover(self, handle: Any, out_taken: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_taken, "out_taken")
        optional_module("coordination", "writer coordination")
        try:
            out[0] = 1 if state.db.try_takeover() else 0
        finally:
            state.notify()
        return SUCCESS

    @export("status")
    def register_writer_and_collect(self, handle: Any, writer_type: int, out_role: Any, out_result: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        optional_module("collector", "collection")
        try:
            role, result = state.db.register_writer_and_collect(kind)
        finally:
            state.notify()
        out[0] = role_code(role)
        if out_result:
            out_result[0] = self.collect_result(result) if result is not None else self.ffi.NULL
        return SUCCESS

    @export("status")
    def current_role(self, handle: Any, out_role: Any) -> int:
        # The trivial call: self.state inlined (a method call is a fifth of its Python time).
        state = self._by_pointer.get(handle)
        if state is None:
            state = self.handles.get(self.m.handle_id(handle))  # raises the right error
        if not out_role:
            raise NullArgument("out_role is NULL")
        role = state.db.role
        out_role[0] = ROLE_UNREGISTERED if role is None else role
        return SUCCESS

    @export("status")
    def coordinator_step(self, handle: Any, writer_type: int, out_role: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_role, "out_role")
        kind = self.writer_type(writer_type)
        with state.lock:
            coordinator = self._coordinator(state, kind)
            role = coordinator.step()
        out[0] = role_code(role)
        return SUCCESS

    @export("status")
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

    @export("status")
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
        coordinator_class = getattr(optional_module("coordination", "writer coordination"), "Coordinator", None)
        if coordinator_class is None:
            raise CallError("the coordinator loop is not available in this build", COORDINATION_ERROR)
        state.coordinator = coordinator_class(state.db, kind, on_role_change=state.notify)
        state.coordinator_type = kind
        return state.coordinator

    @export("status")
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

    # ------------------------------------------------------------ collection
    @export("status")
    def collect(self, handle: Any, out_result: Any) -> int:
        state = self.state(handle)
        out = self.m.need(out_result, "out_result")
        optional_module("collector", "collection")
        self._require_writer(state)
        out[0] = self.collect_result(state.db.collect_all())
        return SUCCESS

    @export("status")
    def collect_by_path(self, handle: Any, path: Any, out_result: Any) -> int:
        state = self.state(handle)
        self.m.need(path, "path")
        out = self.m.need(out_result, "out_result")
        optional_module("collector", "collection")
        self._require_writer(state)
        out[0] = self.collect_result(state.db.collect_by_path(self.m.text(path, "path")))
        return SUCCESS

    @staticmethod
    def _require_writer(state: HandleState) -> None:
        if not getattr(state.db, "is_writer", False):
            raise PermissionDenied("only the registered writer may collect; register with "
                                   "session_db_register_writer first")
