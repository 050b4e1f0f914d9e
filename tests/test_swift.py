"""The Swift package in swift/: ``swift build`` and ``swift test`` against the installed library.

The Swift tests (swift/Tests/SessionDBTests) exercise the whole Swift API against the real
libsessiondb and temporary databases; this module runs them as subprocesses, finding the
library the way an app developer would: ``PKG_CONFIG_PATH`` from ``python -m sessiondb
--pkgconfigdir`` (SwiftPM reads sessiondb.pc), and the library directory as both an rpath
and ``LD_LIBRARY_PATH`` (SwiftPM drops the rpath flag of .pc files).

No Swift toolchain: skipped, unless ``SESSIONDB_REQUIRE_SWIFT=1`` (as .ci/run sets it),
which makes it a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

SWIFT_DIR = Path(__file__).resolve().parent.parent / "swift"
EXAMPLE_APP = SWIFT_DIR / "Examples" / "Notes"
LEAK_CHECK = SWIFT_DIR / "LeakCheck"
BUILD_TIMEOUT = 1200
TEST_TIMEOUT = 900


def find_swift() -> str | None:
    found = shutil.which("swift")
    if found is None and os.access("/opt/swift/usr/bin/swift", os.X_OK):
        found = "/opt/swift/usr/bin/swift"
    return found


def require_swift() -> str:
    swift = find_swift()
    if swift is None:
        if os.environ.get("SESSIONDB_REQUIRE_SWIFT") == "1":
            pytest.fail("SESSIONDB_REQUIRE_SWIFT=1 but no Swift toolchain was found (swift on PATH or "
                        "/opt/swift/usr/bin/swift)")
        pytest.skip("no Swift toolchain (swift) found")
    return swift


def library_dirs() -> tuple[str, str]:
    """(libdir, pkgconfigdir) of the installed library, as ``python -m sessiondb`` prints them."""
    out = subprocess.run([sys.executable, "-m", "sessiondb", "--libdir", "--pkgconfigdir"], capture_output=True,
                         text=True, timeout=60, check=True).stdout.split("\n")
    libdir, pkgconfigdir = out[0].strip(), out[1].strip()
    assert (Path(pkgconfigdir) / "sessiondb.pc").is_file(), f"no sessiondb.pc in {pkgconfigdir}"
    return libdir, pkgconfigdir


def prepend(value: str, existing: str | None) -> str:
    return value if not existing else f"{value}{os.pathsep}{existing}"


def swift_env() -> tuple[dict[str, str], list[str]]:
    """Environment and linker flags for building and running the package."""
    libdir, pkgconfigdir = library_dirs()
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = prepend(pkgconfigdir, env.get("PKG_CONFIG_PATH"))
    env["LD_LIBRARY_PATH"] = prepend(libdir, env.get("LD_LIBRARY_PATH"))
    bin_dir = str(Path(sys.executable).parent)  # so `python -m sessiondb` in docs and tools is this venv's
    env["PATH"] = prepend(bin_dir, env.get("PATH"))
    return env, ["-Xlinker", "-rpath", "-Xlinker", libdir]


def run_swift(args: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=SWIFT_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    report = (f"$ {' '.join(args)}\nexit {done.returncode}\n--- stdout\n{done.stdout[-30000:]}\n"
              f"--- stderr\n{done.stderr[-20000:]}")
    assert done.returncode == 0, report
    return done


def test_swift_package_builds_and_its_tests_pass() -> None:
    swift = require_swift()
    env, rpath = swift_env()
    run_swift([swift, "build", *rpath], env, BUILD_TIMEOUT)
    done = run_swift([swift, "test", *rpath], env, TEST_TIMEOUT)
    output = done.stdout + done.stderr
    summary = re.search(r"Test run with (\d+) tests? in \d+ suites? passed", output)
    assert summary is not None, f"no passing Swift Testing summary:\n{output[-20000:]}"
    assert int(summary.group(1)) >= 50, output[-20000:]
    skipped = sorted(set(re.findall(r"Test (\w+)\(\) skipped", output)))
    assert skipped == [], f"Swift tests skipped: {skipped}"


def build_product(package: Path, scratch: Path, env: dict[str, str], rpath: list[str]) -> Path:
    """``swift build`` of a package that depends on swift/ by path; returns its debug bin directory."""
    swift = require_swift()
    args = [swift, "build", "--package-path", str(package), "--scratch-path", str(scratch), *rpath]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, f"$ {' '.join(args)}\n{done.stdout[-20000:]}\n{done.stderr[-20000:]}"
    return scratch / "debug"


def claude_line(uuid: str, cwd: str, text: str, when: datetime) -> str:
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps({"type": "user", "uuid": uuid, "cwd": cwd, "timestamp": stamp,
                       "message": {"role": "user", "content": text}}, ensure_ascii=False)


def test_readme_shows_the_example_app() -> None:
    readme = (SWIFT_DIR.parent / "README.md").read_text(encoding="utf-8")
    example = (EXAMPLE_APP / "Sources" / "Notes" / "main.swift").read_text(encoding="utf-8")
    # A block may start with a line naming its file (// ../MyApp/Sources/MyApp/main.swift).
    blocks = [re.sub(r"\A// [\w./-]+\.swift\n", "", b) for b in re.findall(r"```swift\n(.*?)```", readme, re.S)]
    assert example in blocks, "README's Swift example differs from swift/Examples/Notes"


def test_example_app_builds_and_runs_with_an_rpath(tmp_path: Path) -> None:
    """What the README tells app developers: a path dependency, pkg-config to build, an rpath to run."""
    require_swift()
    env, rpath = swift_env()
    env.pop("LD_LIBRARY_PATH")  # the rpath alone must find the library
    binary = build_product(EXAMPLE_APP, tmp_path / "build", env, rpath) / "Notes"

    home = Path(env["HOME"])
    session = home / ".claude" / "projects" / "-Users-me-app" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    text = "the database is locked again 数据库"
    session.write_text(claude_line("u1", "/Users/me/app", text, datetime.now() - timedelta(hours=1)) + "\n",
                       encoding="utf-8")
    ran = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    lines = ran.stdout.splitlines()
    assert lines[:2] == ["now the writer", "collected 1 messages, 0 errors"], ran.stdout
    assert lines[2].startswith("app s1 ") and "<mark>数据库</mark>" in lines[2], ran.stdout
    assert lines[3].startswith("databaseError ") and "no-such-session" in lines[3], ran.stdout
    assert lines[4:] == [f"1 {text}"], ran.stdout
    assert (home / ".vimo" / "db" / "ai-cli-session.db").is_file()


def test_every_library_allocation_is_freed_under_valgrind(tmp_path: Path) -> None:
    """swift/LeakCheck calls every API many times; valgrind must find no definite leak or bad access."""
    require_swift()
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        if os.environ.get("SESSIONDB_REQUIRE_SWIFT") == "1":
            pytest.fail("SESSIONDB_REQUIRE_SWIFT=1 but valgrind is not installed")
        pytest.skip("valgrind is not installed")
    env, rpath = swift_env()
    binary = build_product(LEAK_CHECK, tmp_path / "build", env, rpath) / "LeakCheck"
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "valgrind.log"
    suppressions = SWIFT_DIR.parent / "tests" / "c" / "valgrind-python.supp"
    args = [valgrind, "--error-exitcode=97", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", f"--log-file={log}"]
    if suppressions.is_file():
        args.append(f"--suppressions={suppressions}")
    ran = subprocess.run([*args, str(binary), str(work), "20"], env=env, capture_output=True, text=True,
                         timeout=TEST_TIMEOUT)
    report = log.read_text(encoding="utf-8", errors="replace")
    assert ran.returncode == 0, f"exit {ran.returncode}\n{ran.stdout}\n{ran.stderr}\n--- valgrind\n{report[-30000:]}"
    assert ran.stdout.strip() == "done 22 messages"
    assert "definitely lost: 0 bytes" in report or "no leaks are possible" in report, report[-30000:]

def test_missing_toolchain_skips_or_fails_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "find_swift", lambda: None)
    monkeypatch.delenv("SESSIONDB_REQUIRE_SWIFT", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_swift()
    monkeypatch.setenv("SESSIONDB_REQUIRE_SWIFT", "1")
    with pytest.raises(pytest.fail.Exception, match="SESSIONDB_REQUIRE_SWIFT=1"):
        require_swift()


UPSTREAM_CLIENTS = SWIFT_DIR / "UpstreamClients"


def test_a_swift_client_of_each_header_runs_without_library_path(tmp_path: Path) -> None:
    """swift/UpstreamClients: one client per header calls every upstream function, with the
    agent client end to end. Built by plain `swift build` (no rpath flag) and run without
    LD_LIBRARY_PATH: `python -m sessiondb --link-library` puts the library beside the
    executables, where SwiftPM's rpath ($ORIGIN) finds it."""
    require_swift()
    env, _ = swift_env()
    env.pop("LD_LIBRARY_PATH")
    bin_dir = build_product(UPSTREAM_CLIENTS, tmp_path / "build", env, [])
    for name in ("libsessiondb.so", "libai_cli_session_db.so"):   # from an earlier run
        (bin_dir / name).unlink(missing_ok=True)
    work = tmp_path / "work"
    work.mkdir()
    run_env = {**env, "HOME": str(work), "CLAUDE_PROJECTS_PATH": str(work / "projects"),
               "CODEX_HOME": str(work / "none"), "CODEX_PATH": str(work / "none"),
               "OPENCODE_PATH": str(work / "none"), "XDG_DATA_HOME": str(work / "none"),
               "GEMINI_TMP_PATH": str(work / "none"), "CLAUDE_CONFIG_DIR": str(work / "none")}
    if sys.platform.startswith("linux"):
        unlinked = subprocess.run([str(bin_dir / "UpstreamHeaderClient"), str(work)], env=run_env,
                                  capture_output=True, text=True, timeout=120)
        assert unlinked.returncode != 0 and "libsessiondb" in unlinked.stderr, unlinked
    linked = subprocess.run([sys.executable, "-m", "sessiondb", "--link-library", str(bin_dir)], capture_output=True,
                            text=True, timeout=60, check=True).stdout.split()
    assert [Path(p).name for p in linked] == ["libsessiondb.so", "libai_cli_session_db.so"] or sys.platform == "darwin"
    for client in ("UpstreamHeaderClient", "SessionDBHeaderClient"):
        client_work = work / client
        client_work.mkdir()
        client_env = {**run_env, "CLAUDE_PROJECTS_PATH": str(client_work / "projects")}
        ran = subprocess.run([str(bin_dir / client), str(client_work)], env=client_env, capture_output=True,
                             text=True, timeout=300)
        assert ran.returncode == 0, f"{client}: exit {ran.returncode}\n{ran.stdout}\n{ran.stderr[-10000:]}"
        summary = re.search(r"^(\d+) passed, (\d+) failed$", ran.stdout, re.M)
        assert summary and int(summary.group(2)) == 0 and int(summary.group(1)) >= 70, ran.stdout
        assert re.search(r"^writer_notify_ms \d", ran.stdout, re.M), ran.stdout
