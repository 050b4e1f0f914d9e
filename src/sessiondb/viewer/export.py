"""``sessiondb export``: one transcript as a self-contained HTML file, or as Markdown.

The HTML file has its stylesheet inline, no script at all, and a Content-Security-Policy
that allows only that stylesheet: it opens from disk with no network, and hostile text
in it stays text. Tool calls and thinking are ``<details>`` (they open without script);
subagent transcripts follow the main one.
"""

from __future__ import annotations

import re

from .. import SessionDB, SessionOverview
from . import rendering
from .templating import csp_hash, render, static_file
from .transcript import Page, ToolResult
from .views import transcript_page

MAX_DEPTH = 3


def file_stem(overview: SessionOverview) -> str:
    return "session-" + (re.sub(r"[^A-Za-z0-9_.-]", "_", overview.session_id)[:80] or "unnamed")


def _full_page(db: SessionDB, overview: SessionOverview) -> Page:
    total = db.get_session_message_count(overview.session_id)
    return transcript_page(db, overview, 0, max(total, 1))


def _descendants(db: SessionDB, page: Page, depth: int = 1) -> list[tuple[SessionOverview, Page]]:
    out: list[tuple[SessionOverview, Page]] = []
    if depth > MAX_DEPTH:
        return out
    for child in page.children:
        child_page = _full_page(db, child)
        out.append((child, child_page))
        out.extend(_descendants(db, child_page, depth + 1))
    return out


def transcript_html(db: SessionDB, overview: SessionOverview) -> str:
    page = _full_page(db, overview)
    css = static_file("viewer.css").decode()
    policy = f"default-src 'none'; style-src {csp_hash(css.encode())}; img-src data:; base-uri 'none'; form-action 'none'"
    return render("session.html", o=overview, page=page, parent=None, children=page.children, live=False,
                  link=lambda mid: f"#m-{mid}", child_link=lambda sid: f"#session-{sid}",
                  child_pages=_descendants(db, page), inline_css=css, export_csp=policy, nav="")


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def _md_quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def _markdown_items(page: Page, out: list[str]) -> None:
    for item in page.items:
        m = item.message
        head = f"### {item.role.capitalize()}"
        if item.label:
            head += f" · {item.label}"
        head += f" · {rendering.when(m.timestamp, '%Y-%m-%d %H:%M:%S')}"
        if m.model and item.role == "assistant":
            head += f" · {m.model}"
        out += [f'<a id="m-{m.id}"></a>', head, ""]
        for part in item.parts:
            if part.kind == "text":
                out += [part.text if item.role != "system" else _md_quote(part.text), ""]
            elif part.kind == "thinking":
                out += ["*Thinking:*", "", _md_quote(part.text), ""]
            elif part.kind == "tool" and part.tool is not None:
                tool = part.tool
                body, is_json = rendering.pretty_json(tool.args)
                fence = _fence(body)
                out += [f"**Tool call: {tool.name}**" + (f" — {tool.summary}" if tool.summary else ""), "",
                        f"{fence}{'json' if is_json else ''}", body, fence, ""]
                if tool.result is not None:
                    _md_result(tool.result, out)
                if tool.subagent is not None:
                    out += [f"*Subagent:* {tool.subagent.title or tool.subagent.session_id} "
                            f"(`{tool.subagent.session_id}`, below)", ""]
            elif part.kind == "result" and part.result is not None:
                _md_result(part.result, out)
            else:
                out += [f"[{part.kind}]", ""]


def _md_result(result: ToolResult, out: list[str]) -> None:
    fence = _fence(result.text)
    out += [f"**{'Error' if result.is_error else 'Result'}:**", "", fence, result.text, fence, ""]


def transcript_markdown(db: SessionDB, overview: SessionOverview) -> str:
    page = _full_page(db, overview)
    out = [f"# {overview.title or overview.session_id}", "",
           f"- session: `{overview.session_id}`",
           f"- project: {overview.project_name} (`{overview.project_path}`)",
           f"- source: {overview.source}",
           f"- messages: {page.total}",
           f"- time: {rendering.when(overview.first_message_at)} – {rendering.when(overview.last_message_at)}", ""]
    if overview.model:
        out.insert(-1, f"- model: {overview.model}")
    _markdown_items(page, out)
    for child, child_page in _descendants(db, page):
        out += ["---", "", f"## Subagent: {child.title or child.session_id}", "", f"- session: `{child.session_id}`",
                ""]
        _markdown_items(child_page, out)
    return "\n".join(out).rstrip() + "\n"

