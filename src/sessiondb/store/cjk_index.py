"""The CJK side index: finding Chinese, Japanese and Korean text by substring.

``messages_fts`` (the original's unicode61 index, a public contract) keeps a run of
CJK characters as one token, so ``单文件`` is not found inside ``我想用单文件方式`` and
``python`` is not found inside ``我用python写的``. Messages that contain CJK text are
therefore also indexed in ``messages_cjk``: the same unicode61 tokenizer, fed the
message with a space around every CJK character, so each character is a token and a
CJK query becomes a phrase of characters (exact substring semantics).

A trigger queues the id of every message that is not pure ASCII (a cheap test in
SQL: its byte length differs from its character length) in ``messages_cjk_pending``,
so writes by programs that do not know this index (the original library) are queued
too. A writer of this library drains the queue (:func:`drain_pending`), indexing
the messages that really contain CJK; until then a search also scans queued rows.
(A GLOB over the CJK ranges in the trigger cost more than the FTS index itself.)
"""

from __future__ import annotations

import functools
import re

import apsw

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

# Ideographs, kana, hangul and their extensions: scripts written without spaces
# between words. CJK punctuation (U+3000-303F) is left out: it separates tokens.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF),    # radicals
    (0x3040, 0x30FF),    # hiragana, katakana
    (0x3100, 0x312F),    # bopomofo
    (0x3130, 0x318F),    # hangul compatibility jamo
    (0x31A0, 0x31FF),    # bopomofo extended, katakana phonetic extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xAC00, 0xD7AF),    # hangul syllables
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0xFF66, 0xFF9F),    # halfwidth katakana
    (0x20000, 0x2FA1F),  # CJK extensions B-F, compatibility supplement
)

_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)



@functools.cache
def _cjk_char() -> re.Pattern[str]:
    # Compiled on first use: these large classes cost milliseconds at import, which the
    # C ABI's first call pays.
    return re.compile(f"[{_CLASS}]")


@functools.cache
def _cjk_run() -> re.Pattern[str]:
    return re.compile(f"[{_CLASS}]+")

# SQL test of the queueing trigger: true when the text is not pure ASCII.
NON_ASCII_SQL = "length(CAST({0} AS BLOB)) <> length({0})"

# Rows turned into index entries per statement while draining the queue.
_DRAIN_CHUNK = 2000


def is_cjk_char(ch: str) -> bool:
    """True for one CJK character (no regex: used where compiling one would cost more)."""
    code = ord(ch)
    return code >= 0x2E80 and any(lo <= code <= hi for lo, hi in CJK_RANGES)


def has_cjk(text: str) -> bool:
    """True if ``text`` contains a CJK character (fast for pure ASCII)."""
    return not text.isascii() and _cjk_char().search(text) is not None


def spaced_cjk(text: str) -> str:
    """``text`` with a space on both sides of every CJK character, so that the
    unicode61 tokenizer makes each of them a token of its own."""
    if text.isascii():
        return text
    return _cjk_run().sub(_space_run, text)


def _space_run(match: re.Match[str]) -> str:
    return " " + " ".join(match.group()) + " "


def register_functions(conn: apsw.Connection) -> None:
    """Make :func:`spaced_cjk` and :func:`has_cjk` callable from SQL on this connection."""
    # apsw types a scalar function as taking every SQLite value type; these accept any object.
    conn.create_scalar_function("sessiondb_spaced_cjk", _sql_spaced_cjk, 1,  # type: ignore[arg-type]
                                deterministic=True)
    conn.create_scalar_function("sessiondb_has_cjk", _sql_has_cjk, 1, deterministic=True)  # type: ignore[arg-type]


def _sql_spaced_cjk(value: object) -> str:
    return spaced_cjk(value) if isinstance(value, str) else ""


def _sql_has_cjk(value: object) -> int:
    return 1 if isinstance(value, str) and has_cjk(value) else 0


def add_rows(conn: apsw.Connection, rows: Iterable[tuple[Any, ...]],
             indexed: Callable[[apsw.Connection, list[tuple[int, str]]], None] | None = None) -> None:
    """Add the messages (id, text) with CJK text to the side index, spaced; ``indexed`` is
    given what was added, as (rowid, the text indexed). One statement for them all: FTS5
    flushes its buffer once, not once per row."""
    added = [(int(rowid), spaced_cjk(text)) for rowid, text in rows if isinstance(text, str) and has_cjk(text)]
    conn.executemany("INSERT INTO messages_cjk(rowid, body) VALUES (?, ?)", added)
    if indexed is not None:
        indexed(conn, added)


def drain_pending(conn: apsw.Connection, *, min_id: int = 0, max_rows: int | None = None,
                  indexed: Callable[[apsw.Connection, list[tuple[int, str]]], None] | None = None) -> int:
    """Index queued messages; call inside a write transaction.

    Every queued id ``>= min_id`` is indexed (the caller's own rows), plus up to
    ``max_rows`` older ones (a backlog written by another program); ``None`` drains
    everything. ``indexed`` is given each batch of rows added to the index, as (rowid,
    the text indexed). Returns how many queued messages were taken.
    """
    done = _drain_range(conn, "message_id >= ?", (min_id,), None, indexed) if min_id > 0 else 0
    budget = max_rows
    if budget is None or budget > 0:
        done += _drain_range(conn, "1", (), budget, indexed)
    return done


def _drain_range(conn: apsw.Connection, where: str, params: tuple[Any, ...], budget: int | None,
                 indexed: Callable[[apsw.Connection, list[tuple[int, str]]], None] | None) -> int:
    done = 0
    while budget is None or done < budget:
        take = _DRAIN_CHUNK if budget is None else min(_DRAIN_CHUNK, budget - done)
        ids = [row[0] for row in conn.execute(
            f"SELECT message_id FROM messages_cjk_pending WHERE {where} ORDER BY message_id LIMIT ?",
            (*params, take))]
        if not ids:
            break
        lo, hi = ids[0], ids[-1]
        add_rows(conn, conn.execute(
            "SELECT m.id, m.content_full FROM messages_cjk_pending p JOIN messages m ON m.id = p.message_id "
            f"WHERE p.message_id BETWEEN ? AND ? AND ({where.replace('message_id', 'p.message_id')})",
            (lo, hi, *params)).fetchall(), indexed)
        conn.execute(f"DELETE FROM messages_cjk_pending WHERE message_id BETWEEN ? AND ? AND ({where})",
                     (lo, hi, *params))
        done += len(ids)
    return done
