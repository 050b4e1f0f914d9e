"""Helpers for the per-agent source tests: write session files line by line, collect one
source, and check the incremental rules every append-only source keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collect_helpers import StatementLog, only, rows

from sessiondb import SessionDB


def jsonl(path: Path, records: list[dict[str, Any]], *, mode: str = "w") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def collect(db: SessionDB, source: str, root: Path, tmp_path: Path) -> Any:
    return db.collect_all([source], roots=only(source, root, tmp_path))


def contents(db: SessionDB, session_id: str) -> list[tuple[str, str]]:
    return [(m.type.value, m.content_full) for m in db.list_messages(session_id)]


def meta(db: SessionDB, session_id: str) -> dict[str, Any]:
    session = db.get_session(session_id)
    assert session is not None, session_id
    return json.loads(session.meta) if session.meta else {}


def check_incremental_rules(db: SessionDB, source: str, root: Path, path: Path, tmp_path: Path,
                            more: list[str], session_id: str) -> None:
    """Warm rescan writes nothing; an append is read from the saved offset; a rewrite and a
    truncation reparse without duplicates; a vanished file keeps its rows."""
    first = collect(db, source, root, tmp_path)
    assert first.messages_inserted > 0 and first.error_count == 0, first.errors
    before = db.get_session(session_id).message_count
    with StatementLog(db) as log:
        warm = collect(db, source, root, tmp_path)
    assert log.changes == 0 and log.writes == []
    assert warm.files_read == 0 and warm.messages_inserted == 0
    size = path.stat().st_size
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in more))
    appended = collect(db, source, root, tmp_path)
    assert appended.files_reparsed == 0 and appended.messages_inserted >= 1
    assert appended.bytes_read <= path.stat().st_size - size
    grown = rows(db)
    after = db.get_session(session_id).message_count
    assert after > before
    # Rewrite with the same content (a new inode): nothing doubles.
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)
    again = collect(db, source, root, tmp_path)
    assert again.messages_inserted == 0 and rows(db) == grown
    # Truncate to the first half and grow back: rows stay, nothing doubles.
    path.write_bytes(data[: len(data) // 2].rsplit(b"\n", 1)[0] + b"\n")
    collect(db, source, root, tmp_path)
    path.write_bytes(data)
    collect(db, source, root, tmp_path)
    assert rows(db) == grown
    # The file vanishes: the archive keeps its rows.
    path.unlink()
    collect(db, source, root, tmp_path)
    assert rows(db) == grown and db.get_session(session_id).message_count == after


def project_of(db: SessionDB, session_id: str) -> str:
    session = db.get_session(session_id)
    project = db.get_project(session.project_id)
    assert project is not None
    return project.path

