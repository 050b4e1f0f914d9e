"""The README's quick start, run as a new user would: a clean clone, nothing but python3
(Debian's refuses a system-wide `pip install`, PEP 668), and, the hard case, no working
C compiler and no python3-venv: the first command must still install everything but the
C library, and say in one line what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from readme_blocks import blocks, quick_start_blocks

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    return [b.code.strip() for b in quick_start_blocks(blocks())]


def test_readme_shows_two_commands_and_ci_runs_the_test_command() -> None:
    demo, tests = quick_start_commands()
    assert "sessiondb demo" in demo and "./install" in demo
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _system_python() -> Path:
    """Debian's /usr/bin/python3 when it is new enough (the real fresh-machine case), else ours."""
    system = Path("/usr/bin/python3")
    if system.exists():
        ok = subprocess.run([str(system), "-c", "import sys; sys.exit(sys.version_info < (3, 11))"])
        if ok.returncode == 0:
            return system
    return Path(sys.executable)


def _fresh_machine(tmp_path: Path) -> dict[str, str]:
    """PATH with only a python3 (which, like Debian's without python3-venv, cannot make a
    venv with pip) and a C compiler that always fails."""
    python = _system_python()
    tools = tmp_path / "bin"
    tools.mkdir()
    (tmp_path / "fresh-home").mkdir()
    (tools / "python3").write_text(
        "#!/bin/sh\n"
        "# Like Debian's python3 without python3-venv: `-m venv` fails unless --without-pip.\n"
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
        '  case " $* " in *" --without-pip "*) ;; *)\n'
        '    echo "The virtual environment was not created successfully because ensurepip is not available." >&2\n'
        "    exit 1;; esac\n"
        "fi\n"
        f'exec {python} "$@"\n', encoding="utf-8")
    (tools / "failing-cc").write_text("#!/bin/sh\necho 'failing-cc: no compiler here' >&2\nexit 1\n",
                                      encoding="utf-8")
    for tool in tools.iterdir():
        tool.chmod(0o755)
    env = {"HOME": str(tmp_path / "fresh-home"), "PATH": f"{tools}:/usr/bin:/bin", "CC": str(tools / "failing-cc"),
           "LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CERT", "SSL_CERT_FILE", "http_proxy", "https_proxy",
                 "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def test_first_command_on_a_fresh_machine_without_a_compiler(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = _fresh_machine(tmp_path)
    demo = quick_start_commands()[0]
    started = time.monotonic()
    result = subprocess.run(demo, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    print(f"quick start on a clean clone: {seconds:.1f} s")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "sample sessions" in result.stdout and "Try next:" in result.stdout
    assert "Traceback" not in output
    notices = [line for line in result.stderr.splitlines() if "C library" in line and "not built" in line]
    assert len(notices) == 1, result.stderr[-4000:]
    assert "compiler" in notices[0] and "apt install gcc python3-dev" in notices[0]
    # Everything else works; asking for the library says what is missing.
    sessiondb = clone / ".venv" / "bin" / "sessiondb"
    libs = subprocess.run([str(sessiondb), "--libs"], env=env, capture_output=True, text=True, timeout=60)
    assert libs.returncode == 1 and "not built" in libs.stderr
    search = subprocess.run([str(sessiondb), "search", "x", "--db", str(tmp_path / "none.db")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert search.returncode == 3 and "no database" in search.stderr
