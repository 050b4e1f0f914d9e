"""Full-text search over the shared database, fast on a million messages.

A query runs against ``messages_fts`` (unicode61, the original's index) and, when
the database has CJK text, the side index ``messages_cjk``; the union is the result.
Ranked FTS5 queries cost about a microsecond per matching row, so a term that
appears in most messages would take a second to rank. Each search therefore picks
one of three plans, from cheap estimates (term document counts from ``fts5vocab``,
the filter's row count from the sessions table or an index):

* window:  walk the index newest-row first and keep the first ``RANK_WINDOW``
           matches. When there are fewer matches than that the result is exact;
           otherwise score order ranks the newest ``RANK_WINDOW`` matches.
* filter:  the filter selects few messages (one session, a small project): walk
           those and ask the index about each one.
* time:    newest/oldest first over many matches: walk the timestamp index and ask
           the index about each message until enough are found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import apsw

from . import query as query_lang
from .store import validate
from .store.core import DatabaseCore
from .errors import InvalidArgument
from .models import MessageType, SearchOrder, SearchResult

RANK_WINDOW = 2000
# A filter selecting at most this many messages is walked row by row (filter plan).
SMALL_FILTER = 20_000
DEFAULT_HIGHLIGHT = ("<mark>", "</mark>")
DEFAULT_SNIPPET_CHARS = 200
_MAX_CHAR = "\U0010ffff"
_SPACES = re.compile(r"\s+")


@dataclass
class SearchFilters:
    """Restrictions on which messages a search may return (all optional, ANDed)."""

    project_id: int | None = None
    source: str | None = None
    role: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    session_prefix: str | None = None
    _sql: list[str] = field(default_factory=list, repr=False)
    _params: list[object] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.project_id is not None:
            self._add("m.session_id IN (SELECT session_id FROM sessions WHERE project_id = ?)", self.project_id)
        if self.session_prefix:
            self._add("m.session_id >= ? AND m.session_id < ?", self.session_prefix,
                      self.session_prefix + _MAX_CHAR)
        if self.role is not None:
            self._add("m.type = ?", self.role)
        if self.since_ms is not None:
            self._add("m.timestamp >= ?", self.since_ms)
        if self.until_ms is not None:
            self._add("m.timestamp <= ?", self.until_ms)
        if self.source is not None:
            # FFI inserts store no message source: fall back to the project's.
            self._add("(m.source = ? OR (m.source IS NULL AND EXISTS (SELECT 1 FROM sessions s "
                      "JOIN projects p ON p.id = s.project_id WHERE s.session_id = m.session_id "
                      "AND p.source = ?)))", self.source, self.source)

    def _add(self, sql: str, *params: object) -> None:
        self._sql.append(sql)
        self._params.extend(params)

    @property
    def empty(self) -> bool:
        return not self._sql

    @property
    def sql(self) -> str:
        return " AND ".join(self._sql) if self._sql else "1"

    @property
    def params(self) -> list[object]:
        return list(self._params)


@dataclass(frozen=True)
class _Hit:
    rowid: int
    score: float


class _Searcher:
    """One search: chooses plans per index and merges their candidates."""

    def __init__(self, conn: apsw.Connection, parsed: query_lang.ParsedQuery, filters: SearchFilters,
                 order: SearchOrder, need: int, cjk_index: bool) -> None:
        self.conn, self.parsed, self.filters, self.order, self.need = conn, parsed, filters, order, need
        self.indexes = []
        if not parsed.requires_cjk:
            self.indexes.append(("messages_fts", parsed.fts(cjk_index=False)))
        if cjk_index:
            self.indexes.append(("messages_cjk", parsed.fts(cjk_index=True)))
        self.cjk_index = cjk_index
        self.plans_used: list[str] = []

    def run(self) -> list[tuple[int, float]]:
        hits: dict[int, float] = {}
        for index, expr in self.indexes:
            for hit in self._search_index(index, expr):
                if hit.rowid not in hits or hit.score < hits[hit.rowid]:
                    hits[hit.rowid] = hit.score
        if self.cjk_index:
            for rowid in self._unindexed_matches():
                hits.setdefault(rowid, 0.0)
        return self._order(hits)

    # ---------------------------------------------------------------- plans
    def _search_index(self, index: str, expr: str) -> list[_Hit]:
        filter_rows = self._filter_size()
        if filter_rows is not None and filter_rows <= SMALL_FILTER and filter_rows < self._match_estimate(index):
            self.plans_used.append(f"{index}:filter")
            return self._filter_plan(index, expr)
        window = self._window_plan(index, expr, max(RANK_WINDOW, self.need))
        if self.order is SearchOrder.SCORE or len(window) < max(RANK_WINDOW, self.need):
            self.plans_used.append(f"{index}:window")
            return window
        self.plans_used.append(f"{index}:time")
        return self._time_plan(index, expr)

    def _window_plan(self, index: str, expr: str, window: int) -> list[_Hit]:
        if self.filters.empty:
            sql = (f"SELECT rowid, bm25({index}) FROM {index} WHERE {index} MATCH ? "
                   "ORDER BY rowid DESC LIMIT ?")
            params = [expr, window]
        else:
            sql = (f"SELECT f.rowid, bm25(f) FROM {index} f CROSS JOIN messages m ON m.id = f.rowid "
                   f"WHERE f MATCH ? AND {self.filters.sql} ORDER BY f.rowid DESC LIMIT ?")
            params = [expr, *self.filters.params, window]
        return [_Hit(r[0], r[1]) for r in self.conn.execute(sql, params)]

    def _filter_plan(self, index: str, expr: str) -> list[_Hit]:
        sql = (f"SELECT m.id, bm25(f) FROM messages m CROSS JOIN {index} f ON f.rowid = m.id "
               f"WHERE f MATCH ? AND {self.filters.sql}")
        return [_Hit(r[0], r[1]) for r in self.conn.execute(sql, [expr, *self.filters.params])]

    def _time_plan(self, index: str, expr: str) -> list[_Hit]:
        direction = "ASC" if self.order is SearchOrder.TIME_ASC else "DESC"
        sql = (f"SELECT m.id FROM messages m INDEXED BY idx_messages_timestamp CROSS JOIN {index} f "
               f"ON f.rowid = m.id WHERE f MATCH ? AND {self.filters.sql} "
               f"ORDER BY m.timestamp {direction}, m.id {direction} LIMIT ?")
        return [_Hit(r[0], 0.0) for r in self.conn.execute(sql, [expr, *self.filters.params, self.need])]

    # ---------------------------------------------------------------- estimates
    def _filter_size(self) -> int | None:
        """How many messages the filter selects, when that is cheap to know."""
        f = self.filters
        sizes = []
        if f.session_prefix:
            sizes.append(self.conn.execute(
                "SELECT COALESCE(SUM(message_count), 0) FROM sessions WHERE session_id >= ? AND session_id < ?",
                (f.session_prefix, f.session_prefix + _MAX_CHAR)).fetchone()[0])
        if f.project_id is not None:
            sizes.append(self.conn.execute(
                "SELECT COALESCE(SUM(message_count), 0) FROM sessions WHERE project_id = ?",
                (f.project_id,)).fetchone()[0])
        if f.since_ms is not None or f.until_ms is not None:
            lo = f.since_ms if f.since_ms is not None else -(2 ** 63)
            hi = f.until_ms if f.until_ms is not None else 2 ** 63 - 1
            sizes.append(self.conn.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE timestamp BETWEEN ? AND ? LIMIT ?)",
                (lo, hi, SMALL_FILTER + 1)).fetchone()[0])
        return min(sizes) if sizes else None

    def _match_estimate(self, index: str) -> int:
        """Upper bound of matching rows from the index vocabulary: the rarest required token."""
        vocab = f"temp.{index}_vocab"
        best = None
        for clause in self.parsed.positive:
            clause_total = 0
            for term in clause.terms:
                tokens = [query_lang.fold(t) for t in term.tokens]
                counts = [self._token_docs(vocab, tok, term.prefix and i == len(tokens) - 1)
                          for i, tok in enumerate(tokens)]
                clause_total += min(counts) if counts else 0
            best = clause_total if best is None else min(best, clause_total)
        return best or 0

    def _token_docs(self, vocab: str, token: str, prefix: bool) -> int:
        if prefix:
            row = self.conn.execute(f"SELECT SUM(doc) FROM (SELECT doc FROM {vocab} WHERE term >= ? AND term < ? "
                                    "LIMIT 200)", (token, token + _MAX_CHAR)).fetchone()
        else:
            row = self.conn.execute(f"SELECT doc FROM {vocab} WHERE term = ?", (token,)).fetchone()
        return int(row[0]) if row and row[0] else 0

    # ---------------------------------------------------------------- rows the side index has not seen
    def _unindexed_matches(self) -> list[int]:
        sql = ("SELECT m.id, m.content_full FROM messages_cjk_pending p JOIN messages m ON m.id = p.message_id "
               f"WHERE {self.filters.sql}")
        return [rowid for rowid, content in self.conn.execute(sql, self.filters.params)
                if self.parsed.matches_text(content)]

    # ---------------------------------------------------------------- ordering
    def _order(self, hits: dict[int, float]) -> list[tuple[int, float]]:
        """(rowid, score) best first; ties broken by the newer row."""
        if self.order is SearchOrder.SCORE:
            ranked = sorted(hits, key=lambda rowid: (hits[rowid], -rowid))
        else:
            direction = "DESC" if self.order is SearchOrder.TIME_DESC else "ASC"
            ranked = [r[0] for r in self.conn.execute(
                "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) "
                f"ORDER BY timestamp {direction}, id {direction}", (json.dumps(list(hits)),))]
        return [(rowid, hits[rowid]) for rowid in ranked]


def make_snippet(text: str, regex: re.Pattern[str] | None, highlight: tuple[str, str] = DEFAULT_HIGHLIGHT,
                 max_chars: int = DEFAULT_SNIPPET_CHARS, ellipsis: str = "...") -> str:
    """A short excerpt of ``text`` around the first match, matches wrapped in markers."""
    match = regex.search(text) if regex is not None else None
    if match is None:
        start = 0
    else:
        start = max(0, match.start() - max_chars // 4)
        # Begin at a word boundary when one is close.
        space = text.rfind(" ", max(0, start - 20), start + 1)
        start = space + 1 if space >= 0 and start > 0 else start
    end = min(len(text), start + max_chars)
    window = text[start:end]
    if regex is not None:
        opening, closing = highlight
        window = regex.sub(lambda m: f"{opening}{m.group(0)}{closing}", window)
    window = _SPACES.sub(" ", window).strip()
    return (ellipsis if start > 0 else "") + window + (ellipsis if end < len(text) else "")


def _to_ms(name: str, value: int | datetime | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    return validate.integer(name, value)


def _role(value: MessageType | str | None) -> str | None:
    if value is None or isinstance(value, MessageType):
        return value.value if value is not None else None
    if isinstance(value, str) and value.lower() in {t.value for t in MessageType}:
        return value.lower()
    raise InvalidArgument(f"unknown role {value!r}; use user, assistant, tool or system")


class SearchMixin(DatabaseCore):
    def search(self, query: str, *, limit: int = 20, offset: int = 0, project_id: int | None = None,
               source: str | None = None, role: MessageType | str | None = None,
               since: int | datetime | None = None, until: int | datetime | None = None,
               session_prefix: str | None = None, order: SearchOrder = SearchOrder.SCORE,
               highlight: tuple[str, str] = DEFAULT_HIGHLIGHT,
               snippet_chars: int = DEFAULT_SNIPPET_CHARS) -> list[SearchResult]:
        """Search message text. See :mod:`sessiondb.query` for the query syntax.

        ``since``/``until`` are inclusive bounds (epoch ms or datetime). ``score`` is
        FTS5's bm25 (lower is better, as in the original). Any query string is
        accepted: one with nothing searchable returns no results.
        """
        limit = validate.integer("limit", limit, minimum=0)
        offset = validate.integer("offset", offset, minimum=0)
        order = SearchOrder(order)
        if not (isinstance(highlight, tuple) and len(highlight) == 2 and all(isinstance(h, str) for h in highlight)):
            raise InvalidArgument("highlight must be a pair of strings (opening, closing)")
        filters = SearchFilters(
            project_id=validate.optional_integer("project_id", project_id),
            source=validate.optional_text("source", source), role=_role(role),
            since_ms=_to_ms("since", since), until_ms=_to_ms("until", until),
            session_prefix=validate.optional_text("session_prefix", session_prefix))
        parsed = query_lang.parse_query(query)
        if parsed.is_empty or limit == 0:
            return []
        with self._snapshot() as conn:
            searcher = _Searcher(conn, parsed, filters, order, offset + limit, self._has_cjk_index)
            scores = dict(searcher.run()[offset:offset + limit])
            self.last_search_plans = tuple(searcher.plans_used)
            rows = {r[0]: r for r in conn.execute(
                "SELECT m.id, m.session_id, s.project_id, p.name, m.type, m.content_full, m.timestamp, m.uuid, "
                "m.source, p.path FROM messages m JOIN sessions s ON s.session_id = m.session_id "
                "JOIN projects p ON p.id = s.project_id WHERE m.id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(scores)),))}
        regex = parsed.highlight_regex
        results = []
        for rowid in scores:
            r = rows.get(rowid)
            if r is None:
                continue
            results.append(SearchResult(
                message_id=r[0], session_id=r[1], project_id=r[2], project_name=r[3], type=r[4],
                content_full=r[5], snippet=make_snippet(r[5], regex, highlight, snippet_chars),
                score=scores[rowid], timestamp=r[6], uuid=r[7], source=r[8], project_path=r[9]))
        return results

    # Plans chosen by the last search on this handle, per index (for tests and benchmarks).
    last_search_plans: tuple[str, ...] = ()

    # The original crate's entry points.
    def search_fts(self, query: str, limit: int = 20) -> list[SearchResult]:
        return self.search(query, limit=limit)

    def search_fts_with_project(self, query: str, limit: int, project_id: int | None) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id)

    def search_fts_with_options(self, query: str, limit: int, project_id: int | None,
                                order_by: SearchOrder) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id, order=order_by)

    def search_fts_full(self, query: str, limit: int, project_id: int | None, order_by: SearchOrder,
                        start_ts: int | None, end_ts: int | None) -> list[SearchResult]:
        return self.search(query, limit=limit, project_id=project_id, order=order_by, since=start_ts, until=end_ts)


__all__: Sequence[str] = ("SearchFilters", "SearchMixin", "make_snippet", "RANK_WINDOW")
