"""Every code block of README.md runs as written (rules in readme_blocks.py): a wrong README
fails the tests."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from readme_blocks import PYTHONS, ROOT, SHELLS, Workspace, blocks, is_benchmark, parse_json, quick_start_blocks, \
    shrink_benchmarks

ALL = blocks()


def test_the_readme_has_blocks_of_every_kind_the_test_runs() -> None:
    kinds = {b.lang for b in ALL}
    assert {"python", "c", "swift", "json"} & kinds >= {"python", "c", "swift"}
    assert kinds & SHELLS
    quick = quick_start_blocks(ALL)
    assert len(quick) == 2 and quick[1].code.strip() in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_swift_and_c_blocks_are_complete() -> None:
    """No fragments: every Swift block names its file or is a whole program, and so is C."""
    for block in ALL:
        if block.lang == "swift":
            assert block.named_file or "import SessionDB" in block.code, f"{block.label} is a fragment"
        if block.lang == "c":
            assert "int main" in block.code, f"{block.label} is not a program"


# The README's mirror examples name an example server; here they run against the test's own.
EXAMPLE_MIRROR = "postgresql://me@db.example/sessions"


def test_every_block_runs(tmp_path: Path, pg_url: str) -> None:
    if shutil.which("swift") is None and not Path("/opt/swift/usr/bin/swift").exists():
        if os.environ.get("SESSIONDB_REQUIRE_SWIFT") == "1":
            pytest.fail("no Swift toolchain, and SESSIONDB_REQUIRE_SWIFT=1")
        pytest.skip("no Swift toolchain to build the README's Swift blocks")
    workspace = Workspace(tmp_path)
    quick = {b.line for b in quick_start_blocks(ALL)}
    swift_apps: list[Path] = []
    for block in ALL:
        if block.named_file:
            written = workspace.write_named(block)
            if written.name == "Package.swift":
                swift_apps.append(written.parent)
    ran: list[str] = []
    for block in ALL:
        started = time.monotonic()
        if block.line in quick:
            continue   # run on a clean clone by test_quickstart.py / by .ci/run itself
        if block.lang in SHELLS:
            code = shrink_benchmarks(block.code) if is_benchmark(block.code) else block.code
            result = workspace.run_shell(code.replace(EXAMPLE_MIRROR, pg_url))
        elif block.lang in PYTHONS:
            result = workspace.run_python(block.code.replace(EXAMPLE_MIRROR, pg_url))
        elif block.lang == "c":
            result = workspace.run_c(block, tmp_path / "c")
        elif block.lang == "swift":
            if block.named_file:
                continue   # built with its package below
            results = workspace.build_swift_app(workspace.scratch_swift_app(block))
            result = next((r for r in results if r.returncode != 0), results[-1])
        elif block.lang == "json":
            parse_json(block.code)
            ran.append(block.label)
            continue
        else:
            continue
        assert result.returncode == 0, f"{block.label} failed (exit {result.returncode}):\n{block.code}\n" \
                                       f"--- output\n{result.stdout[-6000:]}"
        assert "Traceback" not in result.stdout, f"{block.label}:\n{result.stdout[-6000:]}"
        ran.append(f"{block.label}: {time.monotonic() - started:.1f} s")
    for folder in swift_apps:
        for result in workspace.build_swift_app(folder):
            assert result.returncode == 0, f"swift app {folder} failed:\n{result.stdout[-6000:]}"
        ran.append(f"swift app {folder.name}")
    print("ran:", *ran, sep="\n  ")
