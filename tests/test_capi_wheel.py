"""The wheel: built with ``python -m build``, installed into a fresh virtual
environment, and used from there by the ctypes smoke test and the C test (the library
inside the wheel must work from wherever it is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from capi_helpers import C_DIR, SUMMARY, claude_projects, compile_c, isolated_env, library_path, run

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installed_in_a_fresh_venv_works(tmp_path: Path) -> None:
    if os.environ.get("SESSIONDB_SKIP_WHEEL_TEST") == "1":
        pytest.skip("SESSIONDB_SKIP_WHEEL_TEST=1")
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "-q", str(wheels[0])], capture_output=True,
                               text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-5000:]

    library = library_path(python)
    assert library.is_file() and str(library).startswith(str(venv)), library
    env = isolated_env(tmp_path)
    env.pop("PYTHONPATH", None)
    env["PATH"] = "/usr/bin:/bin"  # the library must find its venv by itself
    smoke = subprocess.run([python, str(ROOT / "tests" / "ctypes_smoke.py"), str(library), str(tmp_path / "c.db")],
                           capture_output=True, text=True, timeout=120, env=env)
    assert smoke.returncode == 0 and SUMMARY.search(smoke.stdout), smoke.stdout + smoke.stderr[-3000:]
    assert "SKIP" not in smoke.stdout

    root = tmp_path / "claude-projects"
    session = claude_projects(root)
    program = compile_c(C_DIR / "capi_all.c", tmp_path / "capi_all", python=python)
    env["CLAUDE_PROJECTS_PATH"] = str(root)
    run([str(program), str(tmp_path / "db" / "all.db"), str(root), str(session)], env=env, timeout=180)

    # The upstream ABI ships in the wheel too: its header and the library under ETerm's name.
    includedir = Path(subprocess.run([python, "-m", "sessiondb", "--includedir"], capture_output=True, text=True,
                                     timeout=60, check=True).stdout.strip())
    assert (includedir / "ai_cli_session_db.h").is_file()
    alias = library.parent / library.name.replace("libsessiondb", "libai_cli_session_db")
    assert alias.is_file(), sorted(p.name for p in library.parent.iterdir())
    upstream = compile_c(C_DIR / "upstream_api.c", tmp_path / "upstream_api", python=python)
    subagent = root / "-work-demo" / "abc" / "subagents" / "agent-sub1.jsonl"
    subagent.parent.mkdir(parents=True)
    subagent.write_text('{"uuid": "s-1", "type": "user", "cwd": "/work/demo", "sessionId": "abc", "agentId": "sub1", '
                        '"isSidechain": true, "timestamp": "2026-01-20T10:00:02.000Z", '
                        '"message": {"role": "user", "content": "review the heartbeat"}}\n', encoding="utf-8")
    run([str(upstream), "all", str(tmp_path / "agent-data"), str(root), str(session), str(subagent)], env=env,
        timeout=180)
