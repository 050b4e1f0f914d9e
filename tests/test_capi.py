"""The C ABI from C: programs in tests/c compiled with gcc against the installed
libsessiondb and run as subprocesses (natively, under valgrind, with AddressSanitizer)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from capi_helpers import C_DIR, claude_projects, compile_c, isolated_env, library_path, require_tool, run


@pytest.fixture
def fixture_args(tmp_path: Path) -> list[str]:
    """DB_PATH PROJECTS_ROOT SESSION_FILE for capi_all."""
    root = tmp_path / "claude-projects"
    session = claude_projects(root)
    return [str(tmp_path / "db" / "capi.db"), str(root), str(session)]


def env_for(tmp_path: Path, fixture_args: list[str], **extra: str) -> dict[str, str]:
    return isolated_env(tmp_path, CLAUDE_PROJECTS_PATH=fixture_args[1], **extra)


def test_every_function_and_struct_layout(tmp_path: Path, fixture_args: list[str]) -> None:
    program = compile_c(C_DIR / "capi_all.c", tmp_path / "capi_all")
    run([str(program), *fixture_args], env=env_for(tmp_path, fixture_args), timeout=120)


def test_every_function_under_valgrind(tmp_path: Path, fixture_args: list[str]) -> None:
    """No invalid access anywhere; no leak of memory the library or the program allocated.

    The embedded interpreter is never finalised, so memory Python itself holds at exit
    is not a leak; tests/c/valgrind-python.supp hides only allocations made directly
    by libpython and its extension modules, never by libsessiondb's own code.
    """
    valgrind = require_tool("valgrind")
    program = compile_c(C_DIR / "capi_all.c", tmp_path / "capi_all")
    log = tmp_path / "valgrind.log"
    cmd = [valgrind, "--error-exitcode=97", "--leak-check=full", "--show-leak-kinds=definite",
           "--errors-for-leak-kinds=definite", f"--suppressions={C_DIR / 'valgrind-python.supp'}",
           f"--log-file={log}", str(program), *fixture_args]
    env = env_for(tmp_path, fixture_args, PYTHONMALLOC="malloc")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-5000:]}\n{text[-20000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors", text), text[-20000:]
    assert re.search(r"^(\d+) passed, 0 failed$", done.stdout, re.M), done.stdout


def test_every_function_with_address_sanitizer(tmp_path: Path, fixture_args: list[str]) -> None:
    program = compile_c(C_DIR / "capi_all.c", tmp_path / "capi_all_asan", "-fsanitize=address",
                        "-fno-omit-frame-pointer")
    # Leak detection stays with valgrind: LeakSanitizer cannot tell the never-finalised
    # interpreter's memory from a leak.
    env = env_for(tmp_path, fixture_args, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", PYTHONMALLOC="malloc")
    run([str(program), *fixture_args], env=env, timeout=300)


def test_four_threads_share_one_handle(tmp_path: Path) -> None:
    program = compile_c(C_DIR / "capi_threads.c", tmp_path / "capi_threads")
    run([str(program), str(tmp_path / "threads.db")], env=isolated_env(tmp_path), timeout=300)


def test_bad_input_never_crashes(tmp_path: Path) -> None:
    program = compile_c(C_DIR / "capi_bad_input.c", tmp_path / "capi_bad_input")
    run([str(program), str(tmp_path / "bad.db")], env=isolated_env(tmp_path), timeout=120)


def test_bad_input_under_valgrind(tmp_path: Path) -> None:
    valgrind = require_tool("valgrind")
    program = compile_c(C_DIR / "capi_bad_input.c", tmp_path / "capi_bad_input")
    log = tmp_path / "valgrind.log"
    cmd = [valgrind, "--error-exitcode=97", "--leak-check=full", "--show-leak-kinds=definite",
           "--errors-for-leak-kinds=definite", f"--suppressions={C_DIR / 'valgrind-python.supp'}",
           f"--log-file={log}", str(program), str(tmp_path / "bad.db")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env=isolated_env(tmp_path, PYTHONMALLOC="malloc"))
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{text[-20000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors", text), text[-20000:]


def test_original_header_program_compiles_and_runs_unchanged(tmp_path: Path) -> None:
    """tests/c/original_api.c uses only names and types of the original header; it
    includes "ai_cli_session_db.h", which here is a one-line alias of ours."""
    alias = tmp_path / "include"
    alias.mkdir()
    (alias / "ai_cli_session_db.h").write_text('#include "sessiondb.h"\n', encoding="utf-8")
    program = compile_c(C_DIR / "original_api.c", tmp_path / "original_api", include_dirs=(alias,))
    run([str(program), str(tmp_path / "original.db")], env=isolated_env(tmp_path), timeout=120)


def test_process_behaviour_signals_fork_and_env(tmp_path: Path) -> None:
    """Host signal handlers survive start-up, a forked child keeps working, and the
    library uses its own environment whatever PATH says."""
    program = compile_c(C_DIR / "capi_process.c", tmp_path / "capi_process")
    env = isolated_env(tmp_path, PATH="/usr/bin:/bin")
    run([str(program), str(tmp_path / "process.db"), os.path.realpath(sys.prefix)], env=env, timeout=180)


def test_start_up_failure_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """A Python that cannot start (bad PYTHONHOME) makes every call fail cleanly."""
    program = compile_c(C_DIR / "capi_init_failure.c", tmp_path / "capi_init_failure")
    env = isolated_env(tmp_path, PYTHONHOME=str(tmp_path / "no-python-here"))
    run([str(program), str(tmp_path / "never.db")], env=env, timeout=120)


def test_library_exports_only_the_api() -> None:
    """Every exported session_db_* symbol is declared in the header, and vice versa."""
    nm = require_tool("nm")
    out = subprocess.run([nm, "-D", "--defined-only", str(library_path())], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split()}
    header = (Path(__file__).resolve().parent.parent / "include" / "sessiondb.h").read_text(encoding="utf-8")
    declared = set(re.findall(r"\b((?:session_db|agent_client)_\w+)\s*\(", re.sub(r"/\*.*?\*/", "", header, flags=re.S)))
    assert {s for s in exported if s.startswith(("session_db_", "agent_client_"))} == declared
    assert exported - declared <= {"PyInit__sessiondb_cffi"}, sorted(exported - declared)


def test_header_declares_the_original_43_functions() -> None:
    header = (Path(__file__).resolve().parent.parent / "include" / "sessiondb.h").read_text(encoding="utf-8")
    lines = (C_DIR / "original_names.txt").read_text(encoding="utf-8").splitlines()
    original = [line for line in lines if line and not line.startswith("#")]
    assert len(original) == 43
    for name in original:
        assert re.search(rf"\b{name}\s*\(", header), name


def test_python_m_sessiondb_tells_where_the_library_is(tmp_path: Path) -> None:
    def ask(*flags: str) -> str:
        return subprocess.run([sys.executable, "-m", "sessiondb", *flags], capture_output=True, text=True,
                              timeout=60, check=True).stdout

    libdir, includedir, pkgconfigdir = ask("--libdir", "--includedir", "--pkgconfigdir").split()
    assert (Path(libdir) / library_path().name).is_file()
    assert (Path(includedir) / "sessiondb.h").is_file()
    assert (Path(pkgconfigdir) / "sessiondb.pc").is_file()
    flags = ask("--cflags", "--libs").split()
    assert f"-I{includedir}" in flags and "-lsessiondb" in flags and f"-L{libdir}" in flags
    pkg_config = require_tool("pkg-config")
    resolved = subprocess.run([pkg_config, "--cflags", "--libs", "sessiondb"], capture_output=True, text=True,
                              timeout=60, check=True, env={**os.environ, "PKG_CONFIG_PATH": pkgconfigdir}).stdout
    include = resolved.split()[0][2:]
    assert os.path.samefile(include, includedir), resolved
    # The header installed with the library is the one in the source tree.
    installed = (Path(includedir) / "sessiondb.h").read_text(encoding="utf-8")
    assert installed == (Path(__file__).resolve().parent.parent / "include" / "sessiondb.h").read_text(encoding="utf-8")
