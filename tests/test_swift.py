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

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SWIFT_DIR = Path(__file__).resolve().parent.parent / "swift"
# Parts of the Python package some Swift tests need; a build without one skips exactly those.
FEATURES = ("coordination", "collector", "reader")
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


def missing_features() -> list[str]:
    return [name for name in FEATURES if importlib.util.find_spec(f"sessiondb.{name}") is None]


def prepend(value: str, existing: str | None) -> str:
    return value if not existing else f"{value}{os.pathsep}{existing}"


def swift_env() -> tuple[dict[str, str], list[str]]:
    """Environment and linker flags for building and running the package."""
    libdir, pkgconfigdir = library_dirs()
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = prepend(pkgconfigdir, env.get("PKG_CONFIG_PATH"))
    env["LD_LIBRARY_PATH"] = prepend(libdir, env.get("LD_LIBRARY_PATH"))
    env["SESSIONDB_MISSING_FEATURES"] = ",".join(missing_features())
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
    missing = missing_features()
    if not missing:
        # Nothing is legitimately missing, so nothing may skip.
        assert skipped == [], f"Swift tests skipped although every feature is present: {skipped}"
    else:
        print(f"Swift tests skipped because sessiondb lacks {missing}: {skipped}")


APP_MANIFEST = """// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Notes",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "{package}")],
    targets: [
        .executableTarget(name: "Notes", dependencies: [.product(name: "SessionDB", package: "swift")]),
    ]
)
"""

APP_MAIN = """import SessionDB

let db = try SessionDatabase(path: CommandLine.arguments[1])
let project = try db.upsertProject(name: "notes", path: "/work/notes", source: "claude")
try db.upsertSession("s1", projectID: project)
try db.insertMessages([MessageInput(uuid: "m1", role: .user, content: "单文件数据库 is locked",
                                    timestamp: 1_760_000_000_000, sequence: 0)], into: "s1")
for hit in try db.search(SearchQuery("数据库", highlightOpen: "[", highlightClose: "]")) {
    print("hit", hit.sessionID, hit.snippet)
}
do {
    try db.insertMessages([], into: "missing")
} catch {
    print("error", error.code, error.message.contains("missing"))
}
"""


def test_an_app_depending_on_the_package_by_path_runs_with_an_rpath(tmp_path: Path) -> None:
    """What the README tells app developers: a path dependency, pkg-config to build, an rpath to run."""
    swift = require_swift()
    env, rpath = swift_env()
    env.pop("LD_LIBRARY_PATH")   # the rpath alone must find the library
    app = tmp_path / "Notes"
    (app / "Sources" / "Notes").mkdir(parents=True)
    (app / "Package.swift").write_text(APP_MANIFEST.format(package=SWIFT_DIR), encoding="utf-8")
    (app / "Sources" / "Notes" / "main.swift").write_text(APP_MAIN, encoding="utf-8")
    done = subprocess.run([swift, "build", *rpath], cwd=app, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, f"{done.stdout[-20000:]}\n{done.stderr[-20000:]}"
    ran = subprocess.run([str(app / ".build" / "debug" / "Notes"), str(tmp_path / "notes.db")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    assert ran.stdout.splitlines() == ["hit s1 单文件[数据库] is locked", "error databaseError true"]


def test_missing_toolchain_skips_or_fails_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "find_swift", lambda: None)
    monkeypatch.delenv("SESSIONDB_REQUIRE_SWIFT", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_swift()
    monkeypatch.setenv("SESSIONDB_REQUIRE_SWIFT", "1")
    with pytest.raises(pytest.fail.Exception, match="SESSIONDB_REQUIRE_SWIFT=1"):
        require_swift()
