"""C ABI functions of the upstream agent client (part of :mod:`sessiondb.capi`), over
:class:`sessiondb.agent_client.AgentClient`."""

from __future__ import annotations

import itertools
import os
import threading
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (see sessiondb._startup)
    from typing import Any

    from ..agent_client import AgentClient

from .support import (CONNECTION_FAILED, FORK_WAIT_S, NOT_CONNECTED, REQUEST_FAILED, RUNTIME_ERROR, SUCCESS, CallError,
                      CApiBase, NullArgument, approval_status, export, optional_module)
from ..errors import NotConnectedError

# Methods carry the whole C name (agent_client_*): no prefix added.
_PREFIX = ""
# Agent client handles end in this nibble; session handles end in 0, so neither is taken for the other.
_TAG = 0x8


class AgentHandles:
    """Open agent clients by opaque id (ids never reused, as for session handles)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clients: dict[int, AgentClient] = {}
        self._salt = ((int.from_bytes(os.urandom(2), "little") & 0x7FFF) | 1) << 24
        self._serial = itertools.count(1)
        self._held: list[Any] = []

    def add(self, client: Any) -> int:
        handle_id = ((self._salt | next(self._serial)) << 4) | _TAG
        with self._lock:
            self.clients[handle_id] = client
        return handle_id

    def pop(self, handle_id: int) -> Any:
        with self._lock:
            return self.clients.pop(handle_id, None)

    # fork(): as HandleTable, no SQL of a connected client may be running at the fork.
    def hold_for_fork(self) -> None:
        held = []
        for _, client in sorted(self.clients.items()):
            session = getattr(client, "_session", None)
            lock = getattr(getattr(session, "db", None), "lock", None)
            if lock is not None and lock.acquire(timeout=FORK_WAIT_S):
                held.append(lock)
        self._held = held

    def release_after_fork(self) -> None:
        held, self._held = self._held, []
        for lock in reversed(held):
            lock.release()


def _request_error(exc: BaseException, code: int) -> BaseException:
    """A failure of the request itself (not of the arguments) as the given status."""
    if isinstance(exc, CallError):
        return exc
    if isinstance(exc, NotConnectedError):
        return CallError(str(exc), NOT_CONNECTED)
    return CallError(f"{type(exc).__name__}: {exc}", code)


class AgentFunctions(CApiBase):
    """agent_client_create / destroy / connect / disconnect / is_connected / notify / approve."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        super().__init__(ffi, lib)
        self.agents = AgentHandles()

    def agent(self, handle: Any) -> AgentClient:
        if not handle:
            raise NullArgument("handle is NULL")
        client = self.agents.clients.get(int(self.ffi.cast(self.m.uintptr, handle)))
        if client is None:
            raise NullArgument("the handle is not open (destroyed, or not from agent_client_create)")
        return client

    @export("status", _PREFIX)
    def agent_client_create(self, component: Any, data_dir: Any, agent_source_dir: Any, out_handle: Any) -> int:
        self.m.need(component, "component")
        out = self.m.need(out_handle, "out_handle")
        name = self.m.text(component, "component")
        directory = self.m.optional_text(data_dir, "data_dir")
        self.m.optional_text(agent_source_dir, "agent_source_dir")   # no agent program to deploy
        agent_client = optional_module("agent_client", "the agent client")
        try:
            client = agent_client.AgentClient(name, directory)
        except Exception as exc:  # noqa: BLE001 - an unusable name or directory
            raise _request_error(exc, REQUEST_FAILED) from None
        out[0] = self.ffi.cast("AgentClientHandle *", self.agents.add(client))
        return SUCCESS

    @export("void", _PREFIX)
    def agent_client_destroy(self, handle: Any) -> None:
        client = self.agents.pop(int(self.ffi.cast(self.m.uintptr, handle))) if handle else None
        if handle and client is None:
            raise NullArgument("the handle is not open (already destroyed, or not from agent_client_create)")
        if client is not None:
            client.disconnect()

    @export("status", _PREFIX)
    def agent_client_connect(self, handle: Any) -> int:
        client = self.agent(handle)
        try:
            client.connect()
        except Exception as exc:  # noqa: BLE001 - the database cannot be opened, a thread cannot start
            code = RUNTIME_ERROR if isinstance(exc, RuntimeError) else CONNECTION_FAILED
            raise _request_error(exc, code) from None
        return SUCCESS

    @export("void", _PREFIX)
    def agent_client_disconnect(self, handle: Any) -> None:
        self.agent(handle).disconnect()

    @export("bool", _PREFIX)
    def agent_client_is_connected(self, handle: Any) -> bool:
        return self.agent(handle).connected

    @export("status", _PREFIX)
    def agent_client_notify_file_change(self, handle: Any, path: Any) -> int:
        client = self.agent(handle)
        self.m.need(path, "path")
        text = self.m.text(path, "path")
        try:
            result = client.notify_file_change(text)
        except Exception as exc:  # noqa: BLE001 - reported as a status
            raise _request_error(exc, REQUEST_FAILED) from None
        if result is not None and result.files_seen == 0:
            raise CallError(f"{text} is not a session file under any source root", REQUEST_FAILED)
        return SUCCESS

    @export("status", _PREFIX)
    def agent_client_write_approve_result(self, handle: Any, tool_call_id: Any, status: int, resolved_at: int) -> int:
        client = self.agent(handle)
        self.m.need(tool_call_id, "tool_call_id")
        call_id = self.m.text(tool_call_id, "tool_call_id")
        state = approval_status(status)
        try:
            client.write_approve_result(call_id, state, resolved_at)
        except Exception as exc:  # noqa: BLE001 - reported as a status
            raise _request_error(exc, REQUEST_FAILED) from None
        return SUCCESS
