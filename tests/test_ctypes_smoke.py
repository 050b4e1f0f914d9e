"""libsessiondb loaded with ctypes into Python processes (subprocesses with timeouts:
the library joins the host's interpreter and would change the test runner's state)."""

from __future__ import annotations

import glob
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from capi_helpers import SUMMARY, isolated_env, library_path

SCRIPT = Path(__file__).resolve().parent / "ctypes_smoke.py"


def run_script(python: str, *args: str, env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run([python, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env)
    report = f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-5000:]}"
    assert done.returncode == 0, report
    summary = SUMMARY.findall(done.stdout)
    assert summary and summary[-1][1] == "0" and int(summary[-1][0]) > 0, report
    return done.stdout


@pytest.mark.parametrize("mode", ["cdll", "pydll"])
def test_ctypes_in_the_same_python(tmp_path: Path, mode: str) -> None:
    extra = ["--pydll"] if mode == "pydll" else []
    out = run_script(sys.executable, str(library_path()), str(tmp_path / "ctypes.db"), *extra,
                     env=isolated_env(tmp_path))
    assert "SKIP" not in out


def other_python() -> str | None:
    """An interpreter of another minor version with a shared libpython, if installed."""
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    pyenv_roots = {os.environ.get("PYENV_ROOT") or "", os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".pyenv")}
    candidates = []
    for minor in ("3.12", "3.13", "3.10"):
        if minor == ours:
            continue
        for root in sorted(r for r in pyenv_roots if r):
            candidates += sorted(glob.glob(os.path.join(root, "versions", f"{minor}*", "bin", f"python{minor}")))
        candidates += [p for p in (f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}") if os.path.exists(p)]
    for python in candidates:
        try:
            shared = subprocess.run([python, "-c", "import sysconfig;print(sysconfig.get_config_var('Py_ENABLE_SHARED'))"],
                                    capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if shared == "1":
            return python
    return None


def test_another_python_version_gets_an_error_not_a_hang(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no other CPython version with a shared libpython is installed")
    env = isolated_env(tmp_path)
    env.pop("PYTHONPATH", None)
    # The version check a loader should make, in pure C:
    out = run_script(python, str(library_path()), str(tmp_path / "x.db"), env=env)
    assert "SKIP: library built for Python" in out
    # And without it, the library itself refuses (within the timeout: no spin).
    out = run_script(python, str(library_path()), str(tmp_path / "x.db"), "--skip-version-check", env=env,
                     timeout=60)
    assert "refused:" in out
