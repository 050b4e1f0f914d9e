"""What each page shows, read through the public API (shared by the server and export)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from .. import SessionDB, SessionOverview
from .transcript import MAX_PAGE_SIZE, PAGE_SIZE, PAIR_WINDOW, Page, build_items

SOURCES = ("claude", "codex", "opencode", "gemini")


def clamp_limit(value: int | None, default: int = PAGE_SIZE) -> int:
    if value is None or value <= 0:
        return default
    return min(value, MAX_PAGE_SIZE)


def child_details(db: SessionDB, children: list[SessionOverview]) -> dict[str, tuple[str, str]]:
    """For each child session: (agent id from its meta, its first user prompt)."""
    details = {}
    for child in children:
        session = db.get_session(child.session_id)
        agent_id = ""
        if session is not None and session.meta:
            try:
                meta = json.loads(session.meta)
            except ValueError:
                meta = {}
            if isinstance(meta, dict) and isinstance(meta.get("agent_id"), str):
                agent_id = meta["agent_id"]
        prompt = ""
        for m in db.list_messages(child.session_id, limit=5):
            if m.type.value == "user" and m.content_text.strip():
                prompt = m.content_text
                break
        details[child.session_id] = (agent_id, prompt)
    return details


def transcript_page(db: SessionDB, overview: SessionOverview, offset: int, limit: int, *,
                    tail: bool = False, children: list[SessionOverview] | None = None,
                    details: dict[str, tuple[str, str]] | None = None) -> Page:
    """The messages ``[offset, offset + limit)`` of a session, paired and split into parts.

    ``tail`` is for messages that arrived after the page above them was shown: their
    results are not assumed to be shown with calls above.
    """
    total = db.get_session_message_count(overview.session_id)
    offset = max(0, min(offset, max(total - 1, 0)))
    if children is None:
        children = db.list_session_overviews(parent_session_id=overview.session_id, limit=None)
    if details is None:
        details = child_details(db, children)
    behind = 0 if tail else min(offset, PAIR_WINDOW)
    window = db.list_messages(overview.session_id, limit=behind + limit + PAIR_WINDOW, offset=offset - behind)
    stop = min(behind + limit, len(window))
    items = build_items(window, behind, stop, offset, children, details)
    return Page(overview, items, offset, limit, total, children)


@dataclass
class SourceCounts:
    source: str
    projects: int
    sessions: int
    messages: int


def source_counts(db: SessionDB) -> list[SourceCounts]:
    counts: dict[str, SourceCounts] = {}
    for p in db.list_projects_with_stats(limit=None):
        row = counts.setdefault(p.source or "?", SourceCounts(p.source or "?", 0, 0, 0))
        row.projects += 1
        row.sessions += p.session_count
        row.messages += p.message_count
    return sorted(counts.values(), key=lambda c: -c.messages)


def file_sizes(path: str) -> dict[str, int]:
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        try:
            sizes[suffix.lstrip("-") or "db"] = os.path.getsize(path + suffix)
        except OSError:
            pass
    return sizes


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
