"""Writer coordination: exactly one participant writes, the others read and take over.

``types`` is the vocabulary (writer types, roles, health); ``registry`` the
``writer_registry`` row; ``fence`` the check inside every write transaction;
``protocol`` the rules (registration, preemption, heartbeat, takeover, release);
``lock_files`` the per-writer ``flock`` proof of life; ``loop`` the background loop
that heartbeats and takes over.
"""

from __future__ import annotations

from .types import Clock, Role, WriterHealth, WriterInfo, WriterType

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from typing import Any

    from .loop import Coordinator

__all__ = ["Clock", "Coordinator", "Role", "WriterHealth", "WriterInfo", "WriterType"]


def __getattr__(name: str) -> Any:
    # The loop is for long-running programs: loaded on first use, not by ``import sessiondb``.
    if name == "Coordinator":
        from .loop import Coordinator
        return Coordinator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
