"""Import-time rules that keep the C ABI's first call fast (≤ 50 ms).

A program that loads libsessiondb pays for every module ``import sessiondb`` imports
before its first call returns, so the modules on that path follow four rules:

* No run-time ``typing`` import (about 5 ms): annotations are strings (``from
  __future__ import annotations``), and names needed only by annotations are imported
  under ``TYPE_CHECKING = False`` / ``if TYPE_CHECKING:``, the one spelling that type
  checkers understand without importing typing.
* No ``logging`` at import (a few ms): :func:`log` imports it on the first message.
* No dataclass is made at import (``dataclasses`` compiles about 1 ms of methods a
  class, and importing it pulls in ``inspect``): value types are ``@record`` classes
  (:mod:`sessiondb._record`, frozen dataclasses made on first use), internal ones
  named tuples or plain classes with ``__slots__``.
* Whatever the first call does not need (the collector and its parsers, the coordinator
  loop, search plans, the query language) loads on first use, through a function-level
  import, a module ``__getattr__`` or :func:`load`. So do ``pathlib``, ``re`` and
  ``apsw`` (with the store's schema), which the first database opened needs and the
  first call does not: together about 8 ms. Regular expressions are compiled on first
  use too.

Modules that load later may define dataclasses, but they may load while another thread
is still importing ``typing``; ``dataclasses`` reads ``sys.modules["typing"]`` as it
finds it, so such a module imports ``typing`` first (``import typing  # noqa: F401``,
see :func:`typing_ready`). The C ABI and the Swift package call from many threads, so
this race happened in practice (``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from types import ModuleType


def log(name: str = "sessiondb") -> "logging.Logger":
    """The logger ``name``, with ``logging`` imported on first use."""
    import logging
    return logging.getLogger(name)


def load(module: str) -> "ModuleType":
    """``sessiondb.<module>``, imported now (a part loaded on first use)."""
    import importlib
    return importlib.import_module(f"sessiondb.{module}")


def typing_ready() -> None:
    """Finish importing ``typing`` before this thread defines a dataclass."""
    import typing  # noqa: F401
