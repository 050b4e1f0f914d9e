"""Writer coordination: exactly one participant writes, the others read and take over.

``types`` is the vocabulary (writer types, roles, health); ``registry`` the
``writer_registry`` row; ``fence`` the check inside every write transaction;
``protocol`` the rules (registration, preemption, heartbeat, takeover, release);
``lock_files`` the per-writer ``flock`` proof of life; ``loop`` the background loop
that heartbeats and takes over.
"""

from .loop import Coordinator
from .types import Clock, Role, WriterHealth, WriterInfo, WriterType

__all__ = ["Clock", "Coordinator", "Role", "WriterHealth", "WriterInfo", "WriterType"]
