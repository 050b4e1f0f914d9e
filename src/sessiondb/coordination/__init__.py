"""Writer coordination: exactly one participant writes, the others read and take over.

``protocol`` holds the rules (registration, preemption, the fence inside every write
transaction, takeover); ``lock_files`` the per-writer ``flock`` proof of life; ``loop``
the background loop that heartbeats and takes over.
"""

from .loop import Coordinator
from .protocol import Clock, Role, WriterHealth, WriterInfo, WriterType

__all__ = ["Clock", "Coordinator", "Role", "WriterHealth", "WriterInfo", "WriterType"]
