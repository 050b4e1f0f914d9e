"""Viewer rendering on a real collected database: escaping, markdown, pairing across pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("markdown_it")

from viewer_helpers import (AGENT_ID, HOSTILE_ID, HOSTILE_TEXTS, LONG_ID, LONG_MESSAGES, RARE_INDEX, SHORT_ID,
                            build_viewer_db)

from sessiondb import DbConfig, SessionDB
from sessiondb.viewer import export, rendering
from sessiondb.viewer.templating import render
from sessiondb.viewer.transcript import PAIR_WINDOW, split_parts
from sessiondb.viewer.views import transcript_page


@pytest.fixture(scope="module")
def viewer_db(tmp_path_factory) -> SessionDB:
    db_path, _, _ = build_viewer_db(tmp_path_factory.mktemp("render"))
    handle = SessionDB.connect(DbConfig.local(db_path, read_only=True))
    yield handle
    handle.close()


SAFE_TAGS = {"p", "a", "code", "pre", "em", "strong", "span", "br", "ul", "ol", "li", "blockquote", "del", "table",
             "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}


def elements(html: str) -> list[tuple[str, dict]]:
    """Every start tag of ``html`` with its attributes, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markdown_keeps_hostile_text_as_text(text: str) -> None:
    html = str(rendering.markdown(text))
    for tag, attrs in elements(html):
        assert tag in SAFE_TAGS, html
        assert not [a for a in attrs if a.startswith("on")], html
        assert not (attrs.get("href") or "").strip().lower().startswith(("javascript:", "data:", "vbscript:")), html
    assert "pwned" in html       # the text is still there, as text


def test_markdown_links_images_and_code() -> None:
    html = str(rendering.markdown("[ok](https://example.org/a?b=1) [mail](mailto:a@b.c) [bad](JaVaScRiPt:alert(1))"
                                  " [data](data:text/html,x) ![img](https://example.org/x.png)\n\n"
                                  "```python\nx = '<b>'\n```"))
    assert 'href="https://example.org/a?b=1"' in html and 'href="mailto:a@b.c"' in html
    assert "[bad](JaVaScRiPt:alert(1))" in html and "data:text" not in re.findall(r'href="([^"]*)"', html).__str__()
    assert "<img" not in html and "[image: img]" in html
    assert 'class="hl-' in html and "&#39;&lt;b&gt;&#39;" in html or "&lt;b&gt;" in html


def test_snippet_marks_are_balanced_and_escaped() -> None:
    marked = str(rendering.marked_snippet(f"a {rendering.MARK_OPEN}<b>{rendering.MARK_CLOSE} c "
                                          f"{rendering.MARK_OPEN}dangling"))
    assert marked == "a <mark>&lt;b&gt;</mark> c dangling"


def test_split_parts_reads_the_stored_markers() -> None:
    parts = split_parts('Intro\nmore\n[Thinking] hmm\nstill thinking\n[Tool: Bash] {"command":"ls"}\n'
                        "[Result Error] boom\nline 2\n[Image]")
    assert [p[0] for p in parts] == ["text", "thinking", "tool", "error", "image"]
    assert parts[0][2] == "Intro\nmore" and parts[1][2] == "hmm\nstill thinking"
    assert parts[2][1] == "Bash" and parts[3][2] == "boom\nline 2"


def test_message_position_is_the_index_in_list_order(viewer_db: SessionDB) -> None:
    messages = viewer_db.list_messages(LONG_ID)
    assert len(messages) == LONG_MESSAGES
    for index in (0, 1, RARE_INDEX, LONG_MESSAGES - 1):
        assert viewer_db.get_message_position(messages[index].id) == (LONG_ID, index)
    assert viewer_db.get_message_position(10**9) is None


@pytest.mark.parametrize("limit", [7, 50, 200])
def test_every_message_appears_once_across_pages_and_calls_hold_their_results(viewer_db: SessionDB,
                                                                              limit: int) -> None:
    overview = viewer_db.get_session_overview(LONG_ID)
    shown_messages, shown_results, calls = [], [], 0
    offset = 0
    while offset < LONG_MESSAGES:
        page = transcript_page(viewer_db, overview, offset, limit)
        for item in page.items:
            shown_messages.append(item.message.id)
            for part in item.parts:
                if part.kind == "tool":
                    calls += 1
                    assert part.tool.result is not None, f"call {part.tool.call_id} lost its result"
                    shown_results.append(part.tool.result.message_id)
                elif part.kind == "result":
                    shown_results.append(part.result.message_id)
        offset = page.end
    stored = viewer_db.list_messages(LONG_ID)
    results = [m.id for m in stored if m.type.value == "tool"]
    assert calls == len(results) > 0
    assert sorted(shown_results) == sorted(results)                  # each result exactly once
    assert sorted(shown_messages + shown_results) == sorted(m.id for m in stored)


def test_a_tail_fragment_shows_results_whose_call_came_before(viewer_db: SessionDB) -> None:
    stored = viewer_db.list_messages(LONG_ID)
    result_index = next(i for i, m in enumerate(stored) if m.type.value == "tool")
    overview = viewer_db.get_session_overview(LONG_ID)
    page = transcript_page(viewer_db, overview, result_index, 1, tail=True)
    assert [p.kind for p in page.items[0].parts] == ["result"]
    normal = transcript_page(viewer_db, overview, result_index, 1)
    assert normal.items == []          # shown with its call on the page before
    assert PAIR_WINDOW >= 2


def test_task_call_holds_the_subagent_it_started(viewer_db: SessionDB) -> None:
    page = transcript_page(viewer_db, viewer_db.get_session_overview(SHORT_ID), 0, 200)
    tools = [p.tool for item in page.items for p in item.parts if p.kind == "tool"]
    task = next(t for t in tools if t.name == "Task")
    assert task.subagent is not None and task.subagent.session_id == f"agent-{AGENT_ID}"
    assert all(t.subagent is None for t in tools if t.name != "Task")
    assert [c.session_id for c in page.children] == [f"agent-{AGENT_ID}"]


def test_hostile_session_page_has_no_markup_from_the_session(viewer_db: SessionDB) -> None:
    overview = viewer_db.get_session_overview(HOSTILE_ID)
    page = transcript_page(viewer_db, overview, 0, 200)
    html = render("session.html", o=overview, page=page, parent=None, children=[], live=True, nav="",
                  link=lambda mid: f"#m-{mid}", child_link=lambda sid: sid)
    body = html.split("<main>", 1)[1]
    assert "<script" not in body and "<img" not in body and "<svg" not in body and "<iframe" not in body
    assert "<style" not in body and 'href="javascript' not in body.lower()
    assert "&lt;script&gt;window.__pwned" in body


def test_export_html_is_self_contained_and_scriptless(viewer_db: SessionDB, tmp_path: Path) -> None:
    html = export.transcript_html(viewer_db, viewer_db.get_session_overview(SHORT_ID))
    assert "<script" not in html and "<link" not in html and 'src="' not in html
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-",
                     html)
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "Find every caller of parse_order_total" in html and 'id="session-agent-' in html
    assert html.count("<details class=\"tool") >= 4


def test_export_markdown_has_every_message(viewer_db: SessionDB) -> None:
    text = export.transcript_markdown(viewer_db, viewer_db.get_session_overview(SHORT_ID))
    assert text.startswith("# Checkout fails")
    assert "**Tool call: Bash** — Run the checkout tests" in text and "**Error:**" in text
    assert "## Subagent: Find every caller" in text
    assert text.count("### ") == sum(1 for m in viewer_db.list_messages(SHORT_ID) if m.type.value != "tool") + \
        sum(1 for m in viewer_db.list_messages(f"agent-{AGENT_ID}") if m.type.value != "tool")


def test_tool_call_summary_says_what_the_call_does() -> None:
    from sessiondb.viewer.transcript import ToolCall

    assert ToolCall("shell", '{"command": ["rg", "-n", "RateLimiter", "src"]}').summary == "rg -n RateLimiter src"
    assert ToolCall("shell", '{"command": ["rg", "-n"]}').command == "rg -n"
    assert ToolCall("Bash", '{"command": "ls", "description": "List files"}').summary == "List files"
    assert ToolCall("Read", '{"file_path": "/a/b.py"}').summary == "/a/b.py"
    assert ToolCall("x", "not json " * 40).summary.endswith("…")
