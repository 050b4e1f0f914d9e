"""``sessiondb serve`` and ``sessiondb export`` as processes, over real HTTP."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from viewer_helpers import HOSTILE_ID, HOSTILE_TEXTS, LIVE_ID, SHORT_ID, ServerProcess, build_viewer_db

from sessiondb import DbConfig, Role, SessionDB, WriterType


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_viewer_db(tmp_path_factory.mktemp("http"))


@pytest.fixture(scope="module")
def server(corpus):
    proc = ServerProcess(corpus[0])
    yield proc
    proc.stop()


def request(server: ServerProcess, path: str, *, method: str = "GET", host: str | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", parts.netloc if host is None else host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sessiondb", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


PAGES = ["/", "/search?q=locked", "/sessions", "/projects", "/status", f"/session/{SHORT_ID}",
         f"/session/{SHORT_ID}/messages?offset=0&limit=5", "/static/viewer.css", "/static/viewer.js"]


def test_server_prints_its_loopback_url(server: ServerProcess) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert "read-only" in server.banner


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_strict_csp(server: ServerProcess, path: str) -> None:
    status, headers, _ = request(server, path)
    assert status == 200
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil", ""])
def test_foreign_host_headers_are_refused(server: ServerProcess, host: str) -> None:
    status, _, body = request(server, "/", host=host)
    assert status == 421 and b"Host" in body


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]:1234"])
def test_loopback_host_names_are_served(server: ServerProcess, host: str) -> None:
    assert request(server, "/status", host=host)[0] == 200


@pytest.mark.parametrize("path", ["/static/../command.py", "/static/%2e%2e/command.py", "/static/templates/base.html",
                                  "/static/..%2Fapp.py", "/../../etc/passwd", "/static/", "/static/viewer.css/..",
                                  "/templates/base.html", "/session/x/../../etc/passwd"])
def test_nothing_outside_the_app_is_served(server: ServerProcess, path: str) -> None:
    status, _, body = request(server, path)
    assert status == 404
    assert b"import " not in body and b"root:" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_endpoint_accepts_writes(server: ServerProcess, method: str) -> None:
    for path in ("/", "/search", f"/session/{SHORT_ID}", "/status"):
        assert request(server, path, method=method)[0] == 405


def test_hostile_text_reaches_the_page_escaped(server: ServerProcess) -> None:
    for path in (f"/session/{HOSTILE_ID}", "/search?q=hostilemarker", "/sessions", "/"):
        status, _, body = request(server, path)
        page = body.decode()
        main = page.split("<main>", 1)[1]
        assert status == 200
        for tag in ("<script", "<img", "<svg", "<iframe", "<style"):
            assert tag not in main, (path, tag)
        assert "javascript:" not in " ".join(part.split('"')[0] for part in main.split('href="')[1:])
    page = request(server, f"/session/{HOSTILE_ID}")[2].decode()
    assert "&lt;script&gt;window.__pwned" in page and "&lt;img src=x onerror=" in page


def test_unknown_session_is_a_404_page(server: ServerProcess) -> None:
    status, _, body = request(server, "/session/no-such-session")
    assert status == 404 and b"No such session" in body


def test_session_prefix_opens_the_session(server: ServerProcess) -> None:
    status, _, body = request(server, f"/session/{SHORT_ID[:8]}")
    assert status == 200 and SHORT_ID.encode() in body


def test_event_stream_reports_the_message_count(server: ServerProcess) -> None:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", f"/events/session/{LIVE_ID}")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
    seen = b""
    while b"event: count" not in seen or not seen.endswith(b"\n\n"):
        seen += response.read1(1024)
    conn.close()
    with SessionDB.connect(DbConfig.local(server.db_path, read_only=True)) as db:
        total = db.get_session_message_count(LIVE_ID)
    assert f'data: {{"total": {total}}}'.encode() in seen


def test_viewer_is_read_only_beside_a_writer(corpus) -> None:
    db_path = corpus[0]
    with SessionDB.connect(DbConfig.local(db_path)) as writer:
        assert writer.register_writer(WriterType.MEMEX_DAEMON) == Role.WRITER
        before = writer.current_writer()
        proc = ServerProcess(db_path)
        try:
            for path in PAGES:
                assert request(proc, path)[0] == 200
            assert writer.current_writer() == before          # the viewer never took or touched the role
            writer.heartbeat()                                 # and the writer still owns the database
        finally:
            code, out, err = proc.stop()
        writer.release_writer()
    assert code == 0 and "stopped" in out and "Traceback" not in err


def test_ctrl_c_stops_the_server_with_an_open_event_stream(corpus) -> None:
    proc = ServerProcess(corpus[0])
    parts = urlsplit(proc.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", f"/events/session/{LIVE_ID}")
    response = conn.getresponse()
    assert response.read1(64)
    code, out, err = proc.stop(signal.SIGINT, timeout=20)
    conn.close()
    assert code == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_another_address_needs_the_flag_and_gets_a_warning(corpus) -> None:
    proc = ServerProcess(corpus[0], "--host", "0.0.0.0")
    try:
        parts = urlsplit(proc.url)
        assert parts.hostname == "0.0.0.0"
        assert request(proc, "/status", host=f"127.0.0.1:{parts.port}")[0] == 200
        assert request(proc, "/status", host="attacker.example")[0] == 421
    finally:
        code, _, err = proc.stop()
    assert "warning: listening on 0.0.0.0" in err


def test_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    result = run_cli("serve", "--db", str(tmp_path / "none.db"), "--port", "0")
    assert result.returncode == 3 and "no database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_missing_web_stack_is_one_line(corpus, tmp_path: Path) -> None:
    # A sitecustomize that hides starlette, as an installation without it would be.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['starlette'] = None\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = run_cli("serve", "--db", str(corpus[0]), "--port", "0", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr and "starlette" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_cli("--help", env=env).returncode == 0


def test_export_writes_html_and_markdown(corpus, tmp_path: Path) -> None:
    html, md = tmp_path / "t.html", tmp_path / "t.md"
    result = run_cli("export", SHORT_ID[:8], "--html", str(html), "--markdown", str(md), "--db", str(corpus[0]))
    assert result.returncode == 0, result.stderr
    text = html.read_text()
    assert "<script" not in text and "Checkout fails with <strong>database is locked</strong>" in text
    assert md.read_text().startswith("# Checkout fails")


def test_export_of_hostile_session_is_inert(corpus, tmp_path: Path) -> None:
    out = tmp_path / "evil.html"
    assert run_cli("export", HOSTILE_ID, "--html", str(out), "--db", str(corpus[0])).returncode == 0
    body = out.read_text().split("<body", 1)[1]
    for tag in ("<script", "<img", "<svg", "<iframe", "<style"):
        assert tag not in body
    assert HOSTILE_TEXTS[0].replace("<", "&lt;").replace(">", "&gt;").split('"')[0] in body


def test_export_errors_are_one_line(corpus, tmp_path: Path) -> None:
    result = run_cli("export", "zzzz", "--html", str(tmp_path / "x.html"), "--db", str(corpus[0]))
    assert result.returncode == 1 and "no session" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("export", SHORT_ID, "--db", str(corpus[0])).returncode == 2


def _hit_roles(body: bytes) -> list[str]:
    import re
    return re.findall(r'<span class="role role-(\w+)">', body.decode())


def test_search_filters_narrow_the_results(server: ServerProcess) -> None:
    status, _, body = request(server, "/search?q=locked")
    everything = _hit_roles(body)
    assert status == 200 and len(set(everything)) >= 2
    assert set(_hit_roles(request(server, "/search?q=locked&role=tool")[2])) == {"tool"}
    assert _hit_roles(request(server, "/search?q=locked&since=2030-01-01")[2]) == []
    assert len(_hit_roles(request(server, "/search?q=locked&until=2030-01-01")[2])) == len(everything)
    assert _hit_roles(request(server, "/search?q=locked&source=codex")[2]) == []
    with SessionDB.connect(DbConfig.local(server.db_path, read_only=True)) as db:
        infra = next(p.id for p in db.list_projects() if p.name == "infra")
    body = request(server, f"/search?q=locked&project={infra}")[2].decode()
    assert "Backups fail at night" in body and "Checkout fails" not in body.split("<ol", 1)[1]
    status, _, body = request(server, "/search?q=locked&since=yesterday")
    assert status == 200 and b"Dates are YYYY-MM-DD" in body


def test_lists_are_paged_newest_first(server: ServerProcess) -> None:
    import re
    body = request(server, "/sessions")[2].decode()
    last_times = re.findall(r'<td class="time">([^<]*)</td>\s*</tr>', body)
    assert len(last_times) >= 5 and last_times == sorted(last_times, reverse=True)
    body = request(server, "/projects")[2].decode()
    assert body.count('<td class="title">') >= 5


@pytest.mark.parametrize("limit", [7, 200])
def test_a_permalink_to_a_tool_result_lands_on_a_page_that_shows_it(server: ServerProcess, limit: int) -> None:
    from viewer_helpers import LONG_ID

    with SessionDB.connect(DbConfig.local(server.db_path, read_only=True)) as db:
        results = [m.id for m in db.list_messages(LONG_ID) if m.type.value == "tool"][:12]
    for rid in results:
        status, _, body = request(server, f"/session/{LONG_ID}?at={rid}&limit={limit}")
        assert status == 200 and f'id="m-{rid}"'.encode() in body, rid
