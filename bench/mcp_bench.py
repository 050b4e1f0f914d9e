"""What an MCP `search` call costs on top of the library's own search.

    python bench/build_search_db.py --messages 100000 --out bench/out/search-100k.db
    python bench/mcp_bench.py --db bench/out/search-100k.db

Runs the search benchmark's query mix (search_bench.py) four ways, interleaved round
by round: the library call the tool makes (`SessionDB.search`, same limit, markers and
snippet length), the tool in process (argument checks, rendering), and a real
`sessiondb mcp` subprocess through the MCP SDK's client over stdio and over
streamable HTTP. Prints each query's medians and the per-call overhead of each face
(its median minus the library's). Target: overhead <= 20 ms. Wall-clock timings on
whatever machine runs it: compare runs made side by side. Because wall clock on a busy
machine mostly measures the other programs, it also prints CPU time per call (the
servers' from /proc, the client's from this process), which load changes far less.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

from search_bench import query_mix  # noqa: E402
from sessiondb import DbConfig, SearchOrder, SessionDB  # noqa: E402
from sessiondb.mcp.tools import MARKS, Archive, Tools  # noqa: E402

SESSIONDB = str(Path(sys.executable).with_name("sessiondb"))
ORDER_NAMES = {SearchOrder.SCORE: "score", SearchOrder.NEWEST: "newest", SearchOrder.OLDEST: "oldest"}


def tool_arguments(query: str, filters: dict, limit: int) -> dict:
    """The search tool's arguments for the library filters of the query mix."""
    args: dict = {"query": query, "limit": limit}
    for key, value in filters.items():
        if key == "project_id":
            args["project"] = str(value)
        elif key == "session_prefix":
            args["session"] = value
        elif key in ("since", "until"):
            args[key] = str(value)
        elif key == "order":
            args["order"] = ORDER_NAMES[SearchOrder(value)]
        else:
            args[key] = value
    return args


def library_arguments(filters: dict, limit: int) -> dict:
    # What Tools.search passes: one extra hit to know whether there is a next page.
    return {"limit": limit + 1, "highlight": MARKS, "snippet_chars": 200, **filters}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_server_pids() -> list[int]:
    """`sessiondb mcp` processes started by this one."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"mcp" in cmdline:
                found.append(int(entry.name))
    return found


def start_http(db: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([SESSIONDB, "mcp", "--http", "--port", "0", "--db", db],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
    if not found:
        process.kill()
        raise SystemExit(f"the HTTP server did not start: {line}")
    return process, found.group(0)


async def run(args: argparse.Namespace) -> None:
    db = SessionDB.connect(DbConfig.local(args.db, read_only=True))
    tools = Tools(Archive(args.db))
    mix = query_mix(db)
    cases = [(label, q, library_arguments(kw, args.limit), tool_arguments(q, kw, args.limit))
             for label, q, kw in mix]
    http, url = start_http(args.db)
    times: dict[str, dict[str, list[float]]] = {label: {"lib": [], "tool": [], "stdio": [], "http": []}
                                                for label, *_ in cases}
    cpu = {"lib": 0.0, "stdio client": 0.0, "http client": 0.0, "stdio server": 0.0, "http server": 0.0}
    try:
        params = StdioServerParameters(command=SESSIONDB, args=["mcp", "--db", args.db])
        async with Client(params) as stdio, Client(url) as web:
            for label, q, lib_kw, tool_kw in cases:   # warm caches on every side
                db.search(q, **lib_kw)
                tools.call("search", tool_kw)
                for client in (stdio, web):
                    result = await client.call_tool("search", tool_kw)
                    assert not result.is_error, result.content[0].text
            stdio_pid = next(pid for pid in child_server_pids() if pid != http.pid)
            servers_before = cpu_seconds(stdio_pid), cpu_seconds(http.pid)
            for _ in range(args.rounds):
                for label, q, lib_kw, tool_kw in cases:
                    c0, t0 = time.process_time(), time.perf_counter()
                    db.search(q, **lib_kw)
                    c1, t1 = time.process_time(), time.perf_counter()
                    tools.call("search", tool_kw)
                    t2 = time.perf_counter()
                    c2 = time.process_time()
                    await stdio.call_tool("search", tool_kw)
                    c3, t3 = time.process_time(), time.perf_counter()
                    await web.call_tool("search", tool_kw)
                    c4, t4 = time.process_time(), time.perf_counter()
                    for key, dt in (("lib", t1 - t0), ("tool", t2 - t1), ("stdio", t3 - t2), ("http", t4 - t3)):
                        times[label][key].append(dt * 1000)
                    cpu["lib"] += c1 - c0
                    cpu["stdio client"] += c3 - c2
                    cpu["http client"] += c4 - c3
            cpu["stdio server"] = cpu_seconds(stdio_pid) - servers_before[0]
            cpu["http server"] = cpu_seconds(http.pid) - servers_before[1]
    finally:
        http.terminate()
        http.wait(timeout=20)
    print(f"{db.get_stats().message_count:,} messages, {len(cases)} queries x {args.rounds} rounds, "
          f"limit {args.limit}; medians in ms\n")
    print(f"{'query':34} {'library':>8} {'tool':>7} {'stdio':>7} {'http':>7}   overhead: stdio  http")
    overhead: dict[str, list[float]] = {"tool": [], "stdio": [], "http": []}
    for label, *_ in cases:
        med = {k: statistics.median(v) for k, v in times[label].items()}
        for k in overhead:
            overhead[k].append(med[k] - med["lib"])
        print(f"{label:34} {med['lib']:8.2f} {med['tool']:7.2f} {med['stdio']:7.2f} {med['http']:7.2f}"
              f"   {med['stdio'] - med['lib']:14.2f} {med['http'] - med['lib']:5.2f}")
    print()
    for k, name in (("tool", "tool in process"), ("stdio", "MCP over stdio"), ("http", "MCP over HTTP")):
        values = sorted(overhead[k])
        print(f"per-call overhead, {name:16}: median {statistics.median(values):6.2f} ms, "
              f"worst query {values[-1]:6.2f} ms  (target <= 20 ms)")
    calls = args.rounds * len(cases)
    per = {k: v / calls * 1000 for k, v in cpu.items()}
    print(f"\nCPU per call (ms, mean): library {per['lib']:.2f}; stdio: server {per['stdio server']:.2f} + client "
          f"{per['stdio client']:.2f}; HTTP: server {per['http server']:.2f} + client {per['http client']:.2f}")
    for kind in ("stdio", "http"):
        extra = per[f"{kind} server"] - per["lib"] + per[f"{kind} client"]
        print(f"CPU overhead per call over {kind:5}: {extra:.2f} ms (server beyond its library search, plus client)")
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="bench/out/search-100k.db")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--limit", type=int, default=10, help="hits per call (the tool's default is 10)")
    args = ap.parse_args()
    if not Path(args.db).is_file():
        raise SystemExit(f"no database at {args.db}: build one with bench/build_search_db.py --out {args.db}")
    anyio.run(run, args)


if __name__ == "__main__":
    main()
