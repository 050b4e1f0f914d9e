"""The rank index: for each frequent term, the rows where it weighs most in BM25.

Score order is FTS5's ``bm25()`` over ``messages_fts``. Computing it for every match
costs about 0.7 µs per matching row (0.6 s for a word found in most of a million
messages), so the best 20 cannot be found by ranking every match. For every term found
in many rows, ``messages_rank_postings`` keeps the rows whose *impact* for the term

    impact = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

(BM25's per-term factor; ``tf`` the term's count in the row, ``dl`` the row's length in
tokens) is above a per-term ``floor``; a *term* is a word or two adjacent words, so
phrases have lists too; every other row containing the term has an
impact of at most the floor. A search walks these lists best first and stops once no
row it has not seen can beat its k-th result (``sessiondb.search.topk``).

The lists cover the rows with ``id <= built_through``. Rows written later, by this
library or by any other program (the original library writes only ``messages`` and its
FTS triggers), are the *tail*: a search ranks them exhaustively, and this library's
writer extends the lists over the tail in every write transaction (:func:`extend`,
tokenizing the rows). A large collection does that work on its second core instead: its
parse worker gets the lists' terms and floors (a :class:`Snapshot`) and computes each
row's postings as it reads the files (:class:`ReadAnnotator`); the writer only stores
them (:func:`take_read_postings`). A
trigger queues every row whose content changes, or that is deleted, in
``messages_rank_dirty``: its postings are ignored and the search ranks it directly
(a deleted row no longer joins ``messages``), and term counts come from FTS5 until a
rebuild (``rebuild_search_index``) empties the queue.

Impacts use the average row length of the moment the floors were chosen; when the
average grows, impacts can only grow by the same ratio, which the search applies to
its bounds. Which terms are frequent comes from a sample of the rows (taken again each
time a small table doubles); a new list is read from FTS5 itself, which ranks the
term's matches in C (only the best rows are read back), except when a small index is
listed from scratch: its rows' text is then scanned once for every term's best rows.
A list that grows past its size (by TRIM_AT) is trimmed, raising its floor.

The CJK side index (``messages_cjk``) has lists of its own (``messages_cjk_rank_*``,
:data:`CJK`): its terms are words and single CJK characters, its pairs include pairs of
characters (a CJK word), and its rows are the messages' text with each CJK character
spaced out. Only this library's writer adds rows to it, draining its queue: it lists
each row as it adds it (:func:`list_cjk_rows`), whatever its id, so these lists cover
every row the side index holds; :func:`keep_cjk_lists` builds them once the side index
holds MIN_DOCS rows and samples again as it doubles. Rewritten and deleted rows with
non-ASCII text are queued in ``messages_cjk_rank_dirty``.
"""

from __future__ import annotations

import bisect
import collections
import importlib
import json
import time

from typing import Any

import apsw

from .bm25 import B as B, K1 as K1, idf as idf, impact as impact
from .cjk_index import spaced_cjk
from .connection import scalar

TYPE_CHECKING = False  # see sessiondb._startup
if TYPE_CHECKING:
    from .ingest_records import IngestSession

# Where a message row for the store holds its text (schema.MESSAGE_INSERT_COLUMNS).
CONTENT_COLUMN = 4

# A term gets a list when a sample suggests at least this many rows contain it; rarer
# terms are ranked exhaustively (about 3.5 ms for this many matches).
MIN_DOCS = 5_000
# ... or this share of the rows, while the table is small: the terms that will be
# frequent get their lists while those are cheap to build (each is read from FTS5 once,
# ranking every match), and then grow with the rows; a table growing from empty adds
# few lists later.
FREQUENT_SHARE = 0.02
# About this many postings per list: enough for a page of results under a filter that
# keeps one row in five (a list fills to twice this before its floor first rises: every
# row with the term is a posting until then); a word in many rows keeps one row in
# LIST_SHARE of them, up to LIST_MAX (words found together deep in each other's lists
# need depth).
LIST_ROWS = 100
LIST_SHARE = 100
LIST_MAX = 5_000
# A list is cut back to its size when it grows past this many times it: rows that enter
# a list and leave it again cost two writes, but each cut costs a few queries.
TRIM_AT = 2
SAMPLE_ROWS = 5_000
_SAMPLE_CHUNKS = 20
# The writer samples again for newly frequent terms each time the table doubles; up to
# this size it also builds every list again when the average row length moved by more
# than MAX_DRIFT (beyond it, on request: ``rebuild_search_index``; the search's bounds
# stretch with the drift, so the lists stay exact, only less tight).
AUTO_REBUILD_MAX = 250_000
MAX_DRIFT = 0.1
# Lists built from scratch over an index of at most this many rows are computed from the
# rows' text in one pass (:func:`_lists_from_rows`), not read from FTS5 term by term (each
# term's matches ranked by bm25(), its per-query cost times a thousand terms): the first
# lists of a collection, about a thousand terms over a few thousand rows, in 0.4-0.6 of
# the time, sample included.
DIRECT_ROWS = 20_000
# New lists are read from FTS5 for about this long per write transaction (10-60 ms each
# on a large table; a doubled large table may bring a thousand): a write stays short,
# and the next writes add the rest. The sample's frequent terms are kept per database in
# the writing process meanwhile (a writer that restarts samples again).
NEW_LISTS_SECONDS = 1.0
_sampled: dict[tuple[str, str, int], list[str]] = {}
# Tail rows indexed per write transaction (about 10 µs each).
EXTEND_PER_WRITE = 5_000
_CHUNK = 2_000


# sessiondb._rankscan once looked up (False: the package was built without it).
_rankscan: Any = None


def _compiled() -> Any:
    """``sessiondb._rankscan`` (this module's per-row work in C, the same results), or
    None when the package was installed without a C compiler."""
    global _rankscan
    if _rankscan is None:
        try:
            _rankscan = importlib.import_module("sessiondb._rankscan")
        except ImportError:
            _rankscan = False
    return _rankscan or None


def _add_counts(total: collections.Counter[str], part: dict[str, int]) -> None:
    """``total.update(part)``; in C when compiled (Counter.update of a mapping loops in Python)."""
    compiled = _compiled()
    if compiled is None:
        total.update(part)
    else:
        compiled.add_counts(total, part)


class Lists:
    """One FTS index's rank lists: the index, the tables that hold its lists, and how a
    message's text becomes what the index tokenized.

    ``messages_fts`` indexes every row as it is written (its tail is the rows past
    ``built_through``). The CJK side index holds only the rows with CJK text, with a space
    around each CJK character, and only this library's writer adds rows to it (draining
    its queue): the writer lists each row as it adds it (:func:`list_cjk_rows`), so its
    lists cover every row it holds, in whatever order the rows were added."""

    __slots__ = ("index", "state", "terms", "postings", "dirty", "spaced")

    def __init__(self, index: str, tables: str, *, spaced: bool) -> None:
        self.index, self.spaced = index, spaced
        self.state, self.terms = f"{tables}_state", f"{tables}_terms"
        self.postings, self.dirty = f"{tables}_postings", f"{tables}_dirty"

    def text(self, content: object) -> object:
        """What the index tokenized of a message's text."""
        return spaced_cjk(content) if self.spaced and isinstance(content, str) else content

    def top(self, conn: apsw.Connection) -> int:
        """The largest rowid of the index."""
        if not self.spaced:
            return _max_id(conn)
        return int(scalar(conn, f"SELECT rowid FROM {self.index} ORDER BY rowid DESC LIMIT 1") or 0)

    def size(self, conn: apsw.Connection) -> int:
        """How far the index has grown: its largest id (``messages_fts``), or its row count
        (the side index holds some rows only)."""
        return fts_totals(conn, self.index)[0] if self.spaced else _max_id(conn)


FTS = Lists("messages_fts", "messages_rank", spaced=False)
CJK = Lists("messages_cjk", "messages_cjk_rank", spaced=True)


def pair_key(first: str, second: str) -> str:
    """The list name of two adjacent words (a phrase's count is at most its pairs' counts)."""
    return f"{first} {second}"


class State:
    """The lists' watermark, the average row length their impacts use, and the largest
    id when the frequent terms were last sampled. (No dataclass: the C ABI loads this
    module at start, see sessiondb._startup.)"""

    __slots__ = ("built_through", "avgdl", "sampled_rows")

    def __init__(self, built_through: int, avgdl: float, sampled_rows: int) -> None:
        self.built_through, self.avgdl, self.sampled_rows = built_through, avgdl, sampled_rows


def state(conn: apsw.Connection, lists: Lists = FTS) -> State | None:
    """The lists' state, or None when they were never built (or the tables are missing)."""
    try:
        row = conn.execute(f"SELECT built_through, avgdl, sampled_rows FROM {lists.state}").fetchone()
    except apsw.SQLError:
        return None
    return State(int(row[0]), float(row[1]), int(row[2])) if row else None


class Tokenizer:
    """The tokens FTS5's unicode61 tokenizer makes of a text: exactly what ``messages_fts`` indexed."""

    def __init__(self, conn: apsw.Connection) -> None:
        self._tokenize = conn.fts5_tokenizer("unicode61")

    def __call__(self, text: object, *, query: bool = False) -> list[str]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        elif not isinstance(text, str):
            text = "" if text is None else str(text)
        reason = apsw.FTS5_TOKENIZE_QUERY if query else apsw.FTS5_TOKENIZE_DOCUMENT
        tokens = self._tokenize(text.encode("utf-8", "surrogatepass"), reason, None,
                                include_offsets=False, include_colocated=False)
        return tokens  # type: ignore[return-value]  # plain strings without offsets


def _totals(api: apsw.FTS5ExtensionApi) -> str:
    return f"{api.row_count} {api.column_total_size(0)}"


def fts_totals(conn: apsw.Connection, index: str = "messages_fts") -> tuple[int, int]:
    """(rows, tokens) of an FTS5 index, from its own statistics (what bm25() uses)."""
    conn.register_fts5_function("sessiondb_fts_totals", _totals)  # type: ignore[arg-type]
    row = conn.execute(f"SELECT sessiondb_fts_totals({index}) FROM {index} LIMIT 1").fetchone()
    if row is None:
        return 0, 0
    rows, tokens = str(row[0]).split()
    return int(rows), int(tokens)


def rebuild(conn: apsw.Connection, lists: Lists = FTS) -> None:
    """Build the lists from scratch over every row (call inside a write transaction)."""
    rows, tokens = fts_totals(conn, lists.index)
    conn.execute(f"DELETE FROM {lists.postings}")
    conn.execute(f"DELETE FROM {lists.terms}")
    conn.execute(f"DELETE FROM {lists.dirty}")
    top = lists.top(conn)
    avgdl = (tokens / rows) if rows else 1.0
    conn.execute(f"INSERT OR REPLACE INTO {lists.state}(id, built_through, avgdl, sampled_rows) "
                 "VALUES (1, ?, ?, ?)", (top, avgdl or 1.0, lists.size(conn)))
    terms = _frequent_terms(conn, rows, lists)
    if not _lists_from_rows(conn, terms, top, avgdl or 1.0, rows, lists):
        _add_lists(conn, terms, top, avgdl or 1.0, lists=lists)


def refresh(conn: apsw.Connection, *, rebuild_on_drift: bool = True, lists: Lists = FTS) -> None:
    """Give lists to the terms that have become frequent since the last sample (the
    lists already kept stay: their floors stay true as rows are added)."""
    current = state(conn, lists)
    rows, tokens = fts_totals(conn, lists.index)
    if current is None or not rows or (rebuild_on_drift and abs(tokens / rows / current.avgdl - 1) > MAX_DRIFT):
        rebuild(conn, lists)  # the average row length moved: impacts are recomputed with the new one
        return
    key = (conn.filename, lists.index, current.sampled_rows)
    frequent = _sampled.pop(key, None)
    if frequent is None:
        for stale in [k for k in _sampled if k[1] == lists.index]:
            del _sampled[stale]   # another database's, or an earlier sample's
        frequent = _frequent_terms(conn, rows, lists)
    listed = {r[0] for r in conn.execute(f"SELECT term FROM {lists.terms}")}
    if not _add_lists(conn, [t for t in frequent if t not in listed], current.built_through, current.avgdl,
                      seconds=NEW_LISTS_SECONDS, lists=lists):
        _sampled[key] = frequent   # (not only what is left: this transaction may yet roll back)
    else:
        conn.execute(f"UPDATE {lists.state} SET sampled_rows = ?", (lists.size(conn),))


def _frequent_terms(conn: apsw.Connection, rows: int, lists: Lists = FTS) -> list[str]:
    """Words, and pairs of adjacent words, that a sample suggests are in MIN_DOCS rows or
    more (or FREQUENT_SHARE of the rows, when fewer)."""
    tokenize = Tokenizer(conn)
    texts = [lists.text(text) for text in _sample(conn, rows, lists)]
    scale = rows / max(len(texts), 1)
    least = min(MIN_DOCS, rows * FREQUENT_SHARE)
    compiled = _compiled()
    if compiled is not None:
        found = compiled.frequent_terms(texts, tokenize, scale, least)
        return sorted(t for t in found if " " not in t) + sorted(t for t in found if " " in t)
    return frequent_terms_in_python([tokenize(text) for text in texts], scale, least)


def frequent_terms_in_python(sample: list[list[str]], scale: float, least: float) -> list[str]:
    """:func:`_frequent_terms` of tokenized rows, in Python (the compiled one's reference)."""
    words: collections.Counter[str] = collections.Counter()
    for terms in sample:
        words.update(set(terms))
    frequent = {w for w, n in words.items() if n * scale >= least}
    pairs: collections.Counter[str] = collections.Counter()
    for terms in sample:
        # A pair is at most as frequent as either word: only pairs of frequent words can be.
        pairs.update({pair_key(a, b) for a, b in zip(terms, terms[1:]) if a in frequent and b in frequent})
    return sorted(frequent) + sorted(p for p, n in pairs.items() if n * scale >= least)


def _tf_dl(api: apsw.FTS5ExtensionApi) -> int:
    locations = api.phrase_locations(0)
    return (len(locations[0]) if locations else 0) << 32 | api.column_size(0)


# BM25's factor (bm25.impact) in SQL, with the same operations in the same order.
_IMPACT_SQL = f"(tf * ({K1!r} + 1.0)) / (tf + {K1!r} * (1 - {B!r} + {B!r} * dl / :avgdl))"


def _add_lists(conn: apsw.Connection, terms: list[str], through: int, avgdl: float,
               seconds: float | None = None, lists: Lists = FTS) -> bool:
    """A list for each term over the rows up to ``through``, read from FTS5 itself; with
    ``seconds``, only those read within that long (at least one): False if some were left.

    FTS5 ranks a term's matches by ``bm25()`` in C, which for one phrase orders them by
    the impact with the index's average row length now; only the best rows are read
    back, straight into the list. The rows left out have at most the last one's impact
    at that length, so at most that times ``max(1, avgdl / now)`` at the lists' length:
    that is the floor, and the listed rows not above it leave the list."""
    rows, tokens = fts_totals(conn, lists.index)
    now = tokens / rows if rows and tokens else avgdl
    # FTS5's doubles and ours may differ in the last bits: the floor errs upwards.
    stretch = max(1.0, avgdl / now) * (1 + 1e-9)
    conn.register_fts5_function("sessiondb_tf_dl", _tf_dl)  # type: ignore[arg-type]
    deadline = None if seconds is None else time.perf_counter() + seconds
    for at, term in enumerate(terms):
        if deadline is not None and at and time.perf_counter() > deadline:
            return False
        expr = '"' + term.replace('"', '""') + '"'
        index = lists.index
        docs = int(scalar(conn, f"SELECT COUNT(*) FROM {index} WHERE {index} MATCH ? AND rowid <= ?",
                          (expr, through)) or 0)
        size = _list_size(docs)
        conn.execute(
            # Materialized: FTS5 itself then sorts by rank, and the function runs for the best rows only.
            f"WITH best AS MATERIALIZED (SELECT rowid AS id, sessiondb_tf_dl({index}) AS packed "
            f"FROM {index} WHERE {index} MATCH :expr AND rowid <= :through ORDER BY rank LIMIT :size) "
            f"INSERT OR REPLACE INTO {lists.postings}(term, impact, message_id, tf, dl) "
            f"SELECT :term, {_IMPACT_SQL}, id, tf, dl FROM (SELECT id, packed >> 32 AS tf, "
            "packed & 4294967295 AS dl FROM best)",
            {"term": term, "avgdl": avgdl, "expr": expr, "through": through, "size": size})
        floor = 0.0
        if docs > size:
            weakest = conn.execute(f"SELECT MIN({_IMPACT_SQL}) FROM {lists.postings} WHERE term = :term",
                                   {"term": term, "avgdl": now}).fetchone()
            floor = float((weakest or (0.0,))[0] or 0.0) * stretch
            conn.execute(f"DELETE FROM {lists.postings} WHERE term = ? AND impact <= ?", (term, floor))
        listed = int(scalar(conn, f"SELECT COUNT(*) FROM {lists.postings} WHERE term = ?", (term,)) or 0)
        conn.execute(f"INSERT OR REPLACE INTO {lists.terms}(term, floor, docs, listed) VALUES (?, ?, ?, ?)",
                     (term, floor, docs, listed))
    return True


def _lists_from_rows(conn: apsw.Connection, terms: list[str], through: int, avgdl: float, rows: int,
                     lists: Lists = FTS) -> bool:
    """:func:`_add_lists` for a small index (at most DIRECT_ROWS rows), computed from its
    rows' text in one pass instead of read from FTS5 term by term: the compiled scanner
    keeps each term's best rows by impact at ``avgdl``, and the best one left out is the
    floor (exact: every row's impact is computed). False (nothing done) when the index
    is larger or the package has no compiled scanner."""
    compiled = _compiled()
    if compiled is None or rows > DIRECT_ROWS or not terms:
        return False
    rows_in: Any
    if lists.spaced:
        rows_in = ((rowid, lists.text(content)) for rowid, content in conn.execute(
            f"SELECT x.rowid, m.content_full FROM {lists.index} x CROSS JOIN messages m "
            "ON m.id = x.rowid WHERE x.rowid <= ?", (through,)))
    else:
        rows_in = conn.execute("SELECT id, content_full FROM messages WHERE id <= ?", (through,))
    scanner = compiled.Scanner(dict.fromkeys(terms, 0.0), avgdl, K1, B)
    # Each term's best rows, read one row at a time: as many as the longest list this
    # index can give, and one more.
    best = scanner.best(rows_in, Tokenizer(conn), _list_size(rows) + 1)
    postings: list[tuple[str, float, int, int, int]] = []
    entries: list[tuple[str, float, int, int]] = []
    for term in terms:
        docs, kept = best[term]
        size = _list_size(docs)
        kept.sort(reverse=True)
        floor = kept[size][0] if docs > size else 0.0
        listed = [(term, value, rowid, tf, dl) for value, rowid, tf, dl in kept[:size] if value > floor]
        postings.extend(listed)
        entries.append((term, floor, docs, len(listed)))
    postings.sort(key=_by_term)
    conn.executemany(f"INSERT OR REPLACE INTO {lists.postings}(term, impact, message_id, tf, dl) "
                     "VALUES (?, ?, ?, ?, ?)", postings)
    conn.executemany(f"INSERT OR REPLACE INTO {lists.terms}(term, floor, docs, listed) VALUES (?, ?, ?, ?)",
                     entries)
    return True


def _sample(conn: apsw.Connection, rows: int, lists: Lists = FTS) -> list[object]:
    """About SAMPLE_ROWS of the index's rows' texts, in runs spread over the whole id range."""
    if lists.spaced:
        # (The side index keeps no text: its rows' text is read from messages.)
        source = f"{lists.index} x CROSS JOIN messages m ON m.id = x.rowid"
        key = "x.rowid"
        low = scalar(conn, f"SELECT rowid FROM {lists.index} ORDER BY rowid LIMIT 1")
        high = lists.top(conn) if low is not None else None
    else:
        source, key = "messages m", "m.id"
        low, high = conn.execute("SELECT MIN(id), MAX(id) FROM messages").fetchone() or (None, None)
    if low is None or high is None:
        return []
    run = max(1, SAMPLE_ROWS // _SAMPLE_CHUNKS)
    if rows <= SAMPLE_ROWS:
        return [r[0] for r in conn.execute(f"SELECT m.content_full FROM {source}")]
    step = (high - low) / _SAMPLE_CHUNKS
    out: list[object] = []
    for i in range(_SAMPLE_CHUNKS):
        out.extend(r[0] for r in conn.execute(
            f"SELECT m.content_full FROM {source} WHERE {key} >= ? ORDER BY {key} LIMIT ?",
            (int(low + i * step), run)))
    return out


class Snapshot:
    """What a row's postings depend on: the lists' terms and floors and the average row
    length of their impacts. A parse worker computes postings under one (it never opens
    the database: the collector sends it, see sessiondb.parse_worker); ``key`` changes
    whenever terms are added or impacts recomputed (floors only rise, so postings
    computed under older floors are a superset and are filtered again)."""

    __slots__ = ("key", "avgdl", "floors", "words", "pairs", "pair_names", "_levels", "_bars", "_scanner")

    def __init__(self, key: tuple[float, int, int], avgdl: float, floors: dict[str, float]) -> None:
        self.key, self.avgdl, self.floors = key, avgdl, floors
        self.words = frozenset(t for t in floors if " " not in t)
        self.pair_names = {tuple(t.split(" ")): t for t in floors if " " in t}
        self.pairs = frozenset(self.pair_names)
        self._levels: tuple[tuple[list[float], list[frozenset[Any]]], ...] | None = None
        self._bars: dict[str, float] | None = None
        self._scanner: Any = None

    def scanner(self) -> Any:
        """The compiled scanner of these terms (``sessiondb._rankscan``), or None when the
        package was installed without it."""
        if self._scanner is None:
            compiled = _compiled()
            self._scanner = False if compiled is None else compiled.Scanner(self.floors, self.avgdl, K1, B)
        return self._scanner or None

    def bars(self) -> dict[str, float]:
        """Per term, floor / (K1 + 1 - floor): a count of tf beats the floor exactly when
        tf / (K1 * (1 - B + B * dl / avgdl)) exceeds it."""
        if self._bars is None:
            self._bars = {term: floor / (K1 + 1.0 - floor) for term, floor in self.floors.items()}
        return self._bars

    def __getstate__(self) -> tuple[object, ...]:
        return self.key, self.avgdl, self.floors

    def __setstate__(self, value: tuple[object, ...]) -> None:
        self.__init__(*value)  # type: ignore[misc]

    def beatable(self, ratio: float, *, pairs: bool = False) -> frozenset[Any]:
        """A superset of the words (or, with ``pairs``, the word pairs as tuples) whose
        floor a count ``tf`` in a row can beat when ``tf / (K1 * (1 - B + B * dl / avgdl))``
        is at most ``ratio``. impact(tf, dl) > floor exactly when that ratio exceeds the
        term's bar (:meth:`bars`), so the terms sorted by bar are cut at a few levels, and
        a row only checks the terms of one level (most rows beat few floors)."""
        if self._levels is None:
            self._levels = (_levels([(bar, t) for t, bar in self.bars().items() if " " not in t]),
                            _levels([(bar, tuple(t.split(" "))) for t, bar in self.bars().items() if " " in t]))
        bounds, sets = self._levels[1 if pairs else 0]
        at = bisect.bisect_left(bounds, ratio)
        return sets[at] if at < len(sets) else sets[-1] if sets else frozenset()


def _levels(bars: list[tuple[float, Any]]) -> tuple[list[float], list[frozenset[Any]]]:
    """Snapshot.beatable's cuts: bounds, and for each the terms whose bar is below it."""
    bars.sort(key=_first)
    bounds: list[float] = []
    sets: list[frozenset[Any]] = []
    for at in range(1, _LEVELS + 1):
        cut = len(bars) * at // _LEVELS
        bound = bars[cut][0] if cut < len(bars) else float("inf")
        if bounds and bound <= bounds[-1]:
            continue
        bounds.append(bound)
        sets.append(frozenset(term for bar, term in bars[:cut] if bar < bound))
    return bounds, sets


# Levels of Snapshot.beatable.
_LEVELS = 32
# The cheap test of postings_of errs towards taking a row (impact() decides).
_MARGIN = 1 - 1e-9


def _first(pair: tuple[float, Any]) -> float:
    return pair[0]


def snapshot(conn: apsw.Connection, lists: Lists = FTS) -> Snapshot | None:
    """The lists' terms and floors now, or None when there are no lists yet."""
    current = state(conn, lists)
    if current is None:
        return None
    floors: dict[str, float] = dict(conn.execute(f"SELECT term, floor FROM {lists.terms}"))
    return Snapshot((current.avgdl, current.sampled_rows, len(floors)), current.avgdl, floors)


# A row's postings: (index of the row among those given, term, impact, tf, dl).
Posting = tuple[int, str, float, int, int]


def postings_of(snap: Snapshot, tokenize: Tokenizer, texts: list[object],
                docs: collections.Counter[str]) -> list[Posting]:
    """The postings of rows with these texts (rows in which a listed term weighs more than
    its floor), and how many of them contain each listed term (added to ``docs``: exact,
    a search takes its BM25 weights from these counts). In C when the package has it
    (ten times faster, the same results), else :func:`postings_in_python`."""
    scanner = snap.scanner()
    if scanner is None:
        return postings_in_python(snap, tokenize, texts, docs)
    found, counts = scanner.scan(texts, tokenize)
    _add_counts(docs, counts)
    return found  # type: ignore[no-any-return]


def postings_in_python(snap: Snapshot, tokenize: Tokenizer, texts: list[object],
                       docs: collections.Counter[str]) -> list[Posting]:
    """:func:`postings_of` in Python: the reference for the compiled scanner."""
    words, pairs, floors, avgdl, bars = snap.words, snap.pairs, snap.floors, snap.avgdl, snap.bars()
    out: list[Posting] = []
    for index, text in enumerate(texts):
        terms = tokenize(text)
        dl = len(terms)
        if not dl:
            continue
        counts = collections.Counter(terms)
        found = words.intersection(counts)
        docs.update(found)
        # tf beats the term's floor when tf > bar * length (checked with a margin: the
        # exact test is impact() itself).
        length = K1 * (1 - B + B * dl / avgdl)
        near = length * _MARGIN
        ratio = max(counts.values()) / length
        for term in found & snap.beatable(ratio):
            tf = counts[term]
            if tf > bars[term] * near:
                value = impact(tf, dl, avgdl)
                if value > floors[term]:
                    out.append((index, term, value, tf, dl))
        if pairs and dl > 1:
            # Counting every pair first is cheaper than finding the listed ones in the
            # row and counting those again (most rows have a pair near its floor).
            steps: collections.Counter[tuple[str, ...]] = collections.Counter(zip(terms, terms[1:]))
            present = pairs.intersection(steps)
            if not present:
                continue
            names = snap.pair_names
            docs.update(names[pair] for pair in present)
            for pair in present & snap.beatable(ratio, pairs=True):
                term, tf = names[pair], steps[pair]
                if tf > bars[term] * near:
                    value = impact(tf, dl, avgdl)
                    if value > floors[term]:
                        out.append((index, term, value, tf, dl))
    return out


class ReadPostings:
    """The postings a parse worker computed for one session's new rows, under the
    snapshot ``key`` (carried with the rows to the writer: ``IngestSession.rank``), and
    how many of those rows contain each listed term (``docs``)."""

    __slots__ = ("key", "postings", "docs")

    def __init__(self, key: tuple[float, int, int], postings: list[Posting], docs: dict[str, int]) -> None:
        self.key, self.postings, self.docs = key, postings, docs

    def __getstate__(self) -> tuple[object, ...]:
        return self.key, self.postings, self.docs

    def __setstate__(self, value: tuple[object, ...]) -> None:
        self.key, self.postings, self.docs = value  # type: ignore[assignment]


class ReadAnnotator:
    """The parse worker's side: each new row's postings under the last snapshot sent to
    it (``IngestSession.rank``), as it reads, with how many of the session's rows contain
    each listed term (exact: a search's BM25 weights come from these counts)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        # The share of sessions to annotate (the collector lowers it while it waits for
        # this process: the writer then tokenizes the others itself).
        self.share = 1.0
        self._credit = 0.0
        self._tokenize: Tokenizer | None = None

    def annotate(self, sessions: list[IngestSession]) -> None:
        snap = self.snapshot
        if snap is None:
            return
        if self._tokenize is None:
            self._tokenize = Tokenizer(apsw.Connection(":memory:"))
        for session in sessions:
            if session.rows:
                self._credit += self.share
                if self._credit < 1.0:
                    continue   # left to the writer (``rank`` None: it tokenizes them)
                self._credit -= 1.0
                docs: collections.Counter[str] = collections.Counter()
                found = postings_of(snap, self._tokenize, [row[CONTENT_COLUMN] for row in session.rows], docs)
                session.rank = [(ReadPostings(snap.key, found, dict(docs)), len(session.rows))]


def take_read_postings(conn: apsw.Connection, first_id: int, rows: list[tuple[object, ...]],
                       parts: list[tuple[ReadPostings | None, int]],
                       snapshots: dict[tuple[float, int, int], Snapshot]) -> bool:
    """Extend the lists over ``rows``, just inserted with ids ``first_id`` onwards (every
    row new; call inside that write transaction), with the postings computed when they
    were read instead of tokenizing them here. ``parts``: consecutive runs of ``rows``
    with their postings. A run without postings, or computed under a snapshot not in
    ``snapshots`` or with another average row length, is tokenized here; terms listed
    since a run's snapshot are read from FTS5 for its rows; rows before ``first_id``
    the lists do not cover yet (written by another program) are indexed first. False
    (nothing done) when there are no lists yet."""
    current = state(conn)
    if current is None or not parts:
        return False
    if current.built_through < first_id - 1:
        extend(conn, everything=True, until=first_id - 1)
        current = state(conn)
        assert current is not None
    if current.built_through != first_id - 1:
        return False      # the lists were just rebuilt over these rows
    now = snapshot(conn)
    assert now is not None
    floors = now.floors
    postings: list[tuple[str, float, int, int, int]] = []
    docs: collections.Counter[str] = collections.Counter()
    stale: dict[tuple[float, int, int], list[tuple[int, int]]] = {}
    tokenize: Tokenizer | None = None
    # Postings computed before terms were listed lack those terms: with the compiled
    # scanner, scanning the rows again here is cheaper than reading the terms from FTS5.
    rescan_stale = now.scanner() is not None
    at = first_id
    for read, count in parts:
        known = None if read is None else snapshots.get(read.key)
        if known is None or known.avgdl != now.avgdl or (rescan_stale and len(known.floors) != len(floors)):
            tokenize = tokenize or Tokenizer(conn)
            texts = [row[CONTENT_COLUMN] for row in rows[at - first_id:at - first_id + count]]
            found = postings_of(now, tokenize, texts, docs)
        else:
            assert read is not None
            found = read.postings
            _add_counts(docs, read.docs)
            if len(known.floors) != len(floors):
                stale.setdefault(read.key, []).append((at, at + count - 1))
        for index, term, value, tf, dl in found:
            floor = floors.get(term)
            if floor is not None and value > floor:
                postings.append((term, value, at + index, tf, dl))
        at += count
    for key, ranges in stale.items():
        # Listed after the rows were read: these terms' postings come from FTS5 itself.
        added = [t for t in floors if t not in snapshots[key].floors]
        for low, high in _merged(ranges):
            _range_postings(conn, added, low, high, now.avgdl, floors, postings, docs)
    _store_postings(conn, postings, docs, floors)
    _advance(conn, current.built_through, at - 1)
    return True


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for low, high in ranges:
        if out and out[-1][1] + 1 == low:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


def _range_postings(conn: apsw.Connection, terms: list[str], low: int, high: int, avgdl: float,
                    floors: dict[str, float], postings: list[tuple[str, float, int, int, int]],
                    docs: collections.Counter[str]) -> None:
    conn.register_fts5_function("sessiondb_tf_dl", _tf_dl)  # type: ignore[arg-type]
    for term in terms:
        expr = '"' + term.replace('"', '""') + '"'
        for rowid, packed in conn.execute("SELECT rowid, sessiondb_tf_dl(messages_fts) FROM messages_fts "
                                          "WHERE messages_fts MATCH ? AND rowid BETWEEN ? AND ?", (expr, low, high)):
            tf, dl = packed >> 32, packed & 0xFFFFFFFF
            docs[term] += 1
            value = impact(tf, dl, avgdl)
            if value > floors[term]:
                postings.append((term, value, rowid, tf, dl))


def _by_term(posting: tuple[str, float, int, int, int]) -> str:
    return posting[0]


def _store_postings(conn: apsw.Connection, postings: list[tuple[str, float, int, int, int]],
                    docs: collections.Counter[str], floors: dict[str, float], lists: Lists = FTS) -> None:
    # In key order: each list's pages are written once, not once per row (several times faster).
    postings.sort(key=_by_term)
    conn.executemany(f"INSERT OR REPLACE INTO {lists.postings}(term, impact, message_id, tf, dl) "
                     "VALUES (?, ?, ?, ?, ?)", postings)
    listed = collections.Counter(p[0] for p in postings)
    conn.executemany(f"UPDATE {lists.terms} SET docs = docs + ?, listed = listed + ? WHERE term = ?",
                     [(docs[term], listed[term], term) for term in docs.keys() | listed.keys()])
    # Only the lists now past their size are cut (one query finds them).
    over = [r[0] for r in conn.execute(
        f"SELECT term FROM {lists.terms} WHERE term IN (SELECT value FROM json_each(?)) "
        "AND listed > ? * max(?, min(?, docs / ?))",
        (json.dumps(list(listed)), TRIM_AT, LIST_ROWS, LIST_MAX, LIST_SHARE))]
    for term in over:
        _trim(conn, term, floors, lists)


def _advance(conn: apsw.Connection, built_through: int, through: int) -> None:
    if through != built_through:
        conn.execute("UPDATE messages_rank_state SET built_through = ?", (through,))
        # A row rewritten before the lists reached it is indexed with its new content.
        conn.execute("DELETE FROM messages_rank_dirty WHERE message_id > ? AND message_id <= ?",
                     (built_through, through))


def extend(conn: apsw.Connection, *, max_rows: int | None = None, everything: bool = False,
           until: int | None = None) -> int:
    """Add the tail's rows to the lists, at most ``max_rows`` (default EXTEND_PER_WRITE),
    or all of them with ``everything`` (those with ids up to ``until``, if given); call
    inside a write transaction. Rebuilds first
    when never built; samples again for newly frequent terms when the table has doubled
    since. Returns how many rows were indexed."""
    current = state(conn)
    top = _max_id(conn)
    if current is None:
        if top < MIN_DOCS:
            return 0  # nothing is frequent yet: every search is exhaustive, and cheap
        rebuild(conn)
        return top
    if top >= 2 * current.sampled_rows:
        refresh(conn, rebuild_on_drift=top <= AUTO_REBUILD_MAX)
    if top <= current.built_through:
        return 0
    if everything:
        max_rows = None
    elif max_rows is None:
        max_rows = EXTEND_PER_WRITE
    snap = snapshot(conn)
    assert snap is not None
    tokenize = Tokenizer(conn)
    start = through = state(conn).built_through  # type: ignore[union-attr]  # built just above
    done = 0
    while max_rows is None or done < max_rows:
        take = _CHUNK if max_rows is None else min(_CHUNK, max_rows - done)
        rows = conn.execute("SELECT id, content_full FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                            (through, top if until is None else until, take)).fetchall()
        if not rows:
            break
        docs: collections.Counter[str] = collections.Counter()
        found = postings_of(snap, tokenize, [content for _, content in rows], docs)
        _store_postings(conn, [(term, value, int(rows[index][0]), tf, dl)  # type: ignore[arg-type]  # an id
                               for index, term, value, tf, dl in found],
                        docs, snap.floors)
        through = int(rows[-1][0])  # type: ignore[arg-type]  # an INTEGER PRIMARY KEY
        done += len(rows)
    _advance(conn, start, through)
    return done


def keep_cjk_lists(conn: apsw.Connection) -> None:
    """Build the side index's lists once it holds MIN_DOCS rows, and sample it again for
    newly frequent terms each time it doubles; call inside a write transaction, after
    its queue was drained (the rows it adds are listed as they are added)."""
    current = state(conn, CJK)
    size = CJK.size(conn)
    if current is None:
        if size >= MIN_DOCS:
            rebuild(conn, CJK)
    elif size >= 2 * current.sampled_rows:
        refresh(conn, rebuild_on_drift=size <= AUTO_REBUILD_MAX, lists=CJK)


def list_cjk_rows(conn: apsw.Connection, rows: list[tuple[int, str]]) -> None:
    """List rows just added to the side index: (rowid, the text it indexed). Nothing to
    do before its lists are built (building them reads every row it holds then)."""
    current = state(conn, CJK)
    if current is None or not rows:
        return
    snap = snapshot(conn, CJK)
    assert snap is not None
    docs: collections.Counter[str] = collections.Counter()
    found = postings_of(snap, Tokenizer(conn), [text for _, text in rows], docs)
    _store_postings(conn, [(term, value, rows[index][0], tf, dl) for index, term, value, tf, dl in found],
                    docs, snap.floors, CJK)
    # Rows may come in any order (a backlog of old ids): the lists cover each one.
    top = max(rowid for rowid, _ in rows)
    if top > current.built_through:
        conn.execute(f"UPDATE {CJK.state} SET built_through = ?", (top,))


def _trim(conn: apsw.Connection, term: str, floors: dict[str, float], lists: Lists = FTS) -> None:
    """Past TRIM_AT times its size, a list keeps its best rows (and the rows tied with the
    last of them) and its floor rises to the best impact dropped (every unlisted row
    still scores at most the floor)."""
    listed, docs = conn.execute(f"SELECT listed, docs FROM {lists.terms} WHERE term = ?",
                                (term,)).fetchone() or (None, 0)
    size = _list_size(int(docs or 0))
    if listed is None or listed <= TRIM_AT * size:
        return
    cut = scalar(conn, f"SELECT impact FROM {lists.postings} WHERE term = ? ORDER BY impact DESC "
                       "LIMIT 1 OFFSET ?", (term, size - 1))
    below = scalar(conn, f"SELECT MAX(impact) FROM {lists.postings} WHERE term = ? AND impact < ?",
                   (term, cut)) if cut is not None else None
    if below is None:
        return
    floor = max(float(below), floors[term])
    conn.execute(f"DELETE FROM {lists.postings} WHERE term = ? AND impact <= ?", (term, floor))
    kept = scalar(conn, f"SELECT COUNT(*) FROM {lists.postings} WHERE term = ?", (term,))
    conn.execute(f"UPDATE {lists.terms} SET floor = ?, listed = ? WHERE term = ?", (floor, kept, term))
    floors[term] = floor


def _list_size(docs: int) -> int:
    return max(LIST_ROWS, min(LIST_MAX, docs // LIST_SHARE))


def _max_id(conn: apsw.Connection) -> int:
    return int(scalar(conn, "SELECT MAX(id) FROM messages") or 0)
