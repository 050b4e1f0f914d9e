"""C ABI benchmarks: per-call cost and first-call latency of libsessiondb, from C.

    python bench/capi_bench.py [--messages 20000] [--first-runs 15] [--out bench/out]

Compiles bench/capi_bench.c with -O2 against the installed library (python -m sessiondb
--cflags --libs), fills a database through the ABI, times each call kind, then starts
fresh processes to time the first call (interpreter start-up) and the first connect.
Targets (DESIGN §4): trivial call <= 1 us, first call <= 50 ms. Timings depend on the
machine and its load; compare ratios measured side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def flags() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "sessiondb", "--cflags", "--libs"], capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def build(workdir: Path) -> Path:
    program = workdir / "capi_bench"
    cflags = [f for f in flags() if f.startswith("-I")]
    libs = [f for f in flags() if not f.startswith("-I")]
    subprocess.run(["gcc", "-std=c99", "-O2", *cflags, str(HERE / "capi_bench.c"), "-o", str(program), *libs],
                   check=True)
    return program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--first-runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="capi-bench-") as tmp:
        workdir = Path(tmp)
        program = build(workdir)
        done = subprocess.run([str(program), "calls", str(workdir / "calls.db"), str(args.messages)],
                              capture_output=True, text=True, check=True)
        print(f"per call, {args.messages} messages in 10 projects:")
        print(done.stdout.rstrip())
        # As pip does at install: the package's bytecode exists before the first start
        # (an editable install, or PYTHONDONTWRITEBYTECODE=1, would compile every module
        # at every start and measure that instead).
        package = subprocess.run([sys.executable, "-c", "import sessiondb, os; print(os.path.dirname(sessiondb.__file__))"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
        firsts, connects = [], []
        for i in range(args.first_runs):
            out = subprocess.run([str(program), "first", str(workdir / f"first-{i}.db")], capture_output=True,
                                 text=True, check=True).stdout
            values = dict(line.split("\t") for line in out.strip().splitlines())
            firsts.append(float(values["first_call_us"]) / 1000)
            connects.append(float(values["first_connect_us"]) / 1000)
        for label, values in (("first call (interpreter start + package import)", firsts),
                              ("first connect after it (open + schema)", connects)):
            print(f"{label}: min {min(values):.1f} ms, median {statistics.median(values):.1f} ms, "
                  f"max {max(values):.1f} ms over {len(values)} processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
