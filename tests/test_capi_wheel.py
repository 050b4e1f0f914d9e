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
