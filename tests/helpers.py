"""Helpers for building test data (plain functions, imported by the tests)."""

from __future__ import annotations

import os

from sessiondb import MessageInput, MessageType, SessionDB

BASE_TS = 1_760_000_000_000


def msg(uuid: str, text: str = "hello", *, seq: int = 0, ts: int | None = None,
        role: MessageType = MessageType.USER, **extra: object) -> MessageInput:
    """A message whose plain and full text are the same."""
    return MessageInput(uuid=uuid, type=role, content_text=text, content_full=text,
                        timestamp=BASE_TS + seq * 1000 if ts is None else ts, sequence=seq, **extra)


def add_session(db: SessionDB, session_id: str, texts: list[str], *, project: str = "/work/demo",
                source: str = "claude", start_ts: int = BASE_TS,
                role: MessageType = MessageType.USER) -> int:
    """Create project + session and insert one message per text; returns the project id."""
    pid = db.get_or_create_project(os.path.basename(project), project, source)
    db.upsert_session(session_id, pid)
    db.insert_messages(session_id, [msg(f"{session_id}-{i}", t, seq=i, ts=start_ts + i * 1000, role=role)
                                    for i, t in enumerate(texts)])
    return pid
