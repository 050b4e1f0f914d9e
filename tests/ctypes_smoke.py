"""Load libsessiondb with ctypes into a running Python and use it (run as a script).

    python tests/ctypes_smoke.py LIBRARY DB_PATH [--pydll] [--skip-version-check]

A loader must compare session_db_python_version() (pure C) with its own Python
first: a library built for another Python version cannot share this process. With
--skip-version-check the script calls session_db_initialize() anyway, to show that the
library refuses with an error instead of hanging. Prints "N passed, M failed".
"""

from __future__ import annotations

import ctypes
import sys

Success, NullPointer, InvalidUtf8, DatabaseError, Unknown = 0, 1, 2, 3, 99


class MessageInputC(ctypes.Structure):
    _fields_ = [("uuid", ctypes.c_char_p), ("role", ctypes.c_int32), ("content", ctypes.c_char_p),
                ("timestamp", ctypes.c_int64), ("sequence", ctypes.c_int64)]


class SearchResultC(ctypes.Structure):
    _fields_ = [("message_id", ctypes.c_int64), ("session_id", ctypes.c_void_p), ("project_id", ctypes.c_int64),
                ("project_name", ctypes.c_void_p), ("role", ctypes.c_void_p), ("content", ctypes.c_void_p),
                ("snippet", ctypes.c_void_p), ("score", ctypes.c_double), ("timestamp", ctypes.c_int64)]


class SearchResultArray(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(SearchResultC)), ("len", ctypes.c_size_t)]


passed = failed = 0


def check(condition: bool, what: str) -> None:
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}", file=sys.stderr)


def load(path: str, pydll: bool) -> ctypes.CDLL:
    lib = (ctypes.PyDLL if pydll else ctypes.CDLL)(path)
    lib.session_db_python_version.restype = ctypes.c_char_p
    lib.session_db_version.restype = ctypes.c_char_p
    lib.session_db_last_error.restype = ctypes.c_char_p
    lib.session_db_initialize.restype = ctypes.c_int
    handle = ctypes.c_void_p
    lib.session_db_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(handle)]
    lib.session_db_close.argtypes = [handle]
    lib.session_db_close.restype = None
    lib.session_db_upsert_project.argtypes = [handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                              ctypes.POINTER(ctypes.c_int64)]
    lib.session_db_upsert_session.argtypes = [handle, ctypes.c_char_p, ctypes.c_int64]
    lib.session_db_insert_messages.argtypes = [handle, ctypes.c_char_p, ctypes.POINTER(MessageInputC),
                                               ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    lib.session_db_search_fts.argtypes = [handle, ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.POINTER(ctypes.POINTER(SearchResultArray))]
    lib.session_db_free_search_results.argtypes = [ctypes.POINTER(SearchResultArray)]
    lib.session_db_free_search_results.restype = None
    lib.session_db_compute_session_path.restype = ctypes.c_void_p  # freed with session_db_free_string
    lib.session_db_compute_session_path.argtypes = [ctypes.c_char_p] * 3
    lib.session_db_free_string.argtypes = [ctypes.c_void_p]
    lib.session_db_free_string.restype = None
    return lib


def use(lib: ctypes.CDLL, db_path: str) -> None:
    check(lib.session_db_initialize() == Success, "initialize")
    handle = ctypes.c_void_p()
    check(lib.session_db_connect(db_path.encode(), ctypes.byref(handle)) == Success, "connect")
    project = ctypes.c_int64()
    check(lib.session_db_upsert_project(handle, b"demo", b"/work/demo", b"claude", ctypes.byref(project)) == Success,
          "upsert_project")
    check(lib.session_db_upsert_session(handle, b"s-1", project) == Success, "upsert_session")
    batch = (MessageInputC * 2)(MessageInputC(b"m-1", 0, "ctypes finds the phrase here".encode(), 1, 0),
                                MessageInputC(b"m-2", 1, "phrase finds nothing".encode(), 2, 1))
    inserted = ctypes.c_size_t()
    check(lib.session_db_insert_messages(handle, b"s-1", batch, 2, ctypes.byref(inserted)) == Success
          and inserted.value == 2, "insert_messages")
    hits = ctypes.POINTER(SearchResultArray)()
    check(lib.session_db_search_fts(handle, b'"finds the phrase"', 10, ctypes.byref(hits)) == Success, "search")
    check(bool(hits) and hits.contents.len == 1, "phrase search through C")
    if hits and hits.contents.len:
        check(ctypes.string_at(hits.contents.data[0].role) == b"user", "role text")
    lib.session_db_free_search_results(hits)
    check(lib.session_db_upsert_session(handle, b"\xff\xfe", project) == InvalidUtf8, "invalid UTF-8")
    check(b"UTF-8" in lib.session_db_last_error(), "last error message")
    check(lib.session_db_upsert_session(handle, b"s-1", project) == Success, "a later call succeeds")
    check(lib.session_db_last_error() == b"", "a successful call clears the last error")
    lib.session_db_close(handle)
    check(lib.session_db_upsert_session(handle, b"s-2", project) == NullPointer, "closed handle refused")
    lib.session_db_close(handle)  # double close
    path = lib.session_db_compute_session_path(b"/root", b"-p", b"abc")
    if path:  # None when session files are not part of this build
        check(ctypes.string_at(path) == b"/root/-p/abc.jsonl", "compute_session_path")
    lib.session_db_free_string(path)


def main(argv: list[str]) -> int:
    library, db_path = argv[0], argv[1]
    lib = load(library, "--pydll" in argv)
    built_for = lib.session_db_python_version().decode()
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    same = built_for.split(".")[:2] == ours.split(".")
    if "--skip-version-check" in argv:
        code = lib.session_db_initialize()
        message = lib.session_db_last_error().decode()
        check(code == Unknown, f"initialize in Python {ours} with a library for {built_for}: {code}")
        check(built_for[:4] in message and ours in message, f"message names both versions: {message}")
        print(f"refused: {message}")
    elif not same:
        check(len(built_for.split(".")) == 3 and built_for[0].isdigit(), f"version string {built_for!r}")
        print(f"SKIP: library built for Python {built_for}, this is {ours}")
    else:
        use(lib, db_path)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
