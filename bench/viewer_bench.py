"""The web viewer's page times against the library's own time for the same work.

    python bench/build_search_db.py --messages 1000000 --out bench/out/search-1m.db
    python bench/viewer_bench.py --db bench/out/search-1m.db

1. Search page: the search benchmark's query mix (the ones the page's filters can
   express), each as a GET of ``/search`` on a running ``sessiondb serve``, against
   ``db.search`` with the same arguments in this process. Target: page time ≤ library
   time + 100 ms.
2. A 10,000-message transcript (built into ``--transcript-db``: markdown, code, tool
   calls with results): the time to the first screen, as the server's answer for the
   page and, with chromium installed, the browser's first contentful paint. Target ≤ 1 s.

Wall-clock timings on whatever machine runs it; compare runs made side by side.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_bench import query_mix  # noqa: E402

from sessiondb import DbConfig, MessageInput, MessageType, SearchOrder, SessionDB  # noqa: E402

MARKS = ("\ue000", "\ue001")
ORDER_NAMES = {SearchOrder.SCORE: "relevance", SearchOrder.NEWEST: "newest", SearchOrder.OLDEST: "oldest"}
TRANSCRIPT_ID = "bench-10k-0000-4000-8000-000000000000"


def start_server(db_path: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sessiondb", "serve", "--db", db_path, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line} {proc.stderr.read()}")
    return proc, line.split()[3].rstrip("/")


def get(url: str, path: str) -> tuple[float, int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return elapsed, response.status, body


def day_start_ms(ms: int) -> tuple[str, int]:
    day = datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d")
    return day, int(datetime.strptime(day, "%Y-%m-%d").timestamp() * 1000)


def page_queries(db: SessionDB) -> list[tuple[str, dict, dict]]:
    """(label, URL parameters, db.search keyword arguments) for the queries the page can express."""
    out = []
    for label, q, kw in query_mix(db):
        if "session_prefix" in kw:
            continue
        params, lib = {"q": q}, {"limit": 20, "highlight": MARKS}
        if "order" in kw:
            params["order"] = ORDER_NAMES[SearchOrder(kw["order"])]
            lib["order"] = kw["order"]
        if "project_id" in kw:
            params["project"] = lib["project_id"] = kw["project_id"]
        for key in ("role", "source"):
            if key in kw:
                params[key] = lib[key] = kw[key]
        if "since" in kw:
            params["since"], lib["since"] = day_start_ms(kw["since"])
        out.append((label, params, lib))
    return out


def bench_search(db_path: str, rounds: int) -> None:
    db = SessionDB.connect(DbConfig.local(db_path, read_only=True))
    queries = page_queries(db)
    proc, url = start_server(db_path)
    try:
        for _, params, lib in queries:      # warm both sides
            db.search(**{"query": params["q"], **lib})
            get(url, "/search?" + urlencode(params))
        print(f"search page vs db.search: {db.get_stats().message_count:,} messages, {len(queries)} queries x "
              f"{rounds} rounds\n")
        print(f"{'query':34} {'library ms':>10} {'page ms':>8} {'over ms':>8} {'hits':>5}")
        overs, pages, libs = [], [], []
        for label, params, lib in queries:
            lib_times, page_times, hits, differ = [], [], 0, 0
            for _ in range(rounds):
                started = time.perf_counter()
                hits = len(db.search(**{"query": params["q"], **lib}))
                lib_times.append((time.perf_counter() - started) * 1000)
                elapsed, status, body = get(url, "/search?" + urlencode(params))
                assert status == 200, (status, body[:200])
                page_times.append(elapsed)
                # The search stops at its time budget on very common words, so two calls may
                # differ; counted, not asserted.
                differ += len(re.findall(rb'<li class="hit">', body)) != hits
            lib_ms, page_ms = statistics.median(lib_times), statistics.median(page_times)
            overs += [p - q for p, q in zip(page_times, lib_times)]
            pages += page_times
            libs += lib_times
            note = f"  ({differ} rounds with another hit count)" if differ else ""
            print(f"{label:34} {lib_ms:10.1f} {page_ms:8.1f} {page_ms - lib_ms:8.1f} {hits:5d}{note}")
        overs.sort()
        p99 = overs[min(len(overs) - 1, int(len(overs) * 0.99))]
        print(f"\nall calls: library p50 {statistics.median(libs):.1f} ms, page p50 {statistics.median(pages):.1f} ms; "
              f"page - library: p50 {statistics.median(overs):.1f} ms, p99 {p99:.1f} ms, max {overs[-1]:.1f} ms "
              "(target ≤ 100 ms)\n")
    finally:
        proc.terminate()
        proc.wait()
        db.close()


def build_transcript_db(path: Path, count: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with SessionDB.connect(DbConfig.local(path)) as db:
        pid = db.get_or_create_project("bench", "/home/dev/bench", "claude")
        db.upsert_session(TRANSCRIPT_ID, pid)
        start = 1_767_000_000_000
        batch = []
        for i in range(count):
            ts = start + i * 2000
            kind = i % 5
            if kind == 0:
                m = MessageInput(f"b{i}", MessageType.USER, f"Step {i}: make `parse_{i}` handle **nested** lists.",
                                 f"Step {i}: make `parse_{i}` handle **nested** lists.", ts, i, source="claude")
            elif kind == 1:
                text = (f"Here is the change for step {i}:\n\n```python\ndef parse_{i}(items):\n"
                        f"    return [parse_{i}(x) if isinstance(x, list) else x for x in items]\n```\n\n"
                        "- keeps order\n- handles empty lists\n")
                m = MessageInput(f"b{i}", MessageType.ASSISTANT, text, text, ts, i, source="claude",
                                 model="claude-sonnet-4-5")
            elif kind == 2:
                args = f'{{"command": "pytest -q tests/test_parse_{i}.py", "description": "Run the tests"}}'
                m = MessageInput(f"b{i}", MessageType.ASSISTANT, "", f"[Tool: Bash] {args}", ts, i, source="claude",
                                 tool_call_id=f"toolu_{i}", tool_name="Bash", tool_args=args)
            elif kind == 3:
                out = "\n".join(f"tests/test_parse_{i}.py::test_{j} PASSED" for j in range(8))
                m = MessageInput(f"b{i}", MessageType.TOOL, "", f"[Result] {out}", ts, i, source="claude",
                                 tool_call_id=f"toolu_{i - 1}")
            else:
                m = MessageInput(f"b{i}", MessageType.ASSISTANT, "", f"[Thinking] Step {i} looks fine; next one.",
                                 ts, i, source="claude", model="claude-sonnet-4-5")
            batch.append(m)
            if len(batch) == 2000:
                db.insert_messages(TRANSCRIPT_ID, batch)
                batch = []
        if batch:
            db.insert_messages(TRANSCRIPT_ID, batch)


def browser_paint_ms(url: str, rounds: int) -> list[tuple[float, float]] | None:
    """(first contentful paint, load event) in ms from navigation start, via headless chromium."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    if not chromium or not driver:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        times = []
        for _ in range(rounds + 1):
            browser.get("about:blank")
            browser.get(url)
            fcp = browser.execute_script(
                "const e = performance.getEntriesByName('first-contentful-paint')[0]; return e ? e.startTime : null")
            load = browser.execute_script("const n = performance.getEntriesByType('navigation')[0]; "
                                          "return n.loadEventEnd || n.domContentLoadedEventEnd")
            times.append((fcp or 0.0, load or 0.0))
        return times[1:]
    finally:
        browser.quit()


def bench_transcript(path: Path, count: int, rounds: int, rebuild: bool) -> None:
    if rebuild or not path.exists():
        started = time.perf_counter()
        build_transcript_db(path, count)
        print(f"built {path} ({count:,} messages) in {time.perf_counter() - started:.1f} s")
    with SessionDB.connect(DbConfig.local(path, read_only=True)) as db:
        total = db.get_session_message_count(TRANSCRIPT_ID)
        last_id = db.list_messages(TRANSCRIPT_ID, limit=1, desc=True)[0].id
    proc, url = start_server(str(path))
    try:
        cases = [("first page", f"/session/{TRANSCRIPT_ID}"),
                 ("page at the last message", f"/session/{TRANSCRIPT_ID}?at={last_id}"),
                 ("next page (lazy load)", f"/session/{TRANSCRIPT_ID}/messages?offset=5000&limit=200")]
        print(f"{total:,}-message transcript, {rounds} rounds\n")
        print(f"{'request':34} {'median ms':>9} {'max ms':>8} {'KB':>6}")
        for label, target in cases:
            get(url, target)
            times, size = [], 0
            for _ in range(rounds):
                elapsed, status, body = get(url, target)
                assert status == 200
                times.append(elapsed)
                size = len(body)
            print(f"{label:34} {statistics.median(times):9.1f} {max(times):8.1f} {size / 1024:6.0f}")
        paint = browser_paint_ms(url + f"/session/{TRANSCRIPT_ID}", rounds)
        if paint:
            fcp = [p[0] for p in paint]
            load = [p[1] for p in paint]
            print(f"{'browser: first contentful paint':34} {statistics.median(fcp):9.1f} {max(fcp):8.1f}")
            print(f"{'browser: load event':34} {statistics.median(load):9.1f} {max(load):8.1f}")
        else:
            print("(no chromium + chromedriver + selenium: browser paint not measured)")
        print("target: first screen ≤ 1000 ms")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="bench/out/search-1m.db", help="database of build_search_db.py")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--transcript-db", default="bench/out/viewer-10k.db")
    ap.add_argument("--transcript-messages", type=int, default=10_000)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the transcript database")
    ap.add_argument("--only", choices=["search", "transcript"])
    args = ap.parse_args()
    if args.only != "transcript":
        if not os.path.exists(args.db):
            raise SystemExit(f"{args.db} is missing: python bench/build_search_db.py --out {args.db}")
        bench_search(args.db, args.rounds)
    if args.only != "search":
        bench_transcript(Path(args.transcript_db), args.transcript_messages, args.rounds, args.rebuild)


if __name__ == "__main__":
    main()
