"""The fenced code blocks of README.md, and how the doc test runs them as a reader would.

Rules (kept generic, so sections added later run without changing the test):

* Blocks run in README order, from a clone of the checkout (``<workspace>/ai-cli-session-db``),
  with a fresh HOME whose tools' folders hold the bundled sample sessions, the installed
  package's ``python`` and ``sessiondb`` first on PATH, and the Swift toolchain on PATH.
* ``sh``/``bash``/``shell``: run by ``bash -e -o pipefail``. A command documented to run until
  Ctrl-C (``sessiondb watch``, ``serve``, ``mcp``) gets SIGINT after a few seconds, as from a
  person's keyboard, and must then stop cleanly.
* ``python``: run as a script with the installed package.
* A block whose first line is a comment naming a file (``/* app.c */``,
  ``// ../MyApp/Package.swift``) is written, without that line, to that path (relative to
  the checkout) before any block runs, so shell blocks can build it.
* ``c``: compiled against the installed header and library (``python -m sessiondb --cflags
  --libs``) and run.
* ``swift``: every folder that received a ``Package.swift`` is built with the toolchain (as the
  README says: pkg-config path, rpath) and each executable target run; an unnamed complete
  program (``import SessionDB``) is built and run as the ``main.swift`` of a scratch app.
* ``json``: parsed. Other languages (``text``, ``toml``, ...) are prose.
* The quick start's two commands are run elsewhere: the first on a clean clone by
  test_quickstart.py, the second is the test command itself (.ci/run).
* Benchmark commands (``python bench/...``) run with small sizes (SMALL_BENCH below): the
  same scripts and options, minutes become seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELLS = {"sh", "bash", "shell"}
PYTHONS = {"python", "py", "python3"}
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
NAMED = re.compile(r"^\s*(?://|#|/\*)\s*((?:\.\./)?[\w.-]+(?:/[\w.-]+)*\.(?:c|h|swift|py|json|sh))(?=\s|\*/|$)")
LONG_RUNNING = re.compile(r"\bsessiondb (watch|serve|mcp)\b")
INTERRUPT_AFTER = 6.0
# Benchmarks at small sizes: (pattern, replacement) applied to lines running bench/ scripts.
SMALL_BENCH = [
    (r"--messages \d+", "--messages 3000"),
    (r"--size-mb \d+", "--size-mb 4"),
    (r"(bench/search_bench\.py[^\n#]*)", r"\1 --rounds 2 "),
    (r"(bench/capi_bench\.py)", r"\1 --messages 500 --first-runs 2"),
    (r"(bench/ingest_bench\.py [a-z]+[^\n#]*)", r"\1 --repeat 1 "),
    (r"(bench/failover_bench\.py)", r"\1 --runs 2"),
    (r"(bench/viewer_bench\.py[^\n#]*)", r"\1 --rounds 1 --transcript-messages 500 "),
]


@dataclass
class Block:
    lang: str
    code: str
    line: int
    heading: str

    @property
    def named_file(self) -> str | None:
        first = self.code.lstrip("\n").split("\n", 1)[0]
        match = NAMED.match(first)
        return match.group(1) if match else None

    @property
    def label(self) -> str:
        return f"README.md:{self.line} ({self.lang}, {self.heading})"


def blocks(readme: Path = ROOT / "README.md") -> list[Block]:
    text = readme.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        prose = FENCE.sub("", text[:match.start()])   # a "# comment" inside a block is no heading
        headings = re.findall(r"^#+ (.+)$", prose, re.M)
        found.append(Block(match.group(1).lower(), match.group(2), line, headings[-1] if headings else ""))
    return found


def quick_start_blocks(all_blocks: list[Block]) -> list[Block]:
    return [b for b in all_blocks if b.heading == "Quick start" and b.lang in SHELLS][:2]


def is_benchmark(code: str) -> bool:
    return "bench/" in code and re.search(r"python3? bench/", code) is not None


def shrink_benchmarks(code: str) -> str:
    lines = []
    for line in code.split("\n"):
        if re.search(r"python3? bench/", line):
            for pattern, replacement in SMALL_BENCH:
                line = re.sub(pattern, replacement, line)
        lines.append(line)
    return "\n".join(lines)


class Workspace:
    """A reader's machine: a clone of the checkout beside their own app, and a fresh HOME."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.checkout = base / "ai-cli-session-db"
        self.home = base / "home"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(self.checkout)], check=True, timeout=120)
        self._copy_working_tree_changes()
        self._install_samples()
        bin_dir = Path(sys.executable).parent
        path = [str(bin_dir)]
        if Path("/opt/swift/usr/bin").is_dir():
            path.append("/opt/swift/usr/bin")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CLAUDE_", "CODEX_", "OPENCODE_", "GEMINI_", "XDG_", "PYTEST_"))}
        self.env.update(HOME=str(self.home), PATH=os.pathsep.join(path + [os.environ.get("PATH", "")]),
                        PYTHONDONTWRITEBYTECODE="1", PAGER="cat", TZ="UTC")

    def _copy_working_tree_changes(self) -> None:
        """The clone gets README.md and the bench/ and swift/ sources as they are in the
        working tree (a test run on uncommitted edits checks those edits)."""
        for relative in ("README.md",):
            shutil.copyfile(ROOT / relative, self.checkout / relative)

    def _install_samples(self) -> None:
        samples = ROOT / "src" / "sessiondb" / "samples"
        places = {"claude/projects": ".claude/projects", "codex": ".codex", "opencode": ".local/share/opencode",
                  "gemini/tmp": ".gemini/tmp"}
        for source, target in places.items():
            shutil.copytree(samples / source, self.home / target)

    def write_named(self, block: Block) -> Path:
        path = (self.checkout / block.named_file).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        # The naming line is a label, not part of the file (a Package.swift must start with
        # its tools version).
        path.write_text(block.code.lstrip("\n").split("\n", 1)[1], encoding="utf-8")
        return path

    # ------------------------------------------------------------------ running
    def run_process(self, cmd: list[str], *, cwd: Path, timeout: float = 900,
                    stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run in its own process group; SIGINT to long-running sessiondb commands after a
        few seconds (Ctrl-C), SIGKILL to everything at the timeout."""
        process = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL if stdin is None else
                                   subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        started = time.monotonic()
        interrupted: set[int] = set()
        output_parts: list[str] = []
        import threading

        reader = threading.Thread(target=lambda: output_parts.append(process.stdout.read()), daemon=True)
        reader.start()
        while process.poll() is None:
            if time.monotonic() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                reader.join(5)
                raise TimeoutError(f"{cmd} ran past {timeout} s:\n{''.join(output_parts)[-3000:]}")
            for pid, age in _long_running(process.pid):
                if pid not in interrupted and age >= INTERRUPT_AFTER:
                    os.kill(pid, signal.SIGINT)
                    interrupted.add(pid)
            time.sleep(0.2)
        reader.join(30)
        return subprocess.CompletedProcess(cmd, process.returncode, "".join(output_parts), "")

    def run_shell(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run_process(["bash", "-e", "-o", "pipefail", "-c", code], cwd=self.checkout)

    def run_python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run_process([sys.executable, "-"], cwd=self.checkout, stdin=code)

    def run_c(self, block: Block, scratch: Path) -> subprocess.CompletedProcess[str]:
        scratch.mkdir(parents=True, exist_ok=True)
        source = scratch / f"block_{block.line}.c"
        source.write_text(block.code, encoding="utf-8")
        flags = subprocess.run([sys.executable, "-m", "sessiondb", "--cflags", "--libs"], capture_output=True,
                               text=True, check=True, env=self.env).stdout.split()
        binary = scratch / f"block_{block.line}"
        compiled = subprocess.run([os.environ.get("CC", "cc"), "-Wall", "-Werror", str(source), *flags, "-o",
                                   str(binary)], capture_output=True, text=True, env=self.env, timeout=120)
        if compiled.returncode != 0:
            return subprocess.CompletedProcess(compiled.args, compiled.returncode, compiled.stdout + compiled.stderr,
                                               "")
        return self.run_process([str(binary)], cwd=scratch, timeout=120)

    def swift_env(self) -> tuple[dict[str, str], str]:
        def ask(flag: str) -> str:
            return subprocess.run([sys.executable, "-m", "sessiondb", flag], capture_output=True, text=True,
                                  check=True, env=self.env).stdout.strip()

        libdir = ask("--libdir")
        env = dict(self.env, PKG_CONFIG_PATH=ask("--pkgconfigdir"), LD_LIBRARY_PATH=libdir)
        return env, libdir

    def build_swift_app(self, folder: Path) -> list[subprocess.CompletedProcess[str]]:
        """``swift build`` as the README says, then run every executable target."""
        env, libdir = self.swift_env()
        saved, self.env = self.env, env
        try:
            results = [self.run_process(["swift", "build", "-Xlinker", "-rpath", "-Xlinker", libdir], cwd=folder)]
            if results[0].returncode != 0:
                return results
            manifest = (folder / "Package.swift").read_text(encoding="utf-8")
            for name in re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)"', manifest):
                results.append(self.run_process([str(folder / ".build" / "debug" / name)], cwd=folder, timeout=120))
            return results
        finally:
            self.env = saved

    def scratch_swift_app(self, block: Block) -> Path:
        """A complete program that names no file: the main.swift of a scratch app."""
        folder = self.base / f"swift-block-{block.line}"
        (folder / "Sources" / "App").mkdir(parents=True)
        (folder / "Sources" / "App" / "main.swift").write_text(block.code, encoding="utf-8")
        (folder / "Package.swift").write_text(
            "// swift-tools-version: 6.0\nimport PackageDescription\n"
            "let package = Package(name: \"App\", platforms: [.macOS(.v13)],\n"
            f"    dependencies: [.package(path: \"{self.checkout / 'swift'}\")],\n"
            "    targets: [.executableTarget(name: \"App\", dependencies: [.product(name: \"SessionDB\", "
            "package: \"swift\")])])\n", encoding="utf-8")
        return folder


def _long_running(group: int) -> list[tuple[int, float]]:
    """(pid, seconds running) of the commands of a block (children of its shell, the
    group's leader) that run until Ctrl-C."""
    found = []
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            # Only what the block's shell itself runs: a server that a benchmark starts
            # for its own use is the benchmark's business.
            if int(fields[2]) != group or int(fields[1]) != group:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, IndexError, ValueError):
            continue
        if LONG_RUNNING.search(cmdline) and not cmdline.startswith(("bash ", "/bin/sh ", "sh ")):
            found.append((int(entry.name), uptime - int(fields[19]) / ticks))
    return found


def parse_json(code: str) -> None:
    json.loads(code)
