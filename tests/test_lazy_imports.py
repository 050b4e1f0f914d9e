"""Modules loaded on first use must not race another thread's first import of typing.

dataclasses reads ``sys.modules["typing"]`` without importing it; a dataclass defined
while another thread is still importing typing saw a half-initialised module
("partially initialized module 'typing' has no attribute 'ClassVar'"). The C ABI and
the Swift package call from many threads, so this happened in practice. Each run is a
fresh interpreter racing the first search (search plans load lazily) against an import
of msgspec (which imports typing); the failure showed in about 1 run in 10.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RACE = """
import os, sys, tempfile, threading
from sessiondb import SessionDB
db = SessionDB.connect(os.path.join(tempfile.mkdtemp(), "race.db"))
barrier, errors = threading.Barrier(2), []
def load_typing():
    barrier.wait()
    import msgspec
def search():
    barrier.wait()
    try:
        db.search("hello")
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=load_typing), threading.Thread(target=search)]
for t in threads: t.start()
for t in threads: t.join()
print(errors[0] if errors else "ok")
"""


def test_first_search_while_another_thread_imports_typing(tmp_path: Path) -> None:
    outcomes = [subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60,
                               cwd=tmp_path).stdout.strip() for _ in range(40)]
    assert [o for o in outcomes if o != "ok"] == []


def test_the_c_abi_start_loads_only_what_a_first_call_needs() -> None:
    """The modules ``sessiondb._startup`` keeps off the first call's path stay off it."""
    program = ("import sys, sessiondb.capi.functions; "
               "print(*sorted(m for m in ('dataclasses', 'inspect', 'typing', 'json', 'datetime', 'logging', "
               "'multiprocessing', 're', 'pathlib', 'apsw', 'sessiondb.collector', 'sessiondb.search.query', "
               "'sessiondb.search.plans', 'sessiondb.store.schema', 'sessiondb.coordination.loop') "
               "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "", done
